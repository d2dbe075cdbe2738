"""The drug-first "act now" review: one line per current or planned medicine.

Each medicine gets the strongest action among its reasons, in this order: change drug, change
dose, monitor, keep, no pharmacogenomic guidance (after PharmCAT's drug-first report, which
states "no recommendation" rather than leaving a drug out). The reasons and their rules:

* **Pharmacogenomic guidance** (the PGx engine's medication review): for a review whose status
  is ``action``, each matched CPIC/DPWG recommendation maps through the annotation's own flags
  (ClinPGx/PharmCAT ``alternateDrugAvailable`` → change drug, ``dosingInformation`` → change
  dose, neither → keep: standard use for this genotype); ``caution`` (genotype undetermined or
  ambiguous) → monitor; ``ok`` → keep; ``no_guidance`` or a name the guideline data do not know →
  no pharmacogenomic guidance (a name not recognised keeps its ``unknown_drug`` caveat).
* **Dose against the guidance**: a statin's recorded dose against the genotype's CPIC limit
  (the cardio section's statin review); a guideline that reduces the starting dose by a
  percentage (DPYD: "reduce starting dose by 50 %") is stated against the recorded dose — the
  percentage applies to the regimen's standard starting dose, so a dose that is not recorded in
  mg or mg/m² is asked for, never assumed.
* **Interactions** (the interactions engine, interruptive pairs only): contraindicated or
  ``avoid`` → change drug (one of the two; the line names the other); a dose cap the recorded
  dose exceeds → change dose for the capped drug; a cap that cannot be checked → monitor;
  ``monitor`` rows → monitor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from precisionrx.records import Caveat, CaveatKind, Medication, MedicationReview, SampleResult
from precisionrx.records.cardio import CardioSection, StatinUse
from precisionrx.records.interactions import DrugInteraction, InteractionResult
from precisionrx.records.medicines import Action, ActionReason, MedicineAction

#: Actions, strongest first.
STRENGTH: tuple[Action, ...] = (
    "change drug", "change dose", "monitor", "keep", "no pharmacogenomic guidance",
)  # fmt: skip
#: Guideline classifications that give no advice to act on.
NO_DECISION = frozenset({"No recommendation", "No Recommendation"})
_PERCENT = re.compile(
    r"(?:reduce|decrease)[^.%]*?\bby (\d+(?:\.\d+)?)\s*%"
    r"|(\d+(?:\.\d+)?)\s*% of the (?:standard|normal)",
    re.IGNORECASE,
)
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(mg/m2|mg/m²|mg)\b", re.IGNORECASE)


def _strongest(reasons: Sequence[ActionReason], default: Action) -> Action:
    """The strongest action; among pharmacogenomic reasons CPIC's decide when there are any
    (the engine's primary source; DPWG's are listed beside them)."""
    cpic = [r for r in reasons if r.kind == "pharmacogenomic" and r.text.startswith("CPIC")]
    if cpic:
        reasons = [r for r in reasons if r.kind != "pharmacogenomic" or r in cpic]
    if not reasons:
        return default
    return min((r.action for r in reasons), key=STRENGTH.index)


def _first_line(text: str) -> str:
    return text.splitlines()[0].strip() if text else ""


def _pgx_reasons(review: MedicationReview) -> list[ActionReason]:
    matched = [r for r in review.recommendations if r.matched]
    if review.status == "caution":
        return [ActionReason(
            kind="pharmacogenomic", action="monitor",
            text="the genotype behind the guidance is undetermined or ambiguous: guidance may "
                 "apply (see the caveats)",
            source="; ".join(sorted({r.guideline for r in review.recommendations})) or "PGx",
        )]  # fmt: skip
    out = []
    for r in matched:
        if r.classification in NO_DECISION:
            continue
        action: Action
        if review.status != "action":
            action = "keep"
        elif r.alternate_drug:
            action = "change drug"
        elif r.dosing_information:
            action = "change dose"
        else:
            action = "keep"
        population = f", {r.population}" if r.population not in ("general", "") else ""
        out.append(ActionReason(
            kind="pharmacogenomic", action=action,
            text=f"{r.source} ({r.classification or 'unclassified'}{population}): "
                 f"{_first_line(r.text)}",
            source=f"{r.guideline}, {r.guideline_version}",
        ))  # fmt: skip
    return out


def _percent_dose(review: MedicationReview, dose: str | None) -> str | None:
    """The guideline's percentage reduction stated against the recorded dose."""
    for r in review.recommendations:
        if not (r.matched and r.dosing_information):
            continue
        m = _PERCENT.search(r.text)
        if m is None:
            continue
        if m.group(1):
            keep = 100 - float(m.group(1))
            how = f"reduce the starting dose by {float(m.group(1)):g} %"
            of = "from the regimen's standard starting dose"
        else:
            keep = float(m.group(2))
            how = f"start at {keep:g} % of the standard dose"
            of = "of the regimen"
        amount = _AMOUNT.search(dose or "")
        if amount is None:
            return (f"{r.source}: {how} ({of}); the recorded dose ({dose or 'none'}) does not "
                    "give the regimen and dose in mg or mg/m²: record it so that the reduced "
                    "dose can be checked")  # fmt: skip
        value, unit = float(amount.group(1)), amount.group(2)
        return (f"{r.source}: {how}; if {value:g} {unit} is the regimen's standard starting "
                f"dose, the reduced starting dose is {value * keep / 100:g} {unit}")  # fmt: skip
    return None


def _statin_reason(use: StatinUse) -> tuple[ActionReason | None, str | None]:
    if use.cpic_limit is None or use.exceeds_cpic_limit is None:
        return None, None
    action: Action = (
        "change drug" if use.action.startswith("change drug")
        else "monitor" if use.action.startswith("monitor")
        else "keep"
    )  # fmt: skip
    where = "above" if use.exceeds_cpic_limit else "within"
    check = (f"recorded {use.dose_mg:g} mg/day is {where} the CPIC limit {use.cpic_limit} for "
             f"this genotype ({use.intensity or 'intensity unknown'} intensity)")  # fmt: skip
    reason = ActionReason(kind="dose", action=action, text=f"{check}: {use.action}",
                          source="CPIC 2022 statin guideline (PMID 35152405)")  # fmt: skip
    return reason, check


def _interaction_reason(i: DrugInteraction, drug: str) -> ActionReason | None:
    other = i.drug_b if i.drug_a == drug else i.drug_a
    action: Action
    if i.severity == "contraindicated" or i.action == "avoid":
        action = "change drug"
        text = f"{i.severity} with {other}: avoid the combination (change one of the two)"
    elif i.action == "dose_cap":
        if i.dose_cap_applies_to != drug:
            action, text = "keep", f"with {other}: the {other} dose is capped ({i.dose_cap})"
        elif i.exceeds_dose_cap:
            action = "change dose"
            text = (f"with {other}: {i.dose_cap}; recorded {i.recorded_dose_mg_day:g} mg/day is "
                    "above the cap")  # fmt: skip
        elif i.exceeds_dose_cap is None:
            action = "monitor"
            text = f"with {other}: {i.dose_cap}; the recorded dose could not be read"
        else:
            action, text = "keep", f"with {other}: {i.dose_cap}; the recorded dose is within it"
    else:
        action, text = "monitor", f"{i.severity} with {other}: monitor ({i.effect})"
    verified = "" if i.verified else " [unverified]"
    return ActionReason(kind="interaction", action=action, text=text + verified,
                        source=f"{i.rule_id}: {i.source}")  # fmt: skip


def act_now(
    medications: Sequence[Medication],
    pgx: Sequence[SampleResult],
    interactions: InteractionResult | None = None,
    cardio: CardioSection | None = None,
) -> list[MedicineAction]:
    """One line per medicine, the most urgent first (then in the record's order)."""
    reviews: dict[str, MedicationReview] = {}
    for res in pgx[:1]:  # the plan's germline sample
        for rv in res.medication_review or []:
            reviews.setdefault(rv.medication, rv)
    read = {m.medication: m for m in interactions.medications} if interactions else {}
    statins = {u.drug: u for u in cardio.statins.current} if cardio and cardio.statins else {}
    lines = []
    for med in medications:
        review = reviews.get(med.name)
        checked = read.get(med.name)
        drug = (review.matched_drug if review else None) or (
            checked.ingredients[0] if checked and checked.ingredients else None
        )
        reasons: list[ActionReason] = []
        caveats: list[Caveat] = []
        dose_check: str | None = None
        default: Action = "no pharmacogenomic guidance"
        if review is not None:
            reasons += _pgx_reasons(review)
            caveats += review.caveats
            if review.status == "unknown" and drug is not None:
                # the interaction check knows the medicine: it is a drug without a CPIC or DPWG
                # guideline, not an unrecognised name
                caveats = [c for c in caveats if c.code != "unknown_drug"]
                caveats.append(Caveat(code="no_pgx_guideline", kind=CaveatKind.NOTE,
                                      message=f"{drug} has no CPIC or DPWG guideline in the "
                                              "knowledge base"))  # fmt: skip
            dose_check = _percent_dose(review, med.dose)
        else:
            caveats.append(Caveat(code="not_reviewed", kind=CaveatKind.NOTE,
                                  message="no germline genotype: pharmacogenomic guidance was "
                                          "not checked"))  # fmt: skip
        if drug in statins:
            reason, check = _statin_reason(statins[drug])
            if reason is not None:
                reasons.append(reason)
                dose_check = check
            goal = cardio.statins.ldl_goal if cardio and cardio.statins else None
            if (
                goal is not None
                and goal.above_goal
                and goal.action.startswith("above goal: intensify")
            ):
                reasons.append(ActionReason(
                    kind="dose", action="change dose", source=goal.source,
                    text=f"LDL-C {goal.ldl_mmol_l:.1f} mmol/L is above the goal (below "
                    f"{goal.goal_mmol_l:g} mmol/L, {goal.risk_group} risk): intensify the statin "
                    "within this genotype's limits before adding ezetimibe or a PCSK9 "
                    "inhibitor" + ("" if goal.verified else " [goal unverified]"),
                ))  # fmt: skip
        if interactions is not None and drug is not None:
            names = set(checked.ingredients) if checked else {drug}
            for i in interactions.interactions:
                if i.interruptive and (i.drug_a in names or i.drug_b in names):
                    own = i.drug_a if i.drug_a in names else i.drug_b
                    r = _interaction_reason(i, own)
                    if r is not None:
                        reasons.append(r)
                        if r.action == "change dose" and dose_check is None:
                            dose_check = r.text
        if review is not None and review.status not in ("no_guidance", "unknown"):
            default = "keep"
        # "keep" from another engine (a cap within limits) does not hide that there is no
        # pharmacogenomic guidance for the medicine
        deciding = [r for r in reasons if r.action != "keep" or r.kind == "pharmacogenomic"]
        action = _strongest(deciding, default)
        lines.append(MedicineAction(
            medication=med.name, drug=drug, dose=med.dose, action=action, reasons=reasons,
            dose_check=dose_check, caveats=caveats,
        ))  # fmt: skip
    order = {id(line): i for i, line in enumerate(lines)}
    return sorted(lines, key=lambda x: (STRENGTH.index(x.action), order[id(x)]))
