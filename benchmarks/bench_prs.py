#!/usr/bin/env python3
"""precisionrx prs vs plink2 --score on the same VCF: identical sums (1e-6) and wall time.

apt-get install plink2
python benchmarks/bench_prs.py [--samples 1000] [--variants 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

GT = np.array(["0/0", "0/1", "1/1"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--variants", type=int, default=100_000)
    args = ap.parse_args()
    rng = np.random.default_rng(3)
    n, m = args.samples, args.variants
    bases = np.array(list("ACGT"))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ref = rng.integers(0, 4, m)
        alt = (ref + rng.integers(1, 4, m)) % 4
        # avoid strand-ambiguous pairs so every variant is scored by both tools
        amb = bases[ref] == np.array(list("TGCA"))[alt]
        alt = np.where(amb, (alt + 1) % 4, alt)
        amb = bases[ref] == np.array(list("TGCA"))[alt]
        alt = np.where(amb, (alt + 1) % 4, alt)
        freq = rng.uniform(0.05, 0.5, m)
        weights = rng.normal(0, 0.05, m)
        effect_is_alt = rng.random(m) < 0.5
        vcf = d / "cohort.vcf"
        with vcf.open("w") as fh:
            fh.write("##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n")
            fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
            fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t")
            fh.write("\t".join(f"S{i}" for i in range(n)) + "\n")
            for j in range(m):
                g = rng.binomial(2, freq[j], n)
                fh.write(
                    f"1\t{1000 + j * 10}\tv{j}\t{bases[ref[j]]}\t{bases[alt[j]]}\t.\tPASS\t.\tGT\t"
                )
                fh.write("\t".join(GT[g]) + "\n")
        ea = np.where(effect_is_alt, bases[alt], bases[ref])
        oa = np.where(effect_is_alt, bases[ref], bases[alt])
        score = d / "score.txt"
        with score.open("w") as fh:
            fh.write("#pgs_id=BENCH\n#genome_build=GRCh38\n")
            fh.write("chr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n")
            for j in range(m):
                fh.write(f"1\t{1000 + j * 10}\t{ea[j]}\t{oa[j]}\t{weights[j]:.8f}\n")
        plink_score = d / "plink_score.txt"
        with plink_score.open("w") as fh:
            fh.write("ID\tA1\tW\n")
            for j in range(m):
                fh.write(f"v{j}\t{ea[j]}\t{weights[j]:.8f}\n")
        t0 = time.perf_counter()
        subprocess.run(
            ["precisionrx", "prs", "--vcf", str(vcf), str(score), "-o", str(d / "ours.json")],
            check=True, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        ours_t = time.perf_counter() - t0
        ours = {s["sample"]: s["sum"] for s in json.loads((d / "ours.json").read_text())["scores"]}
        print(f"precisionrx prs: {ours_t:.2f} s ({n} samples x {m} variants, plain VCF)")
        plink = shutil.which("plink2")
        if plink is None:
            print("plink2 not installed: comparison skipped")
            return
        t0 = time.perf_counter()
        subprocess.run(
            [plink, "--vcf", str(vcf), "--score", str(plink_score), "1", "2", "3", "header",
             "cols=+scoresums", "no-mean-imputation", "--threads", "2", "--out", str(d / "pl")],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        plink_t = time.perf_counter() - t0
        lines = (d / "pl.sscore").read_text().splitlines()
        head = lines[0].lstrip("#").split("\t")
        col = head.index("SCORE1_SUM")
        iid = head.index("IID")
        diffs = [abs(float(r.split("\t")[col]) - ours[r.split("\t")[iid]]) for r in lines[1:]]
        print(
            f"plink2 --score: {plink_t:.2f} s; max |difference| = {max(diffs):.2e} over {len(diffs)} samples"
        )
        print(f"ratio precisionrx / plink2 = {ours_t / plink_t:.2f}")


if __name__ == "__main__":
    main()
