"""Plans and jobs: ``POST /patients/{id}/plans`` starts a job; the job says when it is done;
``GET /patients/{id}/plans/latest`` gives the plan as JSON, HTML or a FHIR Bundle."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from precisionrx.security.tokens import Identity, Role
from precisionrx.service.auth import identity, roles
from precisionrx.service.routes_patients import purpose_of, state_of
from precisionrx.service.state import GENOMIC, PSYCHIATRIC

router = APIRouter(tags=["plans"])
Who = Annotated[Identity, Depends(identity)]


class JobStarted(BaseModel):
    job_id: str
    status_url: str


class JobStatus(BaseModel):
    job_id: str
    status: str
    progress: float
    result_url: str | None
    error: str | None


class PlanFormat(StrEnum):
    json = "json"
    html = "html"
    fhir = "fhir"


@router.post(
    "/patients/{patient_id}/plans",
    status_code=202,
    response_model=JobStarted,
    **roles(Role.clinician),
)
def start_plan(patient_id: str, request: Request, response: Response, who: Who) -> JobStarted:
    """Regenerate the patient's plan from everything on file: 202 with the job to follow."""
    state = state_of(request)
    state.reachable(who, patient_id, "plan.request")
    purpose = purpose_of(request, who)
    state.consent_gate(
        who,
        patient_id,
        purpose=purpose,
        action="plan.request",
        consent_action="use",
        resource_type="CarePlan",
        labels=GENOMIC,
    )
    job = state.store.create_job(patient_id, "plan", who.subject[:64])
    state.audit(who, "plan.request", patient_id=patient_id, purpose=purpose, detail=f"job {job.id}")
    state.runner.submit(job.id)
    url = f"/api/v1/jobs/{job.id}"
    response.headers["Location"] = url
    return JobStarted(job_id=job.id, status_url=url)


@router.get("/jobs/{job_id}", response_model=JobStatus, **roles(Role.clinician, Role.patient))
def job_status(job_id: str, request: Request, who: Who) -> JobStatus:
    """A job's state: queued, running, done (``result_url``) or failed (``error``)."""
    state = state_of(request)
    job = state.store.get_job(job_id)
    if job is None:
        raise HTTPException(404, "no such job")
    state.reachable(who, job.patient_id, "job.read")
    result = f"/api/v1/patients/{job.patient_id}/plans/latest" if job.status == "done" else None
    return JobStatus(
        job_id=job.id, status=job.status, progress=job.progress, result_url=result, error=job.error
    )


#: What a patient's own plan JSON keeps: the plain-language view and what frames it.
PATIENT_FIELDS = (
    "precisionrx_version",
    "generated",
    "notice",
    "patient",
    "patient_summary",
    "knowledge_bases",
)


#: The plan document's ``mental_health`` key with a value other than null. Only the plan's
#: top level has this key (a finding's domain "mental_health" is a value, never followed by a
#: colon), so a text search answers without parsing the whole plan on every read.
_MENTAL_HEALTH = re.compile(r'"mental_health"\s*:(?!\s*null\b)')


def has_mental_health(plan_json: str) -> bool:
    """Whether a stored plan has a mental-health section (security label PSY).

    >>> has_mental_health('{"mental_health": null}'), has_mental_health('{"mental_health": {}}')
    (False, True)
    >>> has_mental_health('{"findings": [{"domain": "mental_health"}]}')
    False
    """
    return _MENTAL_HEALTH.search(plan_json) is not None


@router.get(
    "/patients/{patient_id}/plans/latest",
    responses={
        200: {
            "content": {"application/json": {}, "text/html": {}, "application/fhir+json": {}},
            "description": "The newest plan (JSON, HTML report or FHIR Bundle).",
        },
        404: {"description": "no such patient, or no plan yet"},
    },
    **roles(Role.clinician, Role.patient),
)
def latest_plan(
    patient_id: str, request: Request, who: Who, format: PlanFormat | None = None
) -> Response:
    """The newest plan: JSON (default), the HTML report (``Accept: text/html`` or
    ``?format=html``) or a FHIR R4 Bundle (``?format=fhir``). ``X-Plan-Stale: true`` when data
    arrived after it was made. A patient gets the plain-language view of their own plan. A plan
    with a mental-health section also needs consent to data labelled PSY."""
    state = state_of(request)
    with state.store.session():  # the reads below share one database connection
        state.reachable(who, patient_id, "plan.read")
        purpose = purpose_of(request, who)
        gate = {"purpose": purpose, "action": "plan.read", "consent_action": "access",
                "resource_type": "CarePlan"}  # fmt: skip
        state.consent_gate(who, patient_id, labels=GENOMIC, **gate)
        found = state.store.latest_plan(patient_id)
        if found is None:
            raise HTTPException(404, "no plan yet: POST /api/v1/patients/{id}/plans")
        plan_id, text, created = found
        if has_mental_health(text):  # psychiatric content: the consent must also permit PSY
            state.consent_gate(who, patient_id, labels=GENOMIC + PSYCHIATRIC, **gate)
        stale = state.store.plan_stale(patient_id)
    headers = {
        "X-Plan-Id": plan_id,
        "X-Plan-Created": created.isoformat(),
        "X-Plan-Stale": "true" if stale else "false",
    }
    fmt = format or (
        PlanFormat.html if "text/html" in request.headers.get("accept", "") else PlanFormat.json
    )
    state.audit(who, "plan.read", patient_id=patient_id, purpose=purpose, detail=fmt.value)
    if fmt is PlanFormat.json and who.role is not Role.patient:
        return Response(text, media_type="application/json", headers=headers)
    from precisionrx.plan.model import TreatmentPlan

    plan = TreatmentPlan.model_validate_json(text)
    if fmt is PlanFormat.html:
        from precisionrx.report.html import page

        return HTMLResponse(
            page("plan.html.j2", {"plan": plan.model_dump(mode="json")}), headers=headers
        )
    if fmt is PlanFormat.fhir:
        from precisionrx.report.fhir.plan import plan_bundle

        return Response(
            plan_bundle(plan, state.kb), media_type="application/fhir+json", headers=headers
        )
    data: dict[str, Any] = plan.model_dump(mode="json", include=set(PATIENT_FIELDS))
    return JSONResponse(data, headers=headers)
