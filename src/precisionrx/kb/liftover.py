"""Genome-build conversion (liftover) of positions, intervals and variants with UCSC chain files.

Chain format (UCSC, https://genome.ucsc.edu/goldenPath/help/chain.html)::

    chain score tName tSize tStrand tStart tEnd qName qSize qStrand qStart qEnd id
    size dt dq      <- an ungapped aligned block, then dt unaligned bases in t and dq in q
    ...
    size            <- the last block of the chain

``t`` is the source build and ``q`` the target build. Coordinates are 0-based and half-open;
when ``qStrand`` is ``-``, q coordinates count along the reverse complement, so a source base
``s`` in a block maps to the forward target base ``qSize - 1 - (qStart_block + s - tStart_block)``.
The public functions take and return 1-based positions (VCF/MAF) and Ensembl chromosome names
(``1``..``22``, ``X``, ``Y``, ``MT``; a ``chr`` prefix and ``M`` are accepted on input).

What is reported, never silently kept (../shared/data/genome/SOURCES.md): a position in a chain
gap or on no chain, one that maps to another chromosome or contig, one covered by more than one
block (``multiple_mappings``), a REF span or insertion point that crosses a block boundary, and
an anchored (VCF-style) indel on a minus-strand block, whose padding base would have to come from
the reference sequence. No reference sequence is shipped, so a REF base that differs between the
builds at a converted position cannot be detected here: callers say so.

The two Ensembl chain files (GRCh37 <-> GRCh38) are packaged under ``kb/data/genome``;
:func:`packaged_chain` reads one once per process.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
import zlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from precisionrx.errors import KbIntegrityError, KbNotFound

__all__ = [
    "BUILDS",
    "PRIMARY",
    "Chain",
    "LiftedInterval",
    "LiftedPosition",
    "LiftedPositions",
    "LiftedVariant",
    "Unlifted",
    "Unmapped",
    "chain_file_name",
    "ensembl_chrom",
    "lift_interval",
    "lift_position",
    "lift_positions",
    "lift_variant",
    "packaged_chain",
    "parse_chain",
    "read_chain",
    "reverse_complement",
]

Strand = Literal["+", "-"]
BUILDS = ("GRCh37", "GRCh38")
#: Primary-assembly chromosomes (Ensembl names). Ensembl's chains also align regions to patch
#: (``HG*_PATCH``) and alternate-haplotype (``HSCHR*``) sequences; such an alignment does not
#: compete with one to a primary chromosome (a VCF is on the primary assembly).
PRIMARY = frozenset([*map(str, range(1, 23)), "X", "Y", "MT"])
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_DNA = frozenset("ACGTN")


class Unlifted(StrEnum):
    """Why a position, interval or variant was not converted."""

    UNKNOWN_CHROMOSOME = "unknown_chromosome"  # no chain starts on this chromosome
    GAP = "gap"  # in a chain gap or outside every chain (no aligned base in the other build)
    OTHER_CHROMOSOME = "other_chromosome"  # aligned to another chromosome or contig
    MULTIPLE = "multiple_mappings"  # covered by more than one aligned block
    BLOCK_BOUNDARY = "crosses_block_boundary"  # REF span / insertion point not in one block
    MINUS_STRAND_INDEL = "minus_strand_indel"  # anchored indel on a minus-strand block
    BAD_ALLELE = "unsupported_allele"  # an allele that is not A/C/G/T/N (or MAF '-')
    BAD_POSITION = "bad_position"  # position below 1 or end before start


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A failed conversion; ``str()`` gives the ``failed:<reason>`` status of the KB tables."""

    reason: Unlifted
    detail: str = ""

    def __str__(self) -> str:
        return f"failed:{self.reason.value}"


@dataclass(frozen=True, slots=True)
class LiftedPosition:
    chrom: str
    pos: int  # 1-based
    strand: Strand  # strand of the aligned block: '-' = the sequence is reverse-complemented


@dataclass(frozen=True, slots=True)
class LiftedInterval:
    chrom: str
    start: int  # 1-based, inclusive, start <= end in the target build
    end: int
    strand: Strand


@dataclass(frozen=True, slots=True)
class LiftedVariant:
    chrom: str
    pos: int  # 1-based; for a MAF insertion (REF '-') the base before the insertion
    ref: str
    alt: str
    strand: Strand

    @property
    def method(self) -> str:
        """How it was converted: ``chain+`` (alleles unchanged) or ``chain-revcomp``."""
        return "chain+" if self.strand == "+" else "chain-revcomp"


@dataclass(frozen=True, slots=True)
class LiftedPositions:
    """Vectorised result of :func:`lift_positions`; unmapped entries have ``pos`` 0."""

    chrom: list[str]  # '' where unmapped
    pos: NDArray[np.int64]  # 1-based
    strand: NDArray[np.int8]  # +1, -1, 0 where unmapped
    reason: list[str]  # '' where mapped, else an Unlifted value

    @property
    def mapped(self) -> NDArray[np.bool_]:
        return self.pos > 0


@dataclass(frozen=True, slots=True)
class _Blocks:
    """Aligned blocks of one source chromosome, sorted by source start (0-based), split into
    layers of non-overlapping blocks so a binary search per layer finds every covering block
    (one layer when no two blocks overlap, as in GRCh37 -> GRCh38)."""

    start: NDArray[np.int64]
    end: NDArray[np.int64]
    offset: NDArray[np.int64]  # target0 = offset + strand * source0
    strand: NDArray[np.int64]  # +1 / -1
    target: NDArray[np.int64]  # index into Chain.targets
    primary: NDArray[np.bool_]  # the target is a primary-assembly chromosome
    layers: tuple[NDArray[np.int64], ...]  # block indices, each layer sorted and disjoint
    layer_starts: tuple[NDArray[np.int64], ...]  # start[layer], for searchsorted


def _layers(start: NDArray[np.int64], end: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    """Peel off, in start order, the blocks that overlap no earlier remaining block."""
    remaining = np.arange(len(start))
    out = []
    while len(remaining):
        ends = end[remaining]
        before = np.concatenate(([-1], np.maximum.accumulate(ends)[:-1]))
        free = start[remaining] >= before
        out.append(remaining[free])
        remaining = remaining[~free]
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Chain:
    """One direction of conversion (e.g. GRCh37 -> GRCh38), indexed per source chromosome."""

    source_build: str
    target_build: str
    blocks: Mapping[str, _Blocks]
    targets: tuple[str, ...]  # target sequence names; _Blocks.target indexes them
    name: str
    sha256: str
    n_chains: int

    @property
    def n_blocks(self) -> int:
        return sum(len(b.start) for b in self.blocks.values())

    def aligned(self, chrom: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """1-based first and last source base of every aligned block on ``chrom``."""
        blocks = self.blocks[ensembl_chrom(chrom)]
        return blocks.start + 1, blocks.end.copy()


def ensembl_chrom(chrom: str) -> str:
    """``chr7`` -> ``7``, ``chrM``/``M`` -> ``MT``; other names unchanged."""
    name = chrom[3:] if chrom[:3].lower() == "chr" else chrom
    return "MT" if name in ("M", "m") else name


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA allele; the MAF empty allele ``-`` stays ``-``."""
    return seq if seq == "-" else seq.translate(_COMPLEMENT)[::-1]


# -- reading ---------------------------------------------------------------------------------


def _bad(name: str, line: int, problem: str) -> KbIntegrityError:
    return KbIntegrityError(f"malformed chain file: {problem}", path=name, record=f"line {line}")


def _header(name: str, number: int, fields: list[str]) -> tuple[int, ...]:
    """Checked numbers of a chain header: tSize tStart tEnd qSize qStart qEnd strand."""
    if len(fields) not in (12, 13):
        raise _bad(name, number, f"chain header has {len(fields)} fields, expected 13")
    try:
        t_size, t_start, t_end = int(fields[3]), int(fields[5]), int(fields[6])
        q_size, q_start, q_end = int(fields[8]), int(fields[10]), int(fields[11])
    except ValueError:
        raise _bad(name, number, "non-numeric size or coordinate in the header") from None
    if fields[4] != "+" or fields[9] not in ("+", "-"):
        raise _bad(name, number, "strands must be '+' (source) and '+' or '-' (target)")
    if not (0 <= t_start <= t_end <= t_size and 0 <= q_start <= q_end <= q_size):
        raise _bad(name, number, "coordinates outside the sequence sizes")
    return t_size, t_start, t_end, q_size, q_start, q_end, 1 if fields[9] == "+" else -1


def _block_numbers(text: list[str], lines: list[int], name: str) -> NDArray[np.int64]:
    """'size dt dq' rows as an (n, 3) array, parsed in C; a bad token is located per line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            flat = np.fromstring(" ".join(text), dtype=np.int64, sep=" ")
    except (ValueError, DeprecationWarning):
        flat = np.empty(0, dtype=np.int64)
    if len(flat) == 3 * len(text):
        return flat.reshape(-1, 3)
    for row, line in zip(text, lines, strict=True):
        for token in row.split():
            if not token.lstrip("-").isdigit():
                raise _bad(name, line, f"non-numeric alignment data {token!r}")
    raise _bad(name, lines[0], "unreadable alignment data")  # pragma: no cover


def parse_chain(
    lines: Iterable[str], *, name: str, source_build: str, target_build: str, sha256: str = ""
) -> Chain:
    """Parse UCSC chain text; any structural problem is a :class:`KbIntegrityError` naming the
    line. Lines are split in Python and the block arithmetic is done with numpy."""
    block_text: list[str] = []
    block_lines: list[int] = []
    headers: list[tuple[int, ...]] = []  # per chain: 7 header numbers + source id + target id
    header_lines: list[int] = []
    first_block: list[int] = []
    source_ids: dict[str, int] = {}
    target_ids: dict[str, int] = {}
    seq_sizes: dict[str, int] = {}
    open_chain = False  # a header was read and its final (single-number) block is pending
    for number, raw in enumerate(lines, start=1):
        fields = raw.split()
        n = len(fields)
        if n == 3 and open_chain:
            block_text.append(raw)
            block_lines.append(number)
        elif n == 1 and open_chain:
            block_text.append(raw + " 0 0")
            block_lines.append(number)
            open_chain = False
        elif not n or fields[0].startswith("#"):
            continue
        elif fields[0] == "chain":
            if open_chain:
                raise _bad(name, number, f"the chain of line {header_lines[-1]} has no final "
                                         "block line")  # fmt: skip
            numbers = _header(name, number, fields)
            for key, length in (("t" + fields[2], numbers[0]), ("q" + fields[7], numbers[3])):
                if seq_sizes.setdefault(key, length) != length:
                    raise _bad(name, number, f"{key[1:]} is given two different sizes")
            src = source_ids.setdefault(fields[2], len(source_ids))
            tgt = target_ids.setdefault(fields[7], len(target_ids))
            headers.append((*numbers, src, tgt))
            header_lines.append(number)
            first_block.append(len(block_text))
            open_chain = True
        elif n in (1, 3):
            raise _bad(name, number, "alignment data outside a chain")
        else:
            raise _bad(name, number, f"expected 'size dt dq' or a final 'size', got {n} fields")
    if open_chain:
        raise _bad(name, header_lines[-1], "the last chain has no final block line")
    if not headers:
        raise KbIntegrityError("not a chain file: no 'chain' header", path=name)
    table = _block_numbers(block_text, block_lines, name)
    size, dt, dq = table[:, 0], table[:, 1], table[:, 2]
    bad = np.flatnonzero((size <= 0) | (dt < 0) | (dq < 0))
    if len(bad):
        raise _bad(name, block_lines[int(bad[0])], "block size must be positive, gaps >= 0")
    head = np.array(headers, dtype=np.int64)
    starts = np.array(first_block, dtype=np.int64)
    counts = np.diff(np.append(starts, len(size)))
    if (counts == 0).any():  # pragma: no cover - a header is always followed by a block
        raise _bad(name, header_lines[int(np.flatnonzero(counts == 0)[0])], "empty chain")
    chain_of = np.repeat(np.arange(len(head)), counts)

    def block_starts(step: NDArray[np.int64], lo: int, hi: int) -> NDArray[np.int64]:
        """Start of each block: the chain's start plus the bases stepped over before it."""
        done = np.cumsum(step) - step
        within = done - done[starts][chain_of]
        wrong = np.flatnonzero(np.add.reduceat(step, starts) != head[:, hi] - head[:, lo])
        if len(wrong):
            line = header_lines[int(wrong[0])]
            raise _bad(name, line, "the blocks do not add up to the chain's span")
        out: NDArray[np.int64] = head[chain_of, lo] + within
        return out

    t0, q0 = block_starts(size + dt, 1, 2), block_starts(size + dq, 4, 5)
    strand = head[chain_of, 6]
    offset = np.where(strand > 0, q0 - t0, head[chain_of, 3] - 1 - q0 + t0)
    source = head[chain_of, 7]
    order = np.lexsort((t0, source))
    sources = sorted(source_ids, key=source_ids.__getitem__)
    targets = tuple(sorted(target_ids, key=target_ids.__getitem__))
    is_primary = np.array([ensembl_chrom(t) in PRIMARY for t in targets], dtype=np.bool_)
    index: dict[str, _Blocks] = {}
    cut = np.flatnonzero(np.diff(source[order])) + 1
    for part in np.split(order, cut):
        start, end = t0[part], t0[part] + size[part]
        target = head[chain_of[part], 8]
        layers = _layers(start, end)
        index[sources[int(source[part[0]])]] = _Blocks(
            start, end, offset[part], strand[part], target, is_primary[target], layers,
            tuple(start[layer] for layer in layers),
        )  # fmt: skip
    return Chain(source_build, target_build, index, targets, name, sha256, len(head))


def read_chain(path: Path, *, source_build: str, target_build: str) -> Chain:
    """Read a (gzip-compressed or plain) UCSC chain file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KbNotFound("chain file not readable", path=path) from exc
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        lines = text.decode("ascii").splitlines()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise KbIntegrityError(f"chain file unreadable ({exc})", path=path) from exc
    return parse_chain(
        lines, name=str(path), source_build=source_build, target_build=target_build, sha256=digest
    )


def chain_file_name(source_build: str, target_build: str) -> str:
    return f"{source_build}_to_{target_build}.chain.gz"


def packaged_chain(source_build: str, target_build: str, root: Path | None = None) -> Chain:
    """The packaged Ensembl chain ``source_build`` -> ``target_build`` (read once per process;
    ``root`` is the ``kb/data/genome`` folder, by default the installed package's)."""
    if source_build not in BUILDS or target_build not in BUILDS or source_build == target_build:
        raise KbNotFound(f"no chain from {source_build} to {target_build}")
    folder = root or Path(str(resources.files("precisionrx.kb").joinpath("data", "genome")))
    path = (folder / chain_file_name(source_build, target_build)).resolve()
    return _cached_chain(path, source_build, target_build)


@lru_cache(maxsize=4)
def _cached_chain(path: Path, source_build: str, target_build: str) -> Chain:
    return read_chain(path, source_build=source_build, target_build=target_build)


# -- converting ------------------------------------------------------------------------------


def _covering(blocks: _Blocks, pos0: int) -> list[int]:
    """Indices of every block covering 0-based ``pos0`` (usually zero or one)."""
    out = []
    for layer, starts in zip(blocks.layers, blocks.layer_starts, strict=True):
        k = bisect_right(starts, pos0) - 1
        if k >= 0 and blocks.end[layer[k]] > pos0:
            out.append(int(layer[k]))
    return out


def _one_block(chain: Chain, chrom: str, pos0: int) -> tuple[_Blocks, int] | Unmapped:
    blocks = chain.blocks.get(chrom)
    if blocks is None:
        return Unmapped(Unlifted.UNKNOWN_CHROMOSOME, f"{chrom} is not in {chain.name}")
    hits = _covering(blocks, pos0)
    if not hits:
        return Unmapped(Unlifted.GAP, f"{chrom}:{pos0 + 1} is not aligned to {chain.target_build}")
    primary = [j for j in hits if blocks.primary[j]]
    if len(primary) > 1:
        return Unmapped(Unlifted.MULTIPLE, f"{chrom}:{pos0 + 1} maps to {len(primary)} places")
    return blocks, (primary or hits)[0]  # a patch/alt-only hit fails as another chromosome


def _target(chain: Chain, chrom: str, blocks: _Blocks, j: int) -> str | Unmapped:
    target = ensembl_chrom(chain.targets[int(blocks.target[j])])
    if target != chrom:
        return Unmapped(Unlifted.OTHER_CHROMOSOME, f"{chrom} aligns to {target} here")
    return target


def lift_position(chain: Chain, chrom: str, pos: int) -> LiftedPosition | Unmapped:
    """Convert one 1-based position."""
    if pos < 1:
        return Unmapped(Unlifted.BAD_POSITION, f"position {pos}")
    chrom = ensembl_chrom(chrom)
    found = _one_block(chain, chrom, pos - 1)
    if isinstance(found, Unmapped):
        return found
    blocks, j = found
    target = _target(chain, chrom, blocks, j)
    if isinstance(target, Unmapped):
        return target
    sign = int(blocks.strand[j])
    new0 = int(blocks.offset[j]) + sign * (pos - 1)
    return LiftedPosition(target, new0 + 1, "+" if sign > 0 else "-")


def lift_interval(chain: Chain, chrom: str, start: int, end: int) -> LiftedInterval | Unmapped:
    """Convert the 1-based inclusive interval ``start..end``, which must lie in one aligned block
    (so its length is kept); on a minus-strand block the ends swap."""
    if start < 1 or end < start:
        return Unmapped(Unlifted.BAD_POSITION, f"interval {start}-{end}")
    chrom = ensembl_chrom(chrom)
    first = _one_block(chain, chrom, start - 1)
    if isinstance(first, Unmapped):
        return first
    blocks, j = first
    if end > start:
        last = _one_block(chain, chrom, end - 1)
        if isinstance(last, Unmapped):
            reason = Unlifted.MULTIPLE if last.reason is Unlifted.MULTIPLE else None
            return Unmapped(reason or Unlifted.BLOCK_BOUNDARY, f"{chrom}:{start}-{end}")
        if last[1] != j:
            return Unmapped(Unlifted.BLOCK_BOUNDARY, f"{chrom}:{start}-{end} spans two blocks")
    target = _target(chain, chrom, blocks, j)
    if isinstance(target, Unmapped):
        return target
    sign, offset = int(blocks.strand[j]), int(blocks.offset[j])
    a, b = offset + sign * (start - 1) + 1, offset + sign * (end - 1) + 1
    return LiftedInterval(target, min(a, b), max(a, b), "+" if sign > 0 else "-")


def _allele(seq: str) -> str | None:
    """Upper-case allele, ``-`` for an empty MAF allele; None if not DNA."""
    up = seq.upper() if seq not in ("", "-") else "-"
    return up if up == "-" or set(up) <= _DNA else None


def lift_variant(
    chain: Chain, chrom: str, pos: int, ref: str, alt: str
) -> LiftedVariant | Unmapped:
    """Convert a VCF- or MAF-style variant (1-based ``pos``, REF as written).

    The REF span (for a MAF insertion, REF ``-``, the two bases around the insertion point; for
    an insertion the next base too) must lie in one aligned block. On a minus-strand block REF
    and ALT are reverse-complemented and ``pos`` becomes the lowest target base; an anchored
    (VCF) indel there is refused, since its new padding base is not known without the sequence.
    """
    r, a = _allele(ref), _allele(alt)
    if r is None or a is None:
        return Unmapped(Unlifted.BAD_ALLELE, f"REF {ref!r} ALT {alt!r}")
    # a MAF insertion (REF '-') sits between Start_Position and the next base; an insertion
    # after a padding base needs the next base in the same block too
    grows = a != "-" and len(a) > len(r)
    span = 2 if r == "-" else len(r) + grows
    lifted = lift_interval(chain, chrom, pos, pos + span - 1)
    if isinstance(lifted, Unmapped):
        return lifted
    if lifted.strand == "+":
        return LiftedVariant(lifted.chrom, lifted.start, r, a, "+")
    anchored = "-" not in (r, a) and len(r) != len(a)
    if anchored:
        return Unmapped(Unlifted.MINUS_STRAND_INDEL, f"{chrom}:{pos} {ref}>{alt}")
    return LiftedVariant(
        lifted.chrom, lifted.start, reverse_complement(r), reverse_complement(a), "-"
    )


def lift_positions(
    chain: Chain, chroms: Sequence[str] | str, positions: ArrayLike
) -> LiftedPositions:
    """Vectorised :func:`lift_position` for many 1-based positions (one chromosome name, or one
    per position). Tens of thousands convert in milliseconds."""
    pos = np.asarray(positions, dtype=np.int64).reshape(-1)
    n = len(pos)
    names = [chroms] * n if isinstance(chroms, str) else list(chroms)
    if len(names) != n:
        raise ValueError("chroms and positions differ in length")
    out_pos = np.zeros(n, dtype=np.int64)
    out_strand = np.zeros(n, dtype=np.int8)
    out_chrom = [""] * n
    reason = [""] * n
    by_chrom: dict[str, list[int]] = {}
    for i, c in enumerate(names):
        by_chrom.setdefault(ensembl_chrom(c), []).append(i)
    target_names = [ensembl_chrom(t) for t in chain.targets]
    for chrom, members in by_chrom.items():
        idx = np.asarray(members, dtype=np.int64)
        blocks = chain.blocks.get(chrom)
        if blocks is None:
            for i in members:
                why = Unlifted.BAD_POSITION if pos[i] < 1 else Unlifted.UNKNOWN_CHROMOSOME
                reason[i] = why.value
            continue
        p0 = pos[idx] - 1
        hits = np.zeros(len(idx), dtype=np.int64)
        jj_all = np.zeros(len(idx), dtype=np.int64)
        for layer, starts in zip(blocks.layers, blocks.layer_starts, strict=True):
            k = np.searchsorted(starts, p0, side="right") - 1
            j = layer[np.clip(k, 0, None)]
            inside = (k >= 0) & (blocks.end[j] > p0)
            hits += inside
            jj_all = np.where(inside, j, jj_all)
        unique = (hits == 1) & (p0 >= 0)
        sel = idx[unique]
        jj = jj_all[unique]
        out_pos[sel] = blocks.offset[jj] + blocks.strand[jj] * p0[unique] + 1
        out_strand[sel] = blocks.strand[jj]
        for i, t in zip(sel.tolist(), blocks.target[jj].tolist(), strict=True):
            out_chrom[i] = target_names[t]
        for i in sel.tolist():
            if out_chrom[i] != chrom:
                out_pos[i], out_strand[i], out_chrom[i] = 0, 0, ""
                reason[i] = Unlifted.OTHER_CHROMOSOME.value
        gap = (hits == 0) & (p0 >= 0)
        for i in idx[gap].tolist():
            reason[i] = Unlifted.GAP.value
        for i in idx[~unique & ~gap].tolist():  # rare: several blocks, positions below 1
            one = lift_position(chain, chrom, int(pos[i]))
            if isinstance(one, Unmapped):
                reason[i] = one.reason.value
            else:
                out_pos[i], out_chrom[i] = one.pos, one.chrom
                out_strand[i] = 1 if one.strand == "+" else -1
    return LiftedPositions(out_chrom, out_pos, out_strand, reason)
