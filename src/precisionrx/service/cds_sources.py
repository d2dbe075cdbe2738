"""Where a CDS call's data come from when prefetch does not carry them (docs/cds-hooks.md):

- the client's FHIR server (``fhirServer`` with the ``fhirAuthorization`` access token), read
  with the same query the prefetch template names (CDS Hooks 2.0, "FHIR Resource Access");
- the precisionrx store: the newest stored plan's PGx result, for a client trusted for the
  patient's organisation, when the patient's consent permits treatment use of genomic data
  (security label GDIS); the decision is audited either way.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from precisionrx.records import SampleResult
from precisionrx.service.cds_clients import CdsClient
from precisionrx.service.state import GENOMIC, ServiceState

#: Seconds allowed for one read of the client's FHIR server (the spec asks services to answer
#: in about half a second; a slow server ends in 412, not in a hanging order screen).
FETCH_TIMEOUT = 2.0
#: Search result pages followed (``Bundle.link`` ``next``) per query.
MAX_PAGES = 5
#: Plans whose PGx result is kept in memory.
PLAN_CACHE = 256


class Unavailable(Exception):
    """The data could not be had (no server, network error, refusal, not FHIR JSON)."""


def _token(auth: Any) -> str | None:
    if not isinstance(auth, dict):
        return None
    token = auth.get("access_token")
    kind = str(auth.get("token_type") or "Bearer")
    return f"{kind} {token}" if isinstance(token, str) and token else None


def fetch(fhir_server: Any, fhir_authorization: Any, query: str, max_bytes: int) -> Any:
    """The JSON the client's FHIR server returns for ``query`` (a relative URL); a searchset's
    further pages are appended to its ``entry``. :class:`Unavailable` when it cannot be had."""
    if not isinstance(fhir_server, str) or urlsplit(fhir_server).scheme not in ("http", "https"):
        raise Unavailable("no usable fhirServer in the request")
    base = fhir_server.rstrip("/") + "/"
    origin = urlsplit(base)[:2]
    headers = {"Accept": "application/fhir+json, application/json"}
    auth = _token(fhir_authorization)
    if auth:
        headers["Authorization"] = auth
    result: Any = None
    url: str | None = urljoin(base, query.lstrip("/"))
    with httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False, headers=headers) as http:
        for _page in range(MAX_PAGES):
            if url is None:
                break
            try:
                response = http.get(url)
            except httpx.HTTPError as exc:
                raise Unavailable(f"{query}: {type(exc).__name__}") from None
            if response.status_code != 200:
                raise Unavailable(f"{query}: HTTP {response.status_code}")
            if len(response.content) > max_bytes:
                raise Unavailable(f"{query}: the answer is larger than {max_bytes} bytes")
            try:
                page = json.loads(response.content)
            except ValueError:
                raise Unavailable(f"{query}: the answer is not JSON") from None
            url = _next(page, origin)
            if result is None:
                result = page
            elif isinstance(result, dict) and isinstance(page, dict):
                result.setdefault("entry", []).extend(page.get("entry") or [])
    return result


def _next(page: Any, origin: tuple[str, str]) -> str | None:
    """The ``next`` link of a searchset Bundle on the same server, else None."""
    if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
        return None
    for link in page.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and urlsplit(url)[:2] == origin:
                return url
    return None


def stored_genotypes(
    state: ServiceState, client: CdsClient, patient_id: str
) -> SampleResult | None:
    """The newest stored plan's PGx result for the patient, or None when the client may not
    use it (no organisation, another organisation, no such patient, consent denies) or there
    is no plan with a PGx result."""
    if client.organisation is None:
        return None
    meta = state.store.patient_meta(patient_id)
    if meta is None or meta[1] != client.organisation:
        return None
    actor = f"Device/{client.issuer}"
    decision = state.decision(patient_id, actor=actor, purpose="TREAT", action="access",
                              resource_type="Observation", labels=GENOMIC)  # fmt: skip
    permitted = decision.decision == "PERMIT"
    state.store.audit(
        actor=f"cds:{client.issuer}"[:200],
        role="cds-client",
        patient_id=patient_id,
        action="consent.decide",
        purpose="TREAT",
        outcome="success" if permitted else "denied",
        detail=f"consent {decision.decision}: {decision.reason}"[:300],
    )
    if not permitted:
        return None
    found = state.store.latest_plan(patient_id)
    if found is None:
        return None
    plan_id, text, _created = found
    return plan_genotypes(state, plan_id, text)


def plan_genotypes(state: ServiceState, plan_id: str, text: str) -> SampleResult | None:
    """The PGx result of a stored plan (its JSON ``text``), None when it has none; kept in
    memory by plan id (a stored plan never changes)."""
    cache = state.cds_plan_cache
    if plan_id not in cache:
        pgx = json.loads(text).get("pgx") or []
        if len(cache) >= PLAN_CACHE:
            cache.clear()
        cache[plan_id] = SampleResult.model_validate(pgx[0]) if pgx else None
    result: SampleResult | None = cache[plan_id]
    return result
