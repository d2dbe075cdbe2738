"""Mental-health section of the plan: the record's questionnaire files, read by
``io.questionnaire_inputs`` and summarised by the mental-health engine
(``engines.mental_health.section``: safety flags first, latest scores, trajectories)."""

from __future__ import annotations

from precisionrx.engines.mental_health.section import flag_findings, mental_health_section
from precisionrx.io.questionnaire_inputs import read_answers
from precisionrx.kb.questionnaires import load_questionnaires
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Finding, PatientRecord
from precisionrx.records.mental_health import MentalHealthSection


def mental_health_plan_section(
    kb: KnowledgeBase, record: PatientRecord
) -> tuple[MentalHealthSection | None, list[Finding]]:
    """The section and its safety-flag findings (None, [] without questionnaires)."""
    if not record.questionnaires:
        return None, []
    catalogue = load_questionnaires(kb)
    answers = [a for q in record.questionnaires for a in read_answers(q.path, catalogue)]
    section = mental_health_section(answers, kb)
    return section, flag_findings(section)
