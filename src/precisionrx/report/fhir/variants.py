"""Genomics Reporting 3.0.0 Variant Observations, germline and somatic.

Codes from the Variant profile (shared research/interop.md §1.2, read from the IG's
StructureDefinitions): code LOINC 69548-6 "Genetic variant assessment" valued LA9633-4
"Present"; components 48018-6 gene studied, 48004-6 DNA change (c.HGVS), 48005-3 amino acid
change (p.HGVS), 81258-6 sample variant allelic frequency, 82155-3 genomic copy number,
48002-0 genomic source class (LA6683-2 germline, LA6684-0 somatic) and 53034-5 allelic state
(LA6706-1 heterozygous, LA6705-3 homozygous; any other state as text only).
"""

from __future__ import annotations

from typing import Any

from precisionrx.report.fhir.common import (
    GENOMIC_CATEGORIES,
    LOINC,
    Resource,
    coding,
    observation,
)

_ALLELIC_STATE = {"heterozygous": ("LA6706-1", "Heterozygous"),
                  "homozygous": ("LA6705-3", "Homozygous")}  # fmt: skip


def _component(code: str, display: str, value: dict[str, Any]) -> dict[str, Any]:
    # no display where the IG examples give none (82155-3): none is invented
    return {"code": coding(LOINC, code, display), **value}


def variant_observation(
    oid: str,
    subject: dict[str, str],
    issued: str,
    *,
    gene: str | None,
    hgvsc: str | None,
    hgvsp: str | None,
    vaf: float | None,
    copy_number: float | None,
    somatic: bool,
    zygosity: str | None = None,
    notes: list[str] | None = None,
) -> Resource:
    """One variant as a Genomics Reporting Variant Observation."""
    components: list[dict[str, Any]] = []
    if gene:
        components.append(_component("48018-6", "Gene studied [ID]", {
            "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org",
                                                 "display": gene}], "text": gene}}))  # fmt: skip
    if hgvsc:
        components.append(
            _component("48004-6", "DNA change (c.HGVS)", {"valueCodeableConcept": {"text": hgvsc}})
        )
    if hgvsp:
        components.append(
            _component(
                "48005-3", "Amino acid change (pHGVS)", {"valueCodeableConcept": {"text": hgvsp}}
            )
        )
    if vaf is not None:
        components.append(_component("81258-6", "Sample VAF", {"valueQuantity": {"value": vaf}}))
    if copy_number is not None:
        components.append(_component("82155-3", "", {"valueQuantity": {"value": copy_number}}))
    source = ("LA6684-0", "Somatic") if somatic else ("LA6683-2", "Germline")
    components.append(
        _component(
            "48002-0", "Genomic source class", {"valueCodeableConcept": coding(LOINC, *source)}
        )
    )
    if zygosity:
        state = _ALLELIC_STATE.get(zygosity)
        value = coding(LOINC, *state) if state else {"text": zygosity}
        components.append(_component("53034-5", "Allelic state", {"valueCodeableConcept": value}))
    code = coding(LOINC, "69548-6", "Genetic variant assessment")
    obs = observation(oid, code, subject, issued, GENOMIC_CATEGORIES, "variant")
    obs |= {
        "valueCodeableConcept": coding(LOINC, "LA9633-4", "Present"),
        "component": components,
    }
    if notes:
        obs["note"] = [{"text": n} for n in notes if n]
    return obs
