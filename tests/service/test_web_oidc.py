"""Web sign-in through an OpenID Connect provider (authorization code flow with PKCE), against
a provider that speaks real HTTP (tests/service/oidc_provider.py): the happy path per role,
and every way the answer can be forged, replayed or wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from precisionrx.security.oidc_login import OidcClient
from precisionrx.security.tokens import OidcSettings
from precisionrx.service.app import open_state
from precisionrx.service.settings import ServiceSettings
from precisionrx.service.state import ServiceState
from tests.service.conftest import MASTER, LiveServer
from tests.service.oidc_provider import (
    API_AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    RunningProvider,
)

CLINICIAN = {"sub": "dr-oidc", "role": "clinician", "org": "org-a"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    with RunningProvider() as p:
        p.user = dict(CLINICIAN)
        yield p


@pytest.fixture
def settings(tmp_path: Path, provider: Provider) -> ServiceSettings:
    oidc = OidcSettings(issuer=provider.url, audience=API_AUDIENCE, jwks_url=provider.url + "/jwks")
    return ServiceSettings(home=tmp_path / "home", environ={"PRECISIONRX_MASTER_KEY": MASTER},
                           oidc=oidc, oidc_client=OidcClient(CLIENT_ID, CLIENT_SECRET))  # fmt: skip


def _browser(live: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live.url, timeout=30)


def _to_provider(b: httpx.Client, next: str = "") -> tuple[httpx.Response, dict[str, str]]:
    """Start the sign-in: the service's redirect and the query it sends to the provider."""
    r = b.get("/login/oidc", params={"next": next} if next else None)
    assert r.status_code == 303, r.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    return r, query


def _back_from_provider(b: httpx.Client, location: str) -> httpx.Response:
    """The provider's answer (a redirect to the callback), then the callback itself."""
    answer = httpx.get(location, timeout=30)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return b.get(f"{back.path}?{back.query}")


def test_code_flow_signs_a_clinician_in(
    live: LiveServer, provider: Provider, state: ServiceState
) -> None:
    with _browser(live) as b:
        login = b.get("/login")
        assert 'href="/login/oidc"' in login.text and "organisation's account" in login.text
        r, query = _to_provider(b, "/patients?q=x")
        assert r.headers["location"].startswith(provider.url + "/authorize?")
        assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        assert query["redirect_uri"] == f"{live.url}/login/oidc/callback"
        assert len(query["state"]) >= 40 and len(query["nonce"]) >= 40
        assert "code_verifier" not in r.headers["location"]
        cookie = r.headers["set-cookie"].lower()
        assert "prx_oidc=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert "path=/login/oidc" in cookie and "max-age=600" in cookie
        done = _back_from_provider(b, r.headers["location"])
        assert done.status_code == 200, done.text
        # a page that moves on by itself (the Strict session cookie is not sent on a redirect
        # that the provider's site started)
        assert '<meta http-equiv="refresh" content="0;url=/patients?q=x">' in done.text
        session = [c for c in done.headers.get_list("set-cookie") if c.startswith("prx_session=")]
        assert (
            session and "samesite=strict" in session[0].lower() and "httponly" in session[0].lower()
        )
        assert "prx_oidc" not in b.cookies  # the sign-in cookie is spent
        assert b.get("/patients").status_code == 200
        # the token request: PKCE verifier, redirect URI, client by HTTP Basic (checked there)
        (form,) = provider.token_requests
        assert form["grant_type"] == "authorization_code" and len(form["code_verifier"]) >= 43
        assert form["redirect_uri"] == f"{live.url}/login/oidc/callback"
        assert "client_secret" not in form
    logins = [e for e in state.store.audit_rows() if e.action == "login"]
    assert any(
        e.outcome == "success" and e.actor == "dr-oidc" and "OIDC" in e.detail for e in logins
    )


def test_a_patient_lands_on_their_own_page(live: LiveServer, provider: Provider) -> None:
    provider.user = {"sub": "pat-oidc", "role": "patient", "patient": "p-1"}
    with _browser(live) as b:
        r, _ = _to_provider(b)
        done = _back_from_provider(b, r.headers["location"])
        assert 'content="0;url=/me"' in done.text


def test_next_never_leaves_the_site(live: LiveServer) -> None:
    # browsers drop tabs and line breaks from URLs: "/\t/evil" would become "//evil"
    for target in ("//evil.example/x", "/\t/evil.example", "/\n/evil.example", "/\\evil"):
        with _browser(live) as b:
            r, _ = _to_provider(b, target)
            done = _back_from_provider(b, r.headers["location"])
            assert 'content="0;url=/patients"' in done.text, target


def _refused(done: httpx.Response, b: httpx.Client, reason: str) -> None:
    assert done.status_code == 401, done.text
    assert re.search(reason, done.text), done.text
    assert "prx_session" not in b.cookies
    assert b.get("/patients").status_code == 303


def test_a_forged_state_is_refused(live: LiveServer) -> None:
    with _browser(live) as b:
        r, query = _to_provider(b)
        answer = httpx.get(r.headers["location"])
        back = urlsplit(answer.headers["location"])
        forged = back.query.replace(query["state"], "x" * len(query["state"]))
        _refused(b.get(f"{back.path}?{forged}"), b, "does not belong to this sign-in")


def test_an_answer_in_another_browser_is_refused(live: LiveServer) -> None:
    """Login CSRF: someone sends the victim a callback URL of their own sign-in."""
    with _browser(live) as attacker, _browser(live) as victim:
        r, _ = _to_provider(attacker)
        answer = httpx.get(r.headers["location"])
        back = urlsplit(answer.headers["location"])
        _refused(victim.get(f"{back.path}?{back.query}"), victim, "not started here")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("other-nonce", "nonce does not match"),
        ("other-audience", "another audience"),
        ("access-for-someone-else", "another subject"),
        ("opaque-access-token", "not accepted by this service"),
        ("refuse-code", "refused the sign-in code \\(invalid_grant\\)"),
        ("deny", "did not sign you in \\(access_denied\\)"),
    ],
)
def test_a_wrong_answer_is_refused(
    live: LiveServer, provider: Provider, fault: str, reason: str
) -> None:
    provider.misbehave.add(fault)
    with _browser(live) as b:
        r, _ = _to_provider(b)
        _refused(_back_from_provider(b, r.headers["location"]), b, reason)


def test_a_code_is_good_once(live: LiveServer, provider: Provider) -> None:
    with _browser(live) as b:
        r, _ = _to_provider(b)
        answer = httpx.get(r.headers["location"])
        back = urlsplit(answer.headers["location"])
        sealed = b.cookies["prx_oidc"]
        assert b.get(f"{back.path}?{back.query}").status_code == 200
    with _browser(live) as again:  # the same cookie and code, replayed
        again.cookies.set("prx_oidc", sealed, path="/login/oidc")
        _refused(again.get(f"{back.path}?{back.query}"), again, "invalid_grant")


def test_provider_down(live: LiveServer, provider: Provider) -> None:
    provider.misbehave.add("down")
    with _browser(live) as b:
        r = b.get("/login/oidc")
        assert r.status_code == 502 and "identity provider is not available" in r.text
        assert "prx_oidc" not in b.cookies
        provider.misbehave.clear()  # back up: discovery is tried again
        _, query = _to_provider(b)
        assert query["client_id"] == CLIENT_ID


def test_without_a_client_id_there_is_no_provider_sign_in(tmp_path: Path) -> None:
    settings = ServiceSettings(home=tmp_path / "h", environ={"PRECISIONRX_MASTER_KEY": MASTER})
    state = open_state(settings)
    try:
        with LiveServer(settings, state) as live, _browser(live) as b:
            assert "/login/oidc" not in b.get("/login").text
            assert b.get("/login/oidc").status_code == 404
            assert b.get("/login/oidc/callback?code=x&state=y").status_code == 404
    finally:
        state.runner.shutdown()
        state.store.close()


def test_serve_checks_the_client_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from testkit.cli import run

    home = ["--home", str(tmp_path / "home")]
    code, _out, err = run(["serve", *home, "--oidc-client-id", "web"], capsys)
    assert code == 2 and "--oidc-issuer" in err and "Usage" in err
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    code, _out, err = run(["serve", *home, "--oidc-client-secret-file", str(secret)], capsys)
    assert code == 2 and "--oidc-client-id" in err
    secret.chmod(0o644)
    issuer = ["--oidc-issuer", "https://idp.example.org", "--oidc-client-id", "web"]
    code, _out, err = run(
        ["serve", *home, *issuer, "--oidc-client-secret-file", str(secret)], capsys
    )
    assert code == 40 and "group or others" in err and "Traceback" not in err
    assert not (tmp_path / "home").exists()
