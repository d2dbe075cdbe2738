"""Service settings: where the data live, limits, and the identity providers trusted."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from precisionrx.security.home import default_home
from precisionrx.security.oidc_login import OidcClient
from precisionrx.security.tokens import OidcSettings

__all__ = ["MB", "ServiceSettings", "default_home"]

MB = 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    home: Path
    #: SQLAlchemy URL; None: the embedded SQLite database in ``home``.
    database: str | None = None
    oidc: OidcSettings | None = None
    #: This service as a client of ``oidc``'s provider: enables the code-flow sign-in of the web
    #: pages (``serve --oidc-client-id``). None: tokens are pasted at ``/login``.
    oidc_client: OidcClient | None = None
    #: What treatment use is when a patient has no consent on file (research is always denied).
    treatment_default: Literal["permit", "deny"] = "permit"
    max_upload_bytes: int = 512 * MB
    max_json_bytes: int = 2 * MB
    max_json_depth: int = 32
    #: Requests per second per token (token bucket; ``burst`` requests at once).
    rate_per_second: float = 200.0
    burst: int = 400
    #: Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    #: Plan jobs run at once (in-process worker threads).
    workers: int = 1
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: CDS Hooks clients trusted (issuer -> JWK Set, ``serve --cds-trusted``); None: every CDS
    #: route answers 401.
    cds_trusted: Mapping[str, Mapping[str, Any]] | None = None
    #: The service's public base URL (``serve --public-url``): CDS client JWTs must name
    #: ``<public_url>/cds-services/<id>`` as ``aud``. None: the URL the request was sent to.
    public_url: str | None = None
