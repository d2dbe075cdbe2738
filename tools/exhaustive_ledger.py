#!/usr/bin/env python3
"""Regenerate tests/generated/exhaustive_ledger.tsv: every named-allele pair of every gene.

Usage: python tools/exhaustive_ledger.py [GENE ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from precisionrx.engines.pgx.exhaustive import run_gene
from precisionrx.kb.registry import KnowledgeBase

LEDGER = Path(__file__).resolve().parents[1] / "tests" / "generated" / "exhaustive_ledger.tsv"


def main() -> None:
    kb = KnowledgeBase()
    genes = sys.argv[1:] or kb.genes
    lines = [
        "# Exhaustive pair suite: every pair of named alleles written as a phased and an unphased",
        "# VCF and called back. Listed: the pairs that do not come back, with the reason.",
        "# summary\tgene\tpairs\tfailing_rows",
    ]
    body = ["gene\tpair\tmode\tgot\treason"]
    for gene in genes:
        with tempfile.TemporaryDirectory() as tmp:
            n, rows = run_gene(kb, gene, Path(tmp))
        lines.append(f"# summary\t{gene}\t{n}\t{len(rows)}")
        body += [f"{r.gene}\t{r.pair}\t{r.mode}\t{r.got}\t{r.reason}" for r in rows]
        print(f"{gene}: {n} pairs, {len(rows)} rows", file=sys.stderr)
    LEDGER.parent.mkdir(parents=True, exist_ok=True)
    LEDGER.write_text("\n".join(lines + body) + "\n")


if __name__ == "__main__":
    main()
