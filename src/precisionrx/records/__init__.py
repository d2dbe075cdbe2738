"""Typed, JSON round-trippable domain records shared by every stage."""

from precisionrx.records.evidence import Caveat, CaveatKind, Finding, Provenance, Recommendation
from precisionrx.records.interactions import (
    CheckedMedication,
    DrugInteraction,
    InteractionResult,
    NotAssessed,
)
from precisionrx.records.mental_health import (
    QuestionnaireAnswers,
    QuestionnaireScore,
    ScoreResult,
)
from precisionrx.records.patient import (
    Allergy,
    Condition,
    Demographics,
    FamilyHistoryItem,
    GenomicInput,
    Lifestyle,
    Measurement,
    Medication,
    MonitoringStream,
    PatientRecord,
)
from precisionrx.records.pgx import (
    DiplotypeCall,
    DrugRecommendation,
    EffectivePhenotype,
    GeneCall,
    MedicationReview,
    PositionSummary,
    SampleResult,
)

__all__ = [
    "Allergy",
    "Caveat",
    "CaveatKind",
    "CheckedMedication",
    "Condition",
    "Demographics",
    "DiplotypeCall",
    "DrugInteraction",
    "DrugRecommendation",
    "EffectivePhenotype",
    "FamilyHistoryItem",
    "Finding",
    "GeneCall",
    "GenomicInput",
    "InteractionResult",
    "Lifestyle",
    "Measurement",
    "Medication",
    "MedicationReview",
    "MonitoringStream",
    "NotAssessed",
    "PatientRecord",
    "PositionSummary",
    "Provenance",
    "QuestionnaireAnswers",
    "QuestionnaireScore",
    "Recommendation",
    "SampleResult",
    "ScoreResult",
]
