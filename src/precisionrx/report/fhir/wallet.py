"""The pharmacogenomic wallet card as FHIR: the part of the plan's Bundle another clinician or
pharmacist's system needs to act on the patient's genotypes.

Kept from the plan Bundle (report/fhir/plan.py), unchanged: the Patient; the Genomics Reporting
``genotype`` and ``therapeutic-implication`` Observations; the ``medication-recommendation``
Tasks (the tumour's own therapeutic implications stay out); and the ``genomic-report``
DiagnosticReport with its ``result`` narrowed to the kept
Observations. Anything a kept resource references is kept too, so every reference resolves
inside the card. Tumour variants, biomarkers, risk scores and monitoring results stay out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

GENOMICS = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
#: Profiles of the resources a wallet card carries.
CARD_PROFILES = frozenset(
    GENOMICS + p for p in ("genotype", "therapeutic-implication", "medication-recommendation")
)
REPORT_PROFILE = GENOMICS + "genomic-report"


def _profiles(resource: dict[str, Any]) -> set[str]:
    return set((resource.get("meta") or {}).get("profile") or ())


def _on_card(resource: dict[str, Any]) -> bool:
    """The Patient, and the germline results the card is for: a tumour's therapeutic
    implications (report/fhir/oncology.py ids ``tumour-…``) stay out."""
    if resource.get("resourceType") == "Patient":
        return True
    tumour = str(resource.get("id", "")).startswith("tumour-")
    return bool(_profiles(resource) & CARD_PROFILES) and not tumour


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield ref
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def wallet_bundle(plan_bundle: dict[str, Any]) -> dict[str, Any]:
    """The wallet card's Bundle (type ``collection``) cut from a plan Bundle."""
    entries = [copy.deepcopy(e) for e in plan_bundle.get("entry", [])]
    by_url = {e.get("fullUrl"): e for e in entries}
    wanted = {e.get("fullUrl") for e in entries if _on_card(e["resource"])}
    for e in entries:
        resource = e["resource"]
        if REPORT_PROFILE in _profiles(resource):
            resource["result"] = [r for r in resource.get("result", [])
                                  if r.get("reference") in wanted]  # fmt: skip
            if not resource["result"]:
                del resource["result"]
            wanted.add(e.get("fullUrl"))
    queue = list(wanted)
    while queue:  # everything a kept resource refers to
        entry = by_url.get(queue.pop())
        if entry is None:
            continue
        for ref in _references(entry["resource"]):
            if ref in by_url and ref not in wanted:
                wanted.add(ref)
                queue.append(ref)
    card = {k: v for k, v in plan_bundle.items() if k not in ("entry", "id", "identifier")}
    card["entry"] = [e for e in entries if e.get("fullUrl") in wanted]
    card["type"] = "collection"
    return card
