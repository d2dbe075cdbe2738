"""Wearable vitals in the plan (Apple Health export streams, kind ``apple_health``).

The export is read by ``io.apple_health`` and summarised by the monitoring engine
(``engines.monitoring.api.review_patient_vitals``): resting heart rate (last 14 days vs the 14
before, a rise of >= 5 bpm reported for review), Apple's HRV SDNN, and the home blood pressure
of the last 14 days (ESH protocol). The home systolic mean is offered to the cardiovascular
section when the record has no office blood pressure, with a caveat.
"""

from __future__ import annotations

from precisionrx.engines.monitoring.api import review_patient_vitals
from precisionrx.io.apple_health import read_apple_health
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Finding, PatientRecord
from precisionrx.records.monitoring import VitalsSection

#: Stream kinds read as a health export.
VITALS_KINDS = ("apple_health", "vitals")


def vitals_section(
    record: PatientRecord, kb: KnowledgeBase | None = None
) -> tuple[VitalsSection | None, list[Finding]]:
    streams = [m for m in record.monitoring if m.kind.lower() in VITALS_KINDS]
    if not streams:
        return None, []
    review = review_patient_vitals(read_apple_health(streams[0].path), kb or KnowledgeBase())
    return review.section, review.findings
