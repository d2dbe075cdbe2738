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


#: Words of RxNorm's normalised clinical-drug names that are not the ingredient: units, release
#: mechanisms and dose forms. SCD and SBD names read "[quantity] ingredient strength unit [release]
#: dose form [brand]" — "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
#: "1 ML epoetin alfa 4000 UNT/ML Injection [Epogen]" (RxNorm Technical Documentation, section
#: "RxNorm normalized names"; the forms are RxNorm's dose-form names).
FORM_WORDS = frozenset(
    {
        "hr", "unt", "actuat", "meq", "mmol", "%", "per", "24hr",
        "delayed", "sustained", "controlled", "chewable", "disintegrating", "dispersible",
        "effervescent", "sublingual", "buccal", "mucosal", "nasal", "ophthalmic", "otic",
        "rectal", "vaginal", "transdermal", "topical", "cutaneous", "inhalation", "inhalant",
        "inhaler", "spray", "powder", "suspension", "injectable", "prefilled", "syringe",
        "cartridge", "pen", "auto-injector", "autoinjector", "patch", "cream", "ointment",
        "gel", "lotion", "drops", "suppository", "system", "implant", "intrauterine", "drug",
        "pack", "kit", "granules", "film", "coated", "metered", "dose", "day", "liquid",
        "elixir", "syrup", "lozenge", "gum", "foam", "shampoo", "product", "pellet", "strip",
        "biweekly", "weekly", "monthly", "release", "extended",
    }
)  # fmt: skip
_BRACKET = re.compile(r"\[([^\]]+)\]")
_NOT_A_WORD = re.compile(r"[\d.]+(?:/[\d.]+)*|nda\d+|anda\d+|bla\d+")


def clinical_drug_candidates(text: str) -> list[str]:
    """Names to try for a free-text or RxNorm clinical-drug name, most specific first: the
    ingredient words without strengths, units and dose forms (all of them, then each adjacent
    pair, then each word), and the bracketed brand of a branded drug (SBD)."""
    brands = [b.strip().lower() for b in _BRACKET.findall(text)]
    words = [
        w
        for w in re.split(r"[\s,/()]+", _BRACKET.sub(" ", text.lower()))
        if w and not _NOT_A_WORD.fullmatch(w) and w not in SALTS and w not in FORM_WORDS
    ]
    pairs = [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]
    return list(dict.fromkeys([" ".join(words), *pairs, *words, *brands]))


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
    for candidate in (text, core, *(words[:1]), *clinical_drug_candidates(text)):
        if candidate in known:
            return ResolvedMedication(med.name, candidate, "name")
        if candidate in kb.brands:
            return ResolvedMedication(med.name, kb.brands[candidate], "brand")
    return ResolvedMedication(med.name, None, None)
