"""QRISK3-2017 10-year cardiovascular risk (Hippisley-Cox J et al., BMJ 2017;357:j2099).

Coefficients, centring and fractional-polynomial transforms from ClinRisk's open-source qrisk3.c
(LGPL-3.0-or-later with ClinRisk's additional terms); kb/data/cardio/qrisk3_2017_coefficients.json.
risk% = 100 * (1 - S10 ** exp(a)). Every centred continuous term enters both the main effects and
the age interactions. ClinRisk requires its disclaimer to be shown with every score (DISCLAIMER).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from precisionrx.records.risk_inputs import FloatArray, RiskInputs

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

VALID_AGE = (25, 84)
#: ClinRisk's condition for using the open-source algorithm: shown with every QRISK3 score.
DISCLAIMER = (
    "QRISK3-2017 computed from ClinRisk Ltd's open-source algorithm (LGPL). ClinRisk stress "
    "that it is the responsibility of the end user to check that the source they receive "
    "produces the same results as the original code at https://qrisk.org; inaccurate "
    "implementations of risk scores can lead to the wrong patients being given the wrong "
    "treatment. This implementation has not yet been checked against qrisk.org."
)
BOOL_COLUMNS = {
    "b_AF": "af", "b_atypicalantipsy": "atypical_antipsychotic",
    "b_corticosteroids": "corticosteroids", "b_impotence2": "erectile_dysfunction",
    "b_migraine": "migraine", "b_ra": "ra", "b_renal": "ckd", "b_semi": "smi", "b_sle": "sle",
    "fh_cvd": "family_history_chd",
}  # fmt: skip


def load(kb: KnowledgeBase) -> dict[str, Any]:
    """The coefficients of the cardio knowledge base (qrisk3_2017_coefficients.json)."""
    data: dict[str, Any] = kb.json("cardio", "qrisk3_2017_coefficients.json")
    return data


def qrisk3_risk(coef: dict[str, Any], x: RiskInputs, smoke_cat: FloatArray, eth: FloatArray,
                dm_type: FloatArray) -> FloatArray:  # fmt: skip
    """10-year risk (0-1) per row; ``smoke_cat`` 0-4, ``eth`` 1-9, ``dm_type`` 0/1/2."""
    out = np.full(x.n, np.nan)
    ex = x.extra
    town = np.nan_to_num(ex.get("townsend", np.zeros(x.n)), nan=0.0)
    sbps5 = np.nan_to_num(ex.get("sbp_sd", np.zeros(x.n)), nan=0.0)
    rati = x.total_mgdl / x.hdl_mgdl
    dage = x.age / 10
    dbmi = x.bmi / 10
    for female in (True, False):
        c = coef["female" if female else "male"]
        rows = x.female == female
        if not rows.any():
            continue
        if female:
            age_1, age_2 = dage**-2, dage
        else:
            age_1, age_2 = dage**-1, dage**3
        bmi_1 = dbmi**-2
        bmi_2 = dbmi**-2 * np.log(dbmi)
        cen = c["centring"]
        v = {
            "age_1": age_1 - cen["age_1"], "age_2": age_2 - cen["age_2"],
            "bmi_1": bmi_1 - cen["bmi_1"], "bmi_2": bmi_2 - cen["bmi_2"],
            "rati": rati - cen["rati"], "sbp": x.sbp - cen["sbp"],
            "sbps5": sbps5 - cen["sbps5"], "town": town - cen["town"],
        }  # fmt: skip
        b = {
            name: np.nan_to_num(ex.get(col, np.zeros(x.n)), nan=0.0)
            for name, col in BOOL_COLUMNS.items()
        }
        b["b_treatedhyp"] = x.bp_treated
        b["b_type1"] = (dm_type == 1).astype(float)
        b["b_type2"] = (dm_type == 2).astype(float)
        for k in range(1, 5):
            b[f"smoke_cat=={k}"] = (smoke_cat == k).astype(float)
        eth_idx = np.clip(np.nan_to_num(eth, nan=1.0).astype(int), 0, 9)
        smk_idx = np.clip(np.nan_to_num(smoke_cat, nan=0.0).astype(int), 0, 4)
        a = np.asarray(c["Iethrisk"])[eth_idx] + np.asarray(c["Ismoke"])[smk_idx]
        for name, coefficient in c["continuous"].items():
            a = a + coefficient * v[name]
        for name, coefficient in c["boolean"].items():
            a = a + coefficient * b[name]
        for age_term in ("age_1", "age_2"):
            for name, coefficient in c[f"interaction_{age_term}"].items():
                other = v[name] if name in v else b[name]
                a = a + coefficient * v[age_term] * other
        risk = 1 - c["survivor_10yr"] ** np.exp(a)
        out[rows] = risk[rows]
    return out
