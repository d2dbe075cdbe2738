"""The plan's cardiometabolic section as FHIR R4 resources.

* Each risk-equation estimate is a ``RiskAssessment`` (FHIR R4 §RiskAssessment): ``method`` names
  the model and its variant, one ``prediction`` with the outcome, ``probabilityDecimal`` (the
  equation's fraction, unrounded) and ``whenRange`` (0 to the horizon, UCUM ``a``); the category
  is the ``rationale``. The baseline estimate carries one more prediction per prevention option
  (its treated risk, ``relativeRisk`` and the option, ARR, NNT and source as the rationale).
* The DLCN score and each polygenic score are Observations with a text code only (no LOINC code
  exists for either; none is invented).
* Each germline FH variant is a Genomics Reporting Variant Observation (LOINC 69548-6, germline
  source class LA6683-2), as the oncology section writes somatic ones.
"""

from __future__ import annotations

from precisionrx.records.cardio import CardioSection, PreventionOption, RiskEstimate
from precisionrx.report.fhir.common import (
    LABORATORY,
    Resource,
    absent,
    observation,
    quantity,
    resource_id,
)
from precisionrx.report.fhir.variants import variant_observation


def _notes(texts: list[str]) -> list[dict[str, str]]:
    return [{"text": t} for t in texts if t]


def _horizon(estimate: RiskEstimate) -> dict[str, object] | None:
    if estimate.horizon_years is None:
        return None
    return {"low": quantity(0, "a"), "high": quantity(estimate.horizon_years, "a")}


def _option_prediction(estimate: RiskEstimate, option: PreventionOption) -> dict[str, object]:
    nnt = "not defined" if option.nnt is None else f"{option.nnt}"
    prediction: dict[str, object] = {
        "outcome": {"text": f"{estimate.outcome} with {option.option}"},
        "probabilityDecimal": option.treated_risk,
        "relativeRisk": option.relative_risk,
        "rationale": f"{option.option}: absolute risk reduction {option.arr}, NNT {nnt}; "
        f"{option.mechanism} ({option.source})",
    }
    when = _horizon(estimate)
    if when is not None:
        prediction["whenRange"] = when
    return prediction


def risk_assessment(
    estimate: RiskEstimate,
    subject: dict[str, str],
    issued: str,
    basis: str,
    options: list[PreventionOption] | None = None,
) -> Resource:
    """One estimate as a RiskAssessment (with the prevention options when it is the
    baseline the options were computed from)."""
    prediction: dict[str, object] = {"outcome": {"text": estimate.outcome}}
    if estimate.risk is not None:
        prediction["probabilityDecimal"] = estimate.risk
    when = _horizon(estimate)
    if when is not None:
        prediction["whenRange"] = when
    if estimate.category:
        prediction["rationale"] = f"category: {estimate.category}"
    horizon = "now" if estimate.horizon_years is None else f"{estimate.horizon_years}y"
    resource: Resource = {
        "resourceType": "RiskAssessment",
        "id": resource_id("risk", estimate.id, estimate.model, estimate.variant,
                          estimate.outcome, horizon),
        "status": "final",
        "subject": subject,
        "occurrenceDateTime": issued,
        "method": {"text": f"{estimate.model} ({estimate.variant})"},
        "prediction": [prediction,
                       *(_option_prediction(estimate, o) for o in options or [])],
    }  # fmt: skip
    notes = _notes([basis] + [f"[{c.code}] {c.message}" for c in estimate.caveats])
    if estimate.risk is None:
        notes.insert(0, {"text": "risk not computed: see the caveats"})
    if notes:
        resource["note"] = notes
    return resource


def cardio_resources(
    section: CardioSection, subject: dict[str, str], patient_id: str, issued: str
) -> list[Resource]:
    """RiskAssessments, the DLCN and polygenic-score Observations and the FH variants."""
    out: list[Resource] = []
    baseline = section.baseline
    for estimate in section.risk:
        options = section.prevention if estimate == baseline else None
        out.append(risk_assessment(estimate, subject, issued, section.basis, options))
    if baseline is not None and baseline not in section.risk:
        out.append(risk_assessment(baseline, subject, issued, section.basis, section.prevention))
    if section.dlcn is not None:
        dlcn = section.dlcn
        code = {"text": "Dutch Lipid Clinic Network score (familial hypercholesterolaemia)"}
        obs = observation(resource_id("dlcn", patient_id), code, subject, issued, [LABORATORY])
        out.append(obs | {
            "valueInteger": dlcn.points,
            "interpretation": [{"text": dlcn.category}],
            "note": _notes([f"items: {', '.join(dlcn.items) or 'none'}"]
                           + [f"[{c.code}] {c.message}" for c in dlcn.caveats]),
        })  # fmt: skip
    for score in section.polygenic_scores:
        code = {"text": f"Polygenic score {score.pgs_id}"
                        + (f" ({score.trait})" if score.trait else "")}  # fmt: skip
        obs = observation(resource_id("prs", patient_id, score.pgs_id), code, subject, issued,
                          [LABORATORY])  # fmt: skip
        obs |= {
            "component": [
                {"code": {"text": "variants matched"}, "valueInteger": score.variants_matched},
                {"code": {"text": "variants in score"}, "valueInteger": score.variants_in_score},
            ],
        }  # fmt: skip
        if score.sum is None:
            obs["dataAbsentReason"] = absent("not-performed")
        else:
            obs["valueQuantity"] = {"value": score.sum}
        if score.percentile is not None:
            obs["component"].append(
                {"code": {"text": "percentile in the reference population"},
                 "valueQuantity": quantity(score.percentile, "%")}
            )  # fmt: skip
        if score.z is not None:
            obs["component"].append(
                {"code": {"text": "z-score"}, "valueQuantity": {"value": score.z}}
            )
        notes = _notes([f"[{c.code}] {c.message}" for c in score.caveats])
        if notes:
            obs["note"] = notes
        out.append(obs)
    genetics = section.fh_genetics
    if genetics is not None:
        out.extend(variant_observation(
            resource_id("fh-variant", patient_id, v.gene, v.chrom, str(v.pos), v.ref, v.alt),
            subject, issued, gene=v.gene, hgvsc=None, hgvsp=v.hgvsp, vaf=None,
            copy_number=None, somatic=False, zygosity=v.zygosity,
            notes=[f"{v.classification} ({v.source}): {v.effect}"],
        ) for v in genetics.variants)  # fmt: skip
    return out
