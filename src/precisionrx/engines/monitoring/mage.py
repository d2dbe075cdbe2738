"""MAGE by the moving-average crossing algorithm (Fernandes et al., J Diabetes Sci Technol 2022,
doi 10.1177/19322968211061165), the method iglu >= 3 uses by default (``mage(version = "ma")``).

Steps, as iglu's MAGE vignette and mage.Rd describe them:
1. The readings are put on the day grid with dt0 = 5 minutes and inter_gap = 45 minutes
   (grid.py); the trace is split into segments at missing stretches longer than ``max_gap`` =
   180 minutes, and each segment is handled on its own (shorter holes stay missing inside it).
2. Trailing (right-aligned) moving averages of ``short_ma`` = 5 and ``long_ma`` = 32 points;
   the first window-1 positions take the first complete average. Where short - long changes
   sign is a crossing; the first and last points are crossings too.
3. Between crossings cp_i and cp_i+1 lies one turning point: the glucose maximum where the
   short average is above the long one (a peak), else the minimum (a nadir), searched from the
   previous turning point (exclusive) to cp_i+1 (inclusive), so peaks and nadirs alternate.
4. Half-excursions between turning points count when larger than the SD of the segment's
   glucose. The search accumulates: the start of a rise (fall) is the lowest nadir (highest
   peak) since the last counted turning point, and a counted half-excursion is extended while
   a later turning point of the same kind goes further; it is recorded once the next
   half-excursion in the other direction also exceeds the SD, or at the end of the segment.
5. ``mage_plus`` is the mean of the counted rises, ``mage_minus`` of the counted falls, and
   ``mage`` (iglu's default direction "avg") their mean; ``mage_service`` uses the direction of
   the first counted half-excursion and ``mage_max`` the larger. Segment values are combined
   weighted by segment length (grid points).
Not compared with iglu's own output on this machine (no R; the Fernandes manual-MAGE set is not
in the shared data): marked unverified in docs/cli/monitor.md.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from precisionrx.engines.monitoring.grid import DayGrid

FloatArray = npt.NDArray[np.float64]
SHORT_MA, LONG_MA = 5, 32
MAX_GAP = 180.0
MAGE_DT0 = 5.0
KEYS = ("mage", "mage_plus", "mage_minus", "mage_service", "mage_max")


def trailing_mean(v: FloatArray, k: int) -> FloatArray:
    """Right-aligned mean of the present values in each window of k points; the first k - 1
    positions take the first complete window's value (or the running mean when the series is
    shorter than k)."""
    present = ~np.isnan(v)
    c = np.concatenate(([0.0], np.cumsum(np.where(present, v, 0.0))))
    n = np.concatenate(([0], np.cumsum(present)))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - k, 0)
    count = n[idx] - n[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, (c[idx] - c[lo]) / count, np.nan)
    if len(v) >= k:
        out[: k - 1] = out[k - 1]
    return out


def crossings(delta: FloatArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Crossing indexes (first and last point included) and, per interval between consecutive
    crossings, the sign of short - long on it (+1: a peak lies there, -1: a nadir)."""
    last = len(delta) - 1
    usable = np.flatnonzero(~np.isnan(delta) & (delta != 0))
    if not len(usable) or last < 1:
        return np.array([0, max(last, 0)], dtype=np.int64), np.array([1], dtype=np.int8)
    signs = np.sign(delta[usable]).astype(np.int8)
    change = np.flatnonzero(signs[1:] != signs[:-1]) + 1
    inner = usable[change]
    kinds = np.concatenate((signs[:1], signs[change]))
    if len(inner) and inner[-1] == last:  # a crossing on the last point opens no interval
        inner, kinds = inner[:-1], kinds[:-1]
    return np.concatenate(([0], inner, [last])).astype(np.int64), kinds


def _first_extremes(
    high: FloatArray,
    low: FloatArray,
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    peak: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """Index of the first maximum (peak windows) or minimum (nadir windows) of each window
    [left, right); the windows may overlap."""  # fmt: skip
    lengths = right - left
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    window = np.repeat(np.arange(len(left)), lengths)
    within = np.arange(int(lengths.sum())) - offsets[window]
    where = left[window] + within
    values = np.where(peak[window], high[where], -low[where])
    best = np.maximum.reduceat(values, offsets)
    first = np.minimum.reduceat(np.where(values == best[window], within, len(values)), offsets)
    return left + first


def _turning_indexes_loop(
    high: FloatArray, low: FloatArray, cross: list[int], kinds: list[int]
) -> list[int]:
    """Step 3 one interval at a time (used when an interval holds no reading at all)."""
    found: list[int] = []
    kind_of: list[int] = []
    previous = -1
    for i, kind in enumerate(kinds):
        left = cross[i] if i == 0 else previous + 1
        right = cross[i + 1] + 1
        if right <= left:
            continue
        at = left + int(np.argmax(high[left:right]) if kind > 0 else np.argmin(low[left:right]))
        if not np.isfinite(high[at]):
            continue  # the whole interval fell in a hole of the grid
        if kind_of and kind_of[-1] == kind:  # after a skipped interval: keep one, the extreme
            if (high[at] > high[found[-1]]) == (kind > 0):
                found[-1] = previous = at
            continue
        found.append(at)
        kind_of.append(kind)
        previous = at
    return found


def turning_points(
    g: FloatArray, cross: npt.NDArray[np.int64], kinds: npt.NDArray[np.int8]
) -> FloatArray:
    """Alternating peak / nadir glucose values between the crossings (step 3).

    Each window runs from just after the previous turning point to the next crossing, so it
    depends on the previous window's answer; the windows are solved all at once, starting from
    [cp_i, cp_i+1], and re-solved with the left edges the answers give until nothing moves
    (the fixed point is the sequential answer: each pass settles at least one more window)."""
    high = np.where(np.isnan(g), -np.inf, g)  # missing points never win a max / min
    low = np.where(np.isnan(g), np.inf, g)
    peak = kinds > 0
    right = cross[1:] + 1
    left = cross[:-1].copy()
    at = _first_extremes(high, low, left, right, peak)
    for _ in range(256):
        if not np.isfinite(high[at]).all():
            break
        moved = np.concatenate((cross[:1], at[:-1] + 1))
        redo = np.flatnonzero(moved != left)  # only windows whose left edge moved
        if not len(redo):
            return g[at]
        left[redo] = moved[redo]
        at[redo] = _first_extremes(high, low, left[redo], right[redo], peak[redo])
    found = _turning_indexes_loop(high, low, cross.tolist(), kinds.tolist())
    return g[np.asarray(found, dtype=np.int64)]


def half_excursions(turning: FloatArray, sd: float) -> list[float]:
    """Signed counted half-excursions (+ rise, - fall) over alternating turning points (step 4).

    Until the first one counts, a rise is measured from the lowest earlier nadir and a fall from
    the highest earlier peak (accumulation); afterwards a turning point of the same kind as the
    end of the pending half-excursion extends it when it goes further, and one of the other
    kind records it when the new half-excursion also exceeds the SD."""
    v = turning.tolist()
    out: list[float] = []
    if len(v) < 2:
        return out
    rising = v[1] > v[0]  # kind of the turning point at index 1: peak after a nadir
    lowest = (v[0], 0) if rising else (float("inf"), -1)  # extreme nadir / peak seen so far
    highest = (float("-inf"), -1) if rising else (v[0], 0)
    left: tuple[int, int] | None = None
    for j in range(1, len(v)):
        peak = (j % 2 == 1) == rising
        if left is None:
            start = lowest if peak else highest
            if start[1] >= 0 and abs(v[j] - start[0]) > sd and (v[j] > start[0]) == peak:
                left = (start[1], j)
            elif peak and v[j] > highest[0]:
                highest = (v[j], j)
            elif not peak and v[j] < lowest[0]:
                lowest = (v[j], j)
            continue
        s, p = left
        if (j - p) % 2 == 0:
            if abs(v[j] - v[s]) >= abs(v[p] - v[s]):
                left = (s, j)  # the same excursion goes further
        elif abs(v[j] - v[p]) > sd:
            out.append(v[p] - v[s])
            left = (p, j)
    if left is not None:
        out.append(v[left[1]] - v[left[0]])
    return out


def segment_mage(
    g: FloatArray, short_ma: int = SHORT_MA, long_ma: int = LONG_MA
) -> dict[str, float | None]:
    """MAGE of one contiguous segment (missing points allowed inside)."""
    present = g[~np.isnan(g)]
    if len(present) < 3:
        return dict.fromkeys(KEYS)
    sd = float(np.std(present, ddof=1))
    delta = trailing_mean(g, short_ma) - trailing_mean(g, long_ma)
    cross, kinds = crossings(delta)
    steps = half_excursions(turning_points(g, cross, kinds), sd)
    rises = [s for s in steps if s > 0]
    falls = [-s for s in steps if s < 0]
    plus = float(np.mean(rises)) if rises else None
    minus = float(np.mean(falls)) if falls else None
    both = [x for x in (plus, minus) if x is not None]
    service = None if not steps else (plus if steps[0] > 0 else minus)
    return {
        "mage": float(np.mean(both)) if both else None,
        "mage_plus": plus,
        "mage_minus": minus,
        "mage_service": service,
        "mage_max": max(both) if both else None,
    }


def segments(flat: FloatArray, dt0: float, max_gap: float = MAX_GAP) -> list[tuple[int, int]]:
    """[start, end) of the stretches between missing runs longer than ``max_gap`` minutes (a run
    of r missing points is a gap of (r + 1) dt0 minutes between readings)."""
    present = ~np.isnan(flat)
    idx = np.flatnonzero(present)
    if not len(idx):
        return []
    gaps = np.diff(idx) * dt0
    cut = np.flatnonzero(gaps > max_gap)
    starts = np.concatenate(([idx[0]], idx[cut + 1]))
    ends = np.concatenate((idx[cut] + 1, [idx[-1] + 1]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def mage(
    grid: DayGrid, short_ma: int = SHORT_MA, long_ma: int = LONG_MA
) -> dict[str, float | None]:
    """MAGE of a subject from its 5-minute, 45-minute-gap day grid."""
    flat = grid.values.reshape(-1)
    totals = dict.fromkeys(KEYS, 0.0)
    weights = dict.fromkeys(KEYS, 0.0)
    for start, end in segments(flat, grid.dt0):
        part = segment_mage(flat[start:end], short_ma, long_ma)
        for key, value in part.items():
            if value is not None:
                totals[key] += value * (end - start)
                weights[key] += end - start
    return {k: (totals[k] / weights[k] if weights[k] else None) for k in KEYS}
