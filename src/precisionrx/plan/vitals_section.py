"""Wearable vitals in the plan (Apple Health export streams, kind ``apple_health``).

Shows resting heart rate (last 14 days vs the 14 before; a rise of >= 5 bpm is reported for
review — a display threshold, not a guideline one), Apple's HRV SDNN, and the home blood
pressure of the last 14 days (ESH protocol). The home systolic mean is offered to the
cardiovascular section when the record has no office blood pressure, with a caveat.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from precisionrx.engines.monitoring.vitals import home_bp
from precisionrx.io.apple_health import read_apple_health
from precisionrx.records import Finding, PatientRecord

PERIOD = timedelta(days=14)
HR_RISE_BPM = 5.0


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def vitals_section(record: PatientRecord) -> tuple[dict[str, Any] | None, list[Finding]]:
    streams = [m for m in record.monitoring if m.kind.lower() in ("apple_health", "vitals")]
    if not streams:
        return None, []
    h = read_apple_health(streams[0].path)
    out: dict[str, Any] = {"source": streams[0].path}
    findings: list[Finding] = []
    if h.resting_hr:
        end = max(t for t, _ in h.resting_hr)
        now = _mean([v for t, v in h.resting_hr if t > end - PERIOD])
        before = _mean([v for t, v in h.resting_hr if end - 2 * PERIOD < t <= end - PERIOD])
        out["resting_heart_rate"] = {"last_14_days": now, "previous_14_days": before}
        if now is not None and before is not None and now - before >= HR_RISE_BPM:
            findings.append(Finding(
                domain="monitoring", title=f"Resting heart rate rising (+{now - before:.0f} bpm)",
                detail=f"{before:.0f} -> {now:.0f} bpm (last 14 days vs the 14 before); shown for "
                "review (5 bpm is a display threshold, not a guideline cut-off)",
                severity="info", source=streams[0].path,
            ))  # fmt: skip
    if h.hrv_sdnn:
        out["hrv_sdnn_ms"] = _mean([v for _, v in h.hrv_sdnn])
    if h.blood_pressure:
        end = h.blood_pressure[-1][0]
        recent = [(t, s, d) for t, s, d in h.blood_pressure if t > end - PERIOD]
        out["home_blood_pressure"] = home_bp(recent)
    if h.caveats:  # implausible readings dropped by the reader
        out["caveats"] = list(h.caveats)
    return out, findings
