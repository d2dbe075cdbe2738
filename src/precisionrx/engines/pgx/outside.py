"""Outside calls (CYP2D6, HLA-A, HLA-B, MT-RNR1 or any gene) turned into gene results."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from precisionrx.engines.pgx.phenotyper import phenotype_for
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import ACTIVITY_SCORE_GENES
from precisionrx.records import Caveat, CaveatKind, GeneCall, PositionSummary

#: HLA alleles with CPIC/DPWG recommendations (abacavir, allopurinol, carbamazepine,
#: oxcarbazepine, phenytoin/fosphenytoin).
HLA_RISK_ALLELES = {"HLA-A": ("*31:01",), "HLA-B": ("*15:02", "*57:01", "*58:01")}

_SUBALLELE = re.compile(r"^(\*\d+)\.\d+")
_HLA_FIELDS = re.compile(r"^(\*\d+:\d+)(:\d+)*[A-Z]?$")


def normalise_allele(gene: str, allele: str) -> str:
    """Drop sub-allele detail: CYP2D6 ``*4.024`` -> ``*4``; HLA ``*07:02:01:127`` -> ``*07:02``."""
    a = allele.strip()
    if gene == "MT-RNR1" and a and a[0].isdigit():
        return f"m.{a}"  # PharmCAT writes MT-RNR1 alleles as m.1555A>G
    if gene.startswith("HLA-"):
        a = a.removeprefix(gene).removeprefix(gene.replace("-", ""))
        m = _HLA_FIELDS.match(a)
        return m.group(1) if m else a
    m = _SUBALLELE.match(a)
    return m.group(1) if m else a


def outside_gene_call(kb: KnowledgeBase, call: OutsideCall) -> GeneCall:
    gene = call.gene
    caveats = [
        Caveat(
            code="outside_call",
            kind=CaveatKind.NOTE,
            message=f"{gene} result supplied as an outside call (line {call.line}); "
            "it overrides any VCF data for this gene",
        )
    ]
    alleles: list[str] = []
    diplotype = None
    if call.diplotype:
        alleles = [normalise_allele(gene, a) for a in call.diplotype.split("/")]
        diplotype = "/".join(alleles)
    phenotype = call.phenotype
    score = call.activity_score
    functions: list[str] = []
    if gene in HLA_RISK_ALLELES and alleles and not phenotype:
        statuses = [
            f"{gene}{risk} {'positive' if risk in alleles else 'negative'}"
            for risk in HLA_RISK_ALLELES[gene]
        ]
        positives = [s for s in statuses if s.endswith("positive")]
        phenotype = "; ".join(positives) if positives else "; ".join(statuses)
        functions = statuses
    elif alleles and kb.phenotypes(gene) is not None:
        expected = phenotype_for(kb, gene, alleles)
        functions = expected.functions
        if phenotype and expected.phenotype and phenotype != expected.phenotype:
            caveats.append(
                Caveat(
                    code="outside_call_mismatch",
                    message=f"outside phenotype {phenotype!r} differs from the expected "
                    f"{expected.phenotype!r} for {diplotype}; the supplied phenotype is used",
                )
            )
        if (
            gene in ACTIVITY_SCORE_GENES
            and score
            and expected.activity_score
            and not _same_score(score, expected.activity_score)
        ):
            caveats.append(
                Caveat(
                    code="outside_call_mismatch",
                    message=f"outside activity score {score} differs from the expected "
                    f"{expected.activity_score} for {diplotype}; the supplied score is used",
                )
            )
        phenotype = phenotype or expected.phenotype
        if gene in ACTIVITY_SCORE_GENES:
            score = score or expected.activity_score
        caveats += [Caveat(code="phenotype_note", message=n) for n in expected.notes]
    if gene == "CYP2D6":
        caveats.append(
            Caveat(
                code="cyp2d6_outside",
                kind=CaveatKind.NOTE,
                message="CYP2D6 from an outside caller: copy number and hybrid alleles are as "
                "reliable as that caller's structural-variant detection",
            )
        )
    lookup = score if gene in ACTIVITY_SCORE_GENES and score else phenotype
    return GeneCall(
        gene=gene,
        called=True,
        diplotypes=[diplotype] if diplotype else [],
        diplotype_probabilities=None,
        phenotype=phenotype,
        activity_score=score if gene in ACTIVITY_SCORE_GENES else None,
        allele_functions=functions,
        lookup_key=lookup,
        source="outside",
        positions=PositionSummary(total=0, found=0),
        caveats=caveats,
    )


def _same_score(a: str, b: str) -> bool:
    try:
        return Decimal(a.replace("≥", "")) == Decimal(b.replace("≥", ""))
    except InvalidOperation:
        return a == b
