"""``mh options`` for a patient record: its PGx results (VCFs and outside calls, the same reading
as the plan's) and its questionnaires' safety flags, passed to :func:`medication_options`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from precisionrx.engines.mental_health.options import medication_options
from precisionrx.engines.mental_health.scoring import score_responses
from precisionrx.io.questionnaire_inputs import read_answers
from precisionrx.kb.questionnaires import load_questionnaires
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.record_genotypes import record_pgx
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.mental_health import OptionsResult, QuestionnaireAnswers


def record_answers(record: PatientRecord, kb: KnowledgeBase) -> list[QuestionnaireAnswers]:
    """The answers of every questionnaire file the record names, in file order."""
    if not record.questionnaires:
        return []
    catalogue = load_questionnaires(kb)
    return [a for q in record.questionnaires for a in read_answers(q.path, catalogue)]


def questionnaire_flags(record: PatientRecord, kb: KnowledgeBase) -> set[str]:
    """Every safety flag raised on any of the record's questionnaires (never dropped)."""
    answers = record_answers(record, kb)
    return {f for s in score_responses(answers, kb).scores for f in s.flags} if answers else set()


def record_options(
    record: PatientRecord,
    kb: KnowledgeBase,
    *,
    condition: str | None = None,
    avoid: Iterable[str] = (),
    pgx: Sequence[SampleResult] | None = None,
    flags: Iterable[str] | None = None,
) -> OptionsResult:
    """The ranked options for the record (``pgx``/``flags`` given: not read again)."""
    results = record_pgx(record, kb) if pgx is None else pgx
    found = questionnaire_flags(record, kb) if flags is None else set(flags)
    return medication_options(record, kb, results, condition=condition, avoid=avoid, flags=found)
