#!/usr/bin/env python3
"""Concordance of precisionrx and PyPGx genotypes on the benchmark cohort.

    precisionrx pgx benchmarks/data/1kgp_cohort.vcf.gz -o /tmp/cohort.json --quiet
    python benchmarks/compare_pypgx.py /tmp/cohort.json benchmarks/data/pypgx/CYP2C19-gt.zip CYP2C19

Compares PyPGx's ``Genotype`` column with precisionrx's first (most likely) diplotype.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from pathlib import Path


def main() -> None:
    ours_path, zip_path, gene = sys.argv[1:4]
    doc = json.loads(Path(ours_path).read_text())
    ours = {r["sample"]: next(g for g in r["genes"] if g["gene"] == gene) for r in doc["results"]}
    with zipfile.ZipFile(zip_path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("data.tsv"))
        rows = list(csv.reader(io.TextIOWrapper(zf.open(name)), delimiter="\t"))
    col = rows[0].index("Genotype")
    agree, differ = 0, []
    for row in rows[1:]:
        first = ours[row[0]]["diplotypes"][:1]
        if row[col] in first:
            agree += 1
        else:
            differ.append((row[0], row[col], first))
    print(f"{gene}: {agree}/{len(rows) - 1} identical")
    for d in differ[:20]:
        print("  ", *d)


if __name__ == "__main__":
    main()
