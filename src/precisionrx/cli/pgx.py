"""``precisionrx pgx``: star-allele diplotypes and phenotypes from VCF(s)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import choices_each, enum_metavar, enum_parser

if TYPE_CHECKING:
    from collections.abc import Callable

    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records import Medication

from precisionrx.engines.pgx.policy import AUTO_RECOMMEND_MAX


class PgxFormat(StrEnum):
    json = "json"
    tsv = "tsv"
    html = "html"
    fhir = "fhir"


class Build(StrEnum):
    GRCh38 = "GRCh38"
    GRCh37 = "GRCh37"


def guideline_drugs() -> dict[str, str]:
    """Accepted ``--drug`` values: guideline drug names, and brand names for them."""
    from precisionrx.kb.registry import KnowledgeBase

    pkb = KnowledgeBase().prescribing
    names = {d: d for d in sorted(pkb.drugs)}
    names.update({b: g for b, g in sorted(pkb.brands.items()) if g in pkb.drugs and b not in names})
    return names


def medication_reader(kb: KnowledgeBase) -> Callable[[Path], list[Medication]]:
    """``read_medications`` that requires at least one medication the guideline data knows."""
    from precisionrx.engines.pgx.medications import resolve
    from precisionrx.io.medications import read_medications

    pkb = kb.prescribing
    extra = {m.drug for m in pkb.modulators}

    def known(med: Medication) -> bool:
        return resolve(med, pkb, extra).drug is not None

    def read(path: Path) -> list[Medication]:
        return read_medications(path, recognised=known)

    return read


@app.command("pgx")
def pgx_command(
    vcf: Annotated[
        list[Path] | None,
        typer.Argument(metavar="VCF...", help="VCF/BCF file(s), plain or bgzipped."),
    ] = None,
    genotypes_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--genotypes",
            help="Genotype file (repeatable): VCF/BCF, PLINK 2 .pgen or PLINK 1 .bed (or their "
            "prefix), or BGEN .bgen; the format is read from the name.",
        ),
    ] = None,
    sample: Annotated[
        list[str] | None, typer.Option("--sample", help="Sample id (repeat); default: all.")
    ] = None,
    outside_calls: Annotated[
        list[Path] | None,
        typer.Option(
            "--outside-calls",
            help="PharmCAT-format outside-call TSV (repeatable; a gene given several times "
            "is an ambiguous call).",
        ),
    ] = None,
    genome_build: Annotated[
        Build,
        typer.Option("--genome-build", parser=enum_parser(Build), metavar=enum_metavar(Build)),
    ] = Build.GRCh38,
    medications: Annotated[
        Path | None, typer.Option("--medications", help="Medication list (used by prescribing).")
    ] = None,
    fmt: Annotated[
        PgxFormat,
        typer.Option("--format", parser=enum_parser(PgxFormat), metavar=enum_metavar(PgxFormat)),
    ] = PgxFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    drug: Annotated[
        list[str] | None,
        typer.Option(
            "--drug",
            help="Recommend for this drug too (repeatable), e.g. warfarin; a generic name with "
            "guideline data (a misspelled name is an error).",
            callback=choices_each(guideline_drugs, "a drug with guideline data"),
        ),
    ] = None,
    genotypes_only: Annotated[
        bool,
        typer.Option("--genotypes-only", help="Skip recommendations (biobank and cohort runs)."),
    ] = False,
    recommendations: Annotated[
        bool,
        typer.Option(
            "--recommendations",
            help=f"Add recommendations even to runs of more than {AUTO_RECOMMEND_MAX} samples.",
        ),
    ] = False,
    missing_to_ref: Annotated[
        bool,
        typer.Option(
            "--missing-to-ref",
            help="Treat positions absent from the VCF as homozygous reference (only for VCFs "
            "that list every non-reference site); each affected gene gets a caveat.",
        ),
    ] = False,
) -> None:
    """Call star-allele diplotypes and phenotypes for every CPIC pharmacogene."""
    from precisionrx.cli.prs import genotype_inputs
    from precisionrx.engines.pgx.api import analyse
    from precisionrx.engines.pgx.caller import CallOptions, genotype_request
    from precisionrx.engines.pgx.outside import check_outside_calls
    from precisionrx.io.germline import read_germline
    from precisionrx.io.outside_calls import read_outside_call_files
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs
    from precisionrx.report.pgx_json import pgx_document, render_json, render_tsv

    vcf = genotype_inputs(vcf, genotypes_files)
    check_outputs([output], [*vcf, *(outside_calls or []), medications])
    kb = KnowledgeBase()
    outside = read_outside_call_files(outside_calls or [])
    check_outside_calls(kb, outside)
    meds = medication_reader(kb)(medications) if medications is not None else None
    show = not quiet and output is not None
    from rich.progress import Progress

    options = CallOptions(genome_build=genome_build.value, missing_to_reference=missing_to_ref)
    request = genotype_request(kb, options)
    genotypes = [read_germline(path, request, sample or None) for path in vcf]
    with Progress(transient=True, disable=not show) as progress:
        task = progress.add_task("calling", total=len(kb.genes) * len(genotypes))

        def advance(_gene: str) -> None:
            progress.advance(task)

        options.progress = advance
        run = analyse(
            genotypes, kb, options, outside=outside, medications=meds, drugs=drug or None,
            recommendations=recommendations, genotypes_only=genotypes_only,
        )  # fmt: skip
    for note in run.notes:
        typer.echo(f"note: {note}", err=True)
    results = run.results
    if fmt is PgxFormat.json:
        text = render_json(results, kb)
    elif fmt is PgxFormat.tsv:
        text = render_tsv(results)
    elif fmt is PgxFormat.fhir:
        from precisionrx.report.fhir.pgx import pgx_bundle

        text = pgx_bundle(kb, results)
    else:
        from precisionrx.report.html import page

        text = page("pgx.html.j2", {"doc": pgx_document(results, kb)})
    emit(text, output, f"{len(results)} sample result(s)")
