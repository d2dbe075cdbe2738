"""``precisionrx tumor``: matched therapies for a tumour's alterations, with germline checks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import choice, enum_metavar, enum_parser, number

if TYPE_CHECKING:
    from precisionrx.records.oncology import TumourReport

#: ``--msi`` values and the spellings accepted for them.
MSI_STATUSES = {
    "MSI-H": "MSI-H", "MSIH": "MSI-H", "MSI-HIGH": "MSI-H", "MSI_H": "MSI-H",
    "MSI-L": "MSI-L", "MSIL": "MSI-L", "MSI-LOW": "MSI-L", "MSI_L": "MSI-L",
    "MSS": "MSS",
}  # fmt: skip
GENOME_BUILDS = {"GRCh37": "GRCh37", "hg19": "GRCh37", "GRCh38": "GRCh38", "hg38": "GRCh38"}


def tumor_types() -> dict[str, str]:
    """OncoTree codes of the packaged oncology knowledge base (the subset it ships)."""
    from precisionrx.engines.oncology.knowledge import oncotree_codes
    from precisionrx.kb.registry import KnowledgeBase

    return {c: c for c in oncotree_codes(KnowledgeBase())}


def tmb_schemes() -> list[str]:
    from precisionrx.engines.oncology.burden import SCHEMES

    return list(SCHEMES)


class TumorFormat(StrEnum):
    json = "json"
    html = "html"


def tumor_report(
    input_path: Path,
    tumor_type: str | None,
    cna: Path | None,
    fusions: Path | None,
    msi: str | None,
    msisensor_score: float | None,
    callable_mb: float,
    tmb_scheme: str,
    germline_vcf: Path | None,
    germline_sample: str | None,
    genome_build: str | None,
    medications: Path | None = None,
) -> TumourReport:
    """Read the inputs and call the oncology engine; the document of the command."""
    from precisionrx.api.tumor import report
    from precisionrx.io.tumor_inputs import read_tumour
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records import PatientRecord, SampleResult
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    tables: list[tuple[Literal["cna", "fusions"], Path]] = []
    if cna is not None:
        tables.append(("cna", cna))
    if fusions is not None:
        tables.append(("fusions", fusions))
    tumour = read_tumour(input_path, tables=tables)
    kb = KnowledgeBase()
    germline: list[SampleResult] | None = None
    patient = None
    if germline_vcf is not None:
        from precisionrx.api.pgx import call_vcf
        from precisionrx.cli.pgx import medication_reader
        from precisionrx.engines.pgx.caller import CallOptions

        germline = call_vcf(
            germline_vcf, kb, [germline_sample] if germline_sample else None, CallOptions()
        )
        current = medication_reader(kb)(medications) if medications is not None else []
        patient = PatientRecord(id=germline_sample or "patient", medications=tuple(current))
    document = report(
        tumour, input_name=str(input_path), tumor_type=tumor_type, msi=msi,
        msisensor_score=msisensor_score, callable_mb=callable_mb, tmb_scheme=tmb_scheme,
        genome_build=genome_build, germline=germline,
        germline_input=str(germline_vcf) if germline_vcf is not None else None,
        patient=patient, kb=kb,
    )  # fmt: skip
    return document.model_copy(update={"notice": DECISION_SUPPORT})


@app.command("tumor")
def tumor_command(
    input_path: Annotated[Path, typer.Argument(help="MAF, or VCF annotated by VEP or SnpEff.")],
    tumor_type: Annotated[
        str | None,
        typer.Option(
            "--tumor-type",
            help="OncoTree code of the shipped subset, e.g. LUAD, MEL, COADREAD (or a tissue: "
            "LUNG, BREAST).",
            callback=choice(tumor_types, "an OncoTree code of the shipped subset"),
        ),
    ] = None,
    cna: Annotated[Path | None, typer.Option("--cna", help="Copy-number table (TSV).")] = None,
    fusions: Annotated[Path | None, typer.Option("--fusions", help="Fusion table (TSV).")] = None,
    msi: Annotated[
        str | None,
        typer.Option(
            "--msi", help="MSI status: MSI-H, MSI-L or MSS.", callback=choice(lambda: MSI_STATUSES)
        ),
    ] = None,
    msisensor_score: Annotated[
        float | None,
        typer.Option(
            "--msisensor-score",
            help="MSIsensor score (% unstable, 0-100).",
            callback=number(low=0, high=100),
        ),
    ] = None,
    callable_mb: Annotated[
        float,
        typer.Option(
            "--callable-mb",
            help="Callable coding megabases for TMB (> 0).",
            callback=number(low=0, low_open=True, unit="Mb"),
        ),
    ] = 34.0,
    tmb_scheme: Annotated[
        str,
        typer.Option(
            "--tmb-scheme",
            help="coding_and_silent (default), coding_non_silent, missense_only.",
            callback=choice(tmb_schemes),
        ),
    ] = "coding_and_silent",
    germline_vcf: Annotated[
        Path | None, typer.Option("--germline-vcf", help="Germline VCF for the PGx cross-check.")
    ] = None,
    germline_sample: Annotated[str | None, typer.Option("--germline-sample")] = None,
    medications: Annotated[
        Path | None,
        typer.Option("--medications", help="Current medications (phenoconversion in the check)."),
    ] = None,
    genome_build: Annotated[
        str | None,
        typer.Option(
            "--genome-build",
            help="GRCh37 or GRCh38 (default: from input).",
            callback=choice(lambda: GENOME_BUILDS),
        ),
    ] = None,
    fmt: Annotated[
        TumorFormat,
        typer.Option(
            "--format", parser=enum_parser(TumorFormat), metavar=enum_metavar(TumorFormat)
        ),
    ] = TumorFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Match tumour alterations to therapies with AMP/ASCO/CAP tiers, TMB, MSI and PGx checks."""
    from precisionrx.report.output import check_outputs
    from precisionrx.report.writers import json_by_lines

    check_outputs([output], [input_path, cna, fusions, germline_vcf, medications])
    report = tumor_report(
        input_path, tumor_type, cna, fusions, msi, msisensor_score, callable_mb, tmb_scheme,
        germline_vcf, germline_sample, genome_build, medications,
    )  # fmt: skip
    doc = report.model_dump(mode="json")
    if fmt is TumorFormat.json:
        text = json_by_lines(doc)
    else:
        from precisionrx.report.html import page

        text = page("tumor.html.j2", {"doc": doc}, report.provenance)
    emit(text, output, f"{len(report.matches)} matches")
