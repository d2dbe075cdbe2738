"""CDS Hooks 2.0 services at ``/cds-services`` (docs/cds-hooks.md).

- ``GET /cds-services``: discovery of ``pgx-order-select``, ``pgx-order-sign`` and
  ``pgx-patient-view`` with their prefetch templates (:data:`PREFETCH`).
- ``POST /cds-services/{id}``: the cards (report/cds/cards.py) for the hook's orders, or for
  the patient's current medications (patient-view).
- ``POST /cds-services/{id}/feedback``: the client's feedback on cards, audited.

Every call needs a client JWT (service/cds_clients.py) and is audited; without
``serve --cds-trusted`` every call is refused (401).

Data, in order (CDS Hooks 2.0 "Prefetch": a key the client could not fill is left out; a key
with no data is ``null``):

1. genotypes: the ``genotypes`` and ``implications`` prefetch (FHIR Genomics Reporting
   Observations); else the patient's stored precisionrx result (a client trusted for the
   patient's organisation, consent permitting); else, when prefetch left the keys out, the same
   queries on ``fhirServer``. Keys sent as ``null`` (or empty results) mean no result on file:
   the cards suggest testing. When none of this can be had: **412**.
2. current medications: the ``medications`` prefetch, else ``fhirServer``; when they cannot be
   had the cards say that phenoconversion by co-medication was not checked.
3. draft orders: ``context.draftOrders`` (order-select honours ``context.selections``), read
   leniently per resource (io/cds_orders.py): an entry that is not a readable medication order
   is skipped, never a 400.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from precisionrx.errors import PrecisionRxError
from precisionrx.io.cds_orders import (
    OrderedMedication,
    OrdersRead,
    current_medications,
    draft_orders,
    selected,
)
from precisionrx.io.cds_prefetch import OMIT_KEY, resolve_prefetch
from precisionrx.plan.cds_check import check, fhir_genotypes
from precisionrx.records import SampleResult
from precisionrx.report.cds.cards import (
    CardInputs,
    alternatives_to_check,
    drug_card,
    order_cards,
    summary_card,
)
from precisionrx.service.cds_clients import CdsClient
from precisionrx.service.cds_sources import Unavailable, fetch, stored_genotypes
from precisionrx.service.routes_patients import state_of
from precisionrx.service.state import ServiceState

router = APIRouter(tags=["cds-hooks"], prefix="/cds-services")

GENOMICS = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
#: Prefetch templates of every service (CDS Hooks 2.0 "Prefetch Template"): the patient, the
#: active medication orders, Genomics Reporting Genotype Observations (LOINC 84413-4, HLA
#: genotypes included) and TherapeuticImplication Observations (phenotypes).
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "genotypes": "Observation?patient={{context.patientId}}&code=http://loinc.org|84413-4",
    "implications": "Observation?patient={{context.patientId}}"
    f"&code={GENOMICS}|therapeutic-implication",
}
GENOTYPE_KEYS = ("genotypes", "implications")

#: id -> (hook, title, description)
SERVICES: dict[str, tuple[str, str, str]] = {
    "pgx-order-select": (
        "order-select",
        "Pharmacogenomic check of selected medications",
        "Checks each selected medication order against the patient's pharmacogenomic "
        "results (CPIC and DPWG guidelines), with the effective phenotype after "
        "phenoconversion by current medications; suggests the guideline's alternative.",
    ),
    "pgx-order-sign": (
        "order-sign",
        "Pharmacogenomic check before signing",
        "The same check on every medication order about to be signed.",
    ),
    "pgx-patient-view": (
        "patient-view",
        "Pharmacogenomic results on file",
        "The patient's pharmacogenomic results, and current medications whose guideline "
        "advice differs for this patient.",
    ),
}
USAGE = (
    "Requires a client JWT (ES384 or RS384) from an issuer the service trusts. Decision "
    "support only: every card names its guideline and version."
)


def _refuse(status: int, detail: str) -> HTTPException:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return HTTPException(status, detail, headers=headers)


def _authenticate(request: Request, state: ServiceState, *paths: str) -> CdsClient:
    """The client, when its JWT names one of ``paths`` (under the public URL) as audience."""
    base = (state.settings.public_url or str(request.base_url)).rstrip("/")
    client, reason = None, "no audience"
    for path in paths:
        client, reason = state.cds.check(request.headers.get("authorization"), base + path)
        if client is not None or "aud" not in reason:
            break
    if client is None:
        _audit(state, "cds:unauthenticated", "cds.login", "denied", reason)
        raise _refuse(401, f"CDS client not authenticated: {reason}")
    return client


#: OpenAPI marks: no role of the API's own tokens; a CDS Hooks client JWT instead.
CDS_AUTH = {"x-required-roles": [], "x-authentication": "CDS Hooks 2.0 client JWT"}


@router.get(
    "",
    responses={401: {"description": "the service trusts no CDS client"}},
    openapi_extra=CDS_AUTH,
)
def discovery(request: Request) -> dict[str, Any]:
    """CDS Hooks discovery: the services and their prefetch templates. Open when the service
    trusts CDS clients (a JWT sent is still checked); 401 when it trusts none."""
    state = state_of(request)
    if not state.cds.enabled:
        raise _refuse(401, "this service trusts no CDS client (serve --cds-trusted)")
    if request.headers.get("authorization"):
        _authenticate(request, state, "/cds-services")
    return {
        "services": [
            {"hook": hook, "title": title, "description": text, "id": sid,
             "prefetch": dict(PREFETCH), "usageRequirements": USAGE}
            for sid, (hook, title, text) in SERVICES.items()
        ]
    }  # fmt: skip


def _audit(
    state: ServiceState, actor: str, action: str, outcome: str, detail: str,
    patient_id: str | None = None,
) -> None:  # fmt: skip
    state.store.audit(actor=actor[:200], role="cds-client", patient_id=patient_id, action=action,
                      purpose="TREAT", outcome=outcome, detail=detail[:200])  # fmt: skip


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HTTPException(400, f"{what} must be a JSON object")
    return value


def _prefetched(
    state: ServiceState, body: dict[str, Any], context: dict[str, Any], key: str
) -> tuple[bool, Any]:
    """(had, value): the prefetch value of ``key`` (``None`` = no data), or what the client's
    FHIR server returns for the key's query; (False, None) when neither can be had."""
    prefetch = body.get("prefetch")
    if isinstance(prefetch, dict) and key in prefetch:
        return True, prefetch[key]
    query = resolve_prefetch(PREFETCH[key], context, user_id=None)
    if query == OMIT_KEY or "fhirServer" not in body:
        return False, None
    try:
        got = fetch(body.get("fhirServer"), body.get("fhirAuthorization"), query,
                    state.settings.max_json_bytes)  # fmt: skip
    except Unavailable:
        return False, None
    return True, got


def _genotypes(
    state: ServiceState, client: CdsClient, body: dict[str, Any], context: dict[str, Any],
    patient_id: str,
) -> tuple[SampleResult, str]:  # fmt: skip
    """The genotypes to check against and where they came from; 412 when none can be had."""
    prefetch = body.get("prefetch")
    sent = {k: prefetch[k] for k in GENOTYPE_KEYS if isinstance(prefetch, dict) and k in prefetch}
    values = [(v, f"prefetch.{k}") for k, v in sent.items() if v is not None]
    if values:
        found = _read_fhir(state, values, patient_id)
        if found is not None:
            return found, "from the EHR's genomic results"
    stored = stored_genotypes(state, client, patient_id)
    if stored is not None:
        return stored, "from the patient's precisionrx plan"
    had = bool(sent)
    if not sent:
        fetched = [_prefetched(state, body, context, k) for k in GENOTYPE_KEYS]
        had = any(ok for ok, _v in fetched)
        values = [(v, f"fhirServer {k}") for (ok, v), k in zip(fetched, GENOTYPE_KEYS, strict=True)
                  if ok and v is not None]  # fmt: skip
        found = _read_fhir(state, values, patient_id) if values else None
        if found is not None:
            return found, "from the EHR's genomic results"
    if not had:
        raise HTTPException(
            412,
            "the patient's genomic results could not be had: send the 'genotypes' and "
            "'implications' prefetch (null when there are none), or fhirServer with "
            "fhirAuthorization",
        )
    return SampleResult(input="no results on file", sample=patient_id), "none on file"


def _read_fhir(
    state: ServiceState, values: list[tuple[Any, str]], patient_id: str
) -> SampleResult | None:
    try:
        return fhir_genotypes(state.kb, values, patient_id).result
    except PrecisionRxError as exc:
        # contradictory or several people's results: never a card from them
        raise HTTPException(412, f"the genomic results cannot be used: {exc.message}") from None


def _current(
    state: ServiceState, body: dict[str, Any], context: dict[str, Any]
) -> OrdersRead | None:
    had, value = _prefetched(state, body, context, "medications")
    return current_medications(value, "prefetch.medications") if had else None


def _cards(
    state: ServiceState, inputs: CardInputs, genotypes: SampleResult, hook: str,
    context: dict[str, Any], current: list[OrderedMedication],
) -> list[dict[str, Any]]:  # fmt: skip
    kb = state.kb
    if hook == "patient-view":
        result = check(kb, genotypes, current, [])
        cards = [c for m in current if (c := _current_card(inputs, result, m))]
        summary = summary_card(inputs, genotypes)
        return ([summary] if summary else []) + cards
    orders = draft_orders(context).medications
    if hook == "order-select":
        orders = selected(orders, context.get("selections"))
    drafts = {o.reference for o in orders if o.reference}
    others = [m for m in current if m.reference not in drafts]
    result = check(kb, genotypes, orders, others, alternatives_to_check(kb, orders))
    return order_cards(inputs, result, orders)


def _current_card(
    inputs: CardInputs, result: SampleResult, med: OrderedMedication
) -> dict[str, Any] | None:
    from precisionrx.plan.cds_check import order_drug

    drug = order_drug(inputs.kb, med)
    if drug is None:
        return None
    return drug_card(inputs, result, med, drug, suggest=False)  # patient-view orders nothing


@router.post(
    "/{service_id}",
    responses={
        400: {"description": "not a CDS Hooks request"},
        401: {"description": "no valid client JWT"},
        404: {"description": "no such service"},
        412: {"description": "the patient's genomic results could not be had"},
    },
    openapi_extra=CDS_AUTH,
)
def call_service(
    service_id: str, request: Request, body: Annotated[Any, Body()] = None
) -> JSONResponse:
    """Run a hook: ``{"cards": [...]}``."""
    state = state_of(request)
    if service_id not in SERVICES:
        raise HTTPException(404, f"no CDS service {service_id!r}")
    client = _authenticate(request, state, f"/cds-services/{service_id}")
    hook = SERVICES[service_id][0]
    body = _object(body, "the request")
    if body.get("hook") != hook:
        raise HTTPException(
            400, f"this service answers the {hook!r} hook, not {body.get('hook')!r}"
        )
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise HTTPException(400, "hookInstance must be a non-empty string")
    context = _object(body.get("context"), "context")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id:
        raise HTTPException(400, "context.patientId must be a non-empty string")
    actor = f"cds:{client.issuer}"[:200]
    try:
        genotypes, origin = _genotypes(state, client, body, context, patient_id)
    except HTTPException as exc:
        _audit(state, actor, f"cds.{hook}", "failed", str(exc.detail))
        raise
    current = _current(state, body, context)
    notes = () if current is not None else (
        "The patient's current medications were not available: phenoconversion by "
        "co-medication was not checked.",
    )  # fmt: skip
    inputs = CardInputs(state.kb, body["hookInstance"], patient_id, origin, notes)
    cards = _cards(state, inputs, genotypes, hook, context, current.medications if current else [])
    state.store.audit(
        actor=actor,
        role="cds-client",
        patient_id=patient_id,  # by keyed pseudonym, stored or not
        action=f"cds.{hook}",
        purpose="TREAT",
        outcome="success",
        detail=f"{len(cards)} card(s); genotypes {origin}"[:200],
    )
    return JSONResponse({"cards": cards})


@router.post(
    "/{service_id}/feedback",
    responses={400: {"description": "not CDS Hooks feedback"}, 401: {"description": "no JWT"}},
    openapi_extra=CDS_AUTH,
)
def feedback(
    service_id: str, request: Request, body: Annotated[Any, Body()] = None
) -> dict[str, Any]:
    """CDS Hooks feedback: each card's outcome (accepted / overridden, with the reason) is
    audited; nothing else changes."""
    state = state_of(request)
    if service_id not in SERVICES:
        raise HTTPException(404, f"no CDS service {service_id!r}")
    # the feedback endpoint's own URL as audience, or the service's (clients differ)
    client = _authenticate(
        request, state, f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}"
    )
    items = _object(body, "the feedback").get("feedback")
    if not isinstance(items, list) or not items:
        raise HTTPException(400, "feedback must be a non-empty array")
    for n, item in enumerate(items):
        entry = _object(item, f"feedback[{n}]")
        outcome = entry.get("outcome")
        if not isinstance(entry.get("card"), str) or outcome not in ("accepted", "overridden"):
            raise HTTPException(400, f"feedback[{n}] needs a card uuid and an outcome "
                                "accepted | overridden")  # fmt: skip
        reason = entry.get("overrideReason")
        code = ""
        if isinstance(reason, dict) and isinstance(reason.get("reason"), dict):
            code = str(reason["reason"].get("code", ""))
        detail = f"{service_id} card {entry['card']}: {outcome} {code}"
        _audit(state, f"cds:{client.issuer}", "cds.feedback", "success", detail)
    return {}
