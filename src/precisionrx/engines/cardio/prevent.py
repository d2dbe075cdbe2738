"""AHA PREVENT equations (Khan SS et al., Circulation 2024;149:430-449).

Logistic models, p = 1/(1+exp(-x)); term transforms and valid ranges from the published
supplement as encoded by preventr 0.12.0 (kb/data/cardio/prevent_model_spec.json). Five variants
(base, uacr, hba1c, sdi, full), horizons 10 and 30 years, outcomes total CVD, ASCVD, heart failure,
CHD and stroke. Model choice per row (preventr rule): no optional predictor -> base; exactly one of
HbA1c, UACR, SDI -> that model; two or more -> full, with missing indicators for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from precisionrx.engines.cardio.inputs import FloatArray, RiskInputs

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

OUTCOMES = ("total_cvd", "ascvd", "heart_failure", "chd", "stroke")
VARIANTS = ("base", "uacr", "hba1c", "sdi", "full")
HORIZONS = (10, 30)
#: Valid input ranges (preventr / Khan 2024): outside -> no number and a caveat.
RANGES = {
    "age": (30, 79), "sbp": (90, 180), "total_mgdl": (130, 320), "hdl_mgdl": (20, 100),
    "egfr": (15, 140), "bmi": (18.5, 39.9), "hba1c": (4.5, 15), "uacr": (0.1, 25000),
}  # fmt: skip


@dataclass(frozen=True)
class PreventCoefficients:
    #: (variant, horizon) -> term -> column -> coefficient
    tables: dict[tuple[str, int], dict[str, dict[str, float]]]

    @classmethod
    def load(cls, kb: KnowledgeBase) -> PreventCoefficients:
        """The coefficient tables of the cardio knowledge base (``prevent_<variant>_<h>yr.csv``)."""
        tables = {}
        for variant in VARIANTS:
            for horizon in HORIZONS:
                rows: dict[str, dict[str, float]] = {}
                for row in kb.rows("cardio", f"prevent_{variant}_{horizon}yr.csv", delimiter=","):
                    rows[row["term"]] = {
                        k: float(v) for k, v in row.items() if k not in ("term", "label") and v
                    }
                tables[(variant, horizon)] = rows
        return cls(tables)


def _terms(x: RiskInputs, horizon: int) -> dict[str, FloatArray]:
    age = (x.age - 55) / 10
    non_hdl = (x.total_mgdl - x.hdl_mgdl) / (1 / 0.02586) - 3.5
    hdl = (x.hdl_mgdl / (1 / 0.02586) - 1.3) / 0.3
    sbp_lt = (np.minimum(x.sbp, 110) - 110) / 20
    sbp_ge = (np.maximum(x.sbp, 110) - 130) / 20
    bmi_lt = (np.minimum(x.bmi, 30) - 25) / 5
    bmi_ge = (np.maximum(x.bmi, 30) - 30) / 5
    egfr_lt = (np.minimum(x.egfr, 60) - 60) / -15
    egfr_ge = (np.maximum(x.egfr, 60) - 90) / -15
    dm, smk = x.diabetes, x.smoker
    has_a1c = ~np.isnan(x.hba1c)
    has_uacr = ~np.isnan(x.uacr)
    has_sdi = ~np.isnan(x.sdi_decile)
    a1c = np.where(has_a1c, x.hba1c - 5.3, 0.0)
    terms = {
        "age": age,
        "non_hdl_c": non_hdl,
        "hdl_c": hdl,
        "sbp_lt_110": sbp_lt,
        "sbp_gte_110": sbp_ge,
        "dm": dm,
        "smoking": smk,
        "bmi_lt_30": bmi_lt,
        "bmi_gte_30": bmi_ge,
        "egfr_lt_60": egfr_lt,
        "egfr_gte_60": egfr_ge,
        "bp_tx": x.bp_treated,
        "statin": x.statin,
        "bp_tx_sbp_gte_110": x.bp_treated * sbp_ge,
        "statin_non_hdl_c": x.statin * non_hdl,
        "age_non_hdl_c": age * non_hdl,
        "age_hdl_c": age * hdl,
        "age_sbp_gte_110": age * sbp_ge,
        "age_dm": age * dm,
        "age_smoking": age * smk,
        "age_bmi_gte_30": age * bmi_ge,
        "age_egfr_lt_60": age * egfr_lt,
        "sdi_4_to_6": np.where(has_sdi & (x.sdi_decile >= 4) & (x.sdi_decile <= 6), 1.0, 0.0),
        "sdi_7_to_10": np.where(has_sdi & (x.sdi_decile >= 7), 1.0, 0.0),
        "missing_sdi": np.where(has_sdi, 0.0, 1.0),
        "ln_uacr": np.where(has_uacr, np.log(np.where(has_uacr, x.uacr, 1.0)), 0.0),
        "missing_uacr": np.where(has_uacr, 0.0, 1.0),
        "hba1c_dm": np.where(dm == 1, a1c, 0.0),
        "hba1c_no_dm": np.where(dm == 1, 0.0, a1c),
        "missing_hba1c": np.where(has_a1c, 0.0, 1.0),
        "constant": np.ones(x.n),
    }
    if horizon == 30:
        terms["age_squared"] = age * age
    return terms


def choose_variant(x: RiskInputs) -> npt.NDArray[np.object_]:
    """Per-row model variant (preventr's selection rule)."""
    a1c = ~np.isnan(x.hba1c)
    uacr = ~np.isnan(x.uacr)
    sdi = ~np.isnan(x.sdi_decile)
    count = a1c.astype(int) + uacr.astype(int) + sdi.astype(int)
    out = np.full(x.n, "base", dtype=object)
    out[(count == 1) & a1c] = "hba1c"
    out[(count == 1) & uacr] = "uacr"
    out[(count == 1) & sdi] = "sdi"
    out[count >= 2] = "full"
    return out


def out_of_range(x: RiskInputs) -> dict[str, npt.NDArray[np.bool_]]:
    """Boolean mask per input that is missing or outside the model's valid range."""
    masks = {}
    for name, (lo, hi) in RANGES.items():
        v = getattr(x, name)
        if name in ("hba1c", "uacr"):
            masks[name] = ~np.isnan(v) & ((v < lo) | (v > hi))
        else:
            masks[name] = np.isnan(v) | (v < lo) | (v > hi)
    return masks


def prevent_risk(
    coef: PreventCoefficients, x: RiskInputs, variant: str, horizon: int, outcome: str
) -> FloatArray:
    """Risk (0-1) for every row with one variant, horizon and outcome (no range checks)."""
    chosen = np.full(x.n, variant, dtype=object)
    return prevent_risks(coef, x, [variant], chosen, horizon)[outcome]


def prevent_risks(
    coef: PreventCoefficients,
    x: RiskInputs,
    variants: list[str],
    chosen: npt.NDArray[np.object_],
    horizon: int,
) -> dict[str, FloatArray]:
    """All outcomes for one horizon, each row with its own variant; terms computed once.

    The linear predictors of all outcomes and both sexes are one matrix product per variant:
    (rows x terms) @ (terms x [female outcomes, male outcomes]). The term matrix is filled column
    by column in Fortran order (each column one contiguous copy) and read once."""
    terms = _terms(x, horizon)
    out = {o: np.full(x.n, np.nan) for o in OUTCOMES}
    k = len(OUTCOMES)
    for variant in variants:
        rows = chosen == variant
        table = coef.tables[(variant, horizon)]
        names = [t for t in table if t in terms]
        matrix = np.empty((x.n, len(names)), order="F")
        for j, t in enumerate(names):
            matrix[:, j] = terms[t]
        weights = np.array(
            [[table[t].get(f"{sex}_{o}", 0.0) for sex in ("female", "male") for o in OUTCOMES]
             for t in names]
        )  # fmt: skip
        lp = matrix @ weights
        risk = 1.0 / (1.0 + np.exp(-np.where(x.female[:, None], lp[:, :k], lp[:, k:])))
        every = bool(rows.all())
        for j, outcome in enumerate(OUTCOMES):
            if every:
                out[outcome] = risk[:, j].copy()
            else:
                out[outcome][rows] = risk[rows, j]
    return out


def round_half_up(values: FloatArray, digits: int = 3) -> FloatArray:
    """Round half up as preventr prints its proportions (3 decimals).

    Only for comparing with preventr's printed values: ``precisionrx risk`` and the plan keep the
    equation's unrounded float."""
    scale = 10.0**digits
    return np.floor(values * scale + 0.5 + 1e-9) / scale
