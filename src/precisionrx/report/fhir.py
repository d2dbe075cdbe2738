"""FHIR R4 Genomics Reporting 3.0.0 output (Bundle of type collection).

Per sample: a GenomicReport (DiagnosticReport, LOINC 51969-4), one Genotype Observation (LOINC
84413-4) per called gene, one TherapeuticImplication Observation per matched recommendation
(phenotype as a LOINC answer code when one exists, drug as RxNorm, ``derivedFrom`` the genotype),
and a MedicationRecommendation Task per medication whose review status is ``action``. Profiles
and fixed codes: HL7 Genomics Reporting IG STU3 (shared research/interop.md §1.2).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import SampleResult
from precisionrx.report.output import dumps

GR = "http://hl7.org/fhir/uv/genomics-reporting"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TBD = f"{GR}/CodeSystem/tbd-codes-cs"
CATEGORIES = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ]
    },
    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE"}]},
]
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


def _id(*parts: str) -> str:
    raw = "-".join(parts)
    return re.sub(r"[^A-Za-z0-9\-.]", "-", raw)[:64].strip("-") or str(uuid.uuid4())


def _gene_component(gene: str) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": "48018-6", "display": "Gene studied [ID]"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://www.genenames.org", "display": gene}],
            "text": gene,
        },
    }


def sample_resources(kb: KnowledgeBase, res: SampleResult, issued: str) -> list[dict[str, Any]]:
    pid = _id("patient", res.sample)
    subject = {"reference": f"Patient/{pid}"}
    out: list[dict[str, Any]] = [{"resourceType": "Patient", "id": pid}]
    genotype_ids: dict[str, str] = {}
    for g in res.genes:
        if not g.called:
            continue
        oid = _id("genotype", res.sample, g.gene)
        genotype_ids[g.gene] = oid
        note = "; ".join(c.message for c in g.caveats)
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": oid,
            "meta": {"profile": [f"{GR}/StructureDefinition/genotype"]},
            "status": "final",
            "category": CATEGORIES,
            "code": {
                "coding": [{"system": LOINC, "code": "84413-4", "display": "Genotype display name"}]
            },
            "subject": subject,
            "issued": issued,
            "valueCodeableConcept": {"text": f"{g.gene} {' or '.join(g.diplotypes)}"},
            "component": [_gene_component(g.gene)],
        }
        if note:
            obs["note"] = [{"text": note}]
        out.append(obs)
    rx = {v: k for k, v in kb.prescribing.rxnorm_to_drug.items()}
    implication_ids: dict[str, list[str]] = {}
    for i, r in enumerate(res.recommendations or []):
        if not r.matched:
            continue
        oid = _id("implication", res.sample, r.drug, r.source, str(i))
        implication_ids.setdefault(r.drug, []).append(oid)
        components: list[dict[str, Any]] = []
        for gene, key in r.lookup_keys.items():
            la = PHENOTYPE_LA.get(key.lower())
            value: dict[str, Any] = {"text": f"{gene} {key}"}
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
        out.append(
            {
                "resourceType": "Observation",
                "id": oid,
                "meta": {"profile": [f"{GR}/StructureDefinition/therapeutic-implication"]},
                "status": "final",
                "category": CATEGORIES,
                "code": {
                    "coding": [
                        {
                            "system": TBD,
                            "code": "therapeutic-implication",
                            "display": "Therapeutic Implication",
                        }
                    ]
                },
                "subject": subject,
                "issued": issued,
                "derivedFrom": [
                    {"reference": f"Observation/{genotype_ids[g]}"}
                    for g in r.genes
                    if g in genotype_ids
                ],
                "component": components,
                "note": [
                    {
                        "text": f"{r.source} ({r.classification or 'unclassified'}): "
                        f"{r.text} — {r.guideline}, {r.guideline_version}"
                    }
                ],
            }
        )
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
                "reasonReference": {
                    "reference": f"Observation/{implication_ids[m.matched_drug][0]}"
                },
            }
        )
    kb_text = ", ".join(f"{v['name']} {v['version']}" for v in kb.versions())
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
        "result": [
            {"reference": f"Observation/{r['id']}"}
            for r in out
            if r["resourceType"] == "Observation"
        ],
        "conclusion": "Decision support only; review with the full clinical picture. "
        f"Knowledge bases: {kb_text}.",
    }
    if tasks:
        report["extension"] = [
            {
                "url": f"{GR}/StructureDefinition/recommended-action",
                "valueReference": {"reference": f"Task/{t}"},
            }
            for t in tasks
        ]
    return [report, *out]


def _full_url(resource: dict[str, Any]) -> str:
    name = f"{resource['resourceType']}/{resource['id']}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def render_bundle(kb: KnowledgeBase, results: list[SampleResult]) -> str:
    issued = datetime.now(UTC).isoformat(timespec="seconds")
    entries = [
        {"fullUrl": _full_url(resource), "resource": resource}
        for res in results
        for resource in sample_resources(kb, res, issued)
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": issued, "entry": entries}
    return dumps(bundle, indent=2, ensure_ascii=False) + "\n"
