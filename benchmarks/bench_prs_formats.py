#!/usr/bin/env python3
"""precisionrx prs vs plink2 --score from PLINK 2 and VCF files, in one run (issue 21, item 3).

Each command is a fresh process, timed end to end (start-up included), best of ``--repeat``
runs, the two tools taking turns; peak memory is the largest resident size of the process and its children (sampled every
0.1 s). Data come from ``plink2 --dummy`` with positions renumbered from 1; the score is one
additive score over the non-ambiguous SNVs (weights N(0, 0.01), half with the ALT as effect
allele), as a PGS Catalog file for precisionrx and as ID/allele/weight for plink2
(``--score f 1 2 3 header cols=+scoresums --threads 2``). The sums are checked equal to plink2's
printed six significant digits.

1. ``--pgen``: 10,000 samples x 500,000 variants (``--dummy 10000 500000 0 0 acgt``), from .pgen.
2. ``--vcf``: 1,000 x 100,000 (``--dummy 1000 100000 0 0 acgt``), exported by plink2 as a
   bgzipped VCF (``--export vcf bgz``); both tools read that VCF.
3. ``--large``: 10,000 x 1,000,000 and three scoring files (different weights) in one run: peak
   memory and genotypes scored per second, beside plink2 with the three scores as three columns.

apt-get install plink2
python benchmarks/bench_prs_formats.py --pgen --vcf --large [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from bench_cohort import timed  # the same timing and memory sampling


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("precisionrx")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "precisionrx"]


def best(cmds: list[list[str]], cwd: Path, repeat: int) -> list[tuple[float, float]]:
    """(best wall seconds, peak GB) of each command; the commands take turns (a b a b ...), so
    that a change in the machine's load during the run falls on both tools alike."""
    runs: list[list[tuple[float, float]]] = [[] for _ in cmds]
    for _ in range(repeat):
        for cmd, times in zip(cmds, runs, strict=True):
            times.append(timed(cmd, cwd))
    return [(min(r[0] for r in t), max(r[1] for r in t)) for t in runs]


def dummy(d: Path, name: str, samples: int, variants: int) -> None:
    subprocess.run(["plink2", "--dummy", str(samples), str(variants), "0", "0", "acgt",
                    "--seed", "1", "--threads", "2", "--out", name], cwd=d, check=True,
                   capture_output=True)  # fmt: skip
    pvar = d / f"{name}.pvar"
    t = pl.read_csv(pvar, separator="\t")
    t = t.with_columns(pl.int_range(1, t.height + 1).alias("POS"))
    t.write_csv(pvar, separator="\t")


def scores(d: Path, name: str, n_scores: int = 1) -> list[str]:
    t = pl.read_csv(d / f"{name}.pvar", separator="\t").rename({"#CHROM": "chrom"})
    keep = t.filter(~pl.concat_str("REF", "ALT").is_in(["AT", "TA", "CG", "GC"]))
    rng = np.random.default_rng(1)
    eff_alt = rng.random(keep.height) < 0.5
    ea = np.where(eff_alt, keep["ALT"].to_numpy(), keep["REF"].to_numpy())
    oa = np.where(eff_alt, keep["REF"].to_numpy(), keep["ALT"].to_numpy())
    weights = {f"W{k + 1}": rng.normal(0, 0.01, keep.height) for k in range(n_scores)}
    pl.DataFrame({"ID": keep["ID"], "A1": ea, **weights}).write_csv(
        d / f"{name}.plink", separator="\t"
    )
    files = []
    for k, w in enumerate(weights.values()):
        path = d / f"{name}.{k + 1}.pgs.txt"
        with path.open("w") as fh:
            fh.write(f"#pgs_id=PGS_{name.upper()}_{k + 1}\n#genome_build=GRCh38\n")
            pl.DataFrame({"chr_name": keep["chrom"].cast(pl.Utf8), "chr_position": keep["POS"],
                          "effect_allele": ea, "other_allele": oa, "effect_weight": w}
                         ).write_csv(fh, separator="\t")  # fmt: skip
        files.append(path.name)
    return files


def check(d: Path, ours_tsv: str, plink_out: str, n_scores: int = 1) -> float:
    """Largest difference from plink2's printed sums, in units of its sixth digit."""
    ours = pl.read_csv(d / ours_tsv, separator="\t")
    theirs = pl.read_csv(d / f"{plink_out}.sscore", separator="\t")
    worst = 0.0
    for k in range(n_scores):
        col = "SCORE1_SUM" if n_scores == 1 else f"W{k + 1}_SUM"
        want = dict(zip(theirs["#IID"], theirs[col], strict=True))
        mine = ours.filter(pl.col("pgs_id").str.ends_with(f"_{k + 1}"))
        for sample, got in mine.select("sample", "sum").iter_rows():
            ref = want[sample]
            unit = 10.0 ** (math.floor(math.log10(abs(ref))) - 5) if ref else 1e-6
            worst = max(worst, abs(got - ref) / unit)
    return worst


def run_case(d: Path, name: str, genotypes: str, plink_in: list[str], n_scores: int,
             repeat: int) -> dict[str, float | str]:  # fmt: skip
    files = scores(d, name, n_scores)
    columns = ["1", "2", "header-read", "cols=+scoresums", "--score-col-nums",
               f"3-{2 + n_scores}"] if n_scores > 1 else ["1", "2", "3", "header",
                                                          "cols=+scoresums"]  # fmt: skip
    plink_cmd = ["plink2", *plink_in, "--score", f"{name}.plink", *columns, "--threads", "2",
                 "--out", f"{name}_p2"]  # fmt: skip
    ours_cmd = [*cli(), "prs", "--genotypes", genotypes, *files, "--format", "tsv", "-o",
                f"{name}_ours.tsv"]  # fmt: skip
    (p_time, p_mem), (o_time, o_mem) = best([plink_cmd, ours_cmd], d, repeat)
    return {"case": name, "plink2_s": round(p_time, 2), "precisionrx_s": round(o_time, 2),
            "ratio": round(o_time / p_time, 2), "plink2_peak_gb": round(p_mem, 2),
            "precisionrx_peak_gb": round(o_mem, 2),
            "max_diff_sixth_digit_units": round(check(d, f"{name}_ours.tsv", f"{name}_p2",
                                                      n_scores), 3)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pgen", action="store_true")
    ap.add_argument("--vcf", action="store_true")
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="Work folder to keep (default: a temporary one).")
    args = ap.parse_args()
    if shutil.which("plink2") is None:
        raise SystemExit("plink2 is needed: apt-get install plink2")
    d = args.keep or Path(tempfile.mkdtemp(prefix="bench-prs-formats-"))
    d.mkdir(parents=True, exist_ok=True)
    results = []
    if args.pgen:
        dummy(d, "pg", 10_000, 500_000)
        results.append(run_case(d, "pg", "pg.pgen", ["--pfile", "pg"], 1, args.repeat))
        print(results[-1], flush=True)
    if args.vcf:
        dummy(d, "vc", 1_000, 100_000)
        subprocess.run(["plink2", "--pfile", "vc", "--export", "vcf", "bgz", "--threads", "2",
                        "--out", "vc"], cwd=d, check=True, capture_output=True)  # fmt: skip
        results.append(run_case(d, "vc", "vc.vcf.gz", ["--vcf", "vc.vcf.gz"], 1, args.repeat))
        print(results[-1], flush=True)
    if args.large:
        dummy(d, "lg", 10_000, 1_000_000)
        row = run_case(d, "lg", "lg.pgen", ["--pfile", "lg"], 3, 1)
        matched = pl.read_csv(d / "lg_ours.tsv", separator="\t")["variants_matched"][0]
        row["genotypes_per_s"] = round(3 * matched * 10_000 / float(row["precisionrx_s"]))
        results.append(row)
        print(results[-1], flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
