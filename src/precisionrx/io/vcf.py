"""VCF/BCF reading over cyvcf2: region queries through a tabix/CSI index when present,
a single streaming pass otherwise; single- and multi-sample; gVCF reference blocks.

htslib errors are translated here into :class:`~precisionrx.errors.VcfFormatError`.
"""

from __future__ import annotations

import gzip
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import polars as pl

from precisionrx.errors import GenomeBuildMismatch, MissingSampleError, VcfFormatError
from precisionrx.io.vcf_fastgt import GenotypeSites, point_set, read_gt_sites

#: chr1 length identifies the build when the header declares contigs.
CHR1_LENGTH = {248956422: "GRCh38", 249250621: "GRCh37"}
SYMBOLIC_REF_BLOCK = frozenset({"<NON_REF>", "<*>", "*", "."})

Int32Array = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class VcfRecord:
    """One VCF record, genotypes as an ``(n_samples, 3)`` array: allele, allele, phased.

    Missing alleles are ``-1``; the padding of a haploid call is ``-2`` (cyvcf2 convention).
    """

    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    end: int
    genotypes: Int32Array
    phase_sets: Int32Array | None
    line: int

    @property
    def is_ref_block(self) -> bool:
        return all(a in SYMBOLIC_REF_BLOCK for a in self.alts) and self.end > self.pos


Region = tuple[str, int, int]  # chromosome (no prefix), 1-based start, end inclusive


@dataclass(frozen=True, slots=True)
class AnnotatedRecord:
    """A record with its ID column (split on ``;``) and the requested INFO values as text."""

    record: VcfRecord
    ids: tuple[str, ...]
    info: dict[str, str]


BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
FULL_CHECK_BYTES = 8 * 1024 * 1024


def _check_gzip(path: Path) -> None:
    """Detect truncated or corrupt gzip/BGZF data before htslib hides it.

    BGZF files end with a fixed empty block: its absence means truncation (cheap check for
    whole genomes). Smaller files are also decompressed fully to catch corruption.
    """
    with path.open("rb") as fh:
        magic = fh.read(4)
        if magic[:2] != b"\x1f\x8b":
            return
        is_bgzf = magic[3] & 4 != 0
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - len(BGZF_EOF)))
        tail = fh.read()
    if is_bgzf and tail != BGZF_EOF:
        raise VcfFormatError(
            "compressed data is truncated (BGZF end-of-file marker missing)",
            path=path,
            hint="re-export the file or re-run bgzip",
        )
    if size > FULL_CHECK_BYTES:
        return
    try:
        with gzip.open(path, "rb") as gz:
            while gz.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise VcfFormatError(
            f"compressed data is truncated or corrupt ({exc})",
            path=path,
            hint="re-export the file or re-run bgzip",
        ) from exc


class VcfFile:
    """A VCF/BCF opened for pharmacogene regions."""

    def __init__(self, path: str | Path, samples: Sequence[str] | None = None) -> None:
        from cyvcf2 import VCF  # imported lazily: no import-time cost for other commands
        from cyvcf2.cyvcf2 import set_htslib_log_level

        # htslib prints to stderr on its own (e.g. "could not retrieve index"); problems
        # are reported through our error tree instead.
        set_htslib_log_level(0)

        self.path = Path(path)
        if self.path.is_dir():
            raise VcfFormatError("is a directory, not a VCF file", path=self.path)
        if not self.path.is_file():
            raise VcfFormatError("file not found", path=self.path)
        self._check_text_header()
        _check_gzip(self.path)
        try:
            probe = VCF(str(self.path), lazy=True)
        except Exception as exc:  # htslib raises plain OSError/Exception subclasses
            raise VcfFormatError(
                "not a readable VCF/BCF (malformed header or unsupported format)", path=self.path
            ) from exc
        all_samples = list(probe.samples)
        self.seqnames: list[str] = list(probe.seqnames) if probe.seqnames else []
        try:
            self.seqlens: list[int] = list(probe.seqlens)
        except Exception:  # no contig lengths in header
            self.seqlens = []
        probe.close()
        if not all_samples:
            raise VcfFormatError("the VCF has no sample columns", path=self.path)
        if samples:
            missing = [s for s in samples if s not in all_samples]
            if missing:
                shown = ", ".join(all_samples[:10]) + (" ..." if len(all_samples) > 10 else "")
                raise MissingSampleError(
                    f"sample(s) {', '.join(missing)} not found; the file has: {shown}",
                    path=self.path,
                )
            self.samples = list(samples)
        else:
            self.samples = all_samples
        self._subset = bool(samples) and list(samples or []) != all_samples
        self._sample_arg = self.samples if samples else None
        self._vcf = self._open()
        self._streamed = False
        self.indexed = self._has_index()

    def _open(self) -> Any:
        from cyvcf2 import VCF

        try:
            return VCF(str(self.path), samples=self._sample_arg, gts012=False, lazy=True)
        except Exception as exc:
            raise VcfFormatError("cannot open VCF", path=self.path) from exc

    def _check_text_header(self) -> None:
        with self.path.open("rb") as fh:
            head = fh.read(4)
        if head[:2] == b"\x1f\x8b":
            return  # bgzip/gzip VCF or BCF; validated by htslib
        if not head.startswith(b"##"):
            raise VcfFormatError(
                "not a VCF: the first line must start with '##fileformat=VCF'", path=self.path
            )
        with self.path.open("rb") as fh:
            first = fh.readline().decode(errors="replace").strip()
        if not first.startswith("##fileformat=VCF"):
            raise VcfFormatError(
                f"not a VCF: first line is {first[:60]!r}, expected '##fileformat=VCFv4.x'",
                path=self.path,
                record="line 1",
            )

    def _has_index(self) -> bool:
        base = str(self.path)
        return any(Path(base + ext).is_file() for ext in (".tbi", ".csi"))

    # -- naming and build --------------------------------------------------------------
    def chrom_name(self, chrom: str) -> str:
        """Map a bare chromosome name to the file's naming (``chr10`` or ``10``)."""
        bare = chrom.removeprefix("chr")
        if self.seqnames:
            if f"chr{bare}" in self.seqnames:
                return f"chr{bare}"
            if bare in self.seqnames:
                return bare
        return f"chr{bare}"

    def declared_build(self) -> str | None:
        for name, length in zip(self.seqnames, self.seqlens, strict=False):
            if name.removeprefix("chr") == "1":
                return CHR1_LENGTH.get(int(length))
        return None

    def check_build(self, expected: str) -> None:
        declared = self.declared_build()
        if declared and declared != expected:
            raise GenomeBuildMismatch(
                f"header contigs are {declared} but {expected} was requested",
                path=self.path,
                hint=f"pass --genome-build {declared} or lift the file over",
            )

    # -- reading -----------------------------------------------------------------------
    def _convert(self, v: object, line: int) -> VcfRecord:
        rec = v
        try:
            gts = np.asarray(rec.genotype.array(), dtype=np.int32)  # type: ignore[attr-defined]
        except Exception as exc:
            raise VcfFormatError(
                "genotype (GT) field unreadable",
                path=self.path,
                record=f"{rec.CHROM}:{rec.POS}",  # type: ignore[attr-defined]
            ) from exc
        ps: Int32Array | None = None
        if "PS" in rec.FORMAT:  # type: ignore[attr-defined]
            raw = rec.format("PS")  # type: ignore[attr-defined]
            if raw is not None:
                wide = np.asarray(raw, dtype=np.int64).reshape(-1)[: len(self.samples)]
                ps = np.where((wide < 0) | (wide > 2**31 - 1), 0, wide).astype(np.int32)
        alts = tuple(rec.ALT)  # type: ignore[attr-defined]
        end = int(rec.end)  # type: ignore[attr-defined]
        return VcfRecord(
            chrom=str(rec.CHROM),  # type: ignore[attr-defined]
            pos=int(rec.POS),  # type: ignore[attr-defined]
            ref=str(rec.REF),  # type: ignore[attr-defined]
            alts=alts,
            end=max(end, int(rec.POS)),  # type: ignore[attr-defined]
            genotypes=gts,
            phase_sets=ps,
            line=line,
        )

    def _query(self, region: Region) -> list[object]:
        """Raw cyvcf2 variants of one region of an indexed file."""
        chrom, start, end = region
        name = self.chrom_name(chrom)
        try:
            with warnings.catch_warnings():
                # cyvcf2 warns "no intervals found" for an empty region: empty is a valid answer.
                warnings.filterwarnings("ignore", message="no intervals found")
                return list(self._vcf(f"{name}:{start}-{end}"))
        except Exception as exc:
            raise VcfFormatError(
                f"cannot read region {name}:{start}-{end}", path=self.path
            ) from exc

    def fetch(self, regions: Sequence[Region]) -> list[list[VcfRecord]]:
        """Records overlapping each region (1-based inclusive), in file order."""
        out: list[list[VcfRecord]] = [[] for _ in regions]
        if self.indexed:
            for i, region in enumerate(regions):
                out[i] = [self._convert(v, 0) for v in self._query(region)]
            return out
        by_chrom: dict[str, list[tuple[int, int, int]]] = {}
        for i, (chrom, start, end) in enumerate(regions):
            by_chrom.setdefault(chrom.removeprefix("chr"), []).append((start, end, i))
        for rec in self._stream():
            spans = by_chrom.get(rec.chrom.removeprefix("chr"))
            if not spans:
                continue
            for start, end, i in spans:
                if rec.pos <= end and rec.end >= start:
                    out[i].append(rec)
        return out

    def annotated(
        self, regions: Sequence[Region], info_keys: Sequence[str]
    ) -> list[AnnotatedRecord]:
        """Records in the regions with ID and INFO values (CSQ, ANN, CLNSIG ...).

        Indexed files are queried per region; otherwise one streaming pass keeps records whose
        chromosome and position fall in a region.
        """
        spans: dict[str, list[tuple[int, int]]] = {}
        for chrom, start, end in regions:
            spans.setdefault(chrom.removeprefix("chr"), []).append((start, end))
        out: list[AnnotatedRecord] = []

        def keep(v: object, line: int) -> None:
            info: dict[str, str] = {}
            for key in info_keys:
                try:
                    value = v.INFO.get(key)  # type: ignore[attr-defined]
                except Exception:  # key absent from the header
                    value = None
                if value is not None:
                    info[key] = str(value)
            raw_id = v.ID  # type: ignore[attr-defined]
            ids = tuple(i for i in str(raw_id or "").split(";") if i and i != ".")
            out.append(AnnotatedRecord(self._convert(v, line), ids, info))

        if self.indexed:
            for region in regions:
                for v in self._query(region):
                    keep(v, 0)
            return out
        for v, line in self._raw_stream():
            chrom_spans = spans.get(str(v.CHROM).removeprefix("chr"))  # type: ignore[attr-defined]
            pos = int(v.POS)  # type: ignore[attr-defined]
            if chrom_spans and any(a <= pos <= b for a, b in chrom_spans):
                keep(v, line)
        return out

    def info_description(self, key: str) -> str | None:
        """The Description of an INFO header line (e.g. VEP's CSQ ``Format: ...``)."""
        try:
            header = self._vcf.get_header_type(key)
        except Exception:
            return None
        desc = header.get("Description")
        return str(desc).strip('"') if desc is not None else None

    def genotype_sites(self, points: set[tuple[str, int]] | pl.DataFrame) -> GenotypeSites:
        """Sites at (bare chrom, pos) points as one genotype matrix (see GenotypeSites); the
        points as a set or as a polars table with ``chrom`` and ``pos`` columns.

        Large GT-only text VCFs take the numpy fast path; everything else goes through htslib.
        """
        if len(points) > 2000 and not self._subset and self.path.suffix != ".bcf":
            try:
                fast = read_gt_sites(self.path, len(self.samples), points)
            except (EOFError, OSError, zlib.error, ValueError, UnicodeDecodeError) as exc:
                raise VcfFormatError(
                    f"malformed or truncated data ({exc})", path=self.path
                ) from exc
            if fast is not None:
                return fast
        import polars as pl

        rows: dict[int, int] = {}
        arrays: list[npt.NDArray[np.int8]] = []
        entries: list[tuple[int, str, int, int, str, str, bool]] = []
        for (chrom, at_pos), recs in self.records_at(point_set(points)).items():
            for rec in recs:
                if id(rec) not in rows:
                    rows[id(rec)] = len(arrays)
                    g = rec.genotypes  # (n, 3); (n, 2) when every call is haploid
                    second = g[:, 1] if g.shape[1] > 2 else np.full(len(g), -2)
                    arrays.append(np.stack([g[:, 0], second]).astype(np.int8))
                entries.append((rows[id(rec)], chrom, rec.pos, at_pos, rec.ref,
                                ",".join(rec.alts), rec.is_ref_block))  # fmt: skip
        if not entries:
            return GenotypeSites.empty(len(self.samples))
        table = pl.DataFrame(entries, schema=GenotypeSites.empty(0).table.schema, orient="row")
        return GenotypeSites(table, np.stack(arrays))

    def records_at(self, points: set[tuple[str, int]]) -> dict[tuple[str, int], list[VcfRecord]]:
        """Records starting at, or gVCF blocks covering, the given (bare chrom, pos) points.

        Region queries for few points in an indexed file; one streaming pass otherwise.
        """
        out: dict[tuple[str, int], list[VcfRecord]] = {}
        if self.indexed and len(points) <= 2000:
            keys = sorted(points)
            fetched = self.fetch([(c, p, p) for c, p in keys])
            return {k: v for k, v in zip(keys, fetched, strict=True) if v}
        by_chrom: dict[str, list[int]] = {}
        for c, p in points:
            by_chrom.setdefault(c, []).append(p)
        sorted_pos = {c: sorted(ps) for c, ps in by_chrom.items()}
        for rec in self._stream():
            chrom = rec.chrom.removeprefix("chr")
            if chrom not in sorted_pos:
                continue
            if rec.is_ref_block:
                from bisect import bisect_left, bisect_right

                ps = sorted_pos[chrom]
                for p in ps[bisect_left(ps, rec.pos) : bisect_right(ps, rec.end)]:
                    out.setdefault((chrom, p), []).append(rec)
            elif (chrom, rec.pos) in points:
                out.setdefault((chrom, rec.pos), []).append(rec)
        return out

    def _raw_stream(self) -> Iterator[tuple[object, int]]:
        """cyvcf2 variants with their record number; htslib failures become VcfFormatError."""
        if self._streamed:  # each streaming pass starts from the top of the file
            self._vcf.close()
            self._vcf = self._open()
        self._streamed = True
        line = 0
        it = iter(self._vcf)
        while True:
            try:
                v = next(it)
            except StopIteration:
                return
            except Exception as exc:
                raise VcfFormatError(
                    "malformed record", path=self.path, record=f"record {line + 1}"
                ) from exc
            line += 1
            yield v, line

    def _stream(self) -> Iterator[VcfRecord]:
        for v, line in self._raw_stream():
            yield self._convert(v, line)

    def close(self) -> None:
        self._vcf.close()

    def __enter__(self) -> VcfFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
