"""The statin review: intensity of the recorded statin, its dose against the CPIC limit for this
genotype, and the high-intensity statins the genotype allows.

Data: kb/data/cardio/statin_intensity.csv —
``row_type=intensity``: the 2018 AHA/ACC cholesterol guideline's Table 3 (Grundy SM et al.,
Circulation 2019;139:e1082): high intensity (LDL-C lowered by >= 50 %: atorvastatin 40-80 mg,
rosuvastatin 20-40 mg), moderate (30-49 %), low (< 30 %); simvastatin 80 mg not recommended.
``row_type=cpic_pgx_limit``: every CPIC 2022 statin recommendation (SLCO1B1, ABCG2, CYP2C9;
Cooper-DeHoff RM et al., Clin Pharmacol Ther 2022;111:1007) with its dose limit parsed from the
text (``<20``, ``<=40``) and its action (in the ``intensity`` column):
``avoid_use_alternative``, ``cpic_prefer_alternative_else_cap`` (an alternative statin, else at
most the limit), ``cpic_start_dose_cap`` (a starting-dose
limit: higher doses by titration per disease guidelines), ``cpic_no_change``.

The CPIC recommendation that applies is the one the PGx engine matched for this genotype
(its lookup keys, effective phenotypes included); it is joined to the table by statin and
lookup keys. Doses are read from the medication's recorded dose text (``40 mg nightly``) by the
one dose reader (engines/interactions/medicines.py); statins are taken once a day, so an amount
without a frequency is the daily dose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from precisionrx.engines.interactions.medicines import dose_mg_per_day
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.records import Caveat, CaveatKind, DrugRecommendation, PatientRecord, SampleResult
from precisionrx.records.cardio import LdlGoal, StatinOption, StatinReview, StatinUse

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

#: LDL-C goal of very-high-risk patients (documented atherosclerotic cardiovascular disease):
#: < 1.4 mmol/L (< 55 mg/dL) and a reduction of at least 50 % from baseline — 2019 ESC/EAS
#: dyslipidaemia guidelines (Mach F et al. Eur Heart J 2020;41:111-188, "treatment goals for
#: LDL-C", class I), kept by the 2021 ESC prevention guideline (Visseren FLJ et al. Eur Heart J
#: 2021;42:3227). The 2018 AHA/ACC guideline (Grundy SM et al. Circulation 2019;139:e1082) uses
#: 70 mg/dL (1.8 mmol/L) on maximal statin as its threshold for adding non-statin drugs in
#: very-high-risk ASCVD. Not checked against an accessible copy of either text here: shown as
#: unverified.
VERY_HIGH_RISK_GOAL = {"goal_mmol_l": 1.4, "goal_mg_dl": 55.0, "reduction_percent": 50.0}
LDL_GOAL_SOURCE = (
    "2019 ESC/EAS dyslipidaemia guidelines (Mach F et al. Eur Heart J 2020;41:111-188): very "
    "high risk < 1.4 mmol/L (< 55 mg/dL) and >= 50 % reduction; AHA/ACC 2018 threshold for "
    "adding non-statins in very-high-risk ASCVD: >= 70 mg/dL on maximal statin"
)

STATINS = ("atorvastatin", "rosuvastatin", "simvastatin", "pravastatin", "fluvastatin",
           "lovastatin", "pitavastatin")  # fmt: skip
_LIMIT = re.compile(r"^(<=|<)\s*(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Limit:
    """A CPIC statin row: what to do and the dose limit (mg/day), if any."""

    statin: str
    keys: dict[str, str]
    row_type: str
    op: str | None
    mg: float | None
    text: str

    def allows(self, dose: float) -> bool:
        if self.row_type == "avoid_use_alternative":
            return False
        if self.mg is None or self.op is None:
            return True
        return dose < self.mg if self.op == "<" else dose <= self.mg

    @property
    def limit_text(self) -> str | None:
        return f"{self.op}{self.mg:g} mg/day" if self.mg is not None and self.op else None


@dataclass(frozen=True)
class StatinTable:
    intensity: dict[tuple[str, float], str]
    limits: list[Limit]


def load(kb: KnowledgeBase) -> StatinTable:
    """The verified intensity rows and every CPIC limit row, read once per knowledge base."""

    def read() -> StatinTable:
        intensity: dict[tuple[str, float], str] = {}
        limits: list[Limit] = []
        for r in kb.rows("cardio", "statin_intensity.csv", delimiter=","):
            if r["row_type"] == "intensity":
                if r["verified"] == "true" and r["dose_mg"].replace(".", "").isdigit():
                    intensity[(r["statin"], float(r["dose_mg"]))] = r["intensity"]
                continue
            keys = dict(part.split("=", 1) for part in r["phenotype"].split("; ") if "=" in part)
            m = _LIMIT.match(r["dose_mg"].strip())
            limits.append(Limit(  # the CPIC rows keep their action in the intensity column
                r["statin"], {k.strip(): v.strip() for k, v in keys.items()}, r["intensity"],
                m.group(1) if m else None, float(m.group(2)) if m else None,
                r["notes"].split("Text: ", 1)[-1],
            ))  # fmt: skip
        return StatinTable(intensity, limits)

    return kb.memo(("cardio", "statin_intensity"), read)


def _limit(table: StatinTable, rec: DrugRecommendation) -> Limit | None:
    want = {g: k.lower() for g, k in rec.lookup_keys.items()}
    for lim in table.limits:
        if lim.statin == rec.drug and {g: v.lower() for g, v in lim.keys.items()} == want:
            return lim
    return None


def _cpic(kb: KnowledgeBase, pgx: Sequence[SampleResult], others: list[str]) -> dict[str, Limit]:
    """The CPIC limit row matched for each statin, from the first sample's guidance (with the
    patient's other medicines, so that phenoconversion counts)."""
    table = load(kb)
    out: dict[str, Limit] = {}
    for res in pgx[:1]:
        from precisionrx.records import Medication

        meds = [Medication(name=m) for m in others]
        probe = prescribed(kb, res, meds or None, list(STATINS))
        for rec in probe.recommendations or []:
            if rec.source == "CPIC" and rec.matched and rec.drug in STATINS:
                lim = _limit(table, rec)
                if lim is not None:
                    out.setdefault(rec.drug, lim)
    return out


def _use(name: str, dose_text: str | None, table: StatinTable, lim: Limit | None) -> StatinUse:
    dose = dose_mg_per_day(dose_text, once_daily=True)
    intensity = table.intensity.get((name, dose)) if dose is not None else None
    exceeds = None if dose is None or lim is None or lim.mg is None else not lim.allows(dose)
    caveats: list[Caveat] = []
    if lim is None:
        action, reason = "no pharmacogenomic limit", "no CPIC statin result for this genotype"
    elif lim.row_type == "avoid_use_alternative":
        action, reason = "change drug", f"CPIC: {lim.text}"
    elif lim.row_type == "cpic_prefer_alternative_else_cap":
        if exceeds is False:
            action = "keep (within the CPIC limit; an alternative statin is preferred)"
        else:
            action = f"change drug (or reduce to {lim.limit_text})"
        reason = f"CPIC: {lim.text}"
    elif lim.row_type == "cpic_start_dose_cap":
        action = "monitor (above the CPIC starting-dose limit)" if exceeds else "keep"
        reason = f"CPIC: starting dose {lim.limit_text}, then adjust per disease guidelines."
    else:
        action, reason = "keep", f"CPIC: {lim.text}"
    if exceeds and lim is not None and dose is not None:
        message = f"{name} {dose:g} mg/day is recorded; this genotype's CPIC limit is "
        caveats.append(Caveat(code="dose_above_cpic_limit", kind=CaveatKind.WARNING,
                              message=message + (lim.limit_text or "")))  # fmt: skip
    if dose is None:
        caveats.append(Caveat(code="dose_not_recorded", kind=CaveatKind.NOTE,
                              message=f"no dose in mg recorded for {name}: intensity and the "
                                      "CPIC limit could not be checked"))  # fmt: skip
    return StatinUse(
        drug=name, dose=dose_text, dose_mg=dose, intensity=intensity,
        cpic_limit=lim.limit_text if lim else None, cpic_action=lim.row_type if lim else None,
        exceeds_cpic_limit=exceeds, action=action, reason=reason, caveats=caveats,
    )  # fmt: skip


def ldl_goal(
    ascvd_basis: str | None, ldl_mmol: float | None, current: Sequence[StatinUse]
) -> tuple[LdlGoal | None, Caveat | None]:
    """The very-high-risk LDL-C goal for a patient with atherosclerotic disease (``ascvd_basis``
    says how it is known), and whether the measured LDL-C is above it; for anyone else no goal
    and a caveat (the primary-prevention goal depends on the ESC risk category, which SCORE2's
    age-specific thresholds do not map one to one)."""
    if ascvd_basis is None:
        return None, Caveat(
            code="ldl_goal_not_assessed", kind=CaveatKind.NOTE,
            message="LDL-C goal not assessed: in primary prevention it depends on the ESC/EAS "
            "risk category (low, moderate, high), which the plan's risk estimates do not "
            "place unambiguously",
        )  # fmt: skip
    above = None if ldl_mmol is None else ldl_mmol >= VERY_HIGH_RISK_GOAL["goal_mmol_l"]
    high = all(u.intensity == "high" for u in current) and bool(current)
    if above is None:
        action = "measure LDL-C to check it against the goal"
    elif not above:
        action = "at goal: keep the statin"
    elif high:
        action = "above goal on a high-intensity statin: consider adding ezetimibe"
    else:
        action = (
            "above goal: intensify the statin first (the high-intensity options within "
            "this genotype's limits), before adding ezetimibe or a PCSK9 inhibitor"
        )
    goal = LdlGoal(
        risk_group="very high",
        basis=ascvd_basis, ldl_mmol_l=ldl_mmol, above_goal=above, action=action,
        source=LDL_GOAL_SOURCE, verified=False, **VERY_HIGH_RISK_GOAL,
    )  # fmt: skip
    return goal, None


def statin_review(
    kb: KnowledgeBase,
    record: PatientRecord,
    pgx: Sequence[SampleResult],
    names: list[str],
    *,
    ascvd_basis: str | None = None,
    ldl_mmol: float | None = None,
) -> StatinReview:
    """The recorded statins (``names``: the record's medicines as ingredients) checked against
    intensity and the genotype's CPIC limits, the high-intensity statins within them, and the
    LDL-C goal when the record places the patient at very high risk (``ascvd_basis``)."""
    table = load(kb)
    others = [n for n in names if n not in STATINS]
    limits = _cpic(kb, pgx, others) if pgx else {}
    current = [
        _use(name, m.dose, table, limits.get(name))
        for m, name in zip(record.medications, names, strict=True)
        if name in STATINS
    ]
    high = sorted((s, d) for (s, d), i in table.intensity.items() if i == "high")
    options = []
    for statin, dose in high:
        lim = limits.get(statin)
        if lim is not None and not lim.allows(dose):
            continue
        options.append(StatinOption(drug=statin, dose_mg=dose, intensity="high",
                                    cpic_limit=lim.limit_text if lim else None))  # fmt: skip
    caveats: list[Caveat] = []
    if not pgx:
        caveats.append(Caveat(code="no_genotype", kind=CaveatKind.NOTE,
                              message="no germline genotype: statin doses were not checked "
                                      "against CPIC SLCO1B1/ABCG2/CYP2C9 limits"))  # fmt: skip
    goal, note = ldl_goal(ascvd_basis, ldl_mmol, current)
    if note is not None:
        caveats.append(note)
    elif goal is not None and not goal.verified:
        caveats.append(Caveat(
            code="unverified_ldl_goal", kind=CaveatKind.NOTE,
            message=f"the LDL-C goal (< {goal.goal_mmol_l:g} mmol/L) is taken from the "
            "guideline publication but was not checked against an accessible copy of its text",
        ))  # fmt: skip
    return StatinReview(
        current=current,
        high_intensity_options=options,
        ldl_goal=goal,
        source="2018 AHA/ACC cholesterol guideline Table 3 (intensity); CPIC 2022 statin "
        "guideline (SLCO1B1, ABCG2, CYP2C9; PMID 35152405) dose limits",
        caveats=caveats,
    )
