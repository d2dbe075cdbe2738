"""Hypo- and hyperglycaemic episodes (Battelino 2023 CGM trial-outcome definitions).

On the day-by-day grid (grid.py, dt0 minutes per point; missing points end an episode):
- ``hypo_level1``: < 70 mg/dL for >= 15 consecutive minutes; ``hypo_level2``: < 54 for >= 15 min;
  ``hypo_extended``: < 70 for more than 120 minutes;
- ``hyper_level1``: > 180 for >= 15 min; ``hyper_level2``: > 250 for >= 15 min;
  ``hyper_extended``: > 250 for >= 120 minutes (iglu's approximation of ">= 90 of 120 minutes").
An episode ends only after >= 15 consecutive minutes outside the condition (shorter returns are
merged into it). Reported per type: ``count``, ``per_day`` (count / days of grid data) and
``mean_duration`` (minutes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from precisionrx.engines.monitoring.grid import DayGrid

EPISODES = {
    "hypo_level1": ("<", 70.0, 15.0, False),
    "hypo_level2": ("<", 54.0, 15.0, False),
    "hypo_extended": ("<", 70.0, 120.0, True),
    "hyper_level1": (">", 180.0, 15.0, False),
    "hyper_level2": (">", 250.0, 15.0, False),
    "hyper_extended": (">", 250.0, 120.0, False),
}
END_MINUTES = 15.0


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end (exclusive) indexes of the True runs."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[::2], edges[1::2]


def episodes(grid: DayGrid) -> dict[str, dict[str, Any]]:
    values = grid.values.reshape(-1)
    present = ~np.isnan(values)
    missing_before = np.concatenate(([0], np.cumsum(~present)))  # missing points before index
    days = present.sum() * grid.dt0 / 1440.0
    end_points = round(END_MINUTES / grid.dt0)
    out: dict[str, dict[str, Any]] = {}
    for name, (op, threshold, min_minutes, strictly_longer) in EPISODES.items():
        with np.errstate(invalid="ignore"):
            inside = (values < threshold) if op == "<" else (values > threshold)
        inside &= present
        starts, ends = _runs(inside)
        durations: npt.NDArray[np.float64] = np.array([], dtype=np.float64)
        if len(starts):
            # A run continues the previous episode when the return out of range was shorter
            # than 15 minutes and had no missing data.
            gap = starts[1:] - ends[:-1]
            gap_missing = missing_before[starts[1:]] - missing_before[ends[:-1]]
            joins = (gap < end_points) & (gap_missing == 0)
            new_episode = np.concatenate(([True], ~joins))
            first = np.flatnonzero(new_episode)
            ep_start = starts[first]
            ep_end = ends[np.concatenate((first[1:] - 1, [len(starts) - 1]))]
            inside_minutes = np.add.reduceat(ends - starts, first) * grid.dt0
            keep = (
                (inside_minutes > min_minutes)
                if strictly_longer
                else (inside_minutes >= min_minutes)
            )
            durations = ((ep_end - ep_start) * grid.dt0)[keep].astype(np.float64)
        out[name] = {
            "count": len(durations),
            "per_day": round(len(durations) / days, 4) if days else None,
            "mean_duration": round(float(np.mean(durations)), 2) if len(durations) else None,
        }
    return out
