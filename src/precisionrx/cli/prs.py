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


class MissingMode(StrEnum):
    auto = "auto"
    mean_impute = "mean-impute"
    no_mean_imputation = "no-mean-imputation"


class DosageField(StrEnum):
    auto = "auto"
    DS = "DS"
    GP = "GP"
    GT = "GT"


GENOTYPES_HELP = (
    "Genotypes: VCF/BCF, PLINK 2 .pgen (or its prefix), PLINK 1 .bed (or its prefix), or BGEN "
    "1.2/1.3 .bgen; the format is read from the name."
)


def genotype_inputs(arguments: list[Path] | None, options: list[Path] | None) -> list[Path]:
    """VCF arguments and ``--genotypes`` options together; neither given is a usage error
    (click's missing-argument message, exit 2)."""
    inputs = [*(arguments or []), *(options or [])]
    if not inputs:
        from precisionrx.cli import _CLICK

        raise _CLICK.MissingParameter(
            "give VCF file(s) or --genotypes FILE", param_type="argument", param_hint="'VCF...'"
        )
    return inputs


MissingOption = Annotated[
    MissingMode,
    typer.Option(
        "--missing",
        parser=enum_parser(MissingMode),
        metavar=enum_metavar(MissingMode),
        help="Missing calls: plink2's mean imputation, none, or auto (mean imputation from 50 "
        "samples up).",
    ),
]
DosageFieldOption = Annotated[
    DosageField,
    typer.Option(
        "--dosage-field",
        parser=enum_parser(DosageField),
        metavar=enum_metavar(DosageField),
        help="VCF dosages from FORMAT DS or GP, hard calls GT, or auto (DS, else GP, else GT).",
    ),
]


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
    genotypes: Annotated[Path, typer.Option("--genotypes", "--vcf", help=GENOTYPES_HELP)],
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
            help="Genotypes of reference samples (any supported format): Z and percentile "
            "against their scores.",
        ),
    ] = None,
    missing: MissingOption = MissingMode.auto,
    dosage_field: DosageFieldOption = DosageField.auto,
) -> None:
    """Score every sample of the genotype file with each scoring file (match log included)."""
    import polars as pl

    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.io.genotypes import open_genotypes
    from precisionrx.io.pgs_scorefile import ScoreFile, read_scorefile
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.evidence import fingerprint
    from precisionrx.records.prs import PrsSettings
    from precisionrx.report.output import check_outputs

    vcf = genotypes
    check_outputs([output], [*scorefiles, vcf, reference])
    settings = PrsSettings(
        keep_ambiguous=keep_ambiguous,
        keep_multiallelic=keep_multiallelic,
        min_overlap=min_overlap,
        missing=missing.value,
        dosage_field=dosage_field.value,
    )
    logs: list[pl.DataFrame] = []
    read: list[bytes] = []

    def files() -> Iterator[ScoreFile]:  # read one by one, as they are scored
        for path in scorefiles:
            sf = read_scorefile(path)
            read.append(path.read_bytes())
            yield sf

    with contextlib.ExitStack() as stack:
        v = open_genotypes(vcf)
        stack.callback(v.close)
        ref = open_genotypes(reference) if reference is not None else None
        if ref is not None:
            stack.callback(ref.close)
        result = score_genotypes(files(), v, KnowledgeBase(), settings, ref, match_logs=logs)
    # The input fingerprint: the scoring files' bytes, known once they are all read (the VCF is
    # named in the parameters, not hashed: it can be many gigabytes).
    if result.provenance is not None:
        parameters = {**result.provenance.parameters, "vcf": str(vcf), "genotypes": str(vcf)}
        provenance = result.provenance.model_copy(
            update={"input_sha256": fingerprint(*read), "parameters": parameters}
        )
        result = result.model_copy(update={"provenance": provenance})
    from precisionrx.report.tables import prs_json, prs_tsv

    text = prs_json(result, logs) if fmt is PrsFormat.json else prs_tsv(result)
    emit(text, output, f"{len(result.rows())} scores")
