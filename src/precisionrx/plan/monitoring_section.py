"""Monitoring section of the plan: the patient's first CGM stream, read by ``io.cgm`` and
reviewed by the monitoring engine (``engines.monitoring.api.review_patient_cgm``: the last 14
days vs the 14 before, consensus targets, the AGP, ``gmi_for_risk`` and the findings)."""

from __future__ import annotations

from precisionrx.engines.monitoring.api import review_patient_cgm
from precisionrx.io.cgm import read_cgm
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Finding, PatientRecord
from precisionrx.records.monitoring import MonitoringSection

#: Stream kinds read as CGM.
CGM_KINDS = ("cgm", "glucose")


def monitoring_section(
    kb: KnowledgeBase, record: PatientRecord
) -> tuple[MonitoringSection | None, list[Finding]]:
    streams = [m for m in record.monitoring if m.kind.lower() in CGM_KINDS]
    if not streams:
        return None, []
    stream = streams[0]
    readings = read_cgm(stream.path, stream.timezone)
    review = review_patient_cgm(
        readings, kb, subject=record.id, source=stream.path,
        age_years=record.demographics.age_years, country=record.demographics.country,
    )  # fmt: skip
    return review.section, review.findings
