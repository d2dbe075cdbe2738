"""The plan's CGM review: the last 14 days against the 14 days before, and the findings.

Findings (each with the numbers behind it): time in range 70-180 down by >= 5 percentage points
(a 5-point change is clinically meaningful, Battelino 2019); nocturnal hypoglycaemia counted as
episodes, not readings — level 1 episodes (>= 15 consecutive minutes < 70 mg/dL, ended by >= 15
minutes >= 70; Battelino 2023, episodes.py) starting between 00:00 and 06:00 local time — in the
last 14 days when there were none before ("nocturnal hypoglycaemia appeared"); any consensus
target not met in the last 14 days, for the population the caller chose (older adults: the
consensus' older/high-risk targets). ``gmi_for_risk``: the last 14 days' GMI when
those days meet the consensus data sufficiency (>= 14 days, >= 70 % active), for the cardiovascular
equations to use only when the record has no laboratory HbA1c (the cardio section says so: the
two can differ by more than 0.5 %-points).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from precisionrx.engines.monitoring.episodes import episode_spans
from precisionrx.engines.monitoring.grid import day_grid, grid_clock
from precisionrx.engines.monitoring.metrics_table import metrics_table
from precisionrx.errors import InputError
from precisionrx.records.evidence import Finding
from precisionrx.records.monitoring import ConsensusAssessment, PeriodMetrics

#: Countries whose clinics report glucose in mmol/L first (a display convention only: both units
#: are always shown, the other beside).
MMOL_COUNTRIES = frozenset({"GB", "UK", "IE", "CA", "AU", "NZ", "UNITED KINGDOM", "IRELAND",
                            "CANADA", "AUSTRALIA", "NEW ZEALAND"})  # fmt: skip
#: mg/dL per mmol/L of glucose (molar mass 180.156 g/mol; as the CGM readers convert).
MGDL_PER_MMOL = 18.01559


def glucose_units(country: str | None) -> str:
    """``mmol/L`` for a country that reports glucose in mmol/L, else ``mg/dL``."""
    return "mmol/L" if (country or "").strip().upper() in MMOL_COUNTRIES else "mg/dL"


def glucose(mgdl: float, units: str = "mg/dL", sign: str = "") -> str:
    """A glucose value in the patient's units with the other beside:
    ``< 3.9 mmol/L (< 70 mg/dL)``.

    >>> glucose(70, "mmol/L", "< "), glucose(180)
    ('< 3.9 mmol/L (< 70 mg/dL)', '180 mg/dL (10.0 mmol/L)')
    """
    mmol = f"{sign}{mgdl / MGDL_PER_MMOL:.1f} mmol/L"
    mg = f"{sign}{mgdl:g} mg/dL"
    return f"{mmol} ({mg})" if units == "mmol/L" else f"{mg} ({mmol})"


PERIOD_DAYS = 14
TIR_DROP = 5.0
#: The metrics compared between the two periods.
CHANGE_KEYS = ("in_range_70_180", "below_70", "below_54", "mean", "gmi", "cv")
#: Nocturnal lows: readings below this, before this local hour.
NIGHT_LOW, NIGHT_END_HOUR = 70, 6


def split_periods(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The readings of the last ``PERIOD_DAYS`` days (up to the last reading) and of the
    ``PERIOD_DAYS`` days before them."""
    end = frame["time_utc"].max()
    if not isinstance(end, datetime):
        raise InputError("no CGM readings to review")
    cut = end - timedelta(days=PERIOD_DAYS)
    t = pl.col("time_utc")
    return (
        frame.filter(t > cut),
        frame.filter((t <= cut) & (t > cut - timedelta(days=PERIOD_DAYS))),
    )


def nocturnal_episodes(frame: pl.DataFrame) -> int:
    """Level 1 hypoglycaemic episodes of one subject's readings that start between 00:00 and
    ``NIGHT_END_HOUR`` local time (on the metrics' day grid, which starts at local midnight)."""
    frame = frame.sort("time_utc")
    utc = frame["time_utc"].to_numpy()  # as metrics_table.py reads them
    local = frame["local"].to_numpy()
    grid = day_grid(grid_clock(utc, local), frame["gl"].to_numpy())
    per_day = grid.values.shape[1]
    night = NIGHT_END_HOUR * 60 / grid.dt0
    return sum(1 for start, _ in episode_spans(grid)["hypo_level1"] if start % per_day < night)


def period_metrics(frame: pl.DataFrame) -> PeriodMetrics | None:
    """Every CGM metric of one period (one subject) and its nocturnal lows; None when empty."""
    if frame.height == 0:
        return None
    row = metrics_table(frame).row(0, named=True)
    night = frame.filter((pl.col("local").dt.hour() < NIGHT_END_HOUR) & (pl.col("gl") < NIGHT_LOW))
    row["nocturnal_lows"] = night.height
    row["nocturnal_hypo_episodes"] = nocturnal_episodes(frame) if night.height else 0
    row["first"], row["last"] = str(row["first"]), str(row["last"])
    return PeriodMetrics(**row)


def changes(current: PeriodMetrics, previous: PeriodMetrics | None) -> dict[str, float | None]:
    """Last period minus the one before, for :data:`CHANGE_KEYS` (empty without a previous)."""
    if previous is None:
        return {}
    out: dict[str, float | None] = {}
    for key in CHANGE_KEYS:
        now, before = getattr(current, key), getattr(previous, key)
        out[key] = None if now is None or before is None else now - before
    return out


def cgm_findings(
    current: PeriodMetrics,
    previous: PeriodMetrics | None,
    change: dict[str, float | None],
    consensus: ConsensusAssessment,
    source: str,
    units: str = "mg/dL",
) -> list[Finding]:
    """Time in range down by >= ``TIR_DROP`` points, nocturnal lows that appeared, and the
    consensus targets not met."""
    findings: list[Finding] = []
    if previous is not None:
        drop = change.get("in_range_70_180")
        if drop is not None and drop <= -TIR_DROP:
            findings.append(Finding(
                domain="monitoring",
                title=f"Time in range fell {-drop:.0f} points",
                detail=f"{glucose(70, units)} to {glucose(180, units)}: "
                f"{previous.in_range_70_180:.0f} % -> "
                f"{current.in_range_70_180:.0f} % (last 14 days vs the 14 days before)",
                severity="actionable", source=source,
            ))  # fmt: skip
        now, before = current.nocturnal_hypo_episodes, previous.nocturnal_hypo_episodes
        if now and not before:
            findings.append(Finding(
                domain="monitoring", title="Nocturnal hypoglycaemia appeared",
                detail=f"{now} episode{'s' if now > 1 else ''} of >= 15 min "
                f"{glucose(70, units, '< ')} "
                f"starting between 00:00 and 06:00 in the last 14 days "
                f"({current.nocturnal_lows} readings); none in the 14 days before "
                "(episode definition: Battelino 2023)",
                severity="actionable", source=source,
            ))  # fmt: skip
    missed = [c for c in consensus.checks if c.met is False]
    if missed:
        short = "" if consensus.sufficient_data else " (insufficient data: see caveats)"
        findings.append(Finding(
            domain="monitoring", title="CGM targets not met",
            detail="; ".join(f"{c.metric} {c.value:.1f} (target {c.target})"
                             for c in missed) + short,
            severity="info", source="Battelino 2019 consensus targets",
        ))  # fmt: skip
    return findings
