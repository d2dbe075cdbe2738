"""Synthetic CGM exports for tests and benchmarks."""

from __future__ import annotations

import numpy as np


def cgm_csv(days: int, seed: int = 0) -> bytes:
    """``days`` of 5-minute CGM readings (``time,gl`` in mg/dL, from 2026-08-01 00:00): a daily
    rhythm around 140 mg/dL with noise, clipped to 45-380."""
    rng = np.random.default_rng(seed)
    n = days * 288
    minutes = np.arange(n) * 5
    rhythm = 140 + 40 * np.sin(2 * np.pi * (minutes % 1440) / 1440 - 1.0)
    values = np.clip(rhythm + rng.normal(0, 18, n), 45, 380).round().astype(int)
    start = np.datetime64("2026-08-01T00:00")
    rows = [f"{str(start + np.timedelta64(int(m), 'm')).replace('T', ' ')}:00,{v}"
            for m, v in zip(minutes, values, strict=True)]  # fmt: skip
    return ("time,gl\n" + "\n".join(rows) + "\n").encode()
