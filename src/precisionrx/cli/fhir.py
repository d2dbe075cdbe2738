"""``precisionrx fhir``: FHIR Genomics Reporting import (docs/fhir.md).

``import`` reads a lab's Genomics Reporting IG 3.0 resources (Bundles, single resources,
NDJSON; several files merged) and prints the genotypes, variants, therapeutic implications,
medication recommendations and HLA results it found, each naming its source resource, with
the engine's own CPIC phenotype of every imported diplotype beside the source's. A resource
that cannot be read is a warning; a file that is not FHIR JSON/NDJSON is an error (exit 6).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser

fhir_app = typer.Typer(
    help="FHIR Genomics Reporting: read a lab's genotypes, variants and implications.",
    no_args_is_help=True,
)
app.add_typer(fhir_app, name="fhir")


class ImportFormat(StrEnum):
    json = "json"


@fhir_app.command("import")
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="FHIR JSON (a Bundle, a resource or a list of resources) or NDJSON files; "
            "references resolve across them.",
        ),
    ],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Also warn about inconsistencies in the source: HGNC ids that name another "
            "gene, recommendation codes displayed as another code, genotypes contradicted by "
            "their variants or haplotypes, drugs that disagree.",
        ),
    ] = False,
    fmt: Annotated[
        ImportFormat,
        typer.Option(
            "--format", parser=enum_parser(ImportFormat), metavar=enum_metavar(ImportFormat)
        ),
    ] = ImportFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """Read Genomics Reporting resources: genotypes (diplotype per gene), variants (HGVS,
    origin, VAF), therapeutic implications, medication recommendations and HLA results, with
    the engine's phenotype of each imported diplotype compared with the source's."""
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.plan.fhir_genomics_compare import import_fhir_genomics
    from precisionrx.report.writers import json_text

    result = import_fhir_genomics(files, KnowledgeBase(), strict=strict)
    summary = (
        f"{len(result.genotypes)} genotype(s), {len(result.variants)} variant(s), "
        f"{len(result.implications)} implication(s), {len(result.warnings)} warning(s)"
    )
    emit(json_text(result), output, summary)
