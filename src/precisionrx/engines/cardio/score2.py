"""SCORE2 (40-69 y) and SCORE2-OP (>= 70 y), ESC 2021 (Eur Heart J 2021;42:2439 and 2455).

Sex-specific Cox models with region recalibration
risk = 1 - exp(-exp(s1 + s2 * ln(-ln(1 - risk0)))), full-precision coefficients as in the authors'
score2risk/score2oprisk programs (kb/data/cardio/score2_coefficients.json).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from precisionrx.engines.cardio.inputs import FloatArray, RiskInputs

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

REGIONS = ("low", "moderate", "high", "very_high")


def load(kb: KnowledgeBase) -> dict[str, Any]:
    """The coefficients of the cardio knowledge base (score2_coefficients.json)."""
    data: dict[str, Any] = kb.json("cardio", "score2_coefficients.json")
    return data


def region_for(value: str, coef: dict[str, Any]) -> str | None:
    """Region name or ISO 3166 alpha-2 / country name -> ESC risk region."""
    v = value.strip().lower().replace(" ", "_")
    if v in REGIONS:
        return v
    iso = ISO2.get(value.strip().upper())
    name = (iso or value).strip().lower()
    for region, countries in coef["esc_risk_regions_2021"].items():
        if region.startswith("_"):
            continue
        if any(name == c.lower() for c in countries):
            return str(region)
    return None


#: ISO 3166-1 alpha-2 codes for the countries in the ESC region lists.
ISO2 = {
    "BE": "Belgium",
    "DK": "Denmark",
    "FR": "France",
    "IL": "Israel",
    "LU": "Luxembourg",
    "NO": "Norway",
    "ES": "Spain",
    "CH": "Switzerland",
    "NL": "Netherlands",
    "GB": "United Kingdom",
    "UK": "United Kingdom",
    "AT": "Austria",
    "CY": "Cyprus",
    "FI": "Finland",
    "DE": "Germany",
    "GR": "Greece",
    "IS": "Iceland",
    "IE": "Ireland",
    "IT": "Italy",
    "MT": "Malta",
    "PT": "Portugal",
    "SM": "San Marino",
    "SI": "Slovenia",
    "SE": "Sweden",
    "AL": "Albania",
    "BA": "Bosnia and Herzegovina",
    "HR": "Croatia",
    "CZ": "Czech Republic",
    "EE": "Estonia",
    "HU": "Hungary",
    "KZ": "Kazakhstan",
    "PL": "Poland",
    "SK": "Slovakia",
    "TR": "Turkey",
    "DZ": "Algeria",
    "AM": "Armenia",
    "AZ": "Azerbaijan",
    "BY": "Belarus",
    "BG": "Bulgaria",
    "EG": "Egypt",
    "GE": "Georgia",
    "KG": "Kyrgyzstan",
    "LV": "Latvia",
    "LB": "Lebanon",
    "LY": "Libya",
    "LT": "Lithuania",
    "ME": "Montenegro",
    "MA": "Morocco",
    "MD": "Republic of Moldova",
    "RO": "Romania",
    "RU": "Russian Federation",
    "RS": "Serbia",
    "SY": "Syria",
    "MK": "North Macedonia",
    "TN": "Tunisia",
    "UA": "Ukraine",
    "UZ": "Uzbekistan",
}


def score2_risk(coef: dict[str, Any], x: RiskInputs, regions: list[str | None]) -> FloatArray:
    """10-year CVD risk (0-1); NaN where age < 40 or region unknown."""
    out = np.full(x.n, np.nan)
    tc = x.total_mmol
    hdl = x.hdl_mmol
    for older in (False, True):
        block = coef["score2_op_age_70_plus" if older else "score2_age_40_69"]
        if older:
            cage, csbp, ctc, chdl = x.age - 73, x.sbp - 150, tc - 6, hdl - 1.4
            in_age = x.age >= 70
        else:
            cage, csbp, ctc, chdl = (x.age - 60) / 5, (x.sbp - 120) / 20, tc - 6, (hdl - 1.3) / 0.5
            in_age = (x.age >= 40) & (x.age < 70)
        for female in (True, False):
            c = block["female" if female else "male"]
            lp = (
                c["cage"] * cage + c["smoking"] * x.smoker + c["csbp"] * csbp
                + c["diabetes"] * x.diabetes + c["ctchol"] * ctc + c["chdl"] * chdl
                + c["smoking_x_cage"] * x.smoker * cage + c["cage_x_csbp"] * cage * csbp
                + c["diabetes_x_cage"] * x.diabetes * cage + c["cage_x_ctchol"] * cage * ctc
                + c["cage_x_chdl"] * cage * chdl
            )  # fmt: skip
            if older:
                lp = lp - c["lp_mean"]
            risk0 = 1 - c["S0"] ** np.exp(lp)
            for region in REGIONS:
                s1, s2 = block["scales"][region]["female" if female else "male"]
                mask = in_age & (x.female == female) & np.array([r == region for r in regions])
                if not mask.any():
                    continue
                cal = 1 - np.exp(-np.exp(s1 + s2 * np.log(-np.log(1 - risk0))))
                out[mask] = cal[mask]
    return out


def esc_category(risk: FloatArray, age: FloatArray) -> list[str]:
    """ESC 2021 categories for apparently healthy people, by age band."""
    lo = np.where(age < 50, 0.025, np.where(age < 70, 0.05, 0.075))
    hi = np.where(age < 50, 0.075, np.where(age < 70, 0.10, 0.15))
    cats = np.select(
        [np.isnan(risk), risk < lo, risk < hi], ["", "low_to_moderate", "high"], default="very_high"
    )
    return [str(c) for c in cats]
