"""ADA risk test and FINDRISC: points worked by hand from the published tables, bands, gaps, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from precisionrx.engines.cardio import diabetes
from precisionrx.engines.cardio.runner import cardio_kb, run_models
from precisionrx.errors import InputError
from precisionrx.io.risk_table import read_risk_table
from precisionrx.kb.registry import KnowledgeBase

KB = cardio_kb(KnowledgeBase())
HEADER = (
    "id,age,sex,bmi,waist_cm,bp_treated,hypertension,gestational_diabetes,"
    "family_history_diabetes,physically_active,daily_fruit_veg,high_glucose_history,diabetes\n"
)


def table(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "dm.csv"
    path.write_text(HEADER + rows)
    return path


def results(tmp_path: Path, rows: str) -> dict[tuple[str, str], dict[str, object]]:
    frame = run_models(KB, read_risk_table(table(tmp_path, rows)), ["ada", "findrisc"])
    return {(r["id"], r["model"]): r for r in frame.to_dicts()}


def points(row: dict[str, object]) -> int | None:
    for part in str(row["caveats"]).split("; "):
        if part.startswith("points: "):
            return int(part.split()[1])
    return None


def test_hand_worked_people(tmp_path: Path) -> None:
    out = results(
        tmp_path,
        # a: man 52, BMI 31, waist 104, treated BP, parent with diabetes, inactive, no daily veg.
        "a,52,male,31,104,1,,,2,0,0,0,0\n"
        # b: woman 38, BMI 23, waist 78, active, daily veg, nothing else.
        "b,38,female,23,78,0,0,0,0,1,1,0,0\n"
        # c: woman 70, BMI 41, waist 90, hypertension untreated, GDM, aunt with diabetes,
        #    inactive, daily veg, high glucose once.
        "c,70,female,41,90,0,1,1,1,0,1,1,0\n",
    )
    # ADA (Bang 2009): age 50-59 = 2, male 1, hypertension (treated) 1, first-degree FH 1,
    # inactive 1, BMI 30-39.9 = 2 -> 8 >= 5: high.
    assert points(out["a", "ada"]) == 8 and out["a", "ada"]["category"] == "high"
    assert out["a", "ada"]["risk"] is None and out["a", "ada"]["horizon_years"] is None
    # FINDRISC: age 45-54 = 2, BMI > 30 = 3, waist > 102 (men) = 4, inactive 2, no daily veg 1,
    # antihypertensive 2, glucose 0, first-degree FH 5 -> 19: high (15-20), ~1 in 3.
    assert points(out["a", "findrisc"]) == 19
    assert out["a", "findrisc"]["category"] == "high" and out["a", "findrisc"]["risk"] == 0.33
    assert out["a", "findrisc"]["horizon_years"] == 10
    assert points(out["b", "ada"]) == 0 and out["b", "ada"]["category"] == "low"
    assert points(out["b", "findrisc"]) == 0 and out["b", "findrisc"]["risk"] == 0.01
    # ADA: age >= 60 = 3, female 0, GDM 1, hypertension 1, second-degree FH 0, inactive 1,
    # BMI >= 40 = 3 -> 9.
    assert points(out["c", "ada"]) == 9
    # FINDRISC: age > 64 = 4, BMI 3, waist > 88 (women) = 4, inactive 2, veg 0, no BP drug 0,
    # high glucose 5, second-degree FH 3 -> 21: very high; age outside the 35-64 derivation.
    assert points(out["c", "findrisc"]) == 21 and out["c", "findrisc"]["category"] == "very_high"
    assert "extrapolated_age" in str(out["c", "findrisc"]["caveats"])
    assert all("unverified_points" in str(r["caveats"]) for r in out.values())


@pytest.mark.parametrize(
    ("value", "bands", "expected"),
    [
        # FINDRISC BMI: <25 -> 0, 25-30 -> 1, >30 -> 3 (30.0 is in the middle band).
        (24.9, "bmi", 0), (25.0, "bmi", 1), (30.0, "bmi", 1), (30.1, "bmi", 3),
        # FINDRISC waist, men: <94, 94-102, >102 cm.
        (93.9, "waist_points_male", 0), (94.0, "waist_points_male", 3),
        (102.0, "waist_points_male", 3), (102.5, "waist_points_male", 4),
        # women: <80, 80-88, >88 cm.
        (79.9, "waist_points_female", 0), (88.0, "waist_points_female", 3),
        (88.1, "waist_points_female", 4),
        # age: <45, 45-54, 55-64, >64.
        (44.9, "age", 0), (45.0, "age", 2), (64.9, "age", 3), (65.0, "age", 4),
    ],
)  # fmt: skip
def test_findrisc_band_edges(value: float, bands: str, expected: int) -> None:
    key = f"{bands}_points" if bands in {"bmi", "age"} else bands
    got = diabetes.band_points(np.array([value]), KB.diabetes["findrisc"][key])
    assert got[0] == expected


@pytest.mark.parametrize(
    ("value", "key", "expected"),
    [(39.9, "age_points", 0), (40, "age_points", 1), (59.9, "age_points", 2), (60, "age_points", 3),
     (24.9, "bmi_points", 0), (25, "bmi_points", 1), (30, "bmi_points", 2), (40, "bmi_points", 3)],
)  # fmt: skip
def test_ada_band_edges(value: float, key: str, expected: int) -> None:
    assert diabetes.band_points(np.array([value]), KB.diabetes["ada"][key])[0] == expected


def test_findrisc_category_cut_points() -> None:
    cats, risk = diabetes.findrisc_category(
        KB.diabetes["findrisc"], np.array([6.0, 7.0, 11.0, 12.0, 14.0, 15.0, 20.0, 21.0, np.nan])
    )
    assert list(cats) == ["low", "slightly_elevated", "slightly_elevated", "moderate",
                          "moderate", "high", "high", "very_high", ""]  # fmt: skip
    assert list(risk[:8]) == [0.01, 0.04, 0.04, 0.17, 0.17, 0.33, 0.33, 0.5]


def test_missing_items_and_diagnosed_diabetes_give_no_score(tmp_path: Path) -> None:
    out = results(
        tmp_path,
        "d,45,male,27,,0,0,,,1,1,0,0\n"  # no waist, no family history
        "e,60,male,27,95,0,0,,0,1,1,0,1\n"  # has diabetes
        "f,17,female,22,70,0,0,0,0,1,1,0,0\n",  # under 18 / 20
    )
    assert out["d", "ada"]["category"] == "" and points(out["d", "ada"]) is None
    assert "missing_input: family_history_diabetes" in str(out["d", "ada"]["caveats"])
    # A man's gestational-diabetes item is 0, never "missing".
    assert "gestational_diabetes" not in str(out["d", "ada"]["caveats"])
    assert "missing_input: waist_cm" in str(out["d", "findrisc"]["caveats"])
    assert out["d", "findrisc"]["risk"] is None
    for model in ("ada", "findrisc"):
        assert out["e", model]["category"] == "" and "not_applicable" in str(
            out["e", model]["caveats"]
        )
        assert out["f", model]["category"] == "" and "out_of_range" in str(
            out["f", model]["caveats"]
        )


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("x,50,male,27,95,0,0,,3,1,1,0,0\n", "family_history_diabetes"),
        ("x,50,male,27,95,0,0,,1.5,1,1,0,0\n", "family_history_diabetes"),
        ("x,50,male,27,95,0,0,,1,maybe,1,0,0\n", "physically_active"),
        ("x,50,male,27,5,0,0,,1,1,1,0,0\n", "waist_cm"),
    ],
)
def test_bad_answers_are_errors(tmp_path: Path, row: str, needle: str) -> None:
    with pytest.raises(InputError) as err:
        read_risk_table(table(tmp_path, "ok,50,male,27,95,0,0,,1,1,1,0,0\n" + row))
    assert needle in str(err.value) and "row 3" in str(err.value)


def test_cli_runs_diabetes_models(tmp_path: Path) -> None:
    path = table(tmp_path, "a,52,male,31,104,1,,,2,0,0,0,0\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(path),
         "--models", "ada,findrisc", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["results"]
    assert [(r["model"], r["category"]) for r in rows] == [("ada", "high"), ("findrisc", "high")]
    assert rows[0]["caveats"][0] == {
        "code": "points",
        "message": "8 of 11",
        "kind": "note",
        "refs": [],
    }


def test_blank_flags_are_no_but_blank_answers_are_not_given(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        "id,age,sex,bp_treated,smoker,physically_active,waist_cm\n"
        "a,50,female,,1,1,80\n"
        "b,50,female,1,,,\n"
    )
    x = read_risk_table(path)
    assert list(x.bp_treated) == [0.0, 1.0] and list(x.smoker) == [1.0, 0.0]
    active = x.extra["physically_active"]
    assert active[0] == 1.0 and np.isnan(active[1])
    assert x.extra["waist_cm"][0] == 80.0 and np.isnan(x.extra["waist_cm"][1])
