"""``precisionrx prs``: polygenic scores from PGS Catalog scoring files."""

from __future__ import annotations

import contextlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser, number


class PrsFormat(StrEnum):
    json = "json"
    tsv = "tsv"


@app.command("prs")
def prs_command(
    scorefiles: Annotated[list[Path], typer.Argument(help="PGS Catalog scoring file(s).")],
    vcf: Annotated[Path, typer.Option("--vcf", help="VCF/BCF with the genotypes.")],
    fmt: Annotated[
        PrsFormat,
        typer.Option("--format", parser=enum_parser(PrsFormat), metavar=enum_metavar(PrsFormat)),
    ] = PrsFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    keep_ambiguous: Annotated[bool, typer.Option("--keep-ambiguous")] = False,
    keep_multiallelic: Annotated[bool, typer.Option("--keep-multiallelic")] = False,
    min_overlap: Annotated[
        float,
        typer.Option(
            "--min-overlap",
            help="Smallest share of the score's variants that must match, in (0, 1].",
            callback=number(low=0, high=1, low_open=True),
        ),
    ] = 0.75,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="VCF of reference samples: Z and percentile against their scores.",
        ),
    ] = None,
) -> None:
    """Score every sample of the VCF with each scoring file (match log included)."""
    from precisionrx.engines.prs.scorer import check_build, result_rows, score
    from precisionrx.io.pgs_scorefile import read_scorefile
    from precisionrx.io.vcf import VcfFile
    from precisionrx.report.output import check_outputs

    check_outputs([output], [*scorefiles, vcf, reference])
    scores = []
    logs = []
    with contextlib.ExitStack() as stack:
        v = stack.enter_context(VcfFile(vcf))
        ref = stack.enter_context(VcfFile(reference)) if reference is not None else None
        for path in scorefiles:
            sf = read_scorefile(path)
            check_build(sf, v)
            res = score(sf, v, keep_ambiguous, keep_multiallelic, min_overlap, ref)
            scores += result_rows(res)
            logs.append(res.log_table)
    if fmt is PrsFormat.json:
        # One match-log row per line: the log can hold millions of rows.
        import polars as pl

        log = pl.concat(logs) if logs else pl.DataFrame()
        rows = log.write_ndjson().rstrip("\n").replace("\n", ",\n") if log.height else ""
        from precisionrx.report.output import dumps

        # polars writes NaN as null and floats as their shortest round-trip digits.
        text = '{"scores": ' + dumps(scores, indent=1) + ',\n"match_log": [\n'
        text += rows + "\n]}\n"
    else:
        cols = [
            "pgs_id",
            "sample",
            "sum",
            "variants_matched",
            "variants_in_score",
            "percentile",
            "z",
        ]
        lines = ["\t".join(cols)] + [
            "\t".join("" if s[c] is None else str(s[c]) for c in cols) for s in scores
        ]
        text = "\n".join(lines) + "\n"
    emit(text, output, f"{len(scores)} scores")
