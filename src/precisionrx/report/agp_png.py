"""The AGP page as a PNG (matplotlib, Agg canvas): the same content as the HTML page — the
statistics panel, the five-band time-in-ranges bar, the modal-day percentile plot and the daily
profiles — for systems that take an image (an EHR media attachment, a printout).

The figure is drawn with matplotlib's object-oriented API on its own Agg canvas
(``Figure`` + ``FigureCanvasAgg``), so the process's global backend is never changed.
matplotlib is imported inside ``agp_png`` only, so importing this module costs nothing."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from precisionrx.engines.monitoring.agp import split_at_gaps

BAND_COLOURS = {  # very low .. very high, as on the standard AGP colour scale
    "very_low": "#a3191d",
    "low": "#e8413b",
    "in_range": "#3aa655",
    "high": "#f6b93b",
    "very_high": "#e68a00",
}
BAND_LABELS = {
    "very_low": "Very low  < 54",
    "low": "Low  54-69",
    "in_range": "In range  70-180",
    "high": "High  181-250",
    "very_high": "Very high  > 250",
}


def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def agp_png(data: dict[str, Any], notice: str, caveats: Sequence[Any], dpi: int = 110) -> bytes:
    """One US-letter portrait AGP page for one subject (the JSON form of an ``AgpData``) as PNG
    bytes; ``caveats`` (Caveat models, their JSON form or text) are listed in the footer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from precisionrx.report.html import caveat_text

    fig = Figure(figsize=(8.5, 11), dpi=dpi)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(4, 2, height_ratios=[1.5, 2.6, 1.9, 0.5], hspace=0.4, wspace=0.25,
                            left=0.08, right=0.96, top=0.92, bottom=0.04)  # fmt: skip
    fig.suptitle(f"Ambulatory Glucose Profile — {data['subject']}", fontsize=14, weight="bold",
                 y=0.975)  # fmt: skip
    fig.text(0.5, 0.945, f"{data['first'][:16]} to {data['last'][:16]} (local time)",
             ha="center", fontsize=9)  # fmt: skip

    stats = data["stats"]
    panel = fig.add_subplot(grid[0, 0])
    panel.axis("off")
    lines = [
        (
            "Days of data / time CGM active",
            f"{_fmt(stats.get('days'), 1)} / {_fmt(stats.get('active_percent'), 1, ' %')}",
        ),
        ("Readings", f"{stats['n_readings']}"),
        ("Mean glucose", _fmt(stats["mean"], 0, " mg/dL")),
        ("GMI", f"{_fmt(stats['gmi'], 1, ' %')} ({_fmt(stats['gmi_mmol_mol'], 0)} mmol/mol)"),
        ("Glucose variability (CV)", f"{_fmt(stats['cv'], 1, ' %')}  (target ≤ 36 %)"),
    ]
    panel.set_title("Glucose statistics", loc="left", fontsize=10, weight="bold")
    for i, (label, value) in enumerate(lines):
        panel.text(0.0, 0.85 - i * 0.19, label, fontsize=9, transform=panel.transAxes)
        panel.text(1.0, 0.85 - i * 0.19, value, fontsize=9, ha="right", transform=panel.transAxes)

    bar = fig.add_subplot(grid[0, 1])
    bar.set_title("Time in ranges (% of readings)", loc="left", fontsize=10, weight="bold")
    bottom = 0.0
    for i, key in enumerate(("very_low", "low", "in_range", "high", "very_high")):
        share = float(data["bands"][key] or 0.0)
        bar.bar(0, share, bottom=bottom, width=0.5, color=BAND_COLOURS[key], edgecolor="white")
        label_y = 10 + i * 20  # labels evenly spaced, a leader line to their band
        bar.plot([0.27, 0.45], [bottom + share / 2, label_y], color="#777777", linewidth=0.5)
        bar.text(0.5, label_y, f"{BAND_LABELS[key]} mg/dL: {share:.1f} %", va="center",
                 fontsize=8)  # fmt: skip
        bottom += share
    bar.set_xlim(-0.35, 2.2)
    bar.set_ylim(0, max(bottom, 100.0))
    bar.axis("off")

    modal = fig.add_subplot(grid[1, :])
    rows = data["modal_day"]
    modal.set_title("Ambulatory glucose profile: median, 25-75 % and 5-95 % of readings by "
                    "time of day", loc="left", fontsize=10, weight="bold")  # fmt: skip
    modal.axhspan(70, 180, color="#e3f1e3", zorder=0)
    for level in (54, 70, 180, 250):
        modal.axhline(level, color="#999999", linestyle="--", linewidth=0.7)
    if rows:
        hours = [r["minute"] / 60 for r in rows]
        modal.fill_between(hours, [r["p5"] for r in rows], [r["p95"] for r in rows],
                           color="#c9d8ee", label="5-95 %")  # fmt: skip
        modal.fill_between(hours, [r["p25"] for r in rows], [r["p75"] for r in rows],
                           color="#7fa6d8", label="25-75 %")  # fmt: skip
        modal.plot(hours, [r["p50"] for r in rows], color="#123f7a", linewidth=2, label="median")
        modal.legend(loc="upper right", fontsize=8, frameon=False)
    modal.set_xlim(0, 24)
    modal.set_ylim(0, 400)
    modal.set_xticks(range(0, 25, 3), [f"{h % 24:02d}:00" for h in range(0, 25, 3)], fontsize=8)
    modal.set_ylabel("mg/dL", fontsize=9)
    modal.tick_params(axis="y", labelsize=8)

    days = data["daily"][-14:]  # the standard page shows the last two weeks
    strip = grid[2, :].subgridspec(2, 7, wspace=0.08, hspace=0.35)
    for i, day in enumerate(days):
        ax = fig.add_subplot(strip[i // 7, i % 7])
        ax.axhspan(70, 180, color="#e3f1e3")
        for piece in split_at_gaps(day["points"]):
            ax.plot([m / 60 for m, _ in piece], [g for _, g in piece], color="#123f7a",
                    linewidth=0.6)  # fmt: skip
        ax.set_xlim(0, 24)
        ax.set_ylim(0, 400)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(day["date"][5:], fontsize=6)
    if days:
        fig.text(0.08, grid[2, :].get_position(fig).y1 + 0.022,
                 "Daily glucose profiles (last 14 days)", fontsize=10, weight="bold")  # fmt: skip

    foot = fig.add_subplot(grid[3, :])
    foot.axis("off")
    shown = [caveat_text(c) for c in caveats[:4]]
    text = notice if not shown else notice + "\nCaveats: " + "; ".join(shown)
    foot.text(0.0, 1.0, text, fontsize=7, va="top", wrap=True, transform=foot.transAxes)

    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
