"""Medication orders in a CDS Hooks request, read leniently, one resource at a time.

A CDS client sends the orders being written as ``context.draftOrders`` (a Bundle) and the
patient's current medications as prefetch (a searchset Bundle, a list, or one resource). Real
clients and the CDS Hooks specification's own examples send resources that a strict R4
validator rejects (research notes interop.md, section 0), so nothing here validates a whole
resource: each entry is read for the few fields a prescribing check needs and an entry that
does not have them is passed over with a note, never an error.

Read as a medication order:

- ``MedicationRequest`` (R4) and ``MedicationOrder`` (DSTU2, the older hook examples), from
  ``context.draftOrders`` and, for old clients, ``context.medications``;
- in prefetch also ``MedicationStatement`` (what the patient takes, R4).

The drug is ``medicationCodeableConcept`` (RxNorm coding and display, else its text), or a
``medicationReference`` resolved against ``contained`` resources and the same Bundle, else the
reference's ``display``. Other resource types (ServiceRequest, NutritionOrder ...) are not
medication orders and are skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: RxNorm code system URIs seen in the wild (the FHIR one and the NLM OID form).
RXNORM_SYSTEMS = frozenset(
    {"http://www.nlm.nih.gov/research/umls/rxnorm", "urn:oid:2.16.840.1.113883.6.88"}
)
ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})
#: Prefetch types that say what the patient takes now.
CURRENT_TYPES = ORDER_TYPES | {"MedicationStatement"}
#: Statuses of a medication the patient does not take (R4 MedicationRequest and
#: MedicationStatement value sets; DSTU2 MedicationOrder).
INACTIVE = frozenset(
    {"stopped", "cancelled", "completed", "entered-in-error", "not-taken", "revoked",
     "ended", "on-hold", "superseded"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderedMedication:
    """One medication order or statement as far as it could be read."""

    #: ``ResourceType/id`` (None when the resource has no id).
    reference: str | None
    resource_type: str
    #: Display or text of the drug (may be an RxNorm clinical-drug name).
    name: str
    rxnorm: str | None
    status: str | None
    subject: str | None = None


@dataclass
class OrdersRead:
    medications: list[OrderedMedication] = field(default_factory=list)
    #: Entries passed over, each with why (shown in the card's detail when it matters).
    notes: list[str] = field(default_factory=list)


def _entries(value: Any) -> Iterator[Any]:
    """The resources of a Bundle, a list of resources or Bundles, or one resource (an entry
    that is not an object is yielded as it is, for the caller's note)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list | Mapping):
                yield from _entries(item)
            else:
                yield item
    elif isinstance(value, Mapping):
        if value.get("resourceType") == "Bundle":
            entries = value.get("entry")
            if isinstance(entries, list):
                for e in entries:
                    yield e.get("resource") if isinstance(e, Mapping) else e
        elif "resource" in value and "resourceType" not in value:  # a bare Bundle entry
            yield value.get("resource")
        else:
            yield value


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def concept_drug(concept: Any) -> tuple[str | None, str | None]:
    """(name, RxNorm code) of a CodeableConcept: the RxNorm coding's display and code, else
    any coding's display, else the concept's text."""
    if not isinstance(concept, Mapping):
        return None, None
    listed = concept.get("coding")
    codings = [c for c in listed if isinstance(c, Mapping)] if isinstance(listed, list) else []
    rx = [c for c in codings if isinstance(c.get("system"), str) and c["system"] in RXNORM_SYSTEMS]
    code = next((_text(c.get("code")) for c in rx if _text(c.get("code"))), None)
    names = [_text(c.get("display")) for c in rx + codings] + [_text(concept.get("text"))]
    return next((n for n in names if n), None), code


def _reference(res: Mapping[str, Any]) -> str | None:
    rid = _text(res.get("id"))
    return f"{res.get('resourceType')}/{rid}" if rid else None


class _Medications:
    """Medication resources a ``medicationReference`` may point at (contained, or in the
    same Bundle by ``Medication/id`` or by full URL)."""

    def __init__(self, value: Any) -> None:
        self.by_ref: dict[str, Mapping[str, Any]] = {}
        entries = value.get("entry") if isinstance(value, Mapping) else None
        for e in entries if isinstance(entries, list) else []:
            res = e.get("resource") if isinstance(e, Mapping) else None
            if isinstance(res, Mapping) and res.get("resourceType") == "Medication":
                if isinstance(e.get("fullUrl"), str):
                    self.by_ref[e["fullUrl"]] = res
                ref = _reference(res)
                if ref:
                    self.by_ref[ref] = res

    def find(self, res: Mapping[str, Any], ref: str) -> Mapping[str, Any] | None:
        if ref.startswith("#"):
            contained = res.get("contained")
            for c in contained if isinstance(contained, list) else []:
                if isinstance(c, Mapping) and c.get("id") == ref[1:]:
                    return c
            return None
        return self.by_ref.get(ref)


def _medication(
    res: Mapping[str, Any], known: _Medications
) -> tuple[str | None, str | None, str | None]:
    """(name, rxnorm, why not) of an order or statement."""
    name, code = concept_drug(res.get("medicationCodeableConcept"))
    if name or code:
        return name, code, None
    ref = res.get("medicationReference")
    if isinstance(ref, Mapping):
        target = (
            known.find(res, ref["reference"]) if isinstance(ref.get("reference"), str) else None
        )
        if target is not None:
            name, code = concept_drug(target.get("code"))
            if name or code:
                return name, code, None
        if _text(ref.get("display")):
            return _text(ref.get("display")), None, None
        return None, None, "its medicationReference could not be resolved"
    return None, None, "it names no medication"


def read_orders(value: Any, where: str, types: frozenset[str] = ORDER_TYPES) -> OrdersRead:
    """The medication orders (or, with ``types=CURRENT_TYPES``, statements too) in ``value``;
    ``where`` names the part of the request for the notes (``context.draftOrders``)."""
    out = OrdersRead()
    known = _Medications(value)
    for n, res in enumerate(_entries(value)):
        if not isinstance(res, Mapping):
            out.notes.append(f"{where} entry {n}: not a resource; skipped")
            continue
        rtype = res.get("resourceType")
        if not isinstance(rtype, str) or rtype not in types:
            continue
        try:
            name, code, why = _medication(res, known)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a shape not foreseen
            name, code, why = None, None, f"could not be read ({type(exc).__name__})"
        if why is not None:
            out.notes.append(f"{where} {_reference(res) or f'entry {n}'}: {why}; skipped")
            continue
        status = _text(res.get("status"))
        subject = res.get("subject") or res.get("patient")
        subject_ref = _text(subject.get("reference")) if isinstance(subject, Mapping) else None
        out.medications.append(
            OrderedMedication(
                reference=_reference(res),
                resource_type=str(rtype),
                name=name or code or "",
                rxnorm=code,
                status=status.lower() if status else None,
                subject=subject_ref,
            )
        )
    return out


def draft_orders(context: Mapping[str, Any]) -> OrdersRead:
    """The medication orders of an order-select / order-sign context: ``draftOrders`` (CDS
    Hooks 1.0 and later) and the older ``medications`` context of medication-prescribe."""
    out = OrdersRead()
    for key in ("draftOrders", "medications"):
        if key in context:
            got = read_orders(context[key], f"context.{key}")
            out.medications += got.medications
            out.notes += got.notes
    return out


def selected(orders: list[OrderedMedication], selections: Any) -> list[OrderedMedication]:
    """The orders named by order-select's ``context.selections`` (``Type/id`` strings); all
    orders when the context has no usable selections (order-sign, older clients). A selection
    ``MedicationRequest/<id>`` also names a DSTU2 ``MedicationOrder/<id>`` (and the reverse);
    ids are compared only between these two types (FHIR ids are unique within a type)."""
    wanted = {s.strip() for s in selections if isinstance(s, str) and s.strip()} if isinstance(
        selections, list) else set()  # fmt: skip
    if not wanted:
        return list(orders)
    medication_ids = {s.split("/", 1)[1] for s in wanted
                      if s.split("/", 1)[0] in ORDER_TYPES and "/" in s}  # fmt: skip
    return [
        o
        for o in orders
        if o.reference
        and (
            o.reference in wanted
            or (o.resource_type in ORDER_TYPES and o.reference.split("/", 1)[1] in medication_ids)
        )
    ]


def current_medications(value: Any, where: str) -> OrdersRead:
    """What the patient takes now, from a prefetch value: orders and statements that are not
    stopped, cancelled, completed or entered in error (no status = taken)."""
    got = read_orders(value, where, CURRENT_TYPES)
    got.medications = [m for m in got.medications if m.status not in INACTIVE]
    return got
