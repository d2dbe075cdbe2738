#!/usr/bin/env python3
"""CGM metrics at scale: 1,000 patients x 1 year of 5-minute readings (~105 million readings).

Builds the readings in memory (seeded daily sine + random walk per patient, 0.5 % readings
dropped), then times what `precisionrx monitor metrics` computes after reading files: every
metric of the table (metrics_table: per patient the reading-level metrics, quantiles, ADRR,
active percent, the day grid metrics, SD components, AUC, MAGE and the episodes, on worker
processes). Goal: all in <= 60 s (issue: consensus metrics for ~105 M
readings). File parsing is not included (see the CGM readers' own numbers).

python benchmarks/bench_cgm.py [--patients 1000] [--days 365]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import polars as pl

from precisionrx.cli.monitor import subject_mapper
from precisionrx.engines.monitoring.metrics_table import metrics_table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    per = args.days * 288
    rng = np.random.default_rng(13)
    t_build = time.perf_counter()
    start = np.datetime64("2025-01-01T00:00:00", "us")
    offsets = (np.arange(per, dtype=np.int64) * 300_000_000).astype("timedelta64[us]")
    frames = []
    for p in range(args.patients):
        phase = np.arange(per) * 2 * np.pi / 288
        gl = (
            140
            + 40 * np.sin(phase + rng.uniform(0, 6.28))
            + np.cumsum(rng.normal(0, 1.5, per)) * 0.05
        )
        gl = np.clip(gl + rng.normal(0, 8, per), 40, 400)
        keep = rng.random(per) > 0.005
        local = (start + offsets)[keep]
        frames.append(pl.DataFrame({"id": np.full(keep.sum(), p, dtype=np.int32),
                                    "local": local, "gl": gl[keep]}))  # fmt: skip
    frame = pl.concat(frames).with_columns(
        pl.col("id").cast(pl.Utf8).cast(pl.Categorical),
        pl.col("local").dt.replace_time_zone("UTC").alias("time_utc"),
    )
    del frames
    n = frame.height
    print(
        f"built {n:,} readings for {args.patients} patients in {time.perf_counter() - t_build:.1f} s"
    )
    t0 = time.perf_counter()
    # The worker pool is the caller's choice (the engine takes a mapper), as in the CLI.
    with subject_mapper(frame) as mapper:
        table = metrics_table(frame, mapper=mapper)
    t1 = time.perf_counter()
    assert table.height == args.patients and table["mage"].null_count() == 0
    print(
        f"all metrics ({table.width} columns, {os.cpu_count()} worker processes) "
        f"{t1 - t0:.1f} s for {n:,} readings"
    )


if __name__ == "__main__":
    main()
