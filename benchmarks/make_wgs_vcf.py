#!/usr/bin/env python3
"""Build a whole-genome-sized single-sample VCF (bgzipped + tabix) for the speed benchmark.

Writes ``benchmarks/data/wgs.vcf.gz`` with N synthetic SNV records spread over chr1-22 and chrX
(default 4,200,000), plus a genotype at every PharmCAT allele-defining position (CYP2C19 *1/*2,
everything else reference). Deterministic (seeded).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pysam

from precisionrx.kb.registry import KnowledgeBase

LENGTHS = {
    "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259,
    "6": 170805979, "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422,
    "11": 135086622, "12": 133275309, "13": 114364328, "14": 107043718, "15": 101991189,
    "16": 90338345, "17": 83257441, "18": 80373285, "19": 58617616, "20": 64444167,
    "21": 46709983, "22": 50818468, "X": 156040895,
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=4_200_000)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "wgs.vcf.gz")
    args = ap.parse_args()
    rng = random.Random(7)
    kb = KnowledgeBase()
    pgx: dict[tuple[str, int], str] = {}
    for gene in kb.genes:
        d = kb.definition(gene)
        star2 = d.allele("*2") if gene == "CYP2C19" else None
        for j, p in enumerate(d.positions):
            chrom = p.chromosome.removeprefix("chr")
            alt = p.alts[0] if p.alts else "N"
            gt = "0/0"
            d = star2.defined[j] if star2 is not None else None
            if d is not None and d != p.ref and d in p.alts:
                gt = "0/1"
                alt = d
            pgx[(chrom, p.position)] = f"{p.ref}\t{alt}\t.\tPASS\t.\tGT\t{gt}"
    total = sum(LENGTHS.values())
    plain = args.out.with_suffix("")
    plain.parent.mkdir(parents=True, exist_ok=True)
    with plain.open("w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for c, ln in LENGTHS.items():
            fh.write(f"##contig=<ID=chr{c},length={ln}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tWGS1\n")
        for c, ln in LENGTHS.items():
            n = int(args.records * ln / total)
            positions = sorted(set(rng.sample(range(1, ln), n)) | {p for ch, p in pgx if ch == c})
            rows = []
            for pos in positions:
                if (c, pos) in pgx:
                    rows.append(f"chr{c}\t{pos}\t.\t{pgx[(c, pos)]}\n")
                else:
                    ref = "ACGT"[pos % 4]
                    alt = "ACGT"[(pos + 1) % 4]
                    gt = ("0/1", "1/1", "0/0")[pos % 3]
                    rows.append(f"chr{c}\t{pos}\t.\t{ref}\t{alt}\t50\tPASS\t.\tGT\t{gt}\n")
            fh.writelines(rows)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    print(args.out)


if __name__ == "__main__":
    main()
