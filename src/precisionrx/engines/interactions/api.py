"""Drug–drug interactions between the patient's medicines: the engine's entry point.

:func:`check_interactions` ``(medications, kb, settings, drug_gene) -> InteractionResult`` checks
every unordered pair of the patient's distinct ingredients (two ingredients of one combination
product are not a pair) against the knowledge base's ``ddi`` tables (kb/ddi.py), both ways
round, with ``class:`` tokens expanded. The rules, with their sources in the rows:

- **Which row.** Of the ``ddi_major.csv`` rows that match a pair, the lowest
  ``specificity_rank`` wins (1 ingredient pair, 2 label/guideline class row, 3 ONC-2012 class row:
  simvastatin + diltiazem gets the Zocor label's 10 mg cap, DDI022, not ONC's blanket
  contraindication, DDI011); among rows of that rank the most severe; then a row naming the
  patient's combination product as a whole before a row naming one of its ingredients; then
  the lowest id. Only when no such row matches, an ONC 2013 non-interruptive pair
  (``ddi_non_interruptive.csv``, Phansalkar JAMIA 2013) is reported, as severity ``low``,
  ``interruptive`` False.
- **Dose caps.** A row's ``dose_cap_max_mg_day`` is compared with the recorded daily dose of
  the drug it applies to (``exceeds_dose_cap``; None when the dose cannot be read, with a
  caveat).
- **Never silent.** Unverified rows and unverified class memberships are kept and marked
  (``verified`` False and a caveat); a row whose class has no shipped members (the QT list) is
  listed in ``not_assessed``, as are medicines that resolve to no ingredient and medicines no
  longer taken.
- **Drug–gene view.** With the pharmacogenomic medication review (``drug_gene``), an
  interaction involving a drug with drug–gene guidance for this patient, or whose phenotype
  the other drug changes (phenoconversion), carries a caveat saying so.

Pure: no file is opened; the tables are read through the knowledge base.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> from precisionrx.records import Medication
>>> meds = [Medication(name="simvastatin", dose="40 mg nightly"), Medication(name="amlodipine")]
>>> (i,) = check_interactions(meds, KnowledgeBase()).interactions
>>> i.rule_id, i.dose_cap_max_mg_day, i.recorded_dose_mg_day, i.exceeds_dose_cap
('DDI025', 20.0, 40.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from precisionrx.engines.interactions.medicines import Medicine, read_medicines
from precisionrx.kb.ddi import SEVERITIES, DdiRule, DdiTables, LowPriorityPair, Side, load_ddi
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Caveat, CaveatKind, Finding, Medication, MedicationReview
from precisionrx.records.evidence import fingerprint
from precisionrx.records.interactions import (
    CheckedMedication,
    DrugInteraction,
    InteractionResult,
    NotAssessed,
)

#: Knowledge bases the result depends on: the tables, and the names, brands and RxNorm codes.
SOURCES = ["ddi", "guidelines", "interactions"]
ORDER = (*SEVERITIES, "low")
ACTION_TEXT = {"avoid": "avoid the combination", "dose_cap": "keep within the dose cap",
               "monitor": "monitor", "non_interruptive": "no interruption"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class InteractionSettings:
    """``include_low_priority``: report the ONC 2013 non-interruptive pairs (severity low)."""

    include_low_priority: bool = True


@dataclass(frozen=True, slots=True)
class _Match:
    rule: DdiRule | LowPriorityPair
    a: str  # the patient's ingredient on the row's first side
    b: str
    combination: bool


def check_interactions(
    medications: Sequence[Medication],
    kb: KnowledgeBase,
    settings: InteractionSettings | None = None,
    drug_gene: Sequence[MedicationReview] = (),
) -> InteractionResult:
    """The interactions between the current and planned ``medications``, most severe first."""
    settings = settings or InteractionSettings()
    tables = load_ddi(kb)
    known = set(tables.vocabulary) | {m.drug for m in kb.prescribing.modulators}
    meds, gaps = read_medicines(medications, kb.prescribing, known)
    providers: dict[str, list[Medicine]] = {}
    for m in meds:
        for ing in m.ingredients:
            providers.setdefault(ing, []).append(m)
    found: dict[tuple[str, str, str], DrugInteraction] = {}
    for x, y in combinations(sorted(providers), 2):
        if not any(mx is not my for mx in providers[x] for my in providers[y]):
            continue  # two ingredients of one product
        match = _best(tables, x, y, providers) or (
            _low_priority(tables, x, y) if settings.include_low_priority else None
        )
        if match is not None:
            i = _interaction(match, providers, drug_gene)
            found.setdefault((i.rule_id, i.drug_a, i.drug_b), i)
    gaps += _not_shipped(tables, providers)
    checked = [
        CheckedMedication(medication=m.given, ingredients=list(m.ingredients), via=m.via,
                          dose=m.dose, dose_mg_day=m.dose_mg_day, status=m.status)
        for m in meds
    ]  # fmt: skip
    reviews = sorted(r.model_dump_json() for r in drug_gene)
    params = {"include_low_priority": str(settings.include_low_priority).lower(),
              "drug_gene_reviews": str(len(reviews))}  # fmt: skip
    inputs = fingerprint(sorted(m.model_dump_json() for m in medications), reviews)
    return InteractionResult(
        interactions=sorted(found.values(), key=_order),
        not_assessed=sorted(gaps, key=lambda g: (g.code, g.rule_id or "", g.drugs, g.message)),
        medications=sorted(checked, key=lambda c: c.model_dump_json()),
        caveats=_duplicates(providers),
        provenance=kb.provenance(SOURCES, inputs, params),
    )


def _order(i: DrugInteraction) -> tuple[int, str, str, str]:
    return ORDER.index(i.severity), i.drug_a, i.drug_b, i.rule_id


def _matches(side: Side, name: str, providers: dict[str, list[Medicine]]) -> bool:
    """Whether the patient's ingredient ``name`` is on this side; a combination token needs a
    medicine holding every ingredient of the combination."""
    if name not in side.members:
        return False
    if not side.combination:
        return True
    return any(set(side.combination) <= set(m.ingredients) for m in providers[name])


def _best(tables: DdiTables, x: str, y: str, providers: dict[str, list[Medicine]]) -> _Match | None:
    candidates = []
    for rule in tables.rules:
        a, b = rule.drug_a, rule.drug_b
        if _matches(a, x, providers) and _matches(b, y, providers):
            pair = (x, y)
        elif _matches(a, y, providers) and _matches(b, x, providers):
            pair = (y, x)
        else:
            continue
        combo = bool(a.combination or b.combination)
        candidates.append((rule.specificity_rank, SEVERITIES.index(rule.severity), not combo,
                           rule.id, _Match(rule, *pair, combo)))  # fmt: skip
    return min(candidates, key=lambda c: c[:4])[4] if candidates else None


def _low_priority(tables: DdiTables, x: str, y: str) -> _Match | None:
    for pair in sorted(tables.low_priority, key=lambda p: int(p.id)):
        obj, pre = pair.object.members, pair.precipitant.members
        if x in obj and y in pre:
            return _Match(pair, x, y, False)
        if y in obj and x in pre:
            return _Match(pair, y, x, False)
    return None


def _given(name: str, providers: dict[str, list[Medicine]]) -> str:
    return ", ".join(sorted({m.given for m in providers[name]}))


def _interaction(
    match: _Match, providers: dict[str, list[Medicine]], drug_gene: Sequence[MedicationReview]
) -> DrugInteraction:
    rule = match.rule
    gene = _gene_caveats(match.a, match.b, drug_gene)
    if isinstance(rule, LowPriorityPair):
        fixes = [
            _note("table_corrected", f"ONC 2013 #{rule.id}: {why}") for why in rule.corrections
        ]
        low = (f"{match.a} + {match.b}: an ONC 2013 low-priority pair (#{rule.id}, "
               f"{rule.object.token} + {rule.precipitant.token}); shown for information, not as an "
               "alert")  # fmt: skip
        return DrugInteraction(
            drug_a=match.a, drug_b=match.b, medication_a=_given(match.a, providers),
            medication_b=_given(match.b, providers), rule_id=f"ONC2013-{rule.id}",
            severity="low", action="non_interruptive", interruptive=False, source=rule.source,
            verified=rule.verified, notes=rule.note,
            mechanism=f"{rule.object.token} affected by {rule.precipitant.token} (ONC 2013 pair)",
            caveats=[_note("low_priority", low), *fixes, *gene],
        )  # fmt: skip
    sides = {rule.drug_a.token: match.a, rule.drug_b.token: match.b}
    names = [rule.drug_a.display() if rule.drug_a.combination else match.a,
             rule.drug_b.display() if rule.drug_b.combination else match.b]  # fmt: skip
    caveats = _row_caveats(rule, match)
    applies = rule.dose_cap_applies_to
    dose = exceeds = None
    if applies is not None:
        target = sides[applies]
        held = providers[target]
        dose = held[0].dose_mg_day if len(held) == 1 else None
        cap = rule.dose_cap_max_mg_day
        if cap is not None and dose is not None:
            exceeds = dose > cap
            if exceeds:
                with_ = names[1] if target == match.a else names[0]
                text = (f"{target}: recorded {dose:g} mg/day is above the {cap:g} mg/day cap with "
                        f"{with_} ({rule.id}: {rule.dose_cap})")  # fmt: skip
                caveats.append(Caveat(code="dose_cap_exceeded", message=text))
        elif cap is not None:
            recorded = "; ".join(
                f"{m.given}: {m.dose or 'no dose recorded'}"
                for m in sorted(held, key=lambda m: (m.given, m.dose or ""))
            )
            text = (
                f"{target}: the recorded dose ({recorded}) could not be read as one daily "
                f"amount in mg; compare it with the cap yourself ({rule.dose_cap})"
            )
            caveats.append(Caveat(code="dose_not_read", message=text))
        else:
            text = f"{rule.id} gives dose advice without one maximum: {rule.dose_cap}"
            caveats.append(_note("dose_cap_without_number", text))
    unverified_class = any(c.code == "class_membership_unverified" for c in caveats)
    return DrugInteraction(
        drug_a=names[0], drug_b=names[1], medication_a=_given(match.a, providers),
        medication_b=_given(match.b, providers), rule_id=rule.id, severity=rule.severity,
        action=rule.action, mechanism=rule.mechanism, effect=rule.effect, dose_cap=rule.dose_cap,
        dose_cap_max_mg_day=rule.dose_cap_max_mg_day, dose_cap_applies_to=applies,
        recorded_dose_mg_day=dose, exceeds_dose_cap=exceeds, interruptive=True,
        source=rule.source,
        verified=rule.verified and not unverified_class,
        specificity_rank=rule.specificity_rank, onc_2012_high_priority=rule.onc_2012_high_priority,
        notes=rule.notes, caveats=[*caveats, *gene],
    )  # fmt: skip


def _note(code: str, message: str) -> Caveat:
    return Caveat(code=code, kind=CaveatKind.NOTE, message=message)


def _row_caveats(rule: DdiRule, match: _Match) -> list[Caveat]:
    out = []
    if not rule.verified:
        text = (
            f"{rule.id} is marked unverified in the knowledge base: the pair, severity, "
            "action or dose were not all read in the cited source; do not take them as fact"
        )
        out.append(Caveat(code="row_unverified", message=text))
    for side, name in ((rule.drug_a, match.a), (rule.drug_b, match.b)):
        member = side.members.get(name)
        if side.klass and member is not None and not member.verified:
            why = f": {member.note}" if member.note else ""
            text = (
                f"{name} is counted in class {' > '.join(member.via)} for {rule.id} without "
                f"a verified source{why}"
            )
            out.append(Caveat(code="class_membership_unverified", message=text))
    return out


def _gene_caveats(a: str, b: str, drug_gene: Sequence[MedicationReview]) -> list[Caveat]:
    """The drug–gene view of the pair: guidance for either drug, phenoconversion by the other."""
    out = []
    for drug, other in ((a, b), (b, a)):
        for review in drug_gene:
            if review.matched_drug != drug or review.status not in ("action", "caution"):
                continue
            recs = [r for r in review.recommendations if r.matched]
            genes = sorted({f"{g} {v}" for r in recs for g, v in r.lookup_keys.items()})
            sources = sorted({r.source for r in recs})
            text = (f"{drug} also has drug–gene guidance for this patient ({'; '.join(genes)}; "
                    f"{', '.join(sources)}: {review.status}): read this interaction with the "
                    "pharmacogenomic review")  # fmt: skip
            out.append(_note("drug_gene_guidance", text))
            if any(r.phenotype_basis == "phenoconverted" and other in r.caused_by for r in recs):
                text = (f"{other} also changes {drug}'s metaboliser phenotype (phenoconversion); "
                        f"the drug–gene advice for {drug} already counts it")  # fmt: skip
                out.append(_note("phenoconversion", text))
    return list(dict.fromkeys(out))


def _not_shipped(tables: DdiTables, providers: dict[str, list[Medicine]]) -> list[NotAssessed]:
    """Rows with a class that has no shipped member (the QT list): not assessable, said so."""
    out: list[NotAssessed] = []
    names = sorted(providers)
    for rule in tables.rules:
        a, b = rule.drug_a, rule.drug_b
        if not (a.empty or b.empty):
            continue
        empty = a if a.empty else b
        about = f"({rule.mechanism}: {rule.effect}; {rule.severity}, {rule.action})"
        why = (f"not assessable from the shipped data — the class {empty.klass} is not shipped "
               f"({empty.empty_note})")  # fmt: skip
        if a.empty and b.empty:
            if len(names) >= 2:
                out.append(NotAssessed(code="class_not_shipped", rule_id=rule.id, drugs=names,
                    message=f"{rule.id}, two drugs of class {empty.klass} {about}: {why}; check "
                    "these medicines against a licensed list"))  # fmt: skip
            continue
        other = b if a.empty else a
        hits = [n for n in names if _matches(other, n, providers)]
        if hits:
            out.append(NotAssessed(code="class_not_shipped", rule_id=rule.id, drugs=hits,
                message=f"{rule.id}, {', '.join(hits)} with a drug of class {empty.klass} "
                f"{about}: {why}"))  # fmt: skip
    return out


def _duplicates(providers: dict[str, list[Medicine]]) -> list[Caveat]:
    return [
        Caveat(code="ingredient_recorded_twice", message=(
            f"{name} is recorded in more than one medicine ({_given(name, providers)}): checked "
            "once, and its doses are not added up against any dose cap"))
        for name, held in sorted(providers.items()) if len(held) > 1
    ]  # fmt: skip


def interaction_findings(result: InteractionResult) -> list[Finding]:
    """The plan's findings: one per interruptive interaction (never a low-priority pair) and
    one per medicine whose interactions with a class could not be checked. Severity ``high``
    for a contraindicated or major interaction to avoid or a dose cap exceeded, ``moderate``
    for the other contraindicated or major ones, ``info`` for moderate ones."""
    out = []
    for i in result.interactions:
        if not i.interruptive:
            continue
        serious = i.severity in ("contraindicated", "major")
        high = (serious and i.action == "avoid") or i.exceeds_dose_cap is True
        level = "high" if high else "moderate" if serious else "info"
        dose = ""
        if i.dose_cap:
            dose = f" {'Dose cap' if i.action == 'dose_cap' else 'Advice'}: {i.dose_cap}"
            if i.recorded_dose_mg_day is not None:
                dose += f"; recorded {i.recorded_dose_mg_day:g} mg/day"
                if i.exceeds_dose_cap is not None:
                    dose += ", above the cap" if i.exceeds_dose_cap else ", within the cap"
            dose += "."
        unverified = "" if i.verified else " Unverified row: not to be taken as fact."
        out.append(Finding(
            domain="interactions", title=f"{i.drug_a} + {i.drug_b}: {i.severity} interaction",
            detail=f"{i.effect} ({i.mechanism}). Action: {ACTION_TEXT[i.action]}.{dose}"
            f"{unverified} ({i.rule_id})",
            severity=level, caveats=tuple(i.caveats), source=i.source,
        ))  # fmt: skip
    out.extend(
        Finding(domain="interactions", title=f"{', '.join(g.drugs)}: interactions not checked",
                detail=g.message, severity="moderate", source=g.rule_id)
        for g in result.not_assessed
        if g.code == "class_not_shipped" and g.rule_id and len(g.drugs) == 1
    )  # fmt: skip
    return out
