"""Monitoring section of the plan: the last 14 days of CGM, the change from the 14 days before,
consensus targets, the AGP, and findings for changes that matter.

Findings (each with the numbers behind it): time in range 70-180 down by >= 5 percentage points
(a 5-point change is clinically meaningful, Battelino 2019); readings < 70 mg/dL between 00:00 and
06:00 local time in the last 14 days when there were none before ("nocturnal lows appeared");
any consensus target not met in the last 14 days. ``gmi_for_risk``: the last 14 days' GMI when
those days meet the consensus data sufficiency (>= 14 days, >= 70 % active), for the cardiovascular
equations to use only when the record has no laboratory HbA1c (the cardio section says so: the
two can differ by more than 0.5 %-points).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from precisionrx.engines.monitoring.agp import agp_data, agp_svg
from precisionrx.engines.monitoring.consensus import assess, load_targets, sufficiency
from precisionrx.engines.monitoring.metrics_table import metrics_table
from precisionrx.io.cgm import read_cgm
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Finding, PatientRecord

PERIOD_DAYS = 14
TIR_DROP = 5.0


def _period(frame: pl.DataFrame) -> dict[str, Any] | None:
    if frame.height == 0:
        return None
    row = metrics_table(frame).row(0, named=True)
    night = frame.filter((pl.col("local").dt.hour() < 6) & (pl.col("gl") < 70))
    row["nocturnal_lows"] = night.height
    row["first"], row["last"] = str(row["first"]), str(row["last"])
    return row


def monitoring_section(
    kb: KnowledgeBase, record: PatientRecord
) -> tuple[dict[str, Any] | None, list[Finding]]:
    streams = [m for m in record.monitoring if m.kind.lower() in ("cgm", "glucose")]
    if not streams:
        return None, []
    stream = streams[0]
    data = read_cgm(stream.path, stream.timezone)
    frame = data.frame.with_columns(pl.lit(record.id).alias("id"))
    end = frame["time_utc"].max()
    assert isinstance(end, datetime)
    cut = end - timedelta(days=PERIOD_DAYS)
    current = _period(frame.filter(pl.col("time_utc") > cut))
    previous = _period(
        frame.filter(
            (pl.col("time_utc") <= cut) & (pl.col("time_utc") > cut - timedelta(days=PERIOD_DAYS))
        )
    )
    assert current is not None
    consensus = assess(current, load_targets(kb.root / "monitoring"), "adult")
    findings: list[Finding] = []
    changes: dict[str, float | None] = {}
    if previous is not None:
        keys = ("in_range_70_180", "below_70", "below_54", "mean", "gmi", "cv")
        changes = {
            k: None if current[k] is None or previous[k] is None else current[k] - previous[k]
            for k in keys
        }
        if changes["in_range_70_180"] is not None and changes["in_range_70_180"] <= -TIR_DROP:
            findings.append(Finding(
                domain="monitoring",
                title=f"Time in range fell {-changes['in_range_70_180']:.0f} points",
                detail=f"70-180 mg/dL: {previous['in_range_70_180']:.0f} % -> "
                f"{current['in_range_70_180']:.0f} % (last 14 days vs the 14 days before)",
                severity="actionable", source=stream.path,
            ))  # fmt: skip
        if current["nocturnal_lows"] and not previous["nocturnal_lows"]:
            findings.append(Finding(
                domain="monitoring", title="Nocturnal lows appeared",
                detail=f"{current['nocturnal_lows']} readings < 70 mg/dL between 00:00 and 06:00 "
                "in the last 14 days; none in the 14 days before",
                severity="actionable", source=stream.path,
            ))  # fmt: skip
    missed = [c for c in consensus["checks"] if c["met"] is False]
    caveats = list(data.caveats)
    if not consensus.get("sufficient_data"):
        caveats.append(sufficiency(current)[1])
    if missed:
        short = "" if consensus.get("sufficient_data") else " (insufficient data: see caveats)"
        findings.append(Finding(
            domain="monitoring", title="CGM targets not met",
            detail="; ".join(f"{c['metric']} {c['value']:.1f} (target {c['target']})"
                             for c in missed) + short,
            severity="info", source="Battelino 2019 consensus targets",
        ))  # fmt: skip
    agp = agp_data(frame.filter(pl.col("time_utc") > cut), record.id)
    agp["profile_svg"] = agp_svg(agp)
    agp["daily"] = []  # the plan shows the modal day only
    return {
        "source": stream.path,
        "timezone": data.tz,
        "period_days": PERIOD_DAYS,
        "current": current,
        "previous": previous,
        "changes": changes,
        "consensus": consensus,
        "agp": agp,
        "gmi_for_risk": current["gmi"] if consensus.get("sufficient_data") else None,
        "gmi_note": "GMI estimates HbA1c from CGM; the risk equations use it only when no "
        "laboratory HbA1c is recorded, and say so",
        "caveats": caveats,
    }, findings
