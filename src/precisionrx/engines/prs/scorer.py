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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.errors import GenomeBuildMismatch, VcfFormatError
from precisionrx.io.bgen import plink_dosage
from precisionrx.io.pgs_scorefile import ScoreFile, ScoreVariant
from precisionrx.io.vcf import BuildEvidence, BuildMarkers, VcfFile, evidence_from
from precisionrx.io.vcf_fastgt import GenotypeSites
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.prs import MatchLogSummary, ScoreResult, ScoreRow

if TYPE_CHECKING:
    from precisionrx.io.genotypes import GenotypeFile
    from precisionrx.kb.registry import KnowledgeBase

COMPLEMENT = str.maketrans("ACGT", "TGCA")
PRIORITY = [
    "refalt", "altref", "refalt_flip", "altref_flip",
    "no_oa_ref", "no_oa_alt", "no_oa_ref_flip", "no_oa_alt_flip",
]  # fmt: skip
MIN_OVERLAP = 0.75
#: Chromosomes whose haploid calls plink2 --score counts as 0..1 copies (chrX: 0..2).
HAPLOID_ONE_COPY = frozenset({"Y", "MT"})
#: Fewest samples for ``auto`` to mean-impute missing calls (pgsc_calc's rule for plink2).
MIN_IMPUTE_SAMPLES = 50
#: Matched variants x samples from which the compiled scoring loop is used.
COMPILED_MIN_CELLS = 200_000_000
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


# Rows per VCF dosage block = VCF_BLOCK_CELLS // samples; each row holds two int8 calls per
# sample, so a block is about 0.5 MB (best of 0.5, 2 and 8 MB tried at 1,000 samples).
VCF_BLOCK_CELLS = 1 << 18
FLIP = (["A", "C", "G", "T"], ["T", "G", "C", "A"])


def _flipped(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(*FLIP)


def _priority() -> pl.Expr:
    """Index into PRIORITY of the best way the pair matches REF/ALT (null: no match); the
    strand-flipped alleles are the columns ``_fea`` and ``_foa`` (see :func:`match_table`)."""
    ea, oa, ref, alt = pl.col("effect_allele"), pl.col("other_allele"), pl.col("ref"), pl.col("alt")
    fea, foa = pl.col("_fea"), pl.col("_foa")
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
    # The strand-flipped alleles, computed once (eager polars does not share subexpressions).
    flips = t.select("idx", _flipped(ea).alias("_fea"), _flipped(oa).alias("_foa"))
    is_ambiguous = pl.col("_ambiguous")
    pre = t.with_columns(
        (oa.is_not_null() & (ea.str.len_chars() == 1) & (oa.str.len_chars() == 1)
         & (flips["_fea"] == oa)).alias("_ambiguous")
    ).with_columns(
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
    early, eligible = early.drop("_ambiguous"), eligible.drop("_ambiguous")
    alleles, blocks = _site_tables(sites)
    cand = eligible.join(alleles, on=["chrom", "pos"], how="inner")
    multi = cand.filter(pl.col("n_real") > 1).select("idx").unique()
    if not keep_multiallelic:
        cand = cand.filter(pl.col("n_real") <= 1)
    cand = (
        cand.join(flips, on="idx", how="left")
        .with_columns(_priority().alias("prio"))
        .drop("_fea", "_foa")
        .filter(pl.col("prio").is_not_null())
        .sort("idx", "prio", "row", "k")
        # sorted by idx: the first row of each idx is its best candidate
        .with_columns((pl.col("idx") != pl.col("idx").shift(1)).fill_null(True).alias("first"))
    )
    best = cand.filter(pl.col("first"))
    names = pl.Series(PRIORITY)
    not_best = cand.filter(~pl.col("first")).with_columns(
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
                    # the effect allele is the block's non-reference allele: 0 copies
                    pl.lit(True).alias("eff_alt"),
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
        weight=chosen.select(
            # plink2 codes haploid chrX calls 0..2 (its default --xchr-model 2), but chrY and
            # mitochondrial calls 0..1: the readers count a haploid ALT twice, so their
            # additive weights are halved here
            pl.when(
                pl.col("chrom").is_in(list(HAPLOID_ONE_COPY))
                & (pl.col("effect_type") == "additive")
            )
            .then(pl.col("weight") * 0.5)
            .otherwise(pl.col("weight"))
        )
        .to_series()
        .to_numpy()
        .astype(np.float64),
        kind=chosen["effect_type"].to_numpy().astype(str),
        genotypic=chosen.select("d0", "d1", "d2").to_numpy().astype(np.float64),
        freq=chosen["freq"].fill_null(float("nan")).to_numpy().astype(np.float64),
    )
    return m, log


def _vcf_blocks(
    m: Matched, sites: GenotypeSites, dosages: DosageLookup | None
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]:
    """ALT dosage blocks of the matched variants from a VCF's genotype matrix: int8 counts of
    the matched ALT allele (a haploid call counts double; a gVCF reference block is 0 where the
    call is reference), -9 where the call is missing; float64 where FORMAT dosages are used
    (a sample without a dosage value keeps its GT count)."""
    # Blocks small enough for the CPU cache: the genotype matrix is int8 already, so the
    # work per block is a few passes over it and cache misses dominate at larger sizes.
    rows_per_block = max(1, VCF_BLOCK_CELLS // max(1, sites.gt.shape[2]))
    for start in range(0, len(m), rows_per_block):
        part = np.arange(start, min(start + rows_per_block, len(m)), dtype=np.int64)
        rows = m.rows[part]
        if int(rows[-1]) - int(rows[0]) == len(rows) - 1 and bool((np.diff(rows) == 1).all()):
            gts = sites.gt[int(rows[0]) : int(rows[-1]) + 1]  # consecutive rows: a view
        else:
            gts = sites.gt[rows]
        k = m.alt_k[part][:, None]
        first, second = gts[:, 0, :], gts[:, 1, :]
        if dosages is None and (k == 1).all() and _largest_byte(sites, rows, gts) <= 1:
            # common case: bi-allelic, every call 0 or 1 (no missing or haploid calls)
            yield part, np.add(first, second)
            continue
        count = (first == k).astype(np.int8) + (second == k)
        haploid = second == -2
        if haploid.any():
            count = np.where(haploid, count * 2, count).astype(np.int8)
        missing = (first == -1) | (second == -1)
        block = (k == -1) & np.ones_like(missing)
        if block.any():
            count = np.where(block, 0, count).astype(np.int8)
            missing = np.where(block, first != 0, missing)
        count[missing] = -9
        if dosages is None:
            yield part, count
            continue
        out = count.astype(np.float64)
        for i, j in enumerate(part):
            d = dosages.get(int(m.rows[j]), int(m.alt_k[j]))
            if d is not None:
                d = np.where(haploid[i], 2.0 * d, d)  # haploid DS is 0..1; plink2 doubles it
                out[i] = np.where(np.isnan(d), out[i], plink_dosage(d))
        yield part, out


def _largest_byte(sites: GenotypeSites, rows: npt.NDArray[np.int64], gts: npt.NDArray[Any]) -> int:
    """The largest value of the rows as unsigned bytes (255: a missing call, 254: haploid)."""
    if sites.row_max is not None:
        return int(sites.row_max[rows].max())
    return int(gts.view(np.uint8).max())


@dataclass
class DosageLookup:
    """FORMAT dosages of a VCF's sites, by genotype-matrix row and ALT index."""

    by_row: dict[int, npt.NDArray[np.float64]]

    def get(self, row: int, k: int) -> npt.NDArray[np.float64] | None:
        d = self.by_row.get(row)
        if d is None or k < 1 or k > d.shape[0]:
            return None
        row_dose: npt.NDArray[np.float64] = d[k - 1]
        return row_dose


def sums(
    m: Matched,
    blocks: Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]],
    n: int,
    impute: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per-sample totals and missing-call counts over the dosage blocks; the compiled loop
    (which releases the GIL) runs on a second thread while the next block is read, the array
    version (small runs) on this thread."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from precisionrx.engines.prs import kernel

    # The compiled loop pays for loading itself (about half a second) from some hundred
    # million genotypes up; below that the array version is faster.
    accumulate = kernel.accumulate if len(m) * n >= COMPILED_MIN_CELLS else kernel.accumulate_numpy

    kind = np.full(len(m), -1, dtype=np.int8)
    for name, code in kernel.KIND_CODES.items():
        kind[m.kind == name] = code
    if (kind < 0).any():
        raise KeyError(f"effect type {m.kind[np.argmax(kind < 0)]!r} has no scoring rule")
    totals = [np.zeros(n), np.zeros(n)]
    missing = [np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)]
    if accumulate is kernel.accumulate_numpy:  # cheap blocks: a second thread only contends
        for part, g in blocks:
            accumulate(g, m.weight[part], m.effect_is_alt[part], kind[part], m.genotypic[part],
                       impute, totals[0], missing[0])  # fmt: skip
        return totals[0], missing[0]
    pending: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, (part, g) in enumerate(blocks):
            slot = i % 2
            if len(pending) == 2:
                pending.pop(0).result()
            pending.append(pool.submit(
                accumulate, g, m.weight[part], m.effect_is_alt[part], kind[part],
                m.genotypic[part], impute, totals[slot], missing[slot],
            ))  # fmt: skip
        for f in pending:
            f.result()
    return totals[0] + totals[1], missing[0] + missing[1]


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
    sf: ScoreFile, vcf: GenotypeFile, markers: BuildMarkers
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
    sites = read_sites(vcf, both.unique())
    t = sites.table.filter(pl.col("pos") == pl.col("at_pos")).join(
        extra.unique(), on=["chrom", "pos"], how="semi"
    )
    rows = t.select("chrom", "pos", "ref", "block").iter_rows()
    return evidence_from(markers, rows), sites


@dataclass
class BuildCheck:
    """What :func:`inspect_build` found: the sites it read (None when nothing was read) and,
    when the genotype file is on another build than the scoring file, that build and why."""

    sites: GenotypeSites | None
    other: str | None = None
    message: str = ""


def inspect_build(
    sf: ScoreFile, vcf: GenotypeFile, kb: KnowledgeBase, state: BuildState | None = None
) -> BuildCheck:
    """Compare the scoring file's build with the genotype file's.

    The genotype file's build is its header's (contig lengths, ``##reference``); when the
    header declares none, the records at the positions of known variants in both builds decide
    (the dual-build table of the knowledge base; see docs/cli/prs.md). Those markers are read
    together with the scoring file's positions: the sites read are returned, to be handed to
    :func:`score` (the file is then read once). ``state`` keeps the evidence for the next
    scoring file of the same genotype file."""
    score_build = normalise_build(sf.genome_build)
    if score_build is None:
        return BuildCheck(None)
    vcf_build = vcf.declared_build()
    if vcf_build is not None:
        if score_build != vcf_build:
            return BuildCheck(None, vcf_build, (
                f"scoring file {sf.path.name} has {score_build} positions but the genotype file "
                f"is {vcf_build}"))  # fmt: skip
        return BuildCheck(None)
    state = state or BuildState()
    sites = None
    evidence = state.evidence
    if evidence is None:
        evidence, sites = _sites_with_markers(sf, vcf, dual_build_markers(kb))
        state.evidence = evidence
    other = evidence.contradicts(score_build)
    if other is not None:
        return BuildCheck(sites, other, (
            f"scoring file {sf.path.name} has {score_build} positions, but the genotype file "
            f"declares no build and {evidence.counts[other]} of its records sit at {other} "
            f"positions of known variants (e.g. {'; '.join(evidence.examples[other])}) against "
            f"{evidence.counts.get(score_build, 0)} at their {score_build} positions"))  # fmt: skip
    return BuildCheck(sites)


def check_build(
    sf: ScoreFile, vcf: GenotypeFile, kb: KnowledgeBase, state: BuildState | None = None
) -> GenotypeSites | None:
    """:func:`inspect_build`, refusing (GenomeBuildMismatch) a scoring file on another build;
    the sites read, if any."""
    found = inspect_build(sf, vcf, kb, state)
    if found.other is not None:
        raise GenomeBuildMismatch(
            found.message, path=vcf.path,
            hint="use the scoring file harmonised to the genotype file's build (PGS Catalog "
            "*_hmPOS_* files), or declare the build (##contig lengths or ##reference)",
        )  # fmt: skip
    return found.sites


def _points(sf: ScoreFile) -> pl.DataFrame:
    """The (chrom, pos) positions to read, one row each."""
    wanted = sf.table.filter(pl.col("pos").is_not_null() & pl.col("unsupported").is_null())
    return wanted.select("chrom", "pos").unique()


def resolve_missing(mode: str, n_samples: int) -> bool:
    """Whether missing calls are mean-imputed: ``auto`` imputes from 50 samples up (as
    pgsc_calc decides between plink2's two modes), below that frequencies are too unsure."""
    if mode == "auto":
        return n_samples >= MIN_IMPUTE_SAMPLES
    return mode == "mean-impute"


def raw_sums(
    sf: ScoreFile,
    source: GenotypeFile,
    keep_ambiguous: bool = False,
    keep_multiallelic: bool = False,
    invalid: list[str] | None = None,
    sites: GenotypeSites | None = None,
    impute: bool = False,
    dosage_field: str = "auto",
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], Matched, pl.DataFrame]:
    """Per-sample sums and missing-call counts, the matched variants and the match log;
    invalid calls (counted as missing) are appended to ``invalid`` when it is given.
    ``sites`` are the scoring file's sites already read (by :func:`check_build`)."""
    points = _points(sf)
    n = len(source.samples)
    if sites is None:
        sites = read_sites(source, points) if points.height else GenotypeSites.empty(n)
    if invalid is not None:
        invalid.extend(sites.invalid)
    m, log = match_table(sf, sites, keep_ambiguous, keep_multiallelic)
    if not len(m):
        return np.zeros(n), np.zeros(n, dtype=np.int64), m, log
    if isinstance(source, VcfFile):
        field = vcf_dosage_field(source, dosage_field)
        lookup = None
        if field is not None:
            lookup = _dosage_lookup(source, sites, m, field)
        blocks = _vcf_blocks(m, sites, lookup)
    else:
        blocks = source.dosage_blocks(m.rows, m.alt_k)
    total, missing = sums(m, blocks, n, impute)
    return total, missing, m, log


def read_sites(source: GenotypeFile, points: pl.DataFrame) -> GenotypeSites:
    """The sites at the points: with their genotype matrix from a VCF (read in one pass), the
    variant table only from PLINK/BGEN files (genotypes are read later, block by block)."""
    if isinstance(source, VcfFile):
        return source.genotype_sites(points)
    return GenotypeSites(source.site_table(points), np.zeros((0, 2, len(source.samples)),
                                                             dtype=np.int8))  # fmt: skip


def vcf_dosage_field(vcf: VcfFile, requested: str) -> str | None:
    """The FORMAT field dosages are read from: ``DS``, else ``GP``, when declared (``auto``);
    None for hard calls (``GT``)."""
    if requested == "GT":
        return None
    declared = vcf.format_fields()
    if requested == "auto":
        return next((f for f in ("DS", "GP") if f in declared), None)
    if requested not in declared:
        raise VcfFormatError(
            f"the header declares no FORMAT {requested} field", path=vcf.path,
            hint="use --dosage-field auto or GT",
        )  # fmt: skip
    return requested


def _dosage_lookup(vcf: VcfFile, sites: GenotypeSites, m: Matched, field: str) -> DosageLookup:
    import polars as pl

    rows = sites.table.filter(pl.col("row").is_in(np.unique(m.rows).tolist()))
    keys = {(c, p) for c, p in rows.select("chrom", "pos").iter_rows()}
    found = vcf.format_dosages(keys, field)
    by_row = {}
    for row, chrom, pos, ref, alt in rows.select("row", "chrom", "pos", "ref", "alt").iter_rows():
        d = found.get((chrom, pos, ref, alt))
        if d is not None:
            by_row[int(row)] = d
    return DosageLookup(by_row)


def score(
    sf: ScoreFile,
    vcf: GenotypeFile,
    keep_ambiguous: bool = False,
    keep_multiallelic: bool = False,
    min_overlap: float = MIN_OVERLAP,
    reference: GenotypeFile | None = None,
    sites: GenotypeSites | None = None,
    missing: str = "auto",
    dosage_field: str = "auto",
) -> RawScore:
    """Score every sample; Z/percentile from ``reference`` samples or the analytic distribution.
    ``sites``: the scoring file's sites already read from ``vcf`` (:func:`check_build`).
    ``missing``: ``mean-impute``, ``no-mean-imputation`` or ``auto`` (:func:`resolve_missing`).
    """
    invalid: list[str] = []
    impute = resolve_missing(missing, len(vcf.samples))
    total, missing_calls, m, log = raw_sums(
        sf, vcf, keep_ambiguous, keep_multiallelic, invalid, sites, impute, dosage_field
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
        ref_impute = resolve_missing(missing, len(reference.samples))
        ref_total, _, ref_m, _ = raw_sums(sf, reference, keep_ambiguous, keep_multiallelic,
                                          impute=ref_impute, dosage_field=dosage_field)  # fmt: skip
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
        if impute:
            how = (f"given the mean dosage of the samples with a call at that site (plink2 mean "
                   f"imputation over {len(vcf.samples)} samples)")  # fmt: skip
        else:
            how = "counted as 0 (not imputed)"
            if missing == "auto":
                how += (f"; mean imputation needs at least {MIN_IMPUTE_SAMPLES} samples for "
                        "allele frequencies")  # fmt: skip
        caveats.append(_warning(
            "missing_calls", f"some matched sites had missing genotype calls: {how}",
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


def match_summary(res: RawScore, conversion: Any = None) -> MatchLogSummary:
    """Counts of the match log by status and by reason (and of the build conversion)."""
    log = res.log_table
    converted = None
    if conversion is not None:
        converted = {"from": conversion.source, "to": conversion.target,
                     "converted": conversion.converted, "failed": conversion.failed}  # fmt: skip
    if not log.height:
        return MatchLogSummary(pgs_id=res.pgs_id, build_conversion=converted)

    def counts(col: str) -> dict[str, int]:
        table = log.group_by(col).len().sort(col)
        return {str(k): int(n) for k, n in table.iter_rows()}

    return MatchLogSummary(
        pgs_id=res.pgs_id,
        by_status=counts("match_status"),
        by_reason=counts("reason"),
        build_conversion=converted,
    )


def to_result(res: RawScore, sf: ScoreFile, conversion: Any = None) -> ScoreResult:
    """The typed result of one scoring file: its per-sample rows, caveats and match counts
    (with the build conversion's counts when its positions were converted)."""
    return ScoreResult(
        pgs_id=res.pgs_id,
        trait=sf.metadata.get("trait_reported"),
        scorefile=str(sf.path),
        variants_matched=res.variants_matched,
        variants_in_score=res.variants_in_score,
        rows=result_rows(res),
        match_log=match_summary(res, conversion),
        caveats=list(res.caveats),
    )
