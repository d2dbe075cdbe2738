"""Fast path for large GT-only VCFs (biobank-style): genotypes decoded with numpy from the text.

Applies when every record's FORMAT is exactly ``GT`` and every call is three characters
(``0/1``, ``1|0``, ``./.``) with single-digit allele indexes; anything else returns None and the
caller falls back to htslib. Yields the same :class:`VcfRecord` objects as the htslib path.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from precisionrx.io.vcf import VcfRecord

DOT = ord(".")
ZERO = ord("0")
PIPE = ord("|")
BATCH = 8192


def _open(path: Path) -> object:
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else path.open("rb")


def records_at_fast(
    path: Path, n_samples: int, points: set[tuple[str, int]]
) -> dict[tuple[str, int], list[VcfRecord]] | None:
    width = 4 * n_samples - 1
    out: dict[tuple[str, int], list[VcfRecord]] = {}
    meta: list[tuple[str, int, str, tuple[str, ...], int]] = []
    blobs: list[bytes] = []

    def flush() -> bool:
        if not blobs:
            return True
        raw = np.frombuffer(b"\t".join(blobs) + b"\t", dtype=np.uint8).reshape(
            len(blobs), n_samples, 4
        )
        a = raw[:, :, 0].astype(np.int32) - ZERO
        b = raw[:, :, 2].astype(np.int32) - ZERO
        dot_a = raw[:, :, 0] == DOT
        dot_b = raw[:, :, 2] == DOT
        if ((a < 0) & ~dot_a).any() or ((b < 0) & ~dot_b).any() or (a > 9).any() or (b > 9).any():
            return False
        a[dot_a] = -1
        b[dot_b] = -1
        phased = (raw[:, :, 1] == PIPE).astype(np.int32)
        gts = np.stack([a, b, phased], axis=2)
        for k, (chrom, pos, ref, alts, number) in enumerate(meta):
            rec = VcfRecord(chrom, pos, ref, alts, pos + len(ref) - 1, gts[k], None, number)
            out.setdefault((chrom, pos), []).append(rec)
        meta.clear()
        blobs.clear()
        return True

    handle = _open(path)
    with handle as fh:  # type: ignore[attr-defined]
        for number, line in enumerate(fh, start=1):
            if line.startswith(b"#"):
                continue
            parts = line.split(b"\t", 9)
            if len(parts) < 10 or parts[8] != b"GT":
                return None
            chrom = parts[0].decode().removeprefix("chr")
            pos = int(parts[1])
            if (chrom, pos) not in points:
                continue
            gts = parts[9].rstrip(b"\r\n")
            if len(gts) != width:
                return None
            meta.append(
                (chrom, pos, parts[3].decode(), tuple(parts[4].decode().split(",")), number)
            )
            blobs.append(gts)
            if len(blobs) >= BATCH and not flush():
                return None
    if not flush():
        return None
    return out
