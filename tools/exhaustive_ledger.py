#!/usr/bin/env python3
"""Regenerate tests/generated/exhaustive_ledger.tsv: every named allele and every named-allele
pair of every gene, called back from VCFs written from the definitions.

Usage: python tools/exhaustive_ledger.py [GENE ...]   (listed genes only; the others are kept)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from precisionrx.kb.registry import KnowledgeBase

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ is at the root
from testkit.exhaustive import audit_gene, run_gene

LEDGER = Path(__file__).resolve().parents[1] / "tests" / "generated" / "exhaustive_ledger.tsv"
HEAD = [
    "# Exhaustive pair suite: every pair of named alleles written as a phased and an unphased",
    "# VCF and called back. Listed: the pairs that do not come back, with the reason.",
    "# Allele audit: every named allele of the packaged definitions (before exemptions) written",
    "# from its own definition (heterozygous with the reference unphased and phased, homozygous,",
    "# hemizygous for chrX) and called back. Listed: alleles returned only as a twin or under a",
    "# documented rule, and PharmCAT's documented exclusions. A 'NOT CALLED' reason fails the test.",
]


def _existing() -> dict[str, list[str]]:
    """Current ledger lines per gene (summary lines and rows), to keep genes not regenerated."""
    out: dict[str, list[str]] = {}
    if not LEDGER.is_file():
        return out
    for line in LEDGER.read_text().splitlines():
        fields = line.split("\t")
        keyed = line.startswith(("# summary\t", "# allele_summary\t", "allele\t"))
        if keyed and fields[1] != "gene":
            out.setdefault(fields[1], []).append(line)
        elif not line.startswith(("#", "gene\t", "allele\t")):
            out.setdefault(fields[0], []).append(line)
    return out


def main() -> None:
    kb = KnowledgeBase()
    wanted = sys.argv[1:] or kb.genes
    unknown = sorted(set(wanted) - set(kb.genes))
    if unknown:
        raise SystemExit(f"unknown gene(s): {', '.join(unknown)}")
    old = _existing()
    pair_summary, allele_summary, pair_rows, allele_rows = [], [], [], []
    for gene in kb.genes:
        if gene not in wanted:
            lines = old.get(gene, [])
            pair_summary += [x for x in lines if x.startswith("# summary\t")]
            allele_summary += [x for x in lines if x.startswith("# allele_summary\t")]
            allele_rows += [x for x in lines if x.startswith("allele\t")]
            pair_rows += [x for x in lines if not x.startswith(("#", "allele\t"))]
            continue
        with tempfile.TemporaryDirectory() as tmp:
            n, rows = run_gene(kb, gene, Path(tmp))
            m, arows = audit_gene(kb, gene, Path(tmp))
        pair_summary.append(f"# summary\t{gene}\t{n}\t{len(rows)}")
        pair_rows += [f"{r.gene}\t{r.pair}\t{r.mode}\t{r.got}\t{r.reason}" for r in rows]
        allele_summary.append(f"# allele_summary\t{gene}\t{m}\t{len(arows)}")
        allele_rows += [
            f"allele\t{r.gene}\t{r.allele}\t{r.mode}\t{r.got}\t{r.reason}" for r in arows
        ]
        bad = [r for r in arows if not r.explained]
        print(f"{gene}: {n} pairs, {len(rows)} rows; {m} alleles, {len(bad)} not called",
              file=sys.stderr)  # fmt: skip
    lines = [
        *HEAD,
        "# summary\tgene\tpairs\tfailing_rows",
        *pair_summary,
        "# allele_summary\tgene\talleles\trows",
        *allele_summary,
        "gene\tpair\tmode\tgot\treason",
        *pair_rows,
        "allele\tgene\tallele\tmode\tgot\treason",
        *allele_rows,
    ]
    LEDGER.parent.mkdir(parents=True, exist_ok=True)
    LEDGER.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
