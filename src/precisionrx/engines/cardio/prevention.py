"""Personalised prevention: absolute benefit (ARR, NNT) and harm of each option for one person.

Treated risk = baseline risk x RR per unit ** units, using trial-derived relative effects
(kb/data/cardio/treatment_effects.csv: CTT 2010 per mmol/L LDL-C; Ettehad 2016 per 10 mmHg SBP;
ATT 2009 / Zheng 2019 aspirin), never a risk equation's own treatment coefficient. Smoking
cessation re-runs the risk equation with smoking = 0. Options combine multiplicatively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from precisionrx.records.cardio import PreventionOption

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

#: LDL-C lowering fractions. Moderate intensity is 30-49 % (2018 AHA/ACC): the lower bound is used.
MODERATE_STATIN_LDL_FRACTION = 0.30
BP_TARGET = 130.0


@dataclass(frozen=True)
class Effect:
    intervention: str
    unit: str
    outcome: str
    rr: float
    source: str


def load_effects(kb: KnowledgeBase) -> list[Effect]:
    """Trial-derived relative effects (treatment_effects.csv), read once per knowledge base."""

    def load() -> list[Effect]:
        return [
            Effect(
                r["intervention"],
                r["effect_unit"],
                r["outcome"],
                float(r["relative_risk_per_unit"]),
                r["source"],
            )
            for r in kb.rows("cardio", "treatment_effects.csv", delimiter=",")
        ]

    return kb.memo(("cardio", "treatment_effects"), load)


def _effect(effects: list[Effect], intervention: str, outcome: str) -> Effect:
    return next(e for e in effects if e.intervention == intervention and e.outcome == outcome)


def _option(name: str, baseline: float, rr: float, mechanism: str, source: str) -> PreventionOption:
    treated = baseline * rr
    arr = baseline - treated
    return PreventionOption(
        option=name,
        relative_risk=rr,
        treated_risk=treated,
        arr=arr,
        nnt=1 / arr if arr > 0 else None,  # unrounded: the report rounds it for display
        mechanism=mechanism,
        source=source,
    )


def prevention_options(
    effects: list[Effect],
    baseline: float,
    ldl_mmol: float | None,
    sbp: float | None,
    on_statin: bool,
    smoker: bool,
    risk_if_non_smoker: float | None,
    offer_aspirin: bool = True,
) -> list[PreventionOption]:
    """Options ranked by absolute risk reduction over the baseline horizon (primary-prevention
    aspirin only when ``offer_aspirin``: the caller rules it out for people on antithrombotics,
    at increased bleeding risk or over 70)."""
    options: list[PreventionOption] = []
    ldl = _effect(effects, "statin_or_ldl_lowering", "major vascular events")
    high = _effect(effects, "statin_high_intensity", "LDL-C")
    eze = _effect(effects, "ezetimibe_add_on", "LDL-C")
    pcsk9 = _effect(effects, "pcsk9_mab_add_on", "LDL-C")
    rr_by_name: dict[str, float] = {}
    if ldl_mmol is not None and ldl_mmol > 0:
        # (name, total LDL-C fraction removed, how): add-ons act on the LDL-C left after a
        # high-intensity statin (or on the current LDL-C when already on a statin).
        base_fraction = 0.0 if on_statin else high.rr
        prefix = "" if on_statin else "high-intensity statin + "
        plans: list[tuple[str, float, str]] = []
        if not on_statin:
            plans += [
                (
                    "moderate-intensity statin",
                    MODERATE_STATIN_LDL_FRACTION,
                    "LDL-C lowered by 30 % (lower bound of 30-49 %)",
                ),
                (
                    "high-intensity statin",
                    high.rr,
                    f"LDL-C lowered by {high.rr:.0%} ({high.source})",
                ),
            ]
        for addon in (eze, pcsk9):
            label = "ezetimibe" if addon is eze else "PCSK9 inhibitor"
            total = base_fraction + (1 - base_fraction) * addon.rr
            plans.append(
                (
                    f"{prefix}{label}" if prefix else f"add {label}",
                    total,
                    f"{label} lowers the remaining LDL-C by a further {addon.rr:.0%} "
                    f"({addon.source})",
                )
            )
        for name, fraction, how in plans:
            delta = ldl_mmol * fraction
            rr = ldl.rr**delta
            rr_by_name[name] = rr
            opt = _option(
                name,
                baseline,
                rr,
                f"{how}: LDL-C -{delta:.2f} mmol/L; RR {ldl.rr} per mmol/L",
                ldl.source,
            )
            if "PCSK9" in name:
                opt.notes.append("usually considered only after statin and ezetimibe")
            options.append(opt)
    if sbp is not None and sbp > BP_TARGET:
        bp = _effect(effects, "bp_lowering", "major cardiovascular events")
        units = (sbp - BP_TARGET) / 10
        rr = bp.rr**units
        rr_by_name["blood pressure to 130 mmHg"] = rr
        options.append(
            _option(
                f"blood pressure lowering to {BP_TARGET:.0f} mmHg",
                baseline,
                rr,
                f"SBP -{sbp - BP_TARGET:.0f} mmHg; RR {bp.rr} per 10 mmHg",
                bp.source,
            )
        )
    if smoker and risk_if_non_smoker is not None:
        rr = risk_if_non_smoker / baseline if baseline > 0 else 1.0
        rr_by_name["smoking cessation"] = rr
        opt = _option(
            "smoking cessation",
            baseline,
            rr,
            "risk equation re-run with smoking = 0",
            "risk equation (risk factor removed)",
        )
        opt.notes.append(
            "approximation: risk stays above a never-smoker's for 10-25 years (Duncan 2019)"
        )
        options.append(opt)
    if offer_aspirin:
        aspirin = _effect(effects, "aspirin_primary_prevention", "serious vascular events")
        opt = _option(
            "aspirin (primary prevention)",
            baseline,
            aspirin.rr,
            "RR 0.88 serious vascular events",
            aspirin.source,
        )
        opt.harms.append(
            "major bleeding: absolute increase about 0.47 % over ~5-6 years, similar to or larger "
            "than the benefit in most primary-prevention patients (Zheng & Roddick JAMA 2019)"
        )
        options.append(opt)
    combo = [
        n
        for n in ("high-intensity statin", "blood pressure to 130 mmHg", "smoking cessation")
        if n in rr_by_name
    ]
    if len(combo) >= 2:
        rr = 1.0
        for n in combo:
            rr *= rr_by_name[n]
        options.append(
            _option(
                " + ".join(combo),
                baseline,
                rr,
                "relative effects multiplied (assumed independent)",
                "combination",
            )
        )
    return sorted(options, key=lambda o: -o.arr)
