"""``precisionrx convert``: a VCF's genotypes as a PLINK 2 or PLINK 1 fileset."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app
from precisionrx.cli.options import enum_metavar, enum_parser


class Target(StrEnum):
    pgen = "pgen"
    bed = "bed"


class ConvertDosage(StrEnum):
    GT = "GT"
    DS = "DS"
    GP = "GP"


@app.command("convert")
def convert_command(
    vcf: Annotated[Path, typer.Argument(metavar="VCF", help="VCF/BCF file, plain or bgzipped.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", metavar="PREFIX", help="Output prefix.")
    ],
    to: Annotated[
        Target, typer.Option("--to", parser=enum_parser(Target), metavar=enum_metavar(Target))
    ] = Target.pgen,
    dosage_field: Annotated[
        ConvertDosage,
        typer.Option(
            "--dosage-field",
            parser=enum_parser(ConvertDosage),
            metavar=enum_metavar(ConvertDosage),
            help="Write FORMAT DS or GP dosages (pgen only) instead of hard calls with phase.",
        ),
    ] = ConvertDosage.GT,
    sample: Annotated[
        list[str] | None, typer.Option("--sample", help="Sample id (repeat); default: all.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Write the VCF as PREFIX.pgen/.pvar/.psam or PREFIX.bed/.bim/.fam (the fast path of prs)."""
    from rich.progress import Progress

    from precisionrx.io.plink_write import convert_vcf
    from precisionrx.io.vcf import VcfFile
    from precisionrx.report.output import check_outputs

    if dosage_field is not ConvertDosage.GT and to is Target.bed:
        raise typer.BadParameter("dosages need --to pgen (.bed holds hard calls only)",
                                 param_hint="--dosage-field")  # fmt: skip
    exts = ("pgen", "pvar", "psam") if to is Target.pgen else ("bed", "bim", "fam")
    check_outputs([output.with_name(f"{output.name}.{e}") for e in exts], [vcf])
    with VcfFile(vcf, sample or None) as v, Progress(transient=True, disable=quiet) as bar:
        field = None
        if dosage_field is not ConvertDosage.GT:
            from precisionrx.engines.prs.scorer import vcf_dosage_field

            field = vcf_dosage_field(v, dosage_field.value)
        task = bar.add_task("converting", total=None)
        summary = convert_vcf(v, output, to.value, field,
                              progress=lambda n: bar.update(task, completed=n))  # fmt: skip
    dropped = (f"; {summary.skipped_multiallelic} multi-allelic record(s) left out (.bed holds "
               "bi-allelic variants only)") if summary.skipped_multiallelic else ""  # fmt: skip
    typer.echo(f"wrote {', '.join(str(p) for p in summary.files)} ({summary.variants} variants x "
               f"{summary.samples} samples{dropped})", err=True)  # fmt: skip
