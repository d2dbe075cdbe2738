"""The de-identified research export: consent-gated, then HIPAA Safe Harbor.

For each stored patient, the consent function is asked for research disclosure (purpose
HRESCH, action disclose); without a consent that permits it the patient is left out (research
is denied by default). The patient's resources are the record's (Patient, Condition,
MedicationStatement, Observation) and, when a plan exists, the plan's FHIR resources; those
carrying genomic results are disclosed only when the consent also permits data labelled GDIS,
the plan's mental-health content (section and safety-flag findings) only when it permits PSY.
Everything then goes through :func:`precisionrx.security.deid.deidentify_resources`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from precisionrx.security.tokens import Identity
from precisionrx.service.state import GENOMIC, PSYCHIATRIC, ServiceState, consent_actor

#: Markers of genomic content in a FHIR resource (Genomics Reporting IG profiles and LOINC
#: codes: 84413-4 genotype, 69548-6 variant, 51969-4 genetic report, 81247-9 master panel).
_GENOMIC_MARKERS = (
    "genomics-reporting",
    "84413-4",
    "69548-6",
    "51969-4",
    "81247-9",
    "tbd-codes-cs",
    "53040-2",
)


def is_genomic(resource: dict[str, Any]) -> bool:
    text = json.dumps(resource)
    return any(m in text for m in _GENOMIC_MARKERS)


def record_resources(patient_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored record as FHIR R4 resources (what a researcher may receive of it)."""
    subject = {"reference": f"Patient/{patient_id}"}
    patient: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
    if record.get("name"):
        patient["name"] = [{"text": record["name"]}]
    sex = (record.get("demographics") or {}).get("sex_at_birth")
    if sex in ("female", "male"):
        patient["gender"] = sex
    out = [patient]
    for i, c in enumerate(record.get("conditions", [])):
        cond: dict[str, Any] = {
            "resourceType": "Condition",
            "id": f"{patient_id}-c{i}",
            "subject": subject,
            "code": {"text": c.get("name")},
        }
        if c.get("code"):
            cond["code"]["coding"] = [{"system": c.get("system"), "code": c["code"]}]
        out.append(cond)
    for i, m in enumerate(record.get("medications", [])):
        med: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": f"{patient_id}-m{i}",
            "status": "active",
            "subject": subject,
            "medicationCodeableConcept": {"text": m.get("name")},
        }
        if m.get("rxnorm"):
            med["medicationCodeableConcept"]["coding"] = [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": m["rxnorm"]}
            ]
        if m.get("dose"):
            med["dosage"] = [{"text": m["dose"]}]
        out.append(med)
    for i, v in enumerate(record.get("measurements", [])):
        out.append(
            {
                "resourceType": "Observation",
                "id": f"{patient_id}-o{i}",
                "status": "final",
                "subject": subject,
                "code": {"text": v.get("name")},
                "valueQuantity": {"value": v.get("value"), "unit": v.get("unit")},
            }
        )
    return out


def _plan_resources(
    state: ServiceState, patient_id: str, psychiatric: Callable[[], bool]
) -> list[dict[str, Any]]:
    """The plan's FHIR resources; its mental-health content (the section and its findings)
    only when ``psychiatric()`` says the consent permits data labelled PSY."""
    found = state.store.latest_plan(patient_id)
    if found is None:
        return []
    from precisionrx.plan.model import TreatmentPlan
    from precisionrx.report.fhir.plan import plan_bundle

    plan = TreatmentPlan.model_validate_json(found[1])
    if plan.mental_health is not None and not psychiatric():
        kept = [f for f in plan.findings if f.domain != "mental_health"]
        plan = plan.model_copy(update={"mental_health": None, "findings": kept})
    bundle = json.loads(plan_bundle(plan, state.kb))
    return [
        e["resource"]
        for e in bundle.get("entry", [])
        if e["resource"].get("resourceType") != "Patient"
    ]


def export_lines(state: ServiceState, who: Identity, today: date) -> Iterator[dict[str, Any]]:
    """The de-identified resources of every patient whose consent permits research use."""
    from precisionrx.security.deid import deidentify_resources

    key = state.store.keys.deid
    actor = consent_actor(who)

    def research(pid: str, resource_type: str, labels: tuple[str, ...]) -> bool:
        """Does the patient's consent permit disclosing this data for research (HRESCH)?"""
        decision = state.decision(pid, actor=actor, purpose="HRESCH", action="disclose",
                                  resource_type=resource_type, labels=labels)  # fmt: skip
        return bool(decision.decision == "PERMIT")

    for pid in state.store.all_patient_ids():
        base = state.decision(
            pid,
            actor=actor,
            purpose="HRESCH",
            action="disclose",
            resource_type="Patient",
            labels=(),
        )
        state.audit(
            who,
            "consent.decide",
            patient_id=pid,
            purpose="HRESCH",
            outcome="success" if base.decision == "PERMIT" else "denied",
            detail=f"export: consent {base.decision}",
        )
        if base.decision != "PERMIT":
            continue
        row = state.store.get_patient(pid)
        if row is None:
            continue

        def psychiatric(pid: str = pid) -> bool:
            return research(pid, "Observation", PSYCHIATRIC)

        resources = record_resources(pid, row.record) + _plan_resources(state, pid, psychiatric)
        genomic = research(pid, "Observation", GENOMIC)
        keep = [r for r in resources if genomic or not is_genomic(r)]
        yield from deidentify_resources(keep, key=key, reference_date=today)
