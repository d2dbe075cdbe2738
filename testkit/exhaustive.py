"""Exhaustive self-check: every named allele, and every pair of them, called back from a VCF.

Pair suite: for each gene a multi-sample VCF is written with one sample per allele pair
(phased, then unphased) at every allele-defining position, and called through the normal
VCF path. A pair passes when the phased call is exactly that diplotype and the unphased
call's candidate set contains it. Pairs that cannot pass are listed with the reason, e.g.
two definitions that are identical at the defined positions.

Allele audit: every named allele of the *packaged* definition, before any exemption is
applied (so an allele the loader would drop is still written), as a VCF sample written from
its own definition: heterozygous with the reference (unphased and phased), homozygous and,
for chrX genes, hemizygous (haploid GT, sample recorded as male). The allele (or a twin with
an identical definition) must be in the call. Alleles PharmCAT documents as not called are
listed with the documented reason; any other allele that does not come back is a failure.

Both are used by the committed ledger test (tests/generated) and ``tools/exhaustive_ledger.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement
from pathlib import Path

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import VARIANT_LIST, CallOptions
from precisionrx.engines.pgx.matcher import diplotype_name
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import CHRX_GENES, GeneDefinition, NamedAllele
from testkit.synthetic import allele_sequence


@dataclass(frozen=True, slots=True)
class LedgerRow:
    gene: str
    pair: str
    mode: str
    got: str
    reason: str


def _seq(defn: GeneDefinition, ref: NamedAllele, allele: NamedAllele, j: int) -> str:
    return allele_sequence(allele, ref, j, defn.positions[j])


def _vcf_header(chrom: str, samples: list[str]) -> list[str]:
    return [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={chrom}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]


def write_pairs_vcf(
    defn: GeneDefinition, pairs: list[tuple[str, str]], path: Path, phased: bool
) -> None:
    sep = "|" if phased else "/"
    by_name = {a.name: a for a in defn.alleles}
    ref = defn.reference_allele
    chrom = defn.chromosome
    lines = _vcf_header(chrom, [f"P{i}" for i in range(len(pairs))])
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


#: Alleles and variants PharmCAT documents as not called (pharmcat-docs
#: Gene-Definition-Exceptions.md, "G6PD"; exemptions.json ``ignoredAlleles`` and
#: ``ignoredPositions``). The audit lists each with this reason; nothing else may fail.
DOCUMENTED_EXCLUSIONS: dict[tuple[str, str], str] = {
    ("G6PD", "Mediterranean Haplotype"): "PharmCAT exclusion (Gene-Definition-Exceptions, "
    "G6PD): rs2230037's reference base in this haplotype (G) differs from GRCh38 (A); "
    "carriers are called 'Mediterranean, Dallas, Panama, Sassari, Cagliari, Birmingham' "
    "(same function: deficient)",
    ("G6PD", "g.154532439A>G"): "PharmCAT exclusion (Gene-Definition-Exceptions, G6PD): "
    "rs2230037, the position exclusive to the Mediterranean Haplotype, is ignored because its "
    "reference base in that haplotype differs from GRCh38",
    ("G6PD", "g.154532991_154532993delGGT"): "PharmCAT exclusion (Gene-Definition-Exceptions, "
    "G6PD): the Villeurbanne deletion shares its left-aligned VCF position with rs5030869 "
    "(Chatham); the deletion is ignored, Chatham is still called",
}

AUDIT_MODES = ("het_unphased", "het_phased", "hom", "hemizygous")


@dataclass(frozen=True, slots=True)
class AlleleRow:
    gene: str
    allele: str
    mode: str
    got: str
    reason: str

    @property
    def explained(self) -> bool:
        """A twin, a documented rule or a documented exclusion: never a calling failure."""
        return not self.reason.startswith("NOT CALLED")


def _audit_samples(defn: GeneDefinition) -> list[tuple[str, str, str | None, str]]:
    """(mode, allele, second allele or None for haploid, GT separator) per audit sample."""
    ref = defn.reference_allele.name
    modes = [m for m in AUDIT_MODES if m != "hemizygous" or defn.gene in CHRX_GENES]
    out: list[tuple[str, str, str | None, str]] = []
    for a in defn.alleles:
        for mode in modes:
            if mode == "het_unphased":
                out.append((mode, a.name, ref, "/"))
            elif mode == "het_phased":
                out.append((mode, a.name, ref, "|"))
            elif mode == "hom":
                out.append((mode, a.name, a.name, "/"))
            else:
                out.append((mode, a.name, None, ""))
    return out


def write_audit_vcf(
    defn: GeneDefinition, samples: list[tuple[str, str, str | None, str]], path: Path
) -> None:
    by_name = {a.name: a for a in defn.alleles}
    ref = defn.reference_allele
    chrom = defn.chromosome
    lines = _vcf_header(chrom, [f"A{i}" for i in range(len(samples))])
    for j, pos in enumerate(defn.positions):
        alleles = [pos.ref, *pos.alts]
        gts = []
        for _mode, a, b, sep in samples:
            x = _seq(defn, ref, by_name[a], j)
            ys = [] if b is None else [_seq(defn, ref, by_name[b], j)]
            for seq in (x, *ys):
                if seq not in alleles:
                    alleles.append(seq)
            gts.append(sep.join(str(alleles.index(q)) for q in (*ys, x)))
        alts = ",".join(alleles[1:]) or "."
        lines.append(
            f"{chrom}\t{pos.position}\t{pos.rsid or '.'}\t{pos.ref}\t{alts}\t.\tPASS\t.\tGT\t"
            + "\t".join(gts)
        )
    path.write_text("\n".join(lines) + "\n")


def audit_gene(kb: KnowledgeBase, gene: str, workdir: Path) -> tuple[int, list[AlleleRow]]:
    """Return (named alleles audited, ledger rows) for one gene.

    Rows: alleles returned only as a twin or under a documented rule (explained), alleles
    excluded by PharmCAT (explained, with the documented reason), and failures
    (``NOT CALLED`` reasons), which the ledger test rejects.
    """
    raw = kb.raw_definition(gene)
    ref = raw.reference_allele.name
    same = identical_definitions(raw)
    samples = _audit_samples(raw)
    path = workdir / f"{gene}.audit.vcf"
    write_audit_vcf(raw, samples, path)
    males = {f"A{i}": "male" for i, s in enumerate(samples) if s[0] == "hemizygous"}
    options = CallOptions(genes=[gene], sex=males, default_sex="female")
    results = call_vcf(path, kb, None, options)
    rows: list[AlleleRow] = []
    for (mode, a, b, _sep), res in zip(samples, results, strict=True):
        got = res.genes[0].diplotypes
        want = a if b is None else expected_name(gene, a, b, ref)
        if want in got:
            continue
        twins = [t for t in same.get(a, []) if t != a]
        twin_names = {
            t if b is None else expected_name(gene, t, t if b == a else b, ref) for t in twins
        }
        shown = " | ".join(got)
        if twin_names & set(got):
            reason = f"definition identical to {', '.join(sorted(twins))}"
        elif a == "c.1129-5923C>G" and any("(HapB3)" in g for g in got):
            reason = "intronic c.1129-5923C>G is reported as HapB3 (PharmCAT HapB3 rule)"
        elif (gene, a) in DOCUMENTED_EXCLUSIONS:
            reason = DOCUMENTED_EXCLUSIONS[(gene, a)]
        else:
            reason = "NOT CALLED from its own definition"
        rows.append(AlleleRow(gene, a, mode, shown, reason))
    defn = kb.definition(gene)
    excluded = sorted(defn.exemptions.ignored_alleles) + [
        ig.hgvs or f"{ig.chromosome}:{ig.position} {ig.ref}>{','.join(ig.alts)}"
        for ig in defn.exemptions.ignored_positions
    ]
    for name in excluded:
        if any(r.allele == name for r in rows):
            continue
        reason = DOCUMENTED_EXCLUSIONS.get(
            (gene, name), "NOT CALLED: PharmCAT exemption without a documented reason"
        )
        if name in defn.exemptions.ignored_alleles:
            mode = "excluded_allele"
        else:
            mode = "excluded_variant"
            reason = DOCUMENTED_EXCLUSIONS.get(
                (gene, name),
                "PharmCAT exemptions.json ignoredPositions: this variant is ignored; the "
                "defining variants at the same position are still read",
            )
        rows.append(AlleleRow(gene, name, mode, "", reason))
    return len(raw.alleles), rows
