"""iglu's day-by-day glucose grid (CGMS2DayByDay) and the metrics that use it.

Grid (per subject, local wall-clock time): ``dt0`` = the median interval between readings,
rounded to whole minutes; points at local midnight of the first day + dt0, + 2 dt0, ... up to
``ndays`` = ceil(days from first to last reading + 1) whole days; glucose linearly interpolated
between readings, missing outside the readings and inside any gap longer than ``inter_gap``
(45 minutes). Metrics on the grid (iglu 4.3 definitions as documented in its reference manual):
- ``modd``: mean |g(t) - g(t - 24 h)| over grid points where both exist;
- ``conga``: SD (n - 1) of g(t) - g(t - n h), n = 24 by default (iglu ``conga(n = 24)``);
- ``sd_roc``: SD of the rate of change (mg/dL/min) between grid points 15 minutes apart
  (iglu ``sd_roc(timelag = 15)``);
- ``mag``: sum |g(t) - g(t - dt0)| / hours, over consecutive grid points with data (iglu 4.3
  divides by hours, issue #184); ``gvp``: (sum sqrt(dt0^2 + dg^2) / sum dt0 - 1) x 100 (Peyser
  2018); ``cv_mean`` / ``cv_sd``: mean and SD of the daily CVs on the grid (iglu cv_measures).
On the readings (reading_stats): ``adrr``: mean over local calendar days of (max daily LR +
max daily HR), risk 22.77 f^2, f = ln(gl)^1.084 - 5.381 (Kovatchev 2006); ``active_percent``:
readings / ((last - first) / dt0 + 1) x 100, capped at 100; ``days``: (last - first) in days;
quantiles as R type 7.
These grid definitions follow iglu's documentation and have not been compared with iglu output
on this machine (no R): they are marked unverified in docs/cli/monitor.md.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
INTER_GAP = 45.0


@dataclass
class DayGrid:
    values: FloatArray  # (ndays, points per day), NaN where missing
    dt0: float  # minutes
    first_day: np.datetime64


def day_grid(
    local: npt.NDArray[np.datetime64], gl: FloatArray, inter_gap: float = INTER_GAP
) -> DayGrid:
    """The grid of one subject from sorted local times (naive) and glucose."""
    return day_grids(local, gl, (inter_gap,))[0]


def day_grids(
    local: npt.NDArray[np.datetime64], gl: FloatArray, inter_gaps: tuple[float, ...]
) -> list[DayGrid]:
    """Grids for several gap limits from one interpolation (largest limit first masked last)."""
    minutes = (local - local[0]).astype("timedelta64[s]").astype(np.float64) / 60.0
    diffs = np.diff(minutes)
    dt0 = float(round(float(np.median(diffs)))) if len(diffs) else 5.0
    dt0 = dt0 if dt0 > 0 else 5.0
    start = local[0].astype("datetime64[D]")
    offset = float((local[0] - start).astype("timedelta64[s]").astype(np.float64)) / 60.0
    span_days = (minutes[-1] if len(minutes) else 0.0) / 1440.0
    ndays = math.ceil(span_days + 1)
    per_day = round(1440 / dt0)
    grid_minutes = dt0 * np.arange(1, ndays * per_day + 1)  # from local midnight of day 1
    t = minutes + offset
    base = np.interp(grid_minutes, t, gl, left=np.nan, right=np.nan)
    out = []
    for limit in inter_gaps:
        values = base.copy()
        for i in np.flatnonzero(diffs > limit):
            lo, hi = np.searchsorted(grid_minutes, [t[i], t[i + 1]], side="right")
            values[lo:hi] = np.nan
            if hi > 0 and grid_minutes[hi - 1] == t[i + 1]:
                values[hi - 1] = base[hi - 1]  # a grid point exactly on the next reading
        out.append(DayGrid(values.reshape(ndays, per_day), dt0, start))
    return out


def _lagged(v: FloatArray, lag: int) -> FloatArray:
    if lag <= 0 or lag >= len(v):
        return np.array([], dtype=np.float64)
    return v[lag:] - v[:-lag]


def grid_metrics(grid: DayGrid, conga_hours: float = 24.0) -> dict[str, float | None]:
    flat = grid.values.reshape(-1)
    per_day = grid.values.shape[1]
    day = _lagged(flat, per_day)
    day = day[~np.isnan(day)]
    conga = _lagged(flat, round(conga_hours * 60 / grid.dt0))
    conga = conga[~np.isnan(conga)]
    roc = _lagged(flat, round(15 / grid.dt0)) / 15.0
    roc = roc[~np.isnan(roc)]
    step = np.diff(flat)
    step = step[~np.isnan(step)]
    counts = (~np.isnan(grid.values)).sum(axis=1)
    full = grid.values[counts > 1]
    with np.errstate(invalid="ignore"):
        days_cv = list(100 * np.nanstd(full, axis=1, ddof=1) / np.nanmean(full, axis=1))
    return {
        "mag": float(np.abs(step).sum() / (len(step) * grid.dt0 / 60)) if len(step) else None,
        "gvp": float((np.sqrt(grid.dt0**2 + step**2).sum() / (len(step) * grid.dt0) - 1) * 100)
        if len(step)
        else None,
        "cv_mean": float(np.mean(days_cv)) if days_cv else None,
        "cv_sd": float(np.std(days_cv, ddof=1)) if len(days_cv) > 1 else None,
        "modd": float(np.mean(np.abs(day))) if len(day) else None,
        "conga": float(np.std(conga, ddof=1)) if len(conga) > 1 else None,
        "sd_roc": float(np.std(roc, ddof=1)) if len(roc) > 1 else None,
        "dt0": grid.dt0,
    }


SD_KEYS = ("sdw", "sdhhmm", "sdwsh", "sddm", "sdb", "sdbdm")


def sd_measures(grid: DayGrid) -> dict[str, float | None]:
    """Rodbard's SD components on the days x time-of-day matrix (iglu ``sd_measures``):
    ``sdw`` mean within-day SD; ``sdhhmm`` SD of the time-of-day means; ``sdwsh`` mean SD within
    1-hour windows of the series; ``sddm`` SD of the daily means; ``sdb`` mean over time points
    of the between-day SD; ``sdbdm`` the same after removing each day's mean."""
    m = grid.values
    present = ~np.isnan(m)
    days = m[present.sum(axis=1) > 1]
    times = present.sum(axis=0) > 1
    if len(days) < 2 or not times.any():
        return dict.fromkeys(SD_KEYS)
    hour = max(round(60 / grid.dt0), 2)
    flat = m.reshape(-1)
    windows = flat[: len(flat) // hour * hour].reshape(-1, hour)
    windows = windows[(~np.isnan(windows)).sum(axis=1) > 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns give NaN
        day_means = np.nanmean(days, axis=1)
        centred = m - np.nanmean(m, axis=1, keepdims=True)
        return {
            "sdw": float(np.mean(np.nanstd(days, axis=1, ddof=1))),
            "sdhhmm": float(np.nanstd(np.nanmean(m[:, times], axis=0), ddof=1)),
            "sdwsh": float(np.mean(np.nanstd(windows, axis=1, ddof=1))) if len(windows) else None,
            "sddm": float(np.std(day_means, ddof=1)),
            "sdb": float(np.nanmean(np.nanstd(m[:, times], axis=0, ddof=1))),
            "sdbdm": float(np.nanmean(np.nanstd(centred[:, times], axis=0, ddof=1))),
        }


def reading_stats(
    local: npt.NDArray[np.datetime64], gl: FloatArray, dt0: float
) -> dict[str, float]:
    """Days, active percent, ADRR and quantiles of one subject's sorted readings."""
    span = float((local[-1] - local[0]).astype("timedelta64[s]").astype(np.float64)) / 60.0
    f = np.log(gl) ** 1.084 - 5.381
    risk = 22.77 * f * f
    day = local.astype("datetime64[D]").astype(np.int64)
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    lr = np.maximum.reduceat(np.where(f < 0, risk, 0.0), starts)
    hr = np.maximum.reduceat(np.where(f > 0, risk, 0.0), starts)
    q25, median, q75 = np.percentile(gl, [25, 50, 75], method="linear")
    mad = 1.4826 * float(np.median(np.abs(gl - median)))
    return {
        "mad": mad,
        "days": span / 1440.0,
        "active_percent": min(len(gl) / (span / dt0 + 1) * 100, 100.0),
        "adrr": float(np.mean(lr + hr)),
        "q25": float(q25),
        "median": float(median),
        "q75": float(q75),
        "iqr": float(q75 - q25),
    }
