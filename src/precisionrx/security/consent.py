"""Consent decisions over FHIR R4 ``Consent`` resources: may this actor do this, for this
purpose, with this patient's data, at this instant?

Pure: no I/O and no wall clock (the instant of a request is always given). The model follows
FHIR R4 Consent (http://hl7.org/fhir/R4/consent.html): ``status``, ``patient``, ``dateTime``,
``policyRule``, ``scope``, ``category`` and the ``provision`` tree, whose root gives the base
rule and whose nested provisions are exceptions (``Consent.provision.provision``). Codes:

- purpose of use: HL7 v3-ActReason (http://terminology.hl7.org/CodeSystem/v3-ActReason,
  version 3.1.0 in HL7 Terminology (THO) 7.0.1), the ``PurposeOfUse`` is-a hierarchy in
  :data:`PURPOSE_PARENT`;
- security labels: HL7 v3-ActCode information sensitivity codes (GDIS, PSY, ETH, HIV ...;
  http://terminology.hl7.org/CodeSystem/v3-ActCode, version 9.0.0 in THO 7.0.1) and
  v3-Confidentiality (N, R, V ...);
- actions: http://terminology.hl7.org/CodeSystem/consentaction (collect, access, use,
  disclose, correct);
- base policy: the v3-ActCode consent directives OPTIN / OPTINR (assent) and OPTOUT /
  OPTOUTE (dissent).

The decision rules, in order (docs/cli/consent.md states them for users):

1. Only consents for the request's patient, with ``status`` ``active``, dated (``dateTime``) at
   or before the request's instant, whose root provision's conditions all match the request
   (its ``period`` contains the instant, and its actor, action, purpose, security label, class
   conditions, when stated, match) apply. Revocation is a newer consent, or the old consent
   made ``inactive`` / ``rejected``: either takes effect for the next decision.
2. Among applicable consents the newest wins: latest ``dateTime``, then the later one in the
   input order (undated consents count as older than any dated one).
3. Within the winning consent the deepest matching provision decides: a nested provision is
   considered only when its parent matched, and matches when every condition it states matches
   the request. Among equally deep matches a deny wins over a permit. When no nested provision
   matches, the base rule decides: the root ``provision.type`` or, when the root states none,
   the ``policyRule`` (OPTIN/OPTINR permit, OPTOUT/OPTOUTE deny).
4. Break-glass: a request whose purpose is emergency treatment (ETREAT or a code under it:
   BTG, ERTREAT) is permitted over a deny, with ``break_glass`` set; the caller must audit it.
5. No applicable consent: a treatment purpose (TREAT or any code under it) gets the
   deployment's ``treatment_default``: ``"permit"`` gives PERMIT (consent ``None``), ``"deny"``
   gives NO_CONSENT (except break-glass, rule 4). Every other purpose (research: HRESCH,
   CLINTRCH ...; operations, payment, public health, patient-requested ...) gives NO_CONSENT,
   which callers treat as a denial.

The Consent model, its reader and the code tables live in
:mod:`precisionrx.security._consent_model` and are re-exported here.

Conditions a request cannot carry (``code``, ``data``, ``dataPeriod``: record-level criteria)
never match, so a provision stating them does not decide a class-level request.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from precisionrx.errors import InputError
from precisionrx.security._consent_model import (
    ACT_REASON,
    ACTIONS,
    CONSENT_ACTION,
    LABEL_PARENT,
    PURPOSE_PARENT,
    PURPOSE_TREE,
    Actor,
    Coding,
    Consent,
    DataRef,
    FhirTime,
    Period,
    Provision,
    ProvisionType,
    is_break_glass,
    is_treatment,
    normalise_reference,
    parse_consent,
    parse_consents,
    parse_fhir_time,
    patient_reference,
    purpose_lineage,
)

__all__ = [
    "ACTIONS",
    "PURPOSE_PARENT",
    "PURPOSE_TREE",
    "Actor",
    "Coding",
    "Consent",
    "ConsentDecision",
    "ConsentRequest",
    "DataRef",
    "DecisionCode",
    "FhirTime",
    "Period",
    "Provision",
    "ProvisionType",
    "decide",
    "describe",
    "is_break_glass",
    "is_treatment",
    "parse_consent",
    "parse_consents",
    "parse_fhir_time",
    "parse_request",
    "permits",
    "purpose_lineage",
]

DecisionCode = Literal["PERMIT", "DENY", "NO_CONSENT"]

# --------------------------------------------------------------------------- requests

REQUEST_KEYS: Final = (
    "patient", "actor", "actor_role", "purpose", "action", "resource_type", "security_labels",
    "at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What is asked: ``actor`` (a reference such as ``Practitioner/7``, or None) wants to
    ``action`` (consentaction code) data of ``patient`` of type ``resource_type`` carrying
    ``security_labels``, for ``purpose`` (v3-ActReason), at the instant ``at``.

    ``actor_role`` (a role code such as v3-ParticipationType ``PRCP``) lets provisions that
    name an actor by role only match. Values are checked and normalised on construction
    (purpose upper case, action lower case, patient as ``Patient/id``, ``at`` in UTC); an
    unknown purpose or action, or an ``at`` without a UTC offset, raises ``InputError``.
    """

    patient: str
    actor: str | None
    purpose: str
    action: str
    resource_type: str | None
    security_labels: tuple[str, ...]
    at: datetime
    actor_role: str | None = None

    def __post_init__(self) -> None:
        if not self.patient.strip():
            raise InputError("request: patient is empty")
        purpose = self.purpose.strip().upper()
        if purpose not in PURPOSE_PARENT:
            close = difflib.get_close_matches(purpose, PURPOSE_PARENT, n=3)
            raise InputError(
                f"request: purpose {self.purpose!r} is not a v3-ActReason purpose of use",
                hint=f"did you mean {' or '.join(close)}?" if close else "e.g. TREAT, HRESCH",
            )
        action = self.action.strip().lower()
        if action not in ACTIONS:
            raise InputError(f"request: action {self.action!r} is not one of {', '.join(ACTIONS)}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InputError("request: at has no UTC offset", hint="end it with Z or +hh:mm")
        labels = tuple(dict.fromkeys(s.strip().upper() for s in self.security_labels if s.strip()))
        object.__setattr__(self, "patient", patient_reference(self.patient))
        object.__setattr__(self, "actor", normalise_reference(self.actor) if self.actor else None)
        object.__setattr__(self, "purpose", purpose)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "resource_type", (self.resource_type or "").strip() or None)
        object.__setattr__(self, "security_labels", labels)
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "actor_role", (self.actor_role or "").strip() or None)


def parse_request(obj: Any, *, source: str | None = None) -> ConsentRequest:
    """A :class:`ConsentRequest` from ``{"patient", "actor", "purpose", "action",
    "resource_type", "security_labels": [], "at"}`` (``actor_role`` optional).

    ``at`` is required (never the wall clock): a FHIR dateTime with ``Z`` or an offset, or a
    date (midnight UTC). Unknown keys are refused, so a misspelt ``security_labels`` cannot
    silently drop the labels that a deny depends on.
    """

    def fail(problem: str, hint: str | None = None) -> InputError:
        return InputError(problem, path=source, record="request", hint=hint)

    if not isinstance(obj, dict):
        raise fail(f"expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(REQUEST_KEYS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], REQUEST_KEYS, n=1)
        raise fail(
            f"unknown key(s) {', '.join(unknown)}",
            hint=f"did you mean {close[0]}?" if close else f"keys: {', '.join(REQUEST_KEYS)}",
        )

    def text(key: str, *, required: bool) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                hint = (
                    "the instant of the request; never taken from the clock"
                    if key == "at"
                    else None
                )
                raise fail(f"{key} is missing", hint)
            return None
        if not isinstance(value, str):
            raise fail(f"{key}: expected a string, got {type(value).__name__}")
        return value

    labels = obj.get("security_labels") or []
    if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
        raise fail("security_labels: expected a list of strings")
    at_text = text("at", required=True)
    assert at_text is not None
    try:
        at = parse_fhir_time(at_text).start
    except ValueError as exc:
        raise fail(f"at: {at_text!r} is {exc}") from None
    try:
        return ConsentRequest(
            patient=text("patient", required=True) or "",
            actor=text("actor", required=False),
            purpose=text("purpose", required=True) or "",
            action=text("action", required=True) or "",
            resource_type=text("resource_type", required=False),
            security_labels=tuple(labels),
            at=at,
            actor_role=text("actor_role", required=False),
        )
    except InputError as exc:
        raise fail(exc.message.removeprefix("request: "), exc.hint) from None


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """The outcome: PERMIT, DENY or NO_CONSENT (a denial: nothing permits it), why in plain
    words, the id of the deciding consent, and whether break-glass overrode a denial."""

    decision: DecisionCode
    reason: str
    consent: str | None = None
    break_glass: bool = False

    def as_dict(self) -> dict[str, Any]:
        """``{"decision", "reason", "consent"}``, plus ``"break_glass": true`` when set."""
        out: dict[str, Any] = {
            "decision": self.decision,
            "reason": self.reason,
            "consent": self.consent,
        }
        if self.break_glass:
            out["break_glass"] = True
        return out


def permits(decision: ConsentDecision) -> bool:
    """True only for PERMIT (break-glass included); DENY and NO_CONSENT refuse."""
    return decision.decision == "PERMIT"


def _codes(codings: Iterable[Coding], *systems: str) -> set[str]:
    return {c.code for c in codings if c.system is None or c.system in systems}


def _actor_matches(actors: Sequence[Actor], request: ConsentRequest) -> bool:
    """An actor with a reference matches that reference (its role only says how it takes
    part); an actor given by role alone matches a request with that role."""
    for actor in actors:
        if actor.reference is not None:
            if actor.reference == request.actor:
                return True
        elif request.actor_role is not None and any(
            r.code == request.actor_role for r in actor.roles
        ):
            return True
    return False


def _label_matches(labels: Sequence[Coding], request: ConsentRequest) -> bool:
    named = {c.code.upper() for c in labels}
    return any(
        label in named or LABEL_PARENT.get(label) in named for label in request.security_labels
    )


def _matches(p: Provision, request: ConsentRequest) -> bool:
    """Every condition that ``p`` states matches the request."""
    if p.period is not None and not p.period.contains(request.at):
        return False
    if p.actors and not _actor_matches(p.actors, request):
        return False
    if p.actions and request.action not in _codes(p.actions, CONSENT_ACTION):
        return False
    if p.purposes:
        named = _codes(
            p.purposes, ACT_REASON, "http://terminology.hl7.org/CodeSystem/v3-PurposeOfUse"
        )
        if not named.intersection(purpose_lineage(request.purpose)):
            return False
    if p.security_labels and not _label_matches(p.security_labels, request):
        return False
    if p.classes and request.resource_type not in {c.code for c in p.classes}:
        return False
    # record-level conditions: the request names no record, so they never match
    return not (p.codes or p.data or p.data_period)


@dataclass(frozen=True, slots=True)
class _Hit:
    depth: int
    type: ProvisionType
    provision: Provision
    path: str


def _deepest(p: Provision, kind: ProvisionType, request: ConsentRequest, depth: int,
             path: str) -> _Hit:  # fmt: skip
    """The deepest matching provision under ``p`` (which matched); deny wins a tie."""
    hits = [
        _deepest(child, child.type or kind, request, depth + 1, f"{path}.provision[{k}]")
        for k, child in enumerate(p.provisions)
        if _matches(child, request)
    ]
    if not hits:
        return _Hit(depth, kind, p, path)
    return max(hits, key=lambda h: (h.depth, h.type == "deny"))


def describe(p: Provision) -> str:
    """The conditions of a provision in words (``"action disclose, data labelled GDIS"``)."""
    parts = []
    if p.actors:
        who = [a.reference or "role " + "/".join(r.code for r in a.roles) for a in p.actors]
        parts.append("actor " + " or ".join(who))
    for name, codings in (
        ("action", p.actions),
        ("purpose", p.purposes),
        ("data labelled", p.security_labels),
        ("resource type", p.classes),
        ("code", p.codes),
    ):
        if codings:
            parts.append(f"{name} " + " or ".join(dict.fromkeys(c.code for c in codings)))
    if p.data:
        parts.append("record " + " or ".join(d.reference or "?" for d in p.data))
    if p.period:
        parts.append(f"period {p.period.describe()}")
    if p.data_period:
        parts.append(f"data from {p.data_period.describe()}")
    return ", ".join(parts) or "no conditions"


def _skip_reason(c: Consent, request: ConsentRequest) -> str | None:
    if c.status != "active":
        return "inactive" if c.status in ("inactive", "rejected") else f"status {c.status}"
    if c.date_time is not None and c.date_time.start > request.at:
        return "dated after the request"
    base = c.provision
    if base.period is not None and not base.period.contains(request.at):
        return "outside its period"
    if not _matches(base, request):
        return "about other actors, actions, purposes or data"
    return None


def _dated(c: Consent) -> str:
    return f" of {c.date_time.text}" if c.date_time else ""


def decide(
    consents: Iterable[Consent],
    request: ConsentRequest,
    *,
    treatment_default: Literal["permit", "deny"] = "permit",
) -> ConsentDecision:
    """The consent decision for ``request`` (rules in the module docstring).

    >>> c = parse_consent({"resourceType": "Consent", "id": "c1", "status": "active",
    ...     "patient": {"reference": "Patient/p1"}, "dateTime": "2024-01-01",
    ...     "provision": {"type": "deny"}})
    >>> r = parse_request({"patient": "p1", "purpose": "HRESCH", "action": "use",
    ...     "at": "2024-06-01T12:00:00Z"})
    >>> decide([c], r).as_dict()["decision"]
    'DENY'
    """
    if treatment_default not in ("permit", "deny"):
        raise InputError(f"treatment_default {treatment_default!r} is not permit or deny")
    mine = [(k, c) for k, c in enumerate(consents) if c.patient == request.patient]
    skipped: Counter[str] = Counter()
    applicable: list[tuple[int, Consent]] = []
    for k, c in mine:
        why = _skip_reason(c, request)
        if why is None:
            applicable.append((k, c))
        else:
            skipped[why] += 1
    if applicable:
        return _from_consent(applicable, request)
    if mine:
        detail = "; ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        none = f"none of the {len(mine)} consent(s) of {request.patient} applies ({detail})"
    else:
        none = f"no consent of {request.patient} is on file"
    purpose = request.purpose
    if is_treatment(purpose) and treatment_default == "permit":
        return ConsentDecision(
            "PERMIT",
            f"{none}; treatment purpose {purpose}: the deployment default for treatment "
            "(permit) applied",
        )
    if is_break_glass(purpose):
        return ConsentDecision(
            "PERMIT",
            f"break-glass: {none} and the deployment default for treatment is deny, but "
            f"emergency treatment ({purpose}) overrides it; this access must be audited",
            break_glass=True,
        )
    if is_treatment(purpose):
        return ConsentDecision(
            "NO_CONSENT",
            f"{none}; the deployment default for treatment is deny, so {purpose} is not permitted",
        )
    kind = "research" if "HRESCH" in purpose_lineage(purpose) else "this purpose"
    return ConsentDecision(
        "NO_CONSENT",
        f"{none}; {kind} ({purpose}) needs a consent that permits it, so it is denied",
    )


def _from_consent(
    applicable: list[tuple[int, Consent]], request: ConsentRequest
) -> ConsentDecision:
    def newest(item: tuple[int, Consent]) -> tuple[datetime, int]:
        k, c = item
        return (c.date_time.start if c.date_time else datetime.min.replace(tzinfo=UTC), k)

    _, c = max(applicable, key=newest)
    hit = _deepest(c.provision, c.base, request, 0, "provision")
    which = f"newest of {len(applicable)} applicable consents, " if len(applicable) > 1 else ""
    if hit.depth == 0:
        rule = f"its base rule ({hit.type}) applies and no exception matches"
    else:
        rule = f"the exception at {hit.path} ({hit.type} when {describe(hit.provision)}) matches"
    head = f"{c.label}{_dated(c)} ({which}{request.action} for {request.purpose})"
    if hit.type == "permit":
        return ConsentDecision("PERMIT", f"{head} permits it: {rule}", c.id)
    if is_break_glass(request.purpose):
        return ConsentDecision(
            "PERMIT",
            f"break-glass: {head} denies it, as {rule}; emergency treatment "
            f"({request.purpose}) overrides the deny and this access must be audited",
            c.id,
            break_glass=True,
        )
    return ConsentDecision("DENY", f"{head} denies it: {rule}", c.id)
