"""Every CGM metric per subject in one table: the polars group-by metrics joined with the
per-subject numpy ones (quantiles, days, active percent, ADRR, grid metrics and episodes)."""

from __future__ import annotations

from typing import Any

import polars as pl

from precisionrx.engines.monitoring.cgm_metrics import METRIC_COLUMNS, summary_metrics
from precisionrx.engines.monitoring.episodes import episodes
from precisionrx.engines.monitoring.grid import (
    day_grid,
    grid_metrics,
    hourly_auc,
    reading_stats,
    sd_measures,
)  # fmt: skip
from precisionrx.engines.monitoring.mage import MAGE_DT0, mage


def _one(part: pl.DataFrame) -> dict[str, Any]:
    if not part["time_utc"].is_sorted():
        part = part.sort("time_utc")
    local, gl = part["local"].to_numpy(), part["gl"].to_numpy()
    grid = day_grid(local, gl)
    mage_grid = grid if grid.dt0 == MAGE_DT0 else day_grid(local, gl, dt0=MAGE_DT0)
    found = episodes(grid)
    return {
        "id": part["id"][0],
        **reading_stats(local, gl, grid.dt0),
        **grid_metrics(grid),
        **sd_measures(grid),
        "auc": hourly_auc(grid),
        **mage(mage_grid),
        **{f"{k}_per_day": v["per_day"] for k, v in found.items()},
        **{f"{k}_mean_duration": v["mean_duration"] for k, v in found.items()},
        **{f"{k}_mean_glucose": v["mean_glucose"] for k, v in found.items()},
    }


def subject_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Per-subject metrics; subjects on two threads (the array work releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    parts = frame.partition_by("id", maintain_order=True)
    if len(parts) < 4:
        return [_one(p) for p in parts]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_one, parts))


def metrics_table(frame: pl.DataFrame) -> pl.DataFrame:
    linear = summary_metrics(frame)
    extra = pl.DataFrame(subject_rows(frame), infer_schema_length=None).with_columns(
        pl.col("id").cast(linear["id"].dtype)
    )
    table = linear.join(extra, on="id", how="left", maintain_order="left")
    first = [c for c in METRIC_COLUMNS if c in table.columns]
    return table.select(first + [c for c in table.columns if c not in first])
