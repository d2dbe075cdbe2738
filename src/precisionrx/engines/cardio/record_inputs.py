"""Clinical rules that turn one patient record into risk-equation inputs and risk enhancers.

- Risk inputs (:func:`inputs_from_record`): measurements by name (cholesterol converted to
  mg/dL), antihypertensive treatment from the medication list (:data:`ANTIHYPERTENSIVES`),
  statin use (every statin's name ends in -statin), diabetes from the conditions, current
  smoking; a home mean SBP or the CGM's GMI stand in for a missing office SBP / laboratory HbA1c
  and are said so.
- Established cardiovascular disease (:func:`established_cvd`): primary-prevention equations
  do not apply.
- The DLCN family item (:func:`premature_family_cvd`): a first-degree relative with CVD before
  55 (men) or 60 (women).
- Statin PGx notes (:func:`statin_pgx_notes`): CPIC guidance matched for this genotype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.records import Caveat, CaveatKind, PatientRecord, SampleResult
from precisionrx.records.risk_inputs import MGDL_PER_MMOL, RiskInputs

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

ANTIHYPERTENSIVES = (
    "amlodipine",
    "lisinopril",
    "ramipril",
    "enalapril",
    "perindopril",
    "losartan",
    "valsartan",
    "candesartan",
    "irbesartan",
    "bisoprolol",
    "atenolol",
    "metoprolol",
    "nebivolol",
    "hydrochlorothiazide",
    "chlortalidone",
    "chlorthalidone",
    "indapamide",
    "nifedipine",
    "diltiazem",
    "verapamil",
    "doxazosin",
    "spironolactone",
)
ESTABLISHED_CVD = (
    "coronary",
    "myocardial infarction",
    "angina",
    "stroke",
    "transient ischaemic",
    "transient ischemic",
    "peripheral arter",
    "cerebrovascular",
)
#: P2Y12 inhibitors, whose labelled indications are all established atherosclerotic disease:
#: clopidogrel (Plavix label §1: acute coronary syndrome, recent MI, recent stroke, established
#: peripheral arterial disease), prasugrel (Effient §1: ACS managed with PCI), ticagrelor
#: (Brilinta §1: ACS or a history of MI; coronary artery disease; stroke or TIA).
P2Y12_INHIBITORS = ("clopidogrel", "prasugrel", "ticagrelor")
#: Antithrombotics that raise bleeding risk: antiplatelets and anticoagulants.
ANTIPLATELETS = (*P2Y12_INHIBITORS, "aspirin", "acetylsalicylic acid", "dipyridamole",
                 "cilostazol", "vorapaxar")  # fmt: skip
ANTICOAGULANTS = ("warfarin", "acenocoumarol", "phenprocoumon", "apixaban", "rivaroxaban",
                  "edoxaban", "dabigatran", "heparin", "enoxaparin", "dalteparin", "tinzaparin",
                  "fondaparinux")  # fmt: skip
#: Conditions that raise bleeding risk (the ACC/AHA 2019 primary-prevention guideline names a
#: history of GI bleeding or peptic ulcer, thrombocytopenia, coagulopathy).
BLEEDING_RISK_CONDITIONS = ("bleed", "haemorrhage", "hemorrhage", "peptic ulcer",
                            "thrombocytopenia", "coagulopathy")  # fmt: skip
STATINS = ("statin",)  # every statin's name ends in -statin
STATIN_DRUGS = ["atorvastatin", "rosuvastatin", "simvastatin", "pravastatin", "fluvastatin"]


#: SNOMED CT codes of the diabetes types (type 1: 46635009, type 2: 44054006).
DIABETES_TYPE_CODES = {"46635009": 1, "44054006": 2}


def diabetes_type(record: PatientRecord) -> int | None:
    """1 or 2 from the record's diabetes conditions (SNOMED CT code or "type 1"/"type 2" in the
    name); None when no condition says which (or they disagree)."""
    found: set[int] = set()
    for c in record.conditions:
        name = c.name.lower().replace("-", " ")
        if c.code in DIABETES_TYPE_CODES:
            found.add(DIABETES_TYPE_CODES[c.code])
        elif "diabetes" in name and ("type 1" in name or "type i " in f"{name} "):
            found.add(1)
        elif "diabetes" in name and ("type 2" in name or "type ii" in name):
            found.add(2)
    return found.pop() if len(found) == 1 else None


def diabetes_onset_age(record: PatientRecord) -> float | None:
    """Age at diabetes diagnosis: the earliest onset date of a diabetes condition minus the birth
    date, in years (365.25-day years); None when either is not recorded."""
    from datetime import date

    born = record.demographics.birth_date
    onsets = [c.onset for c in record.conditions if "diabetes" in c.name.lower() and c.onset]
    if not born or not onsets:
        return None
    try:
        birth = date.fromisoformat(born[:10])
        first = min(date.fromisoformat(o[:10]) for o in onsets)
    except ValueError:
        return None
    return (first - birth).days / 365.25


def measure(record: PatientRecord, *needles: str) -> tuple[float, str] | None:
    m = record.measurement(*needles)
    return (m.value, m.unit) if m else None


def _chol_mgdl(value: tuple[float, str] | None) -> float:
    if value is None:
        return float("nan")
    v, unit = value
    return v * MGDL_PER_MMOL if unit.lower().startswith("mmol") else v


def inputs_from_record(
    record: PatientRecord, home_sbp: float | None = None, gmi: float | None = None
) -> tuple[RiskInputs, list[Caveat], float | None]:
    """Risk inputs for one person; returns also LDL-C in mmol/L when recorded.

    ``home_sbp`` (mean of home readings, ESH protocol) is used only when the record has no
    office systolic pressure, and ``gmi`` (the CGM's Glucose Management Indicator, from >= 14
    days at >= 70 % wear) only when it has no laboratory HbA1c in %; each use is said, in the
    section's caveats and on every risk row that uses the input (``RiskInputs.defaulted``), as
    is a smoking status that was not recorded (non-smoker assumed).
    """
    caveats: list[Caveat] = []

    def note(code: str, message: str) -> None:
        caveats.append(Caveat(code=code, kind=CaveatKind.NOTE, message=message))

    d = record.demographics
    meds = " ".join(m.name.lower() for m in record.medications)
    sbp = measure(record, "systolic", "sbp")
    home_used = sbp is None and home_sbp is not None
    if sbp is None and home_sbp is not None:
        sbp = (home_sbp, "mm[Hg]")
        note("home_bp_used", f"no office blood pressure recorded: the home mean systolic "
             f"{home_sbp:.0f} mmHg was used (home readings run lower than office readings; the "
             "equations were derived with office values)")  # fmt: skip
    ldl = measure(record, "ldl")
    bmi = measure(record, "bmi", "body mass")
    egfr = measure(record, "egfr")
    hba1c = measure(record, "hba1c")
    gmi_used = (hba1c is None or hba1c[1] != "%") and gmi is not None
    if (hba1c is None or hba1c[1] != "%") and gmi is not None:
        hba1c = (gmi, "%")
        note("gmi_used_as_hba1c", f"no laboratory HbA1c recorded: the CGM's GMI {gmi:.1f} % "
             "(last 14 days) stood in for it in the HbA1c-augmented equations; GMI and HbA1c "
             "differ by 0.5 %-points or more in about half of people (Bergenstal 2018), so "
             "confirm with a laboratory HbA1c")  # fmt: skip
    treated = any(a in meds for a in ANTIHYPERTENSIVES)
    smoking = (record.lifestyle.smoking or "").lower()
    diabetes = any("diabetes" in c.name.lower() for c in record.conditions)
    if not treated and any("hypertension" in c.name.lower() for c in record.conditions):
        note(
            "bp_treatment_unknown",
            "hypertension recorded but no antihypertensive recognised: untreated assumed",
        )
    x = RiskInputs(
        ids=[record.id],
        age=np.array([d.age_years if d.age_years is not None else np.nan]),
        female=np.array([d.sex_at_birth == "female"]),
        sbp=np.array([sbp[0] if sbp else np.nan]),
        bp_treated=np.array([1.0 if treated else 0.0]),
        total_mgdl=np.array([_chol_mgdl(measure(record, "total cholesterol"))]),
        hdl_mgdl=np.array([_chol_mgdl(measure(record, "hdl"))]),
        diabetes=np.array([1.0 if diabetes else 0.0]),
        smoker=np.array(
            [1.0 if smoking in {"current", "yes", "smoker", "current smoker"} else 0.0]
        ),
        egfr=np.array([egfr[0] if egfr else np.nan]),
        bmi=np.array([bmi[0] if bmi else np.nan]),
        statin=np.array([1.0 if any(s in meds for s in STATINS) else 0.0]),
        hba1c=np.array([hba1c[0] if hba1c and hba1c[1] == "%" else np.nan]),
        uacr=np.array([np.nan]),
        sdi_decile=np.array([np.nan]),
        race=["other"],
        region=[d.country or ""],
    )
    dm_type = diabetes_type(record) if diabetes else None
    if dm_type is not None:
        x.extra["diabetes_type"] = np.array([float(dm_type)])
    onset = diabetes_onset_age(record) if diabetes else None
    if onset is not None:
        x.extra["age_diabetes_diagnosis"] = np.array([onset])
    one = np.ones(1, dtype=bool)
    if record.lifestyle.smoking is None:
        x.defaulted["smoker"] = (one, "0 (non-smoker) used")
    if home_used:
        x.defaulted["sbp"] = (one, f"home mean systolic {home_sbp:.0f} mmHg used")
    if gmi_used:
        x.defaulted["hba1c"] = (one, f"the CGM's GMI {gmi:.1f} % used")
    ldl_mmol = None
    if ldl is not None:
        ldl_mmol = ldl[0] if ldl[1].lower().startswith("mmol") else ldl[0] / MGDL_PER_MMOL
    return x, caveats, ldl_mmol


def ingredients(record: PatientRecord, kb: KnowledgeBase) -> list[str]:
    """The record's medicines as lower-case ingredient names (a brand name read through the
    knowledge base's brand table; an unknown name kept as written)."""
    brands = kb.prescribing.brands
    out = []
    for m in record.medications:
        name = m.name.lower().strip()
        out.append(brands.get(name, name))
    return out


def inferred_ascvd(record: PatientRecord, kb: KnowledgeBase) -> list[str]:
    """The record's P2Y12 inhibitors: every labelled indication of these is established
    atherosclerotic disease, so their use implies it when no condition is coded."""
    return [m for m in ingredients(record, kb) if any(p in m for p in P2Y12_INHIBITORS)]


def aspirin_exclusion(record: PatientRecord, kb: KnowledgeBase) -> str | None:
    """Why primary-prevention aspirin must not be offered, or None.

    2019 ACC/AHA primary-prevention guideline: low-dose aspirin should not be given routinely
    for primary prevention to adults > 70 years, nor at any age to those at increased risk of
    bleeding (class III: harm); an antiplatelet or anticoagulant already taken is such a risk
    (and a second antiplatelet is no longer primary prevention)."""
    meds = ingredients(record, kb)
    on = [m for m in meds if any(a in m for a in (*ANTIPLATELETS, *ANTICOAGULANTS))]
    if on:
        return (
            f"already on {', '.join(on)} (antiplatelet or anticoagulant): aspirin for primary "
            "prevention would add bleeding risk (ACC/AHA 2019: class III, harm)"
        )
    bleeding = [c.name for c in record.conditions
                if any(k in c.name.lower() for k in BLEEDING_RISK_CONDITIONS)]  # fmt: skip
    if bleeding:
        return (f"increased bleeding risk ({', '.join(bleeding)}): aspirin for primary "
                "prevention is not advised (ACC/AHA 2019: class III, harm)")  # fmt: skip
    age = record.demographics.age_years
    if age is not None and age > 70:
        return ("older than 70: aspirin for primary prevention is not advised routinely "
                "(ACC/AHA 2019: class III, harm)")  # fmt: skip
    return None


def established_cvd(record: PatientRecord) -> list[str]:
    """The record's conditions that are established cardiovascular disease."""
    return [c.name for c in record.conditions if any(k in c.name.lower() for k in ESTABLISHED_CVD)]


def has_risk_data(record: PatientRecord, home_sbp: float | None) -> bool:
    """Whether the record can be assessed: sex and age, and a cholesterol or blood pressure."""
    if record.demographics.sex_at_birth == "unknown" or record.demographics.age_years is None:
        return False
    return home_sbp is not None or any(
        measure(record, n) for n in ("total cholesterol", "hdl", "systolic", "sbp")
    )


FIRST_DEGREE_MALE = ("father", "brother", "son")
FIRST_DEGREE_FEMALE = ("mother", "sister", "daughter")
CVD_WORDS = ("myocardial", "coronary", "heart attack", "angina", "stroke", "cardiovascular")


def premature_family_cvd(record: PatientRecord) -> bool:
    """First-degree relative with CVD before 55 (men) or 60 (women), the DLCN family item."""
    for f in record.family_history:
        rel = f.relation.lower()
        cvd = any(w in f.condition.lower() for w in CVD_WORDS)
        age = f.age_at_onset
        if not cvd or age is None:
            continue
        if (rel in FIRST_DEGREE_MALE and age < 55) or (rel in FIRST_DEGREE_FEMALE and age < 60):
            return True
    return False


def statin_pgx_notes(kb: KnowledgeBase, pgx: list[SampleResult]) -> list[str]:
    """CPIC statin guidance for this genotype (SLCO1B1, ABCG2, CYP2C9), to pick the statin."""
    notes: list[str] = []
    for res in pgx:
        probe = prescribed(kb, res, None, STATIN_DRUGS)
        notes.extend(
            f"PGx {r.drug} ({_keys(r.lookup_keys)}): {r.text.splitlines()[0]}"
            for r in probe.recommendations or []
            if r.matched and r.source == "CPIC"
        )
    return notes


def _keys(keys: dict[str, str]) -> str:
    return ", ".join(f"{g} {k}" for g, k in keys.items())
