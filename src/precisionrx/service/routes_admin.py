"""Administration and research: the audit trail (admin) and the de-identified export
(researcher, research consent only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from precisionrx.security.tokens import Identity, Role
from precisionrx.service.auth import identity, roles
from precisionrx.service.routes_patients import state_of

router = APIRouter(tags=["administration"])
#: Largest sequence number or offset a query may name (the columns are 32-bit integers).
INT32_MAX = 2**31 - 1
Who = Annotated[Identity, Depends(identity)]


class AuditFormat(StrEnum):
    json = "json"
    fhir = "fhir"


@router.get("/audit", **roles(Role.admin))
def read_audit(
    request: Request,
    who: Who,
    after: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    format: AuditFormat = AuditFormat.json,
) -> dict[str, Any]:
    """Audit rows after sequence ``after`` (JSON rows, or a FHIR Bundle of AuditEvents), and
    whether the hash chain is intact."""
    from precisionrx.storage.audit import audit_event

    state = state_of(request)
    rows = list(state.store.audit_rows(after=after, limit=limit))
    check = state.store.verify_audit()
    state.audit(who, "audit.read", detail=f"{len(rows)} row(s) after {after}")
    chain = {
        "intact": check.intact,
        "rows": check.rows,
        "broken_at": check.broken_at,
        "problem": check.problem or None,
    }
    if format is AuditFormat.fhir:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": audit_event(r)} for r in rows],
        }
    return {"rows": [r.as_dict() for r in rows], "chain": chain}


@router.get(
    "/export/deidentified",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/fhir+ndjson": {}},
            "description": "NDJSON of de-identified FHIR resources.",
        }
    },
    **roles(Role.researcher),
)
def export_deidentified(request: Request, who: Who) -> StreamingResponse:
    """De-identified FHIR resources (HIPAA Safe Harbor) of the patients whose consent permits
    research (HRESCH) disclosure; genomic resources only where the consent permits disclosing
    genetic data (GDIS). Patients without consent are left out."""
    from precisionrx.service.export import export_lines

    state = state_of(request)
    lines = list(export_lines(state, who, datetime.now(UTC).date()))
    state.audit(who, "export.deidentified", purpose="HRESCH", detail=f"{len(lines)} resource(s)")

    def body() -> Iterator[bytes]:
        for line in lines:
            yield (json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n").encode()

    return StreamingResponse(body(), media_type="application/fhir+ndjson")
