"""CGM alert rules: replay cases with the readings that trigger them, streaming = replay."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import math
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.monitoring.alerts import (
    ALERT_FIELDS,
    ALERT_TYPES,
    Alert,
    AlertConfig,
    AlertEngine,
    Reading,
    ar2_forecast,
    linear_forecast,
    replay,
    stream,
)  # fmt: skip
from precisionrx.errors import InputError

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def ar2_by_hand(before: float, now: float, steps: int = 4) -> list[float]:
    """Nightscout 15.0.7's AR2 as the research notes give it (monitoring.md section 4):
    x = ln(bg / 140), x[t+1] = -0.723 x[t-1] + 1.716 x[t], 5-minute steps, 140 e^x."""
    x0, x1 = math.log(before / 140), math.log(now / 140)
    out = []
    for _ in range(steps):
        x0, x1 = x1, -0.723 * x0 + 1.716 * x1
        out.append(140 * math.exp(x1))
    return out


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "alerts",
         *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def series(values: Sequence[float | None], step: int = 5, subject: str = "p") -> list[Reading]:
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


def least_squares_by_hand(values: list[float], minutes: float = 20.0) -> float:
    """The line through equally spaced 5-minute readings, ``minutes`` after the last one."""
    n = len(values)
    xs = [5.0 * i for i in range(n)]
    mx, my = sum(xs) / n, sum(values) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my + slope * (xs[-1] + minutes - mx)


def first_fire_of_the_old_rule(values: list[float]) -> float:
    """The reading at which the rule before AR2 (HEAD before issue 11 item 7b) fired: the
    least-squares line through the readings of the last 15 minutes (>= 3 readings spanning >= 10
    minutes) below 55 mg/dL 20 minutes ahead."""
    for i in range(2, len(values)):
        if least_squares_by_hand(values[max(0, i - 3) : i + 1]) < 55:
            return values[i]
    raise AssertionError("never fired")


def test_predicted_low_comes_before_the_urgent_low() -> None:
    alerts = replay(series([110, 100, 90, 80, 70, 60, 50]))
    got = kinds(alerts)
    first_pred = min(m for m, k in got if k == "predicted_low")
    first_urgent = min(m for m, k in got if k == "urgent_low")
    assert first_pred < first_urgent
    pred = next(a for a in alerts if a.type == "predicted_low")
    # 110, 100, 90: the linear trend (2 mg/dL/min) reaches 50 mg/dL at +20 min, below the low
    # threshold (70), with the third reading; AR2 alone would wait for 80 (90 -> 80: 66.2).
    # The value is the forecast that fired, unrounded, and its readings are reported.
    assert (pred.time, pred.value, pred.threshold) == (T0 + timedelta(minutes=10), 50.0, 70.0)
    assert [r.value for r in pred.readings] == [110, 100, 90]
    assert min(ar2_by_hand(100, 90)) > 70 and min(ar2_by_hand(90, 80)) < 70


@pytest.mark.parametrize(
    ("rate", "old_rule", "ar2_alone", "now"),
    [(1.8, 85.0, 76.0, 103.0), (2.0, 90.0, 80.0, 100.0), (2.5, 92.5, 80.0, 105.0)],
)
def test_steady_fast_falls_alert_at_least_as_early_as_the_least_squares_rule(
    rate: float, old_rule: float, ar2_alone: float, now: float
) -> None:
    # 5-minute readings falling steadily from 130 mg/dL. The least-squares rule fired at
    # ``old_rule``, AR2 alone at ``ar2_alone`` (review of issue 11 item 7b); either forecast now
    # fires, so the alert comes at ``now`` -- never later than either.
    values = [130 - 5 * rate * i for i in range(15)]
    assert first_fire_of_the_old_rule(values) == pytest.approx(old_rule)
    alerts = [a for a in replay(series(values)) if a.type == "predicted_low"]
    first = alerts[0]
    assert first.readings[-1].value == pytest.approx(now) and now >= max(old_rule, ar2_alone)
    # the linear trend fired (its window of >= 3 readings), against the low threshold
    assert first.threshold == 70.0 and len(first.readings) >= 3
    assert first.value == pytest.approx(least_squares_by_hand([r.value for r in first.readings]))
    assert first.value == linear_forecast(first.readings, 20.0)
    # AR2 alone (two readings each time) crosses 70 at ``ar2_alone`` and not before
    ar2_first = next(b for a, b in itertools.pairwise(values) if min(ar2_by_hand(a, b)) < 70)
    assert ar2_first == pytest.approx(ar2_alone)


def test_a_fall_of_just_over_2_from_85_with_several_readings_alerts() -> None:
    # 2.05 mg/dL/min: 105.5, 95.25, 85. AR2 from the last two stays above 70 (it needs
    # >= 2.14 mg/dL/min from 85), but the linear trend reaches 44 mg/dL within 20 minutes.
    values = [105.5, 95.25, 85.0]
    assert min(ar2_by_hand(95.25, 85)) > 70
    alerts = [a for a in replay(series(values)) if a.type == "predicted_low"]
    assert kinds(alerts) == [(10, "predicted_low")]
    assert alerts[0].value == pytest.approx(85 - 20 * 2.05) and alerts[0].threshold == 70.0
    assert [r.value for r in alerts[0].readings] == values
    # from two readings only the linear trend gives nothing: no alert
    assert not [a for a in replay(series(values[1:])) if a.type == "predicted_low"]


def test_the_lower_forecast_is_reported_and_the_readings_say_which_model() -> None:
    # A fall that steepens: 120, 118, 116, then 96 (4 mg/dL/min). The line through the four
    # readings reaches 71.8 at +20 min (not a low), AR2 from 116 -> 96 68.9: AR2 fired alone.
    alerts = [a for a in replay(series([120, 118, 116, 96])) if a.type == "predicted_low"]
    assert len(alerts) == 1
    assert alerts[0].value == pytest.approx(min(ar2_by_hand(116, 96)))
    assert (alerts[0].value or 0) < least_squares_by_hand([120, 118, 116, 96])
    assert [r.value for r in alerts[0].readings] == [116, 96]
    # A steep fall that has just stopped (120, 100, then 101: a rise within sensor noise). AR2
    # from 120 -> 100 stays above 70 (72.5) and then sees a rising pair; the line through the
    # window still falls, to 59.5 mg/dL at +20 min: the linear trend fires, as the rule before
    # AR2 did (a one-reading uptick does not cancel a steep fall).
    assert min(ar2_by_hand(120, 100)) > 70
    alerts = [a for a in replay(series([120, 100, 101])) if a.type == "predicted_low"]
    assert kinds(alerts) == [(10, "predicted_low")]
    assert [r.value for r in alerts[0].readings] == [120, 100, 101]
    assert alerts[0].value == pytest.approx(least_squares_by_hand([120, 100, 101])) == 59.5


@settings(max_examples=60, deadline=None)
@given(rate=st.floats(min_value=2.2, max_value=12.0))
def test_predicted_low_from_two_readings_falling_fast(rate: float) -> None:
    # 85 mg/dL after a fall of more than 2 mg/dL/min: two readings are enough, the alert comes
    # with the second reading (AR2 crosses 70 within 20 min from 85 once the fall is >= 2.14).
    before = 85 + 5 * rate
    alerts = [a for a in replay(series([before, 85])) if a.type == "predicted_low"]
    assert kinds(alerts) == [(5, "predicted_low")]
    assert alerts[0].threshold == 70.0 and len(alerts[0].readings) == 2  # AR2 fired
    assert alerts[0].value == pytest.approx(max(min(ar2_by_hand(before, 85)), 36.0), rel=1e-12)


def test_ar2_forecast_is_nightscouts_model_and_its_horizon() -> None:
    prev, now = Reading("p", T0, 95.0), Reading("p", T0 + timedelta(minutes=5), 85.0)
    path = ar2_forecast(prev, now, 6)
    assert path == pytest.approx(ar2_by_hand(95, 85, 6), rel=1e-12)
    # 2 mg/dL/min from 85: 78.7, 74.7, 72.3, 71.0 at +20 min -- the fall slows (AR2 pulls back
    # towards 140 mg/dL), so this is not yet a predicted low; 2.2 mg/dL/min is (69.6 at +20).
    assert [round(v, 1) for v in path[:4]] == [78.7, 74.7, 72.3, 71.0]
    assert not [a for a in replay(series([95, 85])) if a.type == "predicted_low"]
    # The delta is scaled to 5 minutes: 10 minutes apart at half the step = the same forecast.
    far = Reading("p", T0 - timedelta(minutes=5), 105.0)
    assert ar2_forecast(far, now, 4) == pytest.approx(ar2_by_hand(95, 85), rel=1e-12)
    # The forecast stays within Nightscout's 36-400 mg/dL.
    assert min(ar2_forecast(Reading("p", T0, 300.0), now, 6)) == 36.0


def test_below_target_gives_the_low_alerts_not_a_duplicate_prediction() -> None:
    # Already low (68 < 70) and falling slowly: the low alert, no prediction of a low.
    assert kinds(replay(series([75, 68]))) == [(5, "low")]
    # Low and falling fast towards the urgent low: the news is the urgent low to come, so
    # predicted_low is raised against 55 (Dexcom Urgent Low Soon), beside low and rapid_fall.
    alerts = replay(series([80, 64]))
    assert sorted(kinds(alerts)) == [(5, "low"), (5, "predicted_low"), (5, "rapid_fall")]
    pred = next(a for a in alerts if a.type == "predicted_low")
    assert pred.threshold == 55.0 and pred.value == pytest.approx(min(ar2_by_hand(80, 64)))
    # Already below the urgent low: urgent_low alone, whatever the trend.
    assert kinds(replay(series([58, 50]))) == [(0, "low"), (5, "urgent_low")]
    assert kinds(replay(series([70, 50]))) == [(5, "urgent_low"), (5, "rapid_fall")]


@settings(max_examples=200, deadline=None)
@given(
    before=st.floats(min_value=40.0, max_value=400.0),
    rise=st.floats(min_value=0.0, max_value=300.0),
    minutes=st.integers(min_value=1, max_value=15),
)
def test_flat_or_rising_traces_never_predict_a_low(
    before: float, rise: float, minutes: int
) -> None:
    now = min(before + rise, 400.0)
    readings = [Reading("p", T0, before), Reading("p", T0 + timedelta(minutes=minutes), now)]
    assert not [a for a in replay(readings) if a.type == "predicted_low"]
    # the model itself: a flat or rising pair never forecasts below where it is (or 140 mg/dL)
    assert min(ar2_forecast(readings[0], readings[1], 6)) >= min(now, 140.0) - 1e-9


@settings(max_examples=200, deadline=None)
@given(
    start=st.floats(min_value=40.0, max_value=400.0),
    steps=st.lists(
        st.tuples(st.integers(min_value=1, max_value=15), st.floats(min_value=0.0, max_value=40.0)),
        min_size=2,
        max_size=12,
    ),
)
def test_flat_or_rising_windows_never_predict_a_low(
    start: float, steps: list[tuple[int, float]]
) -> None:
    # Several readings, never falling (irregular intervals within 15 minutes): neither AR2 nor
    # the linear trend over the window forecasts a low.
    readings, t, v = [Reading("p", T0, start)], T0, start
    for minutes, rise in steps:
        t, v = t + timedelta(minutes=minutes), min(v + rise, 400.0)
        readings.append(Reading("p", t, v))
    assert not [a for a in replay(readings) if a.type == "predicted_low"]
    for k in range(1, len(readings) + 1):
        assert linear_forecast(readings[:k], 20.0) is None  # a line that does not fall


def test_a_stale_gap_gives_no_forecast() -> None:
    # 120 -> 72 in 18 minutes (2.7 mg/dL/min): stale data, no rate and no forecast, although
    # AR2 on this pair (the fall scaled to 5 min) would say 54.4 mg/dL at +20 min.
    far = [Reading("p", T0, 120.0), Reading("p", T0 + timedelta(minutes=18), 72.0)]
    assert min(ar2_forecast(far[0], far[1], 4)) < 70
    assert kinds(replay(far)) == [(15, "stale_15")]
    # 25 minutes apart: the gap is reported, nothing is bridged.
    gap = [Reading("p", T0, 130.0), Reading("p", T0 + timedelta(minutes=25), 72.0)]
    assert [k for _, k in kinds(replay(gap))] == ["stale_15", "sensor_gap"]
    # A reading that arrives late (15 min after it was measured) alarms on nothing.
    late = [Reading("p", T0, 100.0),
            Reading("p", T0 + timedelta(minutes=5), 80.0, received=T0 + timedelta(minutes=20))]  # fmt: skip
    assert replay(late) == []
    # Once data resume, the next pair close together forecasts again.
    resumed = [*gap, Reading("p", T0 + timedelta(minutes=30), 62.0)]
    assert (30, "predicted_low") in kinds(replay(resumed))
    # Several readings, then stale data: the linear trend's window holds only the readings of
    # the last 15 minutes, so 130, 125, 120 followed 18 minutes later by 80, 78 give no line
    # (two readings) and AR2 on 80 -> 78 no low, although a line through all five would.
    values = [(0, 130.0), (5, 125.0), (10, 120.0), (28, 80.0), (33, 78.0)]
    stale = [Reading("p", T0 + timedelta(minutes=m), v) for m, v in values]
    assert linear_forecast(stale, 20.0) is not None and linear_forecast(stale[3:], 20.0) is None
    assert (linear_forecast(stale, 20.0) or 0) < 70 and min(
        ar2_forecast(stale[3], stale[4], 4)
    ) > 70
    assert not [a for a in replay(stale) if a.type == "predicted_low"]
    # ... and after a sensor gap the window starts again from the first reading after it.
    after_gap = [*stale[:3], *(Reading("p", r.time + timedelta(minutes=10), r.value)
                               for r in stale[3:])]  # fmt: skip
    assert "sensor_gap" in [a.type for a in replay(after_gap)]
    assert not [a for a in replay(after_gap) if a.type == "predicted_low"]
    # A window needs >= 3 readings spanning >= 10 minutes: 3 readings in 8 minutes give no line.
    short = [Reading("p", T0 + timedelta(minutes=m), v) for m, v in [(0, 100), (4, 90), (8, 80)]]
    assert linear_forecast(short, 20.0) is None


def test_alert_values_are_not_rounded() -> None:
    # 100 -> 125 in 7 minutes = 25/7 mg/dL/min (3.571 once rounded); a gap of 23 min 20 s.
    rise = replay([Reading("p", T0, 100.0), Reading("p", T0 + timedelta(minutes=7), 125.0)])
    assert [a.value for a in rise if a.type == "rapid_rise"] == [25 / 7]
    gap = replay([Reading("p", T0, 100.0), Reading("p", T0 + timedelta(seconds=1400), 101.0)])
    assert [a.value for a in gap if a.type == "sensor_gap"] == [1400 / 60]
    pred = next(a for a in replay(series([97, 85])) if a.type == "predicted_low")
    pair = series([97, 85])
    assert pred.value == min(ar2_forecast(pair[0], pair[1], 4)) != round(pred.value or 0, 1)


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
    with pytest.raises(InputError, match="cannot be set below 55"):
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
    proc = cli(str(path), "--tz", "UTC", "--low", "65")
    assert proc.returncode == 0, proc.stderr
    alerts = json.loads(proc.stdout)["alerts"]
    assert list(alerts[0]) == list(ALERT_FIELDS)  # the JSON shape is unchanged
    assert all(a["type"] in ALERT_TYPES for a in alerts)
    assert [a["type"] for a in alerts if a["type"] in ("low", "urgent_low")] == [
        "low",
        "urgent_low",
    ]
    bad = cli(str(path), "--urgent-low", "40")
    assert bad.returncode == 2 and "must be in [55, 1000] mg/dL" in bad.stderr


def test_alerts_cli_csv_has_the_json_fields(tmp_path: Path) -> None:
    path = tmp_path / "cgm.csv"
    rows = [f"p,2024-03-01 08:{5 * i:02d}:00,{v}" for i, v in enumerate([120, 90, 60, 52])]
    rows += ["p,2024-03-01 08:45:00,140", "q,2024-03-01 08:00:00,300"]
    path.write_text("id,time,gl\n" + "\n".join(rows) + "\n")
    as_json = json.loads(cli(str(path), "--tz", "UTC").stdout)["alerts"]
    out = tmp_path / "alerts.csv"
    proc = cli(str(path), "--tz", "UTC", "--format", "csv", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and f"wrote {out}" in proc.stderr
    text = out.read_text()
    assert text.splitlines()[0] == "subject,time,type,value,threshold,readings"
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == len(as_json) > 4
    for row, obj in zip(table, as_json, strict=True):
        assert (row["subject"], row["time"], row["type"]) == (obj["subject"], obj["time"],
                                                              obj["type"])  # fmt: skip
        for key in ("value", "threshold"):
            assert (float(row[key]) if row[key] else None) == obj[key]
        assert json.loads(row["readings"]) == obj["readings"]
    # the same CSV on stdout without -o; a format other than json / csv is a usage error
    assert cli(str(path), "--tz", "UTC", "--format", "csv").stdout == text
    wrong = cli(str(path), "--format", "xml")
    assert wrong.returncode == 2 and "--format" in wrong.stderr


def test_alert_thresholds_follow_the_patients_consensus_targets(tmp_path: Path) -> None:
    path = tmp_path / "cgm.csv"
    # 150 then 66 mg/dL 5 minutes later (a fall of 16.8 mg/dL/min, below --rate 20)
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

    # Adults (default): low 70, high 250 -> 150 is not high; 66 is low, and AR2 from 150 -> 66
    # goes below the urgent low within 20 min: predicted_low against 55, not against 70.
    assert types() == [("low", 70.0), ("predicted_low", 55.0)]
    # Pregnancy targets 63-140 (Battelino 2019): 150 is high, 66 is not low but falling fast
    # towards it: a predicted low against the pregnancy low threshold, from two readings.
    assert types("--population", "pregnancy") == [("high", 140.0), ("predicted_low", 63.0)]
    # An explicit threshold overrides the targets.
    assert types("--population", "pregnancy", "--high", "160") == [("predicted_low", 63.0)]
    assert types("--low", "60", "--urgent-low", "60") == [("predicted_low", 60.0)]


def test_alerts_entry_point_is_typed_and_round_trips(tmp_path: Path) -> None:
    from precisionrx.engines.monitoring.api import AlertSettings, cgm_alerts
    from precisionrx.io.cgm import read_cgm
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.monitoring import AlertsResult, AlertType

    path = tmp_path / "cgm.csv"
    rows = [f"p,2024-03-01 08:{5 * i:02d}:00,{v}" for i, v in enumerate([150, 66])]
    path.write_text("id,time,gl\n" + "\n".join(rows) + "\n")
    readings = read_cgm(path, "UTC")
    result = cgm_alerts(readings, KnowledgeBase(), AlertSettings(population="pregnancy", rate=20))
    assert isinstance(result, AlertsResult)
    assert [(a.type, a.threshold) for a in result.alerts] == [
        (AlertType.HIGH, 140.0), (AlertType.PREDICTED_LOW, 63.0)
    ]  # fmt: skip
    assert AlertsResult.model_validate_json(result.model_dump_json()) == result
    assert result.provenance is not None and result.provenance.input_sha256 == readings.sha256
    doc = result.model_dump(mode="json")
    assert list(doc) == ["alerts", "caveats", "provenance"]
    assert doc["alerts"][0]["time"] == "2024-03-01T08:00:00Z"
    with pytest.raises(InputError, match="urgent_low <= low < high"):
        cgm_alerts(readings, KnowledgeBase(), AlertSettings(low=50.0))
