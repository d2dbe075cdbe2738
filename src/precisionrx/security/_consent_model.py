"""FHIR R4 Consent resources read into a small typed model, and the vocabularies decisions use.

The reading side of :mod:`precisionrx.security.consent` (which re-exports everything public
here): FHIR R4 Consent (http://hl7.org/fhir/R4/consent.html) ``status``, ``patient``,
``dateTime``, ``policyRule``, ``scope``, ``category`` and the ``provision`` tree; FHIR
``date``/``dateTime``/``Period`` semantics (http://hl7.org/fhir/R4/datatypes.html#dateTime,
#Period); the HL7 Terminology (THO 7.0.1) code systems v3-ActReason 3.1.0 (purpose of use),
v3-ActCode 9.0.0 (security labels, consent directives) and consentaction.

Reading is lenient about what does not change a decision (unknown elements, display-only
codings in ``scope``/``category``/``policyRule``, a lone object where FHIR has a list) and strict
about what does: a resource that is not a Consent, an unknown ``status``, a provision type other
than permit/deny (or none on a nested provision), a bad date or period, a decision criterion
without a code (skipping it would widen the provision), or a consent whose base rule cannot be
told. Each raises :class:`~precisionrx.errors.InputError` naming the consent and the element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, Literal

from precisionrx.errors import InputError

ProvisionType = Literal["permit", "deny"]

ACT_REASON: Final = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONSENT_ACTION: Final = "http://terminology.hl7.org/CodeSystem/consentaction"

#: The v3-ActReason ``PurposeOfUse`` hierarchy (is-a, ``subsumedBy``) as parent -> children;
#: ``None`` holds the top-level purposes. Transcribed from CodeSystem v3-ActReason 3.1.0 (HL7
#: Terminology 7.0.1, http://terminology.hl7.org/CodeSystem-v3-ActReason.html); selectable codes
#: only.
PURPOSE_TREE: Final[Mapping[str | None, tuple[str, ...]]] = {
    None: ("HMARKT", "HOPERAT", "HPAYMT", "HRESCH", "PATRQT", "PUBHLTH", "TREAT"),
    "HOPERAT": (
        "CAREMGT", "DONAT", "FRAUD", "GOV", "HACCRED", "HCOMPL", "HDECD", "HDIRECT", "HDM",
        "HLEGAL", "HOUTCOMS", "HPRGRP", "HQUALIMP", "HSYSADMIN", "MEMADMIN", "MILCDM",
        "MLTRAINING", "PATADMIN", "PATSFTY", "PERFMSR", "RECORDMGT", "SYSDEV", "TRAIN",
    ),
    "HSYSADMIN": ("LABELING", "METAMGT"),
    "SYSDEV": ("HTEST",),
    "HPAYMT": ("CLMATTCH", "COVAUTH", "COVERAGE", "PMTDS", "REMITADV"),
    "COVERAGE": ("ELIGDTRM", "ELIGVER", "ENROLLM", "MILDCRG"),
    "HRESCH": ("BIORCH", "CLINTRCH", "DSRCH", "POARCH", "TRANSRCH"),
    "CLINTRCH": ("CLINTRCHNPC", "CLINTRCHPC", "PRECLINTRCH"),
    "PATRQT": ("FAMRQT", "PWATRNY", "SUPNWK"),
    "PUBHLTH": ("DISASTER", "THREAT"),
    "TREAT": ("CLINTRL", "COC", "ETREAT", "POPHLTH", "TREATDS"),
    "ETREAT": ("BTG", "ERTREAT"),
}  # fmt: skip

#: Each purpose of use -> its parent (None for a top-level purpose), from :data:`PURPOSE_TREE`.
PURPOSE_PARENT: Final[Mapping[str, str | None]] = {
    child: parent for parent, children in PURPOSE_TREE.items() for child in children
}

#: Security labels under another (v3-ActCode 9.0.0: BH, MH, PSY, PSYTHPN and SUD are
#: ``subsumedBy`` SPI, "specially protected information sensitivity"). A provision naming SPI
#: covers data labelled PSY.
LABEL_PARENT: Final[Mapping[str, str]] = dict.fromkeys(("BH", "MH", "PSY", "PSYTHPN", "SUD"), "SPI")

#: consentaction codes (http://terminology.hl7.org/CodeSystem/consentaction).
ACTIONS: Final = ("collect", "access", "use", "disclose", "correct")

#: Consent.status (http://hl7.org/fhir/R4/valueset-consent-state-codes.html).
STATUSES: Final = ("draft", "proposed", "active", "rejected", "inactive", "entered-in-error")

#: policyRule codes (v3-ActCode ``_ActConsentDirective``) -> the base rule they imply.
POLICY_BASE: Final[Mapping[str, ProvisionType]] = {
    "OPTIN": "permit",
    "OPTINR": "permit",
    "OPTOUT": "deny",
    "OPTOUTE": "deny",
}

#: Deepest provision nesting read (deeper input is refused, not recursed into).
MAX_DEPTH: Final = 32


def purpose_lineage(code: str) -> tuple[str, ...]:
    """``code`` and every purpose above it in the v3-ActReason hierarchy, nearest first.

    >>> purpose_lineage("BTG")
    ('BTG', 'ETREAT', 'TREAT')
    """
    out = [code]
    parent = PURPOSE_PARENT.get(code)
    while parent is not None:
        out.append(parent)
        parent = PURPOSE_PARENT.get(parent)
    return tuple(out)


def is_treatment(purpose: str) -> bool:
    """TREAT or a purpose under it (ETREAT, BTG, COC, CLINTRL, POPHLTH, TREATDS ...)."""
    return "TREAT" in purpose_lineage(purpose)


def is_break_glass(purpose: str) -> bool:
    """Emergency treatment: ETREAT or a purpose under it (BTG "break the glass", ERTREAT)."""
    return "ETREAT" in purpose_lineage(purpose)


# --------------------------------------------------------------------------- FHIR date/times

_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_MAX = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FhirTime:
    """A FHIR ``date``/``dateTime`` as the interval it names: ``[start, end)`` in UTC.

    A partial date covers its whole year, month or day (FHIR Period: "2012-02-03T10:00:00 is in
    a period that has an end value of 2012-02-03"); a date without a time is read in UTC.
    """

    text: str
    start: datetime
    end: datetime


def parse_fhir_time(text: str) -> FhirTime:
    """A FHIR date or dateTime (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, or a date and time with
    ``Z`` or a UTC offset); ``ValueError`` otherwise (also for a time without an offset)."""
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        raise ValueError("not a FHIR date or dateTime (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if hour is not None and zone is None:
        raise ValueError("a time needs a UTC offset or Z")
    try:
        y = int(year)
        if month is None:
            start = datetime(y, 1, 1, tzinfo=UTC)
            return FhirTime(text, start, _shift(start, years=1))
        mo = int(month)
        if day is None:
            start = datetime(y, mo, 1, tzinfo=UTC)
            return FhirTime(text, start, _shift(start, months=1))
        if hour is None:
            start = datetime(y, mo, int(day), tzinfo=UTC)
            return FhirTime(text, start, _shift(start, days=1))
        micro = round(float(fraction) * 1_000_000) if fraction else 0
        assert zone is not None
        tz = UTC if zone == "Z" else _offset(zone)
        local = datetime(
            y, mo, int(day), int(hour), int(minute), int(second or 0), min(micro, 999_999), tz
        )
        start = local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a valid date or time ({exc})") from None
    step = (
        timedelta(microseconds=1)
        if fraction
        else timedelta(seconds=1)
        if second is not None
        else timedelta(minutes=1)
    )
    return FhirTime(text, start, _shift(start, delta=step))


def _offset(zone: str) -> timezone:
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(f"UTC offset {zone} out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _shift(
    start: datetime,
    *,
    years: int = 0,
    months: int = 0,
    days: int = 0,
    delta: timedelta | None = None,
) -> datetime:
    """``start`` moved forward; the end of time when that passes year 9999."""
    try:
        if years or months:
            total = start.year * 12 + start.month - 1 + years * 12 + months
            return start.replace(year=total // 12, month=total % 12 + 1)
        return start + (delta if delta is not None else timedelta(days=days))
    except (ValueError, OverflowError):
        return _MAX


@dataclass(frozen=True, slots=True)
class Period:
    """A FHIR Period: either bound may be open."""

    start: FhirTime | None = None
    end: FhirTime | None = None

    def contains(self, at: datetime) -> bool:
        """``at`` lies in the period (the end's whole day, month or year included)."""
        if self.start is not None and at < self.start.start:
            return False
        return self.end is None or at < self.end.end

    def describe(self) -> str:
        start = self.start.text if self.start else "any time"
        end = self.end.text if self.end else "open"
        return f"{start} to {end}"


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Coding:
    """A FHIR Coding reduced to what decisions use."""

    system: str | None
    code: str


@dataclass(frozen=True, slots=True)
class Actor:
    """``Consent.provision.actor``: a role (v3-ParticipationType ...) and a reference."""

    roles: tuple[Coding, ...]
    reference: str | None


@dataclass(frozen=True, slots=True)
class DataRef:
    """``Consent.provision.data``: ``meaning`` (instance | related | dependents | authoredby)."""

    meaning: str
    reference: str | None


@dataclass(frozen=True, slots=True)
class Provision:
    """One node of ``Consent.provision``; ``type`` is None only on a root that states none."""

    type: ProvisionType | None = None
    period: Period | None = None
    actors: tuple[Actor, ...] = ()
    actions: tuple[Coding, ...] = ()
    security_labels: tuple[Coding, ...] = ()
    purposes: tuple[Coding, ...] = ()
    classes: tuple[Coding, ...] = ()
    codes: tuple[Coding, ...] = ()
    data_period: Period | None = None
    data: tuple[DataRef, ...] = ()
    provisions: tuple[Provision, ...] = ()


@dataclass(frozen=True, slots=True)
class Consent:
    """A FHIR R4 Consent as decisions read it; ``base`` is the resolved base rule."""

    id: str | None
    status: str
    patient: str | None
    date_time: FhirTime | None
    base: ProvisionType
    provision: Provision
    policy_rules: tuple[Coding, ...] = ()
    scope: tuple[Coding, ...] = ()
    categories: tuple[Coding, ...] = ()

    @property
    def label(self) -> str:
        return f"consent {self.id}" if self.id else "a consent without id"


# --------------------------------------------------------------------------- parsing


def normalise_reference(text: str) -> str:
    """A literal reference as ``Type/id``: absolute URLs and ``/_history/n`` are reduced.

    >>> normalise_reference("https://example.org/fhir/Practitioner/f204/_history/2")
    'Practitioner/f204'
    """
    ref = text.strip()
    if "/_history/" in ref:
        ref = ref.split("/_history/", 1)[0]
    if "://" in ref:
        parts = [p for p in ref.split("/") if p]
        ref = "/".join(parts[-2:])
    return ref


def patient_reference(text: str) -> str:
    """A patient as ``Patient/id`` (a bare id is taken to be a Patient's)."""
    ref = normalise_reference(text)
    return ref if "/" in ref else f"Patient/{ref}"


class _Reader:
    """Parses one Consent, naming the consent and the element in every error."""

    def __init__(self, record: str, source: str | None) -> None:
        self.record = record
        self.source = source

    def fail(self, where: str, problem: str, hint: str | None = None) -> InputError:
        return InputError(f"{where}: {problem}", path=self.source, record=self.record, hint=hint)

    def items(self, value: Any, where: str) -> list[Any]:
        """A FHIR repeating element; a lone object is taken as a list of one."""
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return [value]
        raise self.fail(where, f"expected a list, got {type(value).__name__}")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type(value).__name__}")
        return value

    def text(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {type(value).__name__}")
        return value.strip() or None

    def coding(self, value: Any, where: str, *, required: bool) -> Coding | None:
        """A Coding; one without a code is an error in a decision criterion (it could not be
        matched, and skipping it would widen the provision), and skipped elsewhere."""
        item = self.obj(value, where)
        code = self.text(item.get("code"), f"{where}.code")
        if code is None:
            if required:
                raise self.fail(where, "a coding without a code cannot be matched")
            return None
        return Coding(self.text(item.get("system"), f"{where}.system"), code)

    def codings(self, value: Any, where: str, *, required: bool = True) -> tuple[Coding, ...]:
        out = []
        for k, item in enumerate(self.items(value, where)):
            c = self.coding(item, f"{where}[{k}]", required=required)
            if c is not None:
                out.append(c)
        return tuple(out)

    def concepts(self, value: Any, where: str, *, required: bool = True) -> tuple[Coding, ...]:
        """The codings of a list of CodeableConcepts, flattened."""
        out: list[Coding] = []
        for k, item in enumerate(self.items(value, where)):
            concept = self.obj(item, f"{where}[{k}]")
            found = self.codings(concept.get("coding"), f"{where}[{k}].coding", required=required)
            if not found and required:
                raise self.fail(
                    f"{where}[{k}]", "a concept without a coded value cannot be matched"
                )
            out.extend(found)
        return tuple(out)

    def reference(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        ref = self.text(self.obj(value, where).get("reference"), f"{where}.reference")
        return normalise_reference(ref) if ref else None

    def time(self, value: Any, where: str) -> FhirTime | None:
        text = self.text(value, where)
        if text is None:
            return None
        try:
            return parse_fhir_time(text)
        except ValueError as exc:
            raise self.fail(where, f"{text!r} is {exc}") from None

    def period(self, value: Any, where: str) -> Period | None:
        if value is None:
            return None
        item = self.obj(value, where)
        period = Period(
            self.time(item.get("start"), f"{where}.start"),
            self.time(item.get("end"), f"{where}.end"),
        )
        if period.start and period.end and period.end.end <= period.start.start:
            raise self.fail(
                where, f"ends ({period.end.text}) before it starts ({period.start.text})"
            )
        return period

    def actors(self, value: Any, where: str) -> tuple[Actor, ...]:
        out = []
        for k, item in enumerate(self.items(value, where)):
            here = f"{where}[{k}]"
            actor = self.obj(item, here)
            role = actor.get("role")
            roles = self.concepts([role] if role is not None else [], f"{here}.role")
            ref = self.reference(actor.get("reference"), f"{here}.reference")
            if ref is None and not roles:
                raise self.fail(here, "an actor needs a reference or a role")
            out.append(Actor(roles, ref))
        return tuple(out)

    def data(self, value: Any, where: str) -> tuple[DataRef, ...]:
        out = []
        for k, item in enumerate(self.items(value, where)):
            entry = self.obj(item, f"{where}[{k}]")
            meaning = self.text(entry.get("meaning"), f"{where}[{k}].meaning") or "instance"
            out.append(DataRef(meaning, self.reference(entry.get("reference"), f"{where}[{k}]")))
        return tuple(out)

    def provision(self, value: Any, where: str, depth: int) -> Provision:
        if depth > MAX_DEPTH:
            raise self.fail(where, f"provisions nested more than {MAX_DEPTH} deep")
        item = self.obj(value, where)
        raw = item.get("type")
        kind: ProvisionType | None
        if raw is None and depth > 0:
            raise self.fail(where, "a nested provision needs a type (permit or deny)")
        if raw is None:
            kind = None
        elif raw in ("permit", "deny"):
            kind = raw
        else:
            raise self.fail(f"{where}.type", f"{raw!r} is not permit or deny")
        children = self.items(item.get("provision"), f"{where}.provision")
        return Provision(
            type=kind,
            period=self.period(item.get("period"), f"{where}.period"),
            actors=self.actors(item.get("actor"), f"{where}.actor"),
            actions=self.concepts(item.get("action"), f"{where}.action"),
            security_labels=self.codings(item.get("securityLabel"), f"{where}.securityLabel"),
            purposes=self.codings(item.get("purpose"), f"{where}.purpose"),
            classes=self.codings(item.get("class"), f"{where}.class"),
            codes=self.concepts(item.get("code"), f"{where}.code"),
            data_period=self.period(item.get("dataPeriod"), f"{where}.dataPeriod"),
            data=self.data(item.get("data"), f"{where}.data"),
            provisions=tuple(
                self.provision(child, f"{where}.provision[{k}]", depth + 1)
                for k, child in enumerate(children)
            ),
        )

    def base(self, root: Provision, policy: tuple[Coding, ...]) -> ProvisionType:
        if root.type is not None:
            return root.type
        implied = {POLICY_BASE[c.code.upper()] for c in policy if c.code.upper() in POLICY_BASE}
        if len(implied) == 1:
            return implied.pop()
        problem = "policyRule is both opt-in and opt-out" if implied else "no base rule"
        raise self.fail(
            "provision.type",
            problem,
            hint="give provision.type (permit or deny) or a policyRule OPTIN or OPTOUT",
        )


def parse_consent(obj: Any, *, source: str | None = None, index: int | None = None) -> Consent:
    """One FHIR R4 Consent resource (a dict of its JSON) as a :class:`Consent`.

    Unknown elements are ignored; a non-Consent, an unknown status, a provision type other
    than permit/deny, a bad date or period and a criterion without a code raise
    :class:`~precisionrx.errors.InputError` naming the consent and the element.
    """
    where = f"Consent #{index + 1}" if index is not None else "Consent"
    if not isinstance(obj, dict):
        raise InputError(f"expected a Consent object, got {type(obj).__name__}", path=source,
                         record=where)  # fmt: skip
    raw_id = obj.get("id")
    cid = raw_id.strip() if isinstance(raw_id, str) and raw_id.strip() else None
    reader = _Reader(f"Consent {cid}" if cid else where, source)
    if obj.get("resourceType") != "Consent":
        raise reader.fail("resourceType", f"{obj.get('resourceType')!r} is not a Consent")
    if raw_id is not None and not isinstance(raw_id, str):
        raise reader.fail("id", f"expected a string, got {type(raw_id).__name__}")
    status = (reader.text(obj.get("status"), "status") or "").lower()
    if status not in STATUSES:
        raise reader.fail("status", f"{obj.get('status')!r} is not one of {', '.join(STATUSES)}")
    patient = reader.reference(obj.get("patient"), "patient")
    policy = reader.concepts(obj.get("policyRule"), "policyRule", required=False)
    raw_root = obj.get("provision")
    root = Provision() if raw_root is None else reader.provision(raw_root, "provision", 0)
    return Consent(
        id=cid,
        status=status,
        patient=patient_reference(patient) if patient else None,
        date_time=reader.time(obj.get("dateTime"), "dateTime"),
        base=reader.base(root, policy),
        provision=root,
        policy_rules=policy,
        scope=reader.concepts(obj.get("scope"), "scope", required=False),
        categories=reader.concepts(obj.get("category"), "category", required=False),
    )


def parse_consents(obj: Any, *, source: str | None = None) -> list[Consent]:
    """Consents from a JSON array of Consent resources, a Bundle of them, or one Consent."""
    if isinstance(obj, list):
        return [parse_consent(item, source=source, index=k) for k, item in enumerate(obj)]
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        entries = obj.get("entry")
        entries = [] if entries is None else entries
        if not isinstance(entries, list):
            raise InputError("Bundle.entry is not a list", path=source)
        out = []
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict) or "resource" not in entry:
                raise InputError(f"Bundle.entry[{k}] has no resource", path=source)
            out.append(parse_consent(entry["resource"], source=source, index=k))
        return out
    if isinstance(obj, dict) and obj.get("resourceType") == "Consent":
        return [parse_consent(obj, source=source)]
    kind = obj.get("resourceType") if isinstance(obj, dict) else type(obj).__name__
    raise InputError(
        f"expected a Consent, a JSON array of Consents or a Bundle of them, got {kind!r}",
        path=source,
    )
