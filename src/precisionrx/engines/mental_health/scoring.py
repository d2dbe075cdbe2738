"""Questionnaire scoring: :func:`score_responses` ``(answers, kb) -> ScoreResult``.

The rules (every number from the knowledge base's ``mental_health`` source, kb/questionnaires.py):

- **Total.** The sum of the items when every item the respondent should answer is answered.
  None of the instruments shipped defines a missing-item rule, so a missing item means no
  total and no severity (never prorated), with an ``items_missing`` caveat; ``items_answered``
  still counts what was answered.
- **Severity.** The label of the closed band containing the total; AUDIT-C has cut-offs per
  sex instead (``positive_screen`` / ``negative_screen``), so without a sex it has none
  (``sex_unknown``).
- **Safety flags.** Raised from the item itself (PHQ-9 item 9 >= 1, EPDS item 10 >= 1:
  ``suicidal_ideation``), whatever else is missing, and never suppressed. A rule the file marks
  unverified adds a ``safety_rule_unverified`` caveat.
- **PHQ-15.** Item 4 is for women only: a man's total is over the other 14 items; with no sex
  given and item 4 blank the two cannot be told apart: no total (``sex_unknown``).
- **Not scorable.** ASRS v1.1 Part A: the file does not say which answers count, so no total
  (``not_scorable``).

Pure: no file is opened.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> from precisionrx.records.mental_health import QuestionnaireAnswers
>>> a = QuestionnaireAnswers(id="p1", instrument="PHQ-9",
...     items={1: 1, 2: 0, 3: None, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 2})
>>> s = score_responses([a], KnowledgeBase()).scores[0]
>>> s.total, s.severity, s.items_answered, s.flags
(None, None, 8, ['suicidal_ideation'])
"""

from __future__ import annotations

from collections.abc import Sequence

from precisionrx.errors import InputError
from precisionrx.kb.questionnaires import SOURCE, Instrument, load_questionnaires
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.evidence import Caveat, CaveatKind, fingerprint
from precisionrx.records.mental_health import (
    QuestionnaireAnswers,
    QuestionnaireScore,
    ScoreResult,
)

POSITIVE, NEGATIVE = "positive_screen", "negative_screen"


def score_responses(answers: Sequence[QuestionnaireAnswers], kb: KnowledgeBase) -> ScoreResult:
    """One score per questionnaire, in input order."""
    catalogue = load_questionnaires(kb)
    scores = []
    for a in answers:
        try:
            inst = catalogue.find(a.instrument)
        except KeyError:
            raise InputError(
                f"unknown instrument {a.instrument!r}",
                record=a.source or None,
                hint="known: " + ", ".join(catalogue.known()),
            ) from None
        scores.append(score_one(a, inst))
    inputs = fingerprint([a.model_dump_json() for a in answers])
    return ScoreResult(scores=scores, provenance=kb.provenance([SOURCE], inputs, {}))


def _check(a: QuestionnaireAnswers, inst: Instrument) -> None:
    n_items = inst.n_items or 0
    for n, value in a.items.items():
        if not 1 <= n <= n_items:
            raise InputError(
                f"item_{n} given but {inst.id} has {n_items} items", record=a.source or None
            )
        problem = None if value is None else inst.value_problem(value)
        if problem:
            raise InputError(f"item_{n}: {problem} of {inst.id}", record=a.source or None)


def score_one(a: QuestionnaireAnswers, inst: Instrument) -> QuestionnaireScore:
    """The score of one questionnaire of instrument ``inst`` (see the module docstring)."""
    _check(a, inst)
    answered = {n: v for n, v in a.items.items() if v is not None}
    caveats: list[Caveat] = []
    flags: list[str] = []
    for rule in inst.safety_rules:
        value = answered.get(rule.item)
        if value is not None and value >= rule.threshold and rule.flag not in flags:
            flags.append(rule.flag)
            if not rule.verified:
                caveats.append(Caveat(code="safety_rule_unverified", message=(
                    f"{rule.flag} raised by the rule '{rule.condition}', which the knowledge "
                    "base marks unverified (project policy): review it clinically"
                )))  # fmt: skip
    if inst.keyed_note:
        caveats.append(Caveat(code="keyed_item_scores", kind=CaveatKind.NOTE, message=(
            f"{inst.id} item scores are taken as already keyed (reverse-keyed items scored "
            "as on the published form): " + inst.keyed_note
        )))  # fmt: skip
    total, more = _total(a, inst, answered)
    caveats += more
    severity = None
    if total is not None:
        severity, more = _severity(a, inst, total)
        caveats += more
    return QuestionnaireScore(
        id=a.id,
        instrument=inst.id,
        date=a.date,
        total=total,
        severity=severity,
        items_answered=len(answered),
        flags=flags,
        loinc=inst.total_loinc,
        caveats=caveats,
    )


def _total(
    a: QuestionnaireAnswers, inst: Instrument, answered: dict[int, int]
) -> tuple[int | None, list[Caveat]]:
    if inst.not_scorable or inst.n_items is None:
        return None, [Caveat(code="not_scorable", message=(
            f"{inst.id} cannot be scored: {inst.not_scorable}; answers counted only"
        ))]  # fmt: skip
    required = set(range(1, inst.n_items + 1))
    caveats: list[Caveat] = []
    women = inst.women_only_item
    if women is not None:
        if a.sex == "male":
            if women in answered:
                raise InputError(
                    f"item_{women} of {inst.id} is for women only but sex is male",
                    record=a.source or None,
                    hint="leave it blank for men",
                )
            required.discard(women)
        elif a.sex is None and women not in answered:
            caveats.append(Caveat(code="sex_unknown", message=(
                f"{inst.id} item {women} is blank and no sex is given: a woman's missing item "
                f"cannot be told apart from a man's (item {women} is for women only; male "
                f"maximum {inst.male_max}), so no total: give the sex column"
            )))  # fmt: skip
            required.discard(women)
            missing = sorted(required - set(answered))
            if missing:
                caveats.append(_missing(inst, missing, len(answered), len(required) + 1))
            return None, caveats
    missing = sorted(required - set(answered))
    if missing:
        return None, [_missing(inst, missing, len(answered), len(required))]
    return sum(answered[n] for n in required), caveats


def _missing(inst: Instrument, missing: list[int], answered: int, expected: int) -> Caveat:
    items = ", ".join(f"item_{n}" for n in missing)
    return Caveat(code="items_missing", message=(
        f"{answered} of {expected} items answered ({items} missing): no total and no severity. "
        f"{inst.id} defines no missing-item rule, so the total is not prorated"
    ))  # fmt: skip


def _severity(
    a: QuestionnaireAnswers, inst: Instrument, total: int
) -> tuple[str | None, list[Caveat]]:
    if inst.bands:
        return inst.band(total), []
    if inst.cutoffs:
        threshold = inst.cutoffs.get(a.sex) if a.sex else None
        if threshold is None:
            given = ", ".join(f"{sex} >= {k}" for sex, k in sorted(inst.cutoffs.items()))
            return None, [Caveat(code="sex_unknown", message=(
                f"{inst.id} cut-offs differ by sex ({given}) and no sex is given: no screen "
                "result; give the sex column"
            ))]  # fmt: skip
        return (POSITIVE if total >= threshold else NEGATIVE), []
    return None, []
