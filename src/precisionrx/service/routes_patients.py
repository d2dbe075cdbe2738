"""Patients, their files and their consents (``/api/v1/patients``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    Depends,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from pydantic import BaseModel, Field

from precisionrx.errors import PrecisionRxError
from precisionrx.records.patient import PatientRecord
from precisionrx.security.tokens import Identity, Role
from precisionrx.service.auth import identity, roles
from precisionrx.service.state import GENOMIC, PSYCHIATRIC, ServiceState, consent_actor
from precisionrx.service.uploads import FileKind, safe_suffix, validate

router = APIRouter(tags=["patients"])
Who = Annotated[Identity, Depends(identity)]
PURPOSE_HEADER = "X-Purpose-Of-Use"

#: Upload kinds whose content is genomic (security label GDIS) or psychiatric (PSY). A FHIR
#: Bundle may carry a lab's Genomics Reporting results, so it is labelled GDIS.
GENOMIC_KINDS = {"germline_vcf", "tumor_maf", "tumor_vcf", "cna", "fusions", "outside_calls",
                 "fhir_bundle"}  # fmt: skip
PSYCHIATRIC_KINDS = {"questionnaires"}


def state_of(request: Request) -> ServiceState:
    service: ServiceState = request.app.state.service
    return service


def purpose_of(request: Request, who: Identity) -> str:
    """The purpose of use the request states (default TREAT); ETREAT is break-glass."""
    purpose = (request.headers.get(PURPOSE_HEADER) or "TREAT").strip().upper()
    if who.role is Role.clinician and purpose not in ("TREAT", "ETREAT"):
        raise HTTPException(400, f"{PURPOSE_HEADER} must be TREAT or ETREAT for a clinician")
    return purpose


class Created(BaseModel):
    id: str


class FileInfo(BaseModel):
    file_id: str
    kind: str
    size: int
    created: str
    summary: str | None = None


class PatientOut(BaseModel):
    id: str
    record: dict[str, Any]
    plan_stale: bool
    version: int
    created: str
    updated: str
    files: list[FileInfo]


class PatientListItem(BaseModel):
    id: str
    plan_stale: bool
    updated: str
    #: The newest plan's critical findings, those of them the previous plan did not have, and
    #: its safety flags (plan/attention.py); only what the patient's consent lets this reader
    #: see for treatment (data labelled GDIS, and PSY for mental-health items). Empty lists
    #: without a plan.
    critical: list[str] = Field(default_factory=list)
    new_critical: list[str] = Field(default_factory=list)
    safety: list[str] = Field(default_factory=list)


def _checked_record(record: PatientRecord) -> dict[str, Any]:
    """The record as stored: validated like a patient file; file paths are refused (files
    are uploaded, never read from the server's disk)."""
    from precisionrx.io.patient_file import check_plausible

    if record.genomic_inputs or record.monitoring:
        raise HTTPException(
            422,
            "genomic_inputs and monitoring name files on disk: upload "
            "the files to /api/v1/patients/{id}/files instead",
        )
    if record.effects or isinstance(record.outside_calls, str):
        # a model file is code-bearing (a pickle): the service never loads one a request names
        raise HTTPException(
            422,
            "effects and a file name in outside_calls name files on the server's disk: "
            "treatment-effect models are not accepted through the service; give outside "
            "calls inline ([{gene, diplotype}])",
        )
    try:
        check_plausible(record, Path("request body"))
    except PrecisionRxError as exc:
        raise HTTPException(422, exc.render()) from exc
    out: dict[str, Any] = record.model_dump(
        mode="json", exclude_none=True, exclude={"genomic_inputs", "monitoring"}
    )
    return out


@router.post("/patients", status_code=201, response_model=Created, **roles(Role.clinician))
def create_patient(record: PatientRecord, request: Request, who: Who) -> Created:
    """Create a patient from the patient schema (the same fields as ``precisionrx plan``'s
    patient file, without file paths). The patient belongs to the clinician's organisation."""
    state = state_of(request)
    row = state.store.create_patient(_checked_record(record), who.organisation)
    state.audit(who, "patient.create", patient_id=row.id, purpose="TREAT")
    return Created(id=row.id)


@router.get("/patients", response_model=list[PatientListItem], **roles(Role.clinician))
def list_patients(
    request: Request,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[PatientListItem]:
    """The patients of the clinician's organisation (ids and plan state only)."""
    state = state_of(request)
    rows = state.store.list_patients(who.organisation, limit=limit, offset=offset)
    out = []
    withheld = 0
    found = state.store.attention_and_consents([pid for pid, _, _ in rows])
    for pid, stale, updated in rows:
        item = PatientListItem(id=pid, plan_stale=stale, updated=updated.isoformat())
        attention, consents = found.get(pid, (None, []))
        if attention is not None:
            shown = _visible_attention(state, who, pid, attention, consents)
            withheld += shown is None
            if shown is not None:
                item = item.model_copy(update=shown)
        out.append(item)
    detail = f"{len(rows)} patient(s)"
    if withheld:
        detail += f"; flags withheld by consent for {withheld}"
    state.audit(who, "patient.search", detail=detail)
    return out


def _visible_attention(
    state: ServiceState,
    who: Identity,
    patient_id: str,
    attention: dict[str, Any],
    consents: list[dict[str, Any]],
) -> dict[str, list[str]] | None:
    """The attention items this clinician may see (None: the consent withholds the plan's
    genetic data, and with it every flag, as it withholds the plan)."""
    actor = consent_actor(who)

    def permitted(labels: tuple[str, ...]) -> bool:
        decision = state.decision(
            patient_id,
            actor=actor,
            purpose="TREAT",
            action="access",
            resource_type="CarePlan",
            labels=labels,
            stored=consents,
        )
        return bool(decision.decision == "PERMIT")

    if not permitted(GENOMIC):
        return None
    items = [*attention.get("critical", []), *attention.get("safety", [])]
    psy = any("PSY" in i.get("labels", ()) for i in items) and permitted(GENOMIC + PSYCHIATRIC)

    def texts(kind: str, keys: set[str] | None = None) -> list[str]:
        return [str(i["text"]) for i in attention.get(kind, [])
                if (psy or "PSY" not in i.get("labels", ()))
                and (keys is None or i.get("key") in keys)]  # fmt: skip

    return {"critical": texts("critical"),
            "new_critical": texts("critical", set(attention.get("new_critical", []))),
            "safety": texts("safety")}  # fmt: skip


def _labels(files: list[FileInfo]) -> tuple[str, ...]:
    """Security labels of a listing of these files: even a file's kind says something (that
    a genome or a psychiatric questionnaire is on file), so a listing carries GDIS when a
    genomic file is present and PSY when a psychiatric one is."""
    kinds = {f.kind for f in files}
    return (GENOMIC if kinds & GENOMIC_KINDS else ()) + (
        PSYCHIATRIC if kinds & PSYCHIATRIC_KINDS else ()
    )


def _files(state: ServiceState, patient_id: str) -> list[FileInfo]:
    return [
        FileInfo(
            file_id=f.id,
            kind=f.kind,
            size=f.size,
            created=f.created_at.isoformat(),
            summary=f.meta.get("summary"),
        )
        for f in state.store.list_files(patient_id)
    ]


def _patient_out(
    state: ServiceState, patient_id: str, files: list[FileInfo] | None = None
) -> PatientOut:
    row = state.store.get_patient(patient_id)
    if row is None:
        raise HTTPException(404, "no such patient")
    return PatientOut(
        id=row.id,
        record=row.record,
        plan_stale=row.plan_stale,
        version=row.version,
        created=row.created_at.isoformat(),
        updated=row.updated_at.isoformat(),
        files=_files(state, patient_id) if files is None else files,
    )


@router.get(
    "/patients/{patient_id}", response_model=PatientOut, **roles(Role.clinician, Role.patient)
)
def read_patient(patient_id: str, request: Request, who: Who) -> PatientOut:
    """The patient's record, plan state and files (a patient: their own record only)."""
    state = state_of(request)
    with state.store.session():  # the reads below share one database connection
        state.reachable(who, patient_id, "patient.read")
        purpose = purpose_of(request, who)
        files = _files(state, patient_id)  # their kinds decide the security labels
        state.consent_gate(
            who,
            patient_id,
            purpose=purpose,
            action="patient.read",
            consent_action="access",
            resource_type="Patient",
            labels=_labels(files),
        )
        out = _patient_out(state, patient_id, files)
    state.audit(who, "patient.read", patient_id=patient_id, purpose=purpose)
    return out


@router.put("/patients/{patient_id}", response_model=PatientOut, **roles(Role.clinician))
def update_patient(
    patient_id: str, record: PatientRecord, request: Request, who: Who
) -> PatientOut:
    """Replace the patient's record (same schema as create); the plan becomes stale."""
    state = state_of(request)
    state.reachable(who, patient_id, "patient.update")
    purpose = purpose_of(request, who)
    state.store.update_patient(patient_id, _checked_record(record))
    state.audit(who, "patient.update", patient_id=patient_id, purpose=purpose)
    return _patient_out(state, patient_id)


@router.delete(
    "/patients/{patient_id}",
    status_code=204,
    response_class=Response,
    **roles(Role.clinician, Role.patient),
)
def erase_patient(patient_id: str, request: Request, who: Who) -> Response:
    """Erasure (GDPR art. 17): the patient's data key is destroyed, so their records and files
    cannot be read again, even from a backup of the database; later reads answer 404."""
    state = state_of(request)
    state.reachable(who, patient_id, "patient.erase")
    state.store.erase_patient(patient_id)
    state.audit(who, "patient.erase", patient_id=patient_id)
    return Response(status_code=204)


@router.post(
    "/patients/{patient_id}/files",
    status_code=201,
    response_model=FileInfo,
    responses={
        413: {"description": "file too large"},
        422: {"description": "the file does not read as its kind"},
    },
    **roles(Role.clinician, Role.patient),
)
def upload_file(
    patient_id: str,
    request: Request,
    who: Who,
    file: Annotated[UploadFile, File(description="The file.")],
    kind: Annotated[FileKind, Form(description="What the file is.")],
    sample: Annotated[str | None, Form()] = None,
    genome_build: Annotated[str | None, Form(pattern="^GRCh3[78]$")] = None,
    tumor_type: Annotated[str | None, Form(max_length=40)] = None,
    msi: Annotated[str | None, Form(max_length=20)] = None,
    callable_mb: Annotated[float | None, Form(gt=0, le=4000)] = None,
    timezone: Annotated[str | None, Form(max_length=64)] = None,
) -> FileInfo:
    """Upload one file of the patient. It is read with the reader of its kind before it is
    stored (encrypted); a file that does not read is refused with the reader's error and not
    stored. The plan becomes stale."""
    state = state_of(request)
    state.reachable(who, patient_id, "file.create")
    limit = state.settings.max_upload_bytes
    meta: dict[str, Any] = {
        k: v
        for k, v in {
            "filename": (file.filename or "")[:200],
            "sample": sample,
            "genome_build": genome_build,
            "tumor_type": tumor_type,
            "msi": msi,
            "callable_mb": callable_mb,
            "timezone": timezone,
        }.items()
        if v not in (None, "")
    }
    meta["suffix"] = safe_suffix(file.filename, kind)
    with tempfile.TemporaryDirectory(prefix="precisionrx-upload-") as tmp:
        Path(tmp).chmod(0o700)
        path = Path(tmp) / f"upload{meta['suffix']}"
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"file larger than {limit} bytes")
                out.write(chunk)
        if size == 0:
            raise HTTPException(422, "the file is empty")
        try:
            meta["summary"] = validate(kind, path, meta)
        except PrecisionRxError as exc:
            state.audit(
                who,
                "file.create",
                patient_id=patient_id,
                outcome="refused",
                detail=f"{kind.value}: {exc.code}",
            )
            raise HTTPException(422, f"[{exc.code}] {exc.render()}") from exc
        stored = state.store.add_file(patient_id, kind.value, path.read_bytes(), meta)
    state.audit(who, "file.create", patient_id=patient_id, detail=f"{kind.value} {stored.id}")
    return FileInfo(
        file_id=stored.id,
        kind=stored.kind,
        size=stored.size,
        created=stored.created_at.isoformat(),
        summary=meta["summary"],
    )


@router.get(
    "/patients/{patient_id}/files",
    response_model=list[FileInfo],
    **roles(Role.clinician, Role.patient),
)
def list_files(patient_id: str, request: Request, who: Who) -> list[FileInfo]:
    """The patient's files (kind, size, time; not their content)."""
    state = state_of(request)
    with state.store.session():  # the reads below share one database connection
        state.reachable(who, patient_id, "file.search")
        purpose = purpose_of(request, who)
        out = _files(state, patient_id)
        state.consent_gate(
            who,
            patient_id,
            purpose=purpose,
            action="file.search",
            consent_action="access",
            resource_type="DocumentReference",
            labels=_labels(out),
        )
    state.audit(who, "file.search", patient_id=patient_id, purpose=purpose)
    return out


ConsentBody = Annotated[
    dict[str, Any] | list[dict[str, Any]],
    Body(description="A FHIR R4 Consent, or a JSON array of them, for this patient."),
]


@router.put("/patients/{patient_id}/consents", **roles(Role.clinician, Role.patient))
def put_consents(patient_id: str, body: ConsentBody, request: Request, who: Who) -> dict[str, Any]:
    """Record the patient's consents (they replace those on file and apply at once: a
    revocation is a consent with status inactive or a newer deny)."""
    from precisionrx.security.consent import parse_consents

    state = state_of(request)
    state.reachable(who, patient_id, "consent.update")
    items = body if isinstance(body, list) else [body]
    try:
        parsed = parse_consents(items, source="request body")
    except PrecisionRxError as exc:
        raise HTTPException(422, exc.render()) from exc
    for raw in items:
        ref = ((raw.get("patient") or {}).get("reference") or "").strip()
        if ref not in (f"Patient/{patient_id}", patient_id):
            raise HTTPException(
                422, f"Consent {raw.get('id')!r}: patient.reference must be Patient/{patient_id}"
            )
    state.store.put_consents(patient_id, items)
    state.audit(who, "consent.update", patient_id=patient_id, detail=f"{len(parsed)} consent(s)")
    return {"consents": len(parsed)}


@router.get("/patients/{patient_id}/consents", **roles(Role.clinician, Role.patient))
def get_consents(patient_id: str, request: Request, who: Who) -> list[dict[str, Any]]:
    """The patient's consents on file (FHIR R4 Consent resources)."""
    state = state_of(request)
    state.reachable(who, patient_id, "consent.read")
    out = state.store.consents(patient_id)
    state.audit(who, "consent.read", patient_id=patient_id)
    return out


__all__ = ["purpose_of", "router", "state_of"]
