"""Pharmacogenomic results as FHIR R4 Genomics Reporting 3.0.0 resources.

Per sample: a GenomicReport (DiagnosticReport, LOINC 51969-4), one Genotype Observation (LOINC
84413-4) per called gene, one TherapeuticImplication Observation per matched recommendation
(phenotype as a LOINC answer code when one exists, drug as RxNorm, ``derivedFrom`` the genotype),
and a MedicationRecommendation Task per medication whose review status is ``action``. Profiles
and fixed codes: HL7 Genomics Reporting IG STU3 (shared research/interop.md §1.2).

An implication's phenotype is coded from genetic-therapeutic-implications-vs also when the
guideline looks the gene up by activity score: the phenotype the gene's CPIC table gives that
score (DPYD ``1.5`` -> Intermediate metabolizer), so that a reader of the Bundle (``precisionrx
fhir import``) gets a phenotype, not a number (:func:`implication_phenotype`).
"""

from __future__ import annotations

import re
from typing import Any

from precisionrx import __version__
from precisionrx.engines.pgx.outside import score_table
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import SampleResult
from precisionrx.report.fhir.common import (
    GENOMIC_CATEGORIES,
    GR,
    HGNC,
    LOINC,
    RXNORM,
    TBD,
    Resource,
    bundle_text,
    coding,
    now,
    observation,
    reference,
    reference_to,
    resource_id,
)
from precisionrx.report.writers import versions_text

CATEGORIES = GENOMIC_CATEGORIES
#: genetic-therapeutic-implications-vs answers (Genomics Reporting 3.0.0).
PHENOTYPE_LA = {
    "ultrarapid metabolizer": ("LA10315-2", "Ultrarapid metabolizer"),
    "rapid metabolizer": ("LA25390-8", "Rapid metabolizer"),
    "normal metabolizer": ("LA25391-6", "Normal metabolizer"),
    "intermediate metabolizer": ("LA10317-8", "Intermediate metabolizer"),
    "poor metabolizer": ("LA9657-3", "Poor metabolizer"),
    "increased function": ("LA25392-4", "Increased function"),
    "normal function": ("LA25393-2", "Normal function"),
    "decreased function": ("LA25395-7", "Decreased function"),
    "poor function": ("LA25394-0", "Poor function"),
}


_id = resource_id
_STATED = re.compile(r".*\(([^()]+)\)\s*")


def implication_phenotype(key: str, scores: dict[str, str]) -> str | None:
    """The phenotype a recommendation's lookup key (of one gene) states: the key itself
    (``Poor Metabolizer``), the phenotype DPWG writes after an activity score (``1.5
    (Intermediate Metabolizer)``), or the phenotype of an activity score in the gene's CPIC
    table (``scores``, :func:`~precisionrx.engines.pgx.outside.score_table`); else None.

    >>> implication_phenotype("1.5", {"1.5": "Intermediate Metabolizer"})
    'Intermediate Metabolizer'
    >>> implication_phenotype("1.5 (Intermediate Metabolizer)", {})
    'Intermediate Metabolizer'
    >>> implication_phenotype("Normal", {}) is None
    True
    """
    if key.lower() in PHENOTYPE_LA:
        return key
    stated = _STATED.fullmatch(key)
    if stated and stated.group(1).strip().lower() in PHENOTYPE_LA:
        return stated.group(1).strip()
    return scores.get(key.strip())


def gene_component(gene: str) -> dict[str, Any]:
    """The "gene studied" component (LOINC 48018-6) of a genotype or variant Observation."""
    return {
        "code": {"coding": [{"system": LOINC, "code": "48018-6", "display": "Gene studied [ID]"}]},
        "valueCodeableConcept": {"coding": [{"system": HGNC, "display": gene}], "text": gene},
    }


def patient_resource(patient_id: str, name: str | None = None) -> Resource:
    """The Patient a Bundle's results are about (id and, when known, the name as text)."""
    patient: Resource = {"resourceType": "Patient", "id": _id("patient", patient_id)}
    if name:
        patient["name"] = [{"text": name}]
    return patient


def sample_resources(
    kb: KnowledgeBase, res: SampleResult, issued: str, patient: Resource | None = None
) -> list[Resource]:
    """One sample's GenomicReport, genotypes, therapeutic implications and medication Tasks,
    about ``patient`` (a Patient resource of the sample's name is made, and returned first,
    when none is given)."""
    own = patient is None
    if patient is None:
        patient = patient_resource(res.sample)
    subject = reference(patient)
    out: list[Resource] = [patient] if own else []
    genotype_ids: dict[str, str] = {}
    for g in res.genes:
        if not g.called:
            continue
        oid = _id("genotype", res.sample, g.gene)
        genotype_ids[g.gene] = oid
        note = "; ".join(c.message for c in g.caveats)
        code = coding(LOINC, "84413-4", "Genotype display name")
        obs = observation(oid, code, subject, issued, CATEGORIES, "genotype")
        obs |= {
            "valueCodeableConcept": {"text": f"{g.gene} {' or '.join(g.diplotypes)}"},
            "component": [gene_component(g.gene)],
        }
        if note:
            obs["note"] = [{"text": note}]
        out.append(obs)
    rx = {v: k for k, v in kb.prescribing.rxnorm_to_drug.items()}
    scores: dict[str, dict[str, str]] = {}
    implication_ids: dict[str, list[str]] = {}
    for i, r in enumerate(res.recommendations or []):
        if not r.matched:
            continue
        oid = _id("implication", res.sample, r.drug, r.source, str(i))
        implication_ids.setdefault(r.drug, []).append(oid)
        components: list[dict[str, Any]] = []
        for gene, key in r.lookup_keys.items():
            if gene not in scores:
                scores[gene] = score_table(kb, gene)
            phenotype = implication_phenotype(key, scores[gene])
            la = PHENOTYPE_LA.get(phenotype.lower()) if phenotype else None
            shown = key
            if phenotype and key.strip() in scores[gene]:
                shown = f"activity score {key} ({phenotype})"
            value: dict[str, Any] = {"text": f"{gene} {shown}"}
            if la:
                value["coding"] = [{"system": LOINC, "code": la[0], "display": la[1]}]
            components.append(
                {
                    "code": {"coding": [{"system": TBD, "code": "therapeutic-implication"}]},
                    "valueCodeableConcept": value,
                }
            )
        drug_cc: dict[str, Any] = {"text": r.drug}
        if r.drug in rx:
            drug_cc["coding"] = [{"system": RXNORM, "code": rx[r.drug], "display": r.drug}]
        components.append(
            {
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "51963-7", "display": "Medication assessed [ID]"}
                    ]
                },
                "valueCodeableConcept": drug_cc,
            }
        )
        if r.population and r.population != "general":
            components.append(
                {
                    "code": {
                        "coding": [
                            {"system": LOINC, "code": "81259-4", "display": "Associated phenotype"}
                        ]
                    },
                    "valueCodeableConcept": {"text": r.population},
                }
            )
        code = coding(TBD, "therapeutic-implication", "Therapeutic Implication")
        implication = observation(oid, code, subject, issued, CATEGORIES, "therapeutic-implication")
        implication |= {
            "derivedFrom": [
                reference_to("Observation", genotype_ids[g]) for g in r.genes if g in genotype_ids
            ],
            "component": components,
            "note": [
                {
                    "text": f"{r.source} ({r.classification or 'unclassified'}): "
                    f"{r.text} — {r.guideline}, {r.guideline_version}"
                }
            ],
        }
        out.append(implication)
    tasks = []
    for m in res.medication_review or []:
        if m.status != "action" or not m.matched_drug:
            continue
        first = next((r for r in m.recommendations if r.matched), None)
        if first is None:
            continue
        tid = _id("task", res.sample, m.matched_drug)
        tasks.append(tid)
        out.append(
            {
                "resourceType": "Task",
                "id": tid,
                "meta": {"profile": [f"{GR}/StructureDefinition/medication-recommendation"]},
                "status": "requested",
                "intent": "proposal",
                "code": {"text": first.text.splitlines()[0]},
                "description": f"{m.medication}: {first.text}",
                "for": subject,
                "reasonReference": reference_to("Observation", implication_ids[m.matched_drug][0]),
            }
        )
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": _id("report", res.sample),
        "meta": {"profile": [f"{GR}/StructureDefinition/genomic-report"]},
        "status": "final",
        "category": [CATEGORIES[1]],
        "code": {
            "coding": [{"system": LOINC, "code": "51969-4", "display": "Genetic analysis report"}]
        },
        "subject": subject,
        "issued": issued,
        "result": [reference(r) for r in out if r["resourceType"] == "Observation"],
        "conclusion": "Decision support only; review with the full clinical picture. "
        f"{versions_text(__version__, kb.versions())}.",
    }
    if tasks:
        report["extension"] = [
            {
                "url": f"{GR}/StructureDefinition/recommended-action",
                "valueReference": reference_to("Task", t),
            }
            for t in tasks
        ]
    return [report, *out]


def pgx_bundle(kb: KnowledgeBase, results: list[SampleResult]) -> str:
    """``precisionrx pgx --format fhir``: every sample's resources in one collection Bundle."""
    issued = now()
    resources = [r for res in results for r in sample_resources(kb, res, issued)]
    return bundle_text(resources, issued)
