"""``precisionrx mh options``: a transparent, cited ranking of candidate medicines for one
condition and one patient (docs/methods/mental_health.md, "Medication options").

Inputs per candidate, each shown with its source:

- **Pharmacogenomic guidance** (CPIC and DPWG via the PGx engine, guidance.py), looked up with
  the effective phenotype after phenoconversion by the patient's other medicines;
- **Interactions**: the interaction tables (serotonergic combinations, QT stacking, lithium
  with NSAIDs / ACE inhibitors / thiazides, citalopram caps ...) between the candidate and the
  current medicines; phenoconversion both ways (a current medicine changes the candidate's
  phenotype; the candidate would change a current medicine's); CYP modulators the guideline's
  gene does not convert (CYP3A4 inducers with quetiapine); tobacco smoke and CYP1A2;
- **Side effects** against comorbidities and priorities: weight gain with diabetes or obesity,
  QTc / cardiac conduction with long QT or heart disease, definite anticholinergic burden
  (ACB 2-3) at 65 or over, and every category the patient asked to avoid;
- **Efficacy priors** from the network meta-analyses (Cipriani 2018, Huhn 2019);
- **Cautions** triggered by the record (pregnancy, childbearing potential and valproate, age,
  suicidal ideation and tricyclics, recorded bipolar disorder, hepatic impairment).

Ranking rule (deterministic; :data:`RANKING_RULE`): category first (no_flag, adjust,
prefer_alternative, avoid - the worst of the inputs), then the side-effect concern weight
(lower first), then the efficacy prior (better first; none after any), then the drug name.
Missing inputs never count as normal: they are listed per candidate and lower its
``confidence`` (high: none missing; moderate: one; low: two or more, a missing genotype of a
guideline gene counting two), but do not move it in the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from precisionrx.engines.interactions.api import check_interactions
from precisionrx.engines.interactions.medicines import NOT_CURRENT, read_medicines
from precisionrx.engines.mental_health.guidance import missing_genes, pgx_guidance, strongest
from precisionrx.engines.mental_health.patient_facts import PatientFacts, patient_facts
from precisionrx.engines.pgx.medications import resolve
from precisionrx.engines.pgx.phenoconversion import effective_phenotype
from precisionrx.kb.ddi import load_ddi
from precisionrx.kb.psychotropics import CONDITIONS, CautionRule, Psychotropics, load_psychotropics
from precisionrx.kb.questionnaires import SOURCE
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Caveat, CaveatKind, Medication, PatientRecord, SampleResult
from precisionrx.records.evidence import fingerprint
from precisionrx.records.mental_health import (
    Confidence,
    EfficacyPrior,
    GuidanceAction,
    MedicationOption,
    OptionCategory,
    OptionCaution,
    OptionInteraction,
    OptionPgx,
    OptionsResult,
    SideEffectProfile,
)

CATEGORIES: tuple[OptionCategory, ...] = ("no_flag", "adjust", "prefer_alternative", "avoid")
ACTION_CATEGORY: dict[GuidanceAction, OptionCategory] = {
    "avoid": "avoid", "use_alternative": "prefer_alternative", "reduce_dose": "adjust",
    "increase_dose": "adjust", "monitor": "adjust", "standard_dose": "no_flag",
    "no_guidance": "no_flag",
}  # fmt: skip
EFFECT_CATEGORY: dict[str, OptionCategory] = {
    "avoid": "avoid", "prefer_alternative": "prefer_alternative", "adjust": "adjust",
    "note": "no_flag",
}  # fmt: skip
#: Age at or above which a definite anticholinergic (ACB 2-3) is a concern (issue: burden
#: "over 65"); ACB 2-3 = definite anticholinergic activity on the ACB scale (Boustani 2008).
ANTICHOLINERGIC_AGE = 65.0
DEFINITE_ACB = 2
LEVEL_WEIGHT = {"high": 2, "moderate": 1}
RANKING_RULE = (
    "Candidates are ordered by (1) category, the worst of their inputs: no_flag, then adjust "
    "(a CPIC/DPWG dose change or monitoring; an interaction to monitor or a dose cap; a "
    "caution that adjusts), then prefer_alternative (guidance to use an alternative; an "
    "interaction to avoid; valproate with childbearing potential; tricyclics with a suicidal-"
    "ideation flag), then avoid (guidance to avoid or not use; a contraindicated combination; "
    "valproate in pregnancy); where CPIC and DPWG differ the stronger counts; (2) side-effect "
    "concern weight for this patient (high 2, moderate 1; lower first); (3) the efficacy prior "
    "(Cipriani 2018 response OR, higher first; Huhn 2019 SMD, more negative first; candidates "
    "without a prior after those with one); (4) drug name. Confidence is shown, not ranked."
)


def choose_condition(requested: str | None, facts: PatientFacts) -> tuple[str, str, list[Caveat]]:
    """The condition, how it was chosen, and the caveats that say so."""
    if requested is not None:
        return requested, "--condition", []
    if facts.psychiatric_conditions:
        first = facts.psychiatric_conditions[0]
        notes = []
        if len(facts.psychiatric_conditions) > 1:
            notes.append(Caveat(code="several_conditions", kind=CaveatKind.NOTE, message=(
                f"several psychiatric conditions are recorded "
                f"({', '.join(facts.psychiatric_conditions)}): options are shown for {first}; "
                "ask for another with --condition")))  # fmt: skip
        return first, f"recorded condition: {facts.named.get(first, first)}", notes
    return "depression", "default (no psychiatric condition recorded)", [
        Caveat(code="condition_not_recorded", kind=CaveatKind.WARNING, message=(
            "no depression, anxiety, bipolar, psychosis or ADHD diagnosis is recorded: options "
            "are shown for depression; this is not a diagnosis - choose the condition with "
            "--condition"))
    ]  # fmt: skip


def medication_options(
    record: PatientRecord,
    kb: KnowledgeBase,
    pgx: Sequence[SampleResult] = (),
    *,
    condition: str | None = None,
    avoid: Iterable[str] = (),
    flags: Iterable[str] = (),
) -> OptionsResult:
    """The ranked candidates for ``condition`` (module docstring). ``pgx``: the record's PGx
    results (plan/record_genotypes.py); ``flags``: the safety flags of its
    questionnaires (``suicidal_ideation``); ``avoid``: side-effect categories to avoid."""
    if condition is not None and condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; expected one of {CONDITIONS}")
    tables = load_psychotropics(kb)
    facts = patient_facts(record)
    chosen, basis, caveats = choose_condition(condition, facts)
    avoid_set = set(avoid)
    flag_set = set(flags)
    result = pgx[0] if pgx else SampleResult(input="none", sample=record.id)
    if len(pgx) > 1:
        caveats.append(
            Caveat(
                code="several_genotype_results",
                kind=CaveatKind.NOTE,
                message=(
                    f"{len(pgx)} germline results in the record: the first "
                    f"({pgx[0].sample}) is used"
                ),
            )
        )
    if not pgx:
        caveats.append(Caveat(code="no_genotype", kind=CaveatKind.WARNING, message=(
            "no germline VCF or outside calls: pharmacogenomic guidance could not be checked "
            "for any candidate (never assumed normal)")))  # fmt: skip
    if not record.medications:
        caveats.append(
            Caveat(
                code="no_medication_list",
                kind=CaveatKind.NOTE,
                message=(
                    "no current medicines recorded: interactions and phenoconversion assume none"
                ),
            )
        )
    else:
        caveats.append(
            Caveat(
                code="qt_stacking_not_assessed",
                kind=CaveatKind.WARNING,
                message=(
                    "QT prolongation from two QT-prolonging medicines together is not "
                    "assessed: the list of drugs with a known risk of torsades (CredibleMeds) is "
                    "not redistributable and is not shipped; check the candidate against the "
                    "current medicines"
                ),
            )
        )
    current, med_caveats, unchecked = _current_medicines(record, kb, tables)
    caveats += med_caveats
    options = [
        _option(kb, tables, c.drug, c.drug_class, result, current, facts, chosen, avoid_set,
                flag_set, c.source, c.verified, unchecked)
        for c in tables.candidates(chosen)
    ]  # fmt: skip
    order = {c.drug: i for i, c in enumerate(tables.candidates(chosen))}
    ordered = sorted(options, key=lambda o: _rank_key(o, order))
    ranked = [o.model_copy(update={"rank": i}) for i, o in enumerate(ordered, start=1)]
    if record.demographics.age_years is None:
        caveats.append(Caveat(code="age_not_recorded", kind=CaveatKind.NOTE, message=(
            "age not recorded: age cautions (under 25, over 60, anticholinergic burden at 65 "
            "or over) could not be checked")))  # fmt: skip
    caveats.append(
        Caveat(
            code="not_a_diagnosis",
            kind=CaveatKind.NOTE,
            message=(
                "decision support for a clinician: a ranked list of options to discuss, not a "
                "prescription and not a diagnosis; questionnaire scores are screening results"
            ),
        )
    )
    inputs = fingerprint([record.model_dump_json(), *(r.model_dump_json() for r in pgx)])
    params = {"condition": chosen, "avoid": ",".join(sorted(avoid_set)),
              "flags": ",".join(sorted(flag_set))}  # fmt: skip
    return OptionsResult(
        condition=chosen,
        condition_basis=basis,
        candidates=ranked,
        ranking_rule=RANKING_RULE,
        caveats=caveats,
        provenance=kb.provenance([SOURCE, "guidelines", "interactions", "ddi"], inputs, params),
    )


#: Names of valproate in records and tables, read as the candidate ``valproate``.
VALPROATE = frozenset({"valproic acid", "divalproex", "divalproex sodium", "sodium valproate",
                       "valproate semisodium", "valproate sodium"})  # fmt: skip


def _current_medicines(
    record: PatientRecord, kb: KnowledgeBase, tables: Psychotropics
) -> tuple[dict[str, Medication], list[Caveat], list[str]]:
    """The current and planned medicines by ingredient (names, brands and RxNorm codes resolved
    as the interaction engine does), the caveats about the list, and the medicines that could
    not be checked. A stopped medicine whose effect outlasts the last dose (fluoxetine, an MAO
    inhibitor) still counts, with a caveat asking for the stop date (research notes §10.1)."""
    ddi = load_ddi(kb)
    known = (
        set(ddi.vocabulary)
        | {m.drug for m in kb.prescribing.modulators}
        | {c.drug for c in tables.rows}
        | set(VALPROATE)
    )
    lingering = {"fluoxetine", *(m.name for m in ddi.classes.get("onc_maoi", ()))}
    active = []
    caveats: list[Caveat] = []
    for m in record.medications:
        stopped = (m.status or "active").strip().lower() in NOT_CURRENT
        names = {x.lower() for x in (m.name, *(_resolved(m, kb, known)))}
        if stopped and names & lingering:
            caveats.append(
                Caveat(
                    code="stopped_medicine_counted",
                    kind=CaveatKind.WARNING,
                    message=f"{m.name} is recorded as {m.status}: counted as "
                    "current for interactions and phenoconversion, because its "
                    "effect outlasts the last dose; check when it was stopped",
                )
            )
            active.append(m.model_copy(update={"status": "active"}))
        else:
            active.append(m)
    meds, gaps = read_medicines(active, kb.prescribing, known)
    unchecked: list[str] = []
    for gap in gaps:
        if gap.code == "unresolved_medication":
            unchecked += gap.drugs
            caveats.append(Caveat(code="unresolved_medication", kind=CaveatKind.WARNING,
                                  message=f"{gap.message}: every candidate's interactions with "
                                  "it are unchecked"))  # fmt: skip
        elif gap.code == "medication_not_current":
            caveats.append(Caveat(code="medication_not_current", kind=CaveatKind.NOTE,
                                  message=gap.message))  # fmt: skip
    out: dict[str, Medication] = {}
    by_name = {m.name or m.rxnorm or "": m for m in active}
    for med in meds:
        original = by_name.get(med.given) or Medication(name=med.given)
        for ingredient in med.ingredients or (med.given.lower(),):
            out["valproate" if ingredient in VALPROATE else ingredient] = original
    return out, caveats, unchecked


def _resolved(m: Medication, kb: KnowledgeBase, known: set[str]) -> list[str]:
    found = resolve(m, kb.prescribing, known).drug
    return [found] if found else []


def _rank_key(option: MedicationOption, order: dict[str, int]) -> tuple[int, int, float, int, str]:
    weight = option.side_effects.concern_weight
    prior = option.efficacy
    if prior.estimate is None:
        score = float("inf")
    elif prior.measure == "response_or_vs_placebo":
        score = -prior.estimate
    else:
        score = prior.estimate
    return CATEGORIES.index(option.category), weight, score, order.get(option.drug, 0), option.drug


def _worst(categories: Iterable[OptionCategory]) -> OptionCategory:
    return max(categories, key=CATEGORIES.index, default="no_flag")


def _option(
    kb: KnowledgeBase,
    tables: Psychotropics,
    drug: str,
    drug_class: str,
    result: SampleResult,
    current: dict[str, Medication],
    facts: PatientFacts,
    condition: str,
    avoid: set[str],
    flags: set[str],
    source: str,
    verified: bool,
    unchecked: list[str],
) -> MedicationOption:
    is_current = drug in current
    others = [d for d in current if d != drug]
    pgx = pgx_guidance(kb, drug, result, others, condition=condition, current=is_current,
                       age=facts.age)  # fmt: skip
    missing: list[str] = [f"{g} genotype" for g in missing_genes(pgx)]
    weight_missing = 2 * len(missing)
    reasons: list[str] = []
    categories: list[OptionCategory] = []
    if pgx:
        action = strongest(e.action for e in pgx)
        categories.append(ACTION_CATEGORY[action])
        reasons += _pgx_reasons(pgx)
    else:
        reasons.append(
            "no CPIC or DPWG guideline for this medicine in the knowledge base "
            "(pharmacogenomics not part of its rank)"
        )
    cautions, smoke, caution_missing = _cautions(tables, drug, drug_class, facts, flags)
    found, not_checked = _interactions(kb, drug, drug_class, current, result, pgx)
    interactions = [*found, *smoke]
    missing += [*not_checked, *(f"interactions with {u} (not recognised)" for u in unchecked)]
    weight_missing += len(not_checked) + len(unchecked)
    testing = _testing_required(kb, tables, drug, result)
    cautions += testing
    for i in interactions:
        categories.append(_interaction_category(i))
        reasons.append(f"{_label(_interaction_category(i))}: {i.kind.replace('_', ' ')} with "
                       f"{i.drug} ({i.severity}, {i.action}): {i.effect}")  # fmt: skip
    missing += caution_missing
    weight_missing += len(caution_missing)
    for c in cautions:
        categories.append(EFFECT_CATEGORY[c.effect])
        reasons.append(f"{_label(EFFECT_CATEGORY[c.effect])}: {c.text}"
                       + ("" if c.verified else " (source not verified)"))  # fmt: skip
    profile, profile_missing = _side_effects(tables, drug, facts, avoid)
    missing += profile_missing
    weight_missing += len(profile_missing)
    reasons += [f"side effect: {c}" for c in profile.concerns]
    efficacy = _efficacy(tables, drug, condition)
    reasons.append(_efficacy_reason(efficacy))
    if not verified:
        reasons.append(f"candidate for {condition} per {source} (list not verified in the "
                       "knowledge base)")  # fmt: skip
    if is_current:
        reasons.insert(0, "currently taken")
    confidence: Confidence = (
        "high" if weight_missing == 0 else "moderate" if weight_missing == 1 else "low"
    )
    category = _worst(categories)
    return MedicationOption(
        drug=drug, rank=0, drug_class=drug_class, category=category, current=is_current,
        confidence=confidence, missing_inputs=missing, pgx=pgx, interactions=interactions,
        side_effects=profile, efficacy=efficacy, cautions=cautions,
        reasons=[f"category {category}", *reasons], candidate_source=source,
        candidate_verified=verified,
    )  # fmt: skip


def _label(category: OptionCategory) -> str:
    return {"no_flag": "note", "adjust": "adjust", "prefer_alternative": "prefer an alternative",
            "avoid": "avoid"}[category]  # fmt: skip


ACTION_WORDS: dict[GuidanceAction, str] = {
    "avoid": "avoid", "use_alternative": "use an alternative", "reduce_dose": "reduce the dose",
    "increase_dose": "increase the dose", "standard_dose": "standard dosing",
    "monitor": "monitor (effect, side effects or levels)", "no_guidance": "no guidance",
}  # fmt: skip


def _pgx_reasons(entries: list[OptionPgx]) -> list[str]:
    """One line per guideline row: a two-gene row (CPIC TCAs, sertraline) names both genes."""
    rows: dict[tuple[str, str, str | None, GuidanceAction], list[OptionPgx]] = {}
    for e in entries:
        rows.setdefault((e.source, e.recommendation, e.classification, e.action), []).append(e)
    out = []
    for (source, _, classification, action), genes in rows.items():
        parts = []
        for e in genes:
            if e.effective_phenotype is None:
                parts.append(f"{e.gene} not genotyped (guidance not applied; not assumed normal)")
                continue
            shown = f"{e.gene} {e.effective_phenotype}"
            if e.caused_by:
                genotype = e.phenotype or "not genotyped"
                shown += f" (genotype {genotype}; changed by {', '.join(e.caused_by)})"
            parts.append(shown)
        strength = f" ({classification})" if classification else ""
        text = f"{source}{strength}: {' + '.join(parts)} - {ACTION_WORDS[action]}"
        if text not in out:
            out.append(text)
    return out


def _interaction_category(i: OptionInteraction) -> OptionCategory:
    if i.kind == "drug_interaction":
        if i.severity == "contraindicated":
            return "avoid"
        if i.action == "avoid":
            return "prefer_alternative"
        if i.action in ("dose_cap", "monitor"):
            return "adjust"
        return "no_flag"
    return EFFECT_CATEGORY.get(i.action, "adjust")


def _interactions(
    kb: KnowledgeBase,
    drug: str,
    drug_class: str,
    current: dict[str, Medication],
    result: SampleResult,
    pgx: list[OptionPgx],
) -> tuple[list[OptionInteraction], list[str]]:
    """The candidate's interactions, and the checks the tables could not make for it (a class
    row not shipped, e.g. QT-prolonging drugs: CredibleMeds is not redistributable)."""
    out: list[OptionInteraction] = []
    not_checked: list[str] = []
    others = list({id(m): m for d, m in current.items() if d != drug}.values())
    if others:
        checked = check_interactions([*others, Medication(name=drug, status="planned")], kb)
        tables = load_ddi(kb)
        for gap in checked.not_assessed:
            if gap.code != "class_not_shipped" or gap.rule_id is None:
                continue
            row = tables.rule(gap.rule_id)
            both = row.drug_a.empty and row.drug_b.empty  # any two drugs: a result caveat
            if not both and drug in {x.lower() for x in gap.drugs}:
                not_checked.append(f"interaction row {gap.rule_id} (class not shipped)")
        for i in checked.interactions:
            sides = {*i.drug_a.split(" / "), *i.drug_b.split(" / ")}
            if drug not in sides:
                continue
            other = i.medication_b if drug in i.drug_a.split(" / ") else i.medication_a
            effect = "; ".join(x for x in (i.effect, i.mechanism, i.dose_cap or "") if x)
            out.append(OptionInteraction(kind="drug_interaction", drug=other,
                                         severity=i.severity, action=i.action, effect=effect,
                                         source=i.source, verified=i.verified,
                                         rule_id=i.rule_id))  # fmt: skip
    out += _maoi_by_class(kb, drug, drug_class, current, out)
    seen: set[tuple[str, str]] = set()
    strength = {(m.drug, m.gene): m.strength for m in kb.prescribing.modulators}
    for e in pgx:  # the patient's medicines change the candidate's effective phenotype
        for by in e.caused_by:
            if (e.gene, by) in seen:
                continue
            seen.add((e.gene, by))
            severity = "major" if strength.get((by, e.gene)) == "strong" else "moderate"
            out.append(OptionInteraction(
                kind="phenoconversion", drug=by, severity=severity, action="adjust",
                effect=f"{by} changes {e.gene} from {e.phenotype} to {e.effective_phenotype} for "
                f"{drug}: its guidance is read for {e.effective_phenotype}",
                source="phenoconversion rules (engines/pgx/phenoconversion.py; FDA inhibitor "
                "classes)", verified=True))  # fmt: skip
    genes = {e.gene for e in pgx}
    for m in kb.prescribing.modulators:  # modulators the phenoconversion rules do not apply
        if m.drug == drug or m.drug not in current or m.gene not in genes:
            continue
        if (m.gene, m.drug) in seen:
            continue
        exposure = "higher" if m.role == "inhibitor" else "lower"
        out.append(OptionInteraction(
            kind="cyp_modulation", drug=m.drug,
            severity="major" if m.strength == "strong" else "moderate",
            action="adjust" if m.strength == "strong" else "note",
            effect=f"{m.drug} is a {m.strength} {m.gene} {m.role}: expect {exposure} {drug} "
            f"exposure; the {m.gene} guidance is read on the genotype (no phenoconversion rule "
            f"for a {m.strength} {m.gene} {m.role})",
            source=m.source, verified=m.verified))  # fmt: skip
    out += _perpetrator(kb, drug, current, result)
    return out, not_checked


#: The interaction-table row "SSRIs/SNRIs with MAO inhibitors: contraindicated" (ONC 2012).
MAOI_ROW = "DDI004"
SEROTONERGIC_CLASSES = frozenset({"SSRI", "SNRI"})


def _maoi_by_class(
    kb: KnowledgeBase,
    drug: str,
    drug_class: str,
    current: dict[str, Medication],
    found: list[OptionInteraction],
) -> list[OptionInteraction]:
    """The ONC SSRI/SNRI + MAOI row for a serotonergic antidepressant the ONC 2012 class list
    predates or leaves out: an SSRI or SNRI by its class in ``condition_candidates.csv``
    (levomilnacipran), or a member of the FDA 2011 "serotonergic psychiatric drugs" list
    (vortioxetine, vilazodone, bupropion, mirtazapine, buspirone: the linezolid and methylene
    blue communication, whose mechanism - MAO inhibition with a serotonergic drug - is the
    row's)."""
    tables = load_ddi(kb)
    fda = {m.name for m in tables.classes.get("serotonergic_psychiatric_drugs", ())}
    if drug_class not in SEROTONERGIC_CLASSES and drug not in fda:
        return []
    try:
        row = tables.rule(MAOI_ROW)
    except KeyError:
        return []
    if drug in row.drug_a.members or drug in row.drug_b.members:
        return []  # listed: the interaction engine has matched it already
    maois = row.drug_b.members if row.drug_b.klass == "onc_maoi" else row.drug_a.members
    out = []
    for name in sorted(current):
        if name not in maois or any(i.drug == current[name].name for i in found):
            continue
        out.append(OptionInteraction(
            kind="drug_interaction", drug=current[name].name, severity=row.severity,
            action=row.action, effect=f"{row.effect}; {row.mechanism}",
            source=f"{row.source}; applied by class: {drug} is "
            + (f"an {drug_class} (condition_candidates.csv)" if drug not in fda else
               "on the FDA 2011 serotonergic psychiatric drug list (ddi_classes.csv)")
            + " but not in the ONC 2012 class list",
            verified=False, rule_id=row.id))  # fmt: skip
    return out


def _perpetrator(
    kb: KnowledgeBase, drug: str, current: dict[str, Medication], result: SampleResult
) -> list[OptionInteraction]:
    """The candidate as a CYP inhibitor or inducer of a current medicine's guideline gene."""
    pkb = kb.prescribing
    mods = [m for m in pkb.modulators if m.drug == drug]
    if not mods:
        return []
    calls = {c.gene: c for c in result.genes}
    out = []
    for med in sorted(current):
        if med == drug:
            continue
        genes = {gene for g in pkb.guidelines if med in g.drugs for r in g.recommendations
                 for gene in r.lookup}  # fmt: skip
        for m in mods:
            if m.gene not in genes:
                continue
            call = calls.get(m.gene)
            if call is None or not call.called:
                effect = (
                    f"{drug} is a {m.strength} {m.gene} {m.role}: it may change the "
                    f"effective {m.gene} phenotype for {med} ({m.gene} not genotyped)"
                )
            else:
                conv, _ = effective_phenotype(call, [m])
                if conv is None:
                    continue
                effect = (
                    f"{drug} is a {m.strength} {m.gene} {m.role}: {m.gene} would change "
                    f"from {call.phenotype} to {conv.effective_phenotype} for {med}, "
                    "which the patient takes - its dose guidance would change"
                )
            severity = "major" if m.strength == "strong" else "moderate"
            out.append(OptionInteraction(kind="phenoconversion", drug=med, severity=severity,
                                         action="adjust", effect=effect, source=m.source,
                                         verified=m.verified))  # fmt: skip
    return out


def _testing_required(
    kb: KnowledgeBase, tables: Psychotropics, drug: str, result: SampleResult
) -> list[OptionCaution]:
    """FDA label "testing required/recommended" for a gene the patient was not tested for,
    among the genes precisionrx genotypes (POLG testing for valproate is for suspected
    mitochondrial disease, which the record does not hold: not raised)."""
    called = {c.gene for c in result.genes if c.called}
    typed = set(kb.genes)
    out = []
    for gene, category in tables.label_testing.get(drug, ()):
        if gene in called or (gene not in typed and not gene.startswith("HLA-")):
            continue
        out.append(OptionCaution(
            code="label_testing_not_done", effect="adjust", verified=True,
            text=f"FDA label: {category.lower()} for {gene} before {drug}; {gene} was not "
            "genotyped - test before starting",
            source="FDA label PGx category via PharmGKB (pgx_psychiatry_drugs.csv)"))  # fmt: skip
    return out


def _triggered(rule: CautionRule, facts: PatientFacts, flags: set[str]) -> bool | None:
    """True/False, or None when the record cannot say."""
    t = rule.trigger
    if t == "pregnant":
        return True if facts.pregnant else (None if _pregnancy_unknown(facts) else False)
    if t == "pregnant_or_breastfeeding":
        if facts.pregnant or facts.breastfeeding or facts.pregnancy == "planning":
            return True
        return None if _pregnancy_unknown(facts) else False
    if t == "childbearing_potential":
        return facts.childbearing_potential
    if t == "age_under_25":
        return None if facts.age is None else facts.age < 25
    if t == "age_over_60":
        return None if facts.age is None else facts.age > 60
    if t == "hepatic_impairment":
        return facts.has("hepatic")
    if t == "suicidal_ideation":
        return "suicidal_ideation" in flags
    if t == "bipolar_recorded":
        return facts.bipolar
    if t == "smoking":
        return facts.smoking
    return False


def _pregnancy_unknown(facts: PatientFacts) -> bool:
    return facts.pregnancy is None and facts.childbearing_potential is not False


UNKNOWN_INPUT = {
    "pregnant": "pregnancy status", "pregnant_or_breastfeeding": "pregnancy status",
    "childbearing_potential": "sex", "age_under_25": "age", "age_over_60": "age",
    "smoking": "smoking status",
}  # fmt: skip


def _cautions(
    tables: Psychotropics, drug: str, drug_class: str, facts: PatientFacts, flags: set[str]
) -> tuple[list[OptionCaution], list[OptionInteraction], list[str]]:
    """The cautions the record triggers (tobacco smoke as an interaction), and the inputs the
    record lacks to decide the others."""
    out: list[OptionCaution] = []
    smoke: list[OptionInteraction] = []
    missing: list[str] = []
    for rule in tables.cautions:
        if not rule.applies_to(drug, drug_class):
            continue
        hit = _triggered(rule, facts, flags)
        if hit is None and rule.effect != "note":
            what = UNKNOWN_INPUT.get(rule.trigger, rule.trigger)
            if what not in missing:
                missing.append(what)
        if hit and rule.trigger == "smoking":
            smoke.append(OptionInteraction(kind="smoking", drug="tobacco smoke",
                                           severity="moderate", action=rule.effect,
                                           effect=rule.text, source=rule.source,
                                           verified=rule.verified))  # fmt: skip
        elif hit:
            out.append(OptionCaution(code=rule.id, text=rule.text, effect=rule.effect,  # type: ignore[arg-type]
                                     source=rule.source, verified=rule.verified))  # fmt: skip
    return out, smoke, missing


def _side_effects(
    tables: Psychotropics, drug: str, facts: PatientFacts, avoid: set[str]
) -> tuple[SideEffectProfile, list[str]]:
    """The profile and its concerns for this patient. A check the record calls for (weight
    gain with diabetes or obesity; QTc or conduction with a heart condition; ACB at 65 or over;
    a category the patient wants to avoid) whose category the table lacks is an ``unknown``
    concern of weight 1 and a missing input: a gap never ranks as a clean profile."""
    se = tables.side_effects.get(drug)
    categories = dict(se.categories) if se else {}
    acb = se.acb if se else None
    qtc_note = se.qtc_note if se else None
    concerns: list[tuple[int, str]] = []
    missing: list[str] = []
    covered: set[str] = set()

    def check(effects: tuple[str, ...], why: str) -> None:
        covered.update(effects)
        known = [(e, categories[e]) for e in effects if e in categories]
        if not known:
            label = " or ".join(e.replace("_", " ") for e in effects)
            concerns.append((1, f"unknown: {label} not in the knowledge base ({why})"))
            missing.append(f"{label} category")
            return
        for effect, level in known:
            if level in LEVEL_WEIGHT:
                concerns.append((LEVEL_WEIGHT[level], f"{level}: {effect.replace('_', ' ')} {why}"))

    if facts.diabetes or facts.obesity:
        what = "diabetes" if facts.diabetes else "obesity"
        check(("weight_gain",), f"with {facts.named.get(what, what)}")
    if facts.has("long_qt") or facts.has("cardiac"):
        what = "long_qt" if facts.has("long_qt") else "cardiac"
        name = facts.named.get(what, what)
        if qtc_note:
            covered.add("qtc")
            concerns.append((2, f"high: QT warning ({qtc_note}) with {name}"))
        else:
            check(("qtc", "cardiac_conduction"), f"with {name}")
    if facts.age is not None and facts.age >= ANTICHOLINERGIC_AGE:
        if acb is None:
            concerns.append((1, f"unknown: anticholinergic burden not listed (age {facts.age:g})"))
            missing.append("anticholinergic burden")
        elif acb >= DEFINITE_ACB:
            covered.add("anticholinergic")
            level = "high" if acb >= 3 else "moderate"
            concerns.append((LEVEL_WEIGHT[level], f"{level}: anticholinergic burden {acb} "
                             f"({se.acb_scale if se else ''}) at age {facts.age:g}"))  # fmt: skip
    for effect in sorted(avoid - covered):
        if effect == "anticholinergic" and acb is not None and "anticholinergic" not in categories:
            if acb >= DEFINITE_ACB:
                concerns.append((1, f"moderate: anticholinergic burden {acb} (a side effect the "
                                 "patient wants to avoid)"))  # fmt: skip
            continue
        check((effect,), "a side effect the patient wants to avoid")
    if se is None:
        missing.insert(0, "side-effect profile")
    return SideEffectProfile(
        categories=categories, anticholinergic_burden=acb,
        anticholinergic_scale=se.acb_scale if se else None, qtc_note=qtc_note,
        concerns=[c for _, c in concerns], concern_weight=sum(w for w, _ in concerns),
        source=se.source if se else None, verified=se.verified if se else False,
    ), missing  # fmt: skip


def _efficacy(tables: Psychotropics, drug: str, condition: str) -> EfficacyPrior:
    prior = tables.efficacy.get(drug)
    wanted = {"depression": "response_or_vs_placebo", "psychosis": "symptom_smd_vs_placebo"}
    if prior is None or wanted.get(condition) != prior.measure:
        return EfficacyPrior()
    return EfficacyPrior(
        measure=prior.measure, estimate=prior.estimate, ci_lower=prior.ci_lower,
        ci_upper=prior.ci_upper, acceptability_or=prior.acceptability_or,
        acceptability_ci_lower=prior.acceptability_ci_lower,
        acceptability_ci_upper=prior.acceptability_ci_upper, source=prior.source,
        verified=prior.verified,
    )  # fmt: skip


def _efficacy_reason(e: EfficacyPrior) -> str:
    if e.estimate is None:
        return "efficacy: no network meta-analysis prior in the knowledge base for this condition"
    what = ("response OR vs placebo (Cipriani 2018)" if e.measure == "response_or_vs_placebo"
            else "symptom SMD vs placebo (Huhn 2019; negative favours the drug)")  # fmt: skip
    ci = f" ({e.ci_lower}-{e.ci_upper})" if e.ci_lower is not None else ""
    acc = ""
    if e.acceptability_or is not None:
        acc = f"; dropout OR {e.acceptability_or}"
    flag = "" if e.verified == "true" else f" - transcription verified: {e.verified}"
    return f"efficacy: {what} {e.estimate}{ci}{acc}{flag}"
