"""Which CDS Hooks clients the service trusts, and the check of their JWTs.

``serve --cds-trusted ISSUERS.json`` names the clients: issuer -> JWK Set, the file format of
``precisionrx cds check-jwt`` (security/cds_jwt.py). An issuer's JWK Set may carry the extra
member ``"precisionrx_organisation": "<organisation>"`` (RFC 7517 section 5 lets a JWK Set
have members a reader does not know): a client so marked may have its patients' stored
precisionrx results used in its cards, as a clinician of that organisation could; an unmarked
client gets cards only from the data its request carries (prefetch or its FHIR server).

The JWT's ``aud`` must be the service's URL: ``<public URL>/cds-services/<id>``, the public URL
being ``serve --public-url`` or, when that is not set, the base URL the request was sent to
(set ``--public-url`` behind a proxy). One verifier per audience keeps its own ``jti`` replay
cache.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from precisionrx.security.cds_jwt import CdsJwtVerifier, JwtCheck

ORGANISATION_MEMBER = "precisionrx_organisation"


@dataclass(frozen=True)
class CdsClient:
    """An authenticated CDS client."""

    issuer: str
    organisation: str | None
    claims: Mapping[str, Any]


class CdsClients:
    def __init__(self, trusted: Mapping[str, Mapping[str, Any]] | None) -> None:
        """``trusted``: issuer -> JWK Set (already checked by ``load_trusted_issuers``, or
        checked here: InputError on a bad map)."""
        self.trusted = dict(trusted) if trusted else {}
        self.enabled = bool(self.trusted)
        self._verifiers: dict[str, CdsJwtVerifier] = {}
        self._lock = threading.Lock()
        if self.enabled:  # a bad map fails at start-up, not at the first call
            CdsJwtVerifier(self.trusted, "https://check.invalid/")

    def organisation(self, issuer: str) -> str | None:
        value = self.trusted.get(issuer, {}).get(ORGANISATION_MEMBER)
        return value if isinstance(value, str) and value else None

    def _verifier(self, audience: str) -> CdsJwtVerifier:
        with self._lock:
            found = self._verifiers.get(audience)
            if found is None:
                if len(self._verifiers) > 64:  # audiences from Host headers: keep it bounded
                    self._verifiers.clear()
                found = CdsJwtVerifier(self.trusted, audience)
                self._verifiers[audience] = found
            return found

    def check(self, authorization: str | None, audience: str) -> tuple[CdsClient | None, str]:
        """(client, "ok"), or (None, why the call is refused)."""
        if not self.enabled:
            return None, "this service trusts no CDS client (serve --cds-trusted)"
        if not authorization:
            return None, "missing Authorization: Bearer <JWT>"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "the Authorization header must be 'Bearer <JWT>'"
        verdict: JwtCheck = self._verifier(audience).check(token.strip())
        if not verdict.accepted or verdict.issuer is None:
            return None, verdict.reason
        client = CdsClient(verdict.issuer, self.organisation(verdict.issuer), verdict.claims or {})
        return client, "ok"
