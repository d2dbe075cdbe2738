"""CGM ingestion and metrics: formulas recomputed independently, time zones, units, errors."""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from precisionrx.engines.monitoring.metrics_table import metrics_table
from precisionrx.errors import InputError
from precisionrx.io.cgm import MGDL_PER_MMOL, read_cgm

DATA = Path(__file__).resolve().parents[1] / "data"
IGLU = DATA / "iglu_example_data_5_subject.csv"  # iglu 4.3.0 example data (GPL >= 2)
DEXCOM = DATA / "dexcom_clarity_g6_sample.csv"  # cgmquantify test file (MIT)


def _quantile7(xs: list[float], p: float) -> float:
    """R's default quantile (type 7), written out."""
    s = sorted(xs)
    h = (len(s) - 1) * p
    lo = math.floor(h)
    return s[lo] + (h - lo) * (s[min(lo + 1, len(s) - 1)] - s[lo])


def _by_hand(gl: list[float]) -> dict[str, float]:
    n = len(gl)
    mean = statistics.fmean(gl)
    sd = statistics.stdev(gl)
    pct = lambda cond: 100 * sum(1 for g in gl if cond(g)) / n  # noqa: E731
    r = [1.509 * (math.log(g) ** 1.084 - 5.381) for g in gl]  # iglu lbgi.Rd / hbgi.Rd
    grade = [425 * (math.log10(math.log10(g / 18)) + 0.16) ** 2 for g in gl]
    below54, below70 = pct(lambda g: g < 54), pct(lambda g: g < 70)
    above180, above250 = pct(lambda g: g > 180), pct(lambda g: g > 250)
    return {
        "mean": mean, "sd": sd, "cv": 100 * sd / mean, "gmi": 3.31 + 0.02392 * mean,
        "ea1c": (46.7 + mean) / 28.7, "in_range_70_180": pct(lambda g: 70 <= g <= 180),
        "in_range_63_140": pct(lambda g: 63 <= g <= 140), "below_54": below54,
        "below_70": below70, "above_180": above180, "above_250": above250,
        "lbgi": statistics.fmean(10 * min(0.0, x) ** 2 for x in r),
        "hbgi": statistics.fmean(10 * max(0.0, x) ** 2 for x in r),
        "hyper_index": sum((g - 140) ** 1.1 for g in gl if g > 140) / (30 * n),
        "hypo_index": sum((80 - g) ** 2 for g in gl if g < 80) / (30 * n),
        "grade": statistics.fmean(grade),
        "grade_hypo": 100 * sum(x for x, g in zip(grade, gl, strict=False) if g < 80) / sum(grade),
        "grade_hyper": 100 * sum(x for x, g in zip(grade, gl, strict=False) if g > 140) / sum(grade),
        "cogi": 0.5 * pct(lambda g: 70 <= g <= 180)
        + 0.35 * 100 * (1 - min(max(below70, 0), 15) / 15)
        + 0.15 * 100 * (1 - (min(max(sd, 18), 108) - 18) / 90),
        "mad": 1.4826 * statistics.median(abs(g - statistics.median(gl)) for g in gl),
        "j_index": 0.001 * (mean + sd) ** 2,
        "m_value": 1000 * statistics.fmean(abs(math.log10(g / 90)) ** 3 for g in gl),
        "gri": min(3.0 * below54 + 2.4 * (below70 - below54) + 1.6 * above250
                   + 0.8 * (above180 - above250), 100.0),
        "q25": _quantile7(gl, 0.25), "median": statistics.median(gl),
        "q75": _quantile7(gl, 0.75),
    }  # fmt: skip


def test_metrics_on_the_iglu_example_data_match_the_published_formulas() -> None:
    by_id: dict[str, list[float]] = defaultdict(list)
    with IGLU.open() as fh:
        for row in csv.DictReader(fh):
            by_id[row["id"]].append(float(row["gl"]))
    table = metrics_table(read_cgm(IGLU, "Etc/GMT+5").frame)
    assert table["id"].to_list() == sorted(by_id)
    for row in table.to_dicts():
        expected = _by_hand(by_id[row["id"]])
        assert row["n_readings"] == len(by_id[row["id"]])
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, rel=1e-11, abs=1e-12), (row["id"], name)
    # GRI zones follow the score: A below 20 ... E from 80.
    zones = dict(zip(table["id"], table["gri_zone"], strict=True))
    grades = dict(zip(table["id"], table["gri"], strict=True))
    assert all(zones[i] == "ABCDE"[min(int(grades[i] // 20), 4)] for i in zones)


def test_dexcom_clarity_export(tmp_path: Path) -> None:
    data = read_cgm(DEXCOM, "America/Los_Angeles")
    assert data.frame.height == 2148  # EGV rows only: header and 11 settings rows skipped
    first = data.frame.row(0, named=True)
    assert str(first["local"]) == "2016-10-24 11:24:17"
    assert str(first["time_utc"]).startswith("2016-10-24 18:24:17")  # PDT = UTC-7
    # Text values outside the sensor range become the range limits, and are counted.
    text = DEXCOM.read_text(encoding="utf-8-sig").splitlines()
    text[12] = text[12].replace(",EGV,,,,iPhone G6,103,", ",EGV,,,,iPhone G6,Low,")
    low = tmp_path / "low.csv"
    low.write_text("\n".join(text) + "\n")
    censored = read_cgm(low, "America/Los_Angeles")
    assert censored.frame["gl"][0] == 40.0 and any("'Low'" in c.message for c in censored.caveats)


def test_time_zones_and_daylight_saving(tmp_path: Path) -> None:
    path = tmp_path / "dst.csv"
    # 2021-11-07 01:30 happens twice in New York (EDT then EST): the earlier instant is kept.
    path.write_text("id,time,gl\na,2021-11-07 00:55:00,100\na,2021-11-07 01:30:00,110\n"
                    "a,2021-11-07T12:00:00+01:00,120\n")  # fmt: skip
    data = read_cgm(path, "America/New_York")
    utc = [str(t) for t in data.frame["time_utc"]]
    assert utc[0].startswith("2021-11-07 04:55:00") and utc[1].startswith("2021-11-07 05:30:00")
    assert utc[2].startswith("2021-11-07 11:00:00")  # explicit offset wins over --tz
    # A device exporting local time writes the repeated hour twice: the second 01:30 is the
    # later instant (EST), so no reading is lost; another subject's 01:30 is its own first.
    twice = tmp_path / "twice.csv"
    twice.write_text("id,time,gl\na,2021-11-07 01:30:00,110\na,2021-11-07 01:55:00,111\n"
                     "a,2021-11-07 01:30:00,112\nb,2021-11-07 01:30:00,90\n")  # fmt: skip
    frame = read_cgm(twice, "America/New_York").frame
    got = {(r["id"], r["gl"]): str(r["time_utc"])[:16] for r in frame.iter_rows(named=True)}
    assert got == {("a", 110.0): "2021-11-07 05:30", ("a", 111.0): "2021-11-07 05:55",
                   ("a", 112.0): "2021-11-07 06:30", ("b", 90.0): "2021-11-07 05:30"}  # fmt: skip
    gap = tmp_path / "gap.csv"
    gap.write_text("id,time,gl\na,2021-03-14 02:30:00,100\n")  # does not exist in New York
    with pytest.raises(InputError, match="daylight-saving gap") as err:
        read_cgm(gap, "America/New_York")
    assert "line 2" in str(err.value)
    assert read_cgm(gap, "Europe/London").frame.height == 1
    with pytest.raises(InputError, match="time zone"):
        read_cgm(gap, "Mars/Olympus")
    assert any("--tz" in c.message for c in read_cgm(gap).caveats)
    assert [c.code for c in read_cgm(gap).caveats] == ["no_time_zone"]


def test_units_duplicates_and_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("time,value,unit\n2024-01-01 00:00,5.5,mmol/L\n2024-01-01 00:05,99,mg/dL\n"
                    "2024-01-01 00:05,99,mg/dL\n")  # fmt: skip
    data = read_cgm(path, "UTC")
    assert data.frame["gl"].to_list() == [5.5 * MGDL_PER_MMOL, 99.0]
    assert any("repeated" in c.message for c in data.caveats)
    for body, needle in [
        ("time,value,unit\n2024-01-01 00:00,abc,mg/dL\n", "not a number"),
        ("time,value,unit\n2024-01-01 00:00,5,mg\n", "unit"),
        ("time,value,unit\n2024-01-01 00:00,5000,mg/dL\n", "line 2: glucose 5000"),
        ("time,value,unit\nyesterday,100,mg/dL\n", "ISO"),
        ("when,glucose\n2024-01-01,100\n", "unrecognised"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(body)
        with pytest.raises(InputError, match=needle):
            read_cgm(bad, "UTC")


def test_monitor_metrics_cli(tmp_path: Path) -> None:
    run = [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "metrics",
           str(IGLU), "--tz", "Etc/GMT+5"]  # fmt: skip
    proc = subprocess.run(run, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0].split(",")
    assert {"id", "mean", "sd", "cv", "gmi", "in_range_70_180", "below_54", "below_70",
            "above_180", "above_250", "lbgi", "hbgi", "j_index", "m_value", "gri"} <= set(header)  # fmt: skip
    assert len(proc.stdout.splitlines()) == 6
    out = tmp_path / "m.json"
    proc = subprocess.run([*run, "--format", "json", "-o", str(out)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0 and len(json.loads(out.read_text())["subjects"]) == 5
    # Machine-readable output is unrounded: the JSON has iglu's AUC to the last digit and the
    # CSV the same floats (shortest round-trip repr), episode rates included.
    subjects = json.loads(out.read_text())["subjects"]
    assert {s["id"]: s["auc"] for s in subjects} == pytest.approx(IGLU_AUC, rel=1e-12)
    as_csv = subprocess.run(run, capture_output=True, text=True, check=False).stdout
    rows = list(csv.DictReader(as_csv.splitlines()))
    for row, obj in zip(rows, subjects, strict=True):
        for key in ("auc", "mean", "hypo_level1_per_day", "hyper_level1_mean_glucose",
                    "hyper_level1_mean_duration"):  # fmt: skip
            assert float(row[key]) == obj[key], key
    rates = [s["hyper_level1_per_day"] for s in subjects]
    assert any(len(repr(v).split(".")[-1]) > 4 for v in rates)  # was rounded to 4 decimals
    bad = subprocess.run([*run[:-2], "--tz", "Nowhere/Zone"], capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert bad.returncode == InputError.exit_code and "Traceback" not in bad.stderr
    assert {"mage", "modd", "conga", "adrr", "active_percent", "auc", "sd_roc"} <= set(header)
    # iglu's parameters are options; CONGA(1) differs from CONGA(24); bad windows are errors.
    one = subprocess.run([*run, "--format", "json", "--conga-hours", "1"], capture_output=True,
                         text=True, check=False)  # fmt: skip
    default = json.loads(out.read_text())["subjects"]
    assert [s["conga"] for s in json.loads(one.stdout)["subjects"]] != [s["conga"] for s in default]
    swapped = subprocess.run([*run, "--mage-short", "40"], capture_output=True, text=True,
                             check=False)  # fmt: skip
    assert swapped.returncode == InputError.exit_code and "short < long" in swapped.stderr


def test_day_grid_metrics_by_hand() -> None:
    import numpy as np

    from precisionrx.engines.monitoring.grid import day_grid, grid_metrics, reading_stats

    # Two whole days, readings every 5 min from 00:05: day 1 at 100, day 2 at 120 mg/dL.
    start = np.datetime64("2024-01-01T00:05")
    times = start + np.arange(2 * 288) * np.timedelta64(5, "m")
    gl = np.where(np.arange(2 * 288) < 288, 100.0, 120.0)
    grid = day_grid(times, gl)
    assert grid.dt0 == 5.0 and grid.values.shape == (3, 288)  # ceil(2 days - 5 min + 1) = 3
    m = grid_metrics(grid)
    assert m["modd"] == pytest.approx(20.0)  # |120 - 100| at every point 24 h apart
    assert m["conga"] == pytest.approx(0.0, abs=1e-12)  # the 24-h difference never varies
    # One step of 20 mg/dL among 575 five-minute steps.
    assert m["mag"] == pytest.approx(20 / (575 * 5 / 60))
    assert m["gvp"] == pytest.approx(((math.hypot(5, 20) + 574 * 5) / (575 * 5) - 1) * 100)
    assert m["cv_mean"] == pytest.approx(0.0) and m["cv_sd"] == pytest.approx(0.0)
    # CONGA(1): 564 one-hour differences, the 12 across the step are 20; 5-minute ROC: one
    # step of 4 mg/dL/min among 575; MODD with a 2-day lag has no pair on this grid.
    other = grid_metrics(grid, conga_hours=1, modd_days=2, roc_minutes=5)
    assert other["conga"] == pytest.approx(statistics.stdev([20.0] * 12 + [0.0] * 552))
    assert other["sd_roc"] == pytest.approx(statistics.stdev([4.0] + [0.0] * 574))
    assert other["modd"] is None
    # A 60-minute gap (> 45) stays missing on the grid instead of being interpolated.
    cut = np.r_[0:100, 112:576]
    gapped = day_grid(times[cut], gl[cut])
    assert np.isnan(gapped.values[0, 100:111]).all()
    # ADRR: one day; LR and HR maxima by hand with 10 (1.509 (ln(g)^1.084 - 5.381))^2.
    local = np.array([datetime(2024, 1, 1, h) for h in (1, 2, 3)], dtype="datetime64[us]")
    risk = [10 * (1.509 * (math.log(g) ** 1.084 - 5.381)) ** 2 for g in (60.0, 250.0)]
    row = reading_stats(local, np.array([60.0, 100.0, 250.0]), 60.0)
    assert row["adrr"] == pytest.approx(risk[0] + risk[1])
    # 3 readings over 2 hours at a 60-minute interval: 3 of 3 expected.
    assert row["active_percent"] == pytest.approx(100.0) and row["days"] == pytest.approx(2 / 24)
    # iglu's documented example (active_percent.Rd): a 5-minute meter at 0, 5, 10, 15 minutes
    # with the reading at 5 missing is 75 % active.
    times = np.array([datetime(2024, 1, 1, 8, m) for m in (0, 10, 15)], dtype="datetime64[us]")
    assert reading_stats(times, np.array([100.0, 110, 120]), 5.0)["active_percent"] == 75.0


def test_consensus_targets() -> None:
    from precisionrx.engines.monitoring.consensus import assess
    from precisionrx.kb.registry import KnowledgeBase

    kb = KnowledgeBase()
    good = {"in_range_70_180": 75.0, "below_70": 3.0, "below_54": 0.5, "above_180": 20.0,
            "above_250": 4.0, "cv": 30.0, "days": 14.0, "active_percent": 80.0}  # fmt: skip
    adult = assess(good, kb, "adult")
    assert adult.all_met and adult.sufficient_data
    assert {c.metric for c in adult.checks} == {
        "in_range_70_180", "below_70", "below_54", "above_180", "above_250", "cv"
    }  # fmt: skip
    older = assess({**good, "in_range_70_180": 55.0, "below_70": 3.0}, kb, "older_high_risk")
    assert not older.all_met  # below_70 must be < 1 for older / high-risk people
    short = assess({**good, "days": 10.0}, kb, "adult")
    assert not short.sufficient_data
    with pytest.raises(InputError, match="--population"):
        assess(good, kb, "children")


def test_agp_percentiles_bands_and_svg(tmp_path: Path) -> None:
    import re
    import xml.etree.ElementTree as ET

    from precisionrx.engines.monitoring.agp import agp_data, agp_svg, daily_svg

    # Five days; at 08:00 the readings are 50, 100, 150, 200, 250 mg/dL.
    path = tmp_path / "agp.csv"
    rows = [f"p,2024-05-0{d + 1} 08:00:00,{50 * (d + 1)}" for d in range(5)]
    rows += [f"p,2024-05-0{d + 1} 20:00:00,120" for d in range(5)]
    path.write_text("id,time,gl\n" + "\n".join(rows) + "\n")
    data = agp_data(read_cgm(path, "UTC").frame, "p")
    morning = next(b for b in data.modal_day if b.minute == 480)
    # R type-7 percentiles of 50..250: 5th = 60, 25th = 100, median = 150, 75th = 200, 95th = 240.
    assert [getattr(morning, f"p{p}") for p in (5, 25, 50, 75, 95)] == [60, 100, 150, 200, 240]
    assert sum(v or 0.0 for v in data.bands.model_dump().values()) == pytest.approx(100.0)
    assert data.bands.very_low == pytest.approx(10.0) and len(data.daily) == 5
    ET.fromstring(agp_svg(data))
    ET.fromstring(daily_svg(data.daily[0]))
    out = tmp_path / "agp.html"
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "agp",
         str(DEXCOM), "--tz", "America/Los_Angeles", "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 3 and all(ET.fromstring(s) is not None for s in svgs)
    assert "Ambulatory glucose profile" in html and "70-180" in html


def test_plan_monitoring_section_finds_the_changes(tmp_path: Path) -> None:
    from datetime import timedelta

    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.plan.builder import build_plan
    from precisionrx.report.html import render

    start = datetime(2024, 6, 1)
    rows = []
    for i in range(28 * 288):  # 28 days of 5-minute readings
        t = start + timedelta(minutes=5 * i)
        later = i >= 14 * 288
        value = 140.0
        if later and i % 288 < 36:  # 00:00-03:00 in the last 14 days: lows
            value = 65.0
        elif later and i % 288 >= 200:  # and long highs in the evening
            value = 220.0
        rows.append(f"{t:%Y-%m-%d %H:%M:%S},{value}")
    (tmp_path / "cgm.csv").write_text("time,gl\n" + "\n".join(rows) + "\n")
    (tmp_path / "p.json").write_text(json.dumps({
        "id": "cgm-1", "demographics": {"sex_at_birth": "female", "age_years": 40},
        "monitoring": [{"kind": "cgm", "path": "cgm.csv", "timezone": "Europe/London"}],
    }))  # fmt: skip
    plan = build_plan(read_patient_file(tmp_path / "p.json"), KnowledgeBase())
    mon = plan.monitoring
    assert mon is not None and "monitoring" in plan.engines
    assert mon.previous is not None and mon.previous.in_range_70_180 == pytest.approx(100.0)
    assert mon.provenance is not None and mon.provenance.input_sha256
    titles = [f.title for f in plan.findings if f.domain == "monitoring"]
    assert any(t.startswith("Time in range fell") for t in titles)
    assert "Nocturnal hypoglycaemia appeared" in titles  # counted in episodes (issue 14)
    html = render("plan.html.j2", {"plan": plan.model_dump(mode="json"), "css": ""})
    assert "Glucose monitoring" in html and "Ambulatory glucose profile" in html


def test_episodes_by_the_2023_definitions() -> None:
    import numpy as np

    from precisionrx.engines.monitoring.episodes import episodes
    from precisionrx.engines.monitoring.grid import DayGrid

    day = np.full(288, 120.0)
    day[12:15] = 65  # 15 min < 70: a level-1 hypo
    day[40:42] = 60  # 10 min: too short
    day[60:64] = 50  # 20 min < 54 ...
    day[64:66] = 80  # ... 10 min back in range does not end it ...
    day[66:70] = 52  # ... so one level-2 episode of 50 min
    day[100:130] = 60  # 150 min < 70: extended
    day[200:230] = 260  # 150 min > 250
    day[230:232] = np.nan  # missing data ends an episode
    ep = episodes(DayGrid(day.reshape(1, 288), 5.0, np.datetime64("2024-01-01")))
    assert ep["hypo_level1"]["count"] == 3  # 12-15, 60-70 (merged), 100-130
    assert ep["hypo_level2"]["count"] == 1 and ep["hypo_level2"]["mean_duration"] == 50.0
    assert ep["hypo_extended"]["count"] == 1 and ep["hypo_extended"]["mean_duration"] == 150.0
    assert ep["hyper_level2"]["count"] == 1 and ep["hyper_extended"]["count"] == 1
    assert ep["hyper_level1"]["count"] == 1
    assert ep["hypo_level1"]["per_day"] == 3 / (286 * 5 / 1440)  # unrounded (10.0699...)
    # level 1 only (never below 54): 12-15 and 100-130; mean glucose of each episode's points
    assert ep["hypo_level1_excl"]["count"] == 2
    assert ep["hypo_level1_excl"]["mean_duration"] == pytest.approx((15 + 150) / 2)
    assert ep["hypo_level2"]["mean_glucose"] == pytest.approx((4 * 50 + 2 * 80 + 4 * 52) / 10)
    assert ep["hyper_level1_excl"]["count"] == 0  # the one hyper episode went above 250


def test_libreview_and_nightscout_exports(tmp_path: Path) -> None:
    us = tmp_path / "libre_us.csv"
    us.write_text(
        "Glucose Data,Generated on,01-15-2024 09:00 AM,Generated by,Someone\n"
        "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,"
        "Scan Glucose mg/dL\n"
        "FreeStyle LibreLink,ABC,01-14-2024 11:45 PM,0,95,\n"
        "FreeStyle LibreLink,ABC,01-14-2024 11:50 PM,1,,97\n"
        "FreeStyle LibreLink,ABC,01-15-2024 12:00 AM,0,101,\n"
    )
    data = read_cgm(us, "America/Chicago")
    assert data.frame["gl"].to_list() == [95.0, 101.0]  # historic only
    assert [str(t) for t in data.frame["local"]] == ["2024-01-14 23:45:00", "2024-01-15 00:00:00"]
    assert any("not used" in c.message for c in data.caveats)
    eu = tmp_path / "libre_eu.csv"
    eu.write_text(
        "Glucose Data,Generated on,15-01-2024 09:00,Generated by,Someone\n"
        "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mmol/L\n"
        "FreeStyle Libre 3,ABC,14-01-2024 23:45,0,5.3\n"
    )
    eu_data = read_cgm(eu, "Europe/Berlin")
    assert eu_data.frame["gl"][0] == pytest.approx(5.3 * MGDL_PER_MMOL)
    assert str(eu_data.frame["time_utc"][0]).startswith("2024-01-14 22:45:00")
    ns = tmp_path / "entries.json"
    ns.write_text(json.dumps([
        {"type": "sgv", "sgv": 120, "date": 1704067200000},
        {"type": "sgv", "sgv": 39, "date": 1704067500000},
        {"type": "sgv", "sgv": 5, "date": 1704067800000},
        {"type": "mbg", "mbg": 110, "date": 1704067900000},
    ]))  # fmt: skip
    night = read_cgm(ns, "UTC")
    assert night.frame["gl"].to_list() == [120.0, 40.0]
    assert str(night.frame["time_utc"][0]).startswith("2024-01-01 00:00:00")
    assert any("error codes" in c.message for c in night.caveats)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"type": "sgv", "sgv": "x", "date": 1}]')
    with pytest.raises(InputError, match="entry 1"):
        read_cgm(bad, "UTC")


def test_fhir_observations_and_open_mhealth_points(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Observation", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]},
                          "subject": {"reference": "Patient/p1"},
                          "effectiveDateTime": "2024-03-10T08:00:00+01:00",
                          "valueQuantity": {"value": 104, "unit": "mg/dL"}}},
            {"resource": {"resourceType": "Observation", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "105272-9"}]},
                          "subject": {"reference": "Patient/p1"},
                          "effectiveDateTime": "2024-03-10T08:05:00+01:00",
                          "valueQuantity": {"value": 6.1, "unit": "mmol/L"}}},
            {"resource": {"resourceType": "Observation", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                          "effectiveDateTime": "2024-03-10T08:05:00+01:00",
                          "valueQuantity": {"value": 70, "unit": "/min"}}},
        ],
    }  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    data = read_cgm(path, "UTC")
    assert data.frame["id"].to_list() == ["Patient/p1", "Patient/p1"]  # heart rate ignored
    assert data.frame["gl"].to_list() == [104.0, pytest.approx(6.1 * MGDL_PER_MMOL)]
    assert str(data.frame["time_utc"][0]).startswith("2024-03-10 07:00:00")
    omh = read_cgm(DATA / "omh_blood_glucose_with_everything.json", "UTC")
    assert omh.frame.height == 1 and omh.frame["gl"][0] > 0
    bad = tmp_path / "bad_obs.json"
    bundle["entry"][0]["resource"]["valueQuantity"] = {"unit": "mg/dL"}  # type: ignore[index]
    bad.write_text(json.dumps(bundle))
    with pytest.raises(InputError, match="Observation 1"):
        read_cgm(bad, "UTC")


def test_mage_on_a_sine_and_on_the_iglu_data() -> None:
    import numpy as np

    from precisionrx.engines.monitoring.grid import DayGrid
    from precisionrx.engines.monitoring.mage import mage

    # 150 -+ 50 mg/dL with a 4-hour period from a nadir, every 5 min: 18 rises of 100 mg/dL; 17
    # falls of 100 and a last one cut short by the end of the trace (200 -> the last value).
    t = np.arange(3 * 288)
    values = 150 - 50 * np.cos(2 * np.pi * t / 48)
    got = mage(DayGrid(values.reshape(3, 288), 5.0, np.datetime64("2024-01-01")))
    assert got["mage_plus"] == pytest.approx(100.0)
    assert got["mage_minus"] == pytest.approx((17 * 100 + 200 - values[-1]) / 18)
    assert got["mage"] == pytest.approx((got["mage_plus"] + got["mage_minus"]) / 2)
    # Starting half-way up, the first point is a crossing (vignette): the 50 mg/dL partial rise
    # to the first peak is larger than the SD (35.4) and counts among the rises.
    shifted = 150 + 50 * np.sin(2 * np.pi * t / 48)
    part = mage(DayGrid(shifted.reshape(3, 288), 5.0, np.datetime64("2024-01-01")))
    assert part["mage_plus"] == pytest.approx((50 + 17 * 100) / 18)
    assert part["mage_minus"] == pytest.approx(100.0) and part["mage_service"] == part["mage_plus"]
    flat = mage(DayGrid(np.full((1, 288), 120.0), 5.0, np.datetime64("2024-01-01")))
    assert flat["mage"] is None  # no excursion larger than one SD
    table = metrics_table(read_cgm(IGLU, "Etc/GMT+5").frame)
    assert all(m is not None and 0 < m < 300 for m in table["mage"].to_list())


def test_sd_measures_on_a_known_matrix() -> None:
    import numpy as np

    from precisionrx.engines.monitoring.grid import DayGrid, sd_measures

    # Two days x 4 time points (dt0 = 360 min, so a 1-hour window holds 2 points).
    m = np.array([[100.0, 120.0, 140.0, 160.0], [110.0, 130.0, 150.0, 170.0]])
    got = sd_measures(DayGrid(m, 360.0, np.datetime64("2024-01-01")))
    sd_day = float(np.std([100, 120, 140, 160], ddof=1))
    assert got["sdw"] == pytest.approx(sd_day)  # both days have the same spread
    assert got["sdhhmm"] == pytest.approx(float(np.std([105, 125, 145, 165], ddof=1)))
    assert got["sddm"] == pytest.approx(float(np.std([130, 140], ddof=1)))
    assert got["sdb"] == pytest.approx(float(np.std([100, 110], ddof=1)))  # 7.07 at every time
    assert got["sdbdm"] == pytest.approx(0.0)  # the days differ only by their means
    # hour-long windows (2 points) starting at every point of the series (sd_measures.Rd):
    # six steps of 20 and one of -50 across midnight
    steps = [20, 20, 20, -50, 20, 20, 20]
    assert got["sdwsh"] == pytest.approx(statistics.fmean(abs(d) / math.sqrt(2) for d in steps))


def test_mage_excursions_accumulate_and_extend() -> None:
    from precisionrx.engines.monitoring.mage import half_excursions, segment_mage

    # Alternating nadir/peak values, SD threshold 20 (Fernandes 2022 procedure):
    # 100 -> 110 and 110 -> 105 are too small; 160 counts from the lowest nadir before it (100);
    # the falls and rises after it are each larger than 20.
    assert half_excursions(np.array([100.0, 110, 105, 160, 90, 150]), 20.0) == [60, -70, 60]
    # A counted rise (100 -> 150) is extended by a higher peak (170) after a small dip (140).
    assert half_excursions(np.array([100.0, 150, 140, 170, 100]), 20.0) == [70, -70]
    # Nothing larger than the SD: no excursion.
    assert half_excursions(np.array([100.0, 110, 100, 110]), 20.0) == []
    flat = segment_mage(np.full(100, 120.0))
    assert flat["mage"] is None and flat["mage_service"] is None


def test_mage_segments_split_at_gaps_longer_than_three_hours() -> None:
    from precisionrx.engines.monitoring.mage import segments

    v = np.full(200, 100.0)
    v[50:86] = np.nan  # 36 missing 5-min points: readings 185 min apart -> split
    v[120:150] = np.nan  # 30 missing points: 155 min apart -> same segment
    assert segments(v, 5.0) == [(0, 50), (86, 200)]


def test_hourly_auc() -> None:
    from precisionrx.engines.monitoring.grid import DayGrid, hourly_auc

    # Hand-computed from auc.Rd: area (dt0/60)(g[k] + g[k+1])/2 per trapezoid, NA omitted,
    # divided by the hours the trapezoids cover -> the mean of (g[k] + g[k+1]) / 2.
    # A constant 100 mg/dL gives 100 mg/dL x h per hour, whatever the grid's length.
    grid = DayGrid(np.full((2, 288), 100.0), 5.0, np.datetime64("2024-01-01"))
    assert hourly_auc(grid) == 100.0
    # One grid day, a rise 100 -> 160 over one hour, nothing else: the mean of the line, 130.
    line = np.full((1, 288), np.nan)
    line[0, 11:24] = np.linspace(100, 160, 13)  # 01:00 .. 02:00
    assert hourly_auc(DayGrid(line, 5.0, np.datetime64("2024-01-01"))) == pytest.approx(130.0)
    # iglu pairs the points of an n-day grid n x dt0 apart (its day labels are recycled). Two
    # grid days, 100 mg/dL from 00:05 to 11:55 of day 1, then missing: 141 trapezoids of points
    # 10 min apart, all 100. A lone day-2 value at 00:05 pairs with day 1 23:55 and day 2
    # 00:15, both missing: no trapezoid at all -> None.
    two = np.full((2, 288), np.nan)
    two[0, :143] = 100.0
    assert hourly_auc(DayGrid(two, 5.0, np.datetime64("2024-01-01"))) == 100.0
    alone = np.full((2, 288), np.nan)
    alone[1, 0] = 200.0
    assert hourly_auc(DayGrid(alone, 5.0, np.datetime64("2024-01-01"))) is None
    two[1, :] = 160.0  # day 2 at 160: 286 more trapezoids (none across midnight: 23:50 and
    # 23:55 of day 1 are missing)
    expected = (141 * 100 + 286 * 160) / (141 + 286)
    assert hourly_auc(DayGrid(two, 5.0, np.datetime64("2024-01-01"))) == pytest.approx(expected)


#: iglu 4.3.0 ``auc()`` of its example_data_5_subject (R 4.4.3 through iglu-py 1.1.1, local zone
#: Asia/Jerusalem -- no clock change inside the data, so the wall-clock times are iglu's),
#: recorded in the iglu-python 0.4.3 test suite (tests/expected_results.json, PyPI sdist).
IGLU_AUC = {
    "Subject 1": 123.24619349742402, "Subject 2": 218.12088387200973,
    "Subject 3": 153.85976593038814, "Subject 4": 129.79134495437364,
    "Subject 5": 174.48613890358072,
}  # fmt: skip
#: The same, with Subject 1's readings split into one subject per calendar day.
IGLU_AUC_SUBJECT_1_DAYS = [
    140.38840362773428, 102.9573088035015, 101.65362716909404, 112.82791004159697,
    103.73188630920068, 136.14132015393878, 136.23839271219276, 114.82284180080352,
    130.82298939353714, 114.67613961069215, 120.13656109001985, 147.12487167789521,
    130.20305360616445, 153.83465404109916,
]  # fmt: skip


def test_auc_equals_iglu_4_3_output() -> None:
    import polars as pl

    frame = read_cgm(IGLU, "Etc/GMT+5").frame
    table = metrics_table(frame)
    got = dict(zip(table["id"].to_list(), table["auc"].to_list(), strict=True))
    assert got == pytest.approx(IGLU_AUC, rel=1e-12)  # acceptance: 0.5 %
    by_day = frame.filter(pl.col("id") == "Subject 1").with_columns(
        pl.col("local").dt.strftime("day %d").alias("id")
    )
    assert metrics_table(by_day)["auc"].to_list() == pytest.approx(
        IGLU_AUC_SUBJECT_1_DAYS, rel=1e-12
    )


def test_monitor_help_lists_every_command_on_one_line() -> None:
    from typer.main import get_command

    from precisionrx.cli.monitor import monitor_app

    group = get_command(monitor_app)
    names = sorted(group.commands)  # type: ignore[attr-defined]
    assert {"metrics", "agp", "alerts", "vitals"} <= set(names)
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "--help"],
        capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    words = " ".join(proc.stdout.replace("│", " ").split())
    assert "CGM metrics, the AGP page, CGM alert replay and wearable vitals" in words
    listed = {}
    for line in proc.stdout.splitlines():
        cells = line.strip("│ ").split(None, 1)
        if cells and cells[0] in names:
            listed[cells[0]] = cells[1] if len(cells) > 1 else ""
    assert sorted(listed) == names
    for name, text in listed.items():
        short = group.commands[name].get_short_help_str(limit=200)  # type: ignore[attr-defined]
        assert text.rstrip(" │") == short, name  # the whole description fits on its line


def test_agp_png_pages_and_gap_breaks(tmp_path: Path) -> None:
    from matplotlib.image import imread

    from precisionrx.engines.monitoring.agp import split_at_gaps

    # A daily profile is cut where readings are more than 20 minutes apart.
    pieces = split_at_gaps([(0, 100.0), (5, 101.0), (60, 140.0), (65, 150.0)])
    assert [len(p) for p in pieces] == [2, 2]
    repeated = split_at_gaps([(60, 100.0), (115, 101.0), (60, 102.0), (65, 103.0)][1:])
    assert [len(p) for p in repeated] == [1, 2]  # 01:55 then 01:00 again: a new piece

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "agp",
             *args], capture_output=True, text=True, check=False,
        )  # fmt: skip

    one = tmp_path / "agp.png"
    proc = run(str(DEXCOM), "--tz", "America/Los_Angeles", "-o", str(one))
    assert proc.returncode == 0, proc.stderr
    assert one.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(one)  # US letter at 110 dpi
    assert pixels.shape[:2] == (1210, 935)
    green = np.all(np.abs(pixels[..., :3] - np.array([0x3A, 0xA6, 0x55]) / 255) < 0.01, axis=-1)
    assert green.sum() > 1000  # the in-range band of the time-in-ranges bar is drawn
    # Several subjects: one page each, named after the subject; all drawn before any is written.
    many = tmp_path / "pages" / "agp.png"
    proc = run(str(IGLU), "--tz", "Etc/GMT+5", "-o", str(many))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in many.parent.iterdir()) == [
        f"agp-Subject_{i}.png" for i in range(1, 6)
    ]


def test_plan_uses_gmi_only_without_a_laboratory_hba1c(tmp_path: Path) -> None:
    from datetime import timedelta

    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.plan.builder import build_plan

    start = datetime(2024, 6, 1)
    rows = [
        f"{start + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{180.0}" for i in range(15 * 288)
    ]
    (tmp_path / "cgm.csv").write_text("time,gl\n" + "\n".join(rows) + "\n")
    labs = [
        {"name": "total cholesterol", "value": 200, "unit": "mg/dL"},
        {"name": "HDL cholesterol", "value": 45, "unit": "mg/dL"},
        {"name": "systolic blood pressure", "value": 138, "unit": "mm[Hg]"},
        {"name": "eGFR", "value": 85, "unit": "mL/min/1.73m2"},
        {"name": "BMI", "value": 27, "unit": "kg/m2"},
    ]

    def plan_for(measurements: list[dict[str, object]]) -> dict[str, object]:
        (tmp_path / "p.json").write_text(json.dumps({
            "id": "gmi-1", "demographics": {"sex_at_birth": "male", "age_years": 55},
            "measurements": measurements,
            "monitoring": [{"kind": "cgm", "path": "cgm.csv", "timezone": "UTC"}],
        }))  # fmt: skip
        plan = build_plan(read_patient_file(tmp_path / "p.json"), KnowledgeBase())
        assert plan.cardio is not None and plan.monitoring is not None
        return plan.model_dump(mode="json")

    gmi = 3.31 + 0.02392 * 180  # 7.6 %
    without = plan_for(labs)
    assert without["monitoring"]["gmi_for_risk"] == pytest.approx(gmi)
    text = json.dumps(without["cardio"])
    assert "gmi_used_as_hba1c" in text and f"GMI {gmi:.1f} %" in text
    with_lab = plan_for([*labs, {"name": "HbA1c", "value": 5.4, "unit": "%"}])
    assert "gmi_used_as_hba1c" not in json.dumps(with_lab["cardio"])

    # The HbA1c-augmented PREVENT variant runs in both, with 7.6 % vs 5.4 %: higher risk.
    def ten_year(plan: dict[str, object]) -> float:
        rows = plan["cardio"]["risk"]  # type: ignore[index]
        return next(r["risk"] for r in rows if r["model"].startswith("prevent")
                    and r["horizon_years"] == 10 and r["risk"] is not None)  # fmt: skip

    assert ten_year(without) > ten_year(with_lab)


def test_worker_processes_give_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine starts no processes: the command hands it a worker pool's map.
    from precisionrx.cli import monitor
    from precisionrx.engines.monitoring import metrics_table as mt

    frame = read_cgm(IGLU, "Etc/GMT+5").frame
    here = mt.subject_rows(frame)
    with monitor.subject_mapper(frame, workers=2) as mapper:
        assert mapper is None  # a small input stays in this process
    monkeypatch.setattr(monitor, "PROCESS_READINGS", 0)  # force the worker-process path
    with monitor.subject_mapper(frame, workers=2) as mapper:
        assert mapper is not None
        there = mt.subject_rows(frame, mapper=mapper)
    assert [r["id"] for r in there] == [r["id"] for r in here]
    assert there == here


def test_tiny_inputs_give_missing_values_not_errors(tmp_path: Path) -> None:
    # one reading (no SD), two readings, a constant trace, and a reading below 18 mg/dL (no
    # GRADE): every command still answers, with missing values instead of NaN or a crash.
    path = tmp_path / "edge.csv"
    path.write_text(
        "id,time,gl\na,2024-01-01 08:00:00,120\nb,2024-01-01 08:00:00,120\n"
        "b,2024-01-01 08:05:00,130\nc,2024-01-01 08:00:00,100\nc,2024-01-01 08:05:00,100\n"
        "c,2024-01-01 08:10:00,100\nd,2024-01-01 08:00:00,15\nd,2024-01-01 12:00:00,300\n"
    )
    base = [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor"]
    out = tmp_path / "m.json"
    for command in (["metrics", str(path), "--tz", "UTC", "--format", "json", "-o", str(out)],
                    ["agp", str(path), "--tz", "UTC", "-o", str(tmp_path / "a.html")],
                    ["agp", str(path), "--tz", "UTC", "-o", str(tmp_path / "a.png")]):  # fmt: skip
        proc = subprocess.run([*base, *command], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    rows = {s["id"]: s for s in json.loads(text)["subjects"]}
    assert rows["a"]["sd"] is None and rows["a"]["cv"] is None and rows["a"]["mean"] == 120
    assert rows["c"]["sd"] == 0 and rows["d"]["grade"] is None
    assert "–" in (tmp_path / "a.html").read_text()  # the CV of subject a cannot be shown


def test_mage_turning_points_solved_at_once_equal_the_sequential_search() -> None:
    from precisionrx.engines.monitoring import mage as m

    rng = np.random.default_rng(7)
    for trial in range(300):
        g = 150 + np.cumsum(rng.normal(0, 6, int(rng.integers(40, 600))))
        if trial % 2:
            g[rng.random(len(g)) < 0.08] = np.nan  # scattered holes
        if trial % 3 == 0:
            g[20 : 20 + int(rng.integers(5, 36))] = np.nan  # a long hole inside the segment
        delta = m.trailing_mean(g, m.SHORT_MA) - m.trailing_mean(g, m.LONG_MA)
        cross, kinds = m.crossings(delta)
        high = np.where(np.isnan(g), -np.inf, g)
        low = np.where(np.isnan(g), np.inf, g)
        sequential = g[m._turning_indexes_loop(high, low, cross.tolist(), kinds.tolist())]
        assert np.array_equal(m.turning_points(g, cross, kinds), sequential), trial


def test_a_trace_across_the_autumn_clock_change_is_not_folded(tmp_path: Path) -> None:
    from datetime import UTC, timedelta
    from zoneinfo import ZoneInfo

    # Three days of a smooth daily sine across 2026-10-25 (London clocks go back at 02:00 BST),
    # written in local wall-clock time as a device does: 01:00-01:55 appears twice.
    london = ZoneInfo("Europe/London")
    first = datetime(2026, 10, 24, 0, 10, tzinfo=london).astimezone(UTC)  # on both grids
    n = 3 * 288 + 12  # the extra hour
    rows = []
    for i in range(n):
        t = first + timedelta(minutes=5 * i)
        gl = 140 + 50 * math.sin(2 * math.pi * i / 288)
        rows.append(f"{t.astimezone(london):%Y-%m-%d %H:%M:%S},{gl:.1f}")
    path = tmp_path / "dst.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    row = metrics_table(read_cgm(path, "Europe/London").frame).row(0, named=True)
    assert row["n_readings"] == n  # the repeated hour is kept
    assert row["days"] == pytest.approx((n - 1) * 5 / 1440)  # real elapsed time
    assert row["active_percent"] == pytest.approx(100.0)
    # The same instants written in UTC: the grid-based metrics see the same real-time trace
    # (a trace folded back onto itself by the repeated local hour would not).
    utc_rows = [f"{first + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{r.split(',')[1]}"
                for i, r in enumerate(rows)]  # fmt: skip
    as_utc = tmp_path / "utc.csv"
    as_utc.write_text("time,gl\n" + "\n".join(utc_rows) + "\n")
    ref = metrics_table(read_cgm(as_utc, "UTC").frame).row(0, named=True)
    for name in ("mag", "gvp", "sd_roc", "modd", "conga", "mage"):
        assert row[name] == pytest.approx(ref[name], rel=1e-9), name


def test_metrics_as_a_fhir_bundle_with_the_cgm_ig_codes(
    tmp_path: Path, fhir_resources: Callable[[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    out = tmp_path / "cgm.fhir.json"
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "metrics",
         str(IGLU), "--tz", "Etc/GMT+5", "--format", "fhir", "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bundle = json.loads(out.read_text())
    resources = fhir_resources(bundle)
    table = metrics_table(read_cgm(IGLU, "Etc/GMT+5").frame)
    row = table.row(0, named=True)
    mine = [r for r in resources if r["subject"].get("display") == row["id"]]
    by_code = {r["code"]["coding"][0]["code"]: r for r in mine}
    assert len(mine) == 11 and len(by_code["107931-8"]["hasMember"]) == 10  # panel + members
    assert by_code["97507-8"]["valueQuantity"]["value"] == pytest.approx(row["mean"], abs=1e-4)
    assert by_code["97506-0"]["valueQuantity"]["value"] == pytest.approx(row["gmi"], abs=1e-4)
    low = row["below_70"] - row["below_54"]
    assert by_code["104641-6"]["valueQuantity"]["value"] == pytest.approx(low, abs=1e-4)
    ranges = ("104642-4", "104641-6", "97510-2", "104640-8", "104639-0")
    assert sum(by_code[c]["valueQuantity"]["value"] for c in ranges) == pytest.approx(100, abs=1e-3)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(m["reference"] in urls for m in by_code["107931-8"]["hasMember"])


def test_cgm_metrics_entry_point_is_typed_and_equals_the_table() -> None:
    # The typed entry point gives the same values as the fast table, every column, unrounded;
    # the result round-trips through JSON and names its inputs and knowledge bases.
    from precisionrx.engines.monitoring.api import cgm_metrics
    from precisionrx.engines.monitoring.metrics_table import MetricOptions
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.monitoring import CgmMetricsResult, SubjectMetrics

    readings = read_cgm(IGLU, "Etc/GMT+5")
    options = MetricOptions(conga_hours=12, population="pregnancy")
    result = cgm_metrics(readings, KnowledgeBase(), options)
    assert isinstance(result, CgmMetricsResult)
    assert all(isinstance(s, SubjectMetrics) for s in result.subjects)
    table = metrics_table(readings.frame, options)
    for subject, row in zip(result.subjects, table.iter_rows(named=True), strict=True):
        for key, value in row.items():
            if key in ("first", "last"):
                assert getattr(subject, key) == f"{value:%Y-%m-%dT%H:%M:%SZ}"
            else:
                assert getattr(subject, key) == value, key
        assert subject.consensus.population == "pregnancy"
    assert CgmMetricsResult.model_validate_json(result.model_dump_json()) == result
    prov = result.provenance
    assert prov is not None and prov.input_sha256 == readings.sha256
    assert {k.name for k in prov.knowledge_bases} >= {"monitoring"}
    assert prov.parameters["conga_hours"] == "12" and prov.parameters["population"] == "pregnancy"
    doc = result.model_dump(mode="json")
    assert list(doc) == ["subjects", "caveats", "provenance"]
    assert list(doc["subjects"][0])[:3] == ["id", "n_readings", "first"]
    assert list(doc["subjects"][0])[-1] == "consensus"


def test_plan_sections_are_typed_and_round_trip(tmp_path: Path) -> None:
    from datetime import timedelta

    from precisionrx.engines.monitoring.api import review_patient_cgm
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.monitoring import MonitoringReview, MonitoringSection

    start = datetime(2024, 6, 1)
    rows = [f"{start + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{100 + i % 50}"
            for i in range(20 * 288)]  # fmt: skip
    (tmp_path / "cgm.csv").write_text("time,gl\n" + "\n".join(rows) + "\n")
    review = review_patient_cgm(
        read_cgm(tmp_path / "cgm.csv", "UTC"), KnowledgeBase(), subject="p-1", source="cgm.csv"
    )
    assert isinstance(review.section, MonitoringSection)
    assert MonitoringReview.model_validate_json(review.model_dump_json()) == review
    section = review.section.model_dump(mode="json")
    assert list(section)[:3] == ["source", "timezone", "period_days"]
    assert list(section)[-2:] == ["caveats", "provenance"]
    assert section["current"]["id"] == "p-1" and section["agp"]["daily"] == []
    assert "profile_svg" in section["agp"] and section["previous"]["n_readings"] == 6 * 288
