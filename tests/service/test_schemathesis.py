"""Schemathesis against the OpenAPI document: generated requests never get a 5xx.

Every operation of ``/openapi.json`` is called with requests generated from its schema —
valid and invalid bodies, parameters and headers (schemathesis' positive and negative modes)
— as each role, on both databases (15 examples per operation and mode on SQLite, 5 on
PostgreSQL: the handlers are the same, and the second database mainly adds its own error
paths; the full count doubled the suite's longest test); the check is schemathesis'
``not_a_server_error``. The
path id is either generated or the id of a stored patient with files and consents, so the
operations reach their handlers as well as their 404 path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from precisionrx.security.tokens import Role
from precisionrx.service.app import open_state
from precisionrx.service.settings import ServiceSettings

from .cds_fixtures import Client, order, request
from .conftest import LiveServer, Mint, auth, wait_job
from .helpers import DEMO_FILES, demo_record

ROLES = (Role.clinician, Role.patient, Role.researcher, Role.admin)


def _consent(pid: str) -> list[dict[str, Any]]:
    return [{"resourceType": "Consent", "id": "fuzz", "status": "active",
             "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                   "code": "patient-privacy"}]},
             "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
             "patient": {"reference": f"Patient/{pid}"}, "dateTime": "2020-01-01T00:00:00Z",
             "provision": {"type": "permit"}}]  # fmt: skip


#: Operations whose success needs a body generated data would rarely make valid (a FHIR
#: Consent naming the stored patient, a file its reader accepts): also run with this body,
#: everything else generated.
VALID_BODIES = {
    "PUT /api/v1/patients/{patient_id}/consents": _consent,
    "POST /api/v1/patients/{patient_id}/files": lambda _pid: {
        "kind": "medications",
        "file": b"warfarin 5 mg daily\n",
    },
    "POST /cds-services/{service_id}": lambda pid: request(
        "order-select", [order("o1", "clopidogrel", patient=pid)], genotypes=None, patient=pid
    ),
    "POST /cds-services/{service_id}/feedback": lambda _pid: {
        "feedback": [{"card": "c1", "outcome": "accepted"}]
    },
}
#: The CDS Hooks client the fuzzed service trusts (its routes take this client's JWTs, not
#: the API's tokens).
EHR = Client()
EXAMPLES = 15
EXAMPLES_POSTGRESQL = 5


@pytest.fixture
def fuzz_server(settings: ServiceSettings) -> Iterator[str]:
    """A live server with a rate limit high enough for generated traffic; its URL."""
    relaxed = replace(settings, rate_per_second=1e6, burst=1_000_000,
                      cds_trusted={EHR.issuer: EHR.jwks()})  # fmt: skip
    state = open_state(relaxed)
    try:
        with LiveServer(relaxed, state) as server:
            yield server.url
    finally:
        state.runner.shutdown()
        state.store.close()


def _stored_patient(url: str, token: str) -> tuple[str, str]:
    """A patient with the demo's files, and the id of a plan job started for it."""
    with httpx.Client(base_url=url, timeout=60) as c:
        pid: str = c.post("/api/v1/patients", json=demo_record(), headers=auth(token)).json()["id"]
        for kind, path, form in DEMO_FILES:
            with path.open("rb") as fh:
                r = c.post(f"/api/v1/patients/{pid}/files", headers=auth(token),
                           data={"kind": kind, **form}, files={"file": (path.name, fh)})  # fmt: skip
                assert r.status_code == 201, r.text
        started = c.post(f"/api/v1/patients/{pid}/plans", headers=auth(token)).json()
        assert wait_job(c, token, started["status_url"])["status"] == "done"
    return pid, started["job_id"]


def test_generated_requests_get_no_server_error(
    fuzz_server: str, mint: Mint, database: str | None
) -> None:
    examples = EXAMPLES if database is None else EXAMPLES_POSTGRESQL
    clinician = mint("fuzz-clinician", Role.clinician)
    pid, job = _stored_patient(fuzz_server, clinician)
    tokens = {
        role: mint(f"fuzz-{role.value}", role, patient=pid if role is Role.patient else None)
        for role in ROLES
    }
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 15, "the OpenAPI document lost operations"
    # Erasure last: the stored patient serves every other operation first.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    calls = 0
    reached: dict[str, set[int]] = {}
    for operation in operations:
        known = (("patient_id", pid), ("job_id", job), ("service_id", "pgx-order-select"))
        stored = {k: v for k, v in known if f"{{{k}}}" in operation.path}
        variants: list[tuple[GenerationMode, dict[str, str], Any]] = [
            (mode, fixed, None)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for fixed in ([{}, stored] if stored else [{}])
        ]
        if operation.label in VALID_BODIES:  # a body generated data would rarely make valid
            variants.append((GenerationMode.POSITIVE, stored, VALID_BODIES[operation.label](pid)))
        for mode, fixed, body in variants:
            extra = {} if body is None else {"body": body}
            strategy = operation.as_strategy(mode, path_parameters=fixed or None, **extra)

            @given(case=strategy)
            @hsettings(max_examples=examples, deadline=None, derandomize=True,
                       phases=[Phase.explicit, Phase.generate], database=None,
                       suppress_health_check=list(HealthCheck))  # fmt: skip
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                cds = case.operation.path.startswith("/cds-services")
                for token in tokens.values():
                    if cds:  # a fresh client JWT for the path called (its aud)
                        aud = fuzz_server + case.formatted_path
                        token = EHR.token("", aud=aud)
                    headers = {**(case.headers or {}), **auth(token)}
                    response = case.call(headers=headers)
                    calls += 1
                    reached.setdefault(case.operation.label, set()).add(response.status_code)
                    case.validate_response(response, checks=[not_a_server_error], headers=headers)

            try:
                run()
            except Unsatisfiable:
                # An operation with nothing to break (no parameters, no body) has no
                # negative cases; its positive cases still ran.
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert calls > 500
    # Every operation answered at least one generated request with success, so the
    # handlers themselves (not only the 401/403/404/422 paths) were exercised.
    unreached = sorted(k for k, codes in reached.items() if not any(c < 300 for c in codes))
    assert not unreached, unreached
