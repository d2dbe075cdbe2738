"""Familial hypercholesterolaemia (Dutch Lipid Clinic Network score) and Lp(a) as a risk enhancer.

DLCN points and bands from kb/data/cardio/fh_lpa_knowledge.json (highest item per group, groups
summed; definite > 8, probable 6-8, possible 3-5, unlikely < 3). Lp(a) thresholds: 2018 AHA/ACC
risk enhancer (>= 50 mg/dL or >= 125 nmol/L) and EAS 2022 bands. mg/dL and nmol/L are never
converted into each other (the ratio depends on apo(a) isoform size).
"""

from __future__ import annotations

from precisionrx.records.cardio import CacStatus, DlcnResult, LpaStatus
from precisionrx.records.evidence import Caveat, CaveatKind

#: DLCN LDL-C bands, mmol/L lower bounds and mg/dL lower bounds (fh_lpa_knowledge.json).
LDL_BANDS = ((8.5, 330.0, 8), (6.5, 250.0, 5), (5.0, 190.0, 3), (4.0, 155.0, 1))
#: Lp(a) per unit: AHA/ACC 2018 enhancer threshold, EAS 2022 rule-out / grey-zone upper bound /
#: very-high threshold (fh_lpa_knowledge.json). Each unit keeps its own numbers.
LPA_BANDS = {"mg/dl": (50.0, 30.0, 50.0, 180.0), "nmol/l": (125.0, 75.0, 125.0, 430.0)}


def dlcn_category(points: int) -> str:
    if points > 8:
        return "definite"
    if points >= 6:
        return "probable"
    if points >= 3:
        return "possible"
    return "unlikely"


def dlcn_score(
    ldl: float | None,
    ldl_unit: str,
    first_degree_premature_cvd: bool = False,
    first_degree_xanthoma_or_child_high_ldl: bool = False,
    premature_cad: bool = False,
    premature_cerebral_or_peripheral: bool = False,
    tendon_xanthomata: bool = False,
    arcus_before_45: bool = False,
    pathogenic_variant: bool = False,
    on_statin: bool = False,
) -> DlcnResult:
    """Dutch Lipid Clinic Network score (criteria in kb/data/cardio/fh_lpa_knowledge.json).

    The LDL-C group is defined on untreated LDL-C: a value measured on a statin gives a lower
    bound of the points and of the category, which the caveats say (no correction factor is
    applied: none is given by the criteria)."""
    items: list[str] = []
    caveats: list[Caveat] = []
    total = 0
    family = (
        2 if first_degree_xanthoma_or_child_high_ldl else 1 if first_degree_premature_cvd else 0
    )
    clinical = 2 if premature_cad else 1 if premature_cerebral_or_peripheral else 0
    exam = 6 if tendon_xanthomata else 4 if arcus_before_45 else 0
    ldl_points = 0
    if ldl is None:
        caveats.append(
            Caveat(code="ldl_not_recorded", message="LDL-C not recorded: the LDL-C group scores 0")
        )
    else:
        mmol = ldl_unit.lower().startswith("mmol")
        for lo_mmol, lo_mg, pts in LDL_BANDS:
            if ldl >= (lo_mmol if mmol else lo_mg):
                ldl_points = pts
                break
    dna = 8 if pathogenic_variant else 0
    groups = (
        ("family history", family),
        ("clinical history", clinical),
        ("physical examination", exam),
        ("LDL-C", ldl_points),
        ("DNA", dna),
    )
    for name, pts in groups:
        if pts:
            items.append(f"{name}: {pts}")
        total += pts
    if on_statin and ldl is not None:
        caveats.append(
            Caveat(
                code="dlcn_treated_ldl",
                kind=CaveatKind.WARNING,
                message="LDL-C recorded while on a statin: DLCN needs untreated LDL-C, so the "
                "LDL-C points and the category are a lower bound; score again with a "
                "pre-treatment LDL-C",
            )
        )
    caveats.append(
        Caveat(
            code="dlcn_untreated_ldl",
            kind=CaveatKind.NOTE,
            message="DLCN uses untreated LDL-C; physical examination items are 0 unless recorded",
        )
    )
    return DlcnResult(points=total, category=dlcn_category(total), items=items, caveats=caveats)


def lpa_status(value: float, unit: str) -> LpaStatus:
    """Lp(a) interpretation in the unit given (never converted)."""
    bands = LPA_BANDS.get(unit.strip().lower())
    if bands is None:
        return LpaStatus(
            value=value,
            status="unknown unit",
            note=f"Lp(a) unit {unit!r} not recognised (mg/dL or nmol/L)",
        )
    enhancer_at, rule_out_below, grey_to, very_high_above = bands
    enhancer = value >= enhancer_at
    if value < rule_out_below:
        eas = f"rule-out (<{rule_out_below:g})"
    elif value <= grey_to:
        eas = f"grey zone ({rule_out_below:g}-{grey_to:g})"
    elif value > very_high_above:
        eas = f"very high (>{very_high_above:g}, risk similar to HeFH)"
    else:
        eas = f"rule-in (>{grey_to:g})"
    return LpaStatus(
        value=value,
        status="risk enhancer" if enhancer else "not a risk enhancer",
        aha_acc_2018=">=50 mg/dL or >=125 nmol/L is a risk-enhancing factor",
        eas_2022=eas,
        unit=unit,
    )


def lpa_not_measured(premature_family_history: bool) -> LpaStatus:
    """Lp(a) not measured: measure it once (EAS consensus 2022, Kronenberg F et al. Eur Heart J
    2022;43:3925: at least once in every adult; 2019 ESC/EAS dyslipidaemia guideline: once in a
    lifetime), the more so with a family history of premature ASCVD, itself a risk-enhancing
    factor (2019 ACC/AHA primary prevention; kb/data/cardio/fh_lpa_knowledge.json)."""
    note = (
        "Lp(a) has not been measured: measure it once in adult life (EAS 2022 consensus; "
        "ESC/EAS 2019)"
    )
    if premature_family_history:
        note += (
            "; recommended in particular here: a first-degree relative had premature "
            "cardiovascular disease (a risk-enhancing factor, ACC/AHA 2019)"
        )
    return LpaStatus(value=None, status="not measured", note=note)


def cac_status(agatston: float, unit: str = "Agatston") -> CacStatus:
    """Coronary artery calcium (Agatston units) per the 2019 ACC/AHA primary-prevention guideline.

    CAC 0: reasonable to withhold or delay statin unless diabetes, current smoking or family
    history of premature ASCVD; 1-99: favours statin, especially at age >= 55; >= 100 (or >= 75th
    percentile for age, sex and ethnicity): initiate statin (fh_lpa_knowledge.json).
    """
    if agatston < 0:
        return CacStatus(
            value=agatston, unit=unit, status="invalid", note="CAC score cannot be negative"
        )
    if agatston == 0:
        band, guidance = (
            "zero",
            (
                "reasonable to withhold or delay statin therapy, unless diabetes, current smoking "
                "or a family history of premature ASCVD"
            ),
        )
    elif agatston < 100:
        band, guidance = "1_99", "favours statin therapy, especially at age 55 or older"
    else:
        band, guidance = "ge_100", "statin therapy indicated (CAC >= 100)"
    return CacStatus(
        value=agatston,
        unit=unit,
        band=band,
        guidance=guidance,
        source="2019 ACC/AHA guideline on the primary prevention of cardiovascular disease",
        note="the >= 75th-percentile-for-age rule needs a MESA percentile, not computed here",
    )
