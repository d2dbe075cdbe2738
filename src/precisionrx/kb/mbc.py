"""Measurement-based care for depression, typed: the response rule, the remission rules per
instrument (``questionnaires.json``, block ``measurement_based_care``) and the guideline steps
(``guideline_steps.csv``) of the knowledge base's ``mental_health`` source.

Built by ``tools/build_kb.py --only mental_health`` (both files copied unchanged). Every number
the trajectories use is read here, never written in code:

- **Response.** ``"(baseline - current) / baseline >= 0.50"``: the fraction (kept exact, as a
  :class:`~fractions.Fraction` of the text ``0.50``) and its source.
- **Remission.** One rule per instrument, ``"total < K"`` or ``"total <= K"``, with its source
  and ``verified`` flag (a rule without the flag counts as verified; PHQ-9's is ``false``).
- **Steps.** The rows of ``guideline_steps.csv`` by ``step_id``, with ``verified`` as written;
  the weeks of a step's ``timing`` (``"4 weeks"``, ``"<=2 weeks"``) parsed when it has them.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> mbc = load_mbc(KnowledgeBase())
>>> float(mbc.response.fraction), mbc.remission["PHQ-9"].met(4), mbc.remission["PHQ-9"].met(5)
(0.5, True, False)
>>> mbc.step("no_response_review").weeks, mbc.step("first_review").weeks
(4, 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from precisionrx.errors import KbIntegrityError
from precisionrx.kb.questionnaires import FILE, SOURCE

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

STEPS_FILE = "guideline_steps.csv"

_RESPONSE = re.compile(r"^\(baseline - current\) / baseline >= (\d+(?:\.\d+)?)$")
_REMISSION = re.compile(r"^total\s*(<=|<)\s*(\d+)$")
_WEEKS = re.compile(r"^(?:<=\s*)?(\d+)\s*weeks?$")
_HINT = "rebuild: tools/build_kb.py --only mental_health"


@dataclass(frozen=True, slots=True)
class ResponseRule:
    """Response: ``(baseline - latest) / baseline >= fraction``."""

    fraction: Fraction
    rule: str
    source: str

    @property
    def percent(self) -> Fraction:
        """The threshold as a percentage fall (50 for ``0.50``)."""
        return self.fraction * 100

    def met(self, baseline: int, latest: int) -> bool | None:
        """Whether the fall from ``baseline`` to ``latest`` is a response (None at baseline 0)."""
        if baseline == 0:
            return None
        return Fraction(baseline - latest, baseline) >= self.fraction


@dataclass(frozen=True, slots=True)
class RemissionRule:
    """Remission of one instrument: ``total < threshold`` (or ``<=`` when ``inclusive``)."""

    instrument: str
    threshold: int
    inclusive: bool
    rule: str
    source: str
    verified: bool

    def met(self, total: int) -> bool:
        return total <= self.threshold if self.inclusive else total < self.threshold


@dataclass(frozen=True, slots=True)
class GuidelineStep:
    """One row of ``guideline_steps.csv``."""

    guideline: str
    step_id: str
    condition: str
    trigger: str
    summary: str
    timing: str
    verified: bool
    source: str
    #: The weeks of ``timing`` (``"4 weeks"`` -> 4, ``"<=2 weeks"`` -> 2), None otherwise.
    weeks: int | None

    def cite(self) -> str:
        """``guideline (step_id): source``."""
        return f"{self.guideline} ({self.step_id}): {self.source}"


@dataclass(frozen=True, slots=True)
class MeasurementBasedCare:
    response: ResponseRule
    #: Instrument id -> its remission rule (only instruments the file gives a rule for).
    remission: dict[str, RemissionRule]
    steps: dict[str, GuidelineStep]

    def step(self, step_id: str) -> GuidelineStep:
        """The step ``step_id``; KbIntegrityError when the file lacks it."""
        try:
            return self.steps[step_id]
        except KeyError:
            raise KbIntegrityError(
                f"{SOURCE}/{STEPS_FILE}: step {step_id!r} missing", hint=_HINT
            ) from None


def load_mbc(kb: KnowledgeBase) -> MeasurementBasedCare:
    """The rules and steps, parsed and checked once per knowledge-base object."""
    return kb.memo((SOURCE, "mbc"), lambda: _build(kb))


def _fail(where: str, problem: str) -> KbIntegrityError:
    return KbIntegrityError(f"{SOURCE}/{where}: {problem}", hint=_HINT)


def _build(kb: KnowledgeBase) -> MeasurementBasedCare:
    try:
        block = kb.json(SOURCE, FILE)["measurement_based_care"]
        response = _response(block["response"])
        remission = [_remission(r) for r in block["remission"]]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise _fail(FILE, f"malformed measurement_based_care block ({exc!r})") from exc
    steps: dict[str, GuidelineStep] = {}
    for n, row in enumerate(kb.rows(SOURCE, STEPS_FILE, delimiter=","), start=2):
        step = _step(row, n)
        if step.step_id in steps:
            raise _fail(STEPS_FILE, f"row {n}: step {step.step_id!r} given twice")
        steps[step.step_id] = step
    return MeasurementBasedCare(response, {r.instrument: r for r in remission}, steps)


def _response(r: dict[str, Any]) -> ResponseRule:
    rule = str(r["rule"])
    m = _RESPONSE.match(rule.strip())
    if m is None:
        raise _fail(FILE, f"response rule {rule!r} is not '(baseline - current) / baseline >= F'")
    fraction = Fraction(m.group(1))
    if not 0 < fraction <= 1:
        raise _fail(FILE, f"response fraction {m.group(1)} is not in (0, 1]")
    return ResponseRule(fraction=fraction, rule=rule, source=str(r.get("source", "")))


def _remission(r: dict[str, Any]) -> RemissionRule:
    rule = str(r["rule"])
    m = _REMISSION.match(rule.strip())
    if m is None:
        raise _fail(FILE, f"remission rule {rule!r} of {r.get('instrument')} is not 'total < K'")
    return RemissionRule(
        instrument=str(r["instrument"]),
        threshold=int(m.group(2)),
        inclusive=m.group(1) == "<=",
        rule=rule,
        source=str(r.get("source", "")),
        verified=r.get("verified", True) is not False,
    )


def _step(row: dict[str, str], n: int) -> GuidelineStep:
    verified = row.get("verified", "").strip().lower()
    if verified not in ("true", "false") or not row.get("step_id"):
        raise _fail(STEPS_FILE, f"row {n}: needs a step_id and verified true or false")
    timing = row.get("timing", "").strip()
    m = _WEEKS.match(timing)
    return GuidelineStep(
        guideline=row.get("guideline", "").strip(),
        step_id=row["step_id"].strip(),
        condition=row.get("condition", "").strip(),
        trigger=row.get("trigger", "").strip(),
        summary=row.get("recommendation_summary", "").strip(),
        timing=timing,
        verified=verified == "true",
        source=row.get("source", "").strip(),
        weeks=int(m.group(1)) if m else None,
    )
