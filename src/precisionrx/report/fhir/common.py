"""What every FHIR R4 output of precisionrx shares: code systems, resource ids, the collection
Bundle with its full URLs, and the line naming the tool and knowledge-base versions.

Every entry's ``fullUrl`` is ``urn:uuid:`` + a UUID 5 of ``ResourceType/id`` and references
between resources of one Bundle use those full URLs (FHIR R4 Bundle §3.2.0.3.2: a relative
reference cannot be resolved against a ``urn:uuid`` full URL). The same input gives the same
ids and full URLs; only ``timestamp`` / ``issued`` change between runs.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from precisionrx.report.writers import json_text

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC = "http://www.genenames.org"
#: HL7 Genomics Reporting IG 3.0.0 (STU3) canonical and its to-be-determined code system.
GR = "http://hl7.org/fhir/uv/genomics-reporting"
TBD = f"{GR}/CodeSystem/tbd-codes-cs"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LABORATORY = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}
VITAL_SIGNS = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}
#: Diagnostic service section "GE" (genetics), HL7 v2 table 0074.
GENETICS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE"}]}
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
#: Genomics Reporting's GenomicBase categories: laboratory + genetics.
GENOMIC_CATEGORIES = [LABORATORY, GENETICS]

Resource = dict[str, Any]


def resource_id(*parts: str) -> str:
    """A FHIR id (``[A-Za-z0-9\\-.]{1,64}``) from readable parts. When the parts had to be
    changed to fit (other characters, too long), a short hash of them is appended, so that
    different parts never give the same id.

    >>> resource_id("genotype", "NA12878", "CYP2D6")
    'genotype-NA12878-CYP2D6'
    >>> resource_id("patient", "a b") != resource_id("patient", "a-b")
    True
    """
    raw = "-".join(parts)
    clean = re.sub(r"[^A-Za-z0-9\-.]", "-", raw)
    if clean == raw and len(raw) <= 64:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:10]
    return f"{clean[:53].strip('-')}-{digest}".lstrip("-")


def full_url(resource: Resource) -> str:
    """The entry's ``fullUrl``: a name-based UUID of ``ResourceType/id``."""
    name = f"{resource['resourceType']}/{resource['id']}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def reference(resource: Resource, display: str | None = None) -> dict[str, str]:
    """A reference to a resource of the same Bundle (by its full URL)."""
    ref = {"reference": full_url(resource)}
    if display:
        ref["display"] = display
    return ref


def reference_to(resource_type: str, resource_id: str) -> dict[str, str]:
    """A reference by type and id to a resource of the same Bundle (by its full URL)."""
    return reference({"resourceType": resource_type, "id": resource_id})


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A UCUM quantity (``unit`` is the UCUM code)."""
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def absent(code: str = "not-applicable") -> dict[str, Any]:
    """``dataAbsentReason`` for a value that could not be computed."""
    return {"coding": [{"system": DATA_ABSENT, "code": code}]}


def instant(value: Any) -> str:
    """A FHIR instant (UTC, seconds) from a datetime or an ISO 8601 text (``2026-10-19
    00:00:00+00:00`` included); other values as their text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
        return utc.isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(value)


def now() -> str:
    """The ``issued`` time of a Bundle written now."""
    return instant(datetime.now(UTC))


def observation(
    oid: str,
    code: dict[str, Any],
    subject: dict[str, str],
    issued: str | None,
    category: list[dict[str, Any]],
    profile: str | None = None,
) -> Resource:
    """The fields every final Observation of precisionrx starts with (``profile``: the name of
    a Genomics Reporting StructureDefinition the resource follows)."""
    obs: Resource = {"resourceType": "Observation", "id": oid}
    if profile:
        obs["meta"] = {"profile": [f"{GR}/StructureDefinition/{profile}"]}
    obs |= {"status": "final", "category": category, "code": code, "subject": subject}
    if issued is not None:
        obs["issued"] = issued
    return obs


def bundle_text(resources: Iterable[Resource], timestamp: str) -> str:
    """A FHIR R4 Bundle of type collection as strict JSON (no NaN/Infinity), full precision."""
    entries = [{"fullUrl": full_url(r), "resource": r} for r in resources]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp,
              "entry": entries}  # fmt: skip
    return json_text(bundle, indent=1)
