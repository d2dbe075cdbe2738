"""Typed, JSON round-trippable domain records shared by every stage."""

from precisionrx.records.evidence import Caveat, CaveatKind, Finding, Provenance, Recommendation
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
    "Condition",
    "Demographics",
    "DiplotypeCall",
    "DrugRecommendation",
    "EffectivePhenotype",
    "FamilyHistoryItem",
    "Finding",
    "GeneCall",
    "GenomicInput",
    "Lifestyle",
    "Measurement",
    "Medication",
    "MedicationReview",
    "MonitoringStream",
    "PatientRecord",
    "PositionSummary",
    "Provenance",
    "Recommendation",
    "SampleResult",
]
