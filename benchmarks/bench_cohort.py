#!/usr/bin/env python3
"""Cohort runs at scale (issue 20, item 3), each a fresh ``precisionrx cohort`` process (Dask
start-up included), peak memory summed over the process and its workers (sampled every 0.2 s).

1. ``--pgx``: the 1000 Genomes panel, 3,103 samples x all pharmacogenes
   (benchmarks/data/1kgp_cohort.vcf.gz, made by make_cohort_vcf.py when missing), with 1 and 2
   workers (speed-up), beside the single-process ``precisionrx pgx --genotypes-only``; the
   cohort rows are checked equal to the single run's, field for field.
2. ``--simulate N``: N generated samples (files of 5,000): each sample's two haplotypes drawn
   at random from the panel's 6,206, at the panel's records that are allele-defining
   positions of the knowledge base (so the genotypes look like real ones; the calls exercise
   every rule), bgzipped and indexed.
3. ``--risk-rows N``: a generated risk table of N rows (``cohort risk``, blocks of 8 MB).

python benchmarks/bench_cohort.py --pgx --simulate 100000 --risk-rows 10000000 [--json out]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
COHORT = DATA / "1kgp_cohort.vcf.gz"


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("precisionrx")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "precisionrx"]


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB) of ``cmd`` (run in ``cwd``) and all its
    children (also used by bench_prs_formats.py)."""
    import psutil

    peak = 0.0
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                peak = max(peak, rss / 1e9)
            except psutil.Error:
                pass
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    watcher.start()
    _, err = proc.communicate()
    took = time.perf_counter() - t0
    done.set()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return took, peak


def pgx(work: Path) -> dict[str, object]:
    import polars as pl

    if not COHORT.is_file():
        subprocess.run([sys.executable, str(HERE / "make_cohort_vcf.py")], check=True)
    out: dict[str, object] = {}
    single = work / "single.json"
    t, m = timed([*cli(), "pgx", str(COHORT), "--genotypes-only", "--quiet", "-o", str(single)])
    out["single_process_s"], out["single_process_gb"] = t, m
    print(f"  pgx, one process: {t:.1f} s, peak {m:.2f} GB", flush=True)
    for workers in (1, 2):
        target = work / f"pgx-{workers}.parquet"
        t, m = timed([*cli(), "cohort", "pgx", str(COHORT), "-o", str(target), "--workers",
                      str(workers), "--quiet"])  # fmt: skip
        out[f"cohort_{workers}_workers_s"], out[f"cohort_{workers}_workers_gb"] = t, m
        print(f"  cohort pgx, {workers} worker(s): {t:.1f} s, peak {m:.2f} GB", flush=True)
    out["speed_up"] = out["cohort_1_workers_s"] / out["cohort_2_workers_s"]  # type: ignore[operator]
    sys.path.insert(0, str(HERE.parent))
    from tests.cohort.test_cohort import _flat_pgx

    expected = _flat_pgx(json.loads(single.read_text()))
    got = pl.read_parquet(sorted((work / "pgx-2.parquet").glob("part-*.parquet")))
    got_rows = got.sort("sample", "gene").to_dicts()
    same = len(got_rows) == len(expected) and all(a == b for a, b in zip(got_rows, expected,
                                                                          strict=True))  # fmt: skip
    out["rows"], out["equal_to_single_run"] = len(got_rows), same
    print(f"  {len(got_rows)} rows; equal to the single run field for field: {same}", flush=True)
    return out


def simulate(work: Path, n: int, per_file: int = 5000) -> dict[str, object]:
    import pysam

    from precisionrx.kb.registry import KnowledgeBase

    if not COHORT.is_file():
        subprocess.run([sys.executable, str(HERE / "make_cohort_vcf.py")], check=True)
    kb = KnowledgeBase()
    defined = {(d.chromosome.removeprefix("chr"), p.position)
               for g in kb.genes for d in [kb.definition(g)] for p in d.positions}  # fmt: skip
    meta: list[str] = []
    rows: list[tuple[list[str], np.ndarray]] = []
    with gzip.open(COHORT, "rt") as fh:
        for line in fh:
            if line.startswith("##"):
                meta.append(line)
                continue
            if line.startswith("#CHROM"):
                continue
            f = line.rstrip("\n").split("\t")
            if (f[0].removeprefix("chr"), int(f[1])) not in defined:
                continue
            gts = f[9:]
            # haploid chrX calls (males) count as two copies of the one haplotype
            pairs = [(g[0], g[2] if len(g) > 2 else g[0]) for g in gts]
            haps = np.array([[int(a), int(b)] for a, b in pairs], dtype=np.int8).reshape(-1)
            rows.append((f[:9], haps))
    rng = np.random.default_rng(20)
    folder = work / "sim"
    folder.mkdir()
    t0 = time.perf_counter()
    files = 0
    for start in range(0, n, per_file):
        m = min(per_file, n - start)
        pick = rng.integers(0, rows[0][1].size, size=(m, 2))
        names = [f"SIM{start + i:06d}" for i in range(m)]
        plain = folder / f"sim{files:03d}.vcf"
        with plain.open("w") as out:
            out.writelines(meta)
            out.write("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                                 "FORMAT", *names]) + "\n")  # fmt: skip
            for fixed, haps in rows:
                a, b = haps[pick[:, 0]], haps[pick[:, 1]]
                calls = np.char.add(np.char.add(a.astype(str), "|"), b.astype(str))
                out.write("\t".join(fixed) + "\t" + "\t".join(calls.tolist()) + "\n")
        pysam.tabix_index(str(plain), preset="vcf", force=True)
        files += 1
    made = time.perf_counter() - t0
    print(f"  generated {n} samples in {files} files ({len(rows)} allele-defining records) "
          f"in {made:.0f} s", flush=True)  # fmt: skip
    target = work / "sim.parquet"
    inputs = sorted(str(p) for p in folder.glob("*.vcf.gz"))
    t, m = timed([*cli(), "cohort", "pgx", *inputs, "-o", str(target), "--quiet"])
    print(
        f"  cohort pgx, {n} samples, 2 workers: {t:.1f} s, peak {m:.2f} GB "
        f"({n / t:.0f} samples/s, {n * len(kb.genes) / t:.0f} sample-genes/s)",
        flush=True,
    )
    per_shard = t / (files * len(kb.genes))
    return {"samples": n, "files": files, "records": len(rows), "seconds": t, "peak_gb": m,
            "samples_per_s": n / t, "sample_genes_per_s": n * len(kb.genes) / t,
            "seconds_per_shard": per_shard}  # fmt: skip


def risk(work: Path, n: int) -> dict[str, object]:
    import polars as pl

    rng = np.random.default_rng(7)
    table = work / "risk.csv"
    t0 = time.perf_counter()
    block = 1_000_000
    with table.open("wb") as fh:
        for start in range(0, n, block):
            m = min(block, n - start)
            frame = pl.DataFrame({
                "id": [f"p{i}" for i in range(start, start + m)],
                "age": rng.integers(40, 80, m), "sex": rng.choice(["female", "male"], m),
                "sbp": rng.integers(100, 180, m), "bp_treated": rng.integers(0, 2, m),
                "total_chol": rng.integers(150, 280, m), "hdl_chol": rng.integers(35, 80, m),
                "diabetes": rng.integers(0, 2, m), "smoker": rng.integers(0, 2, m),
                "egfr": rng.integers(50, 110, m), "bmi": np.round(rng.uniform(20, 38, m), 1),
            })  # fmt: skip
            frame.write_csv(fh, include_header=start == 0)
    print(f"  generated {n} rows ({table.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    target = work / "risk.parquet"
    t, m = timed([*cli(), "cohort", "risk", str(table), "-o", str(target), "--quiet"])
    got = pl.scan_parquet(str(target / "part-*.parquet")).select(pl.len()).collect().item()
    print(f"  cohort risk, {n} rows: {t:.1f} s, peak {m:.2f} GB ({n / t:.0f} rows/s; "
          f"{got} result rows)", flush=True)  # fmt: skip
    return {"rows": n, "bytes": table.stat().st_size, "seconds": t, "peak_gb": m,
            "rows_per_s": n / t, "result_rows": got}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pgx", action="store_true")
    ap.add_argument("--simulate", type=int, default=0)
    ap.add_argument("--risk-rows", type=int, default=0)
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="prx-bench-cohort-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    try:
        if args.pgx:
            print("1000 Genomes panel, 3,103 samples:", flush=True)
            results["pgx"] = pgx(work)
        if args.simulate:
            print(f"simulated PGx, {args.simulate} samples:", flush=True)
            results["simulated_pgx"] = simulate(work, args.simulate)
        if args.risk_rows:
            print(f"risk table, {args.risk_rows} rows:", flush=True)
            results["risk"] = risk(work, args.risk_rows)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
