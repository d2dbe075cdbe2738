"""Every CGM metric per subject in one table: the reading-level metrics (cgm_metrics.py), the
quantiles, days, active percent and ADRR, the grid metrics, MAGE and the episodes, computed
subject by subject with numpy (on worker processes for large inputs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.engines.monitoring.cgm_metrics import METRIC_COLUMNS, reading_metrics
from precisionrx.engines.monitoring.episodes import episodes
from precisionrx.engines.monitoring.grid import (
    FloatArray,
    day_grid,
    grid_metrics,
    hourly_auc,
    reading_stats,
    sd_measures,
)  # fmt: skip
from precisionrx.engines.monitoring.mage import MAGE_DT0, mage

#: From this many readings the subjects go to worker processes (the per-subject work is partly
#: Python, so threads would share one core); below it the start-up would cost more than it saves.
PROCESS_READINGS = 2_000_000


Arrays = tuple[Any, npt.NDArray[np.datetime64], npt.NDArray[np.datetime64], FloatArray]


def subject_metrics(
    subject: Any, utc: npt.NDArray[np.datetime64], local: npt.NDArray[np.datetime64], gl: FloatArray
) -> dict[str, Any]:
    """Every metric of one subject from its time-sorted UTC instants, local times and glucose."""
    grid = day_grid(local, gl)
    mage_grid = grid if grid.dt0 == MAGE_DT0 else day_grid(local, gl, dt0=MAGE_DT0)
    found = episodes(grid)
    return {
        "id": subject,
        "first": utc[0].astype("datetime64[us]").item(),  # naive datetime, in UTC
        "last": utc[-1].astype("datetime64[us]").item(),
        **reading_metrics(gl),
        **reading_stats(local, gl, grid.dt0),
        **grid_metrics(grid),
        **sd_measures(grid),
        "auc": hourly_auc(grid),
        **mage(mage_grid),
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


def _subject_metrics_args(args: Arrays) -> dict[str, Any]:
    return subject_metrics(*args)


def subject_rows(frame: pl.DataFrame, workers: int | None = None) -> list[dict[str, Any]]:
    """Per-subject metrics, in the frame's subject order; large inputs on worker processes
    (``workers``: default the machine's cores), small ones in this process."""
    import os

    jobs = _subject_arrays(frame)
    workers = workers or os.cpu_count() or 1
    if frame.height < PROCESS_READINGS or workers < 2 or frame["id"].n_unique() < 2:
        return [subject_metrics(*job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # spawn, not fork: the parent runs polars' thread pool, which must not be forked
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_subject_metrics_args, jobs, chunksize=4))


def metrics_table(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per subject (in order of first appearance), METRIC_COLUMNS first."""
    table = pl.DataFrame(subject_rows(frame), infer_schema_length=None).with_columns(
        pl.col("id").cast(frame["id"].dtype),
        pl.col("first", "last").dt.replace_time_zone("UTC"),
    )
    first = [c for c in METRIC_COLUMNS if c in table.columns]
    return table.select(first + [c for c in table.columns if c not in first])
