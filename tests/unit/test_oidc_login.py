"""The OpenID Connect sign-in pieces: PKCE (RFC 7636 appendix B example), the sealed cookie
(tamper, expiry, another key), the authorization URL, discovery checks, and the ID token
checks of OpenID Connect Core 1.0 section 3.1.3.7."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from precisionrx.errors import AccessDenied, ConfigError
from precisionrx.security.oidc_login import (
    LOGIN_SECONDS,
    LoginRequest,
    OidcClient,
    ProviderEndpoints,
    authorization_url,
    discover,
    seal,
    unseal,
)
from precisionrx.security.tokens import OidcSettings, TokenVerifier
from tests.service.oidc_provider import CLIENT_ID, Provider, RunningProvider

KEY = b"k" * 32


def test_pkce_s256_matches_the_rfc_example() -> None:
    # RFC 7636 appendix B: this verifier has this challenge
    login = LoginRequest("s", "n", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "", 0.0)
    assert login.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_sign_ins_are_random_and_long_enough() -> None:
    a, b = LoginRequest.new("/x"), LoginRequest.new("/x")
    assert len({a.state, b.state}) == 2 and len({a.nonce, b.nonce}) == 2
    assert 43 <= len(a.verifier) <= 128 and a.expires - time.time() == pytest.approx(
        LOGIN_SECONDS, abs=5
    )


def test_seal_round_trip_and_refusals() -> None:
    login = LoginRequest.new("/patients/p-1", now=1000.0)
    sealed = seal(login, KEY)
    assert unseal(sealed, KEY, now=1000.0 + LOGIN_SECONDS - 1) == login
    with pytest.raises(AccessDenied, match="took too long"):
        unseal(sealed, KEY, now=1000.0 + LOGIN_SECONDS + 1)
    with pytest.raises(AccessDenied, match="restarted"):
        unseal(sealed, b"x" * 32, now=1000.0)
    body, mac = sealed.split(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    with pytest.raises(AccessDenied):
        unseal(tampered, KEY, now=1000.0)
    for bad in (None, "", "no-dot", "a.b.c", "x" * 5000):
        with pytest.raises(AccessDenied, match="not started here"):
            unseal(bad, KEY, now=1000.0)


def test_authorization_url_carries_the_request() -> None:
    endpoints = ProviderEndpoints("https://idp", "https://idp/auth?tenant=t1", "https://idp/token")
    login = LoginRequest.new("")
    url = authorization_url(endpoints, OidcClient("c1"), "https://app/login/oidc/callback", login)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {"tenant": "t1", "response_type": "code", "client_id": "c1",
                     "redirect_uri": "https://app/login/oidc/callback", "scope": "openid profile",
                     "state": login.state, "nonce": login.nonce,
                     "code_challenge": login.challenge, "code_challenge_method": "S256"}  # fmt: skip


def test_client_needs_an_id_and_the_openid_scope() -> None:
    with pytest.raises(ConfigError):
        OidcClient("")
    with pytest.raises(ConfigError):
        OidcClient("c", scopes=("profile",))
    assert "secret" not in repr(OidcClient("c", "secret"))


@pytest.fixture
def provider() -> Iterator[Provider]:
    with RunningProvider() as p:
        yield p


def test_discovery(provider: Provider) -> None:
    found = discover(provider.url)
    assert found.token_endpoint == provider.url + "/token"
    with pytest.raises(AccessDenied, match="another issuer"):
        discover(provider.url + "/")  # the issuer must match exactly
    with pytest.raises(AccessDenied, match="https"):
        discover("http://idp.example.org")
    provider.misbehave.add("down")
    with pytest.raises(AccessDenied, match="could not be reached"):
        discover(provider.url)


def _verifier(provider: Provider) -> TokenVerifier:
    return TokenVerifier(
        None, OidcSettings(issuer=provider.url, audience="api", jwks=provider.jwks())
    )


def _id_token(provider: Provider, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": provider.url, "sub": "u1", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
              "nonce": "n-1", **changes}  # fmt: skip
    return provider.sign({k: v for k, v in claims.items() if v is not None})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"aud": [CLIENT_ID, "other"], "azp": CLIENT_ID}, None),
        ({"aud": [CLIENT_ID, "other"]}, "azp"),
        ({"aud": "other"}, "another audience"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"iat": None}, "iat"),
        ({"iat": int(time.time()) + 3600}, "future"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "https://elsewhere"}, "another issuer"),
    ],
)
def test_id_token_checks(provider: Provider, changes: dict[str, Any], reason: str | None) -> None:
    verifier = _verifier(provider)
    token = _id_token(provider, **changes)
    if reason is None:
        assert verifier.verify_id_token(token, client_id=CLIENT_ID, nonce="n-1")["sub"] == "u1"
    else:
        with pytest.raises(AccessDenied, match=reason):
            verifier.verify_id_token(token, client_id=CLIENT_ID, nonce="n-1")


def test_id_token_signed_by_another_key_or_hmac(provider: Provider) -> None:
    verifier = _verifier(provider)
    with RunningProvider() as other:
        forged = other.sign(jwt.decode(_id_token(provider), options={"verify_signature": False}))
    with pytest.raises(AccessDenied, match="signature"):
        verifier.verify_id_token(forged, client_id=CLIENT_ID, nonce="n-1")
    hmac_token = jwt.encode({"iss": provider.url}, "secret" * 8, algorithm="HS256")
    with pytest.raises(AccessDenied, match="not allowed"):
        verifier.verify_id_token(hmac_token, client_id=CLIENT_ID, nonce="n-1")
