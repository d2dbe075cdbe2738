"""Scoring-file positions converted to the genotype file's genome build before matching.

PGS Catalog publishes harmonised files per build (``*_hmPOS_GRCh37/38``); pgsc_calc relies on
them. precisionrx accepts either: a scoring file on the other build is converted with the
packaged Ensembl chain files (:mod:`precisionrx.kb.liftover`). Per variant the first and last
base of its longest allele must land in one aligned block, in the same order and distance, on
the same chromosome; on a minus-strand block both alleles are reverse-complemented (an A/T or
C/G SNV then stays strand-ambiguous). A variant that cannot be converted is *excluded* from
matching with the reason in the match log (``liftover GRCh37->GRCh38 failed: gap`` ...), and
the score carries a caveat with the converted and failed counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from precisionrx.io.pgs_scorefile import ScoreFile


@dataclass(frozen=True)
class BuildConversion:
    source: str
    target: str
    converted: int
    failed: int

    def message(self) -> str:
        return (
            f"scoring file positions converted from {self.source} to {self.target} with the "
            f"Ensembl chain file before matching: {self.converted} converted, {self.failed} "
            "failed (excluded; reasons in the match log); REF bases cannot be checked without "
            "the reference sequence"
        )


def _revcomp(e: pl.Expr) -> pl.Expr:
    return e.str.reverse().str.replace_many(["A", "C", "G", "T"], ["T", "G", "C", "A"])


def convert_scorefile(sf: ScoreFile, target: str) -> tuple[ScoreFile, BuildConversion]:
    """``sf`` with positions (and, on minus-strand blocks, alleles) in ``target``'s build."""
    from precisionrx.engines.prs.scorer import normalise_build
    from precisionrx.kb.liftover import lift_positions, packaged_chain

    source = normalise_build(sf.genome_build)
    assert source is not None and source != target
    chain = packaged_chain(source, target)
    t = sf.table
    todo = t.filter(pl.col("pos").is_not_null() & pl.col("unsupported").is_null())
    span = pl.max_horizontal(
        pl.col("effect_allele").str.len_chars(), pl.col("other_allele").str.len_chars().fill_null(1)
    )
    todo = todo.with_columns(span.alias("_span"))
    chroms = todo["chrom"].to_list()
    start = lift_positions(chain, chroms, todo["pos"].to_numpy())
    end = lift_positions(chain, chroms, (todo["pos"] + todo["_span"] - 1).to_numpy())
    n = todo.height
    reason = np.array(start.reason, dtype=object)
    width = todo["_span"].to_numpy() - 1
    same = (
        start.mapped
        & end.mapped
        & (np.array(start.chrom, dtype=object) == np.array(end.chrom, dtype=object))
        & (start.strand == end.strand)
        & (np.abs(end.pos - start.pos) == width)
    )
    crossing = start.mapped & ~same
    reason[crossing] = "allele span crosses an alignment gap"
    minus_indel = same & (start.strand < 0) & (width > 0)
    reason[minus_indel] = "multi-base allele on a minus-strand block"
    ok = same & ~minus_indel
    new_pos = np.where(start.strand < 0, end.pos, start.pos)
    lifted = pl.DataFrame({
        "idx": todo["idx"],
        "_chrom": pl.Series([c if good else None for c, good in zip(start.chrom, ok.tolist(),
                                                                       strict=True)],
                            dtype=pl.Utf8),
        "_pos": pl.Series(np.where(ok, new_pos, 0), dtype=pl.Int64),
        "_minus": pl.Series(ok & (start.strand < 0)),
        "_why": pl.Series([None if good else str(r) for r, good in zip(reason.tolist(), ok.tolist(),
                                                                       strict=True)],
                          dtype=pl.Utf8),
    })  # fmt: skip
    label = f"liftover {source}->{target} failed: "
    table = (
        t.join(lifted, on="idx", how="left")
        .with_columns(
            pl.when(pl.col("_why").is_not_null())
            .then(pl.lit(label) + pl.col("_why"))
            .otherwise(pl.col("unsupported"))
            .alias("unsupported"),
            pl.when(pl.col("_chrom").is_not_null())
            .then(pl.col("_chrom"))
            .otherwise(pl.col("chrom"))
            .alias("chrom"),
            pl.when(pl.col("_chrom").is_not_null())
            .then(pl.col("_pos"))
            .otherwise(pl.col("pos"))
            .alias("pos"),
            pl.when(pl.col("_minus").fill_null(False))
            .then(_revcomp(pl.col("effect_allele")))
            .otherwise(pl.col("effect_allele"))
            .alias("effect_allele"),
            pl.when(pl.col("_minus").fill_null(False))
            .then(_revcomp(pl.col("other_allele")))
            .otherwise(pl.col("other_allele"))
            .alias("other_allele"),
        )
        .drop("_chrom", "_pos", "_minus", "_why")
        .sort("idx")
    )
    summary = BuildConversion(source, target, int(ok.sum()), int(n - ok.sum()))
    meta = {**sf.metadata, "converted_from_build": source}
    return dataclasses.replace(sf, genome_build=target, table=table, metadata=meta), summary
