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

The summaries of a whole export (``monitor vitals``, :func:`summarise_export`) and of the plan's
last 14 days (:func:`review_vitals`: resting heart rate last 14 days vs the 14 before, a rise of
>= 5 bpm reported for review — a display threshold, not a guideline one — Apple's HRV SDNN and
the home blood pressure of the last 14 days) are computed here from the reader's record.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from precisionrx.io.apple_health import HealthExport
from precisionrx.records.evidence import Caveat, Finding
from precisionrx.records.monitoring import (
    Activity,
    AppleHrv,
    HeartRate,
    HomeBloodPressure,
    HrvTimeDomain,
    RestingHeartRate,
    RestingHeartRateTrend,
    Sleep,
)  # fmt: skip

FloatArray = npt.NDArray[np.float64]
UNVERIFIED = "cut-offs recalled from the guideline text; not yet checked against the source"
#: The plan's period, and the resting heart-rate rise it reports for review.
PERIOD = timedelta(days=14)
HR_RISE_BPM = 5.0


def hrv_time_domain(nn_ms: FloatArray) -> HrvTimeDomain:
    nn = np.asarray(nn_ms, dtype=np.float64)
    if len(nn) < 2:
        return HrvTimeDomain(sdnn=None, rmssd=None, pnn50=None, n_intervals=float(len(nn)))
    diff = np.diff(nn)
    return HrvTimeDomain(
        sdnn=float(np.std(nn, ddof=1)),
        rmssd=float(math.sqrt(float(np.mean(diff**2)))),
        pnn50=float(100 * np.sum(np.abs(diff) > 50) / len(nn)),
        n_intervals=float(len(nn)),
        mean_nn=float(np.mean(nn)),
    )


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


def home_bp(readings: list[tuple[datetime, float, float]]) -> HomeBloodPressure:
    """``readings`` = (local datetime, systolic, diastolic). Day 1 is discarded (ESH protocol)."""
    if not readings:
        return HomeBloodPressure(n=0)
    days = sorted({t.date() for t, _, _ in readings})
    kept = [(t, s, d) for t, s, d in readings if len(days) < 2 or t.date() != days[0]]
    sbp = float(np.mean([s for _, s, _ in kept]))
    dbp = float(np.mean([d for _, _, d in kept]))
    caveats = [Caveat(code="unverified_cutoffs", message=UNVERIFIED)]
    if len(days) < 4:
        caveats.append(Caveat(
            code="few_home_bp_days",
            message="fewer than 4 days of home readings (protocol: 7 days, twice daily)",
        ))  # fmt: skip
    return HomeBloodPressure(
        n=len(kept),
        days=len(days),
        mean_sbp=sbp,
        mean_dbp=dbp,
        acc_aha_2017=acc_aha_2017(sbp, dbp),
        esh_2023=esh_2023(sbp, dbp),
        home_hypertension_135_85=sbp >= 135 or dbp >= 85,
        caveats=caveats,
    )


def activity(minute_steps: FloatArray, days: float) -> Activity:
    steps = np.asarray(minute_steps, dtype=np.float64)
    vigorous = int(np.sum(steps >= 130))
    moderate = int(np.sum((steps >= 100) & (steps < 130)))
    weeks = max(days / 7, 1e-9)
    per_week = (moderate + 2 * vigorous) / weeks
    return Activity(
        steps_per_day=float(steps.sum() / days) if days else None,
        moderate_minutes_per_week=moderate / weeks,
        vigorous_minutes_per_week=vigorous / weeks,
        who_2020_met=per_week >= 150,
        source="WHO 2020 guidelines; cadence cut-points Tudor-Locke 2018",
    )


def sleep(asleep_minutes: float, in_bed_minutes: float, nights: int) -> Sleep:
    return Sleep(
        sleep_hours_per_night=asleep_minutes / 60 / nights if nights else None,
        efficiency=100 * asleep_minutes / in_bed_minutes if in_bed_minutes else None,
        nights=nights,
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def resting_heart_rate(h: HealthExport) -> RestingHeartRate | None:
    """The mean of the daily means of the resting heart rate, over the days with a value."""
    if not h.resting_hr:
        return None
    by_day: dict[date, list[float]] = {}
    for t, v in h.resting_hr:
        by_day.setdefault(t.date(), []).append(v)
    daily = [sum(v) / len(v) for v in by_day.values()]
    return RestingHeartRate(mean_bpm=sum(daily) / len(daily), days=len(daily))


def apple_hrv(h: HealthExport) -> AppleHrv | None:
    if not h.hrv_sdnn:
        return None
    return AppleHrv(
        sdnn_ms_mean=sum(v for _, v in h.hrv_sdnn) / len(h.hrv_sdnn),
        n=len(h.hrv_sdnn),
        note="Apple Watch SDNN over about one-minute windows, not 24-hour SDNN",
    )


def heart_rate(h: HealthExport) -> HeartRate | None:
    if not h.heart_rate:
        return None
    return HeartRate(
        mean_bpm=sum(v for _, v in h.heart_rate) / len(h.heart_rate), n=len(h.heart_rate)
    )


def step_activity(h: HealthExport) -> Activity | None:
    """WHO 2020 activity from step records: each record's cadence over its whole minutes."""
    if not h.steps:
        return None
    span = (max(e for _, e, _ in h.steps) - min(s for s, _, _ in h.steps)).total_seconds()
    cadence = [c / max((e - s).total_seconds() / 60, 1) for s, e, c in h.steps]
    minutes: list[float] = []
    for (s, e, _), rate in zip(h.steps, cadence, strict=True):
        minutes += [rate] * max(round((e - s).total_seconds() / 60), 1)
    return activity(np.array(minutes), max(span / 86400, 1))


def sleep_summary(h: HealthExport) -> Sleep | None:
    if not h.sleep:
        return None
    asleep = sum((e - s).total_seconds() / 60 for s, e, v in h.sleep if "Asleep" in v)
    in_bed = sum((e - s).total_seconds() / 60 for s, e, v in h.sleep if "InBed" in v)
    nights = len({s.date() for s, _, v in h.sleep if "InBed" in v or "Asleep" in v})
    return sleep(asleep, in_bed or asleep, nights)


def resting_trend(
    h: HealthExport, source: str
) -> tuple[RestingHeartRateTrend | None, list[Finding]]:
    """Mean resting heart rate of the last 14 days and of the 14 before, with a finding when
    it rose by ``HR_RISE_BPM`` or more."""
    if not h.resting_hr:
        return None, []
    end = max(t for t, _ in h.resting_hr)
    now = _mean([v for t, v in h.resting_hr if t > end - PERIOD])
    before = _mean([v for t, v in h.resting_hr if end - 2 * PERIOD < t <= end - PERIOD])
    findings: list[Finding] = []
    if now is not None and before is not None and now - before >= HR_RISE_BPM:
        findings.append(Finding(
            domain="monitoring", title=f"Resting heart rate rising (+{now - before:.0f} bpm)",
            detail=f"{before:.0f} -> {now:.0f} bpm (last 14 days vs the 14 before); shown for "
            "review (5 bpm is a display threshold, not a guideline cut-off)",
            severity="info", source=source,
        ))  # fmt: skip
    return RestingHeartRateTrend(last_14_days=now, previous_14_days=before), findings


def recent_home_bp(h: HealthExport) -> HomeBloodPressure | None:
    """Home blood pressure over the 14 days up to the last reading."""
    if not h.blood_pressure:
        return None
    end = h.blood_pressure[-1][0]
    return home_bp([(t, s, d) for t, s, d in h.blood_pressure if t > end - PERIOD])


def mean_hrv_sdnn(h: HealthExport) -> float | None:
    return _mean([v for _, v in h.hrv_sdnn])
