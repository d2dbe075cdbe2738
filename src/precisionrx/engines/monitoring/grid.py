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
  2018); ``cv_mean`` / ``cv_sd``: mean and SD of the daily CVs on the grid (iglu cv_measures);
- the SD components (sd_measures) and the hourly AUC (hourly_auc, iglu 4.3.0's output
  reproduced exactly), see those functions.
On the readings (reading_stats): ``adrr``: mean over local calendar days of (max daily LR +
max daily HR), risk 10 x 1.509^2 f^2, f = ln(gl)^1.084 - 5.381 (Kovatchev 2006); ``active_percent``:
readings / ((last - first) / dt0 + 1) x 100, capped at 100 (active_percent.Rd: readings at 0, 10
and 15 of a 5-minute meter are 75 % active); ``days``: (last - first) in days; quantiles as R
type 7.
Bounded resources: the grid has ndays x 1440 / dt0 points, so a subject whose readings span
more than the plausibility table's ``cgm_span`` (3,660 days) is refused (EngineError here; the
CGM reader refuses it earlier, naming the file); implausible dates are dropped by the reader.
Sources: iglu 4.3.0 reference manual (CGMS2DayByDay.Rd, modd.Rd, conga.Rd, sd_roc.Rd, mag.Rd,
gvp.Rd, cv_measures.Rd, sd_measures.Rd, auc.Rd, adrr.Rd, active_percent.Rd). The manual gives the
definitions, not iglu's code or output; no R here to compare numbers, so the grid metrics are
marked "definition checked, output unverified" in docs/cli/monitor.md, except ``auc`` (and
through it the grid): it is compared with iglu 4.3.0's own output for its 5-subject example data
(R 4.4.3 through iglu-py 1.1.1, as recorded in the iglu-python 0.4.3 test suite), see the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from precisionrx.engines.monitoring.cgm_metrics import RISK_FACTOR
from precisionrx.errors import EngineError
from precisionrx.kb.limits import load_limits

FloatArray = npt.NDArray[np.float64]
INTER_GAP = 45.0


@dataclass
class DayGrid:
    values: FloatArray  # (ndays, points per day), NaN where missing
    dt0: float  # minutes
    first_day: np.datetime64


def max_grid_days() -> int:
    """The longest grid, in days: the plausibility table's ``cgm_span`` plus the partial days
    at both ends (so memory is bounded by a constant, whatever the timestamps)."""
    span = load_limits().get("cgm_span").max
    return int(span) + 2 if span is not None else 3662


def median_interval(local: npt.NDArray[np.datetime64]) -> float:
    """The meter's frequency as iglu takes it: the median interval, rounded to whole minutes."""
    minutes = np.diff(local).astype("timedelta64[s]").astype(np.float64) / 60.0
    dt0 = float(round(float(np.median(minutes)))) if len(minutes) else 5.0
    return dt0 if dt0 > 0 else 5.0


def day_grid(
    local: npt.NDArray[np.datetime64],
    gl: FloatArray,
    inter_gap: float = INTER_GAP,
    dt0: float | None = None,
) -> DayGrid:
    """The grid of one subject from sorted local times (naive) and glucose; ``dt0`` defaults to
    the median interval (iglu CGMS2DayByDay ``dt0 = NULL``)."""
    step = median_interval(local) if dt0 is None else float(dt0)
    minutes = (local - local[0]).astype("timedelta64[s]").astype(np.float64) / 60.0
    start = local[0].astype("datetime64[D]")
    offset = float((local[0] - start).astype("timedelta64[s]").astype(np.float64)) / 60.0
    ndays = math.ceil((minutes[-1] if len(minutes) else 0.0) / 1440.0 + 1)
    per_day = round(1440 / step)
    max_days = max_grid_days()
    if ndays > max_days:
        # the readers refuse such spans (io/cgm.py); this guards direct callers: the grid's
        # memory grows with the span, not with the readings
        raise EngineError(
            f"CGM readings span {ndays:,} days, over the {max_days:,}-day limit of the day grid",
            hint="split the record by period (docs/errors.md, Validation limits)",
        )
    grid_minutes = step * np.arange(1, ndays * per_day + 1)  # from local midnight of day 1
    t = minutes + offset
    values = np.interp(grid_minutes, t, gl, left=np.nan, right=np.nan)
    for i in np.flatnonzero(np.diff(t) > inter_gap):
        # no interpolation strictly inside a long gap (a grid point on a reading keeps it)
        lo = np.searchsorted(grid_minutes, t[i], side="right")
        hi = np.searchsorted(grid_minutes, t[i + 1], side="left")
        values[lo:hi] = np.nan
    return DayGrid(values.reshape(ndays, per_day), step, start)


def _lagged(v: FloatArray, lag: int) -> FloatArray:
    if lag <= 0 or lag >= len(v):
        return np.array([], dtype=np.float64)
    return v[lag:] - v[:-lag]


def grid_metrics(
    grid: DayGrid, conga_hours: float = 24.0, modd_days: int = 1, roc_minutes: float = 15.0
) -> dict[str, float | None]:
    """MODD (lag ``modd_days``), CONGA(``conga_hours``), SD of the ``roc_minutes`` rate of
    change, MAG, GVP and the daily-CV measures (iglu defaults: 1 day, 24 h, 15 min)."""
    flat = grid.values.reshape(-1)
    per_day = grid.values.shape[1]
    day = _lagged(flat, per_day * modd_days)
    day = day[~np.isnan(day)]
    conga = _lagged(flat, round(conga_hours * 60 / grid.dt0))
    conga = conga[~np.isnan(conga)]
    roc = _lagged(flat, round(roc_minutes / grid.dt0)) / roc_minutes
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


def _sd_or_none(values: FloatArray) -> float | None:
    """SD (n - 1) of the finite values; None with fewer than two."""
    values = values[~np.isnan(values)]
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def _mean_or_none(values: FloatArray) -> float | None:
    values = values[~np.isnan(values)]
    return float(np.mean(values)) if len(values) else None


def _row_sd(m: FloatArray) -> FloatArray:
    """SD (n - 1) of each row over its present values; NaN for rows with fewer than two."""
    n = (~np.isnan(m)).sum(axis=1)
    filled = np.where(np.isnan(m), 0.0, m)
    mean = filled.sum(axis=1) / np.maximum(n, 1)
    dev = np.where(np.isnan(m), 0.0, m - mean[:, None])
    var = (dev * dev).sum(axis=1) / np.maximum(n - 1, 1)
    return np.where(n > 1, np.sqrt(var), np.nan)


def _row_mean(m: FloatArray) -> FloatArray:
    n = (~np.isnan(m)).sum(axis=1)
    total = np.where(np.isnan(m), 0.0, m).sum(axis=1)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def rolling_sd(v: FloatArray, width: int) -> FloatArray:
    """SD (n - 1) over the present values of every window of ``width`` consecutive points
    (windows starting at each point that fit in the series); NaN where fewer than two."""
    if len(v) < width:
        return np.array([], dtype=np.float64)
    present = ~np.isnan(v)
    x = np.where(present, v, 0.0)
    # centre on the overall mean before summing squares: keeps the one-pass variance stable
    x = np.where(present, x - (x[present].mean() if present.any() else 0.0), 0.0)
    c1 = np.concatenate(([0.0], np.cumsum(x)))
    c2 = np.concatenate(([0.0], np.cumsum(x * x)))
    cn = np.concatenate(([0], np.cumsum(present)))
    n = (cn[width:] - cn[:-width]).astype(np.float64)
    s1 = c1[width:] - c1[:-width]
    s2 = c2[width:] - c2[:-width]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / n) / (n - 1)
    return np.where(n > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)


def sd_measures(grid: DayGrid) -> dict[str, float | None]:
    """Rodbard's SD components on the days x time-of-day matrix (iglu sd_measures.Rd), each over
    what is present (R's ``na.rm = TRUE``):
    ``sdw`` mean of the daily SDs; ``sdhhmm`` SD of the time-of-day means; ``sdwsh`` mean SD of
    the hour-long windows (60 / dt0 points) starting at every grid point; ``sddm`` SD of the
    daily means; ``sdb`` mean over time points of the SD across days; ``sdbdm`` the same after
    subtracting each day's mean."""
    m = grid.values
    day_means = _row_mean(m)
    centred = m - day_means[:, None]
    hour = max(round(60 / grid.dt0), 2)
    return {
        "sdw": _mean_or_none(_row_sd(m)),
        "sdhhmm": _sd_or_none(_row_mean(m.T)),
        "sdwsh": _mean_or_none(rolling_sd(m.reshape(-1), hour)),
        "sddm": _sd_or_none(day_means),
        "sdb": _mean_or_none(_row_sd(m.T)),
        "sdbdm": _mean_or_none(_row_sd(centred.T)),
    }


def hourly_auc(grid: DayGrid) -> float | None:
    """iglu 4.3 ``auc``: the hourly average area under the grid trace (mg/dL x h per hour, so
    mg/dL; a constant 100 mg/dL gives 100).

    auc.Rd: trapezoids (dt0 / 60) x (g[k] + g[k + 1]) / 2, NA omitted, and "hourly average" =
    the summed area / the hours those trapezoids cover (dt0 / 60 each), i.e. the mean of
    (g[k] + g[k + 1]) / 2 over the trapezoids with both ends present. Which grid points form a
    trapezoid is iglu's: it labels the row-wise flattened grid (day 1 00:05, 00:10, ...) with the
    dates recycled (``rep(actual_dates, 1440 / dt0)``: date 1, 2, ..., n, 1, 2, ... for n grid
    days, not each date 1440 / dt0 times), takes the trapezoids within each label in order, then
    pools every label's trapezoids into one area / hours. So g[k] and g[k + 1] of a trapezoid
    are grid points n x dt0 apart (adjacent points for a one-day grid) and the result is the
    mean of (g[i] + g[i + n]) / 2 over every i where both are present. This reproduces iglu
    4.3.0's output exactly (tests: the 5-subject example data, iglu's values to 1e-12); the
    per-calendar-day reading of the manual ("hourly average per 24-hour period, then the mean
    over periods") gives values 1-2 % away from iglu's on that data. None without any trapezoid.
    """
    flat = grid.values.reshape(-1)
    lag = grid.values.shape[0]  # grid days
    if lag >= len(flat):
        return None
    pairs = flat[:-lag] + flat[lag:]
    pairs = pairs[~np.isnan(pairs)]
    return float(pairs.mean() / 2) if len(pairs) else None


def grid_clock(
    utc: npt.NDArray[np.datetime64], local: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.datetime64]:
    """The time axis of a subject's day grid: the UTC instants shifted by the first reading's
    offset from UTC. It keeps increasing when clocks go back (local wall-clock time repeats an
    hour, which would fold the trace onto itself) and starts aligned with local midnight; like
    iglu's grid on R date-times, it steps in real time across a daylight-saving change."""
    shifted: npt.NDArray[np.datetime64] = utc + (local[0] - utc[0])
    return shifted


def reading_stats(
    local: npt.NDArray[np.datetime64],
    gl: FloatArray,
    dt0: float,
    clock: npt.NDArray[np.datetime64] | None = None,
) -> dict[str, float]:
    """Days, active percent, ADRR and quantiles of one subject's sorted readings; the span is
    real elapsed time (``clock``, see grid_clock), the ADRR days are local calendar days."""
    elapsed = local if clock is None else clock
    span = float((elapsed[-1] - elapsed[0]).astype("timedelta64[s]").astype(np.float64)) / 60.0
    f = np.log(gl) ** 1.084 - 5.381
    risk = RISK_FACTOR * f * f
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
