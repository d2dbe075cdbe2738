"""Score trajectories: :func:`track` ``(scores, kb) -> TrackResult`` (``precisionrx mh track``).

One trajectory per (id, instrument), in order of first appearance. The rules (every threshold
from the knowledge base's ``mental_health`` source, kb/mbc.py; docs/methods/mental_health.md):

- **Points.** Scores with a total; those without are skipped (``totals_skipped``). Sorted by
  date when every point has a full ``YYYY-MM-DD`` date, else kept in input order with
  ``weeks`` null (``date_missing``). ``baseline`` = the first total, ``latest`` = the last.
- **Change.** ``weeks`` = days between the two dates / 7; ``change_percent`` = (baseline -
  latest) / baseline x 100, null at baseline 0 (``baseline_zero``); ``response`` = the file's
  rule (a fall of at least 50 %), computed exactly; one point: no trajectory (``one_score``).
- **Remission.** The latest total against the instrument's rule (PHQ-9 ``total < 5``); null
  when the file has none for the instrument (``no_remission_rule``).
- **Flags.** Every safety flag raised on any score of the trajectory, scored or not, with
  ``suicidal_ideation`` first: never dropped.
- **Next step** (PHQ-9 and PHQ-2 only, two points or more), options from the guideline steps:
  remission -> ``continuation``; response -> continue and reassess (``mbc_definitions``);
  no response and weeks >= the ``no_response_review`` timing (4) -> ``no_response_review``,
  ``further_line_options`` and ``adjunct_over_serial_switch``; fewer weeks -> too early
  (``first_review``). Otherwise null, with a caveat saying why.

Pure: no file is opened.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> from precisionrx.records.mental_health import QuestionnaireScore
>>> def s(day: str, total: int) -> QuestionnaireScore:
...     return QuestionnaireScore(id="p1", instrument="PHQ-9", date=day, total=total,
...                               severity=None, items_answered=9)
>>> t = track([s("2026-01-05", 20), s("2026-02-16", 9)], KnowledgeBase()).trajectories[0]
>>> t.baseline, t.latest, t.weeks, t.change_percent, t.response, t.remission
(20, 9, 6.0, 55.0, True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from precisionrx.kb.mbc import GuidelineStep, MeasurementBasedCare, RemissionRule, load_mbc
from precisionrx.kb.questionnaires import SOURCE
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.evidence import Caveat, CaveatKind, fingerprint
from precisionrx.records.mental_health import (
    SUICIDAL_IDEATION,
    NextStep,
    QuestionnaireScore,
    TrackResult,
    Trajectory,
)

#: Instruments the depression guideline steps apply to (the steps are for depression).
DEPRESSION_INSTRUMENTS = ("PHQ-9", "PHQ-2")


def track(scores: Sequence[QuestionnaireScore], kb: KnowledgeBase) -> TrackResult:
    """One trajectory per (id, instrument), in order of first appearance."""
    mbc = load_mbc(kb)
    groups: dict[tuple[str | None, str], list[QuestionnaireScore]] = {}
    for s in scores:
        groups.setdefault((s.id, s.instrument), []).append(s)
    trajectories = [trajectory(ident, inst, group, mbc) for (ident, inst), group in groups.items()]
    caveats = []
    if any(t.next_step for t in trajectories):
        caveats.append(Caveat(code="options_not_orders", kind=CaveatKind.NOTE, message=(
            "next_step lists options from the cited guideline steps for a clinician to weigh "
            "with the patient; it is not a diagnosis and not a prescription"
        )))  # fmt: skip
    inputs = fingerprint(
        [{"id": s.id, "instrument": s.instrument, "date": s.date, "total": s.total,
          "flags": s.flags} for s in scores]
    )  # fmt: skip
    return TrackResult(
        trajectories=trajectories,
        caveats=caveats,
        provenance=kb.provenance([SOURCE], inputs, {}),
    )


def _full_date(text: str | None) -> date | None:
    if text is None or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _flags(group: list[QuestionnaireScore]) -> list[str]:
    seen = list(dict.fromkeys(f for s in group for f in s.flags))
    return sorted(seen, key=lambda f: f != SUICIDAL_IDEATION)


def trajectory(
    ident: str | None, instrument: str, group: list[QuestionnaireScore], mbc: MeasurementBasedCare
) -> Trajectory:
    """The trajectory of the scores of one id and instrument (see the module docstring)."""
    flags = _flags(group)
    caveats: list[Caveat] = []
    points = [(s.date, s.total) for s in group if s.total is not None]
    if len(points) < len(group):
        caveats.append(Caveat(code="totals_skipped", message=(
            f"{len(group) - len(points)} of {len(group)} scores have no total (missing items "
            "or not scorable) and were skipped; their flags are kept"
        )))  # fmt: skip
    if not points:
        caveats.append(Caveat(code="no_scored_total", message=(
            "no score of this id and instrument has a total: no trajectory"
        )))  # fmt: skip
        return Trajectory(id=ident, instrument=instrument, baseline=None, latest=None,
                          weeks=None, change_percent=None, response=None, remission=None,
                          next_step=None, flags=flags, caveats=caveats)  # fmt: skip
    days = [_full_date(d) for d, _ in points]
    weeks: float | None = None
    if all(d is not None for d in days):
        order = sorted(range(len(points)), key=lambda i: points[i][0] or "")
        first, last = days[order[0]], days[order[-1]]
        assert first is not None and last is not None
        weeks = (last - first).days / 7
        points = [points[i] for i in order]
    else:
        caveats.append(Caveat(code="date_missing", message=(
            "a score has no full date (YYYY-MM-DD): scores kept in input order, weeks null"
        )))  # fmt: skip
    baseline, latest = points[0][1], points[-1][1]
    assert baseline is not None and latest is not None
    change: float | None = None
    response: bool | None = None
    if len(points) < 2:
        caveats.append(Caveat(code="one_score", message=(
            "one score: no trajectory (response and next_step need two scored points)"
        )))  # fmt: skip
    elif baseline == 0:
        caveats.append(Caveat(code="baseline_zero", message=(
            "baseline total is 0: the change in percent (and so response) is not defined"
        )))  # fmt: skip
    else:
        change = (baseline - latest) * 100 / baseline
        response = mbc.response.met(baseline, latest)
    rule = mbc.remission.get(instrument)
    remission: bool | None = None
    if rule is None:
        caveats.append(Caveat(code="no_remission_rule", message=(
            f"the knowledge base gives no cited remission threshold for {instrument}: "
            "remission not judged"
        )))  # fmt: skip
    else:
        remission = rule.met(latest)
        if not rule.verified:
            caveats.append(Caveat(code="remission_rule_unverified", kind=CaveatKind.NOTE,
                                  message=(
                f"remission rule '{rule.rule}' for {instrument} is marked unverified in the "
                f"knowledge base (source: {rule.source})"
            )))  # fmt: skip
    next_step: NextStep | None = None
    if instrument not in DEPRESSION_INSTRUMENTS:
        caveats.append(Caveat(code="no_guideline_steps", message=(
            f"the knowledge base has no cited guideline steps for {instrument} (its steps are "
            "for depression, PHQ-9 and PHQ-2): no next_step"
        )))  # fmt: skip
    elif len(points) >= 2:
        next_step, more = _next_step(weeks, change, response, remission, rule, mbc)
        caveats += more
        if next_step is not None and not next_step.verified:
            caveats.append(Caveat(code="guideline_step_unverified", message=(
                "next_step uses a guideline step the knowledge base marks unverified (read in "
                f"secondary summaries only): {next_step.source}"
            )))  # fmt: skip
    return Trajectory(
        id=ident,
        instrument=instrument,
        baseline=baseline,
        latest=latest,
        weeks=weeks,
        change_percent=change,
        response=response,
        remission=remission,
        next_step=next_step,
        flags=flags,
        caveats=caveats,
    )


def _step(options: list[str], text: str, steps: list[GuidelineStep]) -> NextStep:
    return NextStep(
        options=options,
        text=text,
        source=" | ".join(s.cite() for s in steps),
        verified=all(s.verified for s in steps),
    )


def _next_step(
    weeks: float | None,
    change: float | None,
    response: bool | None,
    remission: bool | None,
    rule: RemissionRule | None,
    mbc: MeasurementBasedCare,
) -> tuple[NextStep | None, list[Caveat]]:
    """The options for a depression trajectory of two points or more (rules in order)."""
    percent = f"{float(mbc.response.percent):g} %"
    if remission:
        assert rule is not None
        cont = mbc.step("continuation")
        return _step(
            [
                f"consider continuing the antidepressant, if one is taken, for at least "
                f"{cont.timing} after remission (longer if the risk of relapse is high)",
                "consider reassessing with the same instrument to see that remission holds",
            ],
            f"remission ({rule.instrument} {rule.rule}). {cont.guideline}: {cont.summary}",
            [cont],
        ), []
    if response:
        stard = mbc.step("mbc_definitions")
        reached = f" ({rule.instrument} {rule.rule})" if rule else ""
        return _step(
            [
                "consider continuing the current treatment",
                f"consider reassessing with the same instrument: remission{reached} not yet "
                "reached",
            ],
            f"response (a fall of at least {percent}) without remission. {stard.guideline}: "
            f"{stard.summary}",
            [stard],
        ), []
    if response is None or change is None:
        return None, []  # baseline 0: the baseline_zero caveat says why
    review, first = mbc.step("no_response_review"), mbc.step("first_review")
    if weeks is None or review.weeks is None:
        return None, [Caveat(code="timing_unknown", message=(
            "no response yet and the weeks between the scores are unknown: too early or not "
            "cannot be told, so no next_step (give full dates)"
        ))]  # fmt: skip
    if weeks < review.weeks:
        return _step(
            [
                "consider continuing the current treatment and reviewing again: too early to judge",
                f"first review usually within {first.weeks} weeks of starting (symptoms, side "
                "effects)",
            ],
            f"too early to judge ({weeks:.3g} weeks): effect usually seen within {review.weeks} "
            f"weeks; first review within {first.weeks} weeks. {first.guideline}: {first.summary}",
            [first],
        ), []
    further, adjunct = mbc.step("further_line_options"), mbc.step("adjunct_over_serial_switch")
    return _step(
        [
            "consider reviewing adherence, side effects, personal and social factors, other "
            "conditions and the diagnosis first",
            "consider optimising the dose (within the licensed range, if tolerated)",
            "consider switching (another drug of the same class, or a different class)",
            "consider augmentation or combination (another medication, or adding a "
            "psychological therapy)",
            f"consider an adjunct rather than serial switching after dose optimisation "
            f"({adjunct.guideline}, partial response)",
        ],
        f"no response (a change of {change:.3g} % from baseline; a response is a fall of at "
        f"least {percent}) after {weeks:.3g} weeks, "
        f"at or beyond the {review.timing} review point. {review.guideline}: {review.trigger}: "
        f"{review.summary}; {further.summary}. {adjunct.guideline}: {adjunct.summary}",
        [review, further, adjunct],
    ), []
