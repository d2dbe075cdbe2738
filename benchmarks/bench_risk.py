#!/usr/bin/env python3
"""1,000,000 synthetic rows through PREVENT (read, validate, 10 risks per row, write CSV).

python benchmarks/bench_risk.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    n = args.rows
    frame = pl.DataFrame(
        {
            "id": np.arange(n).astype(str),
            "age": rng.integers(30, 80, n),
            "sex": np.where(rng.random(n) < 0.5, "female", "male"),
            "sbp": rng.integers(95, 180, n),
            "bp_treated": rng.integers(0, 2, n),
            "total_chol": rng.integers(140, 300, n),
            "hdl_chol": rng.integers(30, 90, n),
            "chol_unit": ["mg/dL"] * n,
            "diabetes": rng.integers(0, 2, n),
            "smoker": rng.integers(0, 2, n),
            "egfr": rng.integers(30, 130, n),
            "bmi": np.round(rng.uniform(19, 39, n), 1),
            "statin": rng.integers(0, 2, n),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cohort.csv"
        frame.write_csv(src)
        start = time.perf_counter()
        subprocess.run(
            [
                "precisionrx",
                "risk",
                str(src),
                "--models",
                "prevent",
                "-o",
                str(Path(tmp) / "out.csv"),
            ],
            check=True,
        )
        elapsed = time.perf_counter() - start
    print(f"{n:,} rows through PREVENT (10 and 30 y, 5 outcomes, CSV in and out): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
