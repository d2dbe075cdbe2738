"""SCORE2-Diabetes: 10-year risk of fatal and non-fatal CVD in type 2 diabetes, ages 40-69.

SCORE2-Diabetes Working Group and the ESC Cardiovascular Risk Collaboration, Eur Heart J
2023;44:2544-2556 (doi:10.1093/eurheartj/ehad260). Coefficients, baseline survival and region
scales from kb/data/cardio/score2_diabetes.json (transcribed from dvicencio/RiskScorescvd
@ 2ae1357 ``R/15_SCORE2-Diabetes_func.R`` and the authors' ``score2dmrisk.ado`` @ abd8702; the
two agree to ±0.0001 and reproduce the paper's 20 worked examples to 0.05 percentage points).

Terms: cage = (age − 60)/5, csbp = (SBP − 120)/20, ctchol = TC − 6, chdl = (HDL − 1.3)/0.5
(mmol/L), cagediab = (age at diagnosis − 50)/5, chba1c = (HbA1c − 31)/9.34 (IFCC mmol/mol),
clnegfr = (ln eGFR − 4.5)/0.15; lp = Σ coefficient × term (no centring constant);
uncalibrated risk = 1 − S0^exp(lp); recalibrated with the SCORE2 region scales:
risk = 1 − exp(−exp(scale1 + scale2 · ln(−ln(1 − uncalibrated)))).

HbA1c given in NGSP % is converted with the IFCC-NGSP master equation,
mmol/mol = (% − 2.152) × 10.929 (Hoelzel W et al., Clin Chem 2004;50:166; as in
research/monitoring.md). Applies to type 2 diabetes only, aged 40-69, without established
ASCVD; the ESC 2023 diabetes risk categories (< 5 % low, 5 to < 10 % moderate, 10 to < 20 %
high, ≥ 20 % very high) are as RiskScorescvd documents them and are not verified against the
guideline itself (said in every row's caveats).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from precisionrx.engines.cardio.inputs import FloatArray, RiskInputs
from precisionrx.engines.cardio.score2 import REGIONS

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

#: Ages the model was derived for.
VALID_AGE = (40, 69)
#: IFCC-NGSP master equation (Hoelzel 2004): IFCC mmol/mol = (NGSP % − 2.152) × 10.929.
NGSP_OFFSET, IFCC_PER_NGSP = 2.152, 10.929


def load(kb: KnowledgeBase) -> dict[str, Any]:
    """The model of the cardio knowledge base (score2_diabetes.json)."""
    data: dict[str, Any] = kb.json("cardio", "score2_diabetes.json")
    return data


def hba1c_mmol_mol(percent: FloatArray) -> FloatArray:
    """NGSP HbA1c (%) as IFCC mmol/mol.

    >>> float(hba1c_mmol_mol(np.array([6.5]))[0])  # doctest: +ELLIPSIS
    47.5...
    """
    return (percent - NGSP_OFFSET) * IFCC_PER_NGSP


def terms(x: RiskInputs, age_at_diagnosis: FloatArray, hba1c: FloatArray) -> dict[str, FloatArray]:
    """The model's terms, HbA1c in mmol/mol. With ``diabetes`` = 0 the diabetes terms drop out
    (the model's comparison for people without diabetes; the age at diagnosis is not used)."""
    cage = (x.age - 60) / 5
    csbp = (x.sbp - 120) / 20
    ctchol = x.total_mmol - 6
    chdl = (x.hdl_mmol - 1.3) / 0.5
    dm = x.diabetes
    cagediab = np.where(dm == 1, (age_at_diagnosis - 50) / 5, 0.0)
    chba1c = (hba1c - 31) / 9.34
    clnegfr = (np.log(x.egfr) - 4.5) / 0.15
    return {
        "cage": cage, "smoking": x.smoker, "csbp": csbp, "diabetes": dm, "ctchol": ctchol,
        "chdl": chdl, "smoking_x_cage": x.smoker * cage, "cage_x_csbp": cage * csbp,
        "diabetes_x_cage": dm * cage, "cage_x_ctchol": cage * ctchol, "cage_x_chdl": cage * chdl,
        "diabetes_x_cagediab": dm * cagediab, "chba1c": chba1c, "clnegfr": clnegfr,
        "clnegfr_sq": clnegfr**2, "cage_x_chba1c": cage * chba1c, "cage_x_clnegfr": cage * clnegfr,
    }  # fmt: skip


def score2_diabetes_risk(
    model: dict[str, Any],
    x: RiskInputs,
    regions: list[str | None],
    age_at_diagnosis: FloatArray,
    hba1c: FloatArray,
) -> FloatArray:
    """10-year CVD risk (0-1) for people with type 2 diabetes; NaN where a region is unknown or
    an input is missing (the caller checks the age range and the population)."""
    out = np.full(x.n, np.nan)
    t = terms(x, age_at_diagnosis, hba1c)
    for female in (True, False):
        sex = "female" if female else "male"
        coef = model["coefficients"][sex]
        lp = sum(coef[name] * value for name, value in t.items())
        risk0 = 1 - model["baseline_survival_S0_10y"][sex] ** np.exp(lp)
        for region in REGIONS:
            scales = model["region_scales"][region][sex]
            mask = (x.female == female) & np.array([r == region for r in regions])
            if not mask.any():
                continue
            s1, s2 = scales["scale1"], scales["scale2"]
            with np.errstate(invalid="ignore", divide="ignore"):
                cal = 1 - np.exp(-np.exp(s1 + s2 * np.log(-np.log(1 - risk0))))
            out[mask] = cal[mask]
    return out


def esc_2023_category(risk: FloatArray) -> list[str]:
    """ESC 2023 risk categories for type 2 diabetes (< 5, 5-10, 10-20, ≥ 20 %)."""
    cats = np.select(
        [np.isnan(risk), risk < 0.05, risk < 0.10, risk < 0.20],
        ["", "low", "moderate", "high"],
        default="very_high",
    )
    return [str(c) for c in cats]
