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


def read_germline(
    path: str | Path, request: GenotypeRequest, samples: Sequence[str] | None = None
) -> GermlineGenotypes:
    """Read the requested regions of ``path`` for ``samples`` (default: every sample),
    checking the genome build against ``request.genome_build``."""
    regions = list(request.regions)
    with VcfFile(path, samples) as vcf:
        vcf.check_build(request.genome_build)
        # Without a declared build the records at the marker positions decide; they are read
        # in the same pass as the regions (no second pass over the file).
        declared = vcf.declared_build() is not None
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
