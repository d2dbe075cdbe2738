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

import itertools

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


def _segment(g: FloatArray) -> tuple[list[float], list[float]]:
    if len(g) < 3:
        return [], []
    d = _trailing_mean(g, SHORT) - _trailing_mean(g, LONG)
    sign = np.sign(d)
    for i in range(1, len(sign)):  # zero differences keep the previous side
        if sign[i] == 0:
            sign[i] = sign[i - 1]
    if sign[0] == 0:
        nz = np.flatnonzero(sign)
        sign[: nz[0] if len(nz) else len(sign)] = sign[nz[0]] if len(nz) else 1
    cuts = np.flatnonzero(np.diff(sign) != 0) + 1
    bounds = np.concatenate(([0], cuts, [len(g)]))
    points = []
    for a, b in itertools.pairwise(bounds):
        part = g[a:b]
        points.append(float(part.max() if sign[a] > 0 else part.min()))
    sd = float(np.std(g, ddof=1))
    steps = np.diff(points)
    counted = steps[np.abs(steps) > sd]
    return [float(x) for x in counted if x > 0], [float(-x) for x in counted if x < 0]


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
        means = [float(np.mean(x)) for x in (plus, minus) if x]
        parts = {"mage": float(np.mean(means)) if means else None,
                 "mage_plus": float(np.mean(plus)) if plus else None,
                 "mage_minus": float(np.mean(minus)) if minus else None}  # fmt: skip
        for key, value in parts.items():
            if value is not None:
                totals[key] += value * n
                weights[key] += n
    return {k: (totals[k] / weights[k] if weights[k] else None) for k in totals}
