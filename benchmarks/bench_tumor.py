#!/usr/bin/env python3
"""50,000-variant MAF annotated and matched by `precisionrx tumor` (goal <= 5 s end to end).

Synthetic MAF (seeded): genes drawn from the knowledge base's genes and from 2,000 other
symbols, missense / nonsense / frameshift / silent / in-frame deletion classes, random protein
changes plus known hotspots (BRAF V600E, EGFR L858R, KRAS G12C ...), with a CNA and a fusion file.

python benchmarks/bench_tumor.py [--variants 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from precisionrx.kb.registry import KnowledgeBase

CLASSES = {
    "Missense_Mutation": "missense_variant", "Nonsense_Mutation": "stop_gained",
    "Frame_Shift_Del": "frameshift_variant", "Silent": "synonymous_variant",
    "In_Frame_Del": "inframe_deletion",
}  # fmt: skip
HOTSPOTS = [("BRAF", "p.V600E"), ("EGFR", "p.L858R"), ("KRAS", "p.G12C"), ("PIK3CA", "p.H1047R"),
            ("EGFR", "p.T790M"), ("IDH1", "p.R132H")]  # fmt: skip
AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    with (KnowledgeBase().root / "oncology" / "biomarkers.tsv").open() as fh:
        kb_genes = sorted({r["gene"] for r in csv.DictReader(fh, delimiter="\t") if r["gene"]})
    genes = np.array(kb_genes + [f"GENE{i}" for i in range(2000)])
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        maf = d / "bench.maf"
        names = list(CLASSES)
        with maf.open("w") as fh:
            fh.write("#version 2.4\nHugo_Symbol\tChromosome\tStart_Position\tReference_Allele\t"
                     "Tumor_Seq_Allele2\tVariant_Classification\tHGVSp_Short\tHGVSc\t"
                     "Exon_Number\tt_depth\tt_alt_count\tTumor_Sample_Barcode\tNCBI_Build\n")  # fmt: skip
            for i in range(args.variants):
                if i < len(HOTSPOTS) * 10:
                    gene, prot = HOTSPOTS[i % len(HOTSPOTS)]
                    cls = "Missense_Mutation"
                else:
                    gene = str(rng.choice(genes))
                    cls = names[int(rng.integers(0, len(names)))]
                    pos = int(rng.integers(1, 2000))
                    a, b = rng.choice(AA, 2)
                    prot = {"Missense_Mutation": f"p.{a}{pos}{b}", "Nonsense_Mutation": f"p.{a}{pos}*",
                            "Frame_Shift_Del": f"p.{a}{pos}fs", "Silent": f"p.{a}{pos}=",
                            "In_Frame_Del": f"p.{a}{pos}del"}[cls]  # fmt: skip
                fh.write(f"{gene}\t{1 + i % 22}\t{1000 + i}\tA\tT\t{cls}\t{prot}\tc.{i}A>T\t"
                         f"{int(rng.integers(1, 30))}/30\t100\t30\tT1\tGRCh38\n")  # fmt: skip
        (d / "cna.tsv").write_text("gene\tcall\nERBB2\tamplification\nCDKN2A\tdeletion\n")
        (d / "fus.tsv").write_text("#FusionName\nEML4--ALK\nETV6--NTRK3\n")
        cmd = ["precisionrx", "tumor", str(maf), "--tumor-type", "LUAD", "--cna", str(d / "cna.tsv"),
               "--fusions", str(d / "fus.tsv"), "-o", str(d / "out.json")]  # fmt: skip
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        print(
            f"precisionrx tumor: {args.variants} MAF variants + CNA + fusions: best "
            f"{min(times):.2f} s of {args.repeat} ({', '.join(f'{t:.2f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
