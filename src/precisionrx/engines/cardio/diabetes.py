"""Type 2 diabetes screening scores: the ADA risk test and FINDRISC (points models).

Points tables live in kb/data/cardio/diabetes_points.json with their citations:
- ADA risk test: Bang H et al., Ann Intern Med 2009;151:775. Age, sex, gestational diabetes,
  first-degree family history, hypertension, physical inactivity, BMI; 0-11 points; >= 5 means
  high risk of undiagnosed type 2 diabetes. No probability is attached to the points.
- FINDRISC: Lindstrom J, Tuomilehto J, Diabetes Care 2003;26:725, with the questionnaire's
  family-history item. 0-26 points; five categories with approximate 10-year risks.

Every item is required: a missing item gives no score and names the item (a points total with an
item silently counted as 0 would understate risk). People with diabetes get no score.
QDiabetes-2018 is not implemented: its coefficients were not available to this project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from precisionrx.records.risk_inputs import FloatArray, RiskInputs

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

Mask = npt.NDArray[np.bool_]


def load(kb: KnowledgeBase) -> dict[str, Any]:
    """The coefficients of the cardio knowledge base (diabetes_points.json)."""
    data: dict[str, Any] = kb.json("cardio", "diabetes_points.json")
    return data


def band_points(values: FloatArray, bands: list[list[Any]]) -> FloatArray:
    """Points for each value from ``[lower, upper, points, closure]`` bands; NaN stays NaN."""
    out = np.full(values.shape, np.nan)
    for lo, hi, pts, closure in bands:
        above = values >= lo if closure[0] == "[" else values > lo
        below = values <= hi if closure[1] == "]" else values < hi
        out = np.where(above & below & np.isnan(out), float(pts), out)
    return out


@dataclass
class PointsResult:
    points: FloatArray  # NaN where no score is given
    missing: dict[str, Mask] = field(default_factory=dict)  # item -> rows where it is missing
    not_applicable: Mask | None = None  # people with diagnosed diabetes
    too_young: Mask | None = None


def _flag(x: RiskInputs, name: str) -> FloatArray:
    return x.extra.get(name, np.full(x.n, np.nan))


def ada_points(table: dict[str, Any], x: RiskInputs) -> PointsResult:
    female = x.female
    gdm = np.where(female, _flag(x, "gestational_diabetes"), 0.0)
    hypertension = _flag(x, "hypertension")
    # A person on antihypertensive treatment has been diagnosed with high blood pressure.
    hypertension = np.where(np.isnan(hypertension) & (x.bp_treated == 1), 1.0, hypertension)
    family = _flag(x, "family_history_diabetes")
    active = _flag(x, "physically_active")
    items = {
        "age": band_points(x.age, table["age_points"]),
        "bmi": band_points(x.bmi, table["bmi_points"]),
        "gestational_diabetes": gdm * table["gestational_diabetes"],
        "hypertension": hypertension * table["hypertension"],
        "family_history_diabetes": (family == 2) * table["family_history_first_degree"]
        + np.where(np.isnan(family), np.nan, 0.0),
        "physically_active": (1 - active) * table["not_physically_active"],
    }
    points = np.where(female, 0.0, float(table["male"]))
    for value in items.values():
        points = points + value
    missing = {name: np.isnan(value) for name, value in items.items()}
    return _finish(points, missing, x, table)


def findrisc_points(table: dict[str, Any], x: RiskInputs) -> PointsResult:
    waist = x.extra.get("waist_cm", np.full(x.n, np.nan))
    waist_pts = np.where(
        x.female,
        band_points(waist, table["waist_points_female"]),
        band_points(waist, table["waist_points_male"]),
    )
    family = _flag(x, "family_history_diabetes")
    fam_table = table["family_history"]
    fam_pts = np.select(
        [family == 0, family == 1, family == 2],
        [fam_table["none"], fam_table["second_degree"], fam_table["first_degree"]],
        default=np.nan,
    ).astype(np.float64)
    items = {
        "age": band_points(x.age, table["age_points"]),
        "bmi": band_points(x.bmi, table["bmi_points"]),
        "waist_cm": waist_pts,
        "physically_active": (1 - _flag(x, "physically_active")) * table["not_physically_active"],
        "daily_fruit_veg": (1 - _flag(x, "daily_fruit_veg")) * table["not_daily_fruit_veg"],
        "bp_treated": x.bp_treated * table["antihypertensive_medication"],
        "high_glucose_history": _flag(x, "high_glucose_history") * table["high_glucose_history"],
        "family_history_diabetes": fam_pts,
    }
    points = np.zeros(x.n)
    for value in items.values():
        points = points + value
    missing = {name: np.isnan(value) for name, value in items.items()}
    return _finish(points, missing, x, table)


def _finish(
    points: FloatArray, missing: dict[str, Mask], x: RiskInputs, table: dict[str, Any]
) -> PointsResult:
    not_applicable = x.diabetes == 1
    too_young = ~np.isnan(x.age) & (x.age < table["min_age"])
    no_score = not_applicable | too_young
    for mask in missing.values():
        no_score |= mask
    return PointsResult(np.where(no_score, np.nan, points), missing, not_applicable, too_young)


def ada_category(table: dict[str, Any], points: FloatArray) -> npt.NDArray[np.str_]:
    """``high`` at or above the published cut-off (5 points), else ``low``; empty without score."""
    cut = table["high_risk_at"]
    return np.where(np.isnan(points), "", np.where(points >= cut, "high", "low"))


def findrisc_category(
    table: dict[str, Any], points: FloatArray
) -> tuple[npt.NDArray[np.str_], FloatArray]:
    """Questionnaire category and its approximate 10-year risk for each points total."""
    cats = table["categories"]
    conditions = [points < c["below"] for c in cats]
    category = np.select(conditions, [c["category"] for c in cats], default="")
    risk = np.select(conditions, [c["risk"] for c in cats], default=np.nan).astype(np.float64)
    category = np.where(np.isnan(points), "", category)
    return category, np.where(np.isnan(points), np.nan, risk)
