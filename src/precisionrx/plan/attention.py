"""What in a plan needs a clinician's attention first: the flags of the patient list.

- **Critical findings**: a medicine on the act-now list whose drug or dose must change (from
  the genotype, the tumour, an interaction or the recorded dose), a therapy the tumour calls
  for whose germline pharmacogenomic guidance says to act (DPYD and fluoropyrimidines, ...),
  and any finding of severity
  ``high`` (a contraindicated or major interaction to avoid, a dose cap exceeded), ``major`` or
  ``urgent``.
- **Safety flags**: the mental-health safety flags (suicidal ideation on PHQ-9 item 9 and the
  like; never dropped from a plan) and urgent-low glucose alerts (< 55 mg/dL) in the last CGM
  period.

Each item carries the security labels of the data it was derived from (GDIS genetic, PSY
psychiatric), so a list shows it only when the patient's consent lets this reader see those
data. ``new_critical`` is filled when the plan is stored: the critical items that the patient's
previous plan did not have (all of them for a first plan).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.plan.model import TreatmentPlan

#: Finding severities that make a critical finding (engines' own words; interactions/api.py
#: uses ``high`` for serious interactions to avoid, mental health ``urgent``).
CRITICAL_SEVERITIES = frozenset({"high", "major", "urgent"})
#: Act-now actions that make a critical finding.
CRITICAL_ACTIONS = frozenset({"change drug", "change dose"})
#: Labels of the data behind each kind of result.
_REASON_LABELS = {"pharmacogenomic": ("GDIS",), "tumour": ("GDIS",)}
_DOMAIN_LABELS = {"pgx": ("GDIS",), "oncology": ("GDIS",), "prs": ("GDIS",),
                  "mental_health": ("PSY",)}  # fmt: skip


class AttentionItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: Stable across plans for the same finding (compares a plan with the one before).
    key: str
    text: str
    labels: tuple[str, ...] = ()


class Attention(BaseModel):
    model_config = ConfigDict(frozen=True)

    critical: list[AttentionItem] = Field(default_factory=list)
    safety: list[AttentionItem] = Field(default_factory=list)
    #: Keys of the critical items the previous plan did not have.
    new_critical: list[str] = Field(default_factory=list)


def _labels(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({label for g in groups for label in g}))


def plan_attention(plan: TreatmentPlan, psychiatric: frozenset[str] = frozenset()) -> Attention:
    """``psychiatric``: the drugs (lower case) whose mention reveals psychiatric treatment
    (kb ``psychiatric_drugs``); an item naming one is labelled PSY, as the plan's
    mental-health content is."""

    def psy(*texts: str) -> tuple[str, ...]:
        words = {w.strip(",.:;()+").lower() for t in texts for w in t.split()}
        return ("PSY",) if words & psychiatric else ()

    critical: dict[str, AttentionItem] = {}
    for a in plan.act_now:
        if a.action in CRITICAL_ACTIONS:
            name = a.drug or a.medication
            key = f"act:{name.lower()}:{a.action}"
            labels = _labels(*(_REASON_LABELS.get(r.kind, ()) for r in a.reasons),
                             psy(name, a.medication))  # fmt: skip
            critical[key] = AttentionItem(key=key, text=f"{a.medication}: {a.action}",
                                          labels=labels)  # fmt: skip
    if plan.oncology is not None:  # a therapy the tumour calls for that the genotype makes toxic
        for c in plan.oncology.germline_conflicts:
            if c.status == "action":
                key = f"onc:{c.drug.lower()}:germline"
                text = f"{c.drug}: tumour therapy with a germline {', '.join(c.genes)} conflict"
                critical[key] = AttentionItem(key=key, text=text, labels=("GDIS",))
    for f in plan.findings:
        if f.severity in CRITICAL_SEVERITIES:
            key = f"finding:{f.domain}:{f.title.lower()}"
            labels = _labels(_DOMAIN_LABELS.get(f.domain, ()), psy(f.title))
            critical.setdefault(key, AttentionItem(key=key, text=f.title, labels=labels))
    safety: list[AttentionItem] = []
    if plan.mental_health is not None:
        for flag in plan.mental_health.flags:
            when = f", {flag.date}" if flag.date else ""
            text = f"{flag.flag.replace('_', ' ')} ({flag.instrument}{when})"
            safety.append(AttentionItem(key=f"mh:{flag.flag}:{flag.instrument}:{flag.date}",
                                        text=text, labels=("PSY",)))  # fmt: skip
    monitoring = plan.monitoring
    history = monitoring.alert_history if monitoring is not None else None
    if monitoring is not None and history is not None and history.current.get("urgent_low"):
        n = history.current["urgent_low"]
        below = history.thresholds["urgent_low"]
        text = (f"{n} urgent-low glucose alert{'s' if n != 1 else ''} (< {below:g} mg/dL) "
                f"in the last {monitoring.period_days} days")  # fmt: skip
        safety.append(AttentionItem(key="cgm:urgent_low", text=text))
    return Attention(critical=list(critical.values()), safety=safety)


def with_new(attention: Attention, previous: Attention | None) -> Attention:
    """``attention`` with ``new_critical``: its critical keys absent from ``previous``."""
    before = {i.key for i in previous.critical} if previous is not None else set()
    new = [i.key for i in attention.critical if i.key not in before]
    return attention.model_copy(update={"new_critical": new})
