"""Exhaustive self-check: every pair of named alleles, written as a VCF, called back.

For each gene a multi-sample VCF is written with one sample per allele pair (phased, then
unphased) at every allele-defining position, and called through the normal VCF path.
A pair passes when the phased call is exactly that diplotype and the unphased call's
candidate set contains it. Pairs that cannot pass are listed with the reason, e.g. two
definitions that are identical at the defined positions. Used by the committed ledger
test (tests/generated) and ``tools/exhaustive_ledger.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement
from pathlib import Path

from precisionrx.engines.pgx.caller import VARIANT_LIST, CallOptions, call_vcf
from precisionrx.engines.pgx.matcher import diplotype_name
from precisionrx.io.synthetic import allele_sequence
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import GeneDefinition, NamedAllele


@dataclass(frozen=True, slots=True)
class LedgerRow:
    gene: str
    pair: str
    mode: str
    got: str
    reason: str


def _seq(defn: GeneDefinition, ref: NamedAllele, allele: NamedAllele, j: int) -> str:
    return allele_sequence(allele, ref, j, defn.positions[j])


def write_pairs_vcf(
    defn: GeneDefinition, pairs: list[tuple[str, str]], path: Path, phased: bool
) -> None:
    sep = "|" if phased else "/"
    by_name = {a.name: a for a in defn.alleles}
    ref = defn.reference_allele
    chrom = defn.chromosome
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={chrom}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"P{i}" for i in range(len(pairs))),
    ]
    for j, pos in enumerate(defn.positions):
        seqs = [(_seq(defn, ref, by_name[a], j), _seq(defn, ref, by_name[b], j)) for a, b in pairs]
        alleles = [pos.ref, *pos.alts]
        for x, y in seqs:
            for s in (x, y):
                if s not in alleles:
                    alleles.append(s)
        alts = ",".join(alleles[1:]) or "."
        gts = "\t".join(f"{alleles.index(x)}{sep}{alleles.index(y)}" for x, y in seqs)
        lines.append(
            f"{chrom}\t{pos.position}\t{pos.rsid or '.'}\t{pos.ref}\t{alts}\t.\tPASS\t.\tGT\t{gts}"
        )
    path.write_text("\n".join(lines) + "\n")


def expected_name(gene: str, a: str, b: str, reference: str) -> str:
    if gene in VARIANT_LIST:
        x = "Reference" if a == reference else a
        y = "Reference" if b == reference else b
        if x == "Reference" and y != "Reference":
            return f"Reference/{y}"
        if y == "Reference" and x != "Reference":
            return f"Reference/{x}"
        return f"{x}/{y}"
    return diplotype_name(a, b)


def identical_definitions(defn: GeneDefinition) -> dict[str, list[str]]:
    """Alleles that accept exactly the same sequences everywhere (indistinguishable)."""
    groups: dict[tuple[frozenset[str], ...], list[str]] = {}
    for a in defn.alleles:
        groups.setdefault(a.accepts, []).append(a.name)
    return {n: g for g in groups.values() if len(g) > 1 for n in g}


def run_gene(kb: KnowledgeBase, gene: str, workdir: Path) -> tuple[int, list[LedgerRow]]:
    """Return (pairs checked, failing rows) for one gene."""
    defn = kb.definition(gene)
    names = [a.name for a in defn.alleles]
    pairs = list(combinations_with_replacement(names, 2))
    same = identical_definitions(defn)
    ref = defn.reference_allele.name
    rows: list[LedgerRow] = []
    for phased in (True, False):
        path = workdir / f"{gene}.{'phased' if phased else 'unphased'}.vcf"
        write_pairs_vcf(defn, pairs, path, phased)
        options = CallOptions(genes=[gene], default_sex="female")
        results = call_vcf(path, kb, None, options)
        for (a, b), res in zip(pairs, results, strict=True):
            gc = res.genes[0]
            want = expected_name(gene, a, b, ref)
            got = gc.diplotypes
            ok = (got == [want]) if phased else (want in got)
            if gene in VARIANT_LIST and not phased:
                ok = gc.called  # unphased variant-list genes report variants, not strands
            if ok:
                continue
            reason = _reason(a, b, got, same, gc.called)
            rows.append(
                LedgerRow(gene, want, "phased" if phased else "unphased", " | ".join(got), reason)
            )
    return len(pairs), rows


def _reason(a: str, b: str, got: list[str], same: dict[str, list[str]], called: bool) -> str:
    if "c.1129-5923C>G" in (a, b):
        return "intronic c.1129-5923C>G is reported as HapB3 (PharmCAT HapB3 rule)"
    if a in same or b in same:
        twins = sorted(set(same.get(a, []) + same.get(b, [])) - {a, b})
        return f"definition identical to {', '.join(twins)}" if twins else "identical definitions"
    if not called:
        return "not called"
    return "a higher-scoring or different pair explains the same genotypes"
