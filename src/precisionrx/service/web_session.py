"""Sign-in for the web pages (docs/web.md): a session cookie and CSRF protection.

- **Sign-in** (``POST /login``): a token minted by ``precisionrx token`` (or issued by the
  OpenID Connect provider ``serve --oidc-issuer`` trusts) is pasted once; when it verifies, it
  is kept in the session cookie ``prx_session``: HttpOnly (no script reads it), SameSite=Strict
  (no other site's page sends it), ``Secure`` when the request came over https, ``Path=/`` and
  no longer than the token itself is valid. Every page verifies it again, as the API verifies a
  bearer token, so an expired or revoked key ends the session.
- **CSRF**: every form that changes something carries ``csrf``, a hash bound to the session
  (SHA-256 of a fixed label and the session token; a page of another site cannot read the
  cookie, so it cannot compute it), compared in constant time; and the request's ``Origin``
  (or ``Referer``), when sent, must be this service. With SameSite=Strict that is two
  independent defences (OWASP CSRF Prevention Cheat Sheet: synchronizer token, origin check,
  SameSite cookies).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import Request, Response

from precisionrx.errors import AccessDenied
from precisionrx.security.tokens import Identity
from precisionrx.service.state import ServiceState

COOKIE = "prx_session"
#: Longest token kept in the cookie (a browser keeps about 4 KB per cookie).
MAX_TOKEN = 3500


def csrf_token(session: str) -> str:
    """The form token of a session."""
    return hashlib.sha256(f"precisionrx-csrf\x00{session}".encode()).hexdigest()[:40]


def session_token(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and len(value) <= MAX_TOKEN else None


def session_identity(state: ServiceState, request: Request) -> Identity | None:
    """Who the session cookie speaks for, or None (no cookie, or its token no longer
    verifies)."""
    token = session_token(request)
    if token is None:
        return None
    try:
        who = state.verifier.verify(token)
    except AccessDenied:
        return None
    state.audit_login(who, "success", "web session")
    return who


def token_expiry(token: str) -> datetime | None:
    """The ``exp`` of a (verified) JWT, read without checking again."""
    import jwt

    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


def https(request: Request) -> bool:
    """Whether the browser reached the service over https: the request's scheme, or the
    ``serve --public-url`` (behind a proxy that ends TLS, the service itself sees http)."""
    service = getattr(request.app.state, "service", None)
    public = getattr(getattr(service, "settings", None), "public_url", None)
    return request.url.scheme == "https" or bool(public and public.startswith("https://"))


def start_session(request: Request, response: Response, token: str) -> None:
    expires = token_expiry(token)
    max_age = None
    if expires is not None:
        max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=https(request),
        httponly=True,
        samesite="strict",
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=https(request),
                           httponly=True, samesite="strict")  # fmt: skip


def same_origin(request: Request) -> bool:
    """Whether the request's Origin (else Referer) names this service; True when neither is
    sent (non-browser clients; the CSRF token still has to match)."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return sent != "null"
    here = urlsplit(str(request.base_url))
    there = urlsplit(sent)
    return (there.scheme, there.netloc) == (here.scheme, here.netloc)


def csrf_ok(request: Request, given: str | None) -> bool:
    session = session_token(request)
    if session is None or not given or not same_origin(request):
        return False
    return hmac.compare_digest(csrf_token(session), given)
