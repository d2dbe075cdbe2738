"""``precisionrx monitor``: continuous-monitoring metrics (CGM) from device exports."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import choice, enum_metavar, enum_parser, number

monitor_app = typer.Typer(
    help="Continuous monitoring: CGM metrics, the AGP page, CGM alert replay and wearable vitals.",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")


def load_cgm(files: list[Path], tz: str | None) -> tuple[Any, list[str]]:
    """All files as one table, and their caveats prefixed with the file name."""
    import polars as pl

    from precisionrx.io.cgm import read_cgm

    frames, caveats = [], []
    for path in files:
        data = read_cgm(path, tz)
        frames.append(data.frame)
        caveats += [f"{path.name}: {c}" for c in data.caveats]
    return pl.concat(frames), caveats


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


def consensus_targets(population: str) -> list[dict[str, str]]:
    """The packaged consensus-target rows, after checking the population name (exit 2)."""
    from precisionrx.engines.monitoring.consensus import POPULATIONS, load_targets
    from precisionrx.errors import InputError
    from precisionrx.kb.registry import KnowledgeBase

    if population not in POPULATIONS:
        raise InputError(f"--population must be one of {', '.join(POPULATIONS)}")
    return load_targets(KnowledgeBase().root / "monitoring")


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
    import polars as pl

    from precisionrx.engines.monitoring.consensus import assess
    from precisionrx.engines.monitoring.metrics_table import MetricOptions, metrics_table
    from precisionrx.errors import InputError
    from precisionrx.report.output import check_outputs

    check_outputs([output], files)
    targets = consensus_targets(population)
    try:
        options = MetricOptions(conga_hours, modd_lag, roc_minutes, mage_short, mage_long)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    frame, caveats = load_cgm(files, tz)
    from rich.progress import Progress

    # a progress bar on stderr when the result goes to a file and there is real work
    show = output is not None and frame.height >= PROGRESS_READINGS
    with Progress(transient=True, disable=not show) as bar:
        task = bar.add_task("CGM metrics", total=frame["id"].n_unique())
        computed = metrics_table(frame, options, progress=lambda: bar.advance(task))
    table = computed.with_columns(
        pl.col("first").dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
        pl.col("last").dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
    )
    subjects = table.to_dicts()
    for row in subjects:
        row["consensus"] = assess(row, targets, population)
    table = table.with_columns(
        pl.Series("sufficient_data", [r["consensus"]["sufficient_data"] for r in subjects]),
        pl.Series("consensus_met", [r["consensus"]["all_met"] for r in subjects]),
    )
    if fmt is MetricsFormat.csv:
        text = table.write_csv()
    elif fmt is MetricsFormat.fhir:
        from precisionrx.report.cgm_fhir import render_cgm_bundle

        text = render_cgm_bundle(subjects)
    else:
        text = json.dumps({"subjects": subjects, "caveats": caveats}, indent=1) + "\n"
    for c in caveats:
        typer.echo(f"note: {c}", err=True)
    emit(text, output, f"{table.height} subjects")


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
    from precisionrx.engines.monitoring.alerts import AlertConfig, Reading, alerts_csv, replay
    from precisionrx.engines.monitoring.consensus import alert_thresholds
    from precisionrx.errors import InputError
    from precisionrx.report.output import check_outputs, json_lines

    check_outputs([output], files)
    target_low, target_high = alert_thresholds(consensus_targets(population), population)
    try:
        config = AlertConfig(
            urgent_low=urgent_low,
            low=target_low if low is None else low,
            high=target_high if high is None else high,
            rate=rate,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    frame, _ = load_cgm(files, tz)
    readings = [
        Reading(str(s), t, float(v))
        for s, t, v in zip(frame["id"], frame["time_utc"], frame["gl"], strict=True)
    ]
    raised = replay(readings, config)
    if fmt is AlertsFormat.csv:
        text = alerts_csv(raised)
    else:
        text = json_lines({"alerts": [a.as_dict() for a in raised]})
    emit(text, output, f"{len(raised)} alerts")


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

    from precisionrx.engines.monitoring.agp import agp_data
    from precisionrx.report.output import check_outputs
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    check_outputs([output], files)
    frame, caveats = load_cgm(files, tz)
    agps = [agp_data(frame, s) for s in frame["id"].unique(maintain_order=True).to_list()]
    if output.suffix.lower() == ".png":
        _write_agp_png(agps, caveats, output, DECISION_SUPPORT, files)
    else:
        _write_agp_html(agps, caveats, output, DECISION_SUPPORT)


def _write_agp_html(
    agps: list[dict[str, Any]], caveats: list[str], output: Path, notice: str
) -> None:
    from precisionrx.engines.monitoring.agp import agp_svg, daily_svg
    from precisionrx.report.html import _load, render
    from precisionrx.report.output import write_atomic

    for a in agps:
        a["profile_svg"] = agp_svg(a)
        for d in a["daily"]:
            d["svg"] = daily_svg(d)
    html = render(
        "agp.html.j2",
        {"agps": agps, "caveats": caveats, "notice": notice, "css": _load("base.css")},
    )
    write_atomic(output, html)
    typer.echo(f"wrote {output} ({len(agps)} subjects)", err=True)


def _write_agp_png(
    agps: list[dict[str, Any]],
    caveats: list[str],
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
    from precisionrx.engines.monitoring.vitals import activity, home_bp, hrv_time_domain, sleep
    from precisionrx.io.vitals_inputs import read_vitals
    from precisionrx.report.output import check_outputs

    check_outputs([output], [export])
    h = read_vitals(export)
    doc: dict[str, Any] = {"source": str(export), "records_skipped": h.skipped}
    if h.caveats:  # implausible readings the reader dropped, named by file and record
        doc["caveats"] = list(h.caveats)
    if h.resting_hr:
        by_day: dict[Any, list[float]] = {}
        for t, v in h.resting_hr:
            by_day.setdefault(t.date(), []).append(v)
        daily = [sum(v) / len(v) for v in by_day.values()]
        doc["resting_heart_rate"] = {"mean_bpm": sum(daily) / len(daily), "days": len(daily)}
    if h.hrv_sdnn:
        doc["hrv"] = {
            "sdnn_ms_mean": sum(v for _, v in h.hrv_sdnn) / len(h.hrv_sdnn),
            "n": len(h.hrv_sdnn),
            "note": "Apple Watch SDNN over about one-minute windows, not 24-hour SDNN",
        }
    if h.rr_ms:
        import numpy as np

        doc["hrv_nn"] = hrv_time_domain(np.array(h.rr_ms))
    if h.heart_rate:
        doc["heart_rate"] = {
            "mean_bpm": sum(v for _, v in h.heart_rate) / len(h.heart_rate),
            "n": len(h.heart_rate),
        }
    if h.blood_pressure:
        doc["home_blood_pressure"] = home_bp(h.blood_pressure)
    if h.steps:
        span = (max(e for _, e, _ in h.steps) - min(s for s, _, _ in h.steps)).total_seconds()
        cadence = [c / max((e - s).total_seconds() / 60, 1) for s, e, c in h.steps]
        minutes = []
        for (s, e, _), rate in zip(h.steps, cadence, strict=True):
            minutes += [rate] * max(round((e - s).total_seconds() / 60), 1)
        import numpy as np

        doc["activity"] = activity(np.array(minutes), max(span / 86400, 1))
    if h.sleep:
        asleep = sum((e - s).total_seconds() / 60 for s, e, v in h.sleep if "Asleep" in v)
        in_bed = sum((e - s).total_seconds() / 60 for s, e, v in h.sleep if "InBed" in v)
        nights = len({s.date() for s, _, v in h.sleep if "InBed" in v or "Asleep" in v})
        doc["sleep"] = sleep(asleep, in_bed or asleep, nights)
    doc["glucose_readings"] = len(h.glucose)
    text = json.dumps(doc, indent=1, default=str) + "\n"
    emit(text, output)
