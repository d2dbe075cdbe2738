"""Web sign-in through an OpenID Connect provider: the authorization code flow with PKCE.

The steps (docs/web.md#openid-connect):

1. ``discover``: the provider's endpoints from ``<issuer>/.well-known/openid-configuration``;
   its ``issuer`` must equal the configured one exactly (OpenID Connect Discovery 1.0, 4.3).
2. ``LoginRequest.new``: a fresh ``state`` (RFC 6749, 10.12: binds the answer to this
   browser), ``nonce`` (OpenID Connect Core 1.0, 15.5.2: binds the ID token to this request)
   and PKCE code verifier (RFC 7636, method S256; RFC 9700, 2.1.1: PKCE for every client). They
   travel in a short-lived cookie sealed with an HMAC (``seal``/``unseal``), never in the URL
   except the state and the verifier's hash.
3. ``authorization_url``: where the browser is sent (``response_type=code``).
4. ``exchange_code``: the code, the redirect URI and the code verifier are sent to the token
   endpoint (client secret by HTTP Basic when the client has one: RFC 6749, 2.3.1); the answer
   must carry an ``id_token``, which :meth:`TokenVerifier.verify_id_token` then checks.

HTTP calls use httpx without redirects, with bounded time and size; endpoints must use https
(plain http only on a loopback host, for local testing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from precisionrx.errors import AccessDenied, ConfigError

__all__ = [
    "LOGIN_SECONDS",
    "LoginRequest",
    "OidcClient",
    "ProviderEndpoints",
    "authorization_url",
    "discover",
    "exchange_code",
    "seal",
    "unseal",
]

#: How long a sign-in may take between leaving for the provider and coming back.
LOGIN_SECONDS = 600
TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 256 * 1024


def _checked_url(url: object, what: str) -> str:
    if not isinstance(url, str) or not url:
        raise AccessDenied(f"the identity provider does not name its {what}")
    parts = urlsplit(url)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise AccessDenied(f"the identity provider's {what} must use https", hint=url)
    return url


@dataclass(frozen=True)
class OidcClient:
    """This service as a client of the provider (``serve --oidc-client-id``)."""

    client_id: str
    #: None: a public client (PKCE only); else sent by HTTP Basic authentication.
    client_secret: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ("openid", "profile")

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigError("an OpenID Connect client needs a client id")
        if "openid" not in self.scopes:
            raise ConfigError("the OpenID Connect scopes must include 'openid'")


@dataclass(frozen=True)
class ProviderEndpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str


def discover(issuer: str) -> ProviderEndpoints:
    """The provider's endpoints from its discovery document.

    :raises AccessDenied: the document cannot be fetched, is not JSON, names another issuer,
        lacks an endpoint, uses plain http off loopback, or offers no S256 PKCE when it lists
        the methods it supports.
    """
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(_checked_url(url, "discovery document"))
    if document.get("issuer") != issuer:
        raise AccessDenied("the identity provider's discovery document names another issuer")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise AccessDenied("the identity provider does not support PKCE with S256")
    return ProviderEndpoints(
        issuer=issuer,
        authorization_endpoint=_checked_url(
            document.get("authorization_endpoint"), "authorization endpoint"
        ),
        token_endpoint=_checked_url(document.get("token_endpoint"), "token endpoint"),
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class LoginRequest:
    """One sign-in in progress: what the browser keeps (sealed) until it comes back."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: float

    @classmethod
    def new(cls, next: str, *, now: float | None = None) -> LoginRequest:
        at = time.time() if now is None else now
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),  # 64 characters (RFC 7636 4.1: 43 to 128)
            next=next,
            expires=at + LOGIN_SECONDS,
        )

    @property
    def challenge(self) -> str:
        """The S256 code challenge (RFC 7636 4.2)."""
        return _b64(hashlib.sha256(self.verifier.encode("ascii")).digest())


def authorization_url(
    endpoints: ProviderEndpoints, client: OidcClient, redirect_uri: str, login: LoginRequest
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(client.scopes),
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": login.challenge,
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if urlsplit(endpoints.authorization_endpoint).query else "?"
    return f"{endpoints.authorization_endpoint}{separator}{query}"


def seal(login: LoginRequest, key: bytes) -> str:
    """The sign-in as a cookie value: base64url JSON and its HMAC-SHA256 under ``key``."""
    body = _b64(json.dumps(login.__dict__, separators=(",", ":")).encode())
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unseal(value: str | None, key: bytes, *, now: float | None = None) -> LoginRequest:
    """The sign-in a cookie holds.

    :raises AccessDenied: no cookie, a tampered one (or one sealed by an earlier run of the
        service), or one older than :data:`LOGIN_SECONDS`.
    """
    if not value or value.count(".") != 1 or len(value) > 4096:
        raise AccessDenied("this sign-in was not started here, or the browser lost its cookie")
    body, mac = value.split(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        raise AccessDenied("this sign-in was started before the service restarted")
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        login = LoginRequest(
            state=str(data["state"]),
            nonce=str(data["nonce"]),
            verifier=str(data["verifier"]),
            next=str(data["next"]),
            expires=float(data["expires"]),
        )
    except (ValueError, KeyError, TypeError):
        raise AccessDenied("this sign-in's cookie is not readable") from None
    if (time.time() if now is None else now) > login.expires:
        raise AccessDenied("this sign-in took too long; start again")
    return login


def exchange_code(
    endpoints: ProviderEndpoints,
    client: OidcClient,
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> dict[str, Any]:
    """The token endpoint's answer to the code (``id_token`` present; ``access_token`` when
    the provider gives one).

    :raises AccessDenied: the endpoint cannot be reached, refuses the code (its ``error`` is
        named), or answers without an ID token.
    """
    import httpx

    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    auth = None
    if client.client_secret is None:
        form["client_id"] = client.client_id
    else:
        auth = httpx.BasicAuth(client.client_id, client.client_secret)
    try:
        response = httpx.post(
            endpoints.token_endpoint,
            data=form,
            auth=auth,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError:
        raise AccessDenied(
            "the identity provider's token endpoint could not be reached",
            hint=endpoints.token_endpoint,
        ) from None
    try:
        answer = _json_body(response.content)
    except AccessDenied:
        if response.status_code == 200:
            raise
        answer = {}
    if response.status_code != 200:
        error = answer.get("error")
        reason = error[:60] if isinstance(error, str) else f"HTTP {response.status_code}"
        raise AccessDenied(f"the identity provider refused the sign-in code ({reason})")
    if not isinstance(answer.get("id_token"), str):
        raise AccessDenied("the identity provider answered without an ID token")
    return answer


def _get_json(url: str) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.get(
            url,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
    except httpx.HTTPError:
        raise AccessDenied("the identity provider could not be reached", hint=url) from None
    return _json_body(response.content)


def _json_body(content: bytes) -> dict[str, Any]:
    if len(content) > MAX_RESPONSE_BYTES:
        raise AccessDenied("the identity provider's answer is too large")
    try:
        document = json.loads(content)
    except ValueError:
        raise AccessDenied("the identity provider's answer is not JSON") from None
    if not isinstance(document, dict):
        raise AccessDenied("the identity provider's answer is not a JSON object")
    return document
