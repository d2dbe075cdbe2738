"""Limits and headers: security headers, CORS closed, body size and depth, rate per token."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from precisionrx.security.tokens import Role
from precisionrx.service.settings import ServiceSettings
from precisionrx.service.state import ServiceState
from tests.service.conftest import LiveServer, Mint, auth
from tests.service.helpers import demo_record


def test_security_headers_and_closed_cors(client: httpx.Client) -> None:
    r = client.get("/health")
    for name in ("x-content-type-options", "x-frame-options", "content-security-policy",
                 "cache-control", "referrer-policy"):  # fmt: skip
        assert name in r.headers, name
    assert r.headers["cache-control"] == "no-store"
    pre = client.options("/api/v1/patients", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert "access-control-allow-origin" not in pre.headers
    assert "server" not in r.headers  # no server banner


def test_json_depth_and_size_limits(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    deep: object = "x"
    for _ in range(200):
        deep = [deep]
    r = client.post("/api/v1/patients", json={"id": "p", "name": deep}, headers=auth(doc))
    assert r.status_code == 400 and "deep" in r.text
    r = client.post("/api/v1/patients", content=b'{"id": NaN}',
                    headers=auth(doc, **{"Content-Type": "application/json"}))  # fmt: skip
    assert r.status_code == 400
    big = {"id": "p", "name": "x" * (3 * 1024 * 1024)}
    assert client.post("/api/v1/patients", json=big, headers=auth(doc)).status_code == 413


@pytest.fixture
def slow_settings(settings: ServiceSettings) -> ServiceSettings:
    return dataclasses.replace(settings, rate_per_second=1.0, burst=3, max_upload_bytes=4096)


@pytest.fixture
def slow(slow_settings: ServiceSettings) -> Iterator[LiveServer]:
    from precisionrx.service.app import open_state

    state: ServiceState = open_state(slow_settings)
    try:
        with LiveServer(slow_settings, state) as server:
            yield server
    finally:
        state.store.close()


def test_rate_limit_per_token_and_upload_limit(slow: LiveServer, mint: Mint) -> None:
    doc, other = mint("dr-a", Role.clinician), mint("dr-c", Role.clinician)
    with httpx.Client(base_url=slow.url) as c:
        codes = [c.get("/api/v1/patients", headers=auth(doc)).status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        assert c.get("/api/v1/patients", headers=auth(other)).status_code == 200  # per token
        pid = c.post("/api/v1/patients", json=demo_record(), headers=auth(other)).json()["id"]
        r = c.post(f"/api/v1/patients/{pid}/files", headers=auth(other),
                   files={"file": ("big.vcf", b"#" * 10_000)}, data={"kind": "germline_vcf"})  # fmt: skip
        assert r.status_code == 413
