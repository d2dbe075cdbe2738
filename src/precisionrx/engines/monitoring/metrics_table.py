"""Every CGM metric per subject in one table: the reading-level metrics (cgm_metrics.py), the
quantiles, days, active percent and ADRR, the grid metrics, MAGE and the episodes, computed
subject by subject with numpy.

The engine computes one subject at a time (:func:`subject_metrics`) and never starts processes:
a caller with a large input passes ``mapper`` (e.g. a process pool's ``map``, as
``precisionrx monitor metrics`` does from 2 million readings) to spread the subjects over
workers; the default is the built-in ``map`` in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.engines.monitoring.cgm_metrics import METRIC_COLUMNS, reading_metrics
from precisionrx.engines.monitoring.consensus import check_population
from precisionrx.engines.monitoring.episodes import episodes
from precisionrx.engines.monitoring.grid import (
    FloatArray,
    day_grid,
    grid_clock,
    grid_metrics,
    hourly_auc,
    reading_stats,
    sd_measures,
)  # fmt: skip
from precisionrx.engines.monitoring.mage import LONG_MA, MAGE_DT0, SHORT_MA, mage
from precisionrx.errors import InputError

Arrays = tuple[Any, npt.NDArray[np.datetime64], npt.NDArray[np.datetime64], FloatArray]


@dataclass(frozen=True)
class MetricOptions:
    """The settings of the CGM metrics: the parameters iglu lets the user set, with iglu's
    defaults (CONGA(n) hours, MODD lag in days, the SD-of-ROC time lag in minutes, MAGE's short
    and long moving-average windows), and the population whose consensus targets are assessed
    (``adult``, ``older_high_risk``, ``pregnancy``). Invalid values are an InputError."""

    conga_hours: float = 24.0
    modd_days: int = 1
    roc_minutes: float = 15.0
    mage_short: int = SHORT_MA
    mage_long: int = LONG_MA
    population: str = "adult"

    def __post_init__(self) -> None:
        if not 0 < self.mage_short < self.mage_long:
            raise InputError("MAGE windows need 0 < short < long")
        if self.conga_hours <= 0 or self.modd_days < 1 or self.roc_minutes <= 0:
            raise InputError("CONGA hours, MODD lag and ROC minutes must be positive")
        check_population(self.population)

    def parameters(self) -> dict[str, str]:
        """The settings as text (for a result's provenance)."""
        return {k: str(v) for k, v in vars(self).items()}


#: One subject's job: its arrays and the options.
Job = tuple[Arrays, MetricOptions]
#: How the subjects' jobs are run: ``map`` here, or a worker pool's ``map`` (the caller's).
Mapper = Callable[[Callable[[Job], dict[str, Any]], Iterable[Job]], Iterable[dict[str, Any]]]


def subject_metrics(
    subject: Any,
    utc: npt.NDArray[np.datetime64],
    local: npt.NDArray[np.datetime64],
    gl: FloatArray,
    options: MetricOptions = MetricOptions(),  # frozen: safe to share
) -> dict[str, Any]:
    """Every metric of one subject from its time-sorted UTC instants, local times and glucose."""
    clock = grid_clock(utc, local)
    grid = day_grid(clock, gl)
    mage_grid = grid if grid.dt0 == MAGE_DT0 else day_grid(clock, gl, dt0=MAGE_DT0)
    found = episodes(grid)
    return {
        "id": subject,
        "first": utc[0].astype("datetime64[us]").item(),  # naive datetime, in UTC
        "last": utc[-1].astype("datetime64[us]").item(),
        **reading_metrics(gl),
        **reading_stats(local, gl, grid.dt0, clock),
        **grid_metrics(grid, options.conga_hours, options.modd_days, options.roc_minutes),
        **sd_measures(grid),
        "auc": hourly_auc(grid),
        **mage(mage_grid, options.mage_short, options.mage_long),
        **{f"{k}_per_day": v["per_day"] for k, v in found.items()},
        **{f"{k}_mean_duration": v["mean_duration"] for k, v in found.items()},
        **{f"{k}_mean_glucose": v["mean_glucose"] for k, v in found.items()},
    }


def subject_jobs(frame: pl.DataFrame, options: MetricOptions) -> Iterator[Job]:
    """One job per subject (in the frame's order): its time-sorted arrays and the options."""
    for part in frame.partition_by("id", maintain_order=True):
        if not part["time_utc"].is_sorted():
            part = part.sort("time_utc")
        utc: npt.NDArray[np.datetime64] = part["time_utc"].to_numpy()
        arrays = (part["id"][0], utc, part["local"].to_numpy(), part["gl"].to_numpy())
        yield arrays, options


def run_job(job: Job) -> dict[str, Any]:
    """Every metric of one subject's job (picklable: worker pools call it)."""
    arrays, options = job
    return subject_metrics(*arrays, options)


def subject_rows(
    frame: pl.DataFrame,
    options: MetricOptions | None = None,
    progress: Callable[[], None] | None = None,
    mapper: Mapper | None = None,
) -> list[dict[str, Any]]:
    """Per-subject metrics, in the frame's subject order, each subject's job run by ``mapper``
    (default: ``map``, in this process). ``progress`` is called once per finished subject."""
    jobs = subject_jobs(frame, options or MetricOptions())
    rows: list[dict[str, Any]] = []
    for row in (mapper or map)(run_job, jobs):
        rows.append(row)
        if progress is not None:
            progress()
    return rows


def metrics_table(
    frame: pl.DataFrame,
    options: MetricOptions | None = None,
    progress: Callable[[], None] | None = None,
    mapper: Mapper | None = None,
) -> pl.DataFrame:
    """One row per subject (in order of first appearance), METRIC_COLUMNS first."""
    rows = subject_rows(frame, options, progress, mapper)
    table = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("id").cast(frame["id"].dtype),
        pl.col("first", "last").dt.replace_time_zone("UTC"),
    )
    first = [c for c in METRIC_COLUMNS if c in table.columns]
    return table.select(first + [c for c in table.columns if c not in first])
