"""Map a medication (name, brand or RxNorm code) to the drug names used by the guidelines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from precisionrx.kb.prescribing import PrescribingKb
from precisionrx.records import Medication

#: Salt and form words dropped before matching ("metoprolol succinate" -> "metoprolol").
SALTS = frozenset(
    {
        "hydrochloride",
        "hcl",
        "sodium",
        "potassium",
        "calcium",
        "magnesium",
        "besylate",
        "besilate",
        "maleate",
        "succinate",
        "tartrate",
        "mesylate",
        "citrate",
        "sulfate",
        "sulphate",
        "phosphate",
        "bromide",
        "acetate",
        "fumarate",
        "oral",
        "tablet",
        "tablets",
        "capsule",
        "capsules",
        "injection",
        "solution",
        "extended",
        "release",
        "er",
        "xl",
        "sr",
        "mg",
        "mcg",
        "g",
        "ml",
        "daily",
    }
)


@dataclass(frozen=True, slots=True)
class ResolvedMedication:
    given: str
    drug: str | None
    via: str | None  # "name" | "rxnorm" | "brand" | None when unknown


def resolve(
    med: Medication, kb: PrescribingKb, extra_names: set[str] | None = None
) -> ResolvedMedication:
    """Resolve to a guideline drug name (or any known modulator name)."""
    known = kb.drugs | (extra_names or set())
    if med.rxnorm and med.rxnorm in kb.rxnorm_to_drug:
        return ResolvedMedication(med.name, kb.rxnorm_to_drug[med.rxnorm], "rxnorm")
    text = med.name.strip().lower()
    if text.isdigit():
        drug = kb.rxnorm_to_drug.get(text)
        return ResolvedMedication(med.name, drug, "rxnorm" if drug else None)
    words = [w for w in re.split(r"[\s,/()]+", text) if w and not re.fullmatch(r"[\d.]+", w)]
    core = " ".join(w for w in words if w not in SALTS)
    for candidate in (text, core, *(words[:1])):
        if candidate in known:
            return ResolvedMedication(med.name, candidate, "name")
        if candidate in kb.brands:
            return ResolvedMedication(med.name, kb.brands[candidate], "brand")
    return ResolvedMedication(med.name, None, None)
