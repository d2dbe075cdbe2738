"""``precisionrx prs``: polygenic scores from PGS Catalog scoring files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser, number


class PrsFormat(StrEnum):
    json = "json"
    tsv = "tsv"


KeepAmbiguousOption = Annotated[bool, typer.Option("--keep-ambiguous")]
KeepMultiallelicOption = Annotated[bool, typer.Option("--keep-multiallelic")]
MinOverlapOption = Annotated[
    float,
    typer.Option(
        "--min-overlap",
        help="Smallest share of the score's variants that must match, in (0, 1].",
        callback=number(low=0, high=1, low_open=True),
    ),
]


@app.command("prs")
def prs_command(
    scorefiles: Annotated[list[Path], typer.Argument(help="PGS Catalog scoring file(s).")],
    vcf: Annotated[Path, typer.Option("--vcf", help="VCF/BCF with the genotypes.")],
    fmt: Annotated[
        PrsFormat,
        typer.Option("--format", parser=enum_parser(PrsFormat), metavar=enum_metavar(PrsFormat)),
    ] = PrsFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    keep_ambiguous: KeepAmbiguousOption = False,
    keep_multiallelic: KeepMultiallelicOption = False,
    min_overlap: MinOverlapOption = 0.75,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="VCF of reference samples: Z and percentile against their scores.",
        ),
    ] = None,
) -> None:
    """Score every sample of the VCF with each scoring file (match log included)."""
    import polars as pl

    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.io.pgs_scorefile import ScoreFile, read_scorefile
    from precisionrx.io.vcf import VcfFile
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.evidence import fingerprint
    from precisionrx.records.prs import PrsSettings
    from precisionrx.report.output import check_outputs

    check_outputs([output], [*scorefiles, vcf, reference])
    settings = PrsSettings(
        keep_ambiguous=keep_ambiguous, keep_multiallelic=keep_multiallelic, min_overlap=min_overlap
    )
    logs: list[pl.DataFrame] = []
    read: list[bytes] = []

    def files() -> Iterator[ScoreFile]:  # read one by one, as they are scored
        for path in scorefiles:
            sf = read_scorefile(path)
            read.append(path.read_bytes())
            yield sf

    with contextlib.ExitStack() as stack:
        v = stack.enter_context(VcfFile(vcf))
        ref = stack.enter_context(VcfFile(reference)) if reference is not None else None
        result = score_genotypes(files(), v, KnowledgeBase(), settings, ref, match_logs=logs)
    # The input fingerprint: the scoring files' bytes, known once they are all read (the VCF is
    # named in the parameters, not hashed: it can be many gigabytes).
    if result.provenance is not None:
        parameters = {**result.provenance.parameters, "vcf": str(vcf)}
        provenance = result.provenance.model_copy(
            update={"input_sha256": fingerprint(*read), "parameters": parameters}
        )
        result = result.model_copy(update={"provenance": provenance})
    from precisionrx.report.tables import prs_json, prs_tsv

    text = prs_json(result, logs) if fmt is PrsFormat.json else prs_tsv(result)
    emit(text, output, f"{len(result.rows())} scores")
