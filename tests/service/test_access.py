"""No route is reachable without the role it declares; other patients' ids cannot be probed;
tokens are checked (OWASP API1 BOLA, ASVS V8/V9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from precisionrx.security.tokens import Role
from tests.service.conftest import Mint, auth
from tests.service.helpers import demo_record


def _hmac_token(claims: dict[str, Any], kid: str | None, pem: Any) -> str:
    """The HS/ES confusion attack: HS256 keyed with the server's public key bytes (PyJWT
    refuses to make one, so by hand)."""
    import base64
    import hashlib
    import hmac
    import json

    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def _body(method: str, path: str, pid: str) -> dict[str, Any]:
    if path.endswith("/consents") and method == "put":
        return {"json": {"resourceType": "Consent", "id": "c", "status": "active",
                         "scope": {"coding": [{"code": "patient-privacy"}]},
                         "category": [{"coding": [{"code": "59284-0"}]},],
                         "patient": {"reference": f"Patient/{pid}"},
                         "provision": {"type": "permit"}}}  # fmt: skip
    if path.endswith("/files") and method == "post":
        return {
            "files": {"file": ("m.txt", b"clopidogrel 75 mg daily\n")},
            "data": {"kind": "medications"},
        }
    if path.endswith("/medication-check"):
        return {"json": {"drug": "clopidogrel"}}
    if method in ("post", "put") and path.endswith(("/patients", "{patient_id}")):
        return {"json": demo_record()}
    return {}


def _operations(client: httpx.Client) -> list[tuple[str, str, list[str]]]:
    doc = client.get("/openapi.json").json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops.append((method, path, op.get("x-required-roles")))
    return ops


def test_every_api_route_declares_roles_and_refuses_others(client: httpx.Client,
                                                           mint: Mint) -> None:  # fmt: skip
    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()["job_id"]
    ops = _operations(client)
    api = [(m, p, r) for m, p, r in ops if p.startswith("/api/")]
    assert len(api) >= 12
    tokens = {
        Role.clinician: mint("dr-b", Role.clinician, org="org-b"),  # another organisation
        Role.patient: mint("pat-x", Role.patient, patient="someone-else", org=None),
        Role.researcher: mint("res", Role.researcher, org=None),
        Role.admin: mint("root", Role.admin, org=None),
    }
    for method, path, required in api:
        assert required, f"{method.upper()} {path} declares no role"
        url = path.replace("{patient_id}", pid).replace("{job_id}", job)
        body = _body(method, path, pid)
        anonymous = client.request(method, url, **body)
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        for role, token in tokens.items():
            r = client.request(method, url, headers=auth(token), **body)
            if role.value not in required:
                assert r.status_code == 403, (method, path, role, r.status_code)
            elif "{patient_id}" in path or "{job_id}" in path:
                assert r.status_code == 404, (method, path, role, r.status_code)  # not 403
    # the public routes are exactly these
    public = sorted(p for m, p, r in ops if not p.startswith("/api/"))
    # (the CDS Hooks routes authenticate clients by their own JWTs: tests/service/test_cds_hooks.py)
    assert set(public) <= {"/health", "/ready", "/cds-services", "/cds-services/{service_id}",
                           "/cds-services/{service_id}/feedback"}  # fmt: skip


def test_patient_reaches_only_their_own_record(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    mine = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    theirs = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    me = mint("pat", Role.patient, patient=mine, org=None)
    assert client.get(f"/api/v1/patients/{mine}", headers=auth(me)).status_code == 200
    assert client.get(f"/api/v1/patients/{theirs}", headers=auth(me)).status_code == 404
    assert client.get("/api/v1/patients/does-not-exist", headers=auth(me)).status_code == 404
    assert client.get("/api/v1/patients", headers=auth(me)).status_code == 403


def test_clinician_lists_only_their_organisation(client: httpx.Client, mint: Mint) -> None:
    a, b = mint("dr-a", Role.clinician, org="org-a"), mint("dr-b", Role.clinician, org="org-b")
    pa = client.post("/api/v1/patients", json=demo_record(), headers=auth(a)).json()["id"]
    client.post("/api/v1/patients", json=demo_record(), headers=auth(b))
    listed = client.get("/api/v1/patients", headers=auth(a)).json()
    assert [p["id"] for p in listed] == [pa]


@pytest.mark.parametrize("problem", ["expired", "none", "hs256", "audience", "garbage"])
def test_bad_tokens_are_refused(client: httpx.Client, mint: Mint, settings: Any,
                                problem: str) -> None:  # fmt: skip
    good = mint("dr-a", Role.clinician)
    claims = jwt.decode(good, options={"verify_signature": False})
    header = jwt.get_unverified_header(good)
    if problem == "expired":
        from datetime import UTC, datetime

        from precisionrx.security.tokens import LocalIssuer

        token = LocalIssuer.load_or_create(settings.home).mint(
            "dr-a",
            Role.clinician,
            organisation="org-a",
            expires=timedelta(minutes=5),
            now=datetime.now(UTC) - timedelta(hours=2),
        )
    elif problem == "none":
        token = jwt.encode(claims, key=None, algorithm="none", headers={"kid": header.get("kid")})
    elif problem == "hs256":
        token = _hmac_token(claims, header.get("kid"), settings.home / "token_signing_key.pem")
    elif problem == "audience":
        from cryptography.hazmat.primitives import serialization

        pem = (settings.home / "token_signing_key.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        token = jwt.encode({**claims, "aud": "someone-else"}, key,  # type: ignore[arg-type]
                           algorithm="ES256", headers={"kid": header.get("kid")})  # fmt: skip
    else:
        token = "not.a.token"
    r = client.get("/api/v1/patients", headers=auth(token))
    assert r.status_code == 401, (problem, r.status_code)
