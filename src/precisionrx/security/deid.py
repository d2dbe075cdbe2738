"""HIPAA Safe Harbor de-identification of FHIR R4 resources (45 CFR 164.514(b)(2)).

Resources are dicts, processed one by one and structurally: a resource that is not valid strict
R4 is still walked element by element and never makes the walk fail. Each element is handled by
its name wherever it appears (the full table, by identifier letter, is in docs/cli/deid.md):

- A names: every HumanName, a resource's own string ``name`` (FamilyMemberHistory,
  Organization, Location ...), ``AuditEvent.agent.name``, ``authorString``, the mother's maiden
  name extension and the ``display`` of references to people, organisations, places and devices
  are removed.
- B geography: an Address keeps ``use``, ``type``, ``state`` and ``country``; a US ZIP code
  becomes its first three digits, ``000`` for the 17 restricted prefixes of the ``privacy``
  knowledge base (2000 Census); everything else in it, ``Location.position`` and the
  geolocation extension are removed.
- C dates: date, dateTime and Period elements become their year; an ``instant`` (``issued``,
  ``recorded``, ``timestamp``, ``Signature.when``) cannot hold a year, so its value is removed
  and it carries the data-absent-reason extension ``masked`` (``meta.lastUpdated`` is dropped).
  Ages over 89: a year 90 or more years before ``reference_date``'s is masked the same way; a
  ``birthDate`` in such a year is removed and the resource gets the extension
  :data:`AGE_90_PLUS_URL` with ``valueString`` ``"90+"``; an Age over 89 years becomes
  ``{"value": 90, "comparator": ">="}``.
- D-F, N, O: ``telecom``, ContactPoints, ``Attachment.url``, ``valueUrl``, every ``url`` but an
  extension's or a canonical one, and string ``address`` elements (IPs, endpoints) are removed.
- G-M: every ``identifier``/``*Identifier``, Coverage ``subscriberId``, ``dependent`` and
  ``class.value``, Device ``udiCarrier``, ``serialNumber``, ``lotNumber``,
  ``distinctIdentifier`` are removed. P, Q: ``photo``, Attachment ``data`` and ``hash``.
- R: ids and references become keyed pseudonyms; narrative ``text.div`` is removed; other
  free text (``CodeableConcept.text``, ``Annotation.text``, ``valueString`` ...) goes through
  :func:`clean_text` with the record's own names, addresses and identifiers as deny-list.
  Codes, systems, units and Coding displays are kept verbatim.

Pseudonyms: ``id`` -> ``pseudonym(key, resourceType, id)`` (:mod:`precisionrx.security.crypto`);
``Patient/123`` (relative, absolute or versioned) -> ``Patient/<pseudonym>``; ``Type?query`` ->
``Type/<pseudonym of "?query">``; ``urn:uuid:X`` -> a UUID made from
``pseudonym(key, "urn:uuid", X)``; an absolute ``fullUrl`` is rebased on :data:`DEID_BASE`. They
are derived from identifiers: a Safe Harbor release needs random surrogate ids with a protected
map (45 CFR 164.514(c)) or an Expert Determination.

Genotype data: raw germline genotype is identifying and not releasable under Safe Harbor. A
MolecularSequence (or STU3 Sequence), and any resource with an Attachment of a sequence or
variant file (VCF, gVCF, BCF, BAM, CRAM, SAM, FASTQ, FASTA, by content type or file name), is
dropped and counted in :class:`DeidReport`. Interpreted results (variant, genotype, diplotype,
phenotype) are kept and labelled ``GDIS`` (v3-ActCode). Every output resource carries
``meta.security`` ``v3-ObservationValue#PSEUDED`` (pseudonymized).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from precisionrx.errors import InputError, KbIntegrityError
from precisionrx.security._deid_genomic import RAW_GENOMIC_TYPES, has_genomic_file, is_genomic
from precisionrx.security._deid_text import (
    GENE_SYMBOLS,
    Placeholder,
    RecordTerm,
    TextCleaner,
    _words,
    clean_text,
    collect_record_terms,
)
from precisionrx.security.crypto import pseudonym

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

__all__ = [
    "AGE_90_PLUS_URL",
    "DEID_BASE",
    "GENE_SYMBOLS",
    "DeidReport",
    "Deidentifier",
    "DroppedResource",
    "Placeholder",
    "RecordTerm",
    "SafeHarborTable",
    "TextCleaner",
    "clean_text",
    "collect_record_terms",
    "deidentify_ndjson",
    "deidentify_resources",
    "load_safe_harbor",
    "read_ndjson",
]

#: Extension added to a resource whose birth date was removed because the age is over 89
#: (45 CFR 164.514(b)(2)(i)(C)); ``valueString`` is always ``"90+"``.
AGE_90_PLUS_URL = "urn:precisionrx:fhir:StructureDefinition:safe-harbor-age"
#: Base of rebased absolute ``Bundle.entry.fullUrl`` values (``.invalid``: RFC 2606 reserved).
DEID_BASE = "https://deid.invalid/fhir/"
#: Security label of every output resource.
PSEUDED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
#: Sensitivity label of kept genomic results.
GDIS = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "GDIS",
    "display": "genetic disease information sensitivity",
}
_MASKED = {
    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
    "valueCode": "masked",
}
#: Deepest nesting walked; anything deeper (never valid FHIR) is removed.
MAX_DEPTH = 64

_PERSON_TYPES = _words(
    "Patient Practitioner PractitionerRole RelatedPerson Person Organization Location Group "
    "Device HealthcareService Endpoint CareTeam"
)
_DROP = _words(
    "telecom identifier photo div position alias subscriberId serialNumber udiCarrier lotNumber "
    "distinctIdentifier valueHumanName valueContactPoint valueIdentifier authorString valueUrl "
    "hash query valueUuid altId ifNoneExist ifNoneMatch ifMatch ifModifiedSince"
)
_DROP_EXTENSIONS = (
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
    "http://hl7.org/fhir/StructureDefinition/geolocation",
    "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-",
    "http://hl7.org/fhir/StructureDefinition/humanname-",
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-",
)
_VERBATIM = _words(
    "resourceType id url system code version unit status intent use type gender language "
    "contentType profile mode priority criticality category kind method comparator valueCode "
    "valueCanonical valueOid valueId implicitRules questionnaire valueSet versionId linkId uri "
    "severity outcome action fhirVersion currency sigFormat targetFormat relation etag"
)
_DATE_KEY = re.compile(r"(?:[Dd]ate|DateTime|Instant|^start|^end|^issued|^recorded)$")
_REFERENCE_KEYS = frozenset({"reference", "type", "identifier", "display", "extension", "id"})
_INSTANTS = _words("lastUpdated issued timestamp recorded when")
_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+\-]\d{2}:\d{2})?)?)?)?"
)
_REF = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.\-]*://[^?#]*?/)?(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[^/?#\s]{1,200})"
    r"(?:/_history/[^/?#\s]+)?"
)
_COND_REF = re.compile(r"(?P<type>[A-Z][A-Za-z]{1,63})\?(?P<query>.+)", re.DOTALL)
_TYPE_ONLY = re.compile(r"[A-Z][A-Za-z]{1,63}")
_US_ZIP = re.compile(r"(\d{3})\d{2}(?:-?\d{4})?")
_YEAR_UNITS = {"a": 1.0, "yr": 1.0, "yrs": 1.0, "year": 1.0, "years": 1.0, "y": 1.0}
_AGE_UNITS = {
    **_YEAR_UNITS,
    "mo": 1 / 12, "month": 1 / 12, "months": 1 / 12,
    "wk": 7 / 365.25, "week": 7 / 365.25, "weeks": 7 / 365.25,
    "d": 1 / 365.25, "day": 1 / 365.25, "days": 1 / 365.25,
}  # fmt: skip
_OLD = 90


@dataclass(frozen=True, slots=True)
class SafeHarborTable:
    """The ``privacy`` knowledge base: 45 CFR 164.514(b)(2)(i)(A)-(R) and the restricted ZIP3s."""

    restricted_zip3: frozenset[str]
    identifiers: tuple[tuple[str, str], ...]
    version: str


def load_safe_harbor(kb: KnowledgeBase) -> SafeHarborTable:
    """The Safe Harbor table of ``kb`` (``privacy/safe_harbor.json``), read once per object.

    :raises KbIntegrityError: the file lacks the restricted ZIP3 list or the identifiers.
    """

    def build() -> SafeHarborTable:
        data = kb.json("privacy", "safe_harbor.json")
        try:
            prefixes = frozenset(str(p) for p in data["restricted_zip3"]["prefixes"])
            ids = tuple((str(r["letter"]), str(r["identifier"])) for r in data["identifiers"])
            version = str(data["version"])
        except (KeyError, TypeError) as exc:
            raise KbIntegrityError(
                f"privacy/safe_harbor.json lacks {exc}", hint="rebuild: tools/build_kb.py"
            ) from exc
        if not all(len(p) == 3 and p.isdigit() for p in prefixes) or len(ids) != 18:
            raise KbIntegrityError("privacy/safe_harbor.json: malformed ZIP3 or identifier rows")
        return SafeHarborTable(prefixes, ids, version)

    return kb.memo(("security.deid", "safe_harbor"), build)


@dataclass(frozen=True, slots=True)
class DroppedResource:
    """A resource left out of the output (no identifier of it is kept)."""

    index: int
    resource_type: str
    reason: str


@dataclass(slots=True)
class DeidReport:
    """What a de-identification run did (counts only: no identifier)."""

    resources_in: int = 0
    resources_out: int = 0
    genomic_flagged: int = 0
    dropped: list[DroppedResource] = field(default_factory=list)


# --- the structural walk ------------------------------------------------------------------------
class Deidentifier:
    """Safe Harbor de-identification of FHIR R4 resources, one at a time (see the module
    docstring; 45 CFR 164.514(b)(2)).

    ``record_terms`` seed the free-text deny-list; the names, addresses and identifiers of every
    resource processed are added to it as they are met (a resource's own always apply to it).
    """

    def __init__(
        self,
        *,
        key: bytes,
        reference_date: date,
        record_terms: Iterable[str | RecordTerm] = (),
        kb: KnowledgeBase | None = None,
        report: DeidReport | None = None,
    ) -> None:
        if kb is None:
            from precisionrx.kb.registry import KnowledgeBase

            kb = KnowledgeBase()
        self.key = key
        self.reference_date = reference_date
        self.table = load_safe_harbor(kb)
        self.report = report if report is not None else DeidReport()
        self.cleaner = TextCleaner(record_terms, reference_date=reference_date)

    # -- public --------------------------------------------------------------------------------
    def resource(self, resource: Mapping[str, Any], index: int = 0) -> dict[str, Any] | None:
        """The de-identified copy of ``resource``, or None when it is dropped (raw genotype).

        :raises InputError: ``resource`` is not a FHIR resource (a JSON object with a
            ``resourceType`` name).
        """
        rtype = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if not isinstance(rtype, str) or not _TYPE_ONLY.fullmatch(rtype):
            raise InputError(
                f"item {index}: not a FHIR resource (a JSON object with a resourceType name)"
            )
        self.report.resources_in += 1
        self.cleaner.add_terms(collect_record_terms([resource]))
        out = self._resource(dict(resource), contained=False, depth=0)
        if out is None:
            self.report.dropped.append(
                DroppedResource(index, rtype, "raw genomic data (not releasable under Safe Harbor)")
            )
            return None
        self.report.resources_out += 1
        return out

    def reference(self, ref: str) -> str | None:
        """A reference with its id pseudonymised, or None if its form is not understood."""
        if ref.startswith("#"):
            return ref
        if ref.startswith("urn:uuid:"):
            return "urn:uuid:" + self._uuid(ref[len("urn:uuid:") :])
        if _TYPE_ONLY.fullmatch(ref):
            return ref
        m = _REF.fullmatch(ref)
        if m:
            return f"{m['type']}/{pseudonym(self.key, m['type'], m['id'])}"
        m = _COND_REF.fullmatch(ref)
        if m:
            return f"{m['type']}/{pseudonym(self.key, m['type'], '?' + m['query'])}"
        return None

    # -- resources -----------------------------------------------------------------------------
    def _resource(
        self, res: dict[str, Any], *, contained: bool, depth: int
    ) -> dict[str, Any] | None:
        rtype = str(res.get("resourceType"))
        if rtype in RAW_GENOMIC_TYPES or has_genomic_file(res, 0):
            return None
        out = self._object(res, rtype, depth, root=True)
        rid = res.get("id")
        if isinstance(rid, str) and rid:
            out["id"] = rid if contained else pseudonym(self.key, rtype, rid)
        else:
            out.pop("id", None)
        birth = res.get("birthDate")
        if isinstance(birth, str) and self._too_old(birth):
            out.pop("birthDate", None)
            out.setdefault("extension", []).append({"url": AGE_90_PLUS_URL, "valueString": "90+"})
        if not contained:
            labels = [PSEUDED, GDIS] if is_genomic(res) else [PSEUDED]
            if len(labels) == 2:
                self.report.genomic_flagged += 1
            meta = out.setdefault("meta", {})
            security = meta.setdefault("security", [])
            for label in labels:
                if not any(
                    isinstance(s, dict) and s.get("code") == label["code"] for s in security
                ):
                    security.append(dict(label))
        return {k: out[k] for k in ("resourceType", "id", "meta", *out) if k in out}

    def _object(
        self, obj: Mapping[str, Any], rtype: str, depth: int, *, root: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        masked: list[str] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                continue
            base = key[1:] if key.startswith("_") else key
            if key.startswith("_"):
                if self._drops(base, obj, rtype, root) or not isinstance(value, dict | list):
                    continue
                new = self._value(value, "", rtype, depth + 1)
            else:
                if self._drops(key, obj, rtype, root):
                    continue
                new = self._element(key, value, obj, rtype, depth, root)
                if new is _MASK:
                    masked.append(key)
                    continue
            if new is not None and new != {} and new != []:
                out[key] = new
        for key in masked:
            ext = out.get(f"_{key}")
            ext = ext if isinstance(ext, dict) else {}
            ext.setdefault("extension", []).append(dict(_MASKED))
            out[f"_{key}"] = ext
        if not root and obj and set(obj) <= _REFERENCE_KEYS and not _REFERENCE_KEYS & set(out) - {
            "type", "extension", "id"}:  # fmt: skip
            # a Reference emptied of its target: masked (it may be required, e.g. agent.who)
            out.setdefault("extension", []).append(dict(_MASKED))
        return out

    def _drops(self, key: str, obj: Mapping[str, Any], rtype: str, root: bool) -> bool:
        if key in _DROP or (key.endswith("Identifier") and key != "identifier"):
            return True
        if key == "url":  # an extension's definition, a canonical, a Bundle request's target
            return not (root or "method" in obj or _value_keys(obj) or "extension" in obj)
        if key == "data":  # Attachment, Signature, Binary data; SampledData values stay
            return not ("origin" in obj and "dimensions" in obj)
        if key == "name" and isinstance(obj.get(key), str):  # AuditEvent.agent.name is a person's
            return root or "requestor" in obj
        if key == "address" and isinstance(obj.get(key), str):
            return True
        if _DATE_KEY.search(key) and not isinstance(obj.get(key), str | list):
            return True  # a date element that is not text (lenient input): nothing to keep
        if key == "link" and isinstance(obj.get(key), list):
            return any(isinstance(i, dict) and "relation" in i for i in obj[key])
        if rtype == "Coverage" and key == "dependent":
            return True
        if rtype == "Coverage" and key == "value" and "type" in obj and not root:
            return True  # Coverage.class.value: group and plan numbers (I)
        if key == "display" and "code" not in obj and "system" not in obj:
            target = _reference_type(obj)
            return target is not None and target in _PERSON_TYPES
        return False

    def _element(
        self, key: str, value: Any, obj: Mapping[str, Any], rtype: str, depth: int, root: bool
    ) -> Any:
        if depth > MAX_DEPTH:
            return None
        if key == "name" and _is_human_name(value):
            return None
        if key in ("address", "valueAddress"):
            return self._addresses(value)
        if key == "text" and (root or isinstance(value, dict)):
            return None  # the narrative (R)
        if key in ("reference", "fullUrl") and isinstance(value, str):
            return self._fullurl(value) if key == "fullUrl" else self.reference(value)
        if key == "meta" and isinstance(value, dict):
            kept = {k: v for k, v in value.items() if k not in ("source", "lastUpdated", "_source",
                                                                 "_lastUpdated")}  # fmt: skip
            return self._object(kept, rtype, depth + 1)
        if ((key == "url" and "method" in obj) or key == "location") and isinstance(value, str):
            return self.reference(value)
        if key == "extension" or key == "modifierExtension":
            return self._extensions(value, rtype, depth)
        if key == "contained" and isinstance(value, list):
            nested = [self._nested(r, depth, contained=True) for r in value if isinstance(r, dict)]
            return [r for r in nested if r is not None]
        if key == "entry" and isinstance(value, list) and rtype == "Bundle":
            return self._entries(value, depth)
        if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
            return self._nested(value, depth, contained=False)
        if key.endswith("Age") and isinstance(value, dict):
            return self._age(value, key)
        if key.endswith("Range") and isinstance(value, dict) and key != "referenceRange":
            return self._age_range(value, rtype, depth)
        if key in _INSTANTS and isinstance(value, str) and _DATE.fullmatch(value):
            return _MASK
        if key == "valueBase64Binary":  # opaque content (AuditEvent.entity.detail): masked
            return _MASK
        if isinstance(value, str):
            return self._string(key, value, obj)
        return self._value(value, key, rtype, depth + 1)

    def _value(self, value: Any, key: str, rtype: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return None
        if isinstance(value, dict):
            if _is_quantity_in_years(value):
                return self._age(value, key)
            return self._object(value, rtype, depth)
        if isinstance(value, list):
            items = []
            for item in value:
                if isinstance(item, str):
                    new = self._string(key, item, {})
                else:
                    new = self._value(item, key, rtype, depth + 1)
                if new is not _MASK and new is not None and new != {}:
                    items.append(new)
            return items
        return value

    def _string(self, key: str, value: str, obj: Mapping[str, Any]) -> Any:
        if (
            key in _VERBATIM
            or key.endswith("Canonical")
            or (key.endswith("Uri") and key != "valueUri")
        ):
            return value
        if key == "display" and ("code" in obj or "system" in obj):
            return value  # a Coding's display belongs to the code system
        if _DATE.fullmatch(value):
            return _MASK if self._too_old(value) else value[:4]
        return self.cleaner.clean(value)

    # -- element kinds -------------------------------------------------------------------------
    def _too_old(self, value: str) -> bool:
        """A date whose year is 90 or more years before the reference year: indicative of an
        age over 89 (45 CFR 164.514(b)(2)(i)(C))."""
        m = _DATE.match(value)
        return m is not None and self.reference_date.year - int(m.group(1)) >= _OLD

    def _addresses(self, value: Any) -> Any:
        if isinstance(value, list):
            kept = [self._address(a) for a in value]
            return [a for a in kept if a]
        return self._address(value)

    def _address(self, address: Any) -> dict[str, Any] | None:
        if not isinstance(address, dict):
            return None
        out = {k: address[k] for k in ("use", "type", "state", "country") if isinstance(
            address.get(k), str)}  # fmt: skip
        postal = address.get("postalCode")
        if isinstance(postal, str):
            m = _US_ZIP.fullmatch(postal.strip())
            if m:
                zip3 = m.group(1)
                out["postalCode"] = "000" if zip3 in self.table.restricted_zip3 else zip3
        return out or None

    def _age(self, q: Mapping[str, Any], key: str) -> dict[str, Any] | None:
        out = self._object(q, "", 0)
        value = q.get("value")
        unit = str(q.get("code") or q.get("unit") or "").strip().lower()
        factor = _AGE_UNITS.get(unit) if key.endswith("Age") else _YEAR_UNITS.get(unit)
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is not None and factor and number * factor > _OLD - 1:
            out.update(value=_OLD, comparator=">=")
            if factor != 1:  # months, weeks or days: stated in years
                out.update(unit="years", system="http://unitsofmeasure.org", code="a")
        return out or None

    def _age_range(self, rng: Mapping[str, Any], rtype: str, depth: int) -> dict[str, Any] | None:
        out = self._object(rng, rtype, depth + 1)
        low, high = rng.get("low"), rng.get("high")

        def years(q: Any) -> float | None:
            if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
                return None
            unit = str(q.get("code") or q.get("unit") or "").strip().lower()
            factor = _AGE_UNITS.get(unit)
            return float(q["value"]) * factor if factor else None

        lo, hi = years(low), years(high)
        if hi is not None and hi > _OLD - 1:
            out.pop("high", None)
        if lo is not None and lo > _OLD - 1 and isinstance(out.get("low"), dict):
            out["low"] = {**out["low"], "value": _OLD, "unit": "years",
                          "system": "http://unitsofmeasure.org", "code": "a"}  # fmt: skip
        for bound in ("low", "high"):  # a Range holds SimpleQuantities: no comparator
            if isinstance(out.get(bound), dict):
                out[bound].pop("comparator", None)
        return out or None

    def _extensions(self, value: Any, rtype: str, depth: int) -> list[Any]:
        kept: list[Any] = []
        for ext in value if isinstance(value, list) else []:
            if not isinstance(ext, dict):
                continue
            url = ext.get("url")
            if isinstance(url, str) and url.startswith(_DROP_EXTENSIONS):
                continue
            new = self._object(ext, rtype, depth + 1)
            if "url" in new and ("extension" in new or _value_keys(new)):
                kept.append(new)
        return kept

    def _nested(self, res: dict[str, Any], depth: int, *, contained: bool) -> dict[str, Any] | None:
        if depth > MAX_DEPTH or not isinstance(res.get("resourceType"), str):
            return None
        out = self._resource(res, contained=contained, depth=depth + 1)
        if out is None:
            self.report.dropped.append(
                DroppedResource(-1, str(res["resourceType"]), "raw genomic data (nested)")
            )
        return out

    def _entries(self, entries: list[Any], depth: int) -> list[Any]:
        kept = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            new = self._object(entry, "Bundle", depth + 1)
            if isinstance(entry.get("resource"), dict) and "resource" not in new:
                continue  # its resource was dropped
            if new:
                kept.append(new)
        return kept

    def _fullurl(self, value: str) -> str | None:
        if value.startswith("urn:uuid:"):
            return "urn:uuid:" + self._uuid(value[len("urn:uuid:") :])
        ref = self.reference(value)
        if ref is None or ref.startswith("#"):
            return None
        return DEID_BASE + ref

    def _uuid(self, value: str) -> str:
        raw = base64.b32decode(pseudonym(self.key, "urn:uuid", value).upper())
        return str(uuid.UUID(bytes=raw[:16], version=4))


class _Mask:
    """Marker: the element's value is removed and data-absent-reason ``masked`` added."""


_MASK: Any = _Mask()


def _value_keys(obj: Mapping[str, Any]) -> list[str]:
    return [k for k in obj if isinstance(k, str) and k.startswith("value")]


def _is_human_name(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    keys = {"family", "given", "text", "prefix", "suffix", "use", "period"}
    return any(isinstance(i, dict) and keys & set(i) for i in items)


def _reference_type(obj: Mapping[str, Any]) -> str | None:
    """The target type of a Reference-like element: ``type``, else its reference's type."""
    if isinstance(obj.get("type"), str):
        return str(obj["type"])
    ref = obj.get("reference")
    if isinstance(ref, str):
        m = _REF.fullmatch(ref) or _COND_REF.fullmatch(ref)
        return m["type"] if m else None
    return None


def _is_quantity_in_years(value: Mapping[str, Any]) -> bool:
    unit = str(value.get("code") or value.get("unit") or "").strip().lower()
    return (
        "value" in value
        and unit in ("a", "yr", "yrs", "year", "years")
        and (value.get("system") in (None, "http://unitsofmeasure.org"))
    )


# --- streams ------------------------------------------------------------------------------------
def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON (RFC 8259)")


def read_ndjson(
    lines: Iterable[str | bytes], *, source: str = "<ndjson>"
) -> Iterator[dict[str, Any]]:
    """FHIR resources from NDJSON lines (blank lines skipped).

    :raises InputError: a line that is not JSON, or not a JSON object with a ``resourceType``,
        naming ``source`` and the line number.
    """
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            data = json.loads(line, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "too deep"
            raise InputError(f"not JSON ({reason})", path=source, record=f"line {number}") from None
        rtype = data.get("resourceType") if isinstance(data, dict) else None
        if not isinstance(rtype, str) or not _TYPE_ONLY.fullmatch(rtype):
            what = "a JSON object without resourceType" if isinstance(data, dict) else (
                f"a JSON {type(data).__name__}")  # fmt: skip
            raise InputError(
                f"not a FHIR resource ({what})",
                path=source,
                record=f"line {number}",
                hint="NDJSON holds one FHIR resource (a JSON object) per line",
            )
        yield data


def deidentify_resources(
    resources: Iterable[Mapping[str, Any]],
    *,
    key: bytes,
    reference_date: date,
    record_terms: Iterable[str | RecordTerm] = (),
    kb: KnowledgeBase | None = None,
    report: DeidReport | None = None,
) -> Iterator[dict[str, Any]]:
    """Safe Harbor de-identified copies of ``resources`` (45 CFR 164.514(b)(2)), in order;
    resources with raw genotype data are left out (counted in ``report``).

    ``key`` keys the pseudonyms (the same key, the same pseudonyms); ``reference_date`` is the
    date ages are computed against (ages over 89). For a free-text deny-list covering every
    resource, pass ``collect_record_terms`` of the whole set as ``record_terms``; otherwise the
    terms of the resources already seen are used.

    :raises InputError: an item that is not a FHIR resource.
    """
    deid = Deidentifier(
        key=key, reference_date=reference_date, record_terms=record_terms, kb=kb, report=report
    )
    for index, resource in enumerate(resources):
        out = deid.resource(resource, index)
        if out is not None:
            yield out


def deidentify_ndjson(
    lines: Iterable[str | bytes],
    *,
    key: bytes,
    reference_date: date,
    source: str = "<ndjson>",
    record_terms: Iterable[str | RecordTerm] = (),
    kb: KnowledgeBase | None = None,
    report: DeidReport | None = None,
) -> Iterator[str]:
    """:func:`deidentify_resources` over NDJSON: one output line (with its newline) per kept
    resource. :raises InputError: a bad line, naming ``source`` and the line number."""
    resources = read_ndjson(lines, source=source)
    for out in deidentify_resources(
        resources,
        key=key,
        reference_date=reference_date,
        record_terms=record_terms,
        kb=kb,
        report=report,
    ):
        yield json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"
