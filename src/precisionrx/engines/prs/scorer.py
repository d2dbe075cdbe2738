"""Match scoring-file variants to a VCF the way pgscatalog-match does, and compute scores.

Matching priority per variant (pgscatalog-match 0.4.0): refalt > altref > refalt_flip >
altref_flip > no_oa_ref > no_oa_alt > no_oa_ref_flip > no_oa_alt_flip, where "refalt" means
effect allele = REF and other allele = ALT. By default strand-ambiguous pairs (A/T, C/G) and
multi-allelic VCF sites are excluded, strand flips are tried, duplicate candidates keep the best
match (others "not_best"), and a score whose matched fraction is below ``min_overlap`` (0.75) fails.
Positions absent from the VCF are "unmatched", except where a gVCF reference block covers them:
then the genotype is homozygous reference and the other allele is taken as the reference base.
An invalid genotype call (allele index beyond the ALT alleles, more than two alleles, malformed
GT; see :mod:`precisionrx.io.vcf`) is a missing call, counted like any other, and the result's
caveats name its record and sample.

Nothing here opens a file: the scorer reads the genotypes it needs from a VCF reader the caller
opened (:class:`~precisionrx.io.vcf.VcfFile`), and keeps no state between calls (what one
scoring file's build check read is handed to its scoring by the caller, see
:func:`check_build`). Caveats are :class:`~precisionrx.records.evidence.Caveat` records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.errors import GenomeBuildMismatch
from precisionrx.io.pgs_scorefile import ScoreFile, ScoreVariant
from precisionrx.io.vcf import BuildEvidence, BuildMarkers, VcfFile, evidence_from
from precisionrx.io.vcf_fastgt import GenotypeSites
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.prs import MatchLogSummary, ScoreResult, ScoreRow

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

COMPLEMENT = str.maketrans("ACGT", "TGCA")
PRIORITY = [
    "refalt", "altref", "refalt_flip", "altref_flip",
    "no_oa_ref", "no_oa_alt", "no_oa_ref_flip", "no_oa_alt_flip",
]  # fmt: skip
MIN_OVERLAP = 0.75
#: Invalid genotype calls named in a caveat (the rest are counted).
MAX_INVALID_LISTED = 10
NON_ALLELES = frozenset({"*", "."})


def flip(allele: str) -> str:
    return allele.translate(COMPLEMENT)


def ambiguous(ea: str, oa: str | None) -> bool:
    return oa is not None and len(ea) == 1 and len(oa) == 1 and flip(ea) == oa


def match_type(v: ScoreVariant, ref: str, alt: str) -> str | None:
    ea, oa = v.effect_allele, v.other_allele
    if oa is not None:
        checks = [
            ("refalt", ea == ref and oa == alt),
            ("altref", ea == alt and oa == ref),
            ("refalt_flip", flip(ea) == ref and flip(oa) == alt),
            ("altref_flip", flip(ea) == alt and flip(oa) == ref),
        ]
    else:
        checks = [
            ("no_oa_ref", ea == ref),
            ("no_oa_alt", ea == alt),
            ("no_oa_ref_flip", flip(ea) == ref),
            ("no_oa_alt_flip", flip(ea) == alt),
        ]
    return next((name for name, ok in checks if ok), None)


@dataclass(slots=True)
class MatchLogRow:
    pgs_id: str
    chr: str
    pos: int | None
    effect_allele: str
    other_allele: str | None
    match_status: str  # matched | excluded | not_best | unmatched
    reason: str


LOG_COLUMNS = ["pgs_id", "chr", "pos", "effect_allele", "other_allele", "match_status", "reason"]


@dataclass
class RawScore:
    """One scoring file over every sample, as arrays (:func:`to_result` makes the typed
    :class:`~precisionrx.records.prs.ScoreResult`)."""

    pgs_id: str
    samples: list[str]
    sums: npt.NDArray[np.float64] | None
    variants_matched: int
    variants_in_score: int
    z: npt.NDArray[np.float64] | None
    caveats: list[Caveat] = field(default_factory=list)
    #: Match log with LOG_COLUMNS, in scoring-file order.
    log_table: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: Percentile (0-100) from an empirical reference distribution, when one was given.
    percentile: npt.NDArray[np.float64] | None = None

    @property
    def log(self) -> list[MatchLogRow]:
        return [MatchLogRow(*row) for row in self.log_table.select(LOG_COLUMNS).iter_rows()]


@dataclass
class Matched:
    """Matched variants as parallel arrays (one entry per scored variant)."""

    rows: npt.NDArray[np.int64]  # row in the genotype matrix
    alt_k: npt.NDArray[np.int8]  # ALT index, -1 for a gVCF reference block
    effect_is_alt: npt.NDArray[np.bool_]
    weight: npt.NDArray[np.float64]
    kind: npt.NDArray[np.str_]  # additive | dominant | recessive | genotypic
    genotypic: npt.NDArray[np.float64]  # (m, 3) weights for 0/1/2 copies
    freq: npt.NDArray[np.float64]  # NaN when absent

    def __len__(self) -> int:
        return len(self.rows)


CHUNK = 4096
FLIP = (["A", "C", "G", "T"], ["T", "G", "C", "A"])


def _flipped(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(*FLIP)


def _priority() -> pl.Expr:
    """Index into PRIORITY of the best way the pair matches REF/ALT (null: no match)."""
    ea, oa, ref, alt = pl.col("effect_allele"), pl.col("other_allele"), pl.col("ref"), pl.col("alt")
    fea, foa = _flipped(ea), _flipped(oa)
    has = oa.is_not_null()
    return (
        pl.when(has & (ea == ref) & (oa == alt)).then(0)
        .when(has & (ea == alt) & (oa == ref)).then(1)
        .when(has & (fea == ref) & (foa == alt)).then(2)
        .when(has & (fea == alt) & (foa == ref)).then(3)
        .when(~has & (ea == ref)).then(4)
        .when(~has & (ea == alt)).then(5)
        .when(~has & (fea == ref)).then(6)
        .when(~has & (fea == alt)).then(7)
        .otherwise(None)
    )  # fmt: skip


def _site_tables(sites: GenotypeSites) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-ALT candidate rows of records starting at a requested position, and gVCF blocks by
    the position they cover."""
    t = sites.table
    real_alt = ~pl.element().is_in(list(NON_ALLELES)) & ~pl.element().str.starts_with("<")
    alleles = (
        t.filter(~pl.col("block") & (pl.col("pos") == pl.col("at_pos")))
        .select("row", "chrom", "pos", "ref", pl.col("alt").str.split(","))
        .with_columns(
            pl.col("alt").list.eval(real_alt).list.sum().alias("n_real"),
            pl.int_ranges(1, pl.col("alt").list.len() + 1, dtype=pl.Int8).alias("k"),
        )
        .explode("alt", "k")
    )
    blocks = (
        t.filter(pl.col("block"))
        .select("chrom", pl.col("at_pos").alias("pos"), pl.col("row").alias("block_row"))
        .unique(subset=["chrom", "pos"], keep="first", maintain_order=True)
    )
    return alleles, blocks


def match_table(
    sf: ScoreFile, sites: GenotypeSites, keep_ambiguous: bool, keep_multiallelic: bool
) -> tuple[Matched, pl.DataFrame]:
    """Best VCF match per scoring-file variant (pgscatalog-match priority) and the match log."""
    t = sf.table
    ea, oa = pl.col("effect_allele"), pl.col("other_allele")
    is_ambiguous = (
        oa.is_not_null() & (ea.str.len_chars() == 1) & (oa.str.len_chars() == 1)
        & (_flipped(ea) == oa)
    )  # fmt: skip
    pre = t.with_columns(
        pl.when(pl.col("unsupported").is_not_null()).then(pl.lit("excluded"))
        .when(pl.col("pos").is_null()).then(pl.lit("unmatched"))
        .when(is_ambiguous & (not keep_ambiguous)).then(pl.lit("excluded"))
        .otherwise(None).alias("match_status"),
        pl.when(pl.col("unsupported").is_not_null()).then(pl.col("unsupported"))
        .when(pl.col("pos").is_null()).then(pl.lit("no position for this genome build"))
        .when(is_ambiguous & (not keep_ambiguous)).then(pl.lit("strand-ambiguous (A/T or C/G)"))
        .otherwise(None).alias("reason"),
    )  # fmt: skip
    early = pre.filter(pl.col("match_status").is_not_null())
    eligible = pre.filter(pl.col("match_status").is_null()).drop("match_status", "reason")
    alleles, blocks = _site_tables(sites)
    cand = eligible.join(alleles, on=["chrom", "pos"], how="inner")
    multi = cand.filter(pl.col("n_real") > 1).select("idx").unique()
    if not keep_multiallelic:
        cand = cand.filter(pl.col("n_real") <= 1)
    cand = (
        cand.with_columns(_priority().alias("prio"))
        .filter(pl.col("prio").is_not_null())
        .sort("idx", "prio", "row", "k")
        .with_columns(pl.int_range(pl.len()).over("idx").alias("rank"))
    )
    best = cand.filter(pl.col("rank") == 0)
    names = pl.Series(PRIORITY)
    not_best = cand.filter(pl.col("rank") > 0).with_columns(
        pl.lit("not_best").alias("match_status"),
        pl.format("lower-priority candidate {}", pl.col("prio").replace_strict(
            list(range(len(PRIORITY))), names)).alias("reason"),
    )  # fmt: skip
    matched = best.with_columns(
        pl.lit("matched").alias("match_status"),
        pl.col("prio").replace_strict(list(range(len(PRIORITY))), names).alias("reason"),
    )
    rest = eligible.join(best.select("idx"), on="idx", how="anti").join(
        blocks, on=["chrom", "pos"], how="left"
    )
    by_block = rest.filter(pl.col("block_row").is_not_null() & oa.is_not_null()).with_columns(
        pl.lit("matched").alias("match_status"),
        pl.lit("gvcf_reference_block (other allele taken as reference)").alias("reason"),
    )
    rest = rest.join(by_block.select("idx"), on="idx", how="anti")
    is_multi = pl.col("idx").is_in(multi["idx"].implode())
    unmatched = rest.with_columns(
        pl.when(is_multi).then(pl.lit("excluded")).otherwise(pl.lit("unmatched"))
        .alias("match_status"),
        pl.when(is_multi).then(pl.lit("multi-allelic site excluded"))
        .otherwise(pl.lit("position not in the VCF")).alias("reason"),
    )  # fmt: skip
    order = {"not_best": 0, "matched": 1, "excluded": 1, "unmatched": 1}
    keep = ["idx", "chrom", "pos", "effect_allele", "other_allele", "match_status", "reason"]
    log = (
        pl.concat(
            [
                early.select(keep).with_columns(pl.lit(0, dtype=pl.Int64).alias("prio")),
                not_best.select(*keep, pl.col("prio").cast(pl.Int64)),
                matched.select(*keep, pl.col("prio").cast(pl.Int64)),
                by_block.select(*keep, pl.lit(0, dtype=pl.Int64).alias("prio")),
                unmatched.select(*keep, pl.lit(0, dtype=pl.Int64).alias("prio")),
            ]
        )
        .with_columns(pl.col("match_status").replace_strict(order).alias("_o"))
        .sort("idx", "_o", "prio")
        .select(pl.lit(sf.pgs_id).alias("pgs_id"), pl.col("chrom").alias("chr"), "pos",
                "effect_allele", "other_allele", "match_status", "reason")
    )  # fmt: skip
    chosen = (
        pl.concat(
            [
                best.select("idx", "row", "k", pl.col("prio").is_in([1, 3, 5, 7]).alias("eff_alt")),
                by_block.select(
                    "idx",
                    pl.col("block_row").alias("row"),
                    pl.lit(-1, dtype=pl.Int8).alias("k"),
                    pl.lit(False).alias("eff_alt"),
                ),
            ]
        )
        .sort("idx")
        .join(t, on="idx", how="left")
    )
    m = Matched(
        rows=chosen["row"].to_numpy().astype(np.int64),
        alt_k=chosen["k"].to_numpy().astype(np.int8),
        effect_is_alt=chosen["eff_alt"].to_numpy().astype(bool),
        weight=chosen["weight"].to_numpy().astype(np.float64),
        kind=chosen["effect_type"].to_numpy().astype(str),
        genotypic=chosen.select("d0", "d1", "d2").to_numpy().astype(np.float64),
        freq=chosen["freq"].fill_null(float("nan")).to_numpy().astype(np.float64),
    )
    return m, log


def _score_chunk(
    m: Matched, part: slice, gt: npt.NDArray[np.int8]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Weighted effect-allele dosages of a block of matched variants, summed per sample."""
    gts = gt[m.rows[part]]  # (variants, 2, samples)
    alt_k = m.alt_k[part][:, None]
    first, second = gts[:, 0, :], gts[:, 1, :]
    weights = m.weight[part][:, None]
    kinds = m.kind[part][:, None]
    if (alt_k == 1).all() and (kinds == "additive").all() and not (gts.view(np.uint8) > 1).any():
        # Common case (every call 0 or 1: no missing, haploid or other-ALT calls; additive): the
        # ALT count is the sum of the two allele indexes; effect = ALT -> w * count, effect = REF
        # -> 2w - w * count.
        count = (first + second).astype(np.float64)
        eff = m.effect_is_alt[part]
        w = m.weight[part]
        const = 2.0 * float(w[~eff].sum())
        return np.where(eff, w, -w) @ count + const, np.zeros(gt.shape[2], dtype=np.int64)
    missing = (first == -1) | (second == -1)
    count = (first == alt_k).astype(np.int8) + (second == alt_k)
    haploid = second == -2
    if haploid.any():
        count = np.where(haploid, count * 2, count)
    dosage = np.where(m.effect_is_alt[part][:, None], count, 2 - count).astype(np.float64)
    is_block = alt_k == -1
    if not is_block.any() and (kinds == "additive").all():
        # Common case: one matrix product; missing calls count 0 and are tallied.
        dosage[missing] = 0.0
        return weights[:, 0] @ dosage, missing.sum(axis=0).astype(np.int64)
    if is_block.any():
        dosage = np.where(is_block, np.where(first == 0, 0.0, np.nan), dosage)
    dosage[missing] = np.nan
    contrib = dosage * weights
    if (kinds != "additive").any():
        contrib = np.where(kinds == "dominant", (dosage >= 1) * weights, contrib)
        contrib = np.where(kinds == "recessive", (dosage >= 2) * weights, contrib)
        table = m.genotypic[part]
        geno = np.take_along_axis(table, np.nan_to_num(dosage, nan=0).astype(int).clip(0, 2), 1)
        contrib = np.where(kinds == "genotypic", geno, contrib)
        contrib[np.isnan(dosage)] = np.nan
    nan = np.isnan(contrib)
    return np.where(nan, 0.0, contrib).sum(axis=0), nan.sum(axis=0).astype(np.int64)


def sums(m: Matched, gt: npt.NDArray[np.int8], n: int) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.int64]
]:  # fmt: skip
    """Per-sample totals and missing-call counts; blocks of variants on two threads (numpy
    releases the GIL in the array work)."""
    from concurrent.futures import ThreadPoolExecutor

    total = np.zeros(n)
    missing_calls = np.zeros(n, dtype=np.int64)
    parts = [slice(start, start + CHUNK) for start in range(0, len(m), CHUNK)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for part_total, part_missing in pool.map(lambda p: _score_chunk(m, p, gt), parts):
            total += part_total
            missing_calls += part_missing
    return total, missing_calls


BUILD_NAMES = {
    "grch37": "GRCh37", "hg19": "GRCh37", "ncbi37": "GRCh37", "b37": "GRCh37",
    "grch38": "GRCh38", "hg38": "GRCh38", "ncbi38": "GRCh38", "b38": "GRCh38",
}  # fmt: skip


def normalise_build(name: str | None) -> str | None:
    if not name:
        return None
    return BUILD_NAMES.get(name.strip().lower().split(".")[0])


def dual_build_markers(kb: KnowledgeBase) -> BuildMarkers:
    """The dual-build table's PGx variant positions as GRCh37 and GRCh38 markers (any REF),
    built once per knowledge-base object."""

    def build() -> BuildMarkers:
        any_ref: frozenset[str] = frozenset()
        m37 = dict.fromkeys(kb.dual_build.to38, any_ref)
        m38 = {(c, p38): any_ref for (c, _), p38 in kb.dual_build.to38.items()}
        return {"GRCh37": m37, "GRCh38": m38}

    return kb.memo(("prs", "dual_build_markers"), build)


@dataclass
class BuildState:
    """What the build check learnt about one VCF, shared by the scoring files of one run (the
    header-less case reads the build markers once)."""

    evidence: BuildEvidence | None = None


def _sites_with_markers(
    sf: ScoreFile, vcf: VcfFile, markers: BuildMarkers
) -> tuple[BuildEvidence, GenotypeSites]:
    """Read the scoring positions and the marker positions in one genotype_sites request (for
    raw_sums) and take the build evidence from the records found at the markers."""
    extra = pl.DataFrame(
        [(c.removeprefix("chr"), p) for points in markers.values() for c, p in points],
        schema={"chrom": pl.Utf8, "pos": pl.Int64},
        orient="row",
    )
    points = _points(sf)
    both = pl.concat([points.select(pl.col("chrom"), pl.col("pos").cast(pl.Int64)), extra])
    sites = vcf.genotype_sites(both.unique())
    t = sites.table.filter(pl.col("pos") == pl.col("at_pos"))
    rows = t.select("chrom", "pos", "ref", "block").iter_rows()
    return evidence_from(markers, rows), sites


def check_build(
    sf: ScoreFile, vcf: VcfFile, kb: KnowledgeBase, state: BuildState | None = None
) -> GenotypeSites | None:
    """Refuse to score when the scoring file's positions and the VCF are on different builds.

    The VCF's build is its header's (contig lengths, ``##reference``); when the header declares
    none, the records at the positions of known variants in both builds decide (the dual-build
    table of the knowledge base; see docs/cli/prs.md). Those markers are read together with the
    scoring file's positions: the sites read are returned, to be handed to :func:`score` (the
    VCF is then read once); None when nothing was read. ``state`` keeps the evidence for the
    next scoring file of the same VCF."""
    score_build = normalise_build(sf.genome_build)
    if score_build is None:
        return None
    vcf_build = vcf.declared_build()
    if vcf_build is not None:
        if score_build != vcf_build:
            raise GenomeBuildMismatch(
                f"scoring file {sf.path.name} has {score_build} positions but the VCF is "
                f"{vcf_build}",
                path=vcf.path,
                hint="use the scoring file harmonised to the VCF's build (PGS Catalog "
                "*_hmPOS_* files)",
            )
        return None
    state = state or BuildState()
    sites = None
    evidence = state.evidence
    if evidence is None:
        evidence, sites = _sites_with_markers(sf, vcf, dual_build_markers(kb))
        state.evidence = evidence
    other = evidence.contradicts(score_build)
    if other is not None:
        raise GenomeBuildMismatch(
            f"scoring file {sf.path.name} has {score_build} positions, but the VCF header "
            f"declares no build and {evidence.counts[other]} of its records sit at {other} "
            f"positions of known variants (e.g. {'; '.join(evidence.examples[other])}) against "
            f"{evidence.counts.get(score_build, 0)} at their {score_build} positions",
            path=vcf.path,
            hint="use the scoring file harmonised to the VCF's build (PGS Catalog *_hmPOS_* "
            "files), or declare the build (##contig lengths or ##reference)",
        )
    return sites


def _points(sf: ScoreFile) -> pl.DataFrame:
    """The (chrom, pos) positions to read, one row each."""
    wanted = sf.table.filter(pl.col("pos").is_not_null() & pl.col("unsupported").is_null())
    return wanted.select("chrom", "pos").unique()


def raw_sums(
    sf: ScoreFile,
    vcf: VcfFile,
    keep_ambiguous: bool = False,
    keep_multiallelic: bool = False,
    invalid: list[str] | None = None,
    sites: GenotypeSites | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], Matched, pl.DataFrame]:
    """Per-sample sums and missing-call counts, the matched variants and the match log;
    invalid calls (counted as missing) are appended to ``invalid`` when it is given.
    ``sites`` are the scoring file's sites already read (by :func:`check_build`)."""
    points = _points(sf)
    if sites is not None:
        pass
    elif points.height:
        sites = vcf.genotype_sites(points)
    else:
        sites = GenotypeSites.empty(len(vcf.samples))
    if invalid is not None:
        invalid.extend(sites.invalid)
    m, log = match_table(sf, sites, keep_ambiguous, keep_multiallelic)
    n = len(vcf.samples)
    if not len(m):
        return np.zeros(n), np.zeros(n, dtype=np.int64), m, log
    total, missing = sums(m, sites.gt, n)
    return total, missing, m, log


def score(
    sf: ScoreFile,
    vcf: VcfFile,
    keep_ambiguous: bool = False,
    keep_multiallelic: bool = False,
    min_overlap: float = MIN_OVERLAP,
    reference: VcfFile | None = None,
    sites: GenotypeSites | None = None,
) -> RawScore:
    """Score every sample; Z/percentile from ``reference`` samples or the analytic distribution.
    ``sites``: the scoring file's sites already read from ``vcf`` (:func:`check_build`)."""
    invalid: list[str] = []
    total, missing_calls, m, log = raw_sums(
        sf, vcf, keep_ambiguous, keep_multiallelic, invalid, sites
    )
    supported = sf.table.filter(pl.col("unsupported").is_null())
    have_freq = supported.height > 0 and supported["freq"].null_count() == 0
    matched = len(m)
    n_scored = sf.table.height
    caveats = [
        _warning(
            "ancestry_transfer",
            "polygenic scores transfer poorly across ancestries: check the ancestry the score "
            f"was developed in (PGS Catalog entry {sf.pgs_id}) before interpreting it for this "
            "person",
        )
    ]
    fraction = matched / n_scored if n_scored else 0.0
    reported: npt.NDArray[np.float64] | None = total
    z = None
    percentile = None
    if fraction < min_overlap:
        caveats.append(_warning(
            "low_overlap",
            f"only {matched}/{n_scored} variants matched ({fraction:.0%} < {min_overlap:.0%}): "
            "score not reported",
        ))  # fmt: skip
        reported = None
    elif reference is not None:
        ref_total, _, ref_m, _ = raw_sums(sf, reference, keep_ambiguous, keep_multiallelic)
        sd = float(np.std(ref_total, ddof=1)) if len(ref_total) > 1 else 0.0
        if sd > 0:
            z = (total - float(np.mean(ref_total))) / sd
            ranks = np.searchsorted(np.sort(ref_total), total, side="right")
            percentile = 100.0 * ranks / len(ref_total)
            caveats.append(_note(
                "reference_distribution",
                f"percentile and Z against {len(ref_total)} reference samples "
                f"({reference.path.name}); they are only meaningful if the reference matches "
                "this person's ancestry",
            ))  # fmt: skip
        else:
            caveats.append(_warning(
                "reference_no_spread", "reference VCF has fewer than 2 samples or no spread: no Z"
            ))  # fmt: skip
        if len(ref_m) != matched:
            caveats.append(_warning(
                "reference_variant_mismatch",
                f"the reference matched {len(ref_m)} variants and the sample {matched}: "
                "the distributions are not over identical variant sets",
            ))  # fmt: skip
    elif have_freq:
        add = m.kind == "additive"
        p, w = m.freq[add], m.weight[add]
        mean = float(np.sum(2 * p * w))
        var = float(np.sum(2 * p * (1 - p) * w**2))
        if var > 0:
            z = (total - mean) / math.sqrt(var)
            caveats.append(_note(
                "analytic_distribution",
                "percentile and Z from the analytic mean and variance of the scoring file's "
                "effect-allele frequencies (Hardy-Weinberg, independent variants)",
            ))  # fmt: skip
    if z is None and reported is not None and not any("reference" in c.message for c in caveats):
        caveats.append(_note(
            "no_reference_distribution", "no reference distribution: percentile and Z not computed"
        ))  # fmt: skip
    if missing_calls.any():
        caveats.append(_warning(
            "missing_calls",
            "some matched sites had missing genotype calls: counted as 0 (not imputed)",
        ))  # fmt: skip
    if invalid:
        shown = "; ".join(invalid[:MAX_INVALID_LISTED])
        more = len(invalid) - MAX_INVALID_LISTED
        caveats.append(_warning(
            "invalid_genotype",
            f"{len(invalid)} invalid genotype call(s) at scored positions were treated as "
            f"missing: {shown}" + (f"; and {more} more" if more > 0 else ""),
        ))  # fmt: skip
    return RawScore(sf.pgs_id, list(vcf.samples), reported, matched, n_scored, z, caveats,
                    log, percentile)  # fmt: skip


def _warning(code: str, message: str) -> Caveat:
    return Caveat(code=code, message=message, kind=CaveatKind.WARNING)


def _note(code: str, message: str) -> Caveat:
    return Caveat(code=code, message=message, kind=CaveatKind.NOTE)


def _finite(value: float | np.floating[Any]) -> float | None:
    """The value as a Python float, or None when it is NaN or infinite (JSON has neither)."""
    v = float(value)
    return v if math.isfinite(v) else None


def result_rows(res: RawScore) -> list[ScoreRow]:
    """One row per sample; percentile empirical (reference VCF) or from the normal Z.

    Sums, Z and percentiles are the computed floats, never rounded (a non-finite value becomes
    None): rounding is for the HTML view only."""
    out = []
    for i, s in enumerate(res.samples):
        z = None if res.z is None else _finite(res.z[i])
        if res.percentile is not None:
            pct = _finite(res.percentile[i])
        else:
            pct = None if z is None else 50 * (1 + math.erf(z / math.sqrt(2)))
        out.append(
            ScoreRow(
                pgs_id=res.pgs_id,
                sample=s,
                sum=None if res.sums is None else _finite(res.sums[i]),
                variants_matched=res.variants_matched,
                variants_in_score=res.variants_in_score,
                percentile=pct,
                z=z,
                caveats=list(res.caveats),
            )
        )
    return out


def match_summary(res: RawScore) -> MatchLogSummary:
    """Counts of the match log by status and by reason."""
    log = res.log_table
    if not log.height:
        return MatchLogSummary(pgs_id=res.pgs_id)

    def counts(col: str) -> dict[str, int]:
        table = log.group_by(col).len().sort(col)
        return {str(k): int(n) for k, n in table.iter_rows()}

    return MatchLogSummary(
        pgs_id=res.pgs_id, by_status=counts("match_status"), by_reason=counts("reason")
    )


def to_result(res: RawScore, sf: ScoreFile) -> ScoreResult:
    """The typed result of one scoring file: its per-sample rows, caveats and match counts."""
    return ScoreResult(
        pgs_id=res.pgs_id,
        trait=sf.metadata.get("trait_reported"),
        scorefile=str(sf.path),
        variants_matched=res.variants_matched,
        variants_in_score=res.variants_in_score,
        rows=result_rows(res),
        match_log=match_summary(res),
        caveats=list(res.caveats),
    )
