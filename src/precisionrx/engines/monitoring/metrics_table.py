"""Every CGM metric per subject in one table: the reading-level metrics (cgm_metrics.py), the
quantiles, days, active percent and ADRR, the grid metrics, MAGE and the episodes, computed
subject by subject with numpy (on worker processes for large inputs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.engines.monitoring.cgm_metrics import METRIC_COLUMNS, reading_metrics
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

#: From this many readings the subjects go to worker processes (the per-subject work is partly
#: Python, so threads would share one core); below it the start-up would cost more than it saves.
PROCESS_READINGS = 2_000_000


Arrays = tuple[Any, npt.NDArray[np.datetime64], npt.NDArray[np.datetime64], FloatArray]


@dataclass(frozen=True)
class MetricOptions:
    """The parameters iglu lets the user set, with iglu's defaults: CONGA(n) hours, MODD lag in
    days, the SD-of-ROC time lag in minutes, and MAGE's short and long moving-average windows."""

    conga_hours: float = 24.0
    modd_days: int = 1
    roc_minutes: float = 15.0
    mage_short: int = SHORT_MA
    mage_long: int = LONG_MA

    def __post_init__(self) -> None:
        if not 0 < self.mage_short < self.mage_long:
            raise ValueError("MAGE windows need 0 < short < long")
        if self.conga_hours <= 0 or self.modd_days < 1 or self.roc_minutes <= 0:
            raise ValueError("CONGA hours, MODD lag and ROC minutes must be positive")


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


def _subject_arrays(frame: pl.DataFrame) -> Iterator[Arrays]:
    for part in frame.partition_by("id", maintain_order=True):
        if not part["time_utc"].is_sorted():
            part = part.sort("time_utc")
        utc: npt.NDArray[np.datetime64] = part["time_utc"].to_numpy()
        yield part["id"][0], utc, part["local"].to_numpy(), part["gl"].to_numpy()


def _subject_metrics_args(args: tuple[Arrays, MetricOptions]) -> dict[str, Any]:
    arrays, options = args
    return subject_metrics(*arrays, options)


def subject_rows(
    frame: pl.DataFrame,
    workers: int | None = None,
    options: MetricOptions | None = None,
    progress: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Per-subject metrics, in the frame's subject order; large inputs on worker processes
    (``workers``: default the machine's cores), small ones in this process. ``progress`` is
    called once per finished subject."""
    import os
    from contextlib import ExitStack

    options = options or MetricOptions()
    jobs = ((arrays, options) for arrays in _subject_arrays(frame))
    workers = workers or os.cpu_count() or 1
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        results: Iterator[dict[str, Any]] = map(_subject_metrics_args, jobs)
        if frame.height >= PROCESS_READINGS and workers > 1 and frame["id"].n_unique() > 1:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            # spawn, not fork: the parent runs polars' thread pool, which must not be forked
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
            )
            results = pool.map(_subject_metrics_args, jobs, chunksize=4)
        for row in results:
            rows.append(row)
            if progress is not None:
                progress()
    return rows


def metrics_table(
    frame: pl.DataFrame,
    options: MetricOptions | None = None,
    progress: Callable[[], None] | None = None,
) -> pl.DataFrame:
    """One row per subject (in order of first appearance), METRIC_COLUMNS first."""
    rows = subject_rows(frame, options=options, progress=progress)
    table = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("id").cast(frame["id"].dtype),
        pl.col("first", "last").dt.replace_time_zone("UTC"),
    )
    first = [c for c in METRIC_COLUMNS if c in table.columns]
    return table.select(first + [c for c in table.columns if c not in first])
