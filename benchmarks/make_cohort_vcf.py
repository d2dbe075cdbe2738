#!/usr/bin/env python3
"""Merge the per-gene 1KGP panel VCFs (../shared/data/pgx/1kgp_panel_grch38) into one cohort VCF.

Writes ``benchmarks/data/1kgp_cohort.vcf.gz`` (+ .tbi): 3,103 samples, phased, all 19 gene regions.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import pysam

ORDER = [str(i) for i in range(1, 23)] + ["X"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--panel",
        type=Path,
        default=Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "pgx"
        / "1kgp_panel_grch38",
    )
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "data" / "1kgp_cohort.vcf.gz"
    )
    args = ap.parse_args()
    header: list[str] = []
    records: list[tuple[int, int, str]] = []
    for path in sorted(args.panel.glob("*.vcf.gz")):
        with gzip.open(path, "rt") as fh:
            for line in fh:
                if line.startswith("#"):
                    if line not in header:
                        header.append(line)
                    continue
                chrom, pos, _ = line.split("\t", 2)
                records.append((ORDER.index(chrom.removeprefix("chr")), int(pos), line))
    records.sort(key=lambda r: (r[0], r[1]))
    plain = args.out.with_suffix("")
    plain.parent.mkdir(parents=True, exist_ok=True)
    meta = sorted(
        (h for h in header if h.startswith("##")), key=lambda h: not h.startswith("##fileformat")
    )
    cols = [h for h in header if h.startswith("#CHROM")][:1]
    with plain.open("w") as fh:
        fh.writelines(meta + cols)
        fh.writelines(r[2] for r in records)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    print(args.out, len(records), "records")


if __name__ == "__main__":
    main()
