"""``POST /api/v1/patients/{id}/medication-check``: "what if I prescribe X?"

The prescribing engine on the patient's stored pharmacogenomic results (the newest plan) with
the drug added to the medicines on record: the same check and card as the CDS Hooks order-select
service (plan/cds_check.py, report/cds/cards.py), so the effective phenotype after
phenoconversion by the patient's current medicines is used. The web page's medication check
calls this route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from precisionrx.security.tokens import Identity, Role
from precisionrx.service.auth import identity, roles
from precisionrx.service.routes_patients import purpose_of, state_of
from precisionrx.service.state import GENOMIC

router = APIRouter(tags=["plans"])
Who = Annotated[Identity, Depends(identity)]


class MedicationCheckIn(BaseModel):
    drug: str = Field(
        min_length=1,
        max_length=200,
        description="A drug name, brand or RxNorm clinical-drug name (`codeine`, `Plavix`, "
        "`clopidogrel 75 MG Oral Tablet`).",
    )
    rxnorm: str | None = Field(default=None, pattern=r"^\d{1,10}$")


class MedicationCheckOut(BaseModel):
    drug: str
    #: The guideline drug it was matched to, or None (no CPIC/DPWG guideline, or not a medicine
    #: the knowledge base knows).
    matched_drug: str | None
    #: The medication review's status: action | caution | ok | no_guidance | unknown.
    status: str
    #: The CDS Hooks card the order would get (None: no card, as at order entry).
    card: dict[str, Any] | None
    message: str


@router.post(
    "/patients/{patient_id}/medication-check",
    response_model=MedicationCheckOut,
    responses={404: {"description": "no such patient, or no plan yet"}},
    **roles(Role.clinician),
)
def medication_check(
    patient_id: str, body: MedicationCheckIn, request: Request, who: Who
) -> MedicationCheckOut:
    """Check a drug against the patient's stored pharmacogenomic results and current medicines."""
    from precisionrx.io.cds_orders import OrderedMedication
    from precisionrx.plan.cds_check import check, order_drug
    from precisionrx.records import SampleResult
    from precisionrx.report.cds.cards import (
        CardInputs,
        drug_card,
        review_of,
    )
    from precisionrx.service.cds_sources import plan_genotypes

    state = state_of(request)
    with state.store.session():
        state.reachable(who, patient_id, "medication.check")
        purpose = purpose_of(request, who)
        state.consent_gate(who, patient_id, purpose=purpose, action="medication.check",
                           consent_action="use", resource_type="MedicationRequest",
                           labels=GENOMIC)  # fmt: skip
        found = state.store.latest_plan(patient_id)
        row = state.store.get_patient(patient_id)
    if found is None or row is None:
        raise HTTPException(404, "no plan yet: the check uses the plan's pharmacogenomic results")
    plan_id, text, _created = found
    genotypes = plan_genotypes(state, plan_id, text) or SampleResult(
        input="no results on file", sample=patient_id
    )
    order = OrderedMedication("MedicationRequest/medication-check", "MedicationRequest",
                              body.drug.strip(), body.rxnorm, "draft")  # fmt: skip
    current = [
        OrderedMedication(
            None,
            "MedicationStatement",
            str(m.get("name", "")),
            m.get("rxnorm"),
            str(m.get("status", "active")),
        )
        for m in row.record.get("medications") or []
        if isinstance(m, dict) and m.get("name") and m.get("status", "active") == "active"
    ]
    drug = order_drug(state.kb, order)
    card = None
    status = "unknown"
    if drug is not None:
        result = check(state.kb, genotypes, [order], current)  # no swap: no alternatives
        review = review_of(result, drug)
        status = review.status if review else "unknown"
        inputs = CardInputs(state.kb, f"medication-check:{plan_id}", patient_id,
                            f"from the plan {plan_id}")  # fmt: skip
        card = drug_card(inputs, result, order, drug, suggest=False)  # nothing is ordered
    message = (
        f"{body.drug}: no CPIC/DPWG guideline, or not a medicine the knowledge base knows"
        if drug is None else
        f"{drug}: {card['summary']}" if card else
        f"{drug}: the guideline advice for this patient is the standard one"
    )  # fmt: skip
    state.audit(who, "medication.check", patient_id=patient_id, purpose=purpose,
                detail=f"{drug or 'unmatched'}: {status}")  # fmt: skip
    return MedicationCheckOut(drug=body.drug, matched_drug=drug, status=status, card=card,
                              message=message)  # fmt: skip
