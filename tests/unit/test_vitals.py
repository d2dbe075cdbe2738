"""HRV, blood-pressure categories, home BP protocol, WHO activity, sleep; Apple Health export."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from precisionrx.engines.monitoring.vitals import (
    acc_aha_2017,
    activity,
    esh_2023,
    home_bp,
    hrv_time_domain,
    sleep,
)  # fmt: skip
from precisionrx.errors import InputError
from precisionrx.io.apple_health import read_apple_health
from precisionrx.io.cgm import read_cgm


def _vitals_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "monitor", "vitals",
         str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_hrv_time_domain_by_hand() -> None:
    nn = np.array([800.0, 810.0, 870.0, 860.0, 800.0])
    diffs = [10.0, 60.0, -10.0, -60.0]
    got = hrv_time_domain(nn)
    assert got.sdnn == pytest.approx(float(np.std(nn, ddof=1)))
    assert got.rmssd == pytest.approx(math.sqrt(sum(d * d for d in diffs) / 4))
    assert got.pnn50 == pytest.approx(100 * 2 / 5)  # two differences > 50 ms, over 5 intervals
    one = hrv_time_domain(np.array([800.0]))
    assert one.sdnn is None
    assert one.model_dump() == {"sdnn": None, "rmssd": None, "pnn50": None, "n_intervals": 1.0}


@pytest.mark.parametrize(
    ("sbp", "dbp", "acc", "esh"),
    [(118, 78, "normal", "optimal"), (125, 78, "elevated", "normal"),
     (132, 78, "stage_1", "high_normal"), (128, 82, "stage_1", "normal"),
     (145, 85, "stage_2", "grade_1"), (165, 95, "stage_2", "grade_2"),
     (185, 100, "hypertensive_crisis", "grade_3")],
)  # fmt: skip
def test_bp_categories(sbp: float, dbp: float, acc: str, esh: str) -> None:
    assert acc_aha_2017(sbp, dbp) == acc and esh_2023(sbp, dbp) == esh


def test_home_bp_discards_day_one_and_activity_sleep() -> None:
    d0 = datetime(2024, 1, 1, 7)
    readings = [(d0, 170.0, 100.0)] + [
        (d0 + timedelta(days=k, hours=h), 132.0, 84.0) for k in range(1, 7) for h in (0, 12)
    ]
    bp = home_bp(readings)
    assert bp.n == 12 and bp.mean_sbp == 132.0 and bp.esh_2023 == "high_normal"
    assert bp.home_hypertension_135_85 is False
    assert [c.code for c in bp.caveats] == ["unverified_cutoffs"]
    assert home_bp([]).model_dump() == {"n": 0}
    week = np.zeros(7 * 1440)
    week[:100] = 110  # 100 moderate minutes
    week[1440:1480] = 140  # 40 vigorous minutes = 80 moderate-equivalent
    act = activity(week, 7.0)
    assert act.moderate_minutes_per_week == 100 and act.vigorous_minutes_per_week == 40
    assert act.who_2020_met is True  # 100 + 2 x 40 = 180 >= 150
    assert sleep(420, 480, 1).model_dump() == {
        "sleep_hours_per_night": 7.0, "efficiency": 87.5, "nights": 1
    }  # fmt: skip


def test_vitals_are_not_rounded(tmp_path: Path) -> None:
    # Machine-readable output keeps full precision; rounding is for the HTML and console views.
    d0 = datetime(2024, 1, 1, 7)
    readings = [(d0 + timedelta(days=k), 130.0 + k, 80.0 + 2 * k) for k in range(4)]
    bp = home_bp(readings)  # day 1 dropped: means of days 2-4
    assert (bp.mean_sbp, bp.mean_dbp) == (float(np.mean([131, 132, 133])), 84.0)
    bp = home_bp([*readings, (d0 + timedelta(days=4), 135.0, 81.0)])
    assert bp.mean_sbp == 132.75 and bp.mean_dbp == (82 + 84 + 86 + 81) / 4
    week = np.zeros(3 * 1440)
    week[:100] = 110
    act = activity(week, 3.0)
    assert act.moderate_minutes_per_week == 100 / (3 / 7)  # 233.33..., not 233.3
    assert sleep(440, 500, 3).model_dump() == {"sleep_hours_per_night": 440 / 60 / 3,
                                               "efficiency": 88.0, "nights": 3}  # fmt: skip
    assert sleep(400, 470, 1).efficiency == 100 * 400 / 470  # 85.106..., not 85.1
    # the command: resting HR 58, 59 and 61 bpm on three days -> 59.333..., heart rate the same
    stamps = [f"2024-01-0{d} 08:00:00 +0000" for d in (1, 2, 3)]
    records = "".join(
        f'<Record type="HKQuantityTypeIdentifier{kind}" unit="count/min" startDate="{t}" '
        f'endDate="{t}" value="{v}"/>'
        for t, v in zip(stamps, (58, 59, 61), strict=True)
        for kind in ("RestingHeartRate", "HeartRate")
    )
    path = tmp_path / "export.xml"
    path.write_text(f'<?xml version="1.0"?><HealthData locale="en_GB">{records}</HealthData>')
    proc = _vitals_cli(path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["resting_heart_rate"]["mean_bpm"] == 178 / 3
    assert doc["heart_rate"]["mean_bpm"] == 178 / 3


EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_GB">
 <Record type="HKQuantityTypeIdentifierBloodGlucose" unit="mmol&lt;180.1558800000541&gt;/L" startDate="2024-01-09 12:30:00 +0100" endDate="2024-01-09 12:30:00 +0100" value="6"/>
 <Record type="HKQuantityTypeIdentifierBloodGlucose" unit="mg/dL" startDate="2024-01-09 12:35:00 +0100" endDate="2024-01-09 12:35:00 +0100" value="110"/>
 <Record type="HKQuantityTypeIdentifierRestingHeartRate" unit="count/min" startDate="2024-01-09 08:00:00 +0100" endDate="2024-01-09 08:00:00 +0100" value="58"/>
 <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" unit="ms" startDate="2024-01-09 03:00:00 +0100" endDate="2024-01-09 03:01:00 +0100" value="42"/>
 <Record type="HKQuantityTypeIdentifierStepCount" unit="count" startDate="2024-01-09 10:00:00 +0100" endDate="2024-01-09 10:10:00 +0100" value="1200"/>
 <Record type="HKCategoryTypeIdentifierSleepAnalysis" startDate="2024-01-09 23:00:00 +0100" endDate="2024-01-10 07:00:00 +0100" value="HKCategoryValueSleepAnalysisInBed"/>
 <Record type="HKCategoryTypeIdentifierSleepAnalysis" startDate="2024-01-09 23:30:00 +0100" endDate="2024-01-10 06:30:00 +0100" value="HKCategoryValueSleepAnalysisAsleepCore"/>
 <Correlation type="HKCorrelationTypeIdentifierBloodPressure" startDate="2024-01-09 07:00:00 +0100" endDate="2024-01-09 07:00:00 +0100">
  <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" unit="mmHg" startDate="2024-01-09 07:00:00 +0100" endDate="2024-01-09 07:00:00 +0100" value="128"/>
  <Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" unit="mmHg" startDate="2024-01-09 07:00:00 +0100" endDate="2024-01-09 07:00:00 +0100" value="82"/>
 </Correlation>
</HealthData>
"""


def test_apple_health_export(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(EXPORT)
    h = read_apple_health(path)
    assert [round(v, 3) for _, v in h.glucose] == [round(6 * 18.01559, 3), 110.0]
    assert h.blood_pressure[0][1:] == (128.0, 82.0) and len(h.steps) == 1 and len(h.sleep) == 2
    cgm = read_cgm(path, "Europe/London")
    assert str(cgm.frame["time_utc"][0]).startswith("2024-01-09 11:30:00")
    proc = _vitals_cli(path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["resting_heart_rate"]["mean_bpm"] == 58.0 and doc["hrv"]["sdnn_ms_mean"] == 42.0
    assert doc["home_blood_pressure"]["acc_aha_2017"] == "stage_1"
    assert doc["home_blood_pressure"]["caveats"][0]["code"] == "unverified_cutoffs"
    assert doc["provenance"]["input_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc["sleep"]["efficiency"] == pytest.approx(87.5)
    broken = tmp_path / "broken.xml"
    broken.write_text(EXPORT[:400])
    with pytest.raises(InputError, match="malformed XML"):
        read_apple_health(broken)
    # an XML declaration naming an encoding that does not exist (found by the upload fuzzer)
    odd = tmp_path / "odd.xml"
    odd.write_text('<?xml version="1.0" encoding="U-F-8"?>\n<HealthData locale="en_GB"/>\n')
    with pytest.raises(InputError, match="unknown encoding"):
        read_apple_health(odd)


def test_plan_uses_home_bp_and_reports_resting_hr(tmp_path: Path) -> None:
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.plan.builder import build_plan

    records = []
    start = datetime(2024, 2, 1, 7)
    for day in range(28):
        t = start + timedelta(days=day)
        stamp = t.strftime("%Y-%m-%d %H:%M:%S +0000")
        hr = 58 if day < 14 else 66
        records.append(f'<Record type="HKQuantityTypeIdentifierRestingHeartRate" unit="count/min" '
                       f'startDate="{stamp}" endDate="{stamp}" value="{hr}"/>')  # fmt: skip
        if day >= 20:
            records.append(
                f'<Correlation type="HKCorrelationTypeIdentifierBloodPressure" startDate="{stamp}" '
                f'endDate="{stamp}"><Record type="HKQuantityTypeIdentifierBloodPressureSystolic" '
                f'unit="mmHg" startDate="{stamp}" endDate="{stamp}" value="142"/>'
                f'<Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" unit="mmHg" '
                f'startDate="{stamp}" endDate="{stamp}" value="88"/></Correlation>'
            )  # fmt: skip
    (tmp_path / "export.xml").write_text(
        '<?xml version="1.0"?>\n<HealthData locale="en_GB">\n'
        + "\n".join(records)
        + "\n</HealthData>\n"
    )
    (tmp_path / "p.json").write_text(json.dumps({
        "id": "v-1", "demographics": {"sex_at_birth": "male", "age_years": 55, "country": "US"},
        "measurements": [
            {"name": "Total cholesterol", "value": 210, "unit": "mg/dL"},
            {"name": "HDL cholesterol", "value": 45, "unit": "mg/dL"},
            {"name": "eGFR", "value": 85, "unit": "mL/min/1.73m2"},
            {"name": "BMI", "value": 27, "unit": "kg/m2"},
        ],
        "monitoring": [{"kind": "apple_health", "path": "export.xml"}],
    }))  # fmt: skip
    plan = build_plan(read_patient_file(tmp_path / "p.json"), KnowledgeBase())
    assert plan.vitals is not None and plan.vitals.home_blood_pressure is not None
    assert plan.vitals.home_blood_pressure.mean_sbp == 142.0  # day 1 of the 8 discarded
    assert any(f.title.startswith("Resting heart rate rising (+8") for f in plan.findings)
    assert plan.cardio is not None
    assert any(c.code == "home_bp_used" for c in plan.cardio.caveats)
    base = plan.cardio.baseline
    assert base is not None and base.risk is not None
    from precisionrx.report.html import render

    html = render("plan.html.j2", {"plan": plan.model_dump(mode="json"), "css": ""})
    assert "Home blood pressure: 142.0/88.0" in html and "Resting heart rate: 66 bpm" in html


def test_vitals_from_fhir_omh_and_nn_intervals(tmp_path: Path) -> None:
    from precisionrx.io.vitals_inputs import read_vitals

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                      "effectiveDateTime": "2024-02-01T07:00:00+00:00",
                      "component": [
                          {"code": {"coding": [{"code": "8480-6"}]}, "valueQuantity": {"value": 138}},
                          {"code": {"coding": [{"code": "8462-4"}]}, "valueQuantity": {"value": 86}}]}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "40443-4"}]},
                      "effectiveDateTime": "2024-02-01T07:00:00+00:00",
                      "valueQuantity": {"value": 61}}},
    ]}  # fmt: skip
    f = tmp_path / "vitals.json"
    f.write_text(json.dumps(bundle))
    h = read_vitals(f)
    assert h.blood_pressure[0][1:] == (138.0, 86.0) and h.resting_hr[0][1] == 61.0
    omh = tmp_path / "omh.json"
    omh.write_text(json.dumps([
        {"systolic_blood_pressure": {"value": 115, "unit": "mmHg"},
         "diastolic_blood_pressure": {"value": 60, "unit": "mmHg"},
         "effective_time_frame": {"date_time": "2020-02-05T07:25:00-08:00"}},
        {"step_count": {"value": 10600, "unit": "steps"},
         "effective_time_frame": {"time_interval": {"start_date_time": "2016-02-05T06:25:00Z",
                                                    "end_date_time": "2016-02-05T07:25:00Z"}}},
        {"header": {"id": "x"}, "body": {"rr_interval": {"value": 812, "unit": "ms"}}},
    ]))  # fmt: skip
    o = read_vitals(omh)
    assert o.blood_pressure[0][1:] == (115.0, 60.0) and o.steps[0][2] == 10600 and o.rr_ms == [812]
    rr = tmp_path / "rr.csv"
    rr.write_text("rr_ms\n800\n810\n870\n860\n800\n")
    proc = _vitals_cli(rr)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hrv_nn"]["pnn50"] == pytest.approx(40.0)
    rr.write_text("rr_ms\n800\n9000\n")
    # an implausible interval is dropped with a caveat naming the line (issue 12)
    dropped = read_vitals(rr)
    assert dropped.rr_ms == [800] and "line 3" in dropped.caveats[0].message
    assert dropped.caveats[0].code == "implausible_reading"


def test_files_without_vitals_or_glucose_are_clear_errors(tmp_path: Path) -> None:
    from precisionrx.errors import InputError
    from precisionrx.io.cgm import read_cgm
    from precisionrx.io.vitals_inputs import read_vitals

    cases = {
        "header_only.csv": b"id,time,gl\n",
        "no_glucose.json": b'{"a": 1}',
        "numbers.json": b"[1, 2, 3]",
        "libre_scans_only.csv": b"Glucose Data,Generated on,01-01-2024,Generated by,x\n"
        b"Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL\n"
        b"Libre,1,01-01-2024 08:00 AM,1,\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match="no glucose readings"):
            read_cgm(tmp_path / name, "UTC")
    (tmp_path / "rr.csv").write_text("rr_ms\n")
    with pytest.raises(InputError, match="no vitals in the file"):
        read_vitals(tmp_path / "rr.csv")
    with pytest.raises(InputError, match=r"no vitals in the file \(3 other records skipped\)"):
        read_vitals(tmp_path / "numbers.json")
    (tmp_path / "binary.csv").write_bytes(b"garbage\x00\xff\xfe")
    with pytest.raises(InputError, match="is not valid UTF-8"):
        read_vitals(tmp_path / "binary.csv")


def test_vitals_entry_points_are_typed_and_round_trip(tmp_path: Path) -> None:
    from precisionrx.engines.monitoring.api import review_patient_vitals, summarise_vitals
    from precisionrx.io.vitals_inputs import read_vitals
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.monitoring import VitalsReview, VitalsSummary

    path = tmp_path / "export.xml"
    path.write_text(EXPORT)
    export = read_vitals(path)
    summary = summarise_vitals(export, KnowledgeBase())
    assert isinstance(summary, VitalsSummary) and summary.resting_heart_rate is not None
    assert VitalsSummary.model_validate_json(summary.model_dump_json()) == summary
    doc = summary.model_dump(mode="json")
    assert list(doc)[:2] == ["source", "records_skipped"] and list(doc)[-1] == "provenance"
    assert "hrv_nn" not in doc and "caveats" not in doc  # absent streams are left out
    review = review_patient_vitals(export, KnowledgeBase())
    assert VitalsReview.model_validate_json(review.model_dump_json()) == review
    assert review.section.home_sbp == 128.0 and review.section.provenance is not None
