"""AMP/ASCO/CAP tiers as PCGR v2.3 derives them, with ESCAT as an annotation only.

Evidence strength (kb/data/oncology/evidence_level_crosswalk.tsv, PCGR's strong/weak classes):
strong = MOAlmanac FDA-Approved or Guideline, CIViC A or B; weak = everything else (MOAlmanac
clinical trial / clinical evidence / preclinical / inferential, CIViC C-E). Tier of a
sensitivity match (PCGR variant_classification, tumour-specific mode):
- Tier I: strong evidence in the patient's tumour type or pan-cancer;
- Tier II: strong evidence in another tumour type, or weak evidence in this type or pan-cancer;
- Tier III: weak evidence in another tumour type.
AMP level: A = strong and FDA-approved / guideline / CIViC A for this tumour type, B = other
strong evidence for it, C = strong elsewhere or weak here, D = weak elsewhere. Resistance evidence
never defines a tier: it is reported as "avoid / expect resistance" (PCGR >= 2.3.0 tiers on
sensitivity only).
"""

from __future__ import annotations

#: Approximate ESCAT tier by evidence level (crosswalk; ESCAT is not automatable reliably).
ESCAT_APPROX = {
    "FDA-Approved": "I", "Guideline": "I", "Clinical trial": "II/III",
    "Clinical evidence": "II/III", "Preclinical": "IV-A", "Inferential": "IV-B",
    "A": "I", "B": "I/II", "C": "III", "D": "IV", "E": "IV-B",
}  # fmt: skip
TIER_RANK = {"I": 1, "II": 2, "III": 3}


def tier(strength: str, tumor_type_match: str) -> tuple[str, str]:
    """(AMP tier, AMP level) of one sensitivity evidence row."""
    here = tumor_type_match in ("same", "pan-cancer")
    if strength == "strong" and here:
        return "I", "A"
    if strength == "strong":
        return "II", "C"
    if here:
        return "II", "C"
    return "III", "D"


def amp_level(strength: str, evidence_level: str, tumor_type_match: str) -> str:
    t, level = tier(strength, tumor_type_match)
    if t == "I" and evidence_level in ("B",):
        return "B"
    return level


def best_tier(tiers: list[str]) -> str | None:
    ranked = [t for t in tiers if t in TIER_RANK]
    return min(ranked, key=TIER_RANK.__getitem__) if ranked else None
