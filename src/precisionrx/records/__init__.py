"""Typed, JSON round-trippable domain records shared by every stage.

The record modules load on first use (a command that needs only a few of them does not pay
for building the others' pydantic schemas).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: The module of each exported record.
_MODULE = {
    "Allergy": "patient",
    "Caveat": "evidence",
    "CaveatKind": "evidence",
    "CheckedMedication": "interactions",
    "Condition": "patient",
    "Demographics": "patient",
    "DiplotypeCall": "pgx",
    "DrugInteraction": "interactions",
    "DrugRecommendation": "pgx",
    "EffectivePhenotype": "pgx",
    "FamilyHistoryItem": "patient",
    "Finding": "evidence",
    "GeneCall": "pgx",
    "GenomicInput": "patient",
    "InteractionResult": "interactions",
    "Lifestyle": "patient",
    "Measurement": "patient",
    "Medication": "patient",
    "MedicationReview": "pgx",
    "MonitoringStream": "patient",
    "NotAssessed": "interactions",
    "PatientRecord": "patient",
    "PositionSummary": "pgx",
    "Provenance": "evidence",
    "QuestionnaireAnswers": "mental_health",
    "QuestionnaireScore": "mental_health",
    "Recommendation": "evidence",
    "SampleResult": "pgx",
    "ScoreResult": "mental_health",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
