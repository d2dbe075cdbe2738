"""The plan's mental-health section: :func:`mental_health_section` ``(answers, kb) ->
MentalHealthSection`` and the key findings of its safety flags (:func:`flag_findings`).

- **Flags** first: every safety flag of every questionnaire (scored or not), with the item
  that raised it; ``suicidal_ideation`` before any other flag, then the most recent first.
  Never dropped.
- **Latest**: the latest score per (id, instrument) by date (undated scores count as the
  earliest; input order breaks ties).
- **Trajectories**: :func:`~precisionrx.engines.mental_health.trajectories.track` of the scores;
  **history**: the totals in date order per (id, instrument) with two totals or more (the
  trend charts).
- **Caveats**: what is not assessed (medication options when no psychiatric condition is
  recorded: the plan adds them otherwise, plan/mental_health_section.py).

Pure: no file is opened.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> from precisionrx.records.mental_health import QuestionnaireAnswers
>>> items = {n: 1 for n in range(1, 10)}
>>> a = QuestionnaireAnswers(id="p1", instrument="PHQ-9", date="2026-01-05", items=items)
>>> s = mental_health_section([a], KnowledgeBase())
>>> [(f.flag, f.instrument, f.item) for f in s.flags], [(x.total, x.severity) for x in s.latest]
([('suicidal_ideation', 'PHQ-9', 9)], [(9, 'mild')])
>>> flag_findings(s)[0].title
'Positive PHQ-9 item 9 on 2026-01-05: review suicide risk today'
"""

from __future__ import annotations

from collections.abc import Sequence

from precisionrx.engines.mental_health.scoring import score_responses
from precisionrx.engines.mental_health.trajectories import track
from precisionrx.kb.questionnaires import SOURCE, load_questionnaires, psychiatric_drugs
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.evidence import Caveat, CaveatKind, Finding, fingerprint
from precisionrx.records.medicines import MedicineAction
from precisionrx.records.mental_health import (
    SUICIDAL_IDEATION,
    MentalHealthSection,
    QuestionnaireAnswers,
    QuestionnaireScore,
    SafetyFlag,
    ScoreHistory,
    ScorePoint,
)

NOT_ASSESSED = [
    Caveat(code="options_not_assessed", kind=CaveatKind.NOTE, message=(
        "medication options: not assessed - no depression, anxiety, bipolar, psychosis or ADHD "
        "diagnosis is recorded (run precisionrx mh options PATIENT --condition ... to rank "
        "options for a condition)"
    )),
]  # fmt: skip


def psychiatric_medications(
    actions: Sequence[MedicineAction], kb: KnowledgeBase
) -> list[MedicineAction]:
    """The act-now lines of the record's psychiatric medicines (the drugs of the knowledge
    base's psychiatric PGx table, ``pgx_psychiatry_drugs.csv``), in the act-now order."""
    drugs = psychiatric_drugs(kb)
    return [a for a in actions if a.drug is not None and a.drug.lower() in drugs]


def mental_health_section(
    answers: Sequence[QuestionnaireAnswers], kb: KnowledgeBase
) -> MentalHealthSection:
    """The section for the questionnaires of one patient (see the module docstring)."""
    scores = score_responses(answers, kb).scores
    catalogue = load_questionnaires(kb)
    flags = []
    for s in scores:
        rules = catalogue.find(s.instrument).safety_rules
        for flag in s.flags:
            item = next((r.item for r in rules if r.flag == flag), None)
            flags.append(SafetyFlag(flag=flag, id=s.id, instrument=s.instrument, date=s.date,
                                    item=item))  # fmt: skip
    flags.sort(key=lambda f: f.date or "", reverse=True)
    flags.sort(key=lambda f: f.flag != SUICIDAL_IDEATION)
    groups: dict[tuple[str | None, str], list[QuestionnaireScore]] = {}
    for s in scores:
        groups.setdefault((s.id, s.instrument), []).append(s)
    latest, history = [], []
    for (ident, inst), group in groups.items():
        ordered = sorted(group, key=lambda s: s.date or "")
        latest.append(ordered[-1])
        points = [ScorePoint(date=s.date, total=s.total) for s in ordered if s.total is not None]
        if len(points) >= 2:
            top = catalogue.find(inst).score_max
            history.append(ScoreHistory(id=ident, instrument=inst, score_max=top, points=points))
    tracked = track(scores, kb)
    inputs = fingerprint([a.model_dump_json() for a in answers])
    return MentalHealthSection(
        flags=flags,
        latest=latest,
        trajectories=tracked.trajectories,
        history=history,
        caveats=[*tracked.caveats, *NOT_ASSESSED],
        provenance=kb.provenance([SOURCE], inputs, {}),
    )


def flag_findings(section: MentalHealthSection) -> list[Finding]:
    """One urgent key finding per safety flag, in the section's order (suicidal ideation
    first): for the plan to put before every other finding."""
    out = []
    for f in section.flags:
        item = f" item {f.item}" if f.item is not None else ""
        when = f"on {f.date}" if f.date else "on an undated questionnaire"
        if f.flag == SUICIDAL_IDEATION:
            title = f"Positive {f.instrument}{item} {when}: review suicide risk today"
            detail = (f"{f.instrument}{item} was answered above 0 (thoughts of death or "
                      "self-harm). Assess suicide risk and safety today; this flag is never "
                      "suppressed.")  # fmt: skip
        else:
            title = f"{f.instrument} safety flag {f.flag} {when}: review today"
            detail = f"{f.instrument}{item} raised {f.flag}; review it clinically."
        out.append(Finding(domain="mental_health", title=title, detail=detail, severity="urgent",
                           source=f"{f.instrument} {f.id or ''}".strip()))  # fmt: skip
    return out
