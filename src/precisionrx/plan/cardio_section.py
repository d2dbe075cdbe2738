"""Cardiovascular risk and prevention section of the treatment plan (from one patient record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from precisionrx.engines.cardio.prevention import load_effects, prevention_options
from precisionrx.engines.cardio.runner import CardioKb, model_blocks
from precisionrx.engines.pgx.recommender import prescribe
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Caveat, CaveatKind, PatientRecord, SampleResult
from precisionrx.records.risk_inputs import MGDL_PER_MMOL, RiskInputs

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
STATINS = ("statin",)  # every statin's name ends in -statin
STATIN_DRUGS = ["atorvastatin", "rosuvastatin", "simvastatin", "pravastatin", "fluvastatin"]


def _measure(record: PatientRecord, *needles: str) -> tuple[float, str] | None:
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
    sbp = _measure(record, "systolic", "sbp")
    home_used = sbp is None and home_sbp is not None
    if sbp is None and home_sbp is not None:
        sbp = (home_sbp, "mm[Hg]")
        note("home_bp_used", f"no office blood pressure recorded: the home mean systolic "
             f"{home_sbp:.0f} mmHg was used (home readings run lower than office readings; the "
             "equations were derived with office values)")  # fmt: skip
    ldl = _measure(record, "ldl")
    bmi = _measure(record, "bmi", "body mass")
    egfr = _measure(record, "egfr")
    hba1c = _measure(record, "hba1c")
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
        total_mgdl=np.array([_chol_mgdl(_measure(record, "total cholesterol"))]),
        hdl_mgdl=np.array([_chol_mgdl(_measure(record, "hdl"))]),
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


def cardio_section(
    kb: KnowledgeBase,
    record: PatientRecord,
    pgx: list[SampleResult],
    home_sbp: float | None = None,
    gmi: float | None = None,
) -> dict[str, Any] | None:
    """Risk rows, prevention options and statin PGx notes; None when the record has no CV data."""
    if record.demographics.sex_at_birth == "unknown" or record.demographics.age_years is None:
        return None
    if home_sbp is None and not any(
        _measure(record, n) for n in ("total cholesterol", "hdl", "systolic", "sbp")
    ):
        return None
    established = [
        c.name for c in record.conditions if any(k in c.name.lower() for k in ESTABLISHED_CVD)
    ]
    if established:
        note = Caveat(
            code="established_cvd",
            message=f"established cardiovascular disease ({', '.join(established)}): primary-"
            "prevention risk equations do not apply; manage as secondary prevention",
        )
        return {
            "baseline": None,
            "risk": [],
            "prevention": [],
            "caveats": [note.model_dump(mode="json")],
            "basis": "not applicable",
        }
    ckb = CardioKb.load(kb.root / "cardio")
    x, caveats, ldl_mmol = inputs_from_record(record, home_sbp, gmi)
    blocks = model_blocks(ckb, x, ["prevent", "pce", "score2", "qrisk3"])
    rows = [r for b in blocks for r in b.to_dicts()]
    base = next(
        (
            r
            for r in rows
            if r["model"] == "prevent" and r["horizon_years"] == 10 and r["outcome"] == "total_cvd"
        ),
        None,
    )
    prevention: list[dict[str, Any]] = []
    if base is not None and base["risk"] is not None:
        smoker = bool(x.smoker[0])
        non_smoker_risk = None
        if smoker:
            x0 = RiskInputs(**{**x.__dict__, "smoker": np.zeros(1)})
            b0 = model_blocks(ckb, x0, ["prevent"])
            non_smoker_risk = next(
                r["risk"]
                for blk in b0
                for r in blk.to_dicts()
                if r["horizon_years"] == 10 and r["outcome"] == "total_cvd"
            )
        options = prevention_options(
            load_effects(kb.root / "cardio"),
            float(base["risk"]),
            ldl_mmol,
            float(x.sbp[0]) if not np.isnan(x.sbp[0]) else None,
            bool(x.statin[0]),
            smoker,
            non_smoker_risk,
        )
        caveats.append(
            Caveat(
                code="no_cited_effect",
                kind=CaveatKind.NOTE,
                message="weight loss and HbA1c control are not quantified: the knowledge base "
                "has no trial-based relative effect on cardiovascular events for them "
                "(treatment_effects.csv)",
            )
        )
        statin_notes = _statin_pgx(kb, pgx)
        for o in options:
            item = dict(o.__dict__)
            if "statin" in o.option and statin_notes:
                item["notes"] = [*o.notes, *statin_notes]
            prevention.append(item)
        if ldl_mmol is None:
            caveats.append(
                Caveat(
                    code="ldl_missing", message="LDL-C not recorded: statin benefit not computed"
                )
            )
    else:
        caveats.append(
            Caveat(
                code="risk_not_computed",
                message="PREVENT 10-year risk not computed (missing or out-of-range inputs)",
            )
        )
    fh = _fh_and_lpa(kb, record)
    return {
        **fh,
        "polygenic_scores": _polygenic_scores(record),
        "baseline": base,
        "risk": rows,
        "prevention": prevention,
        "caveats": [c.model_dump(mode="json") for c in caveats],
        "basis": "PREVENT 10-year total CVD; relative effects from treatment_effects.csv",
    }


FIRST_DEGREE_MALE = ("father", "brother", "son")
FIRST_DEGREE_FEMALE = ("mother", "sister", "daughter")
CVD_WORDS = ("myocardial", "coronary", "heart attack", "angina", "stroke", "cardiovascular")


def _premature_family_cvd(record: PatientRecord) -> bool:
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


def _fh_genetics(kb: KnowledgeBase, record: PatientRecord) -> dict[str, Any] | None:
    from precisionrx.engines.cardio.fh_genetics import fh_from_vcf
    from precisionrx.io.patient_file import germline_vcfs

    inputs = germline_vcfs(record)
    if not inputs:
        return None
    gi = inputs[0]
    found = fh_from_vcf(Path(gi.path), gi.sample, gi.genome_build, kb.root / "cardio")
    return {"input": gi.path, **found.as_dict()}


def _fh_and_lpa(kb: KnowledgeBase, record: PatientRecord) -> dict[str, Any]:
    """DLCN (with the DNA item from the germline VCF), Lp(a) and CAC as risk enhancers."""
    from precisionrx.engines.cardio.fh import cac_status, dlcn_score, lpa_status

    genetics = _fh_genetics(kb, record)
    ldl = _measure(record, "ldl")
    res = dlcn_score(
        ldl[0] if ldl else None,
        ldl[1] if ldl else "mmol/L",
        _premature_family_cvd(record),
        pathogenic_variant=bool(genetics and genetics["fh_variant_found"]),
    )
    out: dict[str, Any] = {
        "dlcn": {
            "points": res.points,
            "category": res.category,
            "items": res.items,
            "caveats": res.caveats,
        },
        "fh_genetics": genetics,
    }
    lpa = _measure(record, "lp(a)", "lipoprotein(a)", "lipoprotein (a)")
    if lpa is not None:
        out["lpa"] = {"value": lpa[0], **lpa_status(lpa[0], lpa[1])}
    elif genetics and genetics["lpa_alleles"]:
        out["lpa"] = {
            "value": None,
            "status": "not measured; LPA risk allele carried",
            "note": "carries an LPA variant linked to high Lp(a): measure Lp(a) once",
        }
    cac = _measure(record, "coronary artery calcium", "cac", "agatston")
    if cac is not None:
        out["cac"] = {"value": cac[0], "unit": cac[1] or "Agatston", **cac_status(cac[0])}
    return out


def _polygenic_scores(record: PatientRecord) -> list[dict[str, Any]]:
    """Scores for the record's PGS Catalog scoring files over its germline VCF."""
    from precisionrx.engines.prs.scorer import result_rows, score
    from precisionrx.io.patient_file import germline_vcfs
    from precisionrx.io.pgs_scorefile import read_scorefile
    from precisionrx.io.vcf import VcfFile

    files = [g for g in record.genomic_inputs if g.kind == "pgs_scorefile"]
    vcfs = germline_vcfs(record)
    if not files or not vcfs:
        return []
    out: list[dict[str, Any]] = []
    with VcfFile(vcfs[0].path, [vcfs[0].sample] if vcfs[0].sample else None) as vcf:
        for f in files:
            sf = read_scorefile(f.path)
            out += [
                {**row, "trait": sf.metadata.get("trait_reported"), "scorefile": f.path}
                for row in result_rows(score(sf, vcf))
            ]
    return out


def _statin_pgx(kb: KnowledgeBase, pgx: list[SampleResult]) -> list[str]:
    """CPIC statin guidance for this genotype (SLCO1B1, ABCG2, CYP2C9), to pick the statin."""
    notes: list[str] = []
    for res in pgx:
        probe = res.model_copy(deep=True)
        prescribe(kb, probe, None, STATIN_DRUGS)
        notes.extend(
            f"PGx {r.drug} ({_keys(r.lookup_keys)}): {r.text.splitlines()[0]}"
            for r in probe.recommendations or []
            if r.matched and r.source == "CPIC"
        )
    return notes


def _keys(keys: dict[str, str]) -> str:
    return ", ".join(f"{g} {k}" for g, k in keys.items())
