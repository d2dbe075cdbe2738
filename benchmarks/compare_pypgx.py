#!/usr/bin/env python3
"""Concordance of precisionrx and PyPGx 0.27.

Two uses:

1. A cohort gene already called by both (``run_benchmarks.py --pypgx``)::

       precisionrx pgx benchmarks/data/1kgp_cohort.vcf.gz -o /tmp/cohort.json --quiet
       python benchmarks/compare_pypgx.py /tmp/cohort.json benchmarks/data/pypgx/CYP2C19-gt.zip CYP2C19

2. CYP2D6 from SNVs/indels on 1000 Genomes panel samples (seeded subset), PyPGx run beside
   precisionrx, every disagreement classified::

       python benchmarks/compare_pypgx.py cyp2d6 [--samples 500] [--seed 20261203]

   PyPGx needs its own venv (benchmarks/README.md); its results are cached in
   ``benchmarks/data/pypgx/CYP2D6-*.zip`` (``--rerun`` to recompute). PyPGx is given the
   panel VCF only, so it is run as documented for that case: ``call-genotypes`` without CNV
   calls, where PyPGx "will assume all of the samples do not have SV" (its own warning).
   precisionrx is run twice: as shipped (positions absent from the input are missing, never
   reference) and with ``--missing-to-ref`` (absent = reference, the assumption PyPGx makes).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PYPGX = HERE / ".venv-pypgx" / "bin" / "pypgx"
SHARED = HERE.parents[1] / "shared" / "data" / "pgx"
PANEL = SHARED / "1kgp_panel_grch38" / "CYP2D6.vcf.gz"
ALLELE_TABLE = SHARED / "pypgx" / "allele-table.csv"


def read_zip_table(path: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("data.tsv"))
        rows = list(csv.reader(io.TextIOWrapper(zf.open(name)), delimiter="\t"))
    return {r[0]: r[1:] for r in rows[1:]}


def cohort_mode(ours_path: str, zip_path: str, gene: str) -> None:
    doc = json.loads(Path(ours_path).read_text())
    ours = {r["sample"]: next(g for g in r["genes"] if g["gene"] == gene) for r in doc["results"]}
    theirs = read_zip_table(Path(zip_path))
    agree, differ = 0, []
    for sample, (genotype, *_) in theirs.items():
        first = ours[sample]["diplotypes"][:1]
        if genotype in first:
            agree += 1
        else:
            differ.append((sample, genotype, first))
    print(f"{gene}: {agree}/{len(theirs)} identical")
    for d in differ[:20]:
        print("  ", *d)


def pick_samples(n: int, seed: int) -> list[str]:
    import pysam

    with pysam.VariantFile(str(PANEL)) as vcf:
        samples = list(vcf.header.samples)
    return sorted(random.Random(seed).sample(samples, n))


def run_pypgx(samples_file: Path, out: Path) -> float:
    """import-variants -> predict-alleles -> call-genotypes (no CNV) -> call-phenotypes."""
    p = str(PYPGX)
    steps = [
        [p, "import-variants", "CYP2D6", str(PANEL), str(out / "CYP2D6-imp.zip"),
         "--assembly", "GRCh38", "--samples", str(samples_file)],
        [p, "predict-alleles", str(out / "CYP2D6-imp.zip"), str(out / "CYP2D6-al.zip")],
        [p, "call-genotypes", "--alleles", str(out / "CYP2D6-al.zip"), str(out / "CYP2D6-gt.zip")],
        [p, "call-phenotypes", str(out / "CYP2D6-gt.zip"), str(out / "CYP2D6-ph.zip")],
    ]  # fmt: skip
    start = time.perf_counter()
    for step in steps:
        subprocess.run(step, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_precisionrx(samples: list[str], extra: list[str]) -> tuple[dict[str, Any], float]:
    args = [a for s in samples for a in ("--sample", s)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "o.json"
        cmd = [sys.executable, "-c", "from precisionrx.cli import main; main()", "pgx"]
        start = time.perf_counter()
        subprocess.run(
            [*cmd, str(PANEL), *args, "--genotypes-only", "--quiet", "-o", str(out), *extra],
            check=True,
        )
        took = time.perf_counter() - start
        doc = json.loads(out.read_text())
    calls = {
        r["sample"]: next(g for g in r["genes"] if g["gene"] == "CYP2D6") for r in doc["results"]
    }
    return calls, took


def pypgx_alleles() -> dict[str, dict[str, str]]:
    with ALLELE_TABLE.open(newline="") as fh:
        return {r["StarAllele"]: r for r in csv.DictReader(fh) if r["Gene"] == "CYP2D6"}


def classify(ours: list[str], theirs: str, table: dict[str, dict[str, str]], partial: bool) -> str:
    """Why the first precisionrx diplotype differs from PyPGx's genotype."""
    if theirs in ours:
        return "tie: PyPGx's call is among precisionrx's candidates, ranked lower"
    if not ours:
        return "precisionrx no call"
    if partial:
        return (
            "novel haplotype (partial match): it lacks part of the PharmCAT definition of "
            "PyPGx's allele, whose PyPGx core is smaller"
        )
    mine = ours[0].split("/")
    other = theirs.split("/")
    only_mine = [a for a in mine if a not in other] or mine
    only_theirs = [a for a in other if a not in mine] or other
    if any(table.get(a, {}).get("SV") == "TRUE" for a in only_mine + only_theirs):
        return (
            "structural allele (hybrid) that PharmCAT defines by SNVs; PyPGx calls it only "
            "from read depth, assumed absent here"
        )
    if any(a not in table for a in only_mine):
        return (
            "allele newer than PyPGx 0.27's table (PharmVar/ClinPGx 2025 definitions): PyPGx "
            "calls the allele whose core variants it knows"
        )
    return (
        "both tools know both alleles: the haplotype carries the defining variants of "
        "precisionrx's allele, PyPGx's priority order picks the other"
    )


def cyp2d6_mode(args: argparse.Namespace) -> None:
    out = DATA / "pypgx"
    out.mkdir(parents=True, exist_ok=True)
    samples = pick_samples(args.samples, args.seed)
    samples_file = DATA / f"cyp2d6_subset{args.samples}.txt"
    samples_file.write_text("\n".join(samples) + "\n")
    cached = out / "CYP2D6-gt.zip"
    cached_samples = out / "CYP2D6-samples.txt"
    fresh = (
        not cached.exists()
        or not cached_samples.exists()
        or cached_samples.read_text() != samples_file.read_text()
    )
    if args.rerun or fresh:
        if not PYPGX.exists():
            raise SystemExit(f"PyPGx not installed at {PYPGX} (see benchmarks/README.md)")
        took = run_pypgx(samples_file, out)
        cached_samples.write_text(samples_file.read_text())
        print(f"PyPGx 0.27 CYP2D6, {len(samples)} samples: {took:.0f} s")
    genotypes = read_zip_table(out / "CYP2D6-gt.zip")
    phenotypes = read_zip_table(out / "CYP2D6-ph.zip")
    table = pypgx_alleles()
    print(f"samples: {len(samples)} of {PANEL.name} (seed {args.seed})")
    for label, extra in (("as shipped", []), ("--missing-to-ref", ["--missing-to-ref"])):
        calls, took = run_precisionrx(samples, extra)
        counts: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        for s in samples:
            gc, theirs = calls[s], genotypes[s][0]
            dips = gc["diplotypes"]
            phenos = [c["phenotype"] for c in gc.get("diplotype_calls", [])]
            counts["called"] += gc["called"]
            counts["first identical"] += dips[:1] == [theirs]
            counts["PyPGx call among candidates"] += theirs in dips
            counts["several candidates"] += len(dips) > 1
            counts["first phenotype identical"] += phenos[:1] == [phenotypes[s][0]]
            counts["partial match (novel haplotype)"] += any(
                c["code"] == "partial_match" for c in gc["caveats"]
            )
            if dips[:1] != [theirs]:
                partial = any(c["code"] == "partial_match" for c in gc["caveats"])
                why = classify(dips, theirs, table, partial)
                reasons[why] += 1
                examples.setdefault(why, []).append(f"{s} {theirs} -> {' | '.join(dips[:3])}")
        print(f"\nprecisionrx {label} ({took:.1f} s):")
        for k, v in counts.items():
            print(f"  {k}: {v}/{len(samples)}")
        for why, n in reasons.most_common():
            print(f"  [{n}] {why}")
            for e in examples[why][:6]:
                print(f"      {e}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "cyp2d6":
        ap = argparse.ArgumentParser(prog="compare_pypgx.py cyp2d6")
        ap.add_argument("--samples", type=int, default=500)
        ap.add_argument("--seed", type=int, default=20261203)
        ap.add_argument("--rerun", action="store_true", help="run PyPGx even if cached")
        cyp2d6_mode(ap.parse_args(sys.argv[2:]))
        return
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    cohort_mode(*sys.argv[1:4])


if __name__ == "__main__":
    main()
