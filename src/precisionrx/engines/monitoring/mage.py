"""MAGE by the moving-average crossing algorithm (Fernandes et al., J Diabetes Sci Technol 2022),
the method iglu >= 3 uses by default.

On the day grid built with ``inter_gap`` = 180 min, per segment of consecutive readings (split at
missing stretches): trailing moving averages of 5 (short) and 32 (long) points (fewer at the
start of a segment); the places where short - long changes sign split the segment into
intervals; each interval contributes its glucose maximum (short above long) or minimum (below),
giving alternating peaks and nadirs. Excursions are the differences between consecutive turning
points; those larger than one SD of the segment's glucose count. ``mage`` (direction "avg") is
the mean of the mean ascending and the mean descending counted excursion; ``mage_plus`` and
``mage_minus`` are those two; segments are combined weighted by their length.
This follows the published description; it has not been compared with iglu's own output here
(no R available), so it is marked unverified in docs/cli/monitor.md.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from precisionrx.engines.monitoring.grid import DayGrid

FloatArray = npt.NDArray[np.float64]
SHORT, LONG = 5, 32


def _trailing_mean(v: FloatArray, k: int) -> FloatArray:
    c = np.concatenate(([0.0], np.cumsum(v)))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - k, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _segment(g: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Counted ascending and descending excursions of one contiguous segment (vectorised)."""
    empty = np.array([], dtype=np.float64)
    if len(g) < 3:
        return empty, empty
    sign = np.sign(_trailing_mean(g, SHORT) - _trailing_mean(g, LONG))
    nonzero = np.flatnonzero(sign)
    if not len(nonzero):
        return empty, empty
    # zero differences keep the previous side (the first side for leading zeros)
    last = np.maximum.accumulate(np.where(sign != 0, np.arange(len(sign)), 0))
    sign = sign[last]
    sign[: nonzero[0]] = sign[nonzero[0]]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sign) != 0) + 1))
    highs = np.maximum.reduceat(g, starts)
    lows = np.minimum.reduceat(g, starts)
    points = np.where(sign[starts] > 0, highs, lows)
    steps = np.diff(points)
    counted = steps[np.abs(steps) > np.std(g, ddof=1)]
    return counted[counted > 0], -counted[counted < 0]


def mage(grid: DayGrid) -> dict[str, float | None]:
    flat = grid.values.reshape(-1)
    present = ~np.isnan(flat)
    padded = np.concatenate(([False], present, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    totals: dict[str, float] = {"mage": 0.0, "mage_plus": 0.0, "mage_minus": 0.0}
    weights: dict[str, float] = {"mage": 0.0, "mage_plus": 0.0, "mage_minus": 0.0}
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        plus, minus = _segment(flat[start:end])
        n = float(end - start)
        means = [float(np.mean(x)) for x in (plus, minus) if len(x)]
        parts = {"mage": float(np.mean(means)) if means else None,
                 "mage_plus": float(np.mean(plus)) if len(plus) else None,
                 "mage_minus": float(np.mean(minus)) if len(minus) else None}  # fmt: skip
        for key, value in parts.items():
            if value is not None:
                totals[key] += value * n
                weights[key] += n
    return {k: (totals[k] / weights[k] if weights[k] else None) for k in totals}
