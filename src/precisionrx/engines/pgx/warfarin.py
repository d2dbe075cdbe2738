"""Genotype-guided warfarin dosing: IWPC algorithms and the CPIC 2017 adult flowchart.

IWPC pharmacogenetic and clinical models (International Warfarin Pharmacogenetics Consortium,
N Engl J Med 2009;360:753-764, PMID 19228618, supplementary appendix); output is the square root of
the weekly dose in mg; age enters in decades (floor(age/10)). CPIC 2017 guideline (Johnson et al.,
Clin Pharmacol Ther 2017;102:397-404, PMID 28198005), adult and pediatric flowcharts.
"""

from __future__ import annotations

import math

from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Caveat, GeneCall
from precisionrx.records.pgx import DoseEstimate, WarfarinGuidance, WarfarinInputs

IWPC_PG: dict[str, float] = {  # IWPC 2009 appendix, pharmacogenetic algorithm
    "intercept": 5.6044,
    "age_decades": -0.2614,
    "height_cm": 0.0087,
    "weight_kg": 0.0128,
    "VKORC1_AG": -0.8677,
    "VKORC1_AA": -1.6974,
    "VKORC1_unknown": -0.4854,
    "*1/*2": -0.5211,
    "*1/*3": -0.9357,
    "*2/*2": -1.0616,
    "*2/*3": -1.9206,
    "*3/*3": -2.3312,
    "CYP2C9_unknown": -0.2188,
    "asian": -0.1092,
    "black": -0.2760,
    "missing_or_mixed": -0.1032,
    "inducer": 1.1816,
    "amiodarone": -0.5503,
}
IWPC_CLINICAL: dict[str, float] = {  # IWPC 2009 appendix, clinical algorithm
    "intercept": 4.0376,
    "age_decades": -0.2546,
    "height_cm": 0.0118,
    "weight_kg": 0.0134,
    "asian": -0.6752,
    "black": 0.4060,
    "missing_or_mixed": 0.0443,
    "inducer": 1.2799,
    "amiodarone": -0.5695,
}
#: Enzyme inducers named by the IWPC model.
INDUCERS = frozenset({"carbamazepine", "phenytoin", "rifampin", "rifampicin"})
#: Bounds used to show the dose range implied by a missing input (adult, stated as assumptions).
ASSUMED_RANGE = {"age_years": (20.0, 90.0), "height_cm": (150.0, 195.0), "weight_kg": (45.0, 120.0)}
REDUCED_FUNCTION = ("*5", "*6", "*8", "*11")


def race_group(ancestry: str | None) -> str:
    """IWPC race category from self-reported ancestry (the model uses race: said in output)."""
    text = (ancestry or "").lower()
    if any(w in text for w in ("black", "african")):
        return "black"
    if "asian" in text:
        return "asian"
    if any(w in text for w in ("white", "european", "caucasian")):
        return "white"
    return "missing_or_mixed"


def iwpc_weekly_dose(
    coef: dict[str, float],
    age_years: float,
    height_cm: float,
    weight_kg: float,
    race: str,
    vkorc1: str | None = None,
    cyp2c9: str | None = None,
    inducer: bool = False,
    amiodarone: bool = False,
) -> float:
    """Weekly warfarin dose (mg) from an IWPC model; genotype terms only in the PG model."""
    x = coef["intercept"]
    x += coef["age_decades"] * math.floor(age_years / 10)
    x += coef["height_cm"] * height_cm + coef["weight_kg"] * weight_kg
    if race in ("asian", "black", "missing_or_mixed"):
        x += coef[race]
    if "VKORC1_AG" in coef:
        x += (
            coef.get(f"VKORC1_{vkorc1}", 0.0)
            if vkorc1 in ("AG", "AA")
            else (coef["VKORC1_unknown"] if vkorc1 is None else 0.0)
        )
        if cyp2c9 is None:
            x += coef["CYP2C9_unknown"]
        elif cyp2c9 != "*1/*1":
            x += coef.get(cyp2c9, coef["CYP2C9_unknown"])
    if inducer:
        x += coef["inducer"]
    if amiodarone:
        x += coef["amiodarone"]
    return x * x


def _vkorc1(call: GeneCall | None) -> str | None:
    if call is None or not call.called or not call.phenotype:
        return None
    return call.phenotype.removeprefix("-1639 ").strip() or None


def warfarin_guidance(
    kb: KnowledgeBase,
    genes: dict[str, GeneCall],
    drugs: set[str],
    age_years: float | None,
    height_cm: float | None,
    weight_kg: float | None,
    ancestry: str | None,
) -> WarfarinGuidance:
    caveats: list[Caveat] = []
    vk = _vkorc1(genes.get("VKORC1"))
    c9call = genes.get("CYP2C9")
    c9 = c9call.diplotypes[0] if c9call and c9call.called and c9call.diplotypes else None
    race = race_group(ancestry)
    inducer = bool(drugs & INDUCERS)
    amio = "amiodarone" in drugs
    inputs = {"age_years": age_years, "height_cm": height_cm, "weight_kg": weight_kg}
    missing = [k for k, v in inputs.items() if v is None]
    model_c9 = c9 if c9 in {"*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"} else None

    def dose(coef: dict[str, float], **override: float) -> float:
        vals = {k: (override.get(k, v) if v is None else v) for k, v in inputs.items()}
        return iwpc_weekly_dose(
            coef,
            vals["age_years"] or 0,
            vals["height_cm"] or 0,
            vals["weight_kg"] or 0,
            race,
            vk,
            model_c9,
            inducer,
            amio,
        )

    def estimate(coef: dict[str, float]) -> DoseEstimate:
        if not missing:
            w = dose(coef)
            # Unrounded: JSON keeps the model's float; views round it (docs/cli/pgx.md).
            return DoseEstimate(weekly_dose_mg=w, daily_dose_mg=w / 7)
        lows = {k: ASSUMED_RANGE[k][0] for k in missing}
        highs = {k: ASSUMED_RANGE[k][1] for k in missing}
        a, b = dose(coef, **lows), dose(coef, **highs)
        return DoseEstimate(weekly_dose_mg=None, weekly_dose_range_mg=(min(a, b), max(a, b)))

    if missing:
        bounds = ", ".join(f"{k} {ASSUMED_RANGE[k][0]:g}-{ASSUMED_RANGE[k][1]:g}" for k in missing)
        caveats.append(
            Caveat(
                code="warfarin_missing_input",
                message=f"missing {', '.join(missing)}: the dose is shown as the range over "
                f"assumed adult bounds ({bounds})",
            )
        )
    if c9 is not None and model_c9 is None:
        caveats.append(
            Caveat(
                code="warfarin_cyp2c9_not_in_model",
                message=f"CYP2C9 {c9} is not an IWPC category; the model's 'unknown' term is used",
            )
        )
    caveats.append(
        Caveat(
            code="warfarin_race_term",
            message=f"the IWPC models use race; self-reported ancestry mapped to '{race}'",
        )
    )
    pediatric = age_years is not None and age_years < 18
    carriers = [a for a in REDUCED_FUNCTION if c9 and a in c9.split("/")]
    cyp4f2 = genes.get("CYP4F2")
    c4f2_star3 = bool(
        cyp4f2 and cyp4f2.called and any("*3" in d.split("/") for d in cyp4f2.diplotypes[:1])
    )
    african = race == "black"
    rs12777823 = next(
        (v for v in (c9call.variants if c9call else []) if v.startswith("rs12777823")), None
    )
    adjustments: list[str] = []
    if vk is None or c9 is None:
        action, strength = "Dose clinically: VKORC1 and CYP2C9 genotypes not available", None
    elif pediatric:
        action = (
            "Pediatric, European ancestry: use a validated pediatric pharmacogenetic algorithm "
            "(Hamberg or Biss; not implemented here)"
            if race == "white"
            else "Pediatric, non-European ancestry: dose clinically"
        )
        strength = "STRONG" if race == "white" else None
    elif african:
        action = "Calculate the dose with a validated pharmacogenetic algorithm (IWPC)"
        strength = "MODERATE"
        if carriers:
            adjustments.append(
                "CYP2C9 *5/*6/*8/*11 carrier: decrease the calculated dose by 15-30%"
            )
        if rs12777823 and rs12777823.split(" ")[1].count("A"):
            adjustments.append(
                "rs12777823 A carrier (African American): decrease the dose by 10-25%"
            )
    else:
        action = "Calculate the dose with a validated pharmacogenetic algorithm (IWPC)"
        strength = "STRONG"
        if carriers:
            homo = c9 is not None and all(a in REDUCED_FUNCTION for a in c9.split("/"))
            adjustments.append(
                "CYP2C9 *5/*6/*8/*11 "
                + (
                    "homozygote or compound heterozygote: decrease the calculated dose by 20-40%"
                    if homo
                    else "carrier: decrease the calculated dose by 15-30%"
                )
            )
        if c4f2_star3:
            adjustments.append("CYP4F2 *3 (rs2108622 T) carrier: increase the dose by 5-10%")
    if c9 in {"*2/*3", "*3/*3"} or (
        vk in {"AG", "AA"} and c9call and c9call.phenotype == "Poor Metabolizer"
    ):
        adjustments.append(
            "Consider an alternative anticoagulant (CYP2C9 poor metabolizer genotype)"
        )
    return WarfarinGuidance(
        guideline="CPIC 2017 warfarin (PMID 28198005); IWPC 2009 (PMID 19228618)",
        inputs=WarfarinInputs(
            age_years=age_years,
            height_cm=height_cm,
            weight_kg=weight_kg,
            race_category=race,
            VKORC1_rs9923231=vk,
            CYP2C9=c9,
            amiodarone=amio,
            enzyme_inducer=inducer,
        ),
        cpic_action=action,
        strength=strength,
        adjustments=adjustments,
        iwpc_pharmacogenetic=estimate(IWPC_PG),
        iwpc_clinical=estimate(IWPC_CLINICAL),
        caveats=caveats,
    )
