"""Germline genotypes for pharmacogene calling: the records of a VCF/BCF at the regions an
engine asks for, read once and handed over as a typed record (the engine opens no file).

The engine says what it needs (:class:`GenotypeRequest`: regions and the build markers of
its allele-defining positions); :func:`read_germline` checks the genome build (header first;
without a declared build, the records at the marker positions, read in the same pass as the
regions) and returns :class:`GermlineGenotypes`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from precisionrx.io.vcf import BuildMarkers, Region, VcfFile, VcfRecord

if TYPE_CHECKING:
    from precisionrx.io.bgen import BgenFile
    from precisionrx.io.plink import PlinkFile


@dataclass(frozen=True, slots=True)
class GenotypeRequest:
    """What a calling engine needs from an input: regions (in the input's build) and the
    positions whose reference bases tell the builds apart."""

    regions: tuple[Region, ...]
    markers: BuildMarkers
    genome_build: str


@dataclass(frozen=True, slots=True)
class GermlineGenotypes:
    """The records of one germline input at the requested regions (request order)."""

    input: str
    samples: tuple[str, ...]
    records: tuple[tuple[VcfRecord, ...], ...]
    genome_build: str
    #: sha256 of the file's first MiB and its size: a cheap fingerprint of the input.
    fingerprint: str


def _fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
    h.update(str(path.stat().st_size).encode())
    return h.hexdigest()


def check_germline_build(
    path: str | Path, request: GenotypeRequest, *, checked: bool = False
) -> None:
    """The genome-build check of :func:`read_germline` on its own: the header, else the records
    at the build-marker positions (for the first sample only). A cohort run checks each file
    once, then reads it region by region with ``build_checked``.

    :raises GenomeBuildMismatch: the file is on another build than ``request.genome_build``.
    """
    from precisionrx.io.genotypes import genotype_kind, open_genotypes

    if genotype_kind(Path(path)) != "vcf":
        with open_genotypes(path) as g:
            assert not isinstance(g, VcfFile)
            check_binary_build(g, request)
        return
    with VcfFile(path, checked=checked) as vcf:
        first = list(vcf.samples)[:1]
    with VcfFile(path, first or None, checked=True) as vcf:
        declared = vcf.declared_build() is not None
        vcf.check_build(request.genome_build)
        if not declared:  # the records at the marker positions, through the index when there is one
            vcf.check_build_from_data(request.genome_build, request.markers,
                                      [r for recs in vcf.fetch(vcf.marker_regions(request.markers))
                                       for r in recs])  # fmt: skip


def read_germline(
    path: str | Path,
    request: GenotypeRequest,
    samples: Sequence[str] | None = None,
    *,
    build_checked: bool = False,
) -> GermlineGenotypes:
    """Read the requested regions of ``path`` for ``samples`` (default: every sample),
    checking the genome build against ``request.genome_build`` (unless ``build_checked``: the
    caller ran :func:`check_germline_build` on this file, which also checked its compressed
    data)."""
    regions = list(request.regions)
    from precisionrx.io.genotypes import genotype_kind

    if genotype_kind(Path(path)) != "vcf":
        return _read_binary(Path(path), request, samples, build_checked)
    with VcfFile(path, samples, checked=build_checked) as vcf:
        if not build_checked:
            vcf.check_build(request.genome_build)
        # Without a declared build the records at the marker positions decide; they are read
        # in the same pass as the regions (no second pass over the file).
        declared = build_checked or vcf.declared_build() is not None
        extra = [] if declared else vcf.marker_regions(request.markers, skip=regions)
        fetched = vcf.fetch(regions + extra)
        if extra:
            seen = [r for recs in fetched for r in recs]
            vcf.check_build_from_data(request.genome_build, request.markers, seen)
            fetched = fetched[: len(regions)]
        found = tuple(vcf.samples)
    return GermlineGenotypes(
        input=str(path),
        samples=found,
        records=tuple(tuple(r) for r in fetched),
        genome_build=request.genome_build,
        fingerprint=_fingerprint(Path(path)),
    )


def _read_binary(
    path: Path, request: GenotypeRequest, samples: Sequence[str] | None, build_checked: bool
) -> GermlineGenotypes:
    """:func:`read_germline` for PLINK 1/2 and BGEN files: the variants in the regions as
    VCF-like records (PLINK 2 phase kept; BGEN hard calls from dosages)."""
    from precisionrx.io.genotypes import main_file, open_genotypes

    with open_genotypes(path, samples) as g:
        assert not isinstance(g, VcfFile)
        if not build_checked:
            check_binary_build(g, request)
        regions = list(request.regions)
        records = records_in_regions(g, regions, request.markers.get(request.genome_build, {}))
        found = tuple(g.samples)
    return GermlineGenotypes(
        input=str(path),
        samples=found,
        records=tuple(tuple(r) for r in records),
        genome_build=request.genome_build,
        fingerprint=_fingerprint(main_file(path)),
    )


def check_binary_build(g: PlinkFile | BgenFile, request: GenotypeRequest) -> None:
    """The build check of a PLINK/BGEN file: its declared build (``.pvar`` ``##contig``
    lengths), else the variants at the build-marker positions with their REF alleles."""
    import polars as pl

    from precisionrx.errors import GenomeBuildMismatch
    from precisionrx.io.vcf import evidence_from

    expected = request.genome_build
    declared = g.declared_build()
    if declared is not None and declared != expected:
        raise GenomeBuildMismatch(
            f"the variant file declares {declared} but {expected} was requested", path=g.path,
            hint=f"pass --genome-build {declared} or lift the file over",
        )  # fmt: skip
    if declared is not None:
        return
    points = pl.DataFrame(
        [(c.removeprefix("chr"), p) for pts in request.markers.values() for c, p in pts],
        schema={"chrom": pl.Utf8, "pos": pl.Int64}, orient="row",
    )  # fmt: skip
    table = g.site_table(points)
    known = request.markers.get(expected, {})

    def oriented(c: str, p: int, ref: str, alt: str) -> str:
        # a swapped REF/ALT (PLINK 1 minor allele first, a BGEN writer's order) is not evidence
        refs = known.get((c, p))
        return alt if refs and ref not in refs and alt in refs else ref

    rows = table.select("chrom", "pos", "ref", "alt").iter_rows()
    evidence = evidence_from(
        request.markers,
        ((c, p, oriented(c, p, r, a), False) for c, p, r, a in rows),
    )
    other = evidence.contradicts(expected)
    if other is not None:
        raise GenomeBuildMismatch(
            f"the file declares no build, and {evidence.counts[other]} variant(s) sit at {other} "
            f"positions of known variants with matching REF (e.g. "
            f"{'; '.join(evidence.examples[other])}) against {evidence.counts.get(expected, 0)} "
            f"at their {expected} positions, but {expected} was requested", path=g.path,
            hint=f"pass --genome-build {other} or lift the file over",
        )  # fmt: skip


def records_in_regions(
    g: PlinkFile | BgenFile,
    regions: Sequence[Region],
    refs: Mapping[tuple[str, int], frozenset[str]] | None = None,
) -> list[list[VcfRecord]]:
    """The variants of each region as VcfRecords (genotypes (samples, 3): allele, allele,
    phased), in file order within a region.

    PLINK 1 files put the minor allele first (A1) and BGEN files put whichever allele their
    writer chose first: a bi-allelic variant whose REF is not the reference base the knowledge
    base knows at that position (``refs``, the build markers) but whose ALT is, is turned round
    (REF and ALT swapped, allele indexes 0 and 1 exchanged)."""
    import numpy as np
    import polars as pl

    variants = g.variants()
    wanted = [
        variants.filter((pl.col("chrom") == c.removeprefix("chr")) & pl.col("pos").is_between(a, b))
        for c, a, b in regions
    ]
    rows = np.unique(np.concatenate([w["row"].to_numpy() for w in wanted] or [np.zeros(0)]))
    alleles, phased = g.calls(rows.astype(np.uint32))
    at = {int(r): i for i, r in enumerate(rows)}
    out: list[list[VcfRecord]] = []
    for w in wanted:
        recs = []
        for row, chrom, pos, ref, alt in w.select("row", "chrom", "pos", "ref", "alt").iter_rows():
            i = at[int(row)]
            gts = np.empty((len(g.samples), 3), dtype=np.int32)
            gts[:, :2] = alleles[i]
            gts[:, 2] = phased[i]
            alts = tuple(a for a in alt.split(",") if a and a != ".")
            known = (refs or {}).get((str(chrom), int(pos)))
            if known and len(alts) == 1 and ref not in known and alts[0] in known:
                ref, alts = alts[0], (ref,)
                swapped = gts[:, :2].copy()
                gts[:, :2] = np.where(swapped == 0, 1, np.where(swapped == 1, 0, swapped))
                unphased = gts[:, 2] == 0  # written in allele order, as the readers give them
                gts[unphased, :2] = np.sort(gts[unphased, :2], axis=1)
            recs.append(VcfRecord(chrom=chrom, pos=int(pos), ref=ref, alts=alts,
                                  end=int(pos) + max(len(ref), 1) - 1, genotypes=gts,
                                  phase_sets=None, line=0))  # fmt: skip
        out.append(recs)
    return out
