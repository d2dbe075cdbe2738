"""Germline genotypes for pharmacogene calling: the records of a VCF/BCF at the regions an
engine asks for, read once and handed over as a typed record (the engine opens no file).

The engine says what it needs (:class:`GenotypeRequest`: regions and the build markers of
its allele-defining positions); :func:`read_germline` checks the genome build (header first;
without a declared build, the records at the marker positions, read in the same pass as the
regions) and returns :class:`GermlineGenotypes`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from precisionrx.io.vcf import BuildMarkers, Region, VcfFile, VcfRecord


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
