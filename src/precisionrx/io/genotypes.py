"""Opening a genotype file of any supported format, chosen from its name.

=====================================  ===========================================
name                                   reader
=====================================  ===========================================
``*.vcf``, ``*.vcf.gz``, ``*.bcf``     :class:`~precisionrx.io.vcf.VcfFile`
``*.pgen`` or a prefix with ``.pgen``  :class:`~precisionrx.io.plink.PlinkFile` (PLINK 2)
``*.bed`` or a prefix with ``.bed``    :class:`~precisionrx.io.plink.PlinkFile` (PLINK 1)
``*.bgen``                             :class:`~precisionrx.io.bgen.BgenFile`
=====================================  ===========================================

Any other name is opened as a VCF (whose reader names the problem when it is not one). All
readers share ``path``, ``samples`` (selected, in file order for PLINK and BGEN),
``declared_build()`` and ``close``. PLINK and BGEN readers also give ``variants()``,
``site_table(points)``, ``dosage_blocks(rows, alt_k)`` (scoring) and ``calls(rows)`` (hard
calls for pharmacogene calling); a VCF gives ``genotype_sites(points)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from precisionrx.io.bgen import BgenFile
    from precisionrx.io.plink import PlinkFile
    from precisionrx.io.vcf import VcfFile

    GenotypeFile = VcfFile | PlinkFile | BgenFile

Kind = Literal["vcf", "pgen", "bed", "bgen"]


def genotype_kind(path: Path) -> Kind:
    """The format of ``path`` from its name (a PLINK prefix when ``PREFIX.pgen`` or
    ``PREFIX.bed`` exists)."""
    from precisionrx.io.plink import plink_prefix

    name = path.name.lower()
    if name.endswith(".bgen"):
        return "bgen"
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz", ".bcf", ".gvcf", ".gvcf.gz")):
        return "vcf"
    found = plink_prefix(path)
    if found is not None:
        return "pgen" if found[1] == "pgen" else "bed"
    return "vcf"


def open_genotypes(
    path: str | Path, samples: Sequence[str] | None = None, *, checked: bool = False
) -> GenotypeFile:
    """Open ``path`` with the reader its name calls for; ``samples`` selects samples (a missing
    one is a MissingSampleError); ``checked`` skips the VCF's full integrity check."""
    p = Path(path)
    kind = genotype_kind(p)
    if kind == "bgen":
        from precisionrx.io.bgen import BgenFile

        return BgenFile(p, samples)
    if kind in ("pgen", "bed"):
        from precisionrx.io.plink import PlinkFile

        return PlinkFile(p, samples)
    from precisionrx.io.vcf import VcfFile

    return VcfFile(p, samples, checked=checked)


def main_file(path: Path) -> Path:
    """The file a genotype path stands for: ``PREFIX.pgen``/``PREFIX.bed`` for a PLINK prefix,
    else the path itself (for existence checks and fingerprints)."""
    from precisionrx.io.plink import plink_prefix

    if genotype_kind(path) in ("pgen", "bed"):
        found = plink_prefix(path)
        if found is not None:
            prefix, kind = found
            return prefix.with_name(f"{prefix.name}.{kind}")
    return path


def companion_files(path: Path) -> list[Path]:
    """The small files that go with a genotype file and exist: ``.psam``/``.fam`` and
    ``.sample`` (sample order), ``.bim`` (variants; a ``.pvar`` can be large and is left out)."""
    kind = genotype_kind(path)
    name = path.name
    if kind == "bgen":
        names = [path.with_suffix(".sample")]
    elif kind == "pgen":
        names = [path.with_name(name.removesuffix(".pgen") + ".psam")]
    elif kind == "bed":
        stem = name.removesuffix(".bed")
        names = [path.with_name(stem + ".fam"), path.with_name(stem + ".bim")]
    else:
        names = []
    return [p for p in names if p.is_file()]


def genotype_samples(path: str | Path) -> list[str]:
    """Every sample name of a genotype file, in file order."""
    with open_genotypes(path) as g:
        return list(g.samples)
