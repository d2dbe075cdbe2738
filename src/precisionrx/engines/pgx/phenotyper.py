"""Diplotype -> allele functions -> activity score -> CPIC phenotype term.

Lookups use the packaged PharmCAT phenotype tables (CPIC terms as CPIC writes them);
G6PD and RYR1, absent from that snapshot, use the PyPGx diplotype table (from CPIC).
CYP2D6 activity cut-offs follow the 2019 CPIC/DPWG consensus (Caudle et al., Clin Transl
Sci 2020;13:116): PM 0, IM 0.25-1.0, NM 1.25-2.25, UM > 2.25.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import DiplotypeCall

#: Single-position genes: the lookup key is the phenotype of the rs genotype.
SINGLE_POSITION_GENES = frozenset({"ABCG2", "VKORC1", "IFNL3"})


@dataclass
class Phenotype:
    phenotype: str | None
    activity_score: str | None = None
    functions: list[str] = field(default_factory=list)
    lookup_key: str | None = None
    notes: list[str] = field(default_factory=list)


def cyp2d6_phenotype_from_score(score: Decimal) -> str:
    """CPIC 2019 consensus CYP2D6 activity-score bins."""
    if score == 0:
        return "Poor Metabolizer"
    if score <= Decimal("1.0"):
        return "Intermediate Metabolizer"
    if score <= Decimal("2.25"):
        return "Normal Metabolizer"
    return "Ultrarapid Metabolizer"


def _fmt_score(value: Decimal) -> str:
    return f"{value:.1f}" if value == value.quantize(Decimal("0.1")) else f"{value.normalize()}"


def phenotype_for(
    kb: KnowledgeBase, gene: str, alleles: list[str], sex: str = "unknown"
) -> Phenotype:
    """Phenotype for a diplotype (two alleles) or a haploid call (one allele)."""
    table = kb.phenotypes(gene)
    if gene in {"G6PD", "RYR1"} and table is None:
        return _supplementary(kb, gene, alleles)
    if table is None:
        if gene == "CYP4F2":
            return Phenotype(
                None,
                notes=[
                    "CYP4F2 has no CPIC phenotype terms; warfarin guidance uses *3 carrier status"
                ],
            )
        return Phenotype(None, notes=[f"no phenotype table for {gene}"])
    functions = [table.functions.get(a) or "Unknown function" for a in alleles]
    if gene == "IFNL3":
        # CPIC peginterferon alfa guideline (PMID 24096968): rs12979860 CC favourable,
        # CT/TT unfavourable response genotype.
        term = (
            "Unfavorable response genotype"
            if any(f.startswith("Unfavorable") for f in functions)
            else "Favorable response genotype"
        )
        return Phenotype(term, None, functions, term)
    row = table.lookup(*alleles)
    if row is None:
        unknown = [a for a in alleles if a not in table.functions]
        note = (
            f"allele(s) {', '.join(unknown)} not in the phenotype table"
            if unknown
            else f"diplotype {'/'.join(alleles)} not in the phenotype table"
        )
        activity = _sum_activity(table.activities, alleles)
        if gene == "CYP2D6" and activity is not None:
            return Phenotype(
                cyp2d6_phenotype_from_score(activity),
                _fmt_score(activity),
                functions,
                _fmt_score(activity),
                [note + "; phenotype from the activity-score bins"],
            )
        return Phenotype("Indeterminate", None, functions, "Indeterminate", [note])
    return Phenotype(row.phenotype, row.activity_score, functions, row.lookup_key)


def _sum_activity(activities: dict[str, str | None], alleles: list[str]) -> Decimal | None:
    total = Decimal(0)
    for a in alleles:
        raw = activities.get(a)
        if raw is None:
            return None
        try:
            total += Decimal(raw.replace("≥", ""))
        except InvalidOperation:
            return None
    return total


def _supplementary(kb: KnowledgeBase, gene: str, alleles: list[str]) -> Phenotype:
    sup = kb.supplementary
    funcs = sup.functions.get(gene, {})
    functions = [funcs.get(a, "Unknown function") for a in alleles]
    pair = (alleles[0], alleles[1] if len(alleles) > 1 else "MALE")
    pheno = sup.phenotype(gene, *pair)
    if pheno is not None:
        return Phenotype(pheno, None, functions, pheno)
    if gene == "RYR1":
        if any("Malignant Hyperthermia" in f for f in functions):
            term = "Malignant Hyperthermia Susceptibility"
            return Phenotype(term, None, functions, term)
        unknown = [a for a, f in zip(alleles, functions, strict=True) if f == "Unknown function"]
        notes = (
            [f"function of {', '.join(unknown)} is not in the shipped RYR1 table (unverified)"]
            if unknown
            else []
        )
        term = "Uncertain Susceptibility"
        return Phenotype(term, None, functions, term, notes)
    return Phenotype(
        "Indeterminate",
        None,
        functions,
        "Indeterminate",
        [f"{gene} diplotype {'/'.join(alleles)} not in the phenotype table"],
    )


def reference_phenotype(kb: KnowledgeBase, gene: str) -> str | None:
    """Phenotype of the reference/reference diplotype: the "nothing found" baseline."""
    from precisionrx.errors import KnowledgeBaseError

    try:
        ref = kb.definition(gene).reference_allele.name
    except KnowledgeBaseError:
        return None
    return phenotype_for(kb, gene, [ref, ref]).phenotype


#: Joins the phenotypes (or activity scores) of tied diplotypes that differ.
ALTERNATIVES = " or "


@dataclass
class GeneSummary:
    """Gene-level fields of a call made of one or several tied diplotypes."""

    phenotype: str | None
    activity_score: str | None
    lookup_key: str | None
    functions: list[str]


def summarise(calls: list[DiplotypeCall]) -> GeneSummary:
    """One value when every candidate agrees; otherwise all of them, none presented alone.

    Phenotypes and activity scores that differ are joined with " or " in the candidates'
    order; the lookup key is then null (each candidate's key is on its ``DiplotypeCall``, and
    recommendations are made for each), and so are the allele functions when they differ.
    """

    def distinct(values: list[str | None]) -> list[str]:
        return list(dict.fromkeys(v for v in values if v is not None))

    phenos = distinct([c.phenotype for c in calls])
    scores = distinct([c.activity_score for c in calls])
    keys = distinct([c.lookup_key for c in calls])
    funcs = {tuple(c.allele_functions) for c in calls}
    return GeneSummary(
        phenotype=ALTERNATIVES.join(phenos) if phenos else None,
        activity_score=ALTERNATIVES.join(scores) if scores else None,
        lookup_key=keys[0] if len(keys) == 1 else None,
        functions=list(next(iter(funcs))) if len(funcs) == 1 else [],
    )
