"""``precisionrx cohort``: the engines over a cohort on Dask, and equity analytics over the
results (docs/cli/cohort.md, docs/scale.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from precisionrx.cli import app
from precisionrx.cli.monitor import PopulationOption
from precisionrx.cli.options import enum_metavar, enum_parser, number
from precisionrx.cli.pgx import Build
from precisionrx.cli.prs import (
    GENOTYPES_HELP,
    DosageField,
    DosageFieldOption,
    KeepAmbiguousOption,
    KeepMultiallelicOption,
    MinOverlapOption,
    MissingMode,
    MissingOption,
    genotype_inputs,
)
from precisionrx.cli.risk import ModelsOption

if TYPE_CHECKING:
    from precisionrx.cohort.runner import RunSummary, Shard

cohort_app = typer.Typer(
    help="Cohort runs on Dask (pgx, prs, risk, cgm) and equity analytics over their results.",
    no_args_is_help=True,
)
app.add_typer(cohort_app, name="cohort")

OutOption = Annotated[
    Path,
    typer.Option("-o", "--output", metavar="OUT.parquet",
                 help="Output folder of Parquet parts; OUT.duckdb beside it holds the view "
                 "'results'."),
]  # fmt: skip
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", metavar="ADDRESS",
                 help="An existing Dask scheduler, e.g. tcp://host:8786 (default: a "
                 "LocalCluster on this machine)."),
]  # fmt: skip
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, max=512,
                 help="LocalCluster worker processes (default: one per core)."),
]  # fmt: skip
ResumeOption = Annotated[
    bool,
    typer.Option("--resume", help="Continue a run that stopped: finished shards are kept."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]


def _run(
    task: str,
    plan: Callable[[], tuple[list[Shard], dict[str, Any]]],
    output: Path,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
    quiet: bool,
) -> RunSummary:
    """Plan the shards, run them with a progress bar, say what was written."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from precisionrx.cohort.runner import require_cohort_dependencies, run_cohort

    require_cohort_dependencies()
    if scheduler is not None and workers is not None:
        raise typer.BadParameter("sets the size of a LocalCluster; with --scheduler the "
                                 "cluster is yours", param_hint="--workers")  # fmt: skip
    shards, identity = plan()
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True,
                  disable=quiet) as progress:  # fmt: skip
        bar = progress.add_task(f"cohort {task}", total=len(shards))

        def advance(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        summary = run_cohort(task, shards, output, identity, scheduler=scheduler,
                             workers=workers, resume=resume, progress=advance)  # fmt: skip
    again = f", {summary.done_before} already done" if summary.done_before else ""
    typer.echo(f"wrote {output} ({summary.shards} shard(s){again}; {summary.rows} new row(s)); "
               f"DuckDB view 'results' in {summary.view}", err=True)  # fmt: skip
    return summary


def _check_inputs(paths: list[Path], what: str) -> None:
    from precisionrx.io.genotypes import main_file
    from precisionrx.io.textio import check_input_file

    for path in paths:
        check_input_file(main_file(path), what)


@cohort_app.command("pgx")
def cohort_pgx(
    output: OutOption,
    inputs: Annotated[
        list[Path] | None, typer.Argument(metavar="VCF...", help="VCF/BCF files.")
    ] = None,
    genotypes: Annotated[
        list[Path] | None,
        typer.Option("--genotypes", help=f"{GENOTYPES_HELP} Repeatable."),
    ] = None,
    sample: Annotated[
        list[str] | None, typer.Option("--sample", help="Sample id (repeat); default: all.")
    ] = None,
    genome_build: Annotated[
        Build,
        typer.Option("--genome-build", parser=enum_parser(Build), metavar=enum_metavar(Build)),
    ] = Build.GRCh38,
    samples_per_shard: Annotated[
        int,
        typer.Option(
            "--samples-per-shard",
            min=1,
            help="Samples of a multi-sample file per shard (each gene is a shard of its own).",
        ),
    ] = 5000,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    resume: ResumeOption = False,
    quiet: QuietOption = False,
) -> None:
    """Star-allele calls for every sample x gene: one row each, the fields of `pgx`'s JSON."""
    from precisionrx.cohort.pgx import pgx_shards

    inputs = genotype_inputs(inputs, genotypes)
    _check_inputs(inputs, "genotype")
    _run("pgx", lambda: pgx_shards(inputs, genome_build=genome_build.value, samples=sample,
                                   samples_per_shard=samples_per_shard),
         output, scheduler, workers, resume, quiet)  # fmt: skip


@cohort_app.command("prs")
def cohort_prs(
    scorefiles: Annotated[list[Path], typer.Argument(help="PGS Catalog scoring file(s).")],
    output: OutOption,
    vcf: Annotated[
        list[Path], typer.Option("--genotypes", "--vcf", help=f"{GENOTYPES_HELP} Repeatable.")
    ],
    keep_ambiguous: KeepAmbiguousOption = False,
    keep_multiallelic: KeepMultiallelicOption = False,
    min_overlap: MinOverlapOption = 0.75,
    missing: MissingOption = MissingMode.auto,
    dosage_field: DosageFieldOption = DosageField.auto,
    samples_per_shard: Annotated[int, typer.Option("--samples-per-shard", min=1)] = 2000,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    resume: ResumeOption = False,
    quiet: QuietOption = False,
) -> None:
    """Polygenic scores for every sample x scoring file: one row each, `prs`'s score fields."""
    from precisionrx.cohort.prs import prs_shards

    _check_inputs(vcf, "genotype")
    _check_inputs(scorefiles, "scoring")
    settings = {"keep_ambiguous": keep_ambiguous, "keep_multiallelic": keep_multiallelic,
                "min_overlap": min_overlap, "missing": missing.value,
                "dosage_field": dosage_field.value}  # fmt: skip
    _run("prs", lambda: prs_shards(vcf, scorefiles, settings, samples_per_shard),
         output, scheduler, workers, resume, quiet)  # fmt: skip


@cohort_app.command("risk")
def cohort_risk(
    table: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="The risk table (CSV/JSON).")],
    output: OutOption,
    models: ModelsOption = "prevent",
    block_mb: Annotated[
        int, typer.Option("--block-mb", min=1, max=4096, help="Megabytes of the table per shard.")
    ] = 8,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    resume: ResumeOption = False,
    quiet: QuietOption = False,
) -> None:
    """Risk equations per person x model x horizon x outcome, the rows of `risk --format csv`,
    over a table read in blocks (larger than memory is fine)."""
    from precisionrx.cohort.risk import risk_shards

    _check_inputs([table], "risk input")
    wanted = [m for m in models.split(",") if m]
    _run("risk", lambda: risk_shards(table, wanted, block_mb * 1024 * 1024),
         output, scheduler, workers, resume, quiet)  # fmt: skip


@cohort_app.command("cgm")
def cohort_cgm(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="FOLDER|FILE...", help="CGM exports, or folders of them."),
    ],
    output: OutOption,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Time zone of exports without one (IANA name).")
    ] = None,
    population: PopulationOption = "adult",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    resume: ResumeOption = False,
    quiet: QuietOption = False,
) -> None:
    """CGM metrics per subject (the columns of `monitor metrics --format csv`, plus `file`)."""
    from precisionrx.cohort.cgm import cgm_files, cgm_shards
    from precisionrx.errors import InputError

    files = cgm_files(inputs)
    if not files:
        raise InputError("no CGM export found (.csv, .tsv, .txt or .json)",
                         path=inputs[0] if inputs else None)  # fmt: skip
    _check_inputs(files, "CGM export")
    _run("cgm", lambda: cgm_shards(files, tz, population), output, scheduler, workers, resume,
         quiet)  # fmt: skip


class EquityFormat(StrEnum):
    json = "json"
    html = "html"


@cohort_app.command("equity")
def cohort_equity(
    results: Annotated[
        Path, typer.Argument(metavar="RESULTS.parquet", help="A finished cohort run's output.")
    ],
    group: Annotated[
        list[str],
        typer.Option(
            "--group", metavar="COL", help="Grouping column (repeatable), e.g. super_pop."
        ),
    ],
    groups: Annotated[
        Path | None,
        typer.Option(
            "--groups",
            metavar="FILE",
            help="Sample -> group columns (CSV, TSV or the "
            "1000 Genomes panel file), joined on sample (pgx, prs) or id (risk, cgm).",
        ),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            metavar="COL",
            help="Risk runs: observed 0/1 outcome column "
            "(results or groups file): calibration and the fairness audit per group.",
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            help="Risk at or above which a person is treated, for the "
            "fairness audit's error rates (default 7.5 %, the ACC/AHA statin "
            "threshold).",
            callback=number(low=0, high=1, low_open=True),
        ),
    ] = 0.075,
    fmt: Annotated[
        EquityFormat,
        typer.Option(
            "--format", parser=enum_parser(EquityFormat), metavar=enum_metavar(EquityFormat)
        ),
    ] = EquityFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Who the run serves well: results by group with 95 % Wilson intervals, the share not
    called, PRS transfer, risk calibration, and the largest gaps in plain words."""
    from precisionrx.cli import emit
    from precisionrx.cohort.equity import equity, read_groups
    from precisionrx.cohort.runner import read_results
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs
    from precisionrx.report.writers import json_text

    check_outputs([output], [groups])
    if outcome is not None and not outcome.strip():
        raise typer.BadParameter("an empty column name", param_hint="--outcome")
    manifest, frame = read_results(results)
    kind = str(manifest.get("identity", {}).get("task", ""))
    key = "sample" if kind in ("pgx", "prs") else "id"
    table = read_groups(groups, key) if groups is not None else None
    kb = KnowledgeBase()
    doc = equity(kind, frame, group, table, kb, outcome=outcome, threshold=threshold)
    if fmt is EquityFormat.json:
        text = json_text(doc)
    else:
        from precisionrx.report.html import page

        text = page("equity.html.j2", {"doc": json.loads(json_text(doc)),
                                       "versions": _versions(kb)})  # fmt: skip
    emit(text, output, f"{kind} results by {', '.join(group)}")


def _versions(kb: Any) -> str:
    from precisionrx.cohort.runner import kb_versions

    tool, *sources = kb_versions(kb)
    return f"{tool}; " + ", ".join(sources)
