"""Cardiometabolic risk: the entry points of the cardio engine.

- :func:`estimate_risks` ``(inputs, kb, models) -> RiskResult``: the risk equations (PREVENT,
  PCE, revised PCE, SCORE2, QRISK3, ADA, FINDRISC) over a table of people
  (``precisionrx risk``). :func:`risk_frames` is its fast path: the same rows as polars blocks,
  for writers that stream a large cohort to CSV.
- :func:`assess_patient` ``(record, kb, pgx, ...) -> CardioSection | None``: one patient's risk,
  prevention options, FH (DLCN and FH genes), Lp(a), CAC, polygenic scores and statin PGx notes
  (the plan's cardiovascular section).

Neither opens a file: tables are read by :mod:`precisionrx.io.risk_table`, germline VCFs are
opened by the caller (:class:`GenotypeSource`) and scoring files read by
:mod:`precisionrx.io.pgs_scorefile`; the knowledge base is read through the registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from precisionrx.engines.cardio.fh import cac_status, dlcn_score, lpa_not_measured, lpa_status
from precisionrx.engines.cardio.fh_genetics import fh_genetics
from precisionrx.engines.cardio.inputs import MGDL_PER_MMOL
from precisionrx.engines.cardio.prevention import load_effects, prevention_options
from precisionrx.engines.cardio.record_inputs import (
    aspirin_exclusion,
    established_cvd,
    has_risk_data,
    inferred_ascvd,
    ingredients,
    inputs_from_record,
    measure,
    premature_family_cvd,
    statin_pgx_notes,
)
from precisionrx.engines.cardio.runner import (
    MODEL_POPULATION,
    cardio_kb,
    estimates,
    model_blocks,
)
from precisionrx.engines.cardio.statins import STATINS, statin_review
from precisionrx.records import Caveat, CaveatKind, PatientRecord, SampleResult
from precisionrx.records.cardio import (
    CardioSection,
    FhGenetics,
    LpaStatus,
    PolygenicScore,
    PreventionOption,
    RiskEstimate,
    RiskResult,
    StatinReview,
)
from precisionrx.records.evidence import Provenance, fingerprint
from precisionrx.records.prs import PrsSettings

if TYPE_CHECKING:
    import polars as pl

    from precisionrx.io.pgs_scorefile import ScoreFile
    from precisionrx.io.vcf import VcfFile
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.risk_inputs import RiskInputs

#: The models of the plan's section, in order. For a person with diabetes SCORE2-Diabetes comes
#: before SCORE2 (ESC 2023 diabetes guideline; each row says why when it does not apply).
PATIENT_MODELS = ("prevent", "pce", "score2", "qrisk3")


def patient_models(x: RiskInputs) -> list[str]:
    """The models for this person: with diabetes, SCORE2-Diabetes too, before SCORE2."""
    if x.diabetes[0] == 1:
        return ["prevent", "pce", "score2_diabetes", "score2", "qrisk3"]
    return list(PATIENT_MODELS)


@dataclass(frozen=True)
class GenotypeSource:
    """A germline VCF opened by the caller, with its genome build and the label (its path as
    given in the record) the results name it by."""

    vcf: VcfFile
    genome_build: str
    label: str


def risk_frames(inputs: RiskInputs, kb: KnowledgeBase, models: Sequence[str]) -> list[pl.DataFrame]:
    """The rows of :func:`estimate_risks` as polars blocks (one per model, horizon and outcome;
    caveats as ``code: message; ...`` text), for streaming writers of large cohorts."""
    return model_blocks(cardio_kb(kb), inputs, list(models))


def risk_provenance(
    kb: KnowledgeBase, models: Sequence[str], input_sha256: str | None = None
) -> Provenance:
    return kb.provenance(["cardio"], input_sha256, {"models": ",".join(models)})


def estimate_risks(
    inputs: RiskInputs,
    kb: KnowledgeBase,
    models: Sequence[str],
    input_sha256: str | None = None,
) -> RiskResult:
    """Every selected model's results for every person of ``inputs`` (typed; see
    docs/cli/risk.md for the fields). ``input_sha256`` is the caller's fingerprint of the input
    table, named in the provenance."""
    return RiskResult(
        results=estimates(risk_frames(inputs, kb, models)),
        provenance=risk_provenance(kb, models, input_sha256),
    )


def _statin_notes(
    options: list[PreventionOption], kb: KnowledgeBase, pgx: list[SampleResult]
) -> list[PreventionOption]:
    notes = statin_pgx_notes(kb, pgx)
    if not notes:
        return options
    return [
        o.model_copy(update={"notes": [*o.notes, *notes]}) if "statin" in o.option else o
        for o in options
    ]


def _prevention(
    kb: KnowledgeBase,
    x: RiskInputs,
    base: RiskEstimate,
    ldl_mmol: float | None,
    pgx: list[SampleResult],
    caveats: list[Caveat],
    no_aspirin: str | None = None,
) -> list[PreventionOption]:
    assert base.risk is not None
    smoker = bool(x.smoker[0])
    non_smoker_risk = None
    if smoker:
        x0 = replace(x, smoker=np.zeros(1))
        rows = estimates(risk_frames(x0, kb, ["prevent"]))
        non_smoker_risk = next(
            r.risk for r in rows if r.horizon_years == 10 and r.outcome == "total_cvd"
        )
    options = prevention_options(
        load_effects(kb),
        float(base.risk),
        ldl_mmol,
        float(x.sbp[0]) if not np.isnan(x.sbp[0]) else None,
        bool(x.statin[0]),
        smoker,
        non_smoker_risk,
        offer_aspirin=no_aspirin is None,
    )
    if no_aspirin is not None:
        message = f"primary-prevention aspirin not offered: {no_aspirin}"
        caveats.append(Caveat(code="aspirin_not_offered", kind=CaveatKind.NOTE, message=message))
    caveats.append(
        Caveat(
            code="no_cited_effect",
            kind=CaveatKind.NOTE,
            message="weight loss and HbA1c control are not quantified: the knowledge base "
            "has no trial-based relative effect on cardiovascular events for them "
            "(treatment_effects.csv)",
        )
    )
    options = _statin_notes(options, kb, pgx)
    if ldl_mmol is None:
        caveats.append(
            Caveat(code="ldl_missing", message="LDL-C not recorded: statin benefit not computed")
        )
    return options


def _polygenic_scores(
    kb: KnowledgeBase, genotypes: GenotypeSource | None, scorefiles: Iterable[ScoreFile]
) -> list[PolygenicScore]:
    from precisionrx.engines.prs.api import score_genotypes

    if genotypes is None:
        return []
    result = score_genotypes(scorefiles, genotypes.vcf, kb, PrsSettings(), check_builds=False)
    return [
        PolygenicScore(**row.model_dump(), trait=s.trait, scorefile=s.scorefile)
        for s in result.scores
        for row in s.rows
    ]


def _statins(
    kb: KnowledgeBase,
    record: PatientRecord,
    pgx: list[SampleResult],
    ascvd_basis: str | None = None,
) -> StatinReview | None:
    """The statin review when a statin is recorded (None otherwise); ``ascvd_basis`` says how
    established atherosclerotic disease is known (the LDL-C goal then applies)."""
    names = ingredients(record, kb)
    if not any(n in STATINS for n in names):
        return None
    ldl = measure(record, "ldl")
    ldl_mmol = None
    if ldl is not None:
        ldl_mmol = ldl[0] if ldl[1].lower().startswith("mmol") else ldl[0] / MGDL_PER_MMOL
    return statin_review(kb, record, pgx, names, ascvd_basis=ascvd_basis, ldl_mmol=ldl_mmol)


def statin_first(
    options: list[PreventionOption], statins: StatinReview | None
) -> list[PreventionOption]:
    """Add-on LDL-C drugs come after a high-intensity statin: when the recorded statin is not
    high intensity, ezetimibe and PCSK9-inhibitor options say so and name the high-intensity
    doses within this genotype's CPIC limits (statins.py)."""
    if statins is None or not statins.current:
        return options
    if any(u.intensity == "high" for u in statins.current):
        return options
    now = ", ".join(
        f"{u.drug} {u.dose or 'dose not recorded'} ({u.intensity or 'intensity unknown'})"
        for u in statins.current
    )
    allowed = ", ".join(f"{o.drug} {o.dose_mg:g} mg" for o in statins.high_intensity_options)
    note = (
        f"first intensify the statin: now {now}; high-intensity doses within this genotype's "
        f"CPIC limits: {allowed or 'none'}"
    )
    return [
        o.model_copy(update={"notes": [note, *o.notes]}) if o.option.startswith("add ") else o
        for o in options
    ]


def assess_patient(
    record: PatientRecord,
    kb: KnowledgeBase,
    pgx: list[SampleResult],
    genotypes: GenotypeSource | None = None,
    scorefiles: Iterable[ScoreFile] = (),
    home_sbp: float | None = None,
    gmi: float | None = None,
) -> CardioSection | None:
    """One patient's cardiovascular section; None when the record has no sex and age, or
    neither cholesterol nor blood pressure (nor a home SBP).

    With established cardiovascular disease only a caveat is returned (primary-prevention
    equations do not apply). Otherwise: PREVENT, PCE, SCORE2 and QRISK3 rows, the PREVENT
    10-year total CVD baseline, prevention options with statin PGx notes from ``pgx``, DLCN with
    the DNA item from ``genotypes`` (FH genes), Lp(a) and CAC as risk enhancers, and the
    polygenic scores of ``scorefiles`` over ``genotypes`` (a generator is consumed only when
    the section applies). ``home_sbp`` (home mean systolic) and ``gmi`` (the CGM's GMI) stand
    in for a missing office SBP and laboratory HbA1c, and are said so.
    """
    if not has_risk_data(record, home_sbp):
        return None
    provenance = kb.provenance(
        ["cardio"],
        fingerprint(record, *(r for r in pgx)),
        {k: repr(v) for k, v in (("home_sbp", home_sbp), ("gmi", gmi)) if v is not None},
    )
    established = established_cvd(record)
    if established:
        note = Caveat(
            code="established_cvd",
            message=f"established cardiovascular disease ({', '.join(established)}): primary-"
            "prevention risk equations do not apply; manage as secondary prevention",
        )
        return CardioSection(
            caveats=[note], basis="not applicable", provenance=provenance,
            statins=_statins(kb, record, pgx,
                             f"established cardiovascular disease ({', '.join(established)})"),
        )  # fmt: skip
    implied = inferred_ascvd(record, kb)
    if implied:
        note = Caveat(
            code="established_cvd_inferred",
            message=f"{', '.join(implied)} is taken and no cardiovascular disease is coded: its "
            "labelled indications (acute coronary syndrome, myocardial infarction, coronary "
            "stenting, stroke or TIA, peripheral arterial disease) are established "
            "atherosclerotic disease, so primary-prevention risk equations are not run: record "
            "the indication and manage as secondary prevention",
        )
        return CardioSection(
            caveats=[note], basis="not applicable", provenance=provenance,
            statins=_statins(kb, record, pgx,
                             f"established ASCVD inferred from {', '.join(implied)}"),
        )  # fmt: skip
    x, caveats, ldl_mmol = inputs_from_record(record, home_sbp, gmi)
    rows = [
        r.model_copy(update={"population": MODEL_POPULATION.get(r.model, "")})
        for r in estimates(risk_frames(x, kb, patient_models(x)))
    ]
    base = next(
        (
            r
            for r in rows
            if r.model == "prevent" and r.horizon_years == 10 and r.outcome == "total_cvd"
        ),
        None,
    )
    prevention: list[PreventionOption] = []
    statins = _statins(kb, record, pgx)
    if base is not None and base.risk is not None:
        prevention = _prevention(kb, x, base, ldl_mmol, pgx, caveats, aspirin_exclusion(record, kb))
        prevention = statin_first(prevention, statins)
    else:
        caveats.append(
            Caveat(
                code="risk_not_computed",
                message="PREVENT 10-year risk not computed (missing or out-of-range inputs)",
            )
        )
    genetics: FhGenetics | None = None
    if genotypes is not None:
        genetics = fh_genetics(genotypes.vcf, genotypes.genome_build, kb, genotypes.label)
    ldl = measure(record, "ldl")
    dlcn = dlcn_score(
        ldl[0] if ldl else None,
        ldl[1] if ldl else "mmol/L",
        premature_family_cvd(record),
        pathogenic_variant=bool(genetics and genetics.fh_variant_found),
        on_statin=bool(x.statin[0]),
    )
    lpa_measured = measure(record, "lp(a)", "lipoprotein(a)", "lipoprotein (a)")
    lpa = None
    if lpa_measured is not None:
        lpa = lpa_status(*lpa_measured)
    elif genetics and genetics.lpa_alleles:
        lpa = LpaStatus(
            value=None,
            status="not measured; LPA risk allele carried",
            note="carries an LPA variant linked to high Lp(a): measure Lp(a) once",
        )
    else:
        lpa = lpa_not_measured(premature_family_cvd(record))
    cac_measured = measure(record, "coronary artery calcium", "cac", "agatston")
    cac = None
    if cac_measured is not None:
        cac = cac_status(cac_measured[0], cac_measured[1] or "Agatston")
    return CardioSection(
        dlcn=dlcn,
        fh_genetics=genetics,
        lpa=lpa,
        cac=cac,
        polygenic_scores=_polygenic_scores(kb, genotypes, scorefiles),
        statins=statins,
        baseline=base,
        risk=rows,
        prevention=prevention,
        caveats=caveats,
        basis="PREVENT 10-year total CVD; relative effects from treatment_effects.csv",
        provenance=provenance,
    )
