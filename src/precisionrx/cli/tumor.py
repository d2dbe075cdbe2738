"""``precisionrx tumor``: matched therapies for a tumour's alterations, with germline checks."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from precisionrx.cli import app, emit


class TumorFormat(StrEnum):
    json = "json"
    html = "html"


def _is_maf(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".bcf")):
        return False
    if name.endswith((".maf", ".maf.gz")):
        return True
    with path.open("rb") as fh:
        head = fh.read(4096)
    return not head.startswith((b"##fileformat=VCF", b"\x1f\x8b", b"BCF"))


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
) -> dict[str, Any]:
    """Read the inputs, match, tier and cross-check; the JSON document of the command."""
    from precisionrx.engines.oncology.germline import germline_conflicts
    from precisionrx.engines.oncology.knowledge import OncologyKb
    from precisionrx.engines.oncology.report import analyse, matched_drugs
    from precisionrx.errors import InputError
    from precisionrx.io.tumor_inputs import read_cna, read_fusions, read_maf, read_tumor_vcf
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.kb.user_sources import added_civic
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    if not input_path.is_file():
        raise InputError("tumour input not found", path=input_path)
    annotated = True
    if _is_maf(input_path):
        alterations, build = read_maf(input_path)
    else:
        alterations, annotated, build = read_tumor_vcf(input_path)
    if genome_build:
        if build and build != genome_build:
            from precisionrx.errors import GenomeBuildMismatch

            raise GenomeBuildMismatch(
                f"the input declares {build} but --genome-build {genome_build} was given",
                path=input_path,
            )
        build = genome_build
    if cna is not None:
        alterations += read_cna(cna)
    if fusions is not None:
        alterations += read_fusions(fusions)
    kb = KnowledgeBase()
    extra = added_civic()
    okb = OncologyKb.load(kb.root / "oncology", [extra] if extra else None)
    report = analyse(
        okb, alterations, tumor_type, build, msi, msisensor_score, callable_mb, tmb_scheme,
        annotated,
    )  # fmt: skip
    if germline_vcf is not None:
        from precisionrx.engines.pgx.caller import CallOptions, call_vcf
        from precisionrx.io.medications import read_medications
        from precisionrx.records import PatientRecord

        results = call_vcf(
            germline_vcf, kb, [germline_sample] if germline_sample else None, CallOptions()
        )
        current = read_medications(medications) if medications is not None else []
        patient = PatientRecord(id=germline_sample or "patient", medications=tuple(current))
        drugs = matched_drugs(report)
        report["germline_conflicts"] = germline_conflicts(kb, results, drugs, patient=patient)
        report["germline_checked"] = {"vcf": str(germline_vcf), "drugs": drugs}
    else:
        report["caveats"].append(
            "no germline genotype given (--germline-vcf): suggested drugs were not checked "
            "against the patient's pharmacogenomics"
        )
    report["notice"] = DECISION_SUPPORT
    report["input"] = str(input_path)
    return report


@app.command("tumor")
def tumor_command(
    input_path: Annotated[Path, typer.Argument(help="MAF, or VCF annotated by VEP or SnpEff.")],
    tumor_type: Annotated[
        str | None, typer.Option("--tumor-type", help="OncoTree code, e.g. LUAD, MEL, COADREAD.")
    ] = None,
    cna: Annotated[Path | None, typer.Option("--cna", help="Copy-number table (TSV).")] = None,
    fusions: Annotated[Path | None, typer.Option("--fusions", help="Fusion table (TSV).")] = None,
    msi: Annotated[
        str | None, typer.Option("--msi", help="MSI status: MSI-H, MSI-L or MSS.")
    ] = None,
    msisensor_score: Annotated[
        float | None, typer.Option("--msisensor-score", help="MSIsensor score (% unstable).")
    ] = None,
    callable_mb: Annotated[
        float, typer.Option("--callable-mb", help="Callable coding megabases for TMB.")
    ] = 34.0,
    tmb_scheme: Annotated[
        str,
        typer.Option(
            "--tmb-scheme", help="coding_and_silent (default), coding_non_silent, missense_only."
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
        str | None, typer.Option("--genome-build", help="GRCh37 or GRCh38 (default: from input).")
    ] = None,
    fmt: Annotated[TumorFormat, typer.Option("--format")] = TumorFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Match tumour alterations to therapies with AMP/ASCO/CAP tiers, TMB, MSI and PGx checks."""
    from precisionrx.engines.oncology.burden import SCHEMES
    from precisionrx.errors import InputError
    from precisionrx.report.output import json_lines

    if not math.isfinite(callable_mb) or callable_mb <= 0:
        raise InputError(f"--callable-mb must be a positive number (got {callable_mb:g})")
    if msisensor_score is not None and not (
        math.isfinite(msisensor_score) and msisensor_score >= 0
    ):
        raise InputError(f"--msisensor-score must be a number >= 0 (got {msisensor_score:g})")
    if tmb_scheme not in SCHEMES:
        raise InputError(f"--tmb-scheme must be one of {', '.join(SCHEMES)}")
    if genome_build not in (None, "GRCh37", "GRCh38"):
        raise InputError("--genome-build must be GRCh37 or GRCh38")
    report = tumor_report(
        input_path, tumor_type, cna, fusions, msi, msisensor_score, callable_mb, tmb_scheme,
        germline_vcf, germline_sample, genome_build, medications,
    )  # fmt: skip
    if fmt is TumorFormat.json:
        text = json_lines(report)
    else:
        from precisionrx.report.html import _load, render

        text = render("tumor.html.j2", {"doc": report, "css": _load("base.css")})
    emit(text, output, f"{len(report['matches'])} matches")
