"""CPIC and DPWG recommendations for a sample's gene results, after PharmCAT's Reporter.

Lookup keys (PharmCAT Matching-Recommendations):
1. phenotype (most genes), 2. activity score (CYP2C9, CYP2D6, DPYD; ``≥`` bounds allowed),
3. single-position phenotype (ABCG2, VKORC1, IFNL3), 4. allele status (HLA-A/B ``*57:01 positive``),
plus DPWG diplotype maps (``{"*2": 2.0}``). A gene without a result matches ``No Result`` rows;
if the guideline has none, the drug gets "no recommendation: genotype not determined" — never the
normal-metaboliser text. Ambiguous diplotypes are evaluated one by one and every distinct
recommendation is reported with a caveat when they differ.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from precisionrx.engines.pgx.indication import narrow
from precisionrx.engines.pgx.medications import ResolvedMedication, resolve
from precisionrx.engines.pgx.phenoconversion import effective_phenotype, modulators_for
from precisionrx.engines.pgx.phenotyper import phenotype_for, reference_phenotype
from precisionrx.kb.prescribing import Guideline, GuidelineRecommendation, PrescribingKb
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import ACTIVITY_SCORE_GENES
from precisionrx.records import (
    Caveat,
    CaveatKind,
    DrugRecommendation,
    EffectivePhenotype,
    GeneCall,
    Medication,
    MedicationReview,
    PatientRecord,
    SampleResult,
)
from precisionrx.records.patient import Condition
from precisionrx.records.pgx import WarfarinGuidance

NO_RESULT = "No Result"
NO_DECISION = {None, "No recommendation", "N/A", "n/a"}


@dataclass(frozen=True)
class GeneOption:
    """One possible result for a gene (one of several tied diplotypes)."""

    gene: str
    diplotype: str | None
    phenotype: str | None
    activity_score: str | None
    statuses: tuple[str, ...] = ()
    allele_counts: tuple[tuple[str, float], ...] = ()
    converted: EffectivePhenotype | None = None


@dataclass
class Context:
    options: dict[str, list[GeneOption]] = field(default_factory=dict)
    #: Phenoconversions, one per (gene, candidate phenotype) that a modulator changes.
    conversions: list[EffectivePhenotype] = field(default_factory=list)
    notes: list[Caveat] = field(default_factory=list)
    #: Per called gene with allele-defining positions missing: the caveat every
    #: recommendation made from that gene carries itself.
    missing: dict[str, Caveat] = field(default_factory=dict)


def _counts(diplotype: str) -> tuple[tuple[str, float], ...]:
    parts = diplotype.split("/")
    out: dict[str, float] = {}
    for p in parts:
        out[p] = out.get(p, 0.0) + 1.0
    return tuple(sorted(out.items()))


def gene_options(kb: KnowledgeBase, call: GeneCall) -> list[GeneOption]:
    """One option per candidate diplotype, each with its own phenotype and activity score."""
    if not call.called:
        return []
    if call.diplotype_calls:
        return [
            GeneOption(
                call.gene,
                c.diplotype,
                c.phenotype,
                c.activity_score,
                tuple(c.allele_functions),
                _counts(c.diplotype) if c.diplotype else (),
            )
            for c in call.diplotype_calls
        ]
    if len(call.diplotypes) <= 1:
        dip = call.diplotypes[0] if call.diplotypes else None
        return [
            GeneOption(
                call.gene,
                dip,
                call.phenotype,
                call.activity_score,
                tuple(call.allele_functions),
                _counts(dip) if dip else (),
            )
        ]
    out = []
    for dip in call.diplotypes:
        p = phenotype_for(kb, call.gene, dip.split("/"))
        score = p.activity_score if call.gene in ACTIVITY_SCORE_GENES else None
        out.append(GeneOption(call.gene, dip, p.phenotype, score, tuple(p.functions), _counts(dip)))
    return out


def _score_matches(key: str, score: str | None) -> bool:
    """Activity-score keys: ``1.5``, ``≥3.75`` or DPWG's ``1.5 (Intermediate Metabolizer)``."""
    key = key.split(" (", 1)[0].strip()
    if score is None:
        return key.lower() == "n/a"
    try:
        value = Decimal(score.replace("≥", ""))
        if key.startswith("≥"):
            return value >= Decimal(key[1:])
        return value == Decimal(key)
    except InvalidOperation:
        return key == score


def value_matches(gene: str, key: str | dict[str, float], option: GeneOption | None) -> bool:
    if option is None:
        return key == NO_RESULT
    if isinstance(key, dict):
        return tuple(sorted((k, float(v)) for k, v in key.items())) == option.allele_counts
    if key == NO_RESULT:
        return False
    if gene.startswith("HLA-"):
        return f"{gene}{key}" in option.statuses
    if (
        gene in ACTIVITY_SCORE_GENES
        and (option.activity_score is not None or gene != "CYP2D6")
        and _score_matches(key, option.activity_score)
    ):
        return True
    return (option.phenotype or "").lower() == key.lower()


def _apply_conversion(opt: GeneOption, conv: EffectivePhenotype | None) -> GeneOption:
    if conv is None:
        return opt
    return GeneOption(
        opt.gene,
        opt.diplotype,
        conv.effective_phenotype,
        conv.effective_activity_score,
        opt.statuses,
        opt.allele_counts,
        conv,
    )


def build_context(kb: KnowledgeBase, result: SampleResult, co_medications: set[str]) -> Context:
    ctx = Context()
    mods = modulators_for(co_medications, kb.prescribing)
    for call in result.genes:
        if call.called and call.positions.missing:
            ctx.missing[call.gene] = _missing_positions_caveat(call)
        options = []
        for opt in gene_options(kb, call):
            # Each candidate of a tied call is converted on its own phenotype and score.
            view = call.model_copy(
                update={"phenotype": opt.phenotype, "activity_score": opt.activity_score}
            )
            conv, notes = effective_phenotype(view, mods)
            ctx.notes += [n for n in notes if n not in ctx.notes]
            if conv is not None and conv not in ctx.conversions:
                ctx.conversions.append(conv)
            options.append(_apply_conversion(opt, conv))
        ctx.options[call.gene] = options
    return ctx


def _missing_positions_caveat(call: GeneCall) -> Caveat:
    missing = call.positions.missing
    shown = ", ".join(missing[:15]) + (
        f" and {len(missing) - 15} more" if len(missing) > 15 else ""
    )
    return Caveat(
        code="missing_positions",
        message=f"made from a {call.gene} result with {len(missing)} of "
        f"{call.positions.total} allele-defining positions missing ({shown}): alleles defined "
        "there were not assessed; genotype them before relying on this recommendation",
    )


def _guideline_genes(g: Guideline) -> list[str]:
    genes: list[str] = []
    for r in g.recommendations:
        for gene in r.lookup:
            if gene not in genes:
                genes.append(gene)
    return genes or list(g.genes)


def _newer_guidance(pkb: PrescribingKb, g: Guideline, drug: str) -> list[Caveat]:
    if g.source != "CPIC":
        return []
    subjects = {drug.lower(), *(x.lower() for x in _guideline_genes(g))}
    hits = [c for c in pkb.changes if c.subject.lower() in subjects]
    if not hits:
        return []
    latest = max(hits, key=lambda c: c.date)
    return [
        Caveat(
            code="newer_cpic_guidance",
            message=f"newer CPIC guidance exists: check (CPIC data changed after this guideline "
            f"snapshot 2024-03-25 for {', '.join(sorted({c.subject for c in hits}))}; latest "
            f"{latest.date}: {latest.note})",
        )
    ]


def _option_key(opt: GeneOption) -> tuple[object, ...]:
    conv = opt.converted
    return (
        opt.gene,
        opt.diplotype,
        opt.phenotype,
        opt.activity_score,
        opt.statuses,
        opt.allele_counts,
        None if conv is None else (conv.effective_phenotype, tuple(conv.caused_by), conv.rule),
    )


def recommend_drug(kb: KnowledgeBase, drug: str, ctx: Context) -> list[DrugRecommendation]:
    pkb = kb.prescribing
    relevant = sorted(
        {gene for g in pkb.guidelines if drug in g.drugs for gene in _guideline_genes(g)}
    )
    # Recommendations per (drug, relevant gene options), shared by samples with the same
    # results; kept on the knowledge base they come from.
    memo: dict[tuple[object, ...], list[DrugRecommendation]] = kb.memo("pgx.drug_recs", dict)
    key = (
        drug,
        tuple(
            (gene, tuple(_option_key(o) for o in ctx.options.get(gene) or [])) for gene in relevant
        ),
    )
    if key not in memo:
        if len(memo) > 50_000:
            memo.clear()
        memo[key] = _recommend_drug(kb, drug, ctx)
    recs = memo[key]
    if not ctx.missing:
        return recs
    out = []
    for r in recs:  # cached records are shared: add the per-sample caveats to copies
        extra = [ctx.missing[g] for g in r.genes if g in ctx.missing]
        out.append(r.model_copy(update={"caveats": [*r.caveats, *extra]}) if extra else r)
    return out


def _recommend_drug(kb: KnowledgeBase, drug: str, ctx: Context) -> list[DrugRecommendation]:
    pkb = kb.prescribing
    out: list[DrugRecommendation] = []
    for g in pkb.guidelines:
        if drug not in g.drugs:
            continue
        genes = _guideline_genes(g)
        currency = _newer_guidance(pkb, g, drug)
        recs = [r for r in g.recommendations if not r.drugs or drug in r.drugs]
        for population in dict.fromkeys(r.population for r in recs):
            prs = [r for r in recs if r.population == population]
            choices: list[list[GeneOption | None]] = []
            for gene in genes:
                found: list[GeneOption | None] = list(ctx.options.get(gene) or [])
                choices.append(found or [None])
            combos = [dict(zip(genes, combo, strict=True)) for combo in itertools.product(*choices)]
            matched: list[tuple[GuidelineRecommendation, list[dict[str, GeneOption | None]]]] = []
            for by_gene in combos:
                for r in prs:
                    if not all(
                        value_matches(gn, key, by_gene.get(gn)) for gn, key in r.lookup.items()
                    ):
                        continue
                    entry = next((m for m in matched if m[0] is r), None)
                    if entry is None:
                        matched.append((r, [by_gene]))
                    else:
                        entry[1].append(by_gene)
            if not matched:
                out.append(_unmatched(g, drug, population, genes, ctx, currency))
                continue
            # A recommendation that only some of the candidate results lead to (tied
            # diplotypes with different phenotypes) applies conditionally: it says which.
            multi = frozenset(gn for gn, ch in zip(genes, choices, strict=True) if len(ch) > 1)
            out.extend(
                _to_record(g, drug, r, bgs, len(bgs) < len(combos), currency, multi)
                for r, bgs in matched
            )
    return out


def _describe(option: GeneOption) -> str:
    what = option.phenotype or ""
    if option.activity_score is not None:
        what = f"{what}, activity score {option.activity_score}".lstrip(", ")
    if option.diplotype:
        return f"{option.diplotype} ({what})" if what else option.diplotype
    return what or "no result"


def _to_record(
    g: Guideline,
    drug: str,
    r: GuidelineRecommendation,
    combos: list[dict[str, GeneOption | None]],
    conditional: bool,
    currency: list[Caveat],
    ambiguous_genes: frozenset[str] = frozenset(),
) -> DrugRecommendation:
    converted: list[EffectivePhenotype] = []
    for by_gene in combos:
        for o in by_gene.values():
            if o is not None and o.converted is not None and o.converted not in converted:
                converted.append(o.converted)
    caveats = list(currency)
    if conditional:
        per_gene: dict[str, list[str]] = {}
        for by_gene in combos:
            for gene, o in by_gene.items():
                if o is not None and gene in ambiguous_genes:
                    per_gene.setdefault(gene, [])
                    if _describe(o) not in per_gene[gene]:
                        per_gene[gene].append(_describe(o))
        dips = "; ".join(f"{gene} {' or '.join(d)}" for gene, d in per_gene.items())
        caveats.append(
            Caveat(
                code="ambiguous_recommendation",
                kind=CaveatKind.AMBIGUITY,
                message="the genotype is ambiguous and the possible recommendations differ; "
                f"this one applies if {dips}",
            )
        )
    caveats.extend(
        Caveat(
            code="phenoconversion",
            message=f"{conv.gene} recommendation based on the effective phenotype "
            f"{conv.effective_phenotype} (genotype: {conv.genotype_phenotype}) because of "
            f"{', '.join(conv.caused_by)}: {conv.rule}"
            + ("" if conv.verified else " (modulator class unverified)"),
        )
        for conv in converted
    )
    return DrugRecommendation(
        drug=drug,
        source=g.source,
        genes=list(r.lookup),
        lookup_keys={k: (v if isinstance(v, str) else str(v)) for k, v in r.lookup.items()},
        population=r.population,
        classification=r.classification,
        text=r.text,
        implications=list(r.implications),
        guideline=g.name,
        guideline_version=f"{g.source} annotation v{g.version}, data 2024-03-25",
        guideline_url=g.url,
        phenotype_basis="phenoconverted" if converted else "genotype",
        caused_by=sorted({d for c in converted for d in c.caused_by}),
        dosing_information=r.dosing_information,
        alternate_drug=r.alternate_drug,
        caveats=caveats,
    )


def _unmatched(
    g: Guideline,
    drug: str,
    population: str,
    genes: list[str],
    ctx: Context,
    currency: list[Caveat],
) -> DrugRecommendation:
    missing = [gn for gn in genes if not ctx.options.get(gn)]
    if missing:
        text = f"No recommendation: genotype not determined ({', '.join(missing)} not called)."
    else:
        shown = ", ".join(
            f"{gn} {ctx.options[gn][0].phenotype or ctx.options[gn][0].diplotype}" for gn in genes
        )
        text = f"No recommendation in this guideline for {shown}."
    return DrugRecommendation(
        drug=drug,
        source=g.source,
        genes=genes,
        lookup_keys={},
        population=population,
        classification=None,
        text=text,
        guideline=g.name,
        guideline_version=f"{g.source} annotation v{g.version}, data 2024-03-25",
        guideline_url=g.url,
        matched=False,
        caveats=list(currency),
    )


def _abnormal_without_baseline(phenotype: str) -> bool:
    """For genes without an allele definition (MT-RNR1, outside-only genes)."""
    text = phenotype.lower()
    return not (text.startswith("normal") or "uncertain" in text or text == "indeterminate")


def _differs_from_baseline(phenotype: str | None, base: str | None) -> bool:
    if phenotype is None:
        return False
    if base is None:
        return _abnormal_without_baseline(phenotype)
    return phenotype != base


def _status(recs: list[DrugRecommendation], ctx: Context, kb: KnowledgeBase) -> str:
    if not recs:
        return "no_guidance"
    matched = [r for r in recs if r.matched]
    if not matched:
        return "caution"
    for r in matched:
        if r.classification in NO_DECISION:
            continue
        for gene in r.genes:
            for opt in ctx.options.get(gene) or []:
                if opt.converted is not None:
                    return "action"
                base = reference_phenotype(kb, gene)
                if gene.startswith("HLA-"):
                    if any(s.endswith("positive") for s in opt.statuses):
                        return "action"
                elif _differs_from_baseline(opt.phenotype, base):
                    return "action"
    if any(c.kind == CaveatKind.AMBIGUITY for r in matched for c in r.caveats):
        return "caution"
    return "ok"


def _signature(result: SampleResult) -> tuple[object, ...]:
    return tuple(
        (
            g.gene,
            g.called,
            tuple(g.diplotypes),
            g.phenotype,
            g.activity_score,
            tuple(g.allele_functions),
            tuple(g.positions.missing),  # recommendations carry the missing-positions caveat
        )
        for g in result.genes
    )


def prescribed(
    kb: KnowledgeBase,
    result: SampleResult,
    medications: list[Medication] | None = None,
    drugs: list[str] | None = None,
    cache: dict[tuple[object, ...], SampleResult] | None = None,
    patient: PatientRecord | None = None,
) -> SampleResult:
    """A copy of ``result`` with ``recommendations``, ``medication_review``,
    ``effective_phenotypes`` (and ``warfarin`` when it is listed or asked for) filled in; the
    input is not changed.

    ``drugs`` restricts the recommendations to these drug names (plus the medications);
    ``cache`` (owned by the caller) shares work between samples with identical gene results.
    """
    key = (
        _signature(result),
        tuple(m.model_dump_json() for m in medications or []),
        tuple(drugs or []),
        patient.model_dump_json() if patient else None,
    )
    if cache is not None and key in cache:
        done = cache[key]
    else:
        conditions = list(patient.conditions) if patient is not None else None
        done = _prescribe(kb, result, medications, drugs, conditions)
        wanted = {d.strip().lower() for d in drugs or []}
        listed = {r.drug for r in (resolve(m, kb.prescribing) for m in medications or []) if r.drug}
        if "warfarin" in wanted | listed:
            done = done.model_copy(update={"warfarin": _warfarin(kb, result, listed, patient)})
        if cache is not None:
            cache[key] = done
    return result.model_copy(
        update={
            "recommendations": done.recommendations,
            "medication_review": done.medication_review,
            "effective_phenotypes": done.effective_phenotypes,
            "warfarin": done.warfarin,
        }
    )


def _measure(patient: PatientRecord | None, names: tuple[str, ...], unit: str) -> float | None:
    m = patient.measurement(*names, exact=True, unit=unit) if patient else None
    return m.value if m else None


def _warfarin(
    kb: KnowledgeBase, result: SampleResult, listed: set[str], patient: PatientRecord | None
) -> WarfarinGuidance:
    from precisionrx.engines.pgx.warfarin import warfarin_guidance

    demo = patient.demographics if patient else None
    return warfarin_guidance(
        kb,
        {g.gene: g for g in result.genes},
        listed,
        demo.age_years if demo else None,
        _measure(patient, ("height", "body height"), "cm"),
        _measure(patient, ("weight", "body weight"), "kg"),
        demo.ancestry_self_reported if demo else None,
    )


def _prescribe(
    kb: KnowledgeBase,
    result: SampleResult,
    medications: list[Medication] | None,
    drugs: list[str] | None,
    conditions: list[Condition] | None = None,
) -> SampleResult:
    """The prescribing fields for ``result`` (a new object holding only them); with the
    patient's ``conditions``, indication-dependent advice is narrowed (pgx/indication.py)."""
    pkb = kb.prescribing
    modulator_names = {m.drug for m in pkb.modulators}
    resolved: list[ResolvedMedication] = [
        resolve(m, pkb, modulator_names) for m in medications or []
    ]
    med_drugs = {r.drug for r in resolved if r.drug}
    if medications is None and not drugs:
        targets = sorted(pkb.drugs)
    else:
        asked = {d.strip().lower() for d in drugs or []}
        targets = sorted(({r.drug for r in resolved if r.drug} | asked) & pkb.drugs)
        resolved.extend(ResolvedMedication(d, None, None) for d in sorted(asked - pkb.drugs))
    recommendations: list[DrugRecommendation] = []
    by_drug: dict[str, list[DrugRecommendation]] = {}
    conversions: dict[tuple[str, str, tuple[str, ...]], EffectivePhenotype] = {}
    contexts: dict[frozenset[str], Context] = {}
    for drug in targets:
        co = frozenset(med_drugs - {drug})
        if co not in contexts:
            contexts[co] = build_context(kb, result, set(co))
        ctx = contexts[co]
        recs = recommend_drug(kb, drug, ctx)
        by_drug[drug] = recs
        recommendations += recs
        for conv in ctx.conversions:
            key = (conv.gene, conv.genotype_phenotype or "", tuple(conv.caused_by))
            conversions[key] = conv
    out = SampleResult(
        input=result.input,
        sample=result.sample,
        recommendations=recommendations,
        effective_phenotypes=list(conversions.values()),
    )
    if medications is None:
        return out
    review = []
    for r in resolved:
        caveats: list[Caveat] = []
        if r.drug is None:
            caveats.append(
                Caveat(
                    code="unknown_drug",
                    message=f"medication {r.given!r} could not be matched to a drug name or RxNorm "
                    "code in the guideline data; it was not reviewed",
                )
            )
            review.append(MedicationReview(medication=r.given, status="unknown", caveats=caveats))
            continue
        recs, indication_notes = narrow(r.drug, by_drug.get(r.drug, []), conditions)
        caveats += indication_notes
        ctx = contexts.get(frozenset(med_drugs - {r.drug})) or build_context(
            kb, result, med_drugs - {r.drug}
        )
        status = _status(recs, ctx, kb)
        if r.drug in modulator_names:
            acting = ", ".join(
                f"{m.strength} {m.gene} {m.role}" for m in pkb.modulators if m.drug == r.drug
            )
            caveats.append(
                Caveat(
                    code="perpetrator_drug",
                    kind=CaveatKind.NOTE,
                    message=f"{r.drug} is a {acting}; it changes the effective phenotype of "
                    "other drugs",
                )
            )
        review.append(
            MedicationReview(
                medication=r.given,
                matched_drug=r.drug,
                status=status,  # type: ignore[arg-type]
                recommendations=recs,
                caveats=caveats,
            )
        )
    out.medication_review = review
    return out
