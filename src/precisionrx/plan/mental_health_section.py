"""Mental-health section of the plan: the record's questionnaire files, read by
``io.questionnaire_inputs`` and summarised by the mental-health engine
(``engines.mental_health.section``: safety flags first, latest scores, trajectories), and the
ranked medication options (``mh options``) for the first recorded psychiatric condition."""

from __future__ import annotations

from collections.abc import Sequence

from precisionrx.engines.mental_health.patient_facts import patient_facts
from precisionrx.engines.mental_health.section import flag_findings, mental_health_section
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.mental_health_options import record_answers, record_options
from precisionrx.records import Finding, PatientRecord, SampleResult
from precisionrx.records.mental_health import MentalHealthSection


def mental_health_plan_section(
    kb: KnowledgeBase, record: PatientRecord, pgx: Sequence[SampleResult] = ()
) -> tuple[MentalHealthSection | None, list[Finding]]:
    """The section and its safety-flag findings (None, [] without questionnaires or a recorded
    psychiatric condition)."""
    conditions = patient_facts(record).psychiatric_conditions
    if not record.questionnaires and not conditions:
        return None, []
    section = mental_health_section(record_answers(record, kb), kb)
    if conditions:
        flags = {f.flag for f in section.flags}
        options = record_options(record, kb, pgx=pgx, flags=flags)
        kept = [c for c in section.caveats if c.code != "options_not_assessed"]
        section = section.model_copy(update={"options": options, "caveats": kept})
    return section, flag_findings(section)
