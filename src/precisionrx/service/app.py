"""The FastAPI application of ``precisionrx serve``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from precisionrx import __version__
from precisionrx.service.settings import ServiceSettings
from precisionrx.service.state import ServiceState

#: Headers on every response (OWASP ASVS V3/V14: no sniffing, no framing, no caching of PHI).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # The HTML reports are self-contained: inline styles and data: images, no scripts.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


def open_state(settings: ServiceSettings) -> ServiceState:
    """Open the store (migrating it), the keys, the token verifier and the job runner."""
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.security.crypto import load_master_key
    from precisionrx.security.tokens import LocalIssuer, TokenVerifier
    from precisionrx.service.jobs import JobRunner
    from precisionrx.storage.store import Store

    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    master = load_master_key(settings.home, settings.environ)
    store = Store.open(settings.home, master, settings.database)
    verifier = TokenVerifier(LocalIssuer.load_or_create(settings.home), settings.oidc)
    kb = KnowledgeBase()
    return ServiceState(settings, store, verifier, kb, JobRunner(store, kb, settings.workers))


def _warm_cds(service: ServiceState) -> None:
    """Load what the CDS Hooks check reads before the first call, then move it out of the
    cyclic garbage collector's reach (as plan jobs do for the knowledge base: a collection
    triggered by request traffic would otherwise rescan it)."""
    import gc

    from precisionrx.plan.cds_check import warm

    warm(service.kb)
    gc.collect()
    gc.freeze()


def _depth(value: object, limit: int) -> bool:
    """Is the JSON value nested no deeper than ``limit``? (iterative: no recursion limit)"""
    stack = [(value, 1)]
    while stack:
        item, d = stack.pop()
        if d > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return True


def create_app(settings: ServiceSettings, state: ServiceState | None = None) -> FastAPI:
    """The application; ``state`` (tests) or one opened from ``settings`` at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = state or open_state(settings)
        app.state.service = service
        if service.cds.enabled:
            _warm_cds(service)
        service.runner.resume()
        try:
            yield
        finally:
            service.runner.shutdown()
            if state is None:
                service.store.close()

    app = FastAPI(
        title="precisionrx",
        version=__version__,
        description="Personalised treatment plans as a service: patient store, consent, "
        "encryption at rest, audit. Decision support only.",
        lifespan=lifespan,
    )
    if state is not None:
        app.state.service = state
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Purpose-Of-Use"],
        )

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await _guarded(request, call_next, settings)
        if not request.url.path.startswith(("/api/", "/cds-services")):
            # web pages: a form post must carry its Origin (Chromium sends "Origin: null"
            # under no-referrer), and no URL leaves for another site
            response.headers.setdefault("Referrer-Policy", "same-origin")
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    from precisionrx.service import (
        routes_admin,
        routes_cds,
        routes_fhir_ops,
        routes_medcheck,
        routes_patients,
        routes_plans,
        routes_web,
        routes_web_new_patient,
    )

    app.include_router(routes_patients.router, prefix="/api/v1")
    app.include_router(routes_plans.router, prefix="/api/v1")
    app.include_router(routes_admin.router, prefix="/api/v1")
    app.include_router(routes_fhir_ops.router, prefix="/api/v1")
    app.include_router(routes_medcheck.router, prefix="/api/v1")
    app.include_router(routes_cds.router)
    app.include_router(routes_web_new_patient.router)  # before /patients/{patient_id}
    app.include_router(routes_web.router)

    @app.get("/health", tags=["service"], openapi_extra={"x-required-roles": []})
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/ready",
        tags=["service"],
        openapi_extra={"x-required-roles": []},
        responses={503: {"description": "the database does not answer"}},
    )
    def ready(request: Request) -> JSONResponse:
        """Readiness: the database answers."""
        ok = request.app.state.service.store.ready()
        return JSONResponse(
            {"status": "ready" if ok else "unavailable"}, status_code=200 if ok else 503
        )

    return app


async def _guarded(
    request: Request, call_next: Callable[[Request], Awaitable[Response]], settings: ServiceSettings
) -> Response:
    """Limits before any handler: request rate per token, body size, JSON size and depth."""
    auth = request.headers.get("authorization")
    if auth and request.url.path.startswith(("/api/", "/cds-services")):
        key = hashlib.sha256(auth.encode()).hexdigest()
        if not request.app.state.service.limiter.allow(key):
            return JSONResponse(
                {"detail": "too many requests"}, status_code=429, headers={"Retry-After": "1"}
            )
    length = request.headers.get("content-length")
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            return JSONResponse({"detail": "bad Content-Length"}, status_code=400)
        if size > settings.max_upload_bytes:
            return JSONResponse({"detail": "request too large"}, status_code=413)
    ctype = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT") and ctype.startswith("application/") and "json" in ctype:
        body = await request.body()
        if len(body) > settings.max_json_bytes:
            return JSONResponse({"detail": "JSON body too large"}, status_code=413)
        if body:
            try:
                parsed = json.loads(body, parse_constant=_no_constant)
            except (ValueError, UnicodeDecodeError):
                return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
            if not _depth(parsed, settings.max_json_depth):
                return JSONResponse({"detail": "JSON nested too deeply"}, status_code=400)
    return await call_next(request)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
