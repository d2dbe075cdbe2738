"""Wearable streams other than glucose: HRV, resting heart rate, blood pressure, activity, sleep.

- HRV, time domain (Task Force of the ESC/NASPE 1996): ``sdnn`` = SD (n - 1) of the NN
  intervals; ``rmssd`` = sqrt(mean of squared successive differences); ``pnn50`` = % of NN
  intervals whose difference from the previous one exceeds 50 ms, over the number of intervals
  (as hrv-analysis and neurokit2 compute it). Milliseconds.
- Resting heart rate: the mean of the device's resting-HR values per day, then over days.
- Blood pressure from home readings (ESH protocol: morning and evening duplicates for 7 days,
  day 1 discarded; the mean of the rest). Categories of the mean: ACC/AHA 2017 (normal < 120 and
  < 80; elevated 120-129 and < 80; stage 1 130-139 or 80-89; stage 2 >= 140 or >= 90) and ESH 2023
  (optimal < 120 and < 80; normal 120-129 and/or 80-84; high normal 130-139 and/or 85-89;
  grade 1 140-159 and/or 90-99; grade 2 160-179 and/or 100-109; grade 3 >= 180 and/or >= 110).
  The home-BP hypertension threshold is 135/85 mmHg (ESH) — home means are compared with it too.
  These cut-offs are recalled from the guidelines and marked unverified until checked.
- Activity (WHO 2020): moderate-to-vigorous minutes per week from minute step counts
  (cadence >= 100 steps/min moderate, >= 130 vigorous; Tudor-Locke 2018); the guideline is met
  with >= 150 moderate-equivalent minutes per week (vigorous minutes count double).
- Sleep: total sleep time (asleep intervals) and efficiency = sleep / time in bed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
UNVERIFIED = "cut-offs recalled from the guideline text; not yet checked against the source"


def hrv_time_domain(nn_ms: FloatArray) -> dict[str, float | None]:
    nn = np.asarray(nn_ms, dtype=np.float64)
    if len(nn) < 2:
        return {"sdnn": None, "rmssd": None, "pnn50": None, "n_intervals": float(len(nn))}
    diff = np.diff(nn)
    return {
        "sdnn": float(np.std(nn, ddof=1)),
        "rmssd": float(math.sqrt(float(np.mean(diff**2)))),
        "pnn50": float(100 * np.sum(np.abs(diff) > 50) / len(nn)),
        "n_intervals": float(len(nn)),
        "mean_nn": float(np.mean(nn)),
    }


def acc_aha_2017(sbp: float, dbp: float) -> str:
    if sbp > 180 or dbp > 120:
        return "hypertensive_crisis"
    if sbp >= 140 or dbp >= 90:
        return "stage_2"
    if sbp >= 130 or dbp >= 80:
        return "stage_1"
    if sbp >= 120:
        return "elevated"
    return "normal"


def esh_2023(sbp: float, dbp: float) -> str:
    for s, d, name in ((180, 110, "grade_3"), (160, 100, "grade_2"), (140, 90, "grade_1"),
                       (130, 85, "high_normal"), (120, 80, "normal")):  # fmt: skip
        if sbp >= s or dbp >= d:
            return name
    return "optimal"


def home_bp(readings: list[tuple[Any, float, float]]) -> dict[str, Any]:
    """``readings`` = (local datetime, systolic, diastolic). Day 1 is discarded (ESH protocol)."""
    if not readings:
        return {"n": 0}
    days = sorted({t.date() for t, _, _ in readings})
    kept = [(t, s, d) for t, s, d in readings if len(days) < 2 or t.date() != days[0]]
    sbp = float(np.mean([s for _, s, _ in kept]))
    dbp = float(np.mean([d for _, _, d in kept]))
    caveats = [UNVERIFIED]
    if len(days) < 4:
        caveats.append("fewer than 4 days of home readings (protocol: 7 days, twice daily)")
    return {
        "n": len(kept),
        "days": len(days),
        "mean_sbp": sbp,
        "mean_dbp": dbp,
        "acc_aha_2017": acc_aha_2017(sbp, dbp),
        "esh_2023": esh_2023(sbp, dbp),
        "home_hypertension_135_85": sbp >= 135 or dbp >= 85,
        "caveats": caveats,
    }


def activity(minute_steps: FloatArray, days: float) -> dict[str, Any]:
    steps = np.asarray(minute_steps, dtype=np.float64)
    vigorous = int(np.sum(steps >= 130))
    moderate = int(np.sum((steps >= 100) & (steps < 130)))
    weeks = max(days / 7, 1e-9)
    per_week = (moderate + 2 * vigorous) / weeks
    return {
        "steps_per_day": float(steps.sum() / days) if days else None,
        "moderate_minutes_per_week": moderate / weeks,
        "vigorous_minutes_per_week": vigorous / weeks,
        "who_2020_met": per_week >= 150,
        "source": "WHO 2020 guidelines; cadence cut-points Tudor-Locke 2018",
    }


def sleep(asleep_minutes: float, in_bed_minutes: float, nights: int) -> dict[str, Any]:
    return {
        "sleep_hours_per_night": asleep_minutes / 60 / nights if nights else None,
        "efficiency": 100 * asleep_minutes / in_bed_minutes if in_bed_minutes else None,
        "nights": nights,
    }
