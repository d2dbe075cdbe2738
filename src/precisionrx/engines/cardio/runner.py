"""Run the selected risk models over a cohort; one output row per id, model, horizon and outcome.

Output columns: id, model, variant, horizon_years, outcome, risk (0-1, or null), category, caveats
(text ``code: message; code: message``; :func:`estimates` turns the rows into typed
:class:`~precisionrx.records.cardio.RiskEstimate` records with :class:`Caveat` lists).
Inputs outside a model's valid range give no number and a caveat (never an extrapolation). Risks
are the equations' floats, never rounded: rounding is for the HTML and console views only.
An input that was not given and was defaulted or imputed (``RiskInputs.defaulted``: blank flags
read as 0, race read as 'other', a home SBP or the CGM's GMI standing in) is named in the caveats
of every result of a model that uses it: ``default_input: smoker not given, 0 (no) used``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.engines.cardio import (
    diabetes,
    pooled_cohort,
    prevent,
    qrisk3,
    score2,
    score2_diabetes,
)
from precisionrx.engines.cardio.inputs import RiskInputs
from precisionrx.records.cardio import RiskEstimate
from precisionrx.records.evidence import Caveat, CaveatKind

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

MODELS = (
    "prevent", "pce", "pce_revised", "score2", "score2_diabetes", "qrisk3", "ada", "findrisc",
)  # fmt: skip
#: The defaultable inputs each model's equation uses (engines/cardio/<model>.py).
MODEL_INPUTS: dict[str, tuple[str, ...]] = {
    "prevent": ("sbp", "bp_treated", "diabetes", "smoker", "statin", "hba1c"),
    "pce": ("sbp", "bp_treated", "diabetes", "smoker", "race"),
    "score2": ("sbp", "diabetes", "smoker"),
    "score2_diabetes": ("sbp", "smoker", "hba1c"),
    "qrisk3": ("sbp", "bp_treated", "diabetes", "smoker", "af", "ra", "ckd", "migraine", "sle",
               "smi", "atypical_antipsychotic", "corticosteroids", "erectile_dysfunction",
               "family_history_chd"),
    "ada": ("bp_treated", "diabetes"),
    "findrisc": ("bp_treated", "diabetes"),
}  # fmt: skip
MODEL_INPUTS["pce_revised"] = MODEL_INPUTS["pce"]
#: The population each model is for, as the plan shows it next to the number (the validated
#: ranges are those the engine enforces: prevent.RANGES, pooled_cohort/qrisk3/score2_diabetes
#: VALID_AGE; SCORE2 ESC 2021; ADA Bang 2009; FINDRISC Lindstrom 2003).
MODEL_POPULATION = {
    "prevent": "US adults 30-79 without CVD (AHA PREVENT 2024; race-free)",
    "pce": "US adults 40-79 without CVD (2013 ACC/AHA; uses self-reported race)",
    "pce_revised": "US adults 40-79 without CVD (Yadlowsky 2018; uses self-reported race)",
    "score2": "European adults 40-69 (SCORE2) or 70-89 (SCORE2-OP) without CVD or diabetes, "
              "by ESC risk region",
    "score2_diabetes": "European adults 40-69 with type 2 diabetes and no CVD, by ESC risk "
                       "region (ESC 2023)",
    "qrisk3": "UK adults 25-84 without CVD (QRISK3-2017)",
    "ada": "US adults without known diabetes (screening score)",
    "findrisc": "Finnish adults without known diabetes (screening score)",
}  # fmt: skip


def default_rules(x: RiskInputs, model: str) -> Rules:
    """One ``default_input`` caveat per defaulted input the model uses (imputed values, such as
    a home SBP, say what stood in for the missing input)."""
    rules: Rules = []
    for name in MODEL_INPUTS.get(model, ()):
        if name in x.defaulted:
            mask, used = x.defaulted[name]
            rules.append((mask, f"default_input: {name} not given, {used}"))
    return rules


@dataclass
class CardioKb:
    prevent: prevent.PreventCoefficients
    pce: dict[str, object]
    score2: dict[str, object]
    qrisk3: dict[str, object]
    diabetes: dict[str, Any]
    score2_diabetes: dict[str, Any]


def cardio_kb(kb: KnowledgeBase) -> CardioKb:
    """Every risk model's coefficients from the cardio knowledge base, loaded once per
    knowledge-base object."""
    return kb.memo(
        ("cardio", "risk_models"),
        lambda: CardioKb(
            prevent.PreventCoefficients.load(kb),
            pooled_cohort.load(kb),
            score2.load(kb),
            qrisk3.load(kb),
            diabetes.load(kb),
            score2_diabetes.load(kb),
        ),
    )


#: How each caveat code of the risk rows is to be read.
CAVEAT_KINDS: dict[str, CaveatKind] = {
    "out_of_range": CaveatKind.WARNING,
    "age_over_59": CaveatKind.WARNING,
    "race_term": CaveatKind.NOTE,
    "region_unknown": CaveatKind.WARNING,
    "qrisk3_disclaimer": CaveatKind.FOOTNOTE,
    "missing_input": CaveatKind.WARNING,
    "default_input": CaveatKind.NOTE,
    "points": CaveatKind.NOTE,
    "not_applicable": CaveatKind.NOTE,
    "extrapolated_age": CaveatKind.WARNING,
    "unverified_points": CaveatKind.WARNING,
    "unverified_category": CaveatKind.WARNING,
    "diabetes_model": CaveatKind.NOTE,
}
#: A caveat starts at the text start or after "; " with its code and ": " (a message may hold
#: "; " itself, as the QRISK3 disclaimer does).
_CAVEAT_START = re.compile(r"; (?=[a-z][a-z0-9_]*: )")


def parse_caveats(text: str | None) -> list[Caveat]:
    """The caveats of a row's ``code: message; code: message`` text."""
    out = []
    for part in _CAVEAT_START.split(text or ""):
        if not part:
            continue
        code, _, message = part.partition(": ")
        out.append(Caveat(code=code, message=message, kind=CAVEAT_KINDS.get(code, CaveatKind.NOTE)))
    return out


def caveats_text(caveats: list[Caveat]) -> str:
    """The CSV form of a row's caveats: ``code: message`` joined with "; "."""
    return "; ".join(f"{c.code}: {c.message}" for c in caveats)


def estimates(frames: list[pl.DataFrame]) -> list[RiskEstimate]:
    """Typed records of output rows (caveat texts parsed once per distinct text)."""
    parsed: dict[str, list[Caveat]] = {}
    out = []
    for frame in frames:
        for r in frame.iter_rows(named=True):
            text = r["caveats"] or ""
            if text not in parsed:
                parsed[text] = parse_caveats(text)
            out.append(RiskEstimate(
                id=r["id"], model=r["model"], variant=r["variant"],
                horizon_years=r["horizon_years"], outcome=r["outcome"], risk=r["risk"],
                category=r["category"], caveats=parsed[text],
            ))  # fmt: skip
    return out


Rules = list[tuple[npt.NDArray[np.bool_], str]]


def caveat_column(rules: Rules, notes: pl.Series | None = None) -> pl.Series:
    """Per-row caveat text: the texts of the rules whose mask is true, joined with "; "."""
    parts = [
        pl.when(pl.Series(f"m{k}", mask)).then(pl.lit(text + "; ")).otherwise(pl.lit(""))
        for k, (mask, text) in enumerate(rules)
        if mask.any()
    ]
    if notes is not None:  # per-row text (e.g. a points total), first in the caveats
        parts.insert(0, pl.when(notes != "").then(notes + "; ").otherwise(pl.lit("")))
    if not parts:
        n = len(rules[0][0]) if rules else (len(notes) if notes is not None else 0)
        return pl.Series("caveats", [""] * n, dtype=pl.Utf8)
    return pl.select(pl.concat_str(parts).str.strip_chars_end("; ").alias("caveats")).to_series()


def _frame(
    x: RiskInputs,
    ids: pl.DataFrame,
    model: str,
    variant: str | pl.Series,
    horizon: int,
    outcome: str,
    risk: npt.NDArray[np.float64],
    category: str | pl.Series,
    caveats: Rules | pl.Series,
    notes: pl.Series | None = None,
) -> pl.DataFrame:
    """Build one block of output rows with column expressions (no per-row Python objects).

    ``caveats`` is a list of rules, or a column already built by :func:`caveat_column` (blocks
    that share their caveats build them once)."""
    n = x.n
    if not isinstance(caveats, pl.Series):
        caveats = caveat_column(caveats, notes)
    frame = ids.with_columns(
        pl.lit(model).alias("model"),
        (variant if isinstance(variant, pl.Series) else pl.lit(variant)).alias("variant"),
        pl.lit(horizon, dtype=pl.Int32).alias("horizon_years"),
        pl.lit(outcome).alias("outcome"),
        pl.Series("risk", risk, dtype=pl.Float64).fill_nan(None),
        (category if isinstance(category, pl.Series) else pl.lit(category)).alias("category"),
        caveats.alias("caveats"),
    )
    assert frame.height == n
    return frame


def run_prevent(kb: CardioKb, x: RiskInputs, ids: pl.DataFrame) -> list[pl.DataFrame]:
    frames = []
    variant = prevent.choose_variant(x)
    variant_col = pl.Series("variant", variant.astype(str))
    masks = prevent.out_of_range(x)
    rules: Rules = []
    invalid = np.zeros(x.n, dtype=bool)
    for name, mask in masks.items():
        lo, hi = prevent.RANGES[name]
        label = {
            "total_mgdl": "total cholesterol (mg/dL)",
            "hdl_mgdl": "HDL cholesterol (mg/dL)",
        }.get(name, name)
        rules.append((mask, f"out_of_range: {label} missing or outside {lo:g}-{hi:g}"))
        invalid |= mask
    rules += default_rules(x, "prevent")
    present = [v for v in prevent.VARIANTS if (variant == v).any()]
    for horizon in prevent.HORIZONS:
        risks = prevent.prevent_risks(kb.prevent, x, present, variant, horizon)
        extra: Rules = []
        if horizon == 30:
            extra = [(x.age > 59, "age_over_59: 30-year risk is not recommended above age 59")]
        caveats = caveat_column(rules + extra)  # the same for every outcome of this horizon
        for outcome in prevent.OUTCOMES:
            risk = np.where(invalid, np.nan, risks[outcome])
            frames.append(
                _frame(x, ids, "prevent", variant_col, horizon, outcome, risk, "", caveats)
            )
    return frames


def run_pce(kb: CardioKb, x: RiskInputs, ids: pl.DataFrame, revised: bool) -> list[pl.DataFrame]:
    if revised:
        risk = pooled_cohort.pce_revised(kb.pce, x)
    else:
        risk = pooled_cohort.pce_original(kb.pce, x)
    lo, hi = pooled_cohort.VALID_AGE
    bad = (
        np.isnan(x.age) | (x.age < lo) | (x.age > hi) | np.isnan(x.sbp)
        | np.isnan(x.total_mgdl) | np.isnan(x.hdl_mgdl)
    )  # fmt: skip
    race = np.array(x.race)
    rules: Rules = [
        (bad, f"out_of_range: age outside {lo}-{hi} or a required input missing"),
        (race == "black", "race_term: the PCE use self-reported race (Black equations)"),
        (race == "white", "race_term: the PCE use self-reported race (white equations)"),
        (
            ~np.isin(race, ["white", "black"]),
            "race_term: the PCE use self-reported race ('other' uses the white equations)",
        ),
    ]
    rules += default_rules(x, "pce")
    risk = np.where(bad, np.nan, risk)
    category = pl.Series("category", pooled_cohort.acc_aha_category(risk), dtype=pl.Utf8)
    name = "pce_revised" if revised else "pce"
    variant = "yadlowsky_2018" if revised else "goff_2013"
    return [_frame(x, ids, name, variant, 10, "hard_ascvd", risk, category, rules)]


def run_score2(kb: CardioKb, x: RiskInputs, ids: pl.DataFrame) -> list[pl.DataFrame]:
    regions = [score2.region_for(r, kb.score2) if r else None for r in x.region]
    risk = score2.score2_risk(kb.score2, x, regions)
    no_region = np.array([r is None for r in regions])
    young = x.age < 40
    old_range = x.age > 89
    rules: Rules = [
        (no_region, "region_unknown: give region (low|moderate|high|very_high) or an ESC country"),
        (young, "out_of_range: SCORE2 is for ages 40-69 (SCORE2-OP from 70)"),
        (old_range, "out_of_range: SCORE2-OP was derived up to age 89"),
        ((x.diabetes == 1) & (x.age >= 40) & (x.age < 70),
         "diabetes_model: for type 2 diabetes the ESC 2023 diabetes guideline uses "
         "SCORE2-Diabetes (model score2_diabetes)"),
    ]  # fmt: skip
    rules += default_rules(x, "score2")
    risk = np.where(no_region | young | old_range, np.nan, risk)
    variant = pl.Series("variant", np.where(x.age >= 70, "score2_op", "score2"), dtype=pl.Utf8)
    category = pl.Series("category", score2.esc_category(risk, x.age), dtype=pl.Utf8)
    return [_frame(x, ids, "score2", variant, 10, "cvd", risk, category, rules)]


def run_score2_diabetes(kb: CardioKb, x: RiskInputs, ids: pl.DataFrame) -> list[pl.DataFrame]:
    """SCORE2-Diabetes for people with type 2 diabetes aged 40-69 (score2_diabetes.py); no
    number, with the reason, for anyone else or when an input is missing."""
    nan = np.full(x.n, np.nan)
    regions = [score2.region_for(r, kb.score2) if r else None for r in x.region]
    dm_type = x.extra.get("diabetes_type", nan)
    onset = x.extra.get("age_diabetes_diagnosis", nan)
    hba1c = score2_diabetes.hba1c_mmol_mol(x.hba1c)
    no_diabetes = x.diabetes != 1
    type1 = (x.diabetes == 1) & (dm_type == 1)
    lo, hi = score2_diabetes.VALID_AGE
    bad_age = np.isnan(x.age) | (x.age < lo) | (x.age >= hi + 1)
    no_region = np.array([r is None for r in regions])
    applies = ~no_diabetes & ~type1
    needs = {
        "age_diabetes_diagnosis": np.isnan(onset) | (onset > x.age),
        "hba1c": np.isnan(x.hba1c),
        "egfr": np.isnan(x.egfr) | (x.egfr <= 0),
        "sbp, total and HDL cholesterol": np.isnan(x.sbp) | np.isnan(x.total_mgdl)
        | np.isnan(x.hdl_mgdl),
    }  # fmt: skip
    missing = np.zeros(x.n, dtype=bool)
    for m in needs.values():
        missing |= m
    risk = score2_diabetes.score2_diabetes_risk(kb.score2_diabetes, x, regions, onset, hba1c)
    invalid = ~applies | bad_age | no_region | (applies & missing)
    risk = np.where(invalid, np.nan, risk)
    rules: Rules = [
        (no_diabetes, "not_applicable: SCORE2-Diabetes is for people with type 2 diabetes "
                      "(SCORE2 applies)"),
        (type1, "not_applicable: SCORE2-Diabetes is for type 2 diabetes, not type 1"),
        (applies & bad_age, f"out_of_range: SCORE2-Diabetes is for ages {lo}-{hi}"),
        (applies & no_region,
         "region_unknown: give region (low|moderate|high|very_high) or an ESC country"),
        (applies & (x.diabetes == 1) & np.isnan(dm_type),
         "default_input: diabetes_type not given, type 2 assumed"),
        *[(applies & m, f"missing_input: {name} not given or impossible, no score")
          for name, m in needs.items()],
        (~np.isnan(risk), "unverified_category: ESC 2023 diabetes risk categories as documented "
                          "by RiskScorescvd, not checked against the guideline"),
        *[(m & applies, t) for m, t in default_rules(x, "score2_diabetes")],
    ]  # fmt: skip
    category = pl.Series("category", score2_diabetes.esc_2023_category(risk), dtype=pl.Utf8)
    return [_frame(x, ids, "score2_diabetes", "2023", 10, "cvd", risk, category, rules)]


def run_models(kb: CardioKb, x: RiskInputs, models: list[str]) -> pl.DataFrame:
    frames = model_blocks(kb, x, models)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames)


def run_qrisk3(kb: CardioKb, x: RiskInputs, ids: pl.DataFrame) -> list[pl.DataFrame]:
    ex = x.extra
    nan = np.full(x.n, np.nan)
    smoke = ex.get("smoking_category", nan).copy()
    smoke_missing = np.isnan(smoke) & (x.smoker == 1)
    smoke = np.where(np.isnan(smoke) & (x.smoker == 0), 0.0, smoke)
    eth = ex.get("qrisk3_ethnicity", nan)
    dm_type = np.nan_to_num(ex.get("diabetes_type", nan), nan=0.0)
    dm_type_missing = (x.diabetes == 1) & (dm_type == 0)
    lo, hi = qrisk3.VALID_AGE
    bad_age = np.isnan(x.age) | (x.age < lo) | (x.age > hi)
    missing = np.isnan(x.sbp) | np.isnan(x.bmi) | np.isnan(x.total_mgdl) | np.isnan(x.hdl_mgdl)
    risk = qrisk3.qrisk3_risk(kb.qrisk3, x, smoke, eth, dm_type)
    invalid = bad_age | missing | smoke_missing | dm_type_missing
    risk = np.where(invalid, np.nan, risk)
    rules: Rules = [
        (np.ones(x.n, dtype=bool), f"qrisk3_disclaimer: {qrisk3.DISCLAIMER}"),
        (bad_age, f"out_of_range: QRISK3 is for ages {lo}-{hi}"),
        (missing, "out_of_range: SBP, BMI and cholesterol are required"),
        (smoke_missing, "missing_input: smoker=1 needs smoking_category 1-4"),
        (dm_type_missing, "missing_input: diabetes=1 needs diabetes_type 1 or 2"),
        (np.isnan(eth), "default_input: qrisk3_ethnicity not given, White/not stated (1) used"),
        (np.isnan(ex.get("townsend", nan)), "default_input: townsend not given, 0 used"),
        (np.isnan(ex.get("sbp_sd", nan)), "default_input: sbp_sd not given, 0 used"),
        *default_rules(x, "qrisk3"),
    ]
    category = pl.Series(
        "category",
        np.where(np.isnan(risk), "", np.where(risk >= 0.10, "ge_10pct", "lt_10pct")),
        dtype=pl.Utf8,
    )
    return [_frame(x, ids, "qrisk3", "2017", 10, "cvd", risk, category, rules)]


def run_diabetes_score(
    kb: CardioKb, x: RiskInputs, ids: pl.DataFrame, model: str
) -> list[pl.DataFrame]:
    """ADA risk test or FINDRISC: points in the caveats, category, and FINDRISC's band risk."""
    table = kb.diabetes[model]
    if model == "ada":
        result = diabetes.ada_points(table, x)
        category = diabetes.ada_category(table, result.points)
        risk = np.full(x.n, np.nan)  # the ADA test gives no probability
        horizon: int | None = None
        variant = "bang_2009"
    else:
        result = diabetes.findrisc_points(table, x)
        category, risk = diabetes.findrisc_category(table, result.points)
        horizon = int(table["horizon_years"])
        variant = "lindstrom_2003"
    points = result.points
    notes = pl.Series(
        "notes",
        [
            "" if np.isnan(p) else f"points: {int(p)} of {table['max_points']}"
            for p in points.tolist()
        ],
        dtype=pl.Utf8,
    )
    assert result.not_applicable is not None and result.too_young is not None
    rules: Rules = [
        (result.not_applicable, "not_applicable: a screening score for people without diabetes"),
        (result.too_young, f"out_of_range: for adults aged {table['min_age']} and over"),
    ]
    rules += [
        (mask & ~result.not_applicable, f"missing_input: {item} not given, no score")
        for item, mask in result.missing.items()
    ]
    rules += [(m & ~result.not_applicable, t) for m, t in default_rules(x, model)]
    if "derivation_age" in table:
        lo, hi = table["derivation_age"]
        outside = ~np.isnan(points) & ((x.age < lo) | (x.age > hi))
        rules.append((outside, f"extrapolated_age: derived in people aged {lo}-{hi}"))
    if not table.get("verified", False):
        rules.append(
            (
                ~np.isnan(points),
                "unverified_points: points table transcribed from the publication and not yet "
                "independently cross-checked",
            )
        )
    frame = _frame(x, ids, model, variant, horizon or 0, table["outcome"], risk,
                   pl.Series("category", category, dtype=pl.Utf8), rules, notes)  # fmt: skip
    if horizon is None:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int32).alias("horizon_years"))
    return [frame]


def model_blocks(kb: CardioKb, x: RiskInputs, models: list[str]) -> list[pl.DataFrame]:
    """Output rows in blocks (one per model, horizon and outcome), for streaming writers."""
    frames: list[pl.DataFrame] = []
    ids = pl.DataFrame({"id": pl.Series("id", x.ids, dtype=pl.Utf8)})  # shared by every block
    for m in models:
        if m == "prevent":
            frames += run_prevent(kb, x, ids)
        elif m == "pce":
            frames += run_pce(kb, x, ids, revised=False)
        elif m == "pce_revised":
            frames += run_pce(kb, x, ids, revised=True)
        elif m == "score2":
            frames += run_score2(kb, x, ids)
        elif m == "score2_diabetes":
            frames += run_score2_diabetes(kb, x, ids)
        elif m == "qrisk3":
            frames += run_qrisk3(kb, x, ids)
        elif m in ("ada", "findrisc"):
            frames += run_diabetes_score(kb, x, ids, m)
    return frames
