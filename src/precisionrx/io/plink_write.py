"""Writing a VCF's genotypes as a PLINK 2 (``.pgen/.pvar/.psam``) or PLINK 1
(``.bed/.bim/.fam``) fileset, for the fast scoring path (``precisionrx convert``).

What is kept, as plink2 ``--vcf FILE --make-pgen`` / ``--make-bed`` keeps it:

* ``pgen``: every record with its hard calls and phase (``|`` calls), multi-allelic records
  included; REF/ALT as in the VCF; chromosome names without ``chr`` (plink2's default output);
  variant IDs ``CHROM:POS:REF:ALT``; the ``##contig`` lines (so that the build is still declared)
  and ``##reference``; sample IDs as IIDs. With ``dosage_field`` DS or GP, dosages instead of
  phase (plink2 ``dosage=DS``; hard calls are then derived by pgenlib from the dosages).
* ``bed``: bi-allelic records only (plink2 refuses multi-allelic ones for ``.bed``): the count
  of records left out is returned. ``.bim`` A1 is the ALT and A2 the REF, as plink2 writes
  them; a haploid call is written as homozygous.

Every file is written under a temporary name and renamed at the end, so that a failed
conversion leaves no partial fileset.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from precisionrx.errors import VcfFormatError
from precisionrx.io.bgen import plink_dosage

if TYPE_CHECKING:
    from precisionrx.io.vcf import VcfFile, VcfRecord


@dataclass
class ConvertSummary:
    variants: int
    samples: int
    skipped_multiallelic: int
    files: list[Path]


def _gt3(rec: VcfRecord) -> npt.NDArray[np.int32]:
    """The record's genotypes as (samples, 3): allele, allele (-2 haploid), phased. A record
    whose every call is haploid comes from the reader as (samples, 2): allele, phased."""
    g = rec.genotypes
    if g.shape[1] >= 3:
        return g
    out = np.full((len(g), 3), -2, dtype=np.int32)
    out[:, 0] = g[:, 0]
    out[:, 2] = g[:, 1]
    return out


def _bed_codes(gts: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """PLINK 1 2-bit codes of bi-allelic calls (samples, 3): 00 hom A1 (ALT), 01 missing,
    10 het, 11 hom A2 (REF)."""
    first, second = gts[:, 0], gts[:, 1]
    second = np.where(second == -2, first, second)  # haploid: written as homozygous
    alt = (first == 1).astype(np.int8) + (second == 1)
    missing = (first < 0) | (second < 0)
    code = np.select([alt == 2, alt == 1], [0b00, 0b10], default=0b11).astype(np.uint8)
    code[missing] = 0b01
    return code


def _pack(codes: npt.NDArray[np.uint8]) -> bytes:
    n = len(codes)
    padded = np.zeros(((n + 3) // 4) * 4, dtype=np.uint8)
    padded[:n] = codes
    quads = padded.reshape(-1, 4)
    return bytes(quads[:, 0] | quads[:, 1] << 2 | quads[:, 2] << 4 | quads[:, 3] << 6)


def _alleles(g: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    first = g[:, 0]
    second = np.where(g[:, 1] == -2, first, g[:, 1])  # haploid: homozygous, as plink2
    out = np.stack([first, second], axis=1).astype(np.int32)
    out[out < 0] = -9
    return out.reshape(-1)


def _records(vcf: VcfFile) -> Iterator[VcfRecord]:
    yield from vcf._stream()


def _records_with_dosages(
    vcf: VcfFile, field: str | None
) -> Iterator[tuple[VcfRecord, npt.NDArray[np.float64] | None]]:
    """Records with their FORMAT ``field`` dosages (None without a field), in one pass."""
    from precisionrx.io.vcf import variant_dosages

    n = len(vcf.samples)
    for v, line in vcf._raw_stream():
        rec = vcf._convert(v, line)
        if field is None or rec is v:  # a record recovered from malformed text has no dosages
            yield rec, None
        else:
            yield rec, variant_dosages(v, field, n)


def convert_vcf(
    vcf: VcfFile,
    prefix: Path,
    to: Literal["pgen", "bed"],
    dosage_field: str | None = None,
    progress: Any = None,
) -> ConvertSummary:
    """Write ``vcf`` as ``prefix.pgen/.pvar/.psam`` or ``prefix.bed/.bim/.fam``."""
    import pgenlib

    n = len(vcf.samples)
    exts = ("pgen", "pvar", "psam") if to == "pgen" else ("bed", "bim", "fam")
    finals = [prefix.with_name(f"{prefix.name}.{e}") for e in exts]
    temps = [p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in finals]
    header = vcf.build_header
    # pass 1: count the records to write (the .pgen header needs the variant count)
    kept = skipped = 0
    max_alleles = 2
    for rec in _records(vcf):
        if to == "bed" and len(rec.alts) > 1:
            skipped += 1
        else:
            kept += 1
            max_alleles = max(max_alleles, len(rec.alts) + 1)
    if kept == 0:
        raise VcfFormatError(
            "no record to write" + (" (multi-allelic records cannot go to .bed)" if skipped
                                    else ""), path=vcf.path,
        )  # fmt: skip
    spaced = [name for name in vcf.samples if any(c.isspace() for c in name)]
    if spaced:
        raise VcfFormatError(
            f"sample name {spaced[0]!r} contains white space, which PLINK sample files cannot "
            "hold", path=vcf.path,
        )  # fmt: skip
    try:
        with contextlib.ExitStack() as stack:
            var_fh = stack.enter_context(temps[1].open("w", encoding="utf-8"))
            if to == "pgen":
                writer = pgenlib.PgenWriter(
                    bytes(temps[0]), n, variant_ct=kept, nonref_flags=False,
                    allele_ct_limit=max_alleles, hardcall_phase_present=dosage_field is None,
                    dosage_present=dosage_field is not None,
                )  # fmt: skip
                var_fh.write("".join(f"{ln}\n" for ln in header))
                var_fh.write("#CHROM\tPOS\tID\tREF\tALT\n")
            else:
                bed_fh = stack.enter_context(temps[0].open("wb"))
                bed_fh.write(b"\x6c\x1b\x01")
            for number, (rec, dose) in enumerate(_records_with_dosages(vcf, dosage_field), 1):
                if to == "bed" and len(rec.alts) > 1:
                    continue
                g = _gt3(rec)
                alts = ",".join(rec.alts) if rec.alts else "."
                chrom = rec.chrom.removeprefix("chr")
                vid = f"{chrom}:{rec.pos}:{rec.ref}:{alts}"
                if to == "pgen":
                    var_fh.write(f"{chrom}\t{rec.pos}\t{vid}\t{rec.ref}\t{alts}\n")
                    if dosage_field is not None:
                        haploid = g[:, 1] == -2
                        count = (g[:, 0] == 1).astype(np.float64) + (g[:, 1] == 1)
                        count = np.where(haploid, 2 * count, count)
                        count[(g[:, 0] < 0) | (g[:, 1] == -1)] = np.nan
                        if dose is not None and len(dose):
                            d = np.where(haploid, 2 * dose[0], dose[0])
                            count = np.where(np.isnan(d), count, plink_dosage(d))
                        writer.append_dosages(np.where(np.isnan(count), -9, count)
                                              .astype(np.float32))  # fmt: skip
                    else:
                        writer.append_partially_phased(_alleles(g), g[:, 2].astype(np.bool_))
                else:
                    a1 = rec.alts[0] if rec.alts else "."
                    var_fh.write(f"{chrom}\t{vid}\t0\t{rec.pos}\t{a1}\t{rec.ref}\n")
                    bed_fh.write(_pack(_bed_codes(g)))
                if progress is not None:
                    progress(number)
            if to == "pgen":
                writer.close()
        with temps[2].open("w", encoding="utf-8") as fh:
            if to == "pgen":
                fh.write("#IID\n" + "".join(f"{s}\n" for s in vcf.samples))
            else:
                fh.write("".join(f"0\t{s}\t0\t0\t0\t-9\n" for s in vcf.samples))
        for tmp, final in zip(temps, finals, strict=True):
            tmp.replace(final)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return ConvertSummary(kept, n, skipped, finals)
