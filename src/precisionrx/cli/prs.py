"""``precisionrx prs``: polygenic scores from PGS Catalog scoring files."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app


class PrsFormat(StrEnum):
    json = "json"
    tsv = "tsv"


@app.command("prs")
def prs_command(
    scorefiles: Annotated[list[Path], typer.Argument(help="PGS Catalog scoring file(s).")],
    vcf: Annotated[Path, typer.Option("--vcf", help="VCF/BCF with the genotypes.")],
    fmt: Annotated[PrsFormat, typer.Option("--format")] = PrsFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    keep_ambiguous: Annotated[bool, typer.Option("--keep-ambiguous")] = False,
    keep_multiallelic: Annotated[bool, typer.Option("--keep-multiallelic")] = False,
    min_overlap: Annotated[float, typer.Option("--min-overlap")] = 0.75,
) -> None:
    """Score every sample of the VCF with each scoring file (match log included)."""
    from precisionrx.engines.prs.scorer import result_rows, score
    from precisionrx.io.pgs_scorefile import read_scorefile
    from precisionrx.io.vcf import VcfFile
    from precisionrx.report.output import write_atomic

    scores = []
    log = []
    with VcfFile(vcf) as v:
        for path in scorefiles:
            res = score(read_scorefile(path), v, keep_ambiguous, keep_multiallelic, min_overlap)
            scores += result_rows(res)
            log += [asdict(r) for r in res.log]
    if fmt is PrsFormat.json:
        text = json.dumps({"scores": scores, "match_log": log}, indent=1) + "\n"
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
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(output, text)
        typer.echo(f"wrote {output} ({len(scores)} scores)", err=True)
