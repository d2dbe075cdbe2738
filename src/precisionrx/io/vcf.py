"""VCF/BCF reading over cyvcf2: region queries through a tabix/CSI index when present,
a single streaming pass otherwise; single- and multi-sample; gVCF reference blocks.

htslib errors are translated here into :class:`~precisionrx.errors.VcfFormatError`.

Genotype validity is checked here, once for every reader (:func:`sanitize_genotypes`): a call
whose allele index exceeds the record's ALT count (``0/5`` with one ALT), a call of more than two
alleles (``0/1/1``), a GT value htslib cannot parse (``0/x``) or a record without GT becomes a
*missing* call, and the record remembers why (``VcfRecord.invalid``) so that each engine can
name it (:func:`invalid_call_note`). Genome builds: the header (``##contig`` chr1 length or a
``##reference`` naming the assembly), else :meth:`VcfFile.infer_build` from the data.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import polars as pl

from precisionrx.errors import GenomeBuildMismatch, MissingSampleError, VcfFormatError
from precisionrx.io.textio import check_input_file
from precisionrx.io.vcf_fastgt import (
    GenotypeSites,
    invalid_call_note,
    point_set,
    read_gt_sites,
)

__all__ = [
    "AnnotatedRecord",
    "BuildEvidence",
    "BuildMarkers",
    "VcfFile",
    "VcfRecord",
    "evidence_from",
    "invalid_call_note",
    "sanitize_genotypes",
]

#: Sample index of a problem that concerns every sample of a record (``VcfRecord.invalid``).
ALL_SAMPLES = -1

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
    #: The record's 1-based ordinal among the data records of the file (the n-th record, header
    #: lines not counted) when it was read by a streaming pass; 0 when it came from an index
    #: query. Not a text line number: messages name records by CHROM:POS (or "record N").
    line: int
    #: Calls made missing because they were invalid: (sample index, problem); the sample index
    #: ``ALL_SAMPLES`` (-1) stands for every sample (a record without GT: one entry, not one per
    #: sample).
    invalid: tuple[tuple[int, str], ...] = ()
    #: ID column (split on ``;``) and raw INFO text of a record recovered from its text line
    #: (:meth:`VcfFile._recover`); empty/None for records decoded by htslib.
    ids: tuple[str, ...] = ()
    info_text: str | None = None

    def invalid_notes(self, samples: Sequence[str], per_sample: bool = True) -> list[str]:
        """One :func:`invalid_call_note` per invalid call of this record. A record-level problem
        (no GT) is one note per sample, or a single note naming the record when ``per_sample``
        is False (readers collecting notes over many records and samples)."""
        out: list[str] = []
        for i, problem in self.invalid:
            if i >= 0:
                out.append(invalid_call_note(self.chrom, self.pos, samples[i], problem))
            elif per_sample or len(samples) == 1:
                out += [invalid_call_note(self.chrom, self.pos, s, problem) for s in samples]
            else:
                out.append(
                    f"no genotype at {self.chrom}:{self.pos} (all {len(samples)} samples): "
                    f"{problem}; treated as missing"
                )
        return out

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


#: Chromosome names declared for reading when the header lacks them (see ``VcfFile._open``).
_HUMAN_CONTIGS = tuple(
    f"{prefix}{c}" for prefix in ("", "chr") for c in [*map(str, range(1, 23)), "X", "Y", "M", "MT"]
)


def _gt_text(alleles: Sequence[int], phased: bool) -> str:
    shown = ["." if a == -1 else str(a) for a in alleles if a != -2]
    return ("|" if phased else "/").join(shown)


def sanitize_genotypes(
    gts: Int32Array, n_alts: int
) -> tuple[Int32Array, tuple[tuple[int, str], ...]]:
    """Genotypes as ``(n, 3)`` (or ``(n, 2)`` when every call is haploid) with invalid calls
    made missing, and the invalid calls as (sample index, problem).

    Invalid: more than two alleles (``0/1/1``: a diploid call is expected) or an allele index
    beyond the record's ALT alleles (``0/5`` with one ALT). Such a call is never read as
    heterozygous or anything else: both alleles become ``-1`` (missing).
    """
    width = gts.shape[1] if gts.ndim == 2 else 0
    if width < 2:
        return gts, ()
    # The common case: one vectorised test, no per-row work (the whole contiguous array first:
    # its phase column is 0 or 1).
    if width <= 3 and (not gts.size or int(gts.max()) <= n_alts or gts[:, :-1].max() <= n_alts):
        return gts, ()
    alleles = gts[:, :-1]
    extra = alleles[:, 2:] if width > 3 else alleles[:, :0]
    poly = (extra != -2).any(axis=1) if extra.shape[1] else np.zeros(len(gts), dtype=bool)
    beyond = (alleles > n_alts).any(axis=1)
    bad = poly | beyond
    if width > 3:
        gts = gts[:, [0, 1, width - 1]]
    if not bad.any():
        return gts, ()
    problems: list[tuple[int, str]] = []
    for i in np.flatnonzero(bad):
        row = [int(a) for a in alleles[i]]
        text = _gt_text(row, bool(gts[i, -1]))
        if poly[i]:
            k = sum(1 for a in row if a != -2)
            problem = f"GT {text} has {k} alleles; a diploid call is expected"
        else:
            top = max(row)
            plural = "allele" if n_alts == 1 else "alleles"
            problem = f"GT {text} has allele index {top} but the record has {n_alts} ALT {plural}"
        problems.append((int(i), problem))
    gts = gts.copy()
    gts[bad, : gts.shape[1] - 1] = -1
    return gts, tuple(problems)


def _info_values(text: str | None, keys: Sequence[str]) -> dict[str, str]:
    """The requested INFO values of a raw INFO column (``key=value;FLAG;...``); a flag is
    ``"True"``, as cyvcf2 reports it."""
    if not text or text == ".":
        return {}
    wanted = set(keys)
    out: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if key in wanted and key not in out:
            out[key] = value if sep else "True"
    return out


_GT_TOKEN = re.compile(r"(\.|\d+)([/|](\.|\d+))*")


def _parse_gt(token: str) -> list[int] | None:
    """Allele indexes of a GT value written as text, or None when it is not a genotype."""
    if not _GT_TOKEN.fullmatch(token):
        return None
    return [-1 if a == "." else int(a) for a in re.split(r"[/|]", token)]


#: Marker positions per build: build name -> {(bare chrom, pos): accepted REF bases}. An empty
#: set accepts any REF (a position known only by coordinate).
BuildMarkers = Mapping[str, Mapping[tuple[str, int], frozenset[str]]]

#: Assembly names in a ``##reference`` value, between non-alphanumeric boundaries (a "38" inside
#: a run of letters and digits, e.g. a hash ``0b38e1`` in a path, is not a build).
_REFERENCE_38 = re.compile(
    r"(?<![a-z0-9])(?:grch38|hg38|hs38(?:dh)?|b38|assembly38|ncbi38|build38)(?![a-z0-9])"
)
_REFERENCE_37 = re.compile(
    r"(?<![a-z0-9])(?:grch37|hg19|hs37(?:d5)?|b37|g1k_v37|human_v37|ncbi37|build37|hg37"
    r"|assembly19)(?![a-z0-9])"
)
#: Evidence needed from the data: at least this many records, and this many times those of the
#: requested build (documented in docs/cli/pgx.md).
MIN_BUILD_EVIDENCE = 2
BUILD_EVIDENCE_RATIO = 4


@dataclass(frozen=True, slots=True)
class BuildEvidence:
    """Records matching each build's marker positions and REF bases (examples per build)."""

    counts: dict[str, int]
    examples: dict[str, list[str]]

    def contradicts(self, expected: str) -> str | None:
        """The other build the data clearly point to, or None."""
        mine = self.counts.get(expected, 0)
        best = max(
            (b for b in self.counts if b != expected), key=lambda b: self.counts[b], default=None
        )
        if best is None:
            return None
        theirs = self.counts[best]
        if theirs >= MIN_BUILD_EVIDENCE and theirs >= BUILD_EVIDENCE_RATIO * mine:
            return best
        return None


def reference_build(value: str) -> str | None:
    """The build named by a ``##reference`` value (file name or assembly), if any."""
    v = value.lower()
    is38, is37 = bool(_REFERENCE_38.search(v)), bool(_REFERENCE_37.search(v))
    if is38 != is37:
        return "GRCh38" if is38 else "GRCh37"
    return None


def _marker_owners(markers: BuildMarkers) -> dict[tuple[str, int], str]:
    """Informative marker positions (bare chrom, pos) -> their build; a position that is a
    marker of more than one build says nothing and is left out."""
    owners: dict[tuple[str, int], list[str]] = {}
    for build, points in markers.items():
        for key in points:
            owners.setdefault((key[0].removeprefix("chr"), key[1]), []).append(build)
    return {k: bs[0] for k, bs in owners.items() if len(bs) == 1}


def _evidence(
    markers: BuildMarkers,
    wanted: Mapping[tuple[str, int], str],
    sites: Iterable[tuple[str, int, str, bool]],
) -> BuildEvidence:
    """Build evidence from (chrom, pos, REF, is reference block) of records: each marker
    position counts once, when a record starts there with a REF the marker accepts."""
    counts = dict.fromkeys(markers, 0)
    examples: dict[str, list[str]] = {b: [] for b in markers}
    seen: set[tuple[str, int]] = set()
    for chrom, pos, ref, block in sites:
        key = (chrom.removeprefix("chr"), pos)
        build = wanted.get(key)
        if build is None or block or key in seen:
            continue
        refs = markers[build].get(key)
        if refs is None:
            refs = markers[build].get((f"chr{key[0]}", pos), frozenset())
        if refs and not any(ref[:1] == r[:1] for r in refs):
            continue
        seen.add(key)
        counts[build] += 1
        if len(examples[build]) < 3:
            examples[build].append(f"{chrom}:{pos} REF {ref}")
    return BuildEvidence(counts, examples)


def evidence_from(
    markers: BuildMarkers, sites: Iterable[tuple[str, int, str, bool]]
) -> BuildEvidence:
    """Build evidence from (chrom, pos, REF, is reference block) of records already read (e.g.
    the rows of a :class:`GenotypeSites` table that included the marker positions)."""
    return _evidence(markers, _marker_owners(markers), sites)


def variant_dosages(v: Any, field: str, n: int) -> npt.NDArray[np.float64]:
    """ALT dosages (ALT alleles, samples) of one cyvcf2 record from FORMAT ``DS`` or ``GP``;
    NaN where missing. A haploid call's dosage is 0..1 (DS as written; an all-haploid GP gives
    P(ALT)): callers double it where the GT is haploid, as plink2 does."""
    alts = list(v.ALT)
    dose = np.full((len(alts), n), np.nan)
    try:
        values = v.format(field)
    except Exception:  # field absent in this record
        return dose
    if values is None:
        return dose
    # htslib stores FORMAT floats as float32: back to the shortest decimal that float32
    # round-trips (the text of the file), as plink2 parses the text.
    raw = np.asarray(values, dtype=np.float32).reshape(n, -1)
    arr = raw.astype(str).astype(np.float64)
    arr[arr < -1e30] = np.nan  # htslib's missing float may surface as a huge negative
    if field == "DS":
        width = min(arr.shape[1], len(alts))
        dose[:width] = arr[:, :width].T
    elif arr.shape[1] == len(alts) + 1:  # haploid probabilities: one per allele
        dose = arr[:, 1:].T.copy()
    else:
        dose = _gp_dosages(arr, len(alts))
    return dose


def unknown_samples(
    missing: Sequence[str], all_samples: Sequence[str], path: Path
) -> MissingSampleError:
    """The error for requested samples a genotype file does not hold (the file's first ten
    named)."""
    shown = ", ".join(all_samples[:10]) + (" ..." if len(all_samples) > 10 else "")
    return MissingSampleError(
        f"sample(s) {', '.join(missing)} not found; the file has: {shown}", path=path
    )


def _gp_dosages(gp: npt.NDArray[np.float64], n_alts: int) -> npt.NDArray[np.float64]:
    """Expected ALT copies from diploid genotype probabilities in VCF order (genotype a/b with
    a <= b at index b(b+1)/2 + a); (ALT alleles, samples), NaN where any value is missing."""
    out = np.zeros((n_alts, gp.shape[0]))
    combos = [(a, b) for b in range(n_alts + 1) for a in range(b + 1)]
    if gp.shape[1] != len(combos):
        return np.full((n_alts, gp.shape[0]), np.nan)
    for j, (a, b) in enumerate(combos):
        for k in range(1, n_alts + 1):
            copies = int(a == k) + int(b == k)
            if copies:
                out[k - 1] += copies * gp[:, j]
    out[:, np.isnan(gp).any(axis=1)] = np.nan
    return out


def _raw_coords(v: object) -> tuple[str, int, int]:
    """CHROM, POS and END of a raw cyvcf2 variant or a recovered record (no genotype read)."""
    if isinstance(v, VcfRecord):
        return v.chrom, v.pos, v.end
    pos = int(v.POS)  # type: ignore[attr-defined]
    return str(v.CHROM), pos, max(int(v.end), pos)  # type: ignore[attr-defined]


def _raw_site(v: object) -> tuple[str, int, str, bool]:
    """CHROM, POS, REF and "is a gVCF reference block" of a raw variant (no genotype read)."""
    if isinstance(v, VcfRecord):
        return v.chrom, v.pos, v.ref, v.is_ref_block
    chrom, pos, end = _raw_coords(v)
    alts = tuple(v.ALT)  # type: ignore[attr-defined]
    block = all(a in SYMBOLIC_REF_BLOCK for a in alts) and end > pos
    return chrom, pos, str(v.REF), block  # type: ignore[attr-defined]


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
        is_bgzf = len(magic) == 4 and magic[3] & 4 != 0
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

    def __init__(
        self, path: str | Path, samples: Sequence[str] | None = None, *, checked: bool = False
    ) -> None:
        """``checked``: the caller already opened this file once (a cohort run's planner), so
        the compressed data's full integrity check is not repeated for every shard."""
        from cyvcf2 import VCF  # imported lazily: no import-time cost for other commands
        from cyvcf2.cyvcf2 import set_htslib_log_level

        # htslib prints to stderr on its own (e.g. "could not retrieve index"); problems
        # are reported through our error tree instead.
        set_htslib_log_level(0)

        self.path = check_input_file(path, "VCF", VcfFormatError)
        self._check_text_header()
        if not checked:
            _check_gzip(self.path)
        try:
            probe = VCF(str(self.path), lazy=True)
        except Exception as exc:  # htslib raises plain OSError/Exception subclasses
            self._diagnose_header()
            raise VcfFormatError(
                "not a readable VCF/BCF (malformed header or unsupported format)", path=self.path
            ) from exc
        all_samples = list(probe.samples)
        self._all_samples = all_samples
        self._reference: str | None = None
        #: Whether the header defines FORMAT GT, decided once here: cyvcf2 0.35 crashes the
        #: process when ``Variant.FORMAT`` is read in a file whose header has no GT, so the
        #: record's FORMAT is never consulted after a failed genotype read.
        self._header_gt = False
        self._format_ids: set[str] = set()
        #: The header's own ##contig and ##reference lines (the reader adds contigs of its own).
        self.build_header: list[str] = []
        try:
            for ln in str(probe.raw_header).splitlines():
                if ln.startswith(("##contig=", "##reference=")):
                    self.build_header.append(ln)
                if ln.startswith("##FORMAT=<ID="):
                    self._format_ids.add(ln[len("##FORMAT=<ID=") :].split(",", 1)[0].rstrip(">"))
                if ln.startswith("##reference=") and self._reference is None:
                    self._reference = ln.split("=", 1)[1].strip()
                elif ln.startswith("##FORMAT=<") and "ID=GT," in ln.replace(" ", ""):
                    self._header_gt = True
        except Exception:  # no raw header available: nothing declared
            self._reference = None
        self.seqnames: list[str] = list(probe.seqnames) if probe.seqnames else []
        try:
            self.seqlens: list[int] = list(probe.seqlens)
        except Exception:  # no contig lengths in header
            self.seqlens = []
        if all_samples and not self._header_gt:
            self._check_genotypes(probe)
        probe.close()
        if not all_samples:
            raise VcfFormatError("the VCF has no sample columns", path=self.path)
        if samples:
            missing = [s for s in samples if s not in all_samples]
            if missing:
                raise unknown_samples(missing, all_samples, self.path)
            self.samples = list(samples)
        else:
            self.samples = all_samples
        self._subset = bool(samples) and list(samples or []) != all_samples
        self._sample_arg = self.samples if samples else None
        self._vcf = self._open()
        self._streamed = False
        self.indexed = self._has_index()

    def _check_genotypes(self, probe: Any) -> None:
        """The header defines no FORMAT GT: refuse the file now when its first record has no
        genotypes either (a dosage-only VCF), instead of finding no genotype in the regions
        read. A GT present but undeclared (htslib assumes a string) is read as usual."""
        try:
            first = next(iter(probe))
        except Exception:  # no record, or a malformed one: reported when it is read
            return
        try:
            first.genotype.array()
        except Exception:
            probe.close()
            raise VcfFormatError(
                "genotype (GT) field unreadable: the header defines no FORMAT GT field and the "
                f"first record ({first.CHROM}:{first.POS}) has no genotype calls (a dosage-only "
                "VCF)",
                path=self.path,
                hint="export hard genotype calls (GT), e.g. plink2 --export vcf",
            ) from None

    def _open(self) -> Any:
        from cyvcf2 import VCF

        try:
            vcf = VCF(str(self.path), samples=self._sample_arg, gts012=False, lazy=True)
        except Exception as exc:
            raise VcfFormatError("cannot open VCF", path=self.path) from exc
        if self.path.suffix != ".bcf":
            # htslib hands back a broken record (cyvcf2 then crashes the process) when a
            # malformed GT sits on a contig the header does not declare; declared, the record is
            # refused and read from its text instead. Declaring the human chromosomes (no
            # length: the build is still read from the original header only) closes that gap.
            declared = set(self.seqnames)
            for name in _HUMAN_CONTIGS:
                if name not in declared:
                    with contextlib.suppress(Exception):
                        vcf.add_to_header(f"##contig=<ID={name}>")
        return vcf

    def _check_text_header(self) -> None:
        with self.path.open("rb") as fh:
            head = fh.read(4)
        if head[:2] == b"\x1f\x8b":
            return  # bgzip/gzip VCF or BCF; validated by htslib
        if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
            raise VcfFormatError(
                "not readable as VCF: the file starts with a byte-order mark (saved by a text "
                "editor as UTF-8 with BOM or UTF-16)",
                path=self.path,
                record="line 1",
                hint="save it as plain UTF-8 without a byte-order mark",
            )
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

    def _text_lines(self) -> Iterator[tuple[int, str]]:
        """Lines of a text VCF (plain or gzip) with their 1-based numbers; none for BCF."""
        with self.path.open("rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        try:
            with opener(self.path, "rt", encoding="utf-8", errors="replace") as fh:
                for number, line in enumerate(fh, start=1):
                    if number == 1 and line.startswith("BCF"):
                        return
                    yield number, line.rstrip("\n").rstrip("\r")
        except (OSError, EOFError, zlib.error):
            return

    def _diagnose_header(self) -> None:
        """A precise error for header problems htslib only reports as "cannot parse"."""
        for number, line in self._text_lines():
            if line.startswith("#CHROM"):
                names = line.split("\t")[9:]
                seen: dict[str, int] = {}
                for i, name in enumerate(names):
                    if name in seen:
                        raise VcfFormatError(
                            f"duplicate sample name {name!r} (columns {seen[name] + 10} and "
                            f"{i + 10})",
                            path=self.path,
                            record=f"line {number}",
                            hint="sample names must be unique: rename one (bcftools reheader)",
                        )
                    seen[name] = i
                return
            if not line.startswith("##"):
                return

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
        """The build of the header: chr1's ``##contig`` length, else a ``##reference`` naming
        the assembly (``GRCh37``, ``hg19``, ``human_g1k_v37.fasta`` ...); None if neither."""
        for name, length in zip(self.seqnames, self.seqlens, strict=False):
            if name.removeprefix("chr") == "1":
                build = CHR1_LENGTH.get(int(length))
                if build:
                    return build
        if self._reference:
            return reference_build(self._reference)
        return None

    def check_build(self, expected: str, markers: BuildMarkers | None = None) -> None:
        """Refuse a file whose header, or else whose data (``markers``), show another build."""
        declared = self.declared_build()
        if declared and declared != expected:
            source = "header contigs are" if self._contig_build() else "the ##reference is"
            raise GenomeBuildMismatch(
                f"{source} {declared} but {expected} was requested",
                path=self.path,
                hint=f"pass --genome-build {declared} or lift the file over",
            )
        if declared is None and markers:
            self.check_build_from_data(expected, markers)

    def _contig_build(self) -> str | None:
        for name, length in zip(self.seqnames, self.seqlens, strict=False):
            if name.removeprefix("chr") == "1":
                return CHR1_LENGTH.get(int(length))
        return None

    def infer_build(
        self, markers: BuildMarkers, records: Iterable[VcfRecord] | None = None
    ) -> BuildEvidence:
        """Count records at each build's marker positions whose REF agrees with the marker.

        Positions that are markers of more than one build say nothing and are left out. The
        evidence comes from ``records`` when given (records already read, e.g. by
        :meth:`fetch` over :meth:`marker_regions`); otherwise from a pass that looks at
        CHROM/POS/REF/ALT only and never decodes genotypes (region queries when indexed).
        """
        wanted = _marker_owners(markers)
        if records is not None:
            items: Iterable[tuple[str, int, str, bool]] = (
                (r.chrom, r.pos, r.ref, r.is_ref_block) for r in records
            )
        else:
            items = self._marker_sites(set(wanted))
        return _evidence(markers, wanted, items)

    def marker_regions(
        self, markers: BuildMarkers, gap: int = 100_000, skip: Sequence[Region] = ()
    ) -> list[Region]:
        """Regions covering the informative marker positions (neighbours within ``gap`` bases
        share a region), for reading them in the same :meth:`fetch` as other regions.
        Positions inside ``skip`` (regions the caller fetches anyway) are left out, so that no
        record is read twice."""
        skipped: dict[str, list[tuple[int, int]]] = {}
        for chrom, start, end in skip:
            skipped.setdefault(chrom.removeprefix("chr"), []).append((start, end))
        by_chrom: dict[str, list[int]] = {}
        for chrom, pos in _marker_owners(markers):
            spans = skipped.get(chrom.removeprefix("chr"), [])
            if any(a <= pos <= b for a, b in spans):
                continue
            by_chrom.setdefault(chrom, []).append(pos)
        out: list[Region] = []
        for chrom, positions in sorted(by_chrom.items()):
            positions.sort()
            start = prev = positions[0]
            for p in positions[1:]:
                if p - prev > gap:
                    out.append((chrom, start, prev))
                    start = p
                prev = p
            out.append((chrom, start, prev))
        return out

    def _marker_sites(self, points: set[tuple[str, int]]) -> Iterator[tuple[str, int, str, bool]]:
        """(chrom, pos, REF, is reference block) of the records starting at ``points``, from
        the raw records: genotypes are never decoded."""
        if not points:
            return
        if self.indexed and len(points) <= 2000:
            try:
                for chrom, pos in sorted(points):
                    for v in self._query((chrom, pos, pos)):
                        yield _raw_site(v)
                return
            except VcfFormatError:
                pass  # a record htslib refuses: the streaming pass reads (or names) it
        chroms = {c for c, _ in points}
        for v, _ in self._raw_stream():
            chrom, pos, _end = _raw_coords(v)
            bare = chrom.removeprefix("chr")
            if bare in chroms and (bare, pos) in points:
                yield _raw_site(v)

    def check_build_from_data(
        self, expected: str, markers: BuildMarkers, records: Iterable[VcfRecord] | None = None
    ) -> None:
        """GenomeBuildMismatch when the records (``records`` if given, see
        :meth:`infer_build`) sit at another build's marker positions (with its REF bases) and
        not at the requested build's."""
        evidence = self.infer_build(markers, records)
        other = evidence.contradicts(expected)
        if other is None:
            return
        raise GenomeBuildMismatch(
            f"the header declares no build, and {evidence.counts[other]} record(s) sit at "
            f"{other} positions of known variants with matching REF "
            f"(e.g. {'; '.join(evidence.examples[other])}) against "
            f"{evidence.counts.get(expected, 0)} at their {expected} positions, but {expected} "
            "was requested",
            path=self.path,
            hint=f"pass --genome-build {other} or lift the file over",
        )

    # -- reading -----------------------------------------------------------------------
    def _phase_sets(self, rec: Any) -> Int32Array | None:
        """PS values (0 when absent or out of range), or None when the record has no PS.
        ``Variant.format`` raises KeyError for an absent field; ``Variant.FORMAT`` is never
        read (it can crash cyvcf2, see ``_header_gt``)."""
        try:
            raw = rec.format("PS")
        except Exception:  # KeyError: no PS in this record or header
            return None
        if raw is None:
            return None
        try:
            wide = np.asarray(raw, dtype=np.int64).reshape(-1)[: len(self.samples)]
        except (TypeError, ValueError):  # PS undeclared in the header and read as text ('.')
            return None
        return np.where((wide < 0) | (wide > 2**31 - 1), 0, wide).astype(np.int32)

    def _convert(self, v: object, line: int) -> VcfRecord:
        if isinstance(v, VcfRecord):  # recovered from the text by _recover
            return v
        rec = v
        alts = tuple(rec.ALT)  # type: ignore[attr-defined]
        invalid: tuple[tuple[int, str], ...] = ()
        try:  # genotypes first: htslib unpacks the FORMAT fields when they are read
            gts = np.asarray(rec.genotype.array(), dtype=np.int32)  # type: ignore[attr-defined]
        except Exception as exc:
            if not self._header_gt:
                raise VcfFormatError(
                    "genotype (GT) field unreadable: the header defines no FORMAT GT field "
                    "(a dosage-only VCF carries no genotype calls)",
                    path=self.path,
                    record=f"{rec.CHROM}:{rec.POS}",  # type: ignore[attr-defined]
                    hint="export hard genotype calls (GT), e.g. plink2 --export vcf",
                ) from exc
            # The header defines GT but this record has none: every call is missing, named
            # once for the record.
            gts = np.full((len(self.samples), 3), -1, dtype=np.int32)
            gts[:, 2] = 0
            invalid = ((ALL_SAMPLES, "the record has no GT field"),)
            ps = None
        else:
            gts, invalid = sanitize_genotypes(gts, len(alts))
            ps = self._phase_sets(rec)
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
            invalid=invalid,
        )

    def _recover(self, number: int, text: str, ordinal: int) -> VcfRecord:
        """A record htslib refused, read from its text when only GT values are malformed
        (``0/x``, ``A/G``, ``0//1``, an empty value): those calls become missing. Any other
        problem is a VcfFormatError naming the line."""
        cols = text.split("\t")
        where = f"line {number}" if number else f"record {ordinal}"
        if len(cols) >= 2:
            where += f" ({cols[0]}:{cols[1]})"
        if len(cols) < 10 or not cols[1].isdigit():
            raise VcfFormatError("malformed record", path=self.path, record=where)
        fmt = cols[8].split(":")
        if "GT" not in fmt or len(cols) - 9 != len(self._all_samples):
            raise VcfFormatError("malformed record", path=self.path, record=where)
        gi = fmt.index("GT")
        chrom, pos, ref = cols[0], int(cols[1]), cols[3]
        alts = () if cols[4] == "." else tuple(cols[4].split(","))
        index = {name: i for i, name in enumerate(self._all_samples)}
        gts = np.full((len(self.samples), 3), -1, dtype=np.int32)
        gts[:, 2] = 0
        problems: list[tuple[int, str]] = []
        for s, name in enumerate(self.samples):
            parts = cols[9 + index[name]].split(":")
            token = parts[gi] if gi < len(parts) else ""
            alleles = _parse_gt(token)
            if alleles is None:
                problems.append((s, f"GT {token!r} is not a genotype"))
                continue
            if len(alleles) > 2:
                k = len(alleles)
                problems.append((s, f"GT {token} has {k} alleles; a diploid call is expected"))
                continue
            if max(alleles) > len(alts):
                n = len(alts)
                plural = "allele" if n == 1 else "alleles"
                problems.append(
                    (s, f"GT {token} has allele index {max(alleles)} but the record has "
                        f"{n} ALT {plural}")
                )  # fmt: skip
                continue
            gts[s, 0] = alleles[0]
            gts[s, 1] = alleles[1] if len(alleles) > 1 else -2
            gts[s, 2] = int("|" in token or len(alleles) == 1)
        if not any(p.startswith("GT '") for _, p in problems) and not any(
            _parse_gt(c.split(":")[gi] if gi < c.count(":") + 1 else "") is None for c in cols[9:]
        ):  # htslib refused the line for something else than a GT value (of any sample)
            raise VcfFormatError("malformed record", path=self.path, record=where)
        ids = tuple(i for i in cols[2].split(";") if i and i != ".")
        return VcfRecord(chrom, pos, ref, alts, pos + max(len(ref), 1) - 1, gts, None, ordinal,
                         tuple(problems), ids, cols[7])  # fmt: skip

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
            try:
                for i, region in enumerate(regions):
                    out[i] = [self._convert(v, 0) for v in self._query(region)]
                return out
            except VcfFormatError:
                # a record htslib refuses inside a region: one streaming pass reads (or
                # names) it
                out = [[] for _ in regions]
        by_chrom: dict[str, list[tuple[int, int, int]]] = {}
        for i, (chrom, start, end) in enumerate(regions):
            by_chrom.setdefault(chrom.removeprefix("chr"), []).append((start, end, i))
        for v, ordinal in self._raw_stream():
            chrom, pos, stop = _raw_coords(v)  # filter before decoding any genotype
            spans = by_chrom.get(chrom.removeprefix("chr"))
            if not spans:
                continue
            hits = [i for start, end, i in spans if pos <= end and stop >= start]
            if hits:
                rec = self._convert(v, ordinal)
                for i in hits:
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
            if isinstance(v, VcfRecord):  # recovered from its text line: INFO parsed from it
                out.append(AnnotatedRecord(v, v.ids, _info_values(v.info_text, info_keys)))
                return
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
            try:
                for region in regions:
                    for v in self._query(region):
                        keep(v, 0)
                return out
            except VcfFormatError:
                out.clear()  # a record htslib refuses: one streaming pass reads (or names) it
        for v, line in self._raw_stream():
            if isinstance(v, VcfRecord):  # recovered from its text line
                chrom, pos = v.chrom, v.pos
            else:
                chrom, pos = str(v.CHROM), int(v.POS)  # type: ignore[attr-defined]
            chrom_spans = spans.get(chrom.removeprefix("chr"))
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
                fast = read_gt_sites(self.path, len(self.samples), points, samples=self.samples)
            except (EOFError, OSError, zlib.error, ValueError, UnicodeDecodeError) as exc:
                raise VcfFormatError(
                    f"malformed or truncated data ({exc})", path=self.path
                ) from exc
            if fast is not None:
                return fast
        import polars as pl

        rows: dict[int, int] = {}
        notes: list[str] = []
        arrays: list[npt.NDArray[np.int8]] = []
        entries: list[tuple[int, str, int, int, str, str, bool]] = []
        for (chrom, at_pos), recs in self.records_at(point_set(points)).items():
            for rec in recs:
                if id(rec) not in rows:
                    rows[id(rec)] = len(arrays)
                    notes += rec.invalid_notes(self.samples, per_sample=False)
                    g = rec.genotypes  # (n, 3); (n, 2) when every call is haploid
                    second = g[:, 1] if g.shape[1] > 2 else np.full(len(g), -2)
                    arrays.append(np.stack([g[:, 0], second]).astype(np.int8))
                entries.append((rows[id(rec)], chrom, rec.pos, at_pos, rec.ref,
                                ",".join(rec.alts), rec.is_ref_block))  # fmt: skip
        if not entries:
            return GenotypeSites.empty(len(self.samples))
        table = pl.DataFrame(entries, schema=GenotypeSites.empty(0).table.schema, orient="row")
        return GenotypeSites(table, np.stack(arrays), notes)

    def format_fields(self) -> set[str]:
        """FORMAT field IDs the header declares (``GT``, ``DS``, ``GP`` ...)."""
        return set(self._format_ids)

    def format_dosages(
        self, points: set[tuple[str, int]], field: str
    ) -> dict[tuple[str, int, str, str], npt.NDArray[np.float64]]:
        """ALT dosages from FORMAT ``DS`` (Number=A) or ``GP`` (genotype probabilities, diploid)
        of the records starting at the points: (ALT alleles, samples) float64 keyed by (bare
        chrom, pos, REF, comma-joined ALT); NaN where the value is missing."""
        out: dict[tuple[str, int, str, str], npt.NDArray[np.float64]] = {}
        n = len(self.samples)
        for v, _ordinal in self._raw_stream():
            if isinstance(v, VcfRecord):  # recovered from malformed text: no dosage values
                continue
            name, pos, _end = _raw_coords(v)
            chrom = name.removeprefix("chr")
            if (chrom, pos) not in points:
                continue
            alts = list(v.ALT)  # type: ignore[attr-defined]
            dose = variant_dosages(v, field, n)
            key = (chrom, pos, str(v.REF), ",".join(alts))  # type: ignore[attr-defined]
            out[key] = dose
        return out

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
        from bisect import bisect_left, bisect_right

        for v, ordinal in self._raw_stream():
            name, pos, end = _raw_coords(v)  # filter before decoding any genotype
            chrom = name.removeprefix("chr")
            ps = sorted_pos.get(chrom)
            if ps is None:
                continue
            covered = ps[bisect_left(ps, pos) : bisect_right(ps, end)] if end > pos else []
            if not covered and (chrom, pos) not in points:
                continue
            rec = self._convert(v, ordinal)
            if rec.is_ref_block:
                for p in covered:
                    out.setdefault((chrom, p), []).append(rec)
            elif (chrom, rec.pos) in points:
                out.setdefault((chrom, rec.pos), []).append(rec)
        return out

    def _raw_stream(self) -> Iterator[tuple[object, int]]:
        """cyvcf2 variants with their record number; a record htslib refuses is recovered from
        its text when only GT values are malformed (a VcfRecord), else a VcfFormatError."""
        if self._streamed:  # each streaming pass starts from the top of the file
            self._vcf.close()
            self._vcf = self._open()
        self._streamed = True
        line = 0
        it = iter(self._vcf)
        text: Iterator[tuple[int, str]] | None = None
        consumed = 0
        while True:
            try:
                v = next(it)
            except StopIteration:
                return
            except Exception as exc:
                line += 1
                if text is None:
                    text = ((n, t) for n, t in self._text_lines() if t and not t.startswith("#"))
                number, raw = 0, ""
                while consumed < line:
                    got = next(text, None)
                    if got is None:
                        number, raw = 0, ""
                        break
                    consumed += 1
                    number, raw = got
                if not raw:
                    raise VcfFormatError(
                        "malformed record", path=self.path, record=f"record {line}"
                    ) from exc
                yield self._recover(number, raw, line), line
                continue
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
