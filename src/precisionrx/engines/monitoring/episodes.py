"""Hypo- and hyperglycaemic episodes (Battelino 2023 CGM trial-outcome definitions).

On the day-by-day grid (grid.py, dt0 minutes per point; missing points end an episode):
- ``hypo_level1``: < 70 mg/dL for >= 15 consecutive minutes; ``hypo_level2``: < 54 for >= 15 min;
  ``hypo_extended``: < 70 for more than 120 minutes;
- ``hyper_level1``: > 180 for >= 15 min; ``hyper_level2``: > 250 for >= 15 min;
  ``hyper_extended``: > 250 for >= 120 minutes (iglu's approximation of ">= 90 of 120 minutes").
An episode ends only after >= 15 consecutive minutes outside the condition (shorter returns are
merged into it). Level 2 episodes are a subset of level 1 (iglu episode_calculation.Rd);
``hypo_level1_excl`` / ``hyper_level1_excl`` are the level 1 episodes that never crossed the
level 2 threshold (iglu ``lv1_excl``). Reported per type: ``count``, ``per_day`` (count / days
of grid data), ``mean_duration`` (minutes) and ``mean_glucose`` (mean of the episode's grid
values, iglu ``avg_ep_gl``).
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
#: level 1 episodes that never reach the level 2 threshold
EXCLUSIVE = {
    "hypo_level1_excl": ("hypo_level1", "<", 54.0),
    "hyper_level1_excl": ("hyper_level1", ">", 250.0),
}


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end (exclusive) indexes of the True runs."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[::2], edges[1::2]


def _summary(
    totals: tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]],
    spans: list[tuple[int, int]],
    dt0: float,
    days: float,
) -> dict[str, Any]:
    """Counts, durations and mean glucose of one type's episodes; ``totals`` are the running
    sums of the present values and their counts (index i = before point i)."""
    if not spans:
        return {"count": 0, "per_day": 0.0 if days else None, "mean_duration": None,
                "mean_glucose": None}  # fmt: skip
    start, end = np.asarray(spans, dtype=np.int64).T
    sums, counts = totals
    glucose = (sums[end] - sums[start]) / (counts[end] - counts[start])
    return {
        "count": len(spans),
        "per_day": len(spans) / days if days else None,
        "mean_duration": float(np.mean(end - start)) * dt0,
        "mean_glucose": float(np.mean(glucose)),
    }


def episode_spans(grid: DayGrid) -> dict[str, list[tuple[int, int]]]:
    """[start, end) grid indexes of every episode of each type."""
    values = grid.values.reshape(-1)
    present = ~np.isnan(values)
    missing_before = np.concatenate(([0], np.cumsum(~present)))  # missing points before index
    end_points = round(END_MINUTES / grid.dt0)
    out: dict[str, list[tuple[int, int]]] = {}
    for name, (op, threshold, min_minutes, strictly_longer) in EPISODES.items():
        with np.errstate(invalid="ignore"):
            inside = (values < threshold) if op == "<" else (values > threshold)
        inside &= present
        starts, ends = _runs(inside)
        out[name] = []
        if not len(starts):
            continue
        # A run continues the previous episode when the return out of range was shorter
        # than 15 minutes and had no missing data.
        gap = starts[1:] - ends[:-1]
        gap_missing = missing_before[starts[1:]] - missing_before[ends[:-1]]
        joins = (gap < end_points) & (gap_missing == 0)
        first = np.flatnonzero(np.concatenate(([True], ~joins)))
        ep_start = starts[first]
        ep_end = ends[np.concatenate((first[1:] - 1, [len(starts) - 1]))]
        inside_minutes = np.add.reduceat(ends - starts, first) * grid.dt0
        keep = (
            (inside_minutes > min_minutes) if strictly_longer else (inside_minutes >= min_minutes)
        )
        out[name] = list(zip(ep_start[keep].tolist(), ep_end[keep].tolist(), strict=True))
    for name, (level1, op, threshold) in EXCLUSIVE.items():
        spans = out[level1]
        if not spans:
            out[name] = []
            continue
        sign = 1.0 if op == "<" else -1.0  # look for the minimum of sign x glucose
        padded = np.concatenate((np.where(present, sign * values, np.inf), [np.inf]))
        lowest = np.minimum.reduceat(padded, np.asarray(spans, dtype=np.int64).reshape(-1))[::2]
        out[name] = [
            span for span, m in zip(spans, lowest, strict=True) if not m < sign * threshold
        ]
    return out


def episodes(grid: DayGrid) -> dict[str, dict[str, Any]]:
    values = grid.values.reshape(-1)
    present = ~np.isnan(values)
    days = present.sum() * grid.dt0 / 1440.0
    totals = (
        np.concatenate(([0.0], np.cumsum(np.where(present, values, 0.0)))),
        np.concatenate(([0], np.cumsum(present))),
    )
    return {
        name: _summary(totals, spans, grid.dt0, days) for name, spans in episode_spans(grid).items()
    }
