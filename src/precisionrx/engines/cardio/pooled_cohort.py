"""2013 ACC/AHA Pooled Cohort Equations (Goff DC et al., Circulation 2014;129:S49, Table A) and the
revised PCE (Yadlowsky S et al., Ann Intern Med 2018;169:20). The race term is shown as such in the
output: the PCE use self-reported race (white equations for "other"); PREVENT does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from precisionrx.engines.cardio.inputs import FloatArray, RiskInputs

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

VALID_AGE = (40, 79)


def load(kb: KnowledgeBase) -> dict[str, Any]:
    """The coefficients of the cardio knowledge base (pce_coefficients.json)."""
    data: dict[str, Any] = kb.json("cardio", "pce_coefficients.json")
    return data


def pce_original(coef: dict[str, Any], x: RiskInputs) -> FloatArray:
    """10-year hard ASCVD risk (0-1). Uses the exact mean sums (as preventr does)."""
    black = np.array([r == "black" for r in x.race])
    out = np.full(x.n, np.nan)
    ln_age = np.log(x.age)
    ln_tc = np.log(x.total_mgdl)
    ln_hdl = np.log(x.hdl_mgdl)
    ln_sbp = np.log(x.sbp)
    treated = x.bp_treated == 1
    for female in (True, False):
        for is_black in (True, False):
            key = f"{'black' if is_black else 'white'}_{'female' if female else 'male'}"
            c = coef["original_pce"][key]
            mask = (x.female == female) & (black == is_black)
            if not mask.any():
                continue
            s = (
                c.get("ln_age", 0) * ln_age
                + c.get("ln_age_sq", 0) * ln_age**2
                + c.get("ln_tc", 0) * ln_tc
                + c.get("ln_age_x_ln_tc", 0) * ln_age * ln_tc
                + c.get("ln_hdl", 0) * ln_hdl
                + c.get("ln_age_x_ln_hdl", 0) * ln_age * ln_hdl
                + np.where(
                    treated,
                    c.get("ln_treated_sbp", 0) * ln_sbp
                    + c.get("ln_age_x_ln_treated_sbp", 0) * ln_age * ln_sbp,
                    c.get("ln_untreated_sbp", 0) * ln_sbp
                    + c.get("ln_age_x_ln_untreated_sbp", 0) * ln_age * ln_sbp,
                )
                + c.get("smoker", 0) * x.smoker
                + c.get("ln_age_x_smoker", 0) * ln_age * x.smoker
                + c.get("diabetes", 0) * x.diabetes
            )
            mean = c.get("mean_sum_exact_used_by_preventr", c["mean_sum"])
            risk = 1 - c["S0"] ** np.exp(s - mean)
            out[mask] = risk[mask]
    return out


def pce_revised(coef: dict[str, Any], x: RiskInputs) -> FloatArray:
    """Revised PCE (Yadlowsky 2018), logistic."""
    black = np.array([1.0 if r == "black" else 0.0 for r in x.race])
    out = np.full(x.n, np.nan)
    ratio = x.total_mgdl / x.hdl_mgdl
    for female in (True, False):
        c = coef["revised_pce_yadlowsky_2018"]["female" if female else "male"]
        mask = x.female == female
        sbp, age, tx = x.sbp, x.age, x.bp_treated
        lp = (
            c["intercept"]
            + c["age"] * age
            + c["black"] * black
            + c["sbp_sq"] * sbp**2
            + c["sbp"] * sbp
            + c["bp_tx"] * tx
            + c["dm"] * x.diabetes
            + c["smoking"] * x.smoker
            + c["tc_hdl_ratio"] * ratio
            + c.get("age_x_black", 0) * age * black
            + c["sbp_x_bp_tx"] * sbp * tx
            + c["sbp_x_black"] * sbp * black
            + c["black_x_bp_tx"] * black * tx
            + c["age_x_sbp"] * age * sbp
            + c["black_x_dm"] * black * x.diabetes
            + c["black_x_smoking"] * black * x.smoker
            + c["tc_hdl_ratio_x_black"] * ratio * black
            + c["sbp_x_black_x_bp_tx"] * sbp * black * tx
            + c["age_x_sbp_x_black"] * age * sbp * black
        )
        risk = 1 / (1 + np.exp(-lp))
        out[mask] = risk[mask]
    return out


def acc_aha_category(risk: FloatArray) -> list[str]:
    """ACC/AHA 2018-2019 categories for 10-year ASCVD risk."""
    cats = np.select(
        [risk < 0.05, risk < 0.075, risk < 0.20, risk >= 0.20],
        ["low", "borderline", "intermediate", "high"],
        default="",
    )
    return [str(c) for c in cats]
