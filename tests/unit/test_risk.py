"""Cardiovascular risk equations: published worked examples, units, ranges, CLI contract."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.cardio import pooled_cohort, prevent, score2
from precisionrx.engines.cardio.inputs import MGDL_PER_MMOL, RiskInputs
from precisionrx.engines.cardio.runner import cardio_kb, run_models
from precisionrx.errors import InputError
from precisionrx.io.risk_table import read_risk_table
from precisionrx.kb.registry import KnowledgeBase
from testkit.patients import cardio_patient

KB = cardio_kb(KnowledgeBase())
HEADER = "id,age,sex,sbp,bp_treated,total_chol,hdl_chol,chol_unit,diabetes,smoker,egfr,bmi,statin,race,region\n"


def person(**kw: object) -> RiskInputs:
    base: dict[str, object] = dict(
        ids=["p"], age=np.array([50.0]), female=np.array([True]), sbp=np.array([160.0]),
        bp_treated=np.ones(1), total_mgdl=np.array([200.0]), hdl_mgdl=np.array([45.0]),
        diabetes=np.ones(1), smoker=np.zeros(1), egfr=np.array([90.0]), bmi=np.array([35.0]),
        statin=np.zeros(1), hba1c=np.full(1, np.nan), uacr=np.full(1, np.nan),
        sdi_decile=np.full(1, np.nan), race=["white"], region=["low"],
    )  # fmt: skip
    base.update(kw)
    return RiskInputs(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("female", "horizon", "expected"),
    [
        # preventr default test patient (research/cardio.md §1.1): 50 y, SBP 160 treated, TC 200,
        # HDL 45, diabetes, non-smoker, eGFR 90, BMI 35.
        (True, 10, (0.147, 0.092, 0.081)),
        (True, 30, (0.530, 0.354, 0.390)),
        (False, 10, (0.163, 0.102, 0.106)),
    ],
)
def test_prevent_preventr_default_patient(
    female: bool, horizon: int, expected: tuple[float, ...]
) -> None:
    x = person(female=np.array([female]))
    got = tuple(
        float(prevent.round_half_up(prevent.prevent_risk(KB.prevent, x, "base", horizon, o))[0])
        for o in ("total_cvd", "ascvd", "heart_failure")
    )
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("female", "race", "expected"),
    [
        (True, "white", 0.021),
        (True, "black", 0.030),
        (False, "white", 0.0538),
        (False, "black", 0.061),
    ],
)
def test_pce_goff_2013_worked_example(female: bool, race: str, expected: float) -> None:
    # Goff 2013: age 55, TC 213, HDL 50, SBP 120 untreated, non-smoker, no diabetes.
    x = person(age=np.array([55.0]), female=np.array([female]), sbp=np.array([120.0]),
               bp_treated=np.zeros(1), total_mgdl=np.array([213.0]), hdl_mgdl=np.array([50.0]),
               diabetes=np.zeros(1), race=[race])  # fmt: skip
    risk = float(pooled_cohort.pce_original(KB.pce, x)[0])  # type: ignore[arg-type]
    assert risk == pytest.approx(expected, abs=0.0005 if expected != 0.0538 else 0.00005)


@settings(max_examples=50, deadline=None)
@given(
    age=st.floats(30, 79),
    tc=st.floats(3.4, 8.2),
    hdl=st.floats(0.6, 2.5),
    sbp=st.floats(90, 180),
)
def test_units_are_equivalent_and_risk_is_monotonic_in_age(
    age: float, tc: float, hdl: float, sbp: float
) -> None:
    if hdl >= tc:
        return
    x = person(age=np.array([age, age + 1]), female=np.array([True, True]), sbp=np.array([sbp, sbp]),
               bp_treated=np.zeros(2), total_mgdl=np.array([tc, tc]) * MGDL_PER_MMOL,
               hdl_mgdl=np.array([hdl, hdl]) * MGDL_PER_MMOL, diabetes=np.zeros(2), smoker=np.zeros(2),
               egfr=np.full(2, 90.0), bmi=np.full(2, 25.0), statin=np.zeros(2), hba1c=np.full(2, np.nan),
               uacr=np.full(2, np.nan), sdi_decile=np.full(2, np.nan), ids=["a", "b"],
               race=["white"] * 2, region=["low"] * 2)  # fmt: skip
    r = prevent.prevent_risk(KB.prevent, x, "base", 10, "ascvd")
    assert 0 < r[0] < 1 and r[1] >= r[0]
    assert np.allclose(x.total_mmol, tc)


def test_score2_region_from_country_and_ordering() -> None:
    assert score2.region_for("GB", KB.score2) == "low"  # type: ignore[arg-type]
    assert score2.region_for("Germany", KB.score2) == "moderate"  # type: ignore[arg-type]
    assert score2.region_for("very_high", KB.score2) == "very_high"  # type: ignore[arg-type]
    x = person(age=np.array([60.0] * 4), female=np.array([False] * 4), sbp=np.full(4, 140.0),
               bp_treated=np.zeros(4), total_mgdl=np.full(4, 220.0), hdl_mgdl=np.full(4, 45.0),
               diabetes=np.zeros(4), smoker=np.ones(4), egfr=np.full(4, 90.0), bmi=np.full(4, 25.0),
               statin=np.zeros(4), hba1c=np.full(4, np.nan), uacr=np.full(4, np.nan),
               sdi_decile=np.full(4, np.nan), ids=list("abcd"), race=["white"] * 4,
               region=list(score2.REGIONS))  # fmt: skip
    r = score2.score2_risk(KB.score2, x, list(score2.REGIONS))  # type: ignore[arg-type]
    assert list(r) == sorted(r)  # low < moderate < high < very high


def write(tmp: Path, rows: str, name: str = "in.csv") -> Path:
    path = tmp / name
    path.write_text(HEADER + rows)
    return path


def test_out_of_range_gives_no_number_and_a_caveat(tmp_path: Path) -> None:
    x = read_risk_table(write(tmp_path, "a,85,female,120,0,200,50,mg/dL,0,0,90,25,0,white,low\n"))
    out = run_models(KB, x, ["prevent", "pce"])
    assert out["risk"].null_count() == out.height
    assert all("out_of_range" in c for c in out["caveats"].to_list())


def test_mmol_and_mgdl_rows_agree(tmp_path: Path) -> None:
    rows = ("a,60,male,140,1,200,50,mg/dL,0,1,80,28,0,white,low\n"
            f"b,60,male,140,1,{200 / MGDL_PER_MMOL},{50 / MGDL_PER_MMOL},mmol/L,0,1,80,28,0,white,low\n")  # fmt: skip
    out = run_models(KB, read_risk_table(write(tmp_path, rows)), ["prevent", "pce", "score2"])
    a = out.filter(out["id"] == "a")["risk"].to_list()
    b = out.filter(out["id"] == "b")["risk"].to_list()
    assert a == pytest.approx(b, abs=1e-4)


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("a,-5,female,120,0,200,50,mg/dL,0,0,90,25,0,white,low\n", "age"),
        ("a,50,female,abc,0,200,50,mg/dL,0,0,90,25,0,white,low\n", "sbp"),
        ("a,50,unknown,120,0,200,50,mg/dL,0,0,90,25,0,white,low\n", "sex"),
        ("a,50,female,120,0,200,250,mg/dL,0,0,90,25,0,white,low\n", "hdl_chol"),
        ("a,50,female,120,0,200,50,g/L,0,0,90,25,0,white,low\n", "chol_unit"),
        ("a,50,female,120,maybe,200,50,mg/dL,0,0,90,25,0,white,low\n", "bp_treated"),
    ],
)
def test_impossible_values_are_errors_naming_the_row(tmp_path: Path, row: str, needle: str) -> None:
    with pytest.raises(InputError) as err:
        read_risk_table(
            write(tmp_path, "ok,50,female,120,0,200,50,mg/dL,0,0,90,25,0,white,low\n" + row)
        )
    assert needle in str(err.value) and "row 3" in str(err.value)


def test_risk_cli_contract(tmp_path: Path) -> None:
    path = write(tmp_path, "p1,50,female,160,1,200,45,mg/dL,1,0,90,35,0,white,GB\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(path),
         "--models", "prevent,pce,score2", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["results"]
    assert set(rows[0]) == {
        "id",
        "model",
        "variant",
        "horizon_years",
        "outcome",
        "risk",
        "category",
        "caveats",
    }
    total = next(
        r
        for r in rows
        if r["model"] == "prevent" and r["horizon_years"] == 10 and r["outcome"] == "total_cvd"
    )
    # Unrounded (issue 11): the engine's float, which preventr prints as 0.147.
    x = person()
    engine = float(prevent.prevent_risk(KB.prevent, x, "base", 10, "total_cvd")[0])
    assert total["risk"] == engine and total["risk"] != 0.147
    assert float(prevent.round_half_up(np.array([total["risk"]]))[0]) == 0.147
    pce = next(r for r in rows if r["model"] == "pce")
    assert any(c["code"] == "race_term" for c in pce["caveats"])
    csv_proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (
        csv_proc.stdout.splitlines()[0]
        == "id,model,variant,horizon_years,outcome,risk,category,caveats"
    )
    bad = write(tmp_path, "p1,50,female,160,1,200,450,mg/dL,1,0,90,35,0,white,GB\n", "bad.csv")
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(bad), "-o", str(tmp_path / "o.csv")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == InputError.exit_code and "row 2" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


QHEADER = "id,age,sex,sbp,bp_treated,total_chol,hdl_chol,chol_unit,diabetes,diabetes_type,smoker,smoking_category,egfr,bmi,statin,qrisk3_ethnicity,townsend,sbp_sd,af\n"


def test_qrisk3_disclaimer_on_every_score_and_gradients(tmp_path: Path) -> None:
    rows = "".join(
        f"{sex[0]}{k},60,{sex},140,0,5.5,1.3,mmol/L,0,,{1 if k else 0},{k},80,27,0,1,0,8,0\n"
        for sex in ("female", "male")
        for k in range(5)
    )
    rows += "m_af,60,male,140,0,5.5,1.3,mmol/L,0,,0,0,80,27,0,1,0,8,1\n"
    rows += "m_dm,60,male,140,0,5.5,1.3,mmol/L,1,2,0,0,80,27,0,1,0,8,0\n"
    rows += "m_dm_no_type,60,male,140,0,5.5,1.3,mmol/L,1,,0,0,80,27,0,1,0,8,0\n"
    rows += "m_smoker_no_cat,60,male,140,0,5.5,1.3,mmol/L,0,,1,,80,27,0,1,0,8,0\n"
    path = tmp_path / "q.csv"
    path.write_text(QHEADER + rows)
    out = run_models(KB, read_risk_table(path), ["qrisk3"])
    assert all(c.startswith("qrisk3_disclaimer:") for c in out["caveats"].to_list())
    risk = dict(zip(out["id"].to_list(), out["risk"].to_list(), strict=True))
    for sex in "fm":
        series = [risk[f"{sex}{k}"] for k in range(5)]
        assert series[0] < series[2] < series[3] < series[4]  # light < moderate < heavy smoking
    assert risk["m_af"] > risk["m0"] and risk["m_dm"] > risk["m0"]
    assert risk["m_dm_no_type"] is None and risk["m_smoker_no_cat"] is None
    assert 0.02 < risk["f0"] < risk["m0"] < 0.5


def test_prevention_arr_nnt_arithmetic() -> None:
    from precisionrx.engines.cardio.prevention import load_effects, prevention_options

    effects = load_effects(KnowledgeBase())
    opts = {o.option: o for o in prevention_options(effects, 0.20, 4.0, 150, False, True, 0.14)}
    statin = opts["high-intensity statin"]
    # CTT: RR 0.78 per mmol/L; 50 % of 4.0 mmol/L = 2.0 mmol/L -> RR 0.78^2 = 0.6084
    assert statin.relative_risk == pytest.approx(0.6084, abs=1e-4)
    assert statin.treated_risk == pytest.approx(0.20 * 0.6084, abs=1e-4)
    assert statin.arr == pytest.approx(0.20 - 0.20 * 0.6084, abs=1e-4)
    assert statin.nnt == pytest.approx(1 / (0.20 - 0.20 * 0.6084), abs=0.1)
    # Ettehad: RR 0.80 per 10 mmHg; 150 -> 130 mmHg = 2 units -> 0.64
    assert opts["blood pressure lowering to 130 mmHg"].relative_risk == pytest.approx(0.64)
    # Smoking cessation uses the re-run equation: 0.14 / 0.20 = 0.7
    assert opts["smoking cessation"].relative_risk == pytest.approx(0.7)
    combo = opts["high-intensity statin + blood pressure to 130 mmHg + smoking cessation"]
    assert combo.relative_risk == pytest.approx(0.6084 * 0.64 * 0.7, abs=1e-4)
    assert opts["aspirin (primary prevention)"].harms
    ranked = list(opts.values())
    assert [o.arr for o in ranked] == sorted((o.arr for o in ranked), reverse=True)


def test_plan_has_cardio_section_and_skips_established_cvd(tmp_path: Path) -> None:
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.plan.builder import build_plan

    text = cardio_patient(smoking="current")
    (tmp_path / "p.yaml").write_text(text)
    plan = build_plan(read_patient_file(tmp_path / "p.yaml"), KnowledgeBase())
    cardio = plan.model_dump(mode="json")["cardio"]
    assert cardio is not None and cardio["baseline"]["risk"] > 0
    names = [o["option"] for o in cardio["prevention"]]
    assert "smoking cessation" in names and "high-intensity statin" in names
    (tmp_path / "q.yaml").write_text(text + "conditions: [{name: Myocardial infarction}]\n")
    plan2 = build_plan(read_patient_file(tmp_path / "q.yaml"), KnowledgeBase())
    cardio2 = plan2.model_dump(mode="json")["cardio"]
    assert cardio2 is not None and cardio2["prevention"] == []
    assert cardio2["caveats"][0]["code"] == "established_cvd"


def test_dlcn_bands_and_lpa_units() -> None:
    from precisionrx.engines.cardio.fh import dlcn_score, lpa_status

    assert dlcn_score(5.2, "mmol/L").points == 3  # LDL-C 5.0-6.4 mmol/L
    assert dlcn_score(260, "mg/dL").points == 5  # 250-329 mg/dL
    r = dlcn_score(8.6, "mmol/L", first_degree_premature_cvd=True)
    assert (r.points, r.category) == (9, "definite")
    assert (
        dlcn_score(4.5, "mmol/L", premature_cad=True, first_degree_premature_cvd=True).category
        == "possible"
    )
    assert dlcn_score(3.0, "mmol/L", pathogenic_variant=True).points == 8
    assert lpa_status(60, "mg/dL").status == "risk enhancer"
    assert lpa_status(60, "nmol/L").status == "not a risk enhancer"  # never converted
    eas = lpa_status(500, "nmol/L").eas_2022
    assert eas is not None and eas.startswith("very high")
    assert lpa_status(10, "g/L").status == "unknown unit"


def test_a_header_only_table_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no rows to score"):
        read_risk_table(write(tmp_path, ""))


# --- full precision in machine-readable output (issue 11, item 6) -------------------------------

#: A woman of 45, SBP 130 untreated, TC 4.0 / HDL 1.2 mmol/L, BMI 26, non-smoker, White, no
#: conditions, Townsend 0, SBP SD 0: QRISK3-2017 gives 0.0127853..., which 4-decimal rounding
#: printed as 0.0128.
QROW = "q1,45,female,130,0,4.0,1.2,mmol/L,0,,0,0,90,26,0,1,0,0,0\n"


def qrisk3_by_hand(age: float, sbp: float, tc: float, hdl: float, bmi: float) -> float:
    """ClinRisk's cvd_female_raw (qrisk3.c) for a White non-smoking woman without any of the
    boolean conditions, term by term in scalar arithmetic, from the packaged coefficients."""
    coef = KnowledgeBase().json("cardio", "qrisk3_2017_coefficients.json")["female"]
    cen, con = coef["centring"], coef["continuous"]
    dage, dbmi = age / 10, bmi / 10
    v = {
        "age_1": dage**-2 - cen["age_1"], "age_2": dage - cen["age_2"],
        "bmi_1": dbmi**-2 - cen["bmi_1"], "bmi_2": dbmi**-2 * math.log(dbmi) - cen["bmi_2"],
        "rati": tc / hdl - cen["rati"], "sbp": sbp - cen["sbp"],
        "sbps5": 0.0 - cen["sbps5"], "town": 0.0 - cen["town"],
    }  # fmt: skip
    a = coef["Iethrisk"][1] + coef["Ismoke"][0]
    a += sum(con[k] * v[k] for k in con)
    for age_term in ("age_1", "age_2"):
        for name, c in coef[f"interaction_{age_term}"].items():
            if name in v:  # every boolean term is 0 for this woman
                a += c * v[age_term] * v[name]
    return float(1 - coef["survivor_10yr"] ** math.exp(a))


def test_qrisk3_output_is_the_unrounded_algorithm_value(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(QHEADER + QROW)
    engine = run_models(KB, read_risk_table(path), ["qrisk3"])["risk"][0]
    expected = qrisk3_by_hand(45, 130, 4.0, 1.2, 26)
    assert engine == pytest.approx(expected, rel=1e-12)
    assert f"{engine:.7f}" == "0.0127853" and engine != round(engine, 4)
    for fmt in ("csv", "json"):
        proc = subprocess.run(
            [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(path),
             "--models", "qrisk3", "--format", fmt],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        if fmt == "json":
            printed = json.loads(proc.stdout)["results"][0]["risk"]
        else:
            printed = float(proc.stdout.splitlines()[1].split(",")[5])
        assert printed == engine, (fmt, printed)  # bit for bit, not 0.0128


def bits(values: list[float | None]) -> list[int | None]:
    return [None if v is None else struct.unpack("<Q", struct.pack("<d", v))[0] for v in values]


def test_risk_csv_and_json_read_back_equal_the_engine_floats(tmp_path: Path) -> None:
    rows = "".join(
        f"p{i},{40 + 3 * i},{'female' if i % 2 else 'male'},{118 + 5 * i},{i % 2},"
        f"{4.1 + 0.23 * i:.2f},{1.05 + 0.07 * i:.2f},mmol/L,0,,{i % 3 == 0:d},{2 if i % 3 == 0 else 0},"
        f"{70 + i},{23.3 + 0.7 * i:.1f},0,{1 + i % 9},{i - 3},{i % 4},0\n"
        for i in range(12)
    )
    path = tmp_path / "c.csv"
    path.write_text(QHEADER + rows)
    models = "prevent,pce,pce_revised,score2,qrisk3"
    memory = run_models(KB, read_risk_table(path), models.split(","))
    want = memory["risk"].to_list()
    assert any(r is not None and r != round(r, 4) for r in want)
    out = tmp_path / "o.csv"
    cmd = [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(path),
           "--models", models]  # fmt: skip
    proc = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    back = pl.read_csv(out, schema_overrides={"risk": pl.Float64})
    assert back["id"].to_list() == memory["id"].to_list()
    assert bits(back["risk"].to_list()) == bits(want)
    proc = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, check=False)
    got = [r["risk"] for r in json.loads(proc.stdout)["results"]]
    assert bits(got) == bits(want)
    assert "NaN" not in proc.stdout and "Infinity" not in proc.stdout


def test_prevention_options_keep_full_precision() -> None:
    from precisionrx.engines.cardio.prevention import load_effects, prevention_options

    effects = load_effects(KnowledgeBase())
    opts = {o.option: o for o in prevention_options(effects, 0.20, 4.0, 150, False, True, 0.14)}
    statin = opts["high-intensity statin"]
    rr = 0.78 ** (4.0 * 0.5)  # CTT RR per mmol/L, high intensity lowers LDL-C by 50 %
    assert statin.relative_risk == rr
    assert statin.treated_risk == 0.20 * rr  # 0.12168, printed as 0.1217 when rounded
    assert statin.arr == 0.20 - 0.20 * rr
    assert statin.nnt == 1 / (0.20 - 0.20 * rr)  # 12.768..., printed as 12.8 when rounded


# --- the typed entry point (issue 13) ------------------------------------------------------------


def test_estimate_risks_is_typed_and_equals_the_streamed_rows(tmp_path: Path) -> None:
    from precisionrx.engines.cardio.api import estimate_risks, risk_frames
    from precisionrx.records.cardio import RiskResult
    from precisionrx.report.tables import estimates_csv

    rows = (
        "a,60,male,140,1,200,50,mg/dL,0,1,80,28,0,white,GB\n"
        "b,85,female,120,0,200,50,mg/dL,0,0,90,25,0,black,XX\n"
        "c,45,female,,,5.0,1.3,mmol/L,,,90,25,0,,very_high\n"
    )
    kb = KnowledgeBase()
    x = read_risk_table(write(tmp_path, rows))
    models = ["prevent", "pce", "pce_revised", "score2", "qrisk3"]
    result = estimate_risks(x, kb, models, input_sha256="abc")
    frame = pl.concat(risk_frames(x, kb, models))
    assert [r.risk for r in result.results] == frame["risk"].to_list()  # bit for bit
    assert [r.id for r in result.results] == frame["id"].to_list()
    # The CSV rendered from the typed rows is the streamed CSV, caveat text included.
    assert estimates_csv(result) == frame.write_csv()
    assert RiskResult.model_validate_json(result.model_dump_json()) == result
    prov = result.provenance
    assert prov is not None and prov.input_sha256 == "abc"
    assert [k.name for k in prov.knowledge_bases] == ["cardio"]
    assert prov.parameters == {"models": ",".join(models)}
    # The QRISK3 disclaimer holds "; " in its text and is still one caveat.
    q = next(r for r in result.results if r.model == "qrisk3")
    (disclaimer,) = [c for c in q.caveats if c.code == "qrisk3_disclaimer"]
    assert disclaimer.kind == "footnote" and "qrisk.org; inaccurate" in disclaimer.message
    assert all(c.code != c.message for r in result.results for c in r.caveats)


def test_risk_cli_json_has_caveat_objects_and_provenance(tmp_path: Path) -> None:
    path = write(tmp_path, "p1,50,female,160,1,200,45,mg/dL,1,0,90,35,0,white,GB\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(path),
         "--models", "pce", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc) == ["results", "provenance"]
    assert doc["provenance"]["input_sha256"] and doc["provenance"]["knowledge_bases"]
    (race,) = [c for c in doc["results"][0]["caveats"] if c["code"] == "race_term"]
    assert race == {
        "code": "race_term",
        "message": "the PCE use self-reported race (white equations)",
        "kind": "note",
        "refs": [],
    }


def test_kb_tables_are_loaded_once_per_knowledge_base() -> None:
    from precisionrx.engines.cardio.prevention import load_effects

    kb = KnowledgeBase()
    assert cardio_kb(kb) is cardio_kb(kb) and load_effects(kb) is load_effects(kb)
    assert cardio_kb(KnowledgeBase()) is not cardio_kb(kb)


def test_assess_patient_returns_a_typed_section(tmp_path: Path) -> None:
    from precisionrx.engines.cardio.api import assess_patient
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.records.cardio import CardioSection

    (tmp_path / "p.yaml").write_text(
        "id: p\ndemographics: {sex_at_birth: female, age_years: 58, country: GB}\n"
        "conditions: [{name: Hypertension}]\n"
        "measurements:\n"
        "  - {name: Total cholesterol, value: 6.1, unit: mmol/L}\n"
        "  - {name: HDL cholesterol, value: 1.2, unit: mmol/L}\n"
        "  - {name: Lipoprotein(a), value: 60, unit: mg/dL}\n"
        "  - {name: BMI, value: 29, unit: kg/m2}\n"
        "  - {name: eGFR, value: 78, unit: mL/min/1.73m2}\n"
    )
    record = read_patient_file(tmp_path / "p.yaml")
    kb = KnowledgeBase()
    section = assess_patient(record, kb, [], home_sbp=138.0)
    assert isinstance(section, CardioSection) and section.baseline is not None
    assert CardioSection.model_validate_json(section.model_dump_json()) == section
    assert section.provenance is not None and section.provenance.input_sha256
    codes = [c.code for c in section.caveats]
    assert "home_bp_used" in codes and "bp_treatment_unknown" in codes and "ldl_missing" in codes
    assert section.baseline.caveats[0].code == "default_input"  # smoking not recorded
    doc = section.model_dump(mode="json")
    assert list(doc)[:5] == ["dlcn", "fh_genetics", "lpa", "polygenic_scores", "baseline"]
    assert doc["lpa"] == {
        "value": 60.0,
        "status": "risk enhancer",
        "aha_acc_2018": ">=50 mg/dL or >=125 nmol/L is a risk-enhancing factor",
        "eas_2022": "rule-in (>50)",
        "unit": "mg/dL",
    }
    assert doc["dlcn"]["caveats"][0]["code"] == "ldl_not_recorded"
    # No sex, or no cholesterol / blood pressure: no section.
    bare = record.model_copy(update={"measurements": []})
    assert assess_patient(bare, kb, []) is None
    (tmp_path / "q.yaml").write_text(
        (tmp_path / "p.yaml").read_text().replace("Hypertension", "Ischaemic stroke")
    )
    cvd = assess_patient(read_patient_file(tmp_path / "q.yaml"), kb, [])
    assert cvd is not None and cvd.basis == "not applicable" and cvd.risk == []
    assert list(cvd.model_dump(mode="json")) == [
        "baseline",
        "risk",
        "prevention",
        "caveats",
        "basis",
        "provenance",
    ]
