"""Ambulatory Glucose Profile data: statistics, five-band time in ranges, modal day, daily traces.

Modal day: readings binned by local time of day in 15-minute bins (96 per day); in each bin the
5th, 25th, 50th, 75th and 95th percentiles (R type 7) of all readings from all days, as on the
standard AGP (IDC, Bergenstal 2013). Five bands: < 54, 54-69, 70-180, 181-250, > 250 mg/dL
(percent of readings). Daily profiles: each local calendar day's readings.
"""

from __future__ import annotations

import polars as pl

from precisionrx.engines.monitoring.cgm_metrics import summary_metrics
from precisionrx.engines.monitoring.grid import grid_clock, median_interval, reading_stats
from precisionrx.records.monitoring import (
    AgpBands,
    AgpData,
    AgpStats,
    DailyProfile,
    ModalDayBin,
)  # fmt: skip

PERCENTILES = (5, 25, 50, 75, 95)
BIN_MINUTES = 15
#: daily profiles break their line where readings are further apart than this (the alert
#: engine's sensor-gap limit)
GAP_MINUTES = 20


def agp_data(frame: pl.DataFrame, subject: str) -> AgpData:
    """Everything the AGP page shows for one subject (``id, time_utc, local, gl``)."""
    sub = frame.filter(pl.col("id") == subject).sort("time_utc")
    stats = summary_metrics(sub).row(0, named=True)
    local = sub["local"].to_numpy()
    clock = grid_clock(sub["time_utc"].to_numpy(), local)
    span = reading_stats(local, sub["gl"].to_numpy(), median_interval(clock), clock)
    stats.update(days=span["days"], active_percent=span["active_percent"])
    minute = pl.col("local").dt.hour().cast(pl.Int32) * 60 + pl.col("local").dt.minute()
    binned = (
        sub.with_columns((minute // BIN_MINUTES).alias("bin"))
        .group_by("bin")
        .agg(
            [
                pl.col("gl").quantile(p / 100, interpolation="linear").alias(f"p{p}")
                for p in PERCENTILES
            ]
        )
        .sort("bin")
    )
    days = (
        sub.with_columns(pl.col("local").dt.date().alias("date"), minute.alias("minute"))
        .group_by("date", maintain_order=True)
        .agg(pl.col("minute"), pl.col("gl"))
        .sort("date")
    )
    bands = AgpBands(
        very_low=stats["below_54"],
        low=stats["below_70"] - stats["below_54"],
        in_range=stats["in_range_70_180"],
        high=stats["above_180"] - stats["above_250"],
        very_high=stats["above_250"],
    )
    first, last = sub["local"].min(), sub["local"].max()
    return AgpData(
        subject=subject,
        first=str(first),
        last=str(last),
        stats=AgpStats(**stats),
        bands=bands,
        modal_day=[
            ModalDayBin(
                minute=int(r["bin"]) * BIN_MINUTES, **{f"p{p}": r[f"p{p}"] for p in PERCENTILES}
            )
            for r in binned.iter_rows(named=True)
        ],
        daily=[
            DailyProfile(date=str(r["date"]), points=list(zip(r["minute"], r["gl"], strict=True)))
            for r in days.iter_rows(named=True)
        ],
    )


def with_svg(data: AgpData, daily: bool = True) -> AgpData:
    """``data`` with its modal-day SVG and (``daily``) each day's SVG; without the daily
    profiles when not ``daily`` (the plan shows the modal day only)."""
    days = [d.model_copy(update={"svg": daily_svg(d)}) for d in data.daily] if daily else []
    return data.model_copy(update={"profile_svg": agp_svg(data), "daily": days})


def _y(value: float, top: float, height: float, vmax: float = 400.0) -> float:
    return round(top + height * (1 - min(value, vmax) / vmax), 1)


def agp_svg(data: AgpData, width: int = 720, height: int = 260) -> str:
    """The modal-day percentile plot as an SVG string (no external libraries)."""
    left, top, plot_w, plot_h = 40, 10, width - 50, height - 40

    def x(minute: float) -> float:
        return round(left + plot_w * minute / 1440, 1)

    rows = [b.model_dump() for b in data.modal_day]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'role="img" aria-label="Ambulatory glucose profile">']  # fmt: skip
    ry1, ry2 = _y(180, top, plot_h), _y(70, top, plot_h)
    parts.append(f'<rect x="{left}" y="{ry1}" width="{plot_w}" height="{ry2 - ry1}" '
                 'fill="#e3f1e3"/>')  # fmt: skip
    parts.extend(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{_y(v, top, plot_h)}" '
        f'y2="{_y(v, top, plot_h)}" stroke="#999" stroke-dasharray="3,3"/>'
        f'<text x="2" y="{_y(v, top, plot_h) + 4}" font-size="10">{v}</text>'
        for v in (54, 70, 180, 250)
    )
    if rows:

        def band(lo: str, hi: str, colour: str) -> str:
            upper = " ".join(f"{x(r['minute'])},{_y(r[hi], top, plot_h)}" for r in rows)
            lower = " ".join(f"{x(r['minute'])},{_y(r[lo], top, plot_h)}" for r in reversed(rows))
            return f'<polygon points="{upper} {lower}" fill="{colour}" stroke="none"/>'

        parts.append(band("p5", "p95", "#c9d8ee"))
        parts.append(band("p25", "p75", "#7fa6d8"))
        median = " ".join(f"{x(r['minute'])},{_y(r['p50'], top, plot_h)}" for r in rows)
        parts.append(f'<polyline points="{median}" fill="none" stroke="#123f7a" stroke-width="2"/>')
    parts.extend(
        f'<text x="{x(hour * 60) - 8}" y="{height - 12}" font-size="10">{hour % 24:02d}:00</text>'
        for hour in range(0, 25, 3)
    )
    parts.append("</svg>")
    return "".join(parts)


def split_at_gaps(
    points: list[tuple[int, float]], gap_minutes: int = GAP_MINUTES
) -> list[list[tuple[int, float]]]:
    """The day's (minute, glucose) points in pieces, cut where readings are more than
    ``gap_minutes`` apart or the minute of the day goes back (clocks going back repeat an
    hour), so a profile never draws a line across missing data or backwards."""
    pieces: list[list[tuple[int, float]]] = []
    for point in points:
        # a new piece after a gap, or when the clock went back (the repeated autumn hour)
        if not pieces or not 0 <= point[0] - pieces[-1][-1][0] <= gap_minutes:
            pieces.append([])
        pieces[-1].append(point)
    return pieces


def daily_svg(day: DailyProfile, width: int = 170, height: int = 70) -> str:
    lines = "".join(
        '<polyline points="'
        + " ".join(f"{round(width * m / 1440, 1)},{_y(g, 2, height - 4)}" for m, g in piece)
        + '" fill="none" stroke="#123f7a" stroke-width="1"/>'
        for piece in split_at_gaps(day.points)
    )
    y1, y2 = _y(180, 2, height - 4), _y(70, 2, height - 4)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="glucose on {day.date}"><rect x="0" y="{y1}" width="{width}" '
        f'height="{y2 - y1}" fill="#e3f1e3"/>{lines}</svg>'
    )
