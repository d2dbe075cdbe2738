"""Issue 12, input safety of measurements: plausibility limits, strict patient schema, duplicate
risk ids, defaulted inputs on results, CGM wear sufficiency per metric, bounded CGM spans and
non-regular input files."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.engines.monitoring.consensus import assess
from precisionrx.engines.monitoring.grid import day_grid
from precisionrx.errors import EngineError, InputError, PatientFileError
from precisionrx.io.cgm import read_cgm
from precisionrx.io.patient_file import read_patient_file
from precisionrx.io.risk_table import read_risk_table
from precisionrx.io.vitals_inputs import read_vitals
from precisionrx.kb.limits import limits_path, load_limits
from precisionrx.kb.registry import KnowledgeBase, verify_kbs

PATIENT = """id: p1
demographics: {sex_at_birth: female, age_years: 58}
medications: [{name: amlodipine}]
measurements:
  - {name: Total cholesterol, value: 6.1, unit: mmol/L}
  - {name: HDL cholesterol, value: 1.2, unit: mmol/L}
  - {name: Systolic blood pressure, value: SBP, unit: "mm[Hg]"}
"""
RISK_HEADER = "id,age,sex,sbp,total_chol,hdl_chol,bp_treated,diabetes,smoker,egfr,bmi,statin\n"
RISK_ROW = "{id},55,female,{sbp},200,50,0,0,0,90,27,0\n"
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- the limits table ----------------------------------------------------------------------


def test_limits_table_is_registered_verified_and_sourced() -> None:
    names = [i.name for i in KnowledgeBase().infos]
    assert "limits" in names
    assert not [p for p in verify_kbs() if p.kb == "limits"]
    limits = load_limits()
    for row in limits.rows:
        assert row.source and row.status in ("verified", "unverified")
    for key in ("heart_rate", "systolic_bp", "diastolic_bp", "glucose_cgm", "glucose_lab",
                "total_cholesterol", "hdl_cholesterol", "ldl_cholesterol", "triglycerides",
                "egfr", "creatinine", "hba1c", "bmi", "weight", "height", "age", "date",
                "cgm_span"):  # fmt: skip
        assert limits.get(key) is not None
    curated = Path(__file__).parents[2] / "tools" / "curated" / "plausibility_limits.tsv"
    assert curated.read_bytes() == limits_path().read_bytes()


# -- patient file --------------------------------------------------------------------------


def _patient(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_plan_patient_file_refuses_sbp_9999(tmp_path: Path) -> None:
    path = _patient(tmp_path, PATIENT.replace("SBP", "9999"))
    with pytest.raises(PatientFileError, match=r"measurements\[2\].*9999.*40-300"):
        read_patient_file(path)
    out = tmp_path / "plan.json"
    proc = cli("plan", str(path), "-o", str(out))
    assert proc.returncode == 7, proc.stderr
    assert "measurements[2]" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_patient_and_risk_share_the_same_limit(tmp_path: Path) -> None:
    hi = load_limits().get("systolic_bp", "mm[Hg]").max
    assert hi is not None
    read_patient_file(_patient(tmp_path, PATIENT.replace("SBP", f"{hi:g}")))
    table = tmp_path / "r.csv"
    table.write_text(RISK_HEADER + RISK_ROW.format(id="a", sbp=f"{hi:g}"))
    read_risk_table(table)
    table.write_text(RISK_HEADER + RISK_ROW.format(id="a", sbp=f"{hi + 1:g}"))
    with pytest.raises(InputError, match="row 2"):
        read_risk_table(table)
    with pytest.raises(PatientFileError):
        read_patient_file(_patient(tmp_path, PATIENT.replace("SBP", f"{hi + 1:g}")))


@SETTINGS
@given(st.one_of(st.floats(max_value=39.9, allow_nan=False), st.floats(min_value=300.1)))
def test_property_implausible_sbp_refused(tmp_path: Path, sbp: float) -> None:
    path = _patient(tmp_path, PATIENT.replace("SBP", repr(sbp).replace("inf", ".inf")))
    with pytest.raises(PatientFileError, match="measurements"):
        read_patient_file(path)


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    text = PATIENT.replace("SBP", "130").replace("medications:", "medicatons:")
    with pytest.raises(PatientFileError, match=r"'medicatons'.*did you mean 'medications'"):
        read_patient_file(_patient(tmp_path, text))
    nested = PATIENT.replace("SBP", "130").replace("{name: amlodipine}", "{name: a, dosee: 1}")
    with pytest.raises(PatientFileError, match=r"'dosee' in medications\[0\].*'dose'"):
        read_patient_file(_patient(tmp_path, nested))
    as_json = tmp_path / "p.json"
    as_json.write_text(json.dumps({"id": "x", "demographics": {"sex_at_bith": "female"}}))
    with pytest.raises(PatientFileError, match=r"in demographics.*'sex_at_birth'"):
        read_patient_file(as_json)


KNOWN = {"id", "name", "demographics", "conditions", "medications", "allergies",
         "measurements", "lifestyle", "family_history", "genomic_inputs", "monitoring",
         "input_warnings"}  # fmt: skip


@SETTINGS
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=15))
def test_property_unknown_top_level_keys_are_errors(tmp_path: Path, key: str) -> None:
    if key in KNOWN:
        return
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"id": "x", key: []}))
    with pytest.raises(PatientFileError, match=f"unknown key '{key}'"):
        read_patient_file(path)


def test_implausible_dates_and_age_in_patient_file(tmp_path: Path) -> None:
    base = PATIENT.replace("SBP", "130")
    for bad in ("0001-01-01", "9999-12-31"):
        text = base.replace('unit: "mm[Hg]"}', f'unit: "mm[Hg]", time: "{bad}"}}')
        with pytest.raises(PatientFileError, match=r"measurements\[2\].*time"):
            read_patient_file(_patient(tmp_path, text))
    with pytest.raises(PatientFileError, match="age"):
        read_patient_file(_patient(tmp_path, base.replace("age_years: 58", "age_years: 131")))


def test_demo_patient_still_loads() -> None:
    demo = Path(__file__).parents[2] / "src" / "precisionrx" / "demo" / "patient.yaml"
    assert read_patient_file(demo).medications


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom"])
def test_special_files_are_refused_by_every_reader(special: str, tmp_path: Path) -> None:
    for reader, error in ((read_patient_file, PatientFileError), (read_cgm, InputError),
                          (read_vitals, InputError), (read_risk_table, InputError)):  # fmt: skip
        with pytest.raises(error, match="not a regular file"):
            reader(special)
        with pytest.raises(error, match="directory"):
            reader(tmp_path)


# -- risk table ----------------------------------------------------------------------------


def test_duplicate_risk_ids_name_both_lines(tmp_path: Path) -> None:
    table = tmp_path / "r.csv"
    rows = [RISK_ROW.format(id=i, sbp=120) for i in ("a", "b", "a")]
    table.write_text(RISK_HEADER + "".join(rows))
    with pytest.raises(InputError, match=r"id 'a'.*lines 2 and 4"):
        read_risk_table(table)
    out = tmp_path / "out.csv"
    proc = cli("risk", str(table), "-o", str(out))
    assert proc.returncode == 2 and "lines 2 and 4" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_defaulted_flags_are_named_on_each_result(tmp_path: Path) -> None:
    table = tmp_path / "r.csv"
    table.write_text(
        "id,age,sex,sbp,total_chol,hdl_chol,egfr,bmi,smoker\n"
        "a,55,female,130,200,50,90,27,\nb,55,female,130,200,50,90,27,1\n"
    )
    proc = cli("risk", str(table), "--models", "prevent,pce,score2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["results"]
    for r in rows:
        texts = [c["message"] for c in r["caveats"] if c["code"] == "default_input"]
        if r["id"] == "a":
            assert any(t.startswith("smoker not given") for t in texts), r
        else:
            assert not any(t.startswith("smoker") for t in texts), r
        if r["model"] in ("prevent", "pce"):
            assert any(t.startswith("bp_treated not given") for t in texts)


# -- CGM ------------------------------------------------------------------------------------


def _cgm_rows(n: int, start: datetime, step: int = 5, gl: float = 120.0) -> list[str]:
    return [f"{(start + timedelta(minutes=step * i)):%Y-%m-%d %H:%M},{gl}" for i in range(n)]


@SETTINGS
@given(st.sampled_from([0.0, 5.0, 5000.0, -1.0, 1e9]), st.integers(min_value=0, max_value=9))
def test_property_implausible_glucose_dropped_and_named(
    tmp_path: Path, value: float, where: int
) -> None:
    rows = _cgm_rows(10, datetime(2024, 1, 1))
    rows[where] = rows[where].rsplit(",", 1)[0] + f",{value:g}"
    path = tmp_path / "g.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    data = read_cgm(path, "UTC")
    assert data.frame.height == 9 and data.frame["gl"].max() == 120.0
    note = next(c.message for c in data.caveats if c.code == "implausible_reading")
    assert str(path) in note and f"line {where + 2}" in note


@SETTINGS
@given(st.sampled_from(["0001-01-01 00:00", "1066-10-14 09:00", "9999-12-31 23:59",
                        f"{datetime.now().year + 5}-01-01 00:00"]))  # fmt: skip
def test_property_implausible_dates_dropped(tmp_path: Path, stamp: str) -> None:
    rows = _cgm_rows(10, datetime(2024, 1, 1))
    rows.insert(3, f"{stamp},130")
    path = tmp_path / "d.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    data = read_cgm(path, "UTC")
    assert data.frame.height == 10
    assert any("line 5" in c.message for c in data.caveats if c.code == "implausible_reading")


def test_span_limit_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "span.csv"
    path.write_text("time,gl\n1950-01-01 00:00,120\n2024-01-01 00:00,130\n")
    with pytest.raises(InputError, match="over the 3,660-day limit"):
        read_cgm(path, "UTC")
    local = np.array(["1950-01-01T00:00", "2024-01-01T00:00"], dtype="datetime64[s]")
    with pytest.raises(EngineError, match="day limit"):
        day_grid(local, np.array([120.0, 130.0]))
    proc = cli("monitor", "metrics", str(path), "--tz", "UTC", "-o", str(tmp_path / "m.csv"))
    assert proc.returncode == 2 and "span" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.csv").exists()


def test_year_one_and_9999_readings_do_not_blow_up(tmp_path: Path) -> None:
    rows = ["0001-01-01 00:00,120", *_cgm_rows(20, datetime(2024, 1, 1)), "9999-01-01 00:00,130"]
    path = tmp_path / "y.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    proc = cli("monitor", "metrics", str(path), "--tz", "UTC", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert any("line 2" in c["message"] and "line 23" in c["message"] for c in doc["caveats"])


def test_insufficient_wear_is_said_on_each_metric() -> None:
    kb = KnowledgeBase()
    short = {"days": 3.0, "active_percent": 95.0, "dt0": 5.0, "in_range_70_180": 80.0,
             "below_70": 1.0, "below_54": 0.0, "above_180": 10.0, "above_250": 1.0, "cv": 30.0}  # fmt: skip
    result = assess(short, kb, "adult")
    assert result.sufficient_data is False
    assert all(c.caveat is not None and c.caveat.code == "insufficient_data"
               for c in result.checks)  # fmt: skip
    first = result.checks[0].caveat
    assert first is not None and first.message.startswith("3.0 days at 95 %")
    full = assess({**short, "days": 20.0}, kb, "adult")
    assert all("caveat" not in c for c in full.model_dump(mode="json")["checks"])


def test_bom_utf16_and_crlf_cgm_files_read(tmp_path: Path) -> None:
    text = "time,gl\r\n" + "\r\n".join(_cgm_rows(5, datetime(2024, 1, 1))) + "\r\n"
    for name, data in (("bom.csv", b"\xef\xbb\xbf" + text.encode()),
                       ("u16.csv", text.encode("utf-16"))):  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data)
        assert read_cgm(path, "UTC").frame.height == 5


# -- vitals ---------------------------------------------------------------------------------


def _omh_hr(values: list[float]) -> list[dict[str, object]]:
    return [
        {"heart_rate": {"value": v, "unit": "beats/min"},
         "effective_time_frame": {"date_time": f"2024-01-01T08:{i:02d}:00+00:00"}}
        for i, v in enumerate(values)
    ]  # fmt: skip


@SETTINGS
@given(st.sampled_from([-70.0, 0.0, 99999.0, 25000.0]))
def test_property_implausible_heart_rate_dropped(tmp_path: Path, bad: float) -> None:
    path = tmp_path / "hr.json"
    path.write_text(json.dumps(_omh_hr([60.0, bad, 70.0])))
    h = read_vitals(path)
    assert [v for _, v in h.heart_rate] == [60.0, 70.0]
    assert "data point 2" in h.caveats[0].message and str(path) in h.caveats[0].message


def test_implausible_blood_pressure_dropped(tmp_path: Path) -> None:
    points = [
        {"systolic_blood_pressure": {"value": s, "unit": "mmHg"},
         "diastolic_blood_pressure": {"value": d, "unit": "mmHg"},
         "effective_time_frame": {"date_time": f"2024-01-0{k + 1}T08:00:00+00:00"}}
        for k, (s, d) in enumerate([(9999, 80), (120, 80), (80, 120)])
    ]  # fmt: skip
    path = tmp_path / "bp.json"
    path.write_text(json.dumps(points))
    h = read_vitals(path)
    assert [(s, d) for _, s, d in h.blood_pressure] == [(120.0, 80.0)]
    assert "data point 1" in h.caveats[0].message and "data point 3" in h.caveats[0].message


# -- review fixes (issue 12) ----------------------------------------------------------------


def test_mmol_values_in_a_gl_column_are_refused_not_misread(tmp_path: Path) -> None:
    rows = [f"p1,{(datetime(2024, 1, 1) + timedelta(minutes=5 * i)):%Y-%m-%dT%H:%M:%S},"
            f"{6 + (i % 70) / 10:.1f}" for i in range(600)]  # fmt: skip
    path = tmp_path / "mmol.csv"
    path.write_text("id,time,gl\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="mmol/L") as info:
        read_cgm(path, "UTC")
    assert "time,value,unit" in str(info.value) and str(path) in str(info.value)
    proc = cli("monitor", "metrics", str(path), "--tz", "UTC", "--format", "json")
    assert proc.returncode == 2 and "mmol/L" in proc.stderr and "Traceback" not in proc.stderr


def test_many_implausible_readings_refuse_the_file(tmp_path: Path) -> None:
    rows = _cgm_rows(1000, datetime(2024, 1, 1))
    for k in range(0, 1000, 10):  # 10 % at 5000 mg/dL: a unit or layout error, not noise
        rows[k] = rows[k].rsplit(",", 1)[0] + ",5000"
    path = tmp_path / "many.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"100 of 1,000 glucose readings.*line 2"):
        read_cgm(path, "UTC")
    rows = _cgm_rows(1000, datetime(2024, 1, 1))
    rows[500] = rows[500].rsplit(",", 1)[0] + ",5000"  # one isolated reading: dropped
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    assert read_cgm(path, "UTC").frame.height == 999


def test_dropped_readings_keep_only_the_first_items() -> None:
    from precisionrx.kb.limits import DroppedReadings

    log = DroppedReadings("f.csv")
    for i in range(1000):
        log.add(f"line {i}", "bad")
    log.add_many(10**8, [("line x", "bad")] * 5)
    assert len(log.items) == 5 and len(log) == 10**8 + 1000
    assert "and 100,000,995 more" in (log.caveat() or "")


def test_large_plain_cgm_csv_is_read_from_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import precisionrx.io.cgm as cgm

    def no_text(*args: object, **kwargs: object) -> str:
        raise AssertionError("a large plain CSV must not be read as one Python string")

    monkeypatch.setattr(cgm, "SMALL_FILE", 10)
    monkeypatch.setattr(cgm, "read_text", no_text)
    rows = _cgm_rows(300, datetime(2024, 1, 1))
    path = tmp_path / "big.csv"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    assert read_cgm(path, "UTC").frame.height == 300
    rows[250] += ",extra"
    path.write_text("time,gl\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"line 252.*3 field"):
        read_cgm(path, "UTC")
    path.write_bytes(b"time,gl\n2024-01-01 00:00,120\n2024-01-01 00:05,1\xe90\n")
    with pytest.raises(InputError, match="line 3, column 19"):
        read_cgm(path, "UTC")


def test_block_checks_name_the_right_line_across_blocks(tmp_path: Path) -> None:
    from precisionrx.io.textio import check_csv_file

    lines = ["a,b"] + [f"{i},{i}" for i in range(1, 500)]
    lines[377] = "1,2,3"
    path = tmp_path / "r.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    for block in (7, 64, 1000, 1 << 20):
        with pytest.raises(InputError, match="line 378"):
            check_csv_file(path, block_size=block)
    lines[377] = '"1,2",3'
    path.write_text("\n".join(lines) + "\n")
    check_csv_file(path, block_size=50)


def test_error_lines_of_libreview_dexcom_and_fhir_cgm(tmp_path: Path) -> None:
    libre = tmp_path / "libre.csv"
    libre.write_text(
        "Glucose Data,Generated on,01-20-2024 10:00 AM,Generated by,X\n"
        "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL\n"
        "FreeStyle,ABC,01-01-2024 08:00 AM,0,100,\n"
        "FreeStyle,ABC,01-01-2024 08:05 AM,1,,120\n"
        "FreeStyle,ABC,01-01-2024 08:15 AM,0,abc,\n"
    )  # fmt: skip
    with pytest.raises(InputError, match="line 5"):
        read_cgm(libre, "UTC")
    libre.write_text(libre.read_text().replace("0,abc", "0,110").replace(
        "01-01-2024 08:15 AM", "31-31-2024 99:99"))  # fmt: skip
    with pytest.raises(InputError, match="line 5"):
        read_cgm(libre, "UTC")
    dexcom = tmp_path / "dexcom.csv"
    dexcom.write_text(
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Glucose Value (mg/dL)\n"
        "1,,FirstName,\n2,2024-01-01T00:00:00,EGV,100\n3,2024-01-01T00:05:00,EGV,x\n"
    )
    with pytest.raises(InputError, match="line 4"):
        read_cgm(dexcom, "UTC")
    obs = [{"resourceType": "Observation", "code": {"coding": [{"code": c}]},
            "effectiveDateTime": t, "valueQuantity": {"value": 100}}
           for c, t in (("8867-4", "x"), ("99504-3", "2024-01-01T00:00:00Z"),
                        ("99504-3", "not a time"))]  # fmt: skip
    fhir = tmp_path / "obs.json"
    fhir.write_text(json.dumps(obs))
    with pytest.raises(InputError, match="Observation 3"):
        read_cgm(fhir, "UTC")


MEASURE = "id: p1\nmeasurements:\n  - {{name: {name}, value: {value}, unit: {unit}{extra}}}\n"


@pytest.mark.parametrize(
    ("name", "value", "unit", "extra"),
    [("Creatinine [Mass/volume] in Urine", 120, "mg/dL", ""),
     ("Urine creatinine", 9000, "umol/L", ""),
     ("Creatinine 24h urine", 150, "mg/dL", ""),
     ("Creatinine", 120, "mg/dL", ", code: 2161-8, system: 'http://loinc.org'"),
     ("Fundal height", 18, "cm", ""),
     ("Glucose [Mass/volume] in Urine", 5000, "mg/dL", "")],
)  # fmt: skip
def test_other_specimens_are_not_refused_as_serum_or_body_values(
    tmp_path: Path, name: str, value: float, unit: str, extra: str
) -> None:
    text = MEASURE.format(name=f"'{name}'", value=value, unit=unit, extra=extra)
    assert read_patient_file(_patient(tmp_path, text)).measurements[0].value == value


@pytest.mark.parametrize(
    ("name", "unit", "extra"),
    [("Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", ""),
     ("Serum creatinine", "umol/L", ""),
     ("Creatinine", "mg/dL", ", code: 2160-0, system: 'http://loinc.org'"),
     ("Something", "mg/dL", ", code: 2160-0"),
     ("Glucose [Mass/volume] in Serum or Plasma", "mg/dL", ""),
     ("Body height", "cm", ""),
     ("eGFR", "mL/min/{1.73_m2}", "")],
)  # fmt: skip
def test_serum_and_body_measurements_are_still_checked(
    tmp_path: Path, name: str, unit: str, extra: str
) -> None:
    text = MEASURE.format(name=f"'{name}'", value=99999, unit=f"'{unit}'", extra=extra)
    with pytest.raises(PatientFileError, match="outside the plausible range"):
        read_patient_file(_patient(tmp_path, text))


@pytest.mark.parametrize(
    "text",
    ["id: p1\nmeasurements: [{name: Potassium, value: .nan, unit: mmol/L}]\n",
     "id: p1\nmeasurements: [{name: Systolic, value: .nan, unit: kPa}]\n",
     "id: p1\nlifestyle: {alcohol_units_per_week: .inf}\n",
     "id: p1\ndemographics: {age_years: .nan}\n"],
)  # fmt: skip
def test_nan_and_inf_are_patient_file_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(PatientFileError, match="finite"):
        read_patient_file(_patient(tmp_path, text))


def _bundle(value: str, code: str = "2823-3", name: str = "Potassium", unit: str = "mmol/L") -> str:
    return (
        '{"resourceType": "Bundle", "type": "collection", "entry": [\n'
        '{"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}},\n'
        '{"resource": {"resourceType": "Observation", "status": "final", "code": {"coding": '
        f'[{{"system": "http://loinc.org", "code": "{code}"}}], "text": "{name}"}}, '
        f'"valueQuantity": {{"value": {value}, "unit": "{unit}"}}}}}}]}}\n'
    )


def test_fhir_nan_and_plausibility_in_every_entry_point(tmp_path: Path) -> None:
    from precisionrx.errors import FhirValidationError
    from precisionrx.io.fhir import read_bundle

    path = _patient(tmp_path, _bundle("NaN"), "b.json")
    with pytest.raises(FhirValidationError, match="line 3: NaN"):
        read_bundle(path)
    with pytest.raises(PatientFileError, match="line 3: NaN"):
        read_patient_file(path)
    path.write_text(_bundle("9999", "8480-6", "Systolic blood pressure", "mm[Hg]"))
    for reader in (read_bundle, read_patient_file):
        with pytest.raises(PatientFileError, match="9999"):
            reader(path)


def test_cross_field_checks_convert_units_and_pair_readings(tmp_path: Path) -> None:
    mixed = ("id: p1\nmeasurements:\n  - {name: HDL cholesterol, value: 80, unit: mg/dL}\n"
             "  - {name: Total cholesterol, value: 1.5, unit: mmol/L}\n")  # fmt: skip
    with pytest.raises(PatientFileError, match=r"hdl_cholesterol 80 mg/dL.*total_cholesterol 58"):
        read_patient_file(_patient(tmp_path, mixed))
    bp = ("id: p1\nmeasurements:\n"
          "  - {name: Systolic BP, value: 120, unit: mmHg}\n"
          "  - {name: Diastolic BP, value: 80, unit: mmHg}\n"
          "  - {name: Systolic BP, value: 90, unit: mmHg}\n"
          "  - {name: Diastolic BP, value: 95, unit: mmHg}\n")  # fmt: skip
    with pytest.raises(PatientFileError, match=r"measurements\[3\].*95.*90"):
        read_patient_file(_patient(tmp_path, bp))
    timed = ("id: p1\nmeasurements:\n"
             "  - {name: Systolic BP, value: 100, unit: mmHg, time: '2024-01-01T08:00:00+01:00'}\n"
             "  - {name: Diastolic BP, value: 60, unit: mmHg, time: '2024-01-01T07:00:00Z'}\n"
             "  - {name: Systolic BP, value: 170, unit: mmHg, time: '2024-02-01'}\n"
             "  - {name: Diastolic BP, value: 105, unit: mmHg, time: '2024-02-01'}\n")  # fmt: skip
    assert len(read_patient_file(_patient(tmp_path, timed)).measurements) == 4
    with pytest.raises(PatientFileError, match=r"105.*not below.*100"):
        read_patient_file(
            _patient(
                tmp_path,
                timed.replace("'2024-02-01'}\n  - {name: D", "'2024-02-02'}\n  - {name: D").replace(
                    "60, unit: mmHg, time: '2024-01-01T07:00:00Z'",
                    "105, unit: mmHg, time: '2024-01-01T07:00:00Z'",
                ),
            )
        )


def test_birth_date_floor_matches_the_age_limit(tmp_path: Path) -> None:
    old = "id: p1\ndemographics: {age_years: 127, birth_date: '1899-06-01'}\n"
    assert read_patient_file(_patient(tmp_path, old)).demographics.age_years == 127
    too_old = "id: p1\ndemographics: {birth_date: '1850-06-01'}\n"
    with pytest.raises(PatientFileError) as info:
        read_patient_file(_patient(tmp_path, too_old))
    assert str(info.value).count("demographics.birth_date") == 1


def test_apple_health_date_bounds_are_computed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from precisionrx.io.apple_health import read_apple_health
    from precisionrx.kb import limits as limits_mod

    calls = {"n": 0}
    real = limits_mod.Limits.latest_time

    def counted(self: limits_mod.Limits, now: datetime | None = None) -> datetime:
        calls["n"] += 1
        return real(self, now)

    monkeypatch.setattr(limits_mod.Limits, "latest_time", counted)
    records = "".join(
        f'<Record type="HKQuantityTypeIdentifierHeartRate" unit="count/min" '
        f'startDate="2024-01-01 00:{i:02d}:00 +0000" value="{60 + i}"/>\n'
        for i in range(50)
    )
    path = tmp_path / "export.xml"
    path.write_text(f'<?xml version="1.0"?>\n<HealthData>\n{records}</HealthData>\n')
    assert len(read_apple_health(path).heart_rate) == 50
    assert calls["n"] <= 1
