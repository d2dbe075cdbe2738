"""Bearer-token authentication and per-route roles.

Every route under ``/api/v1`` declares the roles it admits with :func:`roles` (a dependency
plus an ``x-required-roles`` entry in the OpenAPI document, so a test can walk the document
and prove that no route is reachable without one). No token or a bad token: 401; a valid
token of a role the route does not admit: 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from precisionrx.errors import AccessDenied
from precisionrx.security.tokens import Identity, Role

bearer = HTTPBearer(
    auto_error=False, description="A JWT from `precisionrx token` or the OIDC provider."
)


def identity(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> Identity:
    """The identity of the request's bearer token (401 when missing or not valid)."""
    found: Identity | None = getattr(request.state, "identity", None)
    if found is not None:
        return found
    state = request.app.state.service
    if credentials is None or credentials.scheme.lower() != "bearer":
        state.audit_login(None, "failure", "no bearer token")
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        who: Identity = state.verifier.verify(credentials.credentials)
    except AccessDenied as exc:
        state.audit_login(None, "failure", exc.message)
        raise HTTPException(
            401,
            f"invalid token: {exc.message}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc
    state.audit_login(who, "success", "")
    request.state.identity = who
    return who


class _RoleCheck:
    def __init__(self, allowed: tuple[Role, ...]) -> None:
        self.allowed = allowed

    def __call__(self, who: Identity = Depends(identity)) -> Identity:  # noqa: B008
        if who.role not in self.allowed:
            raise HTTPException(403, f"the {who.role.value} role may not use this route")
        return who


def roles(*allowed: Role) -> dict[str, Any]:
    """Route keyword arguments that require one of ``allowed`` (dependency + OpenAPI note)."""
    return {
        "dependencies": [Depends(_RoleCheck(allowed))],
        "openapi_extra": {"x-required-roles": [r.value for r in allowed]},
    }
