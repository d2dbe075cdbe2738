"""Resolve sensitivity against resistance evidence, per drug, across the whole tumour.

A drug must not be reported as a therapy option on the strength of one alteration, a broad
match or another tumour type while the same tumour carries evidence that it will not work
(issue 11 item 1; the clinical rule behind OncoKB's R1/R2 levels and the "without a known
acquired resistance mutation" wording of tumour-agnostic labels). Examples the rule covers:
BCR::ABL1 with ABL1 T315I (imatinib, dasatinib, nilotinib: resistance), PDGFRA D842V in GIST
(imatinib: resistance), EGFR T790M with first-generation EGFR inhibitors, KRAS/NRAS mutations
with anti-EGFR antibodies in colorectal cancer.

Each evidence item is described on three ordinal scales:

- **specificity** of the match that found it: 3 = the exact alteration (genomic coordinates,
  protein or cDNA change, fusion partner pair, the copy-number event, MSI-H, TMB-H); 2 = a
  codon, residue range or exon with a consequence class; 1 = gene level (any mutation,
  loss of function, one fusion partner). PCGR resolves matches in the same order
  (pcgr/biomarker.py) and MOAlmanac's match bins say the same (3 = alteration, 2 = alteration
  type, 1 = gene).
- **tumour relevance**: 2 = evidence for the patient's tumour type (OncoTree code, ancestor
  or descendant) or pan-cancer; 1 = another tumour type.
- **evidence level** on MOAlmanac's predictive-implication score (FDA-Approved 5, Guideline 4,
  Clinical trial 3, Clinical evidence 2, Preclinical 1, Inferential 0; MOAlmanac
  datasources.py, in kb/data/oncology/evidence_level_crosswalk.tsv). CIViC levels are placed
  on that scale by the crosswalk's AMP/ASCO/CAP column: A (validated; Tier I-A) = 4,
  B (clinical trial or patient data; Tier I-B) = 3, C (case study; Tier II-C) = 2,
  D (preclinical; Tier II-D) = 1, E (inferential) = 0. This placement is precisionrx's, not a
  published mapping.

Rule. Sensitivity items are judged per alteration and therapy as a group (an alteration with
FDA-approved vemurafenib evidence for the exact variant is not weakened by the codon- and
gene-level vemurafenib items that came with it). The sensitivity items of a group are
*overridden* by a resistance item R whose drugs apply to the therapy T (below) when either

1. R comes from the same alteration and no sensitivity item S of the group dominates R.
   S dominates R when it is at least as specific and at least as tumour-relevant, and
   better on one of specificity,
   tumour relevance or evidence level. Equal evidence resolves to resistance (the safe side).
   So an exact-variant resistance claim outranks a gene-level sensitivity claim, and
   resistance in the patient's tumour type outranks sensitivity from another type; FDA-
   approved sensitivity for the exact variant (ponatinib for ABL1 T315I) outranks a guideline
   resistance row for the same variant; or
2. R comes from another alteration of the same tumour (a secondary resistance mutation), is
   not a weak gene-level claim (R is at least codon/exon specific or at guideline level or
   above), no sensitivity item of the group is both more relevant to the tumour type and at
   least as strong in level as R, and R is not itself outranked by sensitivity evidence of
   its own alteration for a regimen the judged therapy contains (rule 1 applied the other
   way). The evidence level of a secondary mutation's resistance does not have to match the
   sensitivity it overrides (ABL1 T315I's resistance to imatinib is preclinical to level B;
   the BCR::ABL1 imatinib evidence is FDA-approved): the safe side is resistance, shown
   with its reason. A gene-level preclinical claim about another gene's variant is listed as
   conflicting evidence but does not override.

Drugs apply (``applies``) when every drug of R is part of T: resistance to cetuximab
concerns encorafenib + cetuximab. Within one alteration the regimen still stands when its own
claim dominates R (FDA-approved encorafenib + cetuximab for BRAF V600E colorectal cancer
against the guideline row saying that tumour resists cetuximab alone); across alterations
it does not (a KRAS mutation rules the cetuximab of the regimen out). CIViC exports used
here do not say whether a multi-drug item is a combination or a list of alternatives
("Panitumumab, Cetuximab" in the NCCN-based RAS items means either), so for CIViC items with
several drugs each drug counts on its own.

Overridden sensitivity is kept in the report with the reason and the resistance item that
overrode it; its tier is withdrawn (``overridden_tier`` keeps what it would have been).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Specificity of a match resolution (see module docstring).
SPECIFICITY = {
    "genomic": 3, "hgvsp": 3, "hgvsc": 3, "fusion_pair": 3, "cna": 3, "msi": 3, "tmb": 3,
    "codon": 2, "aa_region": 2, "exon": 2,
    "gene_lof": 1, "gene": 1, "fusion_gene": 1,
}  # fmt: skip
SPECIFICITY_NAME = {3: "exact-alteration", 2: "codon/exon-level", 1: "gene-level"}
#: Tumour relevance of ``tumor_type_match``.
RELEVANCE = {"same": 2, "pan-cancer": 2, "other": 1}
#: Evidence levels on MOAlmanac's predictive-implication score; CIViC placed by the crosswalk.
LEVEL_RANK = {
    "FDA-Approved": 5, "Guideline": 4, "Clinical trial": 3, "Clinical evidence": 2,
    "Preclinical": 1, "Inferential": 0,
    "A": 4, "B": 3, "C": 2, "D": 1, "E": 0,
}  # fmt: skip
#: A cross-alteration resistance claim at gene level overrides only from this level up.
CROSS_ALTERATION_GENE_LEVEL_MIN = 4


@dataclass(frozen=True, slots=True)
class Item:
    """One therapy evidence item of the report, located by match and therapy index."""

    match_index: int
    therapy_index: int
    alteration: str  # identity of the alteration (source record), or the biomarker label
    alteration_label: str
    resolution: str
    drugs: frozenset[str]
    response: str
    tumor_match: str
    evidence_level: str
    multi_drug_alternatives: bool
    specificity: int  # SPECIFICITY of the resolution
    relevance: int  # RELEVANCE of the tumour-type match
    level: int  # LEVEL_RANK of the evidence level

    def key(self) -> tuple[int, int, int]:
        return (self.specificity, self.relevance, self.level)


def drug_names(drug: object) -> list[str]:
    """The drug field of a therapy entry (a name or a list) as a list of names."""
    if isinstance(drug, list):
        return [str(d) for d in drug]
    return [str(drug)]


def applies(resistance: Item, sensitivity: Item) -> bool:
    """Do the drugs of a resistance item concern the therapy of a sensitivity item?

    Yes when every drug of the resistance claim is part of the therapy: a drug that is
    expected not to work makes a regimen built on it suspect, whether the claim comes from
    the same alteration (EGFR T790M and pemetrexed + erlotinib) or another one (a KRAS
    mutation and encorafenib + cetuximab). A regimen backed by stronger evidence of its own
    still stands (``dominates``: FDA-approved encorafenib + cetuximab for BRAF V600E
    colorectal cancer against the guideline's resistance of that tumour to cetuximab
    alone). A CIViC item listing several drugs without saying how they combine counts for
    each drug it names. An item naming no drug concerns no therapy.
    """
    r, s = resistance, sensitivity
    if not r.drugs:
        return False
    if r.drugs <= s.drugs:
        return True
    return r.multi_drug_alternatives and bool(r.drugs & s.drugs)


def dominates(s: Item, r: Item) -> bool:
    """Does the sensitivity item outrank the resistance item (rule 1)?"""
    if s.specificity < r.specificity or s.relevance < r.relevance:
        return False
    return s.key() > r.key()


def group_best(items: list[Item]) -> dict[tuple[str, frozenset[str]], Item]:
    """Best sensitivity item per (alteration, drug set), for the reason text."""
    best: dict[tuple[str, frozenset[str]], Item] = {}
    for it in items:
        if it.response != "sensitive":
            continue
        k = (it.alteration, it.drugs)
        if k not in best or it.key() > best[k].key():
            best[k] = it
    return best


class Index:
    """The items of one report indexed for the resistance check (linear in the items)."""

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.best: dict[tuple[str, frozenset[str]], Item] = group_best(items)
        self.groups: dict[tuple[str, frozenset[str]], list[Item]] = {}
        self._resistant_by_drug: dict[str, list[Item]] = {}
        self._resistant_by_alt_drug: dict[tuple[str, str], list[Item]] = {}
        self._sensitive_by_alt_drug: dict[tuple[str, str], list[Item]] = {}
        for it in items:
            if it.response == "sensitive":
                self.groups.setdefault((it.alteration, it.drugs), []).append(it)
            for d in it.drugs:
                if it.response == "resistant":
                    self._resistant_by_drug.setdefault(d, []).append(it)
                    self._resistant_by_alt_drug.setdefault((it.alteration, d), []).append(it)
                elif it.response == "sensitive":
                    self._sensitive_by_alt_drug.setdefault((it.alteration, d), []).append(it)
        # Resistance items strong enough to override another alteration (rule 2).
        self._cross_by_drug: dict[str, list[Item]] = {}
        for d, rs in self._resistant_by_drug.items():
            keep = [
                r for r in rs if r.specificity >= 2 or r.level >= CROSS_ALTERATION_GENE_LEVEL_MIN
            ]
            if keep:
                self._cross_by_drug[d] = keep
        self._defeated: dict[tuple[int, frozenset[str]], bool] = {}
        self._ranked_cross: dict[frozenset[str], list[Item]] = {}

    @staticmethod
    def _unique(lists: list[list[Item]]) -> list[Item]:
        """The items of ``lists``, each once, in report order (match, then therapy index):
        the same whatever order a set of drug names is iterated in."""
        seen: dict[int, Item] = {}
        for xs in lists:
            for x in xs:
                seen[id(x)] = x
        return sorted(seen.values(), key=lambda x: (x.match_index, x.therapy_index))

    def resistant_for(self, drugs: frozenset[str]) -> list[Item]:
        """Resistance items naming at least one of ``drugs`` (each once)."""
        return self._unique([self._resistant_by_drug.get(d, []) for d in drugs])

    def ranked_candidates(self, alteration: str, drugs: frozenset[str]) -> Iterator[Item]:
        """Resistance items that may override sensitivity for ``drugs`` of ``alteration``,
        best first: its own resistance items, then the qualifying ones of other alterations,
        each by :meth:`Item.key` descending and in report order among equals.

        The other alterations' items are ranked once per drug set and filtered lazily, so
        that the caller can stop at the first item that overrides.
        """
        own = [self._resistant_by_alt_drug.get((alteration, d), []) for d in drugs]
        yield from sorted(own[0] if len(own) == 1 else self._unique(own), key=Item.key,
                          reverse=True)  # fmt: skip
        ranked = self._ranked_cross.get(drugs)
        if ranked is None:
            cross = [self._cross_by_drug.get(d, []) for d in drugs]
            ranked = sorted(cross[0] if len(cross) == 1 else self._unique(cross), key=Item.key,
                            reverse=True)  # fmt: skip
            self._ranked_cross[drugs] = ranked
        yield from (r for r in ranked if r.alteration != alteration)

    def defeated(self, r: Item, therapy: frozenset[str]) -> bool:
        """Is resistance item ``r`` outranked, for a therapy of ``therapy``'s drugs, by its own
        alteration's sensitivity evidence (rule 1 applied the other way)?

        Only sensitivity for a regimen the judged therapy contains counts: FDA-approved
        adagrasib + cetuximab for KRAS G12C outranks KRAS G12C's resistance to cetuximab for
        that combination, not for cetuximab given alone on the strength of another alteration.
        """
        key = (id(r), therapy)
        if key not in self._defeated:
            self._defeated[key] = any(
                o.drugs <= therapy and applies(r, o) and dominates(o, r)
                for d in r.drugs
                for o in self._sensitive_by_alt_drug.get((r.alteration, d), [])
            )
        return self._defeated[key]


def overrides(r: Item, s: Item, index: Index) -> bool:
    """Does resistance item ``r`` override the sensitivity items of ``s``'s group?

    A group (an alteration and a therapy) stands while any of its sensitivity items
    outranks the resistance claim: rule 1 within the alteration (a codon-level vemurafenib
    item is not overridden while the exact-variant FDA claim of the same alteration stands,
    and more sensitivity evidence can never remove an option). Across alterations (rule 2)
    the group stands only on sensitivity that is both more relevant to the tumour type and
    at least as strong in level, and a resistance claim counts only if its own alteration's
    evidence for the drug resolves to resistance: FDA-approved ponatinib for ABL1 T315I
    defeats a guideline row calling T315I resistant to ponatinib, so that row cannot
    override the BCR::ABL1 ponatinib evidence either.
    """
    if not applies(r, s):
        return False
    group = index.groups[(s.alteration, s.drugs)]
    if r.alteration == s.alteration:
        return not any(dominates(o, r) for o in group)
    if r.specificity < 2 and r.level < CROSS_ALTERATION_GENE_LEVEL_MIN:
        return False
    if any(o.relevance > r.relevance and o.level >= r.level for o in group):
        return False
    return not index.defeated(r, s.drugs)


def reason(r: Item, s: Item) -> str:
    """Why ``r`` overrides ``s``, in one sentence."""
    if r.alteration != s.alteration:
        return (
            f"resistance evidence from another alteration in this tumour ({r.alteration_label}, "
            f"{SPECIFICITY_NAME[r.specificity]} match) outranks sensitivity evidence from "
            f"{s.alteration_label}"
        )
    if r.specificity > s.specificity:
        return (
            f"{SPECIFICITY_NAME[r.specificity]} resistance evidence outranks "
            f"{SPECIFICITY_NAME[s.specificity]} sensitivity evidence"
        )
    if r.relevance > s.relevance:
        return (
            "resistance evidence in the patient's tumour type outranks sensitivity evidence "
            "from another tumour type"
        )
    return (
        f"resistance and sensitivity evidence are equally specific and equally relevant to the "
        f"tumour type; resistance ({r.evidence_level}) is not weaker than sensitivity "
        f"({s.evidence_level}), so resistance is assumed"
    )


def items_of(matches: list[dict[str, Any]], alteration_ids: list[str]) -> list[Item]:
    """Evidence items of the report's matches (``alteration_ids`` parallel to ``matches``)."""
    out = []
    # The drug set of a drug field, computed once per distinct field (a gene-level item of a
    # large tumour recurs for every variant of the gene).
    drug_sets: dict[str | tuple[str, ...], tuple[list[str], frozenset[str]]] = {}
    for i, (m, alt_id) in enumerate(zip(matches, alteration_ids, strict=True)):
        for j, t in enumerate(m["therapies"]):
            drug = t["drug"]
            key = tuple(drug) if isinstance(drug, list) else drug
            if key not in drug_sets:
                names = drug_names(drug)
                drug_sets[key] = (names, frozenset(n.lower() for n in names))
            names, drugs = drug_sets[key]
            out.append(
                Item(
                    match_index=i,
                    therapy_index=j,
                    alteration=alt_id,
                    alteration_label=m["alteration"],
                    resolution=m["match_resolution"],
                    drugs=drugs,
                    response="disputed" if t.get("flag") else t["response"],
                    tumor_match=t["tumor_type_match"],
                    evidence_level=t["evidence_level"],
                    multi_drug_alternatives=len(names) > 1 and str(t["source"]).startswith("civic"),
                    specificity=SPECIFICITY.get(m["match_resolution"], 1),
                    relevance=RELEVANCE.get(t["tumor_type_match"], 1),
                    level=LEVEL_RANK.get(t["evidence_level"], 0),
                )
            )
    return out


def resolve(matches: list[dict[str, Any]], alteration_ids: list[str]) -> Index:
    """Mark overridden sensitivity entries in place (the report's therapy dicts).

    Adds ``overridden_by`` (None, or the resistance item with the reason) to every therapy
    entry; an overridden entry gets ``recommendation`` "expected resistance", its tier moved
    to ``overridden_tier`` and ``tier``/``amp_level`` set to None. Returns the indexed items.
    """
    items = items_of(matches, alteration_ids)
    index = Index(items)
    verdict: dict[tuple[str, frozenset[str]], Item | None] = {}
    for it in items:
        entry = matches[it.match_index]["therapies"][it.therapy_index]
        entry["overridden_by"] = None
        entry["overridden_tier"] = None
        if it.response != "sensitive":
            continue
        group = (it.alteration, it.drugs)
        if group not in verdict:  # every item of a group is judged by the group's best claim
            # The best overriding claim (own alteration first, then specificity, relevance,
            # level; the first in report order among equals) is the first ranked candidate
            # that overrides: the max of all overriding claims without judging every one.
            ranked = index.ranked_candidates(it.alteration, it.drugs)
            verdict[group] = next((r for r in ranked if overrides(r, it, index)), None)
        best = verdict[group]
        if best is None:
            continue
        rm = matches[best.match_index]
        rt = rm["therapies"][best.therapy_index]
        top = index.best[group]
        entry["overridden_by"] = {
            "match": best.match_index,
            "therapy": best.therapy_index,
            "alteration": rm["alteration"],
            "match_resolution": rm["match_resolution"],
            "drug": rt["drug"],
            "biomarker": rt["biomarker"],
            "evidence_level": rt["evidence_level"],
            "tumor_type": rt["tumor_type"],
            "tumor_type_match": rt["tumor_type_match"],
            "source": rt["source"],
            "source_id": rt["source_id"],
            "url": rt["url"],
            "reason": reason(best, top),
        }
        entry["overridden_tier"] = entry["tier"]
        entry["tier"] = None
        entry["amp_level"] = None
        entry["recommendation"] = "expected resistance (sensitivity evidence overridden)"
    return index
