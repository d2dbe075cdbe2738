"""CGM alert rules: replay cases with the readings that trigger them, streaming = replay."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from precisionrx.engines.monitoring.alerts import (
    ALERT_TYPES,
    Alert,
    AlertConfig,
    AlertEngine,
    Reading,
    replay,
    stream,
)  # fmt: skip

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def series(values: list[float | None], step: int = 5, subject: str = "p") -> list[Reading]:
    """Readings every ``step`` minutes; None leaves a gap."""
    return [Reading(subject, T0 + timedelta(minutes=step * i), v)
            for i, v in enumerate(values) if v is not None]  # fmt: skip


def kinds(alerts: list[Alert]) -> list[tuple[int, str]]:
    return [(int((a.time - T0).total_seconds() // 60), a.type) for a in alerts]


def test_thresholds_and_the_unsnoozable_urgent_low() -> None:
    alerts = replay(series([120, 100, 80, 68, 66, 60, 52, 50, 49, 75, 260, 265]))
    got = kinds(alerts)
    assert (15, "low") in got and (20, "low") not in got  # low repeats at most every 30 min
    assert [m for m, k in got if k == "urgent_low"] == [30, 35, 40]  # every reading below 55
    assert (50, "high") in got and (55, "high") not in got
    low = next(a for a in alerts if a.type == "low")
    assert low.value == 68 and low.threshold == 70 and [r.value for r in low.readings] == [68]


def test_predicted_low_comes_before_the_urgent_low() -> None:
    alerts = replay(series([110, 100, 90, 80, 70, 60, 50]))
    got = kinds(alerts)
    first_pred = min(m for m, k in got if k == "predicted_low")
    first_urgent = min(m for m, k in got if k == "urgent_low")
    assert first_pred < first_urgent
    pred = next(a for a in alerts if a.type == "predicted_low")
    # -2 mg/dL/min over the last 15 min: 20 min ahead is below 55; the window is reported.
    assert pred.value is not None and pred.value < 55 and len(pred.readings) >= 3


def test_rapid_rise_and_fall() -> None:
    alerts = replay(series([100, 116, 131, 131, 110]))
    rises = [a for a in alerts if a.type == "rapid_rise"]
    falls = [a for a in alerts if a.type == "rapid_fall"]
    assert rises and rises[0].value == 3.2 and [r.value for r in rises[0].readings] == [100, 116]
    assert falls and falls[0].value == -4.2


def test_stale_data_and_sensor_gap_are_never_interpolated() -> None:
    alerts = replay(series([120, 118, None, None, None, None, None, None, None, 60]))
    got = kinds(alerts)
    assert (20, "stale_15") in got and (35, "stale_30") in got and (45, "sensor_gap") in got
    gap = next(a for a in alerts if a.type == "sensor_gap")
    assert gap.value == 40.0 and [r.value for r in gap.readings] == [118, 60]
    # No rapid fall across the gap (58 mg/dL over 40 minutes is not a measured rate).
    assert not [a for a in alerts if a.type == "rapid_fall"]
    assert (45, "low") in got


def test_only_fresh_readings_alarm_and_urgent_low_cannot_be_lowered() -> None:
    late = [Reading("p", T0, 50.0, received=T0 + timedelta(minutes=12))]
    assert replay(late) == []
    with pytest.raises(ValueError, match="cannot be set below 55"):
        AlertConfig(urgent_low=50)
    personal = replay(series([78]), AlertConfig(low=80))
    assert kinds(personal) == [(0, "low")] and personal[0].threshold == 80


def test_streaming_gives_the_same_alerts_as_replay() -> None:
    readings = series([120, 100, 80, 68, 52, None, None, None, None, 200, 270])

    async def source() -> AsyncIterator[Reading]:
        for r in readings:
            yield r

    async def collect() -> list[Alert]:
        return [a async for a in stream(source())]

    assert [a.as_dict() for a in asyncio.run(collect())] == [a.as_dict() for a in replay(readings)]
    # Callback API: every alert is handed to the callback as it is raised.
    seen: list[str] = []
    callback_engine = AlertEngine(on_alert=lambda a: seen.append(a.type))
    for r in readings:
        callback_engine.feed(r)
    assert seen == [a.type for a in replay(readings)]
    # tick(): stale alerts raised by the clock without a new reading.
    engine = AlertEngine()
    engine.feed(readings[0])
    assert [a.type for a in engine.tick("p", T0 + timedelta(minutes=31))] == [
        "stale_15",
        "stale_30",
    ]


def test_alerts_cli(tmp_path: Path) -> None:
    path = tmp_path / "cgm.csv"
    rows = [f"p,2024-03-01 08:{5 * i:02d}:00,{v}" for i, v in enumerate([120, 90, 60, 52])]
    path.write_text("id,time,gl\n" + "\n".join(rows) + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "alerts",
         str(path), "--tz", "UTC", "--low", "65"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    alerts = json.loads(proc.stdout)["alerts"]
    assert {"subject", "time", "type", "value", "threshold", "readings"} <= set(alerts[0])
    assert all(a["type"] in ALERT_TYPES for a in alerts)
    assert [a["type"] for a in alerts if a["type"] in ("low", "urgent_low")] == [
        "low",
        "urgent_low",
    ]
    bad = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "alerts",
         str(path), "--urgent-low", "40"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "cannot be set below 55" in bad.stderr


def test_alert_thresholds_follow_the_patients_consensus_targets(tmp_path: Path) -> None:
    path = tmp_path / "cgm.csv"
    # two readings only: too few for a trend (no predicted low); 84 mg/dL in 5 min < 20/min
    rows = [f"p,2024-03-01 08:{5 * i:02d}:00,{v}" for i, v in enumerate([150, 66])]
    path.write_text("id,time,gl\n" + "\n".join(rows) + "\n")

    def types(*options: str) -> list[tuple[str, float]]:
        proc = subprocess.run(
            [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor",
             "alerts", str(path), "--tz", "UTC", "--rate", "20", *options],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return [(a["type"], a["threshold"]) for a in json.loads(proc.stdout)["alerts"]]

    # Adults (default): low 70, high 250 -> 66 is low, 150 is not high.
    assert types() == [("low", 70.0)]
    # Pregnancy targets 63-140 (Battelino 2019): 150 is high, 66 is not low.
    assert types("--population", "pregnancy") == [("high", 140.0)]
    # An explicit threshold overrides the targets.
    assert types("--population", "pregnancy", "--high", "160") == []
