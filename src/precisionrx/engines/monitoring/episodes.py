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


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def episodes(grid: DayGrid) -> dict[str, dict[str, Any]]:
    values = grid.values.reshape(-1)
    present = ~np.isnan(values)
    days = present.sum() * grid.dt0 / 1440.0
    end_points = round(END_MINUTES / grid.dt0)
    out: dict[str, dict[str, Any]] = {}
    for name, (op, threshold, min_minutes, strictly_longer) in EPISODES.items():
        with np.errstate(invalid="ignore"):
            inside = (values < threshold) if op == "<" else (values > threshold)
        inside &= present
        merged: list[list[int]] = []
        for start, end in _runs(inside):
            if merged:
                gap = slice(merged[-1][1], start)
                # a short return out of range (with data throughout) does not end the episode
                if start - merged[-1][1] < end_points and present[gap].all():
                    merged[-1][1] = end
                    continue
            merged.append([start, end])
        durations = []
        for start, end in merged:
            minutes = float(inside[start:end].sum()) * grid.dt0
            long_enough = minutes > min_minutes if strictly_longer else minutes >= min_minutes
            if long_enough:
                durations.append((end - start) * grid.dt0)
        out[name] = {
            "count": len(durations),
            "per_day": round(len(durations) / days, 4) if days else None,
            "mean_duration": round(float(np.mean(durations)), 2) if durations else None,
        }
    return out
