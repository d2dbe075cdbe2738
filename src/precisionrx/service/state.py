"""What the running service holds, and the two checks every patient route makes: may this
identity reach this patient (else 404, so ids cannot be probed), and does the patient's
consent permit this use (else 403). Both decisions are audited."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException

from precisionrx.errors import AccessDenied
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.security.consent import ConsentRequest, decide, parse_consents
from precisionrx.security.oidc_login import ProviderEndpoints
from precisionrx.security.tokens import Identity, Role, TokenVerifier
from precisionrx.service.cds_clients import CdsClients
from precisionrx.service.jobs import JobRunner
from precisionrx.service.settings import ServiceSettings
from precisionrx.storage.store import Store

#: Security labels of the data a route touches (v3 ActCode: GDIS genetic disease information,
#: PSY psychiatry; research notes interop.md section 3).
GENOMIC = ("GDIS",)
PSYCHIATRIC = ("PSY",)

#: Purposes of use a request may state (header ``X-Purpose-Of-Use``; v3-ActReason).
TREATMENT_PURPOSES = ("TREAT", "ETREAT")


def actor_name(who: Identity, store: Store) -> str:
    """How the audit trail names the actor: staff by user name, a patient by pseudonym."""
    if who.role is Role.patient:
        return f"patient:{store.keys.patient_pseudonym(who.patient or who.subject)}"
    return who.subject


def consent_actor(who: Identity) -> str:
    """The FHIR reference a consent's ``provision.actor`` names this identity by: staff as
    ``Practitioner/<token sub>`` (the user name of ``precisionrx token --user``, or the
    identity provider's subject), a patient as ``Patient/<id>``."""
    if who.role is Role.patient and who.patient:
        return f"Patient/{who.patient}"
    return f"Practitioner/{who.subject}"


@dataclass
class RateLimiter:
    """A token bucket per bearer token (requests per second, ``burst`` at once)."""

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> bool:
        t = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), t))
            tokens = min(float(self.burst), tokens + (t - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, t)
                return False
            self._buckets[key] = (tokens - 1.0, t)
            if len(self._buckets) > 100_000:  # forget idle clients
                self._buckets.clear()
            return True


class ServiceState:
    def __init__(
        self,
        settings: ServiceSettings,
        store: Store,
        verifier: TokenVerifier,
        kb: KnowledgeBase,
        runner: JobRunner,
    ) -> None:
        self.settings = settings
        self.store = store
        self.verifier = verifier
        self.kb = kb
        self.runner = runner
        self.limiter = RateLimiter(settings.rate_per_second, settings.burst)
        self._seen_tokens: set[str] = set()
        self._seen_lock = threading.Lock()
        #: CDS Hooks clients trusted (none: the CDS routes answer 401).
        self.cds = CdsClients(settings.cds_trusted)
        #: Stored plan id -> its PGx result as the CDS services use it (plans never change).
        self.cds_plan_cache: dict[str, Any] = {}
        #: Seals the cookie of an OpenID Connect sign-in in progress (this process only).
        self.login_key = secrets.token_bytes(32)
        self._oidc_endpoints: ProviderEndpoints | None = None

    def oidc_endpoints(self) -> ProviderEndpoints:
        """The OpenID Connect provider's endpoints (discovered once, then kept)."""
        from precisionrx.security.oidc_login import discover

        if self._oidc_endpoints is None:
            if self.settings.oidc is None:  # pragma: no cover - callers check
                raise AccessDenied("no OpenID Connect provider is configured")
            self._oidc_endpoints = discover(self.settings.oidc.issuer)
        return self._oidc_endpoints

    # -- audit helpers ----------------------------------------------------------------------

    def audit_login(self, who: Identity | None, outcome: str, detail: str) -> None:
        """Authentication: every failure, and the first use of each token (in this process)."""
        if who is not None:
            key = who.token_id or f"{who.issuer}|{who.subject}"
            with self._seen_lock:
                if key in self._seen_tokens:
                    return
                self._seen_tokens.add(key)
        self.store.audit(
            actor=actor_name(who, self.store) if who else "anonymous",
            role=who.role.value if who else "none",
            patient_id=None,
            action="login",
            purpose=None,
            outcome=outcome,
            detail=detail[:200],
        )

    def audit(
        self,
        who: Identity,
        action: str,
        *,
        patient_id: str | None = None,
        purpose: str | None = None,
        outcome: str = "success",
        detail: str = "",
    ) -> None:
        self.store.audit(
            actor=actor_name(who, self.store),
            role=who.role.value,
            patient_id=patient_id,
            action=action,
            purpose=purpose,
            outcome=outcome,
            detail=detail,
        )

    # -- access ------------------------------------------------------------------------------

    def reachable(self, who: Identity, patient_id: str, action: str) -> None:
        """404 unless the identity may reach the patient: a clinician of the patient's
        organisation, or the patient themself. Nothing tells an unreachable id from a
        missing one."""
        meta = self.store.patient_meta(patient_id)
        ok = meta is not None and (
            (who.role is Role.clinician and meta[1] == who.organisation)
            or (who.role is Role.patient and who.patient == patient_id)
        )
        if not ok:
            self.audit(
                who,
                action,
                patient_id=patient_id if meta else None,
                outcome="denied",
                detail="patient not reachable by this identity",
            )
            raise HTTPException(404, "no such patient")

    def consent_gate(
        self,
        who: Identity,
        patient_id: str,
        *,
        purpose: str,
        action: str,
        consent_action: str,
        resource_type: str,
        labels: tuple[str, ...] = (),
    ) -> None:
        """403 unless the patient's consent permits this use. A patient's own access needs no
        consent (right of access). Break-glass (ETREAT) is permitted, flagged and audited."""
        if who.role is Role.patient:
            return
        decision = self.decision(
            patient_id,
            actor=consent_actor(who),
            purpose=purpose,
            action=consent_action,
            resource_type=resource_type,
            labels=labels,
        )
        outcome = "success" if decision.decision == "PERMIT" else "denied"
        detail = f"consent {decision.decision}: {decision.reason}"[:300]
        if getattr(decision, "break_glass", False):
            detail = "BREAK-GLASS " + detail
        self.audit(
            who,
            "consent.decide",
            patient_id=patient_id,
            purpose=purpose,
            outcome=outcome,
            detail=detail,
        )
        if outcome != "success":
            self.audit(
                who,
                action,
                patient_id=patient_id,
                purpose=purpose,
                outcome="denied",
                detail="consent",
            )
            raise HTTPException(
                403, f"the patient's consent does not permit this: {decision.reason}"
            )

    def decision(
        self,
        patient_id: str,
        *,
        actor: str | None,
        purpose: str,
        action: str,
        resource_type: str,
        labels: tuple[str, ...],
        stored: list[dict[str, Any]] | None = None,
    ) -> Any:
        """The consent decision; ``stored``: the patient's consents when already read."""
        held = self.store.consents(patient_id) if stored is None else stored
        consents = parse_consents(held, source="stored consents")
        request = ConsentRequest(
            patient=f"Patient/{patient_id}",
            actor=actor,
            purpose=purpose,
            action=action,
            resource_type=resource_type,
            security_labels=labels,
            at=datetime.now(UTC),
        )
        return decide(consents, request, treatment_default=self.settings.treatment_default)
