#!/usr/bin/env python3
"""Build tests/data/cohort/: a slice of the 1000 Genomes 30x phased panel for the cohort tests.

From ../shared/data/pgx/1kgp_panel_grch38 (sbslee/pypgx-bundle @ 919279ac, bundle 0.23.0; 1000
Genomes / IGSR data, free use without restriction): the first ``--samples`` samples of the
CYP2C19, CYP2D6, SLCO1B1 and TPMT region files, merged into one bgzipped, tabix-indexed VCF
(``1kgp_slice.vcf.gz``), and the rows of the phase-3 panel file
(integrated_call_samples_v3.20130502.ALL.panel: sample, pop, super_pop, gender) for those
samples (``1kgp_slice.panel``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from pathlib import Path

import pysam

ORDER = [str(i) for i in range(1, 23)] + ["X"]
GENES = ("CYP2C19", "CYP2D6", "SLCO1B1", "TPMT")
PANEL = "integrated_call_samples_v3.20130502.ALL.panel"


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--panel", type=Path,
                    default=here.parent / "shared" / "data" / "pgx" / "1kgp_panel_grch38")  # fmt: skip
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--out", type=Path, default=here / "tests" / "data" / "cohort")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    header: list[str] = []
    records: list[tuple[int, int, str]] = []
    keep: list[int] | None = None
    names: list[str] = []
    for gene in GENES:
        with gzip.open(args.panel / f"{gene}.vcf.gz", "rt") as fh:
            for line in fh:
                if line.startswith("##"):
                    if line not in header:
                        header.append(line)
                    continue
                fields = line.rstrip("\n").split("\t")
                if line.startswith("#CHROM"):
                    if keep is None:
                        names = fields[9 : 9 + args.samples]
                    keep = [fields.index(n) for n in names]
                    cols = "\t".join(fields[:9] + names) + "\n"
                    continue
                assert keep is not None
                row = "\t".join(fields[:9] + [fields[i] for i in keep]) + "\n"
                records.append((ORDER.index(fields[0].removeprefix("chr")), int(fields[1]), row))
    records.sort(key=lambda r: (r[0], r[1]))
    plain = args.out / "1kgp_slice.vcf"
    meta = sorted(header, key=lambda h: not h.startswith("##fileformat"))
    with plain.open("w") as fh:
        fh.writelines([*meta, cols])
        fh.writelines(r[2] for r in records)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    wanted = set(names)
    lines = (args.panel / PANEL).read_text().splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.split()[0] in wanted]
    (args.out / "1kgp_slice.panel").write_text("\n".join(kept) + "\n")
    for name in ("1kgp_slice.vcf.gz", "1kgp_slice.panel"):
        digest = hashlib.sha256((args.out / name).read_bytes()).hexdigest()
        print(f"{name} sha256 {digest}")
    print(f"{len(records)} records, {len(names)} samples, {len(kept) - 1} with a population")


if __name__ == "__main__":
    main()
