"""Germline pharmacogene calling: VCF(s) + outside calls -> per-sample gene results.

Stages: read the definition regions (index queries when indexed) -> observe genotypes at
allele-defining positions -> match named alleles (vectorised for phased cohorts) ->
phenotype -> caveats. Missing positions are reported per gene and never assumed reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.cohort import (
    best_alleles,
    haplotype_matches,
    single_block_phased,
)
from precisionrx.engines.pgx.coverage import (
    MAX_POSSIBLE,
    common_alleles,
    coverage_key,
    insufficient,
    possible_pairs,
)
from precisionrx.engines.pgx.frequencies import rank_diplotypes
from precisionrx.engines.pgx.matcher import (
    PARTIAL_FALLBACK_GENES,
    CompiledGene,
    MatchResult,
    allele_sort_key,
    compile_gene,
    diplotype_name,
    match_sample,
    partial_match,
)
from precisionrx.engines.pgx.observe import HAPLOID, GeneObservations, build_markers, observe
from precisionrx.engines.pgx.outside import outside_gene_call
from precisionrx.engines.pgx.phenotyper import GeneSummary, Phenotype, phenotype_for, summarise
from precisionrx.engines.pgx.variant_genes import (
    VariantListCall,
    call_variant_list,
    lowest_two,
    strand_name,
)
from precisionrx.errors import GenomeBuildMismatch, InputError
from precisionrx.io.germline import GenotypeRequest, GermlineGenotypes
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.io.outside_calls import by_gene as outside_by_gene
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import (
    ACTIVITY_SCORE_GENES,
    CHRX_GENES,
    TOXICITY_GENES,
    DefinedPosition,
    GeneDefinition,
)
from precisionrx.records import (
    Caveat,
    CaveatKind,
    DiplotypeCall,
    GeneCall,
    PositionSummary,
    SampleResult,
)

SLCO1B1_RS4149056 = "rs4149056"
SLCO1B1_FALLBACK = {  # CPIC statin guideline 2022 (PMID 35152405): c.521T>C genotype
    ("T", "T"): "Normal Function",
    ("C", "T"): "Decreased Function",
    ("C", "C"): "Poor Function",
}
VARIANT_LIST = frozenset({"DPYD", "RYR1"})
MAX_LISTED = 15


@dataclass
class CallOptions:
    genome_build: str = "GRCh38"
    genes: Sequence[str] | None = None
    #: sex at birth per sample id ("male"/"female"); used for chrX genes.
    sex: dict[str, str] = field(default_factory=dict)
    #: sex at birth for samples not in ``sex`` (a single-patient plan knows it).
    default_sex: str = "unknown"
    progress: Callable[[str], None] | None = None
    #: Opt-in: treat positions absent from the input as homozygous reference (for VCFs
    #: known to list every non-reference site, like PharmCAT's preprocessor ``-0``).
    #: Every such gene carries an ``assumed_reference`` caveat. Never the default.
    missing_to_reference: bool = False


def genotype_request(kb: KnowledgeBase, options: CallOptions | None = None) -> GenotypeRequest:
    """The regions and build markers :func:`call_genotypes` needs from an input (for
    :func:`precisionrx.io.germline.read_germline`)."""
    options = options or CallOptions()
    same_build = options.genome_build == "GRCh38"
    plans = [_gene_plan(kb, g, same_build) for g in options.genes or kb.genes]
    markers = kb.memo(("pgx.build_markers", tuple(p.defn.gene for p in plans)),
                      lambda: build_markers([p.defn for p in plans], kb.dual_build))  # fmt: skip
    return GenotypeRequest(tuple(p.region for p in plans), markers, options.genome_build)


def call_genotypes(
    genotypes: GermlineGenotypes,
    kb: KnowledgeBase,
    options: CallOptions | None = None,
    outside: Sequence[OutsideCall] = (),
) -> list[SampleResult]:
    """Call every requested gene for every sample of ``genotypes`` (read with the request of
    :func:`genotype_request` for the same ``options``); no file is opened here.

    Reference bases that disagree with GRCh38 at two or more allele-defining positions mean
    the input is on another build: :class:`GenomeBuildMismatch`, naming the input.
    """
    options = options or CallOptions()
    genes = list(options.genes or kb.genes)
    same_build = options.genome_build == "GRCh38"
    plans = [_gene_plan(kb, g, same_build) for g in genes]
    if len(genotypes.records) != len(plans):
        raise InputError(
            f"the genotypes hold {len(genotypes.records)} regions but {len(plans)} genes were "
            "asked for: read them with the request made for the same options",
            path=genotypes.input,
        )
    samples = list(genotypes.samples)
    provenance = kb.provenance(
        ["pharmcat", "pypgx", "frequencies_1kgp", "guidelines", "interactions"],
        genotypes.fingerprint,
        {"genome_build": options.genome_build},
    )
    results = [
        SampleResult(
            input=genotypes.input, sample=s, genome_build=options.genome_build,
            provenance=provenance,
        )
        for s in samples
    ]  # fmt: skip
    mismatches: list[str] = []
    for plan, records in zip(plans, genotypes.records, strict=True):
        if options.progress:
            options.progress(plan.defn.gene)
        obs = observe(plan.defn, plan.positions, records, samples, plan.input_positions, same_build)
        mismatches += obs.ref_mismatches
        if options.missing_to_reference:
            fill_missing_as_reference(obs)
        calls = call_gene(kb, plan.defn, obs, options, same_build)
        for res, gc in zip(results, calls, strict=True):
            res.genes.append(gc)
    if same_build and len(mismatches) >= 2:
        raise GenomeBuildMismatch(
            f"reference bases disagree with GRCh38 at {len(mismatches)} allele-defining "
            f"positions (e.g. {'; '.join(mismatches[:3])})",
            path=genotypes.input,
            hint="is this a GRCh37 file? pass --genome-build GRCh37",
        )
    if outside:
        for res in results:
            apply_outside_calls(kb, res, outside)
    return results


def fill_missing_as_reference(obs: GeneObservations) -> None:
    """Mark absent positions as homozygous reference, remembered in ``obs.assumed``."""
    absent = ~obs.present
    obs.codes[absent] = 0
    obs.present[absent] = True
    obs.assumed = absent


def apply_outside_calls(
    kb: KnowledgeBase, res: SampleResult, outside: Sequence[OutsideCall]
) -> None:
    """Outside calls override the VCF per gene; a gene given several times is ambiguous."""
    index = {g.gene: i for i, g in enumerate(res.genes)}
    for gene, lines in outside_by_gene(outside).items():
        gc = outside_gene_call(kb, lines)
        if gene in index:
            old = res.genes[index[gene]]
            gc.positions = old.positions
            res.genes[index[gene]] = gc
        else:
            res.genes.append(gc)


@dataclass
class _GenePlan:
    defn: GeneDefinition
    positions: list[DefinedPosition]
    input_positions: list[int | None]
    region: tuple[str, int, int]


def _gene_plan(kb: KnowledgeBase, gene: str, same_build: bool) -> _GenePlan:
    defn = kb.definition(gene)
    positions = list(defn.positions) + list(defn.exemptions.extra_positions)
    chrom = defn.chromosome.removeprefix("chr")
    if same_build:
        inputs: list[int | None] = [p.position for p in positions]
    else:
        inverse = {p38: p37 for p37, p38 in kb.dual_build.offsets_for(chrom)}
        inputs = [inverse.get(p.position) for p in positions]
    known = [q for q in inputs if q is not None] or [1]
    span = max(len(p.ref) for p in positions)
    return _GenePlan(defn, positions, inputs, (chrom, min(known) - 50, max(known) + span + 50))


def call_gene(
    kb: KnowledgeBase,
    defn: GeneDefinition,
    obs: GeneObservations,
    options: CallOptions,
    same_build: bool = True,
) -> list[GeneCall]:
    """One GeneCall per sample; phased single-block samples are matched in bulk."""
    n_pos = len(defn.positions)
    comp = compile_gene(defn, obs)
    n = len(obs.samples)
    bulk = np.zeros(n, dtype=bool)
    if defn.gene not in VARIANT_LIST and defn.gene not in CHRX_GENES and n > 1:
        bulk = single_block_phased(obs, n_pos) & ~_has_undocumented(obs, n_pos)
    match = scores = None
    if bulk.any():
        match, scores = haplotype_matches(comp, obs, n_pos)
    cache: dict[bytes, GeneCall] = {}
    out = []
    for s in range(n):
        key = _pattern_key(obs, s)
        if key in cache:
            out.append(cache[key])  # identical genotypes: the same (read-only) result
            continue
        pre: MatchResult | None = None
        if bulk[s] and match is not None and scores is not None:
            pre = _bulk_result(comp, match, scores, s)
        gc = _sample_call(kb, defn, comp, obs, s, options, pre, same_build)
        gc.caveats.extend(_newer_allele_data(kb, defn))
        cache[key] = gc
        out.append(gc)
    return out


def _newer_allele_data(kb: KnowledgeBase, defn: GeneDefinition) -> list[Caveat]:
    """CPIC allele definition/function changes dated after the shipped definitions."""
    since = defn.version[:10]
    notes = [
        f"{c.date}: {c.note}"
        for c in kb.prescribing.changes
        if c.subject == defn.gene
        and c.date > since
        and c.type in {"ALLELE_DEFINITION", "ALLELE_FUNCTION_REFERENCE"}
    ]
    if not notes:
        return []
    return [
        Caveat(
            code="newer_cpic_allele_data",
            kind=CaveatKind.NOTE,
            message=f"CPIC changed {defn.gene} allele data after the shipped definitions "
            f"({since}); not yet reflected here: {'; '.join(notes)}",
        )
    ]


def _pattern_key(obs: GeneObservations, s: int) -> bytes:
    return b"".join(
        (
            obs.codes[s].tobytes(),
            obs.present[s].tobytes(),
            obs.phased[s].tobytes(),
            obs.phase_set[s].tobytes(),
            obs.ref_filled[s].tobytes(),
            obs.samples[s].encode() if obs.gene in CHRX_GENES else b"",
            # Invalid calls name the sample in their caveat: such samples are not shared.
            "\n".join(obs.notes_for(obs.samples[s])).encode() if obs.notes else b"",
        )
    )


def _has_undocumented(obs: GeneObservations, n_pos: int) -> npt.NDArray[np.bool_]:
    flags = np.zeros(obs.codes.shape[0], dtype=bool)
    for j in range(n_pos):
        bad = [c for c, a in enumerate(obs.allele_table[j]) if a.startswith("?")]
        if bad:
            flags |= (np.isin(obs.codes[:, j, :], bad) & obs.present[:, j, None]).any(axis=1)
    return flags


def _bulk_result(
    comp: CompiledGene,
    match: npt.NDArray[np.bool_],
    scores: npt.NDArray[np.int64],
    s: int,
) -> MatchResult:
    a = best_alleles(comp, match, scores, 2 * s)
    b = best_alleles(comp, match, scores, 2 * s + 1)
    res = MatchResult(phased=True)
    if not a or not b:
        return res
    seen: set[str] = set()
    for x in a:
        for y in b:
            name = diplotype_name(x, y)
            if name not in seen:
                seen.add(name)
                res.pairs.append(tuple(name.split("/", 1)) if "/" in name else (name, None))  # type: ignore[arg-type]
    res.score = int(
        scores[2 * s][comp.names.index(a[0])] + scores[2 * s + 1][comp.names.index(b[0])]
    )
    return res


def _label_list(labels: list[str]) -> str:
    shown = ", ".join(labels[:MAX_LISTED])
    return shown + (f" and {len(labels) - MAX_LISTED} more" if len(labels) > MAX_LISTED else "")


def _non_reference_positions(obs: GeneObservations, s: int) -> list[int]:
    codes = obs.codes[s]
    nonref = obs.present[s] & ((codes[:, 0] != 0) | ((codes[:, 1] != 0) & (codes[:, 1] != HAPLOID)))
    return [int(j) for j in np.flatnonzero(nonref)]


def _observed_variants(obs: GeneObservations, s: int, n_pos: int) -> list[str]:
    out = []
    extra = [j for j in range(n_pos, len(obs.positions)) if obs.present[s, j]]
    for j in sorted(set(_non_reference_positions(obs, s)) | set(extra)):
        pos = obs.positions[j]
        a, b = (int(x) for x in obs.codes[s, j])
        alleles = [obs.allele(j, a) or ".", obs.allele(j, b) or "." if b != HAPLOID else None]
        shown = [x for x in alleles if x is not None]
        if all(x == pos.ref for x in shown) and j < n_pos:
            continue
        out.append(f"{pos.label} {'/'.join(x.lstrip('?') for x in shown)}")
    return out


def _sample_call(
    kb: KnowledgeBase,
    defn: GeneDefinition,
    comp: CompiledGene,
    obs: GeneObservations,
    s: int,
    options: CallOptions,
    pre: MatchResult | None,
    same_build: bool,
) -> GeneCall:
    gene = defn.gene
    n_pos = len(defn.positions)
    present = obs.present[s, :n_pos]
    missing = [p.label for j, p in enumerate(defn.positions) if not present[j]]
    summary = PositionSummary(
        total=n_pos,
        found=int(present.sum()),
        missing=missing,
        reference_filled=int(obs.ref_filled[s, :n_pos].sum()),
    )
    caveats: list[Caveat] = []
    invalid = obs.notes_for(obs.samples[s]) if obs.notes else []
    if invalid:
        beyond = len(invalid) - MAX_LISTED
        text = "; ".join(invalid[:MAX_LISTED]) + (f" and {beyond} more" if beyond > 0 else "")
        caveats.append(Caveat(code="invalid_genotype", message=text))
    if obs.assumed is not None and obs.assumed[s, :n_pos].any():
        assumed = [p.label for j, p in enumerate(defn.positions) if obs.assumed[s, j]]
        caveats.append(
            Caveat(
                code="assumed_reference",
                message=f"{len(assumed)} {gene} positions absent from the input were assumed "
                f"homozygous reference at the user's request (--missing-to-ref): "
                f"{_label_list(assumed)}",
            )
        )
    if not same_build:
        unmapped = [
            p.label for p, q in zip(defn.positions, obs.input_positions, strict=False) if q is None
        ]
        if unmapped:
            caveats.append(
                Caveat(
                    code="grch37_unmapped",
                    message=f"{len(unmapped)} {gene} positions have no GRCh37 coordinate in the "
                    f"shipped dual-build table and count as missing: {_label_list(unmapped)}",
                )
            )
    if gene == "CYP2D6":
        caveats.append(
            Caveat(
                code="cyp2d6_sv_not_assessed",
                message="CYP2D6 called from SNVs and small indels only: structural variants "
                "(deletions such as *5, duplications, hybrids such as *36 and *68) not assessed",
            )
        )
    variants = _observed_variants(obs, s, n_pos)

    def no_call(code: str, message: str) -> GeneCall:
        caveats.append(Caveat(code=code, message=message))
        gc = GeneCall(
            gene=gene,
            called=False,
            diplotypes=[],
            phenotype=None,
            positions=summary,
            variants=variants,
            caveats=caveats,
        )
        if gene == "SLCO1B1":
            _slco1b1_fallback(obs, s, gc, defn)
        return gc

    if summary.found == 0:
        return no_call(
            "no_data",
            f"none of the {n_pos} {gene} allele-defining positions is in the input; not called",
        )
    required = defn.exemptions.required_positions
    req_missing = [
        p.label for j, p in enumerate(defn.positions) if p.position in required and not present[j]
    ]
    if req_missing:
        return no_call(
            "required_position_missing",
            f"{gene} needs {', '.join(req_missing)} to be genotyped; not called",
        )
    # Undocumented ALT alleles at allele-defining positions.
    undocumented = []
    for j in _non_reference_positions(obs, s):
        if j >= n_pos:
            continue
        for h in range(2):
            code = int(obs.codes[s, j, h])
            if obs.is_undocumented(j, code):
                undocumented.append(f"{defn.positions[j].label} {obs.allele_table[j][code][1:]}")
                if gene in TOXICITY_GENES:
                    obs.codes[s, j, h] = 0
    if undocumented and gene not in TOXICITY_GENES:
        return no_call(
            "undocumented_allele",
            f"allele(s) not in the {gene} definitions at allele-defining positions "
            f"({_label_list(sorted(set(undocumented)))}); not called",
        )
    if undocumented:
        caveats.append(
            Caveat(
                code="undocumented_allele_as_reference",
                message=f"undocumented allele(s) {_label_list(sorted(set(undocumented)))} treated "
                f"as reference so that {gene} toxicity guidance is still produced",
            )
        )
    if gene in VARIANT_LIST:
        gc = _variant_list_call(kb, defn, obs, s, summary, caveats, variants)
        _missing_caveat(gc, defn)
        return gc
    sex = options.sex.get(obs.samples[s], options.default_sex)
    force_haploid = gene in CHRX_GENES and sex == "male"
    result = pre if pre is not None else match_sample(defn, comp, obs, s, force_haploid)
    if gene in CHRX_GENES and not result.pairs and force_haploid:
        return no_call(
            "hemizygous_heterozygous",
            f"heterozygous {gene} genotype in a sample recorded as male; not called",
        )
    if result.partial:
        caveats.append(
            Caveat(
                code="partial_genotype",
                message="partial genotype(s) with one unknown allele at "
                f"{_label_list(result.partial)}",
            )
        )
    if not result.pairs and gene in PARTIAL_FALLBACK_GENES:
        fallback = partial_match(defn, comp, obs, s, force_haploid)
        if fallback.pairs:
            result = fallback
            unexplained = _label_list(result.undocumented) if result.undocumented else "none"
            caveats.append(
                Caveat(
                    code="partial_match",
                    kind=CaveatKind.AMBIGUITY,
                    message=f"no combination of named {gene} alleles matches every variant "
                    "exactly (novel haplotype, or an allele defined at positions absent from "
                    "the input); listed: the diplotypes whose alleles carry all their own "
                    "defining variants and explain the most of the sample's variants, most "
                    f"likely first. Variants left unexplained: {unexplained}",
                )
            )
    if not result.pairs:
        return no_call(
            "no_match",
            f"the {gene} genotypes match no combination of named alleles (novel haplotype or "
            "combination allele); not called",
        )
    if gene in CHRX_GENES and result.haploid is False and sex == "unknown":
        caveats.append(
            Caveat(
                code="sex_unknown",
                kind=CaveatKind.NOTE,
                message=f"sex at birth not given: {gene} (chrX) called as two copies; for a male "
                "the call is the single allele",
            )
        )
    pairs = list(result.pairs)
    extra: list[tuple[str, str | None]] = []
    if gene not in VARIANT_LIST:

        def result_of(pair: tuple[str, str | None]) -> object:
            a, b = pair
            return _result_key(gene, _phenotype(kb, gene, (a,) if b is None else (a, b)))

        extra = possible_pairs(defn, present, pairs, result_of, common_alleles(kb, defn))
    key = coverage_key(kb, defn)
    lacking = insufficient(key, present) if extra else []
    if lacking:  # the result is open and most of what would settle it is missing
        labels = [defn.positions[j].label for j in lacking]
        return no_call(
            "insufficient_coverage",
            f"not called: insufficient coverage — {len(labels)} of the {len(key.columns)} "
            f"positions that define the common decreased- and no-function {gene} alleles "
            f"({_label_list(list(key.alleles))}) are missing: {_label_list(labels)}",
        )
    if extra:
        called_alleles = {x for pair in pairs for x in pair if x is not None}
        added = sorted(
            {x for pair in extra for x in pair if x is not None} - called_alleles,
            key=allele_sort_key,
        )
        called_names = ", ".join(diplotype_name(a, b) for a, b in pairs)
        representatives = _one_per_result(kb, defn, pairs, extra, result_of)
        at_least = "" if len(extra) < MAX_POSSIBLE else "at least "
        kept = ", ".join(diplotype_name(a, b) for a, b in representatives)
        caveats.append(
            Caveat(
                code="possible_with_missing_positions",
                kind=CaveatKind.AMBIGUITY,
                message=f"missing positions ({_label_list(missing)}) leave other {gene} alleles "
                f"possible ({_label_list(added)}): besides {called_names}, matched at the "
                f"positions present, {at_least}{len(extra)} diplotype(s) with another result "
                f"cannot be excluded; the most frequent one per possible result is listed "
                f"({kept}); a missing position is never assumed reference",
            )
        )
        pairs = pairs + representatives
    if len(pairs) > 1:
        names_ = {x for pair in pairs for x in pair if x is not None}
        pairs, probs = rank_diplotypes(
            pairs,
            kb.haplotype_counts.get(gene),
            kb.no_frequency(gene),
            _unobserved(defn, present, names_),
        )
    else:
        probs = [1.0]
    names = [diplotype_name(a, b) for a, b in pairs]
    if len(names) > 1 and defn.exemptions.unphased_priorities:
        for members, pick in defn.exemptions.unphased_priorities:
            if members <= set(names) and pick in names:
                caveats.append(
                    Caveat(
                        code="unphased_priority",
                        kind=CaveatKind.AMBIGUITY,
                        message=f"{gene} unphased: {pick} chosen by frequency priority over "
                        f"{', '.join(n for n in names if n != pick)}",
                    )
                )
                names, pairs, probs = [pick], [pairs[names.index(pick)]], None
                break
    phenos = [_phenotype(kb, gene, (a,) if b is None else (a, b)) for a, b in pairs]
    calls: list[DiplotypeCall] = []
    if len({_result_key(gene, p) for p in phenos}) > 1:
        # Tied candidates with different results: each is listed with its own phenotype.
        shown: list[float | None] = list(probs) if probs else [None] * len(names)
        calls = [
            _diplotype_call(gene, n, p, pr) for n, p, pr in zip(names, phenos, shown, strict=True)
        ]
        summary_ = summarise(calls)
    else:
        one = phenos[0]
        same_functions = len({tuple(p.functions) for p in phenos}) == 1
        summary_ = GeneSummary(
            one.phenotype,
            one.activity_score if gene in ACTIVITY_SCORE_GENES else None,
            one.lookup_key,
            list(one.functions) if same_functions else [],
        )
    if len(names) > 1:
        distinct = sorted({p.phenotype or "n/a" for p in phenos})
        listed = [
            f"{n} ({p.phenotype}{', p=' + format(pr, '.2f') if probs else ''})"
            for n, p, pr in zip(names, phenos, probs or [0.0] * len(names), strict=True)
        ]
        more = len(listed) - MAX_LISTED
        text = "; ".join(listed[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")
        differs = " — their phenotypes differ" if len(distinct) > 1 else ""
        fit = (
            "are possible with the positions present"
            if extra
            else "fit the unphased genotypes equally well"
        )
        caveats.append(
            Caveat(
                code="ambiguous_diplotype",
                kind=CaveatKind.AMBIGUITY,
                message=f"{len(names)} diplotypes {fit}: {text}{differs}",
            )
        )
    notes = dict.fromkeys(n for p in phenos for n in p.notes)
    caveats += [Caveat(code="phenotype_note", message=n) for n in notes]
    gc = _tied_call(gene, names, probs, calls, summary_, result.phased, summary, variants, caveats)
    _missing_caveat(gc, defn)
    return gc


def _tied_call(
    gene: str,
    names: list[str],
    probabilities: list[float] | None,
    calls: list[DiplotypeCall],
    summary_: GeneSummary,
    phased: bool,
    positions: PositionSummary,
    variants: list[str],
    caveats: list[Caveat],
) -> GeneCall:
    """A called gene with several candidate diplotypes: each in ``calls`` with its own result,
    the gene-level fields from their summary (one value only when they all agree)."""
    return GeneCall(
        gene=gene,
        called=True,
        diplotypes=names,
        diplotype_probabilities=probabilities,
        diplotype_calls=calls,
        phenotype=summary_.phenotype,
        activity_score=summary_.activity_score,
        allele_functions=summary_.functions,
        lookup_key=summary_.lookup_key,
        phased=phased,
        positions=positions,
        variants=variants,
        caveats=caveats,
    )


def _one_per_result(
    kb: KnowledgeBase,
    defn: GeneDefinition,
    pairs: list[tuple[str, str | None]],
    extra: list[tuple[str, str | None]],
    result_of: Callable[[tuple[str, str | None]], object],
) -> list[tuple[str, str | None]]:
    """Of the diplotypes the missing positions leave possible, the most frequent one for each
    result (phenotype, activity score, lookup key) that the matched ``pairs`` do not give: what
    a clinician must see is every possible result, not every diplotype behind it."""
    gene = defn.gene
    given = {result_of(p) for p in pairs}
    ranked, _ = rank_diplotypes(extra, kb.haplotype_counts.get(gene), kb.no_frequency(gene), None)
    out: list[tuple[str, str | None]] = []
    seen: set[object] = set()
    for pair in ranked:
        key = result_of(pair)
        if key not in given and key not in seen:
            seen.add(key)
            out.append(pair)
    return out


def _result_key(gene: str, p: Phenotype) -> tuple[str | None, str | None, str | None]:
    """What a candidate contributes to the result: candidates are listed one by one (in
    ``diplotype_calls``) only when these differ; otherwise the gene-level fields hold it."""
    return (p.phenotype, p.activity_score if gene in ACTIVITY_SCORE_GENES else None, p.lookup_key)


def _phenotype(kb: KnowledgeBase, gene: str, alleles: tuple[str, ...]) -> Phenotype:
    """``phenotype_for``, memoised on the knowledge base (cohorts repeat the same diplotypes;
    results are read-only)."""
    memo: dict[tuple[str, tuple[str, ...]], Phenotype] = kb.memo("pgx.phenotypes", dict)
    key = (gene, alleles)
    if key not in memo:
        if len(memo) > 100_000:
            memo.clear()
        memo[key] = phenotype_for(kb, gene, list(alleles))
    return memo[key]


def _defining_columns(defn: GeneDefinition) -> dict[str, npt.NDArray[np.intp]]:
    ref = defn.reference_allele.defined
    return {
        a.name: np.asarray(
            [j for j, d in enumerate(a.defined) if d is not None and d != ref[j]], dtype=np.intp
        )
        for a in defn.alleles
    }


def _unobserved(
    defn: GeneDefinition, present: npt.NDArray[np.bool_], names: set[str]
) -> dict[str, int]:
    """Per allele: defining non-reference cells at positions the input lacks."""
    cols = defn.memo("pgx.defining_columns", lambda: _defining_columns(defn))
    return {n: int((~present[cols[n]]).sum()) for n in names if n in cols}


def _diplotype_call(
    gene: str, name: str | None, pheno: Phenotype, probability: float | None
) -> DiplotypeCall:
    return DiplotypeCall(
        diplotype=name,
        probability=probability,
        phenotype=pheno.phenotype,
        activity_score=pheno.activity_score if gene in ACTIVITY_SCORE_GENES else None,
        allele_functions=pheno.functions,
        lookup_key=pheno.lookup_key,
    )


def _alleles_at(defn: GeneDefinition, labels: frozenset[str]) -> list[str]:
    """Non-reference alleles with a defining position among ``labels`` (memoised on the
    definition)."""
    memo: dict[frozenset[str], list[str]] = defn.memo("pgx.alleles_at", dict)
    if labels not in memo:
        if len(memo) > 10_000:
            memo.clear()
        cols = [j for j, p in enumerate(defn.positions) if p.label in labels]
        ref = defn.reference_allele.defined
        memo[labels] = sorted(
            (
                a.name
                for a in defn.alleles
                if not a.reference
                and any(a.defined[j] is not None and a.defined[j] != ref[j] for j in cols)
            ),
            key=allele_sort_key,
        )
    return memo[labels]


def _missing_caveat(gc: GeneCall, defn: GeneDefinition) -> None:
    if not gc.called or not gc.positions.missing:
        return
    missing = set(gc.positions.missing)
    lost = _alleles_at(defn, frozenset(missing))
    gc.caveats.append(
        Caveat(
            code="missing_positions",
            message=f"called with {len(missing)} of {gc.positions.total} allele-defining "
            f"positions missing ({_label_list(gc.positions.missing)}); alleles defined there "
            f"could not be fully assessed ({_label_list(lost)})",
        )
    )


def _variant_list_call(
    kb: KnowledgeBase,
    defn: GeneDefinition,
    obs: GeneObservations,
    s: int,
    summary: PositionSummary,
    caveats: list[Caveat],
    variants: list[str],
) -> GeneCall:
    gene = defn.gene
    call: VariantListCall = call_variant_list(defn, obs, s)
    caveats += [Caveat(code="hapb3", message=w) for w in call.warnings]
    table = kb.phenotypes(gene)
    activity = table.activities if table else {}
    if gene == "DPYD":
        a, b = lowest_two(call, activity, defn.exemptions.amp1_alleles)
    else:
        a, b = _ryr1_pair(kb, call)
    if call.strands is not None:
        diplotype = f"{strand_name(call.strands[0])}/{strand_name(call.strands[1])}"
        if not diplotype.startswith("Reference/") and diplotype.endswith("/Reference"):
            diplotype = "Reference/" + diplotype.removesuffix("/Reference")
        phased = True
    else:
        # Same order as phased calls: "Reference" first (PharmCAT writes Reference/<variant>).
        diplotype = f"Reference/{a}" if b == "Reference" and a != "Reference" else f"{a}/{b}"
        phased = False
        caveats.append(
            Caveat(
                code="unphased_variant_list",
                kind=CaveatKind.AMBIGUITY,
                message=f"{gene} unphased with several heterozygous variants "
                f"({', '.join(call.found)}): the phenotype uses the two lowest-function "
                f"variants ({a}, {b}), presumed on different copies",
            )
        )
    pheno: Phenotype = phenotype_for(kb, gene, [a, b])
    caveats += [Caveat(code="phenotype_note", message=n) for n in pheno.notes]
    if gene == "DPYD":
        present = obs.present[s, : len(defn.positions)]
        open_ = _dpyd_possible(kb, defn, present, call, activity, (a, b))
        if open_ is not None:
            return _open_variant_list(kb, defn, summary, caveats, variants, diplotype, open_)
    return GeneCall(
        gene=gene,
        called=True,
        diplotypes=[diplotype],
        diplotype_probabilities=[1.0],
        phenotype=pheno.phenotype,
        activity_score=pheno.activity_score if gene in ACTIVITY_SCORE_GENES else None,
        allele_functions=pheno.functions,
        lookup_key=pheno.lookup_key,
        phased=phased,
        positions=summary,
        variants=variants,
        caveats=caveats,
    )


@dataclass
class _OpenResult:
    """DPYD key variants at missing positions and the diplotypes they leave possible."""

    key: list[str]
    missing: list[str]
    pairs: list[tuple[str, str]]


def _dpyd_possible(
    kb: KnowledgeBase,
    defn: GeneDefinition,
    present: npt.NDArray[np.bool_],
    call: VariantListCall,
    activity: dict[str, str | None],
    called: tuple[str, str],
) -> _OpenResult | None:
    """DPYD diplotypes that key variants at missing positions leave possible (docs/methods/pgx.md
    §2a). Key variants: the AMP/CAP tier-1 DPYD alleles the definitions carry (PharmCAT
    exemptions, ``amp1_alleles``); a variant is missing when none of its defining positions is
    present (HapB3 is read from either of its two). Each missing one may be carried on one or
    both copies, or with another missing one; the phenotype takes the two lowest values."""
    ref = defn.reference_allele.defined
    names = {a.name: a for a in defn.alleles}
    key = [v for v in defn.exemptions.amp1_alleles if v in names]
    missing = [
        v
        for v in key
        if not any(
            present[j] for j, d in enumerate(names[v].defined) if d is not None and d != ref[j]
        )
    ]
    if not missing:
        return None
    preferred = defn.exemptions.amp1_alleles
    base = _result_key("DPYD", phenotype_for(kb, "DPYD", list(called)))
    hypotheses = [[v] for v in missing] + [[v, v] for v in missing]
    hypotheses += [[v, w] for i, v in enumerate(missing) for w in missing[i + 1 :]]
    pairs: list[tuple[str, str]] = []
    for extra in hypotheses:
        hyp = VariantListCall(strands=None, found=[*call.found, *extra])
        pair = lowest_two(hyp, activity, preferred)
        result = _result_key("DPYD", phenotype_for(kb, "DPYD", list(pair)))
        if pair not in pairs and pair != called and result != base:
            pairs.append(pair)
    if not pairs:
        return None
    return _OpenResult(key, missing, pairs)


def _open_variant_list(
    kb: KnowledgeBase,
    defn: GeneDefinition,
    summary: PositionSummary,
    caveats: list[Caveat],
    variants: list[str],
    diplotype: str,
    open_: _OpenResult,
) -> GeneCall:
    """A DPYD result that missing key variants leave open: every possible one listed, or
    not called when most key variants are missing."""
    gene = defn.gene
    if 2 * len(open_.missing) > len(open_.key):
        caveats.append(
            Caveat(
                code="insufficient_coverage",
                message=f"not called: insufficient coverage — {len(open_.missing)} of the "
                f"{len(open_.key)} AMP tier-1 {gene} variants are at missing positions: "
                f"{_label_list(open_.missing)}",
            )
        )
        return GeneCall(
            gene=gene, called=False, positions=summary, variants=variants, caveats=caveats
        )

    def name(pair: tuple[str, str]) -> str:
        x, y = pair
        return f"Reference/{x}" if y == "Reference" and x != "Reference" else f"{x}/{y}"

    names = [diplotype] + [name(p) for p in open_.pairs]
    phenos = [phenotype_for(kb, gene, dip.split("/")) for dip in names]
    calls = [_diplotype_call(gene, n, p, None) for n, p in zip(names, phenos, strict=True)]
    summary_ = summarise(calls)
    caveats.append(
        Caveat(
            code="possible_with_missing_positions",
            kind=CaveatKind.AMBIGUITY,
            message=f"{gene} variant(s) {_label_list(open_.missing)} are at missing positions: "
            f"besides {diplotype}, matched at the positions present, "
            f"{_label_list(names[1:])} cannot be excluded and are listed; a missing position "
            "is never assumed reference",
        )
    )
    return _tied_call(gene, names, None, calls, summary_, False, summary, variants, caveats)


def _ryr1_pair(kb: KnowledgeBase, call: VariantListCall) -> tuple[str, str]:
    funcs = kb.supplementary.functions.get("RYR1", {})

    def rank(name: str) -> tuple[int, str]:
        f = funcs.get(name, "")
        return (0 if "Malignant" in f else 1 if f == "" else 2, name)

    if call.strands is not None:
        picks = [min(st, key=rank) if st else "Reference" for st in call.strands]
        return picks[0], picks[1]
    ordered = [*sorted(call.found, key=rank), "Reference", "Reference"]
    return ordered[0], ordered[1]


def _slco1b1_fallback(obs: GeneObservations, s: int, gc: GeneCall, defn: GeneDefinition) -> None:
    """SLCO1B1 not called: recommend from rs4149056 (c.521T>C) alone, as PharmCAT does. The
    caveat names the alleles defined at the missing positions (increased-function *14 among
    them), which the rs4149056 result cannot assess."""
    for j, pos in enumerate(obs.positions):
        if pos.rsid != SLCO1B1_RS4149056 or not obs.present[s, j]:
            continue
        alleles = [obs.allele(j, int(c)) for c in obs.codes[s, j]]
        if any(a is None or a.startswith("?") for a in alleles):
            return
        key = tuple(sorted(a for a in alleles if a))
        pheno = SLCO1B1_FALLBACK.get(key)  # type: ignore[arg-type]
        if pheno is None:
            return
        missing = set(gc.positions.missing)
        hidden = [
            a.name
            for a in defn.alleles
            if not a.reference
            and any(d is not None and p.label in missing
                    for d, p in zip(a.defined, defn.positions, strict=True))
        ]  # fmt: skip
        gc.called = True
        gc.diplotypes = [f"rs4149056 {key[0]}/{key[1]}"]
        gc.diplotype_probabilities = [1.0]
        gc.phenotype = pheno
        gc.lookup_key = pheno
        gc.caveats.append(
            Caveat(
                code="slco1b1_rs4149056_fallback",
                message="SLCO1B1 star alleles could not be called; phenotype from rs4149056 "
                "(c.521T>C) alone, as the CPIC statin guideline allows"
                + (
                    f"; not assessed, defined at the missing positions: {', '.join(hidden)}"
                    if hidden
                    else ""
                ),
            )
        )
        return
