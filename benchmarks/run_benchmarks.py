#!/usr/bin/env python3
"""Time precisionrx on the benchmark data (and PyPGx 0.27 for comparison, if installed).

    python benchmarks/make_wgs_vcf.py        # 4.2 M-record single-sample VCF (bgzip + tabix)
    python benchmarks/make_cohort_vcf.py     # 3,103-sample 1KGP cohort VCF
    python benchmarks/run_benchmarks.py [--repeat 3] [--pypgx] [--cyp2d6-concordance]

Each command is run as a fresh process (imports, knowledge-base load and output included);
the median wall time of the repeats is reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PYPGX = HERE / ".venv-pypgx" / "bin" / "pypgx"
PYPGX_GENES = ["CYP2C19", "CYP2C9", "CYP3A5", "NUDT15", "TPMT", "UGT1A1", "SLCO1B1"]


def timed(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pypgx_gene(gene: str, vcf: Path, work: Path, samples: Path | None = None) -> float:
    p = str(PYPGX)
    subset = ["--samples", str(samples)] if samples else []
    steps = [
        [
            p,
            "import-variants",
            gene,
            str(vcf),
            str(work / f"{gene}-imp.zip"),
            "--assembly",
            "GRCh38",
            *subset,
        ],
        [p, "predict-alleles", str(work / f"{gene}-imp.zip"), str(work / f"{gene}-al.zip")],
        [
            p,
            "call-genotypes",
            "--alleles",
            str(work / f"{gene}-al.zip"),
            str(work / f"{gene}-gt.zip"),
        ],
        [p, "call-phenotypes", str(work / f"{gene}-gt.zip"), str(work / f"{gene}-ph.zip")],
    ]
    start = time.perf_counter()
    for step in steps:
        subprocess.run(step, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-precisionrx", action="store_true")
    ap.add_argument("--pypgx", action="store_true", help="also time PyPGx on the cohort")
    ap.add_argument(
        "--pypgx-samples",
        type=Path,
        default=None,
        help="sample list for PyPGx (it is too slow for all 3,103 samples)",
    )
    ap.add_argument(
        "--cyp2d6-concordance",
        action="store_true",
        help="CYP2D6 against PyPGx 0.27 on 500 seeded 1KGP panel samples "
        "(benchmarks/compare_pypgx.py cyp2d6; PyPGx results cached in data/pypgx)",
    )
    args = ap.parse_args()
    exe = shutil.which("precisionrx") or "precisionrx"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        wgs = DATA / "wgs.vcf.gz"
        if wgs.exists() and not args.skip_precisionrx:
            t = timed([exe, "pgx", str(wgs), "-o", str(out / "w.json"), "--quiet"], args.repeat)
            print(f"single sample, 4.2M-record WGS VCF, 20 genes: {t:.2f} s")
        cohort = DATA / "1kgp_cohort.vcf.gz"
        if cohort.exists():
            if not args.skip_precisionrx:
                t = timed(
                    [exe, "pgx", str(cohort), "-o", str(out / "c.json"), "--quiet"], args.repeat
                )
                print(f"cohort, 3,103 samples, 20 genes: {t:.2f} s")
            if args.pypgx and PYPGX.exists():
                total = 0.0
                for gene in PYPGX_GENES:
                    g = pypgx_gene(gene, cohort, out, args.pypgx_samples)
                    total += g
                    print(f"  PyPGx 0.27 {gene}: {g:.1f} s")
                n = len(args.pypgx_samples.read_text().split()) if args.pypgx_samples else 3103
                print(f"PyPGx 0.27, {len(PYPGX_GENES)} genes, {n} samples: {total:.1f} s")
                t = timed([exe, "pgx", str(cohort), "-o", str(out / "c7.json"), "--quiet"], 1)
                print(f"precisionrx same run for comparison (20 genes): {t:.2f} s")
    if args.cyp2d6_concordance:
        subprocess.run([sys.executable, str(HERE / "compare_pypgx.py"), "cyp2d6"], check=True)


if __name__ == "__main__":
    main()
