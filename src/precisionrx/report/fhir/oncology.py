"""The tumour report as FHIR R4 Genomics Reporting 3.0.0 resources.

* TMB and MSI are Molecular Biomarker Observations, coded as the IG's own examples
  (Observation-TMBExample: LOINC 94076-7 "Mutations/Megabase [# Ratio] in Tumor";
  Observation-MSIExample / MicrosatelliteInstabilityExample01: LOINC 81695-9 valued LA26203-2
  "MSI-H" or LA14122-8 "Stable"; any other status as text only).
* Every alteration of the report is a somatic Variant Observation (:mod:`.variants`).
* Every row of the therapy summary is a Therapeutic Implication Observation (code
  ``tbd-codes-cs#therapeutic-implication``): medication assessed (LOINC 51963-7, the drug or
  combination as text), the implication valued from genetic-therapeutic-implications-vs
  (LA6677-4 "Responsive" for ``sensitive``, LA6676-6 "Resistant" for ``expected resistance``;
  ``disputed`` as text), level of evidence (93044-6, the best evidence item's level and tier),
  associated phenotype (81259-4, the tumour type), ``derivedFrom`` the variant.
"""

from __future__ import annotations

from typing import Any

from precisionrx.records.oncology import AlterationEntry, TherapySummaryRow, TumourReport
from precisionrx.report.fhir.common import (
    GENOMIC_CATEGORIES,
    LOINC,
    TBD,
    Resource,
    coding,
    observation,
    reference,
    resource_id,
)
from precisionrx.report.fhir.variants import variant_observation

_MSI = {"MSI-H": ("LA26203-2", "MSI-H"), "MSS": ("LA14122-8", "Stable")}
_IMPLICATION = {"sensitive": ("LA6677-4", "Responsive"),
                "expected resistance": ("LA6676-6", "Resistant")}  # fmt: skip
_BIOMARKER = [
    *GENOMIC_CATEGORIES,
    {"coding": [{"system": TBD, "code": "biomarker-category"}]},
]


def _caveat_notes(caveats: Any) -> list[dict[str, str]]:
    return [{"text": f"[{c.code}] {c.message}"} for c in caveats]


def _drug_text(drug: str | list[str]) -> str:
    return drug if isinstance(drug, str) else " + ".join(drug)


def _biomarkers(
    report: TumourReport, subject: dict[str, str], pid: str, issued: str
) -> list[Resource]:
    tmb, msi = report.tmb, report.msi
    tmb_code = coding(LOINC, "94076-7", "Mutations/Megabase [# Ratio] in Tumor")
    tmb_obs = observation(resource_id("tmb", pid), tmb_code, subject, issued, _BIOMARKER,
                          "molecular-biomarker")  # fmt: skip
    tmb_obs |= {
        "valueQuantity": {"value": tmb.value, "unit": "mutations/Mb"},
        "interpretation": [{"text": f"{'high' if tmb.high else 'not high'} "
                                    f"(threshold {tmb.threshold} mutations/Mb)"}],
        "note": [{"text": f"{tmb.variants_counted} variants counted ({tmb.scheme}) over "
                          f"{tmb.callable_mb} Mb"}, *_caveat_notes(tmb.caveats)],
    }  # fmt: skip
    code = _MSI.get(msi.status)
    msi_code = coding(LOINC, "81695-9", "Microsatellite instability [Interpretation] in Cancer "
                      "specimen Qualitative")  # fmt: skip
    msi_obs = observation(resource_id("msi", pid), msi_code, subject, issued, _BIOMARKER,
                          "molecular-biomarker")  # fmt: skip
    msi_obs |= {
        "valueCodeableConcept": coding(LOINC, *code) if code else {"text": msi.status},
        "note": [{"text": f"source: {msi.source}"}, *_caveat_notes(msi.caveats)],
    }  # fmt: skip
    return [tmb_obs, msi_obs]


def _variant(
    a: AlterationEntry, i: int, subject: dict[str, str], pid: str, issued: str
) -> Resource:
    notes = [f"{a.alteration} ({a.type}; {a.source})",
             f"oncogenic evidence: {a.oncogenic_evidence}", *a.notes]  # fmt: skip
    return variant_observation(
        resource_id("somatic", pid, str(i), a.alteration), subject, issued, gene=a.gene,
        hgvsc=a.hgvsc, hgvsp=f"p.{a.protein_change}" if a.protein_change else None, vaf=a.vaf,
        copy_number=a.copy_number, somatic=True, notes=notes,
    )  # fmt: skip


def _implication(
    row: TherapySummaryRow,
    i: int,
    report: TumourReport,
    variants: dict[str, Resource],
    subject: dict[str, str],
    pid: str,
    issued: str,
) -> Resource:
    drug = _drug_text(row.drug)
    answer = _IMPLICATION.get(row.status)
    value = coding(LOINC, *answer) if answer else {"text": row.status}
    best = row.best_evidence
    level = f"{best.evidence_level} (tier {row.tier or 'none'}; {best.source} {best.source_id})"
    components = [
        {"code": {"coding": [{"system": TBD, "code": "therapeutic-implication"}]},
         "valueCodeableConcept": value},
        {"code": coding(LOINC, "51963-7", "Medication assessed"),
         "valueCodeableConcept": {"text": drug}},
        {"code": coding(LOINC, "93044-6", "Level of evidence"),
         "valueCodeableConcept": {"text": level}},
    ]  # fmt: skip
    tumour = report.tumor_type.name or report.tumor_type.code
    if tumour:
        components.append({"code": coding(LOINC, "81259-4", "Associated phenotype"),
                           "valueCodeableConcept": {"text": tumour}})  # fmt: skip
    oid = resource_id("tumour-implication", pid, str(i), row.alteration, drug)
    code = coding(TBD, "therapeutic-implication", "Therapeutic Implication")
    obs = observation(oid, code, subject, issued, GENOMIC_CATEGORIES, "therapeutic-implication")
    obs |= {
        "component": components,
        "note": [{"text": f"{row.alteration}: {drug}: {row.status}, {row.recommendation} "
                          f"({row.supporting} supporting, {row.conflicting} conflicting, "
                          f"{row.overridden} overridden evidence items)"}]
        + [{"text": link} for link in row.links],
    }  # fmt: skip
    variant = variants.get(row.alteration)
    if variant is not None:
        obs["derivedFrom"] = [reference(variant)]
    return obs


def oncology_resources(
    report: TumourReport, subject: dict[str, str], patient_id: str, issued: str
) -> list[Resource]:
    """TMB, MSI, the somatic variants and the therapeutic implications of one tumour."""
    out = _biomarkers(report, subject, patient_id, issued)
    variants: dict[str, Resource] = {}
    for i, alteration in enumerate(report.alterations):
        obs = _variant(alteration, i, subject, patient_id, issued)
        variants.setdefault(alteration.alteration, obs)
        out.append(obs)
    out.extend(
        _implication(row, i, report, variants, subject, patient_id, issued)
        for i, row in enumerate(report.therapy_summary)
    )
    return out
