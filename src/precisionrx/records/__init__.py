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
from precisionrx.records.pgx import GeneCall, PositionSummary, SampleResult

__all__ = [
    "Allergy",
    "Caveat",
    "CaveatKind",
    "Condition",
    "Demographics",
    "FamilyHistoryItem",
    "Finding",
    "GeneCall",
    "GenomicInput",
    "Lifestyle",
    "Measurement",
    "Medication",
    "MonitoringStream",
    "PatientRecord",
    "PositionSummary",
    "Provenance",
    "Recommendation",
    "SampleResult",
]
