"""Accuracy and speed of the CATE learners on IHDP (realisations 1-40) and ACIC 2016
(instances 1-7), read from ``../shared/data/ml`` (never shipped in the package).

IHDP: fit on each realisation's training split (672 units), predict its test split (75 units);
sqrt(PEHE) = RMS of predicted CATE minus mu1 - mu0; eATE = |mean predicted - mean true|;
coverage = share of test units whose true CATE lies in the 95 % interval. ACIC 2016: fit and
predict on all 4,802 rows (within-sample, as the challenge scores), CATE RMSE and |ATE error|;
categorical covariates one-hot encoded.

    python benchmarks/bench_effects.py [--methods auto,t_learner,x_learner,dr,causal_forest,bcf]
        [--ihdp 1-40] [--acic 1-7] [--bootstrap 50] [--json out.json] [--speed]

``--speed`` times the command line itself (fresh processes, start-up included): ``effects fit``
with ``auto`` on IHDP realisation 1 (672 x 25) and ``effects predict`` on 100,000 rows drawn
from its covariates; median of 3 runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from precisionrx.engines.effects.cate import fit_effects

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml"


def _span(text: str) -> list[int]:
    if not text:
        return []
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def ihdp(methods: list[str], reals: list[int], bootstrap: int) -> dict[str, list[dict[str, Any]]]:
    train = np.load(SHARED / "ihdp" / "ihdp_npci_1-40.train.npz")
    test = np.load(SHARED / "ihdp" / "ihdp_npci_1-40.test.npz")
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for r in reals:
        i = r - 1
        x, t, y = train["x"][:, :, i], train["t"][:, i].astype(float), train["yf"][:, i]
        xt = test["x"][:, :, i]
        tau = test["mu1"][:, i] - test["mu0"][:, i]
        names = [f"x{j + 1}" for j in range(x.shape[1])]
        for m in methods:
            start = time.perf_counter()
            model = fit_effects(x, t, y, names, method=m, seed=0, bootstrap=bootstrap)
            cate = model.effect(xt)
            lo, hi = model.interval(xt, 0.05)
            seconds = time.perf_counter() - start
            row = {
                "realisation": r, "chosen": model.chosen,
                "pehe": float(np.sqrt(np.mean((cate - tau) ** 2))),
                "eate": float(abs(cate.mean() - tau.mean())),
                "coverage": float(np.mean((lo <= tau) & (tau <= hi))), "seconds": seconds,
            }  # fmt: skip
            out[m].append(row)
            print(f"IHDP {r:2d} {m:10s} {model.chosen:10s} sqrtPEHE {row['pehe']:.3f} "
                  f"eATE {row['eate']:.3f} cover {row['coverage']:.2f} {seconds:.1f}s",
                  flush=True)  # fmt: skip
    return out


def acic(
    methods: list[str], instances: list[int], bootstrap: int
) -> dict[str, list[dict[str, Any]]]:
    x_raw = pd.read_csv(SHARED / "acic2016" / "x.csv")
    x = pd.get_dummies(x_raw, drop_first=False).astype(float)
    xa = x.to_numpy()
    names = list(x.columns)
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for k in instances:
        z = pd.read_csv(SHARED / "acic2016" / f"zymu_{k}.csv")
        t = z["z"].to_numpy(dtype=float)
        y = np.where(t == 1, z["y1"], z["y0"]).astype(float)
        tau = (z["mu1"] - z["mu0"]).to_numpy()
        for m in methods:
            start = time.perf_counter()
            model = fit_effects(xa, t, y, names, method=m, seed=0, bootstrap=bootstrap)
            cate = model.effect(xa)
            seconds = time.perf_counter() - start
            row = {"instance": k, "chosen": model.chosen,
                   "rmse": float(np.sqrt(np.mean((cate - tau) ** 2))),
                   "ate_error": float(abs(cate.mean() - tau.mean())), "seconds": seconds}  # fmt: skip
            out[m].append(row)
            print(f"ACIC {k} {m:10s} {model.chosen:10s} RMSE {row['rmse']:.3f} "
                  f"ATEerr {row['ate_error']:.3f} {seconds:.1f}s", flush=True)  # fmt: skip
    return out


def speed(workdir: Path) -> None:
    import subprocess
    import sys

    train = np.load(SHARED / "ihdp" / "ihdp_npci_1-40.train.npz")
    names = [f"x{j + 1}" for j in range(25)]
    data = pd.DataFrame(train["x"][:, :, 0], columns=names)
    data.insert(0, "t", train["t"][:, 0].astype(int))
    data.insert(1, "y", train["yf"][:, 0])
    workdir.mkdir(parents=True, exist_ok=True)
    data.to_csv(workdir / "train.csv", index=False)
    rng = np.random.default_rng(0)
    big = data[names].iloc[rng.integers(0, len(data), 100_000)]
    big.to_csv(workdir / "predict.csv", index=False)
    exe = [str(Path(sys.executable).parent / "precisionrx")]
    steps = {
        "fit auto (672 x 25)": [*exe, "effects", "fit", str(workdir / "train.csv"), "--treatment",
                                "t", "--outcome", "y", "-o", str(workdir / "m.prxm")],
        "predict 100,000 rows": [*exe, "effects", "predict", str(workdir / "m.prxm"),
                                 str(workdir / "predict.csv"), "-o", str(workdir / "p.csv")],
    }  # fmt: skip
    for label, cmd in steps.items():
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        print(
            f"| {label} | {np.median(times):.2f} s | {[round(t, 2) for t in times]} |", flush=True
        )


def _summary(rows: list[dict[str, Any]], key: str) -> str:
    v = np.array([r[key] for r in rows])
    return f"{v.mean():.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f} (median {np.median(v):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--methods", default="auto,t_learner,x_learner,dr")
    parser.add_argument("--ihdp", default="1-40")
    parser.add_argument("--acic", default="1-7")
    parser.add_argument("--bootstrap", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--speed", action="store_true")
    args = parser.parse_args()
    if args.speed:
        speed(Path("benchmarks/data/effects"))
        return
    methods = args.methods.split(",")
    results: dict[str, Any] = {}
    if args.ihdp:
        results["ihdp"] = ihdp(methods, _span(args.ihdp), args.bootstrap)
        print("\nIHDP out-of-sample, mean ± s.e. (median) over realisations")
        for m, rows in results["ihdp"].items():
            chosen = {c: sum(r["chosen"] == c for r in rows) for c in {r["chosen"] for r in rows}}
            print(f"| {m} | {_summary(rows, 'pehe')} | {_summary(rows, 'eate')} | "
                  f"{np.mean([r['coverage'] for r in rows]):.3f} | "
                  f"{np.mean([r['seconds'] for r in rows]):.1f} | {chosen} |")  # fmt: skip
    if args.acic:
        results["acic"] = acic(methods, _span(args.acic), args.bootstrap)
        print("\nACIC 2016 within-sample, mean over instances")
        for m, rows in results["acic"].items():
            print(f"| {m} | {np.mean([r['rmse'] for r in rows]):.3f} | "
                  f"{np.mean([r['ate_error'] for r in rows]):.3f} | "
                  f"{np.mean([r['seconds'] for r in rows]):.1f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
