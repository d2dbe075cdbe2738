"""``precisionrx monitor``: continuous-monitoring metrics (CGM) from device exports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import choice, enum_metavar, enum_parser, number

if TYPE_CHECKING:
    import polars as pl

    from precisionrx.engines.monitoring.metrics_table import Job, Mapper
    from precisionrx.records.evidence import Provenance
    from precisionrx.records.monitoring import CgmReadings

monitor_app = typer.Typer(
    help="Continuous monitoring: CGM metrics, the AGP page, CGM alert replay and wearable vitals.",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")


def load_cgm(files: list[Path], tz: str | None, notes: bool = False) -> CgmReadings:
    """All files as one table (caveats naming their file); with ``notes`` each file's caveats
    are said on standard error as ``note:`` lines."""
    from precisionrx.io.apple_health import caveat_text
    from precisionrx.io.cgm import combine, read_cgm

    parts = [(path.name, read_cgm(path, tz)) for path in files]
    for name, part in parts if notes else []:
        for c in part.caveats:
            typer.echo(f"note: {name}: {caveat_text(c)}", err=True)
    return combine(parts)


#: From this many readings the subjects go to worker processes (the per-subject work is partly
#: Python, so threads would share one core); below it the start-up would cost more than it saves.
PROCESS_READINGS = 2_000_000


@contextmanager
def subject_mapper(frame: pl.DataFrame, workers: int | None = None) -> Iterator[Mapper | None]:
    """How ``monitor metrics`` runs the per-subject jobs: on ``workers`` processes (default the
    machine's cores) for inputs of ``PROCESS_READINGS`` or more with several subjects, else
    None (the engine's ``map`` in this process)."""
    workers = workers or os.cpu_count() or 1
    if frame.height < PROCESS_READINGS or workers < 2 or frame["id"].n_unique() < 2:
        yield None
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # spawn, not fork: the parent runs polars' thread pool, which must not be forked
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:

        def mapper(fn: Callable[[Job], dict[str, Any]], jobs: Iterable[Job]) -> Iterator[Any]:
            return pool.map(fn, jobs, chunksize=4)

        yield mapper


def populations() -> list[str]:
    from precisionrx.engines.monitoring.consensus import POPULATIONS

    return list(POPULATIONS)


def time_zones() -> dict[str, str]:
    """IANA zone names known to this system (empty when it has no zone database)."""
    import zoneinfo

    try:
        zones = zoneinfo.available_timezones()
    except (OSError, ValueError):  # pragma: no cover - a broken zone database
        zones = set()
    return {z: z for z in sorted(zones | {"UTC"})} if zones else {}


def _check_tz(value: str | None) -> str | None:
    """``--tz``: an IANA zone name (exact case, as the zone database spells it)."""
    if value is None:
        return None
    zones = time_zones()
    if not zones or value in zones:
        return value
    from precisionrx.cli.options import pick

    return pick(value, zones, "an IANA time zone name")


#: ``--population`` of metrics and alerts: the consensus targets to assess (metrics) or to take
#: the low / high alert thresholds from (alerts).
PopulationOption = Annotated[
    str,
    typer.Option(
        "--population",
        help="Consensus targets: adult, older_high_risk, pregnancy (alerts: they set the low / "
        "high thresholds).",
        callback=choice(populations),
    ),
]
TzOption = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="IANA zone of times without an offset (e.g. Europe/London).",
        callback=_check_tz,
    ),
]
#: A glucose threshold in mg/dL: positive and below any CGM's reading range ceiling.
GLUCOSE_MAX = 1000.0


#: Inputs from this size on show a progress bar while the metrics are computed.
PROGRESS_READINGS = 1_000_000


class MetricsFormat(StrEnum):
    csv = "csv"
    json = "json"
    fhir = "fhir"


class AlertsFormat(StrEnum):
    json = "json"
    csv = "csv"


@monitor_app.command("metrics")
def metrics_command(
    files: Annotated[list[Path], typer.Argument(help="CGM exports (Dexcom Clarity, id,time,gl).")],
    tz: TzOption = None,
    fmt: Annotated[
        MetricsFormat,
        typer.Option(
            "--format", parser=enum_parser(MetricsFormat), metavar=enum_metavar(MetricsFormat)
        ),
    ] = MetricsFormat.csv,
    population: PopulationOption = "adult",
    conga_hours: Annotated[
        float,
        typer.Option(
            "--conga-hours",
            help="CONGA(n): hours apart (iglu default 24; > 0).",
            callback=number(low=0, low_open=True, unit="hours"),
        ),
    ] = 24.0,
    modd_lag: Annotated[
        int,
        typer.Option("--modd-lag", help="MODD lag in days (>= 1).", callback=number(low=1)),
    ] = 1,
    roc_minutes: Annotated[
        float,
        typer.Option(
            "--roc-minutes",
            help="Time lag of the rate of change (SD of ROC; > 0).",
            callback=number(low=0, low_open=True, unit="minutes"),
        ),
    ] = 15.0,
    mage_short: Annotated[
        int,
        typer.Option(
            "--mage-short",
            help="MAGE short moving-average window (points; >= 1, below --mage-long).",
            callback=number(low=1),
        ),
    ] = 5,
    mage_long: Annotated[
        int,
        typer.Option(
            "--mage-long",
            help="MAGE long moving-average window (points; above --mage-short).",
            callback=number(low=2),
        ),
    ] = 32,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """CGM metrics per subject (iglu's names): CSV, JSON or a FHIR Bundle.

    One CSV row or JSON object per subject id, with the consensus-target assessment.
    """
    from rich.progress import Progress

    from precisionrx.engines.monitoring.api import cgm_metrics
    from precisionrx.engines.monitoring.metrics_table import MetricOptions
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs

    check_outputs([output], files)
    options = MetricOptions(
        conga_hours, modd_lag, roc_minutes, mage_short, mage_long, population=population
    )
    readings = load_cgm(files, tz, notes=True)
    frame = readings.frame
    # a progress bar on stderr when the result goes to a file and there is real work
    show = output is not None and frame.height >= PROGRESS_READINGS
    with Progress(transient=True, disable=not show) as bar, subject_mapper(frame) as mapper:
        task = bar.add_task("CGM metrics", total=frame["id"].n_unique())
        result = cgm_metrics(
            readings, KnowledgeBase(), options, mapper=mapper, progress=lambda: bar.advance(task)
        )
    if fmt is MetricsFormat.csv:
        from precisionrx.report.tables import metrics_csv

        text = metrics_csv(result)
    elif fmt is MetricsFormat.fhir:
        from precisionrx.report.fhir.cgm import cgm_bundle

        text = cgm_bundle(result.subjects, result.provenance)
    else:
        from precisionrx.report.writers import json_text

        text = json_text(result)
    emit(text, output, f"{len(result.subjects)} subjects")


@monitor_app.command("alerts")
def alerts_command(
    files: Annotated[list[Path], typer.Argument(help="CGM exports to replay.")],
    tz: TzOption = None,
    population: PopulationOption = "adult",
    low: Annotated[
        float | None,
        typer.Option(
            "--low",
            help="Low threshold, mg/dL (overrides the targets).",
            callback=number(low=0, high=GLUCOSE_MAX, low_open=True, unit="mg/dL"),
        ),
    ] = None,
    high: Annotated[
        float | None,
        typer.Option(
            "--high",
            help="High threshold, mg/dL (overrides the targets).",
            callback=number(low=0, high=GLUCOSE_MAX, low_open=True, unit="mg/dL"),
        ),
    ] = None,
    urgent_low: Annotated[
        float,
        typer.Option(
            "--urgent-low",
            help="Urgent low (>= 55 mg/dL; cannot be lowered).",
            callback=number(low=55, high=GLUCOSE_MAX, unit="mg/dL"),
        ),
    ] = 55.0,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            help="Rapid rise/fall, mg/dL/min (> 0).",
            callback=number(low=0, low_open=True, unit="mg/dL/min"),
        ),
    ] = 3.0,
    fmt: Annotated[
        AlertsFormat,
        typer.Option(
            "--format",
            help='json: {"alerts": [...]}; csv: one row per alert.',
            parser=enum_parser(AlertsFormat),
            metavar=enum_metavar(AlertsFormat),
        ),
    ] = AlertsFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Replay the CGM alert rules over recorded readings (JSON or CSV).

    JSON: {"alerts": [...]} in time order; CSV: one row per alert with the same fields.
    """
    from precisionrx.engines.monitoring.api import AlertSettings, alert_config, cgm_alerts
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs
    from precisionrx.report.tables import alerts_csv
    from precisionrx.report.writers import json_by_lines

    check_outputs([output], files)
    kb = KnowledgeBase()
    settings = AlertSettings(population, low, high, urgent_low, rate)
    alert_config(kb, settings)  # the thresholds are checked before any file is read
    result = cgm_alerts(load_cgm(files, tz), kb, settings)
    text = alerts_csv(result.alerts) if fmt is AlertsFormat.csv else json_by_lines(result)
    emit(text, output, f"{len(result.alerts)} alerts")


@monitor_app.command("agp")
def agp_command(
    files: Annotated[list[Path], typer.Argument(help="CGM exports.")],
    tz: TzOption = None,
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="agp.html (all subjects) or agp.png (one page per subject)."
        ),
    ] = Path("agp.html"),
) -> None:
    """The Ambulatory Glucose Profile page per subject (HTML or PNG).

    Statistics, time in ranges, the modal day and the daily profiles.
    """

    from precisionrx.engines.monitoring.agp import with_svg
    from precisionrx.engines.monitoring.api import cgm_agp
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs
    from precisionrx.report.pgx_json import DECISION_SUPPORT
    from precisionrx.report.writers import provenance_text

    check_outputs([output], files)
    result = cgm_agp(load_cgm(files, tz), KnowledgeBase())
    caveats = [c.model_dump(mode="json") for c in result.caveats]
    if output.suffix.lower() == ".png":
        agps = [a.model_dump(mode="json") for a in result.agps]
        notice = f"{DECISION_SUPPORT}\n{provenance_text(result.provenance)}"
        _write_agp_png(agps, caveats, output, notice, files)
    else:
        drawn = [with_svg(a).model_dump(mode="json") for a in result.agps]
        _write_agp_html(drawn, caveats, output, DECISION_SUPPORT, result.provenance)


def _write_agp_html(
    agps: list[dict[str, Any]],
    caveats: list[dict[str, Any]],
    output: Path,
    notice: str,
    provenance: Provenance | None = None,
) -> None:
    """The AGP page of every subject (their JSON form, drawings included) as one HTML file."""
    from precisionrx.report.html import page
    from precisionrx.report.output import write_atomic

    html = page("agp.html.j2", {"agps": agps, "caveats": caveats, "notice": notice}, provenance)
    write_atomic(output, html)
    typer.echo(f"wrote {output} ({len(agps)} subjects)", err=True)


def _write_agp_png(
    agps: list[dict[str, Any]],
    caveats: list[dict[str, Any]],
    output: Path,
    notice: str,
    inputs: list[Path] | None = None,
) -> None:
    """One page per subject: OUTPUT itself for one subject, OUTPUT-<subject>.png for several.
    Every page is drawn before any file is written, and the pages are written all or none.
    Subjects whose names give the same file name get -2, -3 ... after it."""
    import re

    from precisionrx.report.agp_png import agp_png
    from precisionrx.report.output import check_outputs, write_all_atomic

    pages: dict[Path, bytes] = {}
    for a in agps:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(a["subject"])).strip("_") or "subject"
        path = output if len(agps) == 1 else output.with_name(f"{output.stem}-{slug}.png")
        n = 1
        while path in pages:
            n += 1
            path = output.with_name(f"{output.stem}-{slug}-{n}.png")
        pages[path] = agp_png(a, notice, caveats)
    check_outputs(pages, inputs or [])
    write_all_atomic(pages)
    typer.echo(f"wrote {', '.join(str(p) for p in pages)}", err=True)


@monitor_app.command("vitals")
def vitals_command(
    export: Annotated[
        Path,
        typer.Argument(help="Apple Health export.xml, FHIR / Open mHealth JSON or rr_ms CSV."),
    ],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Wearable vitals (JSON): heart rate, HRV, BP, activity and sleep.

    From an Apple Health export, FHIR or Open mHealth JSON, or a CSV of NN intervals.
    """
    from precisionrx.engines.monitoring.api import summarise_vitals
    from precisionrx.io.vitals_inputs import read_vitals
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs

    check_outputs([output], [export])
    summary = summarise_vitals(read_vitals(export), KnowledgeBase())
    from precisionrx.report.writers import json_text

    text = json_text(summary)
    emit(text, output)
