#!/usr/bin/env python3
"""Per-reading latency of the streaming alert engine (goal <= 1 ms per reading).

A seeded random-walk CGM trace (5-minute readings, 10 subjects interleaved, occasional gaps and
lows) is fed reading by reading to AlertEngine.feed, the function the streaming entry point
calls; each call is timed with perf_counter_ns.

python benchmarks/bench_alerts.py [--readings 200000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from precisionrx.engines.monitoring.alerts import AlertEngine, Reading


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=200_000)
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    n_subjects = 10
    per = args.readings // n_subjects
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    walks = np.clip(120 + np.cumsum(rng.normal(0, 4, (n_subjects, per)), axis=1), 40, 400)
    readings = []
    for i in range(per):
        for s in range(n_subjects):
            if rng.random() < 0.002:
                continue  # a missed reading now and then
            readings.append(Reading(f"s{s}", t0 + timedelta(minutes=5 * i), float(walks[s, i])))
    engine = AlertEngine()
    lat = np.empty(len(readings))
    n_alerts = 0
    for k, r in enumerate(readings):
        a = time.perf_counter_ns()
        n_alerts += len(engine.feed(r))
        lat[k] = time.perf_counter_ns() - a
    ms = lat / 1e6
    print(
        f"{len(readings)} readings, {n_alerts} alerts: mean {ms.mean() * 1000:.1f} us, "
        f"p99 {np.percentile(ms, 99) * 1000:.1f} us, max {ms.max():.3f} ms per reading, "
        f"{int((ms > 1).sum())} over 1 ms"
    )


if __name__ == "__main__":
    main()
