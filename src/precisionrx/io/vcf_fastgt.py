"""Genotype matrices for many sites at once, and a numpy fast path for GT-only VCF text.

:class:`GenotypeSites` holds the selected sites of a VCF as one table plus one int8 matrix
``gt`` of shape (sites, 2, samples): allele indexes of the first and second allele (each a
contiguous row, which keeps the array arithmetic fast), ``-1`` missing, ``-2`` the padding of
a haploid call. Scorers index it with row numbers instead of stacking per-record arrays.

The fast path applies when every record's FORMAT is exactly ``GT`` and every call is three
characters (``0/1``, ``1|0``, ``./.``) with single-digit allele indexes (biobank-style files);
anything else returns None and the caller falls back to htslib. An allele index beyond the
record's ALT alleles (``0/5`` with one ALT) makes that call missing (``-1``) and is named in
``GenotypeSites.invalid``, as on the htslib path.
"""

from __future__ import annotations

import gzip
import mmap
import zlib
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Executor, Future

    import polars as pl

DOT = ord(".")
ZERO = ord("0")

T = TypeVar("T")
Int8Array = npt.NDArray[np.int8]
UInt8Array = npt.NDArray[np.uint8]


SITE_COLUMNS = ("row", "chrom", "pos", "at_pos", "ref", "alt", "block")


def invalid_call_note(chrom: str, pos: int, sample: str, problem: str) -> str:
    """The message naming an invalid genotype call that was treated as missing."""
    return f"invalid genotype at {chrom}:{pos} (sample {sample}): {problem}; treated as missing"


@dataclass
class GenotypeSites:
    """Selected sites: ``table`` has one row per (record, requested position) with columns
    ``row`` (index into ``gt``), ``chrom`` (bare), ``pos`` (the record's POS), ``at_pos`` (the
    requested position: equal to ``pos``, or covered by a gVCF reference block), ``ref``,
    ``alt`` (comma-joined ALT alleles) and ``block`` (gVCF reference block). ``invalid`` names
    the calls made missing because they were invalid (:func:`invalid_call_note`).

    ``row_max``, when the reader computed it, is each row's largest value of ``gt`` read as
    unsigned bytes: the largest allele index, 255 where a call is missing and 254 where a call
    is haploid (so a row of plain 0/1 calls is one with ``row_max <= 1``)."""

    table: pl.DataFrame
    gt: Int8Array
    invalid: list[str] = field(default_factory=list)
    row_max: UInt8Array | None = None

    @classmethod
    def empty(cls, n_samples: int) -> GenotypeSites:
        import polars as pl

        schema = {"row": pl.Int64, "chrom": pl.Utf8, "pos": pl.Int64, "at_pos": pl.Int64,
                  "ref": pl.Utf8, "alt": pl.Utf8, "block": pl.Boolean}  # fmt: skip
        return cls(pl.DataFrame(schema=schema), np.zeros((0, 2, n_samples), dtype=np.int8))


def _decode(chars: npt.NDArray[np.uint8]) -> Int8Array | None:
    """Allele indexes from GT characters: digits 0-9, "." -> -1; None if any other character."""
    values: Int8Array = chars.view(np.int8) - np.int8(ZERO)
    if (values.view(np.uint8) > 9).any():  # "." (or an invalid character) present
        dots = values == np.int8(DOT - ZERO)
        if ((values.view(np.uint8) > 9) & ~dots).any():
            return None
        values[dots] = -1
    return values


def point_keys(points: set[tuple[str, int]] | pl.DataFrame) -> set[bytes]:
    """``CHROM<TAB>POS`` prefixes (bare chromosome names) of the wanted lines."""
    if isinstance(points, set):
        return {b"%s\t%d" % (chrom.encode(), pos) for chrom, pos in points}
    import polars as pl

    key = (pl.col("chrom") + "\t" + pl.col("pos").cast(pl.Utf8)).cast(pl.Binary)
    return set(points.select(key).to_series().to_list())


def point_set(points: set[tuple[str, int]] | pl.DataFrame) -> set[tuple[str, int]]:
    if isinstance(points, set):
        return points
    return set(zip(points["chrom"].to_list(), points["pos"].to_list(), strict=True))


#: (data, begin, last): lines from ``begin`` up to the newline at ``last`` in ``data``.
Block = tuple[Any, int, int]


def _blocks(path: Path, chunk_size: int) -> Generator[Block, None, None]:
    """Blocks of whole lines. A plain file is memory-mapped (no copy: the blocks are ranges
    of the map); a gzip file is read in large pieces, a line split across two reads becoming
    its own small block."""
    with path.open("rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
        if not compressed:
            if fh.seek(0, 2) == 0:
                return
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if not compressed:
        yield from _mapped_blocks(mapped, chunk_size)
        return
    carry = b""
    for block in _inflated(path, chunk_size):
        first = block.find(b"\n")
        if first < 0:
            carry += block
            continue
        if carry:
            joint = carry + block[: first + 1]
            yield joint, 0, len(joint) - 1
        last = block.rfind(b"\n")
        if last > first:
            yield block, first + 1, last
        carry = block[last + 1 :]
    if carry:
        yield carry + b"\n", 0, len(carry)


def _inflated(path: Path, chunk_size: int) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file, in order, in pieces of ``chunk_size``, read on a
    helper thread one piece ahead of the caller (ISA-L's gzip reader when python-isal is
    installed, else :mod:`gzip`). (:func:`_bgzf_blocks` reads a BGZF file group by group.)"""
    from concurrent.futures import ThreadPoolExecutor

    opener: Callable[[Path, str], Any] = gzip.open
    try:
        from isal import igzip

        opener = igzip.open
    except ImportError:  # pragma: no cover - isal is a dependency; gzip stays correct
        pass

    def pieces() -> Iterator[bytes]:
        with opener(path, "rb") as gz:
            while True:
                try:
                    block = gz.read(chunk_size)
                except (EOFError, OSError):  # truncated file, CRC mismatch
                    raise
                except Exception as exc:  # ISA-L's IsalError: corrupt deflate data
                    raise zlib.error(f"corrupt compressed data ({exc})") from None
                if not block:
                    return
                yield block

    it = pieces()
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(next, it, None)
        while (piece := ahead.result()) is not None:
            ahead = pool.submit(next, it, None)
            yield piece


#: BGZF blocks inflated together by the helper thread (about 4 MB of text).
BGZF_GROUP = 64
#: Text of one BGZF block at most (SAM/BAM specification 4.1; htslib's BGZF_MAX_BLOCK_SIZE).
BGZF_BLOCK_TEXT = 1 << 16
#: Bytes of the smallest BGZF block: the 18-byte header, an empty deflate stream (2 bytes) and
#: the 8-byte trailer, as in the end-of-file block (SAM/BAM specification 4.1.2).
BGZF_MIN_BLOCK = 28


def _raw_inflater() -> tuple[Any, Any]:
    """(inflate raw deflate data, CRC-32): Intel ISA-L through python-isal (about three times
    zlib's speed on VCF text) when it is installed, else zlib."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; zlib stays correct
        return zlib.decompress, zlib.crc32
    return isal_zlib.decompress, isal_zlib.crc32


def _group_reader() -> Any:
    """python-isal's gzip stream reader (``isal_zlib._GzipReader``, what ``isal.igzip``
    reads with), or None. Given the bytes of many gzip members, it inflates all of them into
    a buffer in one call that releases the GIL throughout, and checks each member's CRC and
    size. One call per group matters: a thread that takes the GIL back after every 64 KB
    block waits for the thread running Python code each time (up to its 5 ms switch
    interval), which had the helper and the scanning thread take turns instead of working
    together."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency
        return None
    return getattr(isal_zlib, "_GzipReader", None)


def _inflate_group(members: list[bytes], out: bytearray) -> tuple[bytearray, int]:
    """Inflate the members into ``out`` (or into a new buffer when their declared sizes do not
    fit): (the buffer, the length of the text). Each block's CRC and size are checked."""
    sizes = [int.from_bytes(member[-4:], "little") for member in members]
    if max(sizes, default=0) > BGZF_BLOCK_TEXT:  # htslib refuses these too
        raise zlib.error("BGZF block of more than 64 KB of text")
    total = sum(sizes)
    if total >= len(out):  # one byte to spare: more text than declared must show
        out = bytearray(total + 1)
    reader = _group_reader()
    if reader is None:  # a python-isal without the stream reader (tested by patching)
        return out, _inflate_members(members, out)
    try:
        stream = reader(b"".join(members))
        view = memoryview(out)[: total + 1]
        at = 0
        while got := stream.readinto(view[at:]):
            at += got
    except Exception as exc:  # BadGzipFile, EOFError, IsalError: name the problem exactly
        _inflate_members(members, out)
        raise zlib.error(f"corrupt BGZF data ({exc})") from None
    if at != total:  # pragma: no cover - the reader checks each block's size
        raise zlib.error("BGZF block size mismatch")
    return out, total


def _inflate_members(members: list[bytes], out: bytearray) -> int:
    """Inflate the members one by one into ``out`` (large enough): the length of the text.
    Slower than the group reader, but names the problem of a corrupt block."""
    inflate, crc32 = _raw_inflater()
    at = 0
    for member in members:
        xlen = member[10] | member[11] << 8
        try:
            data = inflate(member[12 + xlen : -8], -15)
        except Exception as exc:  # zlib.error or ISA-L's IsalError: corrupt data
            raise zlib.error(f"corrupt BGZF block ({exc})") from None
        if crc32(data) != int.from_bytes(member[-8:-4], "little"):
            raise zlib.error("BGZF block CRC mismatch")
        if len(data) != int.from_bytes(member[-4:], "little"):
            raise zlib.error("BGZF block size mismatch")
        out[at : at + len(data)] = data
        at += len(data)
    return at


def _bgzf_groups(path: Path) -> Iterator[list[bytes]]:
    """The gzip members of a BGZF file (each at most 64 KB and declaring its size in the
    ``BC`` extra field, SAM/BAM specification 4.1), in groups of BGZF_GROUP."""
    with path.open("rb") as fh:
        buf = b""
        group: list[bytes] = []
        while True:
            more = fh.read(1 << 20)
            buf += more
            at = 0
            while at + 18 <= len(buf):
                if buf[at : at + 2] != b"\x1f\x8b" or buf[at + 12 : at + 14] != b"BC":
                    raise zlib.error("not a BGZF block")
                size = (buf[at + 16] | buf[at + 17] << 8) + 1
                if size < BGZF_MIN_BLOCK:
                    raise zlib.error(f"BGZF block of {size} bytes: shorter than its header")
                if at + size > len(buf):
                    break
                group.append(buf[at : at + size])
                at += size
                if len(group) == BGZF_GROUP:
                    yield group
                    group = []
            buf = buf[at:]
            if not more:
                if buf:
                    raise EOFError("truncated BGZF block at the end of the file")
                if group:
                    yield group
                return


def _mapped_blocks(mapped: mmap.mmap, chunk_size: int) -> Iterator[Block]:
    size = len(mapped)
    begin = 0
    while begin < size:
        end = begin + chunk_size
        last = mapped.rfind(b"\n", begin, end) if end < size else -1
        if last < 0:  # the last piece, or a line longer than a chunk
            last = mapped.find(b"\n", min(end, size - 1))
        if last < 0:  # no newline at the end of the file
            yield bytes(mapped[begin:]) + b"\n", 0, size - begin
            return
        yield mapped, begin, last
        begin = last + 1


#: Lines decoded together: their genotype text (4 bytes per sample) stays in the CPU cache
#: through the few array passes of :func:`_decode_cells`.
DECODE_ROWS = 32
#: A 3-character call and its tab ("0/0<TAB>") read as one little-endian 32-bit word, and the
#: bits that must equal it: the separator and the tab exactly, the high half of each allele
#: character (digits are 0x30-0x39). The last call of a line ends with the newline instead.
UNPHASED_CELL = np.uint32(0x09302F30)
PHASED_CELL = np.uint32(0x09307C30)
CELL_MASK = np.uint32(0xFFF0FFF0)
LAST_CELL_MASK = np.uint32(0x00F0FFF0)


def _cell_masks(n_samples: int) -> npt.NDArray[np.uint32]:
    """Per-call masks of a line's genotype words (the last call has no tab to check)."""
    masks = np.full(n_samples, CELL_MASK, dtype=np.uint32)
    masks[-1] = LAST_CELL_MASK
    return masks


def _decode_cells(
    cells: npt.NDArray[np.uint8],
    masks: npt.NDArray[np.uint32],
    out: Int8Array,
    out_max: UInt8Array,
) -> bool:
    """Allele indexes of ``cells`` (lines, 4 * samples) written into ``out`` (lines, 2,
    samples) and each line's largest byte into ``out_max`` (see ``GenotypeSites.row_max``);
    False when a cell is not a 3-character call with a ``/`` or ``|`` separator.

    A block of unphased (or of phased) calls without missing alleles is checked with one
    comparison of 32-bit words; any other block (missing calls, mixed phasing) column by
    column."""
    words = cells.view(np.uint32)
    for pattern in (UNPHASED_CELL, PHASED_CELL):
        diff = words ^ pattern
        np.bitwise_and(diff, masks, out=diff)
        if not diff.any():
            # Allele characters from whole words (contiguous reads): the low byte of a word is
            # the first allele and the low byte of the word shifted by 16 the second; the cast
            # to int8 keeps that byte.
            np.subtract(words, ZERO, out=out[:, 0, :], casting="unsafe")
            np.right_shift(words, 16, out=diff)
            np.subtract(diff, ZERO, out=out[:, 1, :], casting="unsafe")
            np.max(out.view(np.uint8).reshape(len(out), -1), axis=1, out=out_max)
            return int(out_max.max()) <= 9  # ":" to "?" pass the mask
    grid = cells.reshape(len(cells), -1, 4)
    if (grid[:, :-1, 3] != 9).any():
        return False  # a cell is not 3 characters wide
    sep = grid[:, :, 1]
    if ((sep != ord("/")) & (sep != ord("|"))).any():
        return False
    for allele, column in ((0, 0), (1, 2)):
        values = _decode(grid[:, :, column])
        if values is None:
            return False
        out[:, allele, :] = values
    np.max(out.view(np.uint8).reshape(len(out), -1), axis=1, out=out_max)
    return True


def _genotypes(
    data: bytes, last: int, picked: list[int], n_samples: int, out: Int8Array, out_max: UInt8Array
) -> bool:
    """Allele indexes of the genotype blocks starting at ``picked`` written into ``out``
    (lines, 2, samples) and their row maxima into ``out_max``; False when a cell is not a
    3-character call with a ``/`` or ``|`` separator.

    The blocks are gathered DECODE_ROWS lines at a time from a strided view of the buffer (one
    row per byte offset, so a fancy index copies whole blocks in C)."""
    from numpy.lib.stride_tricks import as_strided

    width = 4 * n_samples
    arr = np.frombuffer(data, dtype=np.uint8, count=last + 1)
    lines = as_strided(arr, shape=(last + 2 - width, width), strides=(1, 1), writeable=False)
    starts = np.asarray(picked, dtype=np.intp)
    masks = _cell_masks(n_samples)
    for i in range(0, len(starts), DECODE_ROWS):
        cells = lines[starts[i : i + DECODE_ROWS]]
        rows = slice(i, i + DECODE_ROWS)
        if not _decode_cells(cells, masks, out[rows], out_max[rows]):
            return False
    return True


def _sites_from_heads(
    heads: list[bytes], gt: Int8Array, row_max: UInt8Array, n_samples: int
) -> GenotypeSites | None:
    """Parse the first nine columns of the picked lines in one go (polars) into GenotypeSites."""
    if not heads:
        return GenotypeSites.empty(n_samples)
    import polars as pl

    table = pl.read_csv(
        b"\n".join(heads) + b"\n", separator="\t", has_header=False, infer_schema=False,
        quote_char=None,
        new_columns=["chrom", "pos", "id", "ref", "alt", "qual", "filter", "info", "format"],
    )  # fmt: skip
    if table.height != len(heads) or (table["format"] != "GT").any():
        return None
    pos = table["pos"].cast(pl.Int64, strict=False)
    if pos.null_count():
        return None
    sites = table.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
        pl.col("chrom").str.strip_prefix("chr"),
        pos.alias("pos"),
        pos.alias("at_pos"),
        "ref",
        "alt",
        pl.lit(False).alias("block"),
    )
    return GenotypeSites(sites, gt, row_max=row_max)


def _invalidate(sites: GenotypeSites, header: list[str]) -> None:
    """Calls with an allele index beyond their record's ALT alleles become missing (named)."""
    if not sites.table.height:
        return
    import polars as pl

    alt = sites.table["alt"]
    n_alts = (
        pl.select(pl.when(alt == ".").then(0).otherwise(alt.str.count_matches(",") + 1))
        .to_series()
        .to_numpy()
        .clip(0, 127)
        .astype(np.int8)
    )
    gt = sites.gt
    # Only rows whose largest value exceeds the ALT count are looked at: the reader's byte
    # maxima when it kept them (rows with a missing or haploid call are then looked at too),
    # else row maxima in int8 (no copy of the matrix).
    row_max = sites.row_max if sites.row_max is not None else gt.max(axis=(1, 2))
    flagged = np.flatnonzero(row_max > n_alts)
    if not len(flagged):
        return
    sub = gt[flagged]  # (flagged sites, 2, samples)
    bad = (sub > n_alts[flagged, None, None]).any(axis=1)  # (flagged sites, samples)
    local, cols = np.nonzero(bad)
    rows = flagged[local]
    chroms, poss = sites.table["chrom"].to_list(), sites.table["pos"].to_list()
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        a, b = int(gt[r, 0, c]), int(gt[r, 1, c])
        n = int(n_alts[r])
        text = f"{'.' if a < 0 else a}/{'.' if b < 0 else b}"
        problem = (
            f"GT {text} has allele index {max(a, b)} but the record has {n} ALT "
            f"{'allele' if n == 1 else 'alleles'}"
        )
        name = header[c] if c < len(header) else str(c + 1)
        sites.invalid.append(invalid_call_note(chroms[r], poss[r], name, problem))
    gt[rows, 0, cols] = -1
    gt[rows, 1, cols] = -1
    if sites.row_max is not None:
        sites.row_max[rows] = 255


def read_gt_sites(
    path: Path,
    n_samples: int,
    points: set[tuple[str, int]] | pl.DataFrame,
    chunk_size: int = 32 << 20,
    samples: list[str] | None = None,
) -> GenotypeSites | None:
    """Sites at the points from a GT-only VCF (plain or gzip), or None if the file is not one.

    A wanted line is found by its ``CHROM<TAB>POS`` prefix; its genotype block (the last
    ``4 * n_samples`` bytes of the line) is decoded with array arithmetic straight from the
    text into its row of the matrix, and the first nine columns of all wanted lines are parsed
    together at the end. A helper thread inflates compressed text ahead of this thread, which
    scans and decodes it (the scan is Python code: a second scanning thread would only wait
    for the GIL).
    """
    wanted = point_keys(points)
    width = 4 * n_samples  # "0/1\t" per sample; the last cell ends with the newline
    heads: list[bytes] = []
    # Every wanted line is one row at most (a position can match one line per allele set, so
    # the bound grows when needed).
    gt = np.empty((len(wanted), 2, n_samples), dtype=np.int8)
    row_max = np.empty(len(wanted), dtype=np.uint8)
    blocks = _bgzf_blocks(path) if _is_bgzf(path) else _blocks(path, chunk_size)
    try:
        for data, begin, last in blocks:
            row = len(heads)
            picked = _scan(data, begin, last, wanted, width, heads)
            if picked is None:
                return None
            if not picked:
                continue
            if len(heads) > len(gt):
                more = max(len(gt), len(picked))
                gt = np.concatenate((gt, np.empty_like(gt[:more])))
                row_max = np.concatenate((row_max, np.empty_like(row_max[:more])))
            rows = slice(row, len(heads))
            if not _genotypes(data, last, picked, n_samples, gt[rows], row_max[rows]):
                return None
    finally:
        blocks.close()  # stops the helper thread when the file is given up early
    sites = _sites_from_heads(heads, gt[: len(heads)], row_max[: len(heads)], n_samples)
    if sites is not None:
        _invalidate(sites, samples or [str(i + 1) for i in range(n_samples)])
    return sites


def _is_bgzf(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(18)
    return (
        len(head) == 18 and head[:2] == b"\x1f\x8b" and bool(head[3] & 4) and head[12:14] == b"BC"
    )


#: Groups inflated ahead of the one being scanned (bounds the text in memory).
AHEAD = 3


def _in_order(pool: Executor, tasks: Iterable[Callable[[], T]]) -> Iterator[T]:
    """The tasks' results in submission order, with at most AHEAD + 1 tasks in flight."""
    pending: deque[Future[T]] = deque()
    for task in tasks:
        pending.append(pool.submit(task))
        if len(pending) > AHEAD:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _bgzf_blocks(path: Path) -> Generator[Block, None, None]:
    """Blocks of whole lines of a BGZF file: groups of BGZF_GROUP blocks are inflated on a
    helper thread, AHEAD groups ahead of the caller, and the lines that cross group boundaries
    are joined here. Each block's CRC and size are checked.

    A group's text goes into a recycled buffer, taken back when the caller asks for the next
    block (it is then done with this one): a fresh 4 MB allocation per group costs more in
    page faults than the inflation."""
    from concurrent.futures import ThreadPoolExecutor

    spare: list[bytearray] = []

    def buffer() -> bytearray:
        return spare.pop() if spare else bytearray(BGZF_GROUP * BGZF_BLOCK_TEXT + 1)

    carry: list[bytes] = []  # the start of a line that ends in a later group
    with ThreadPoolExecutor(max_workers=1) as pool:
        groups = (partial(_inflate_group, members, buffer()) for members in _bgzf_groups(path))
        for text, size in _in_order(pool, groups):
            first = text.find(b"\n", 0, size)
            if first < 0:  # no line ends in this group
                carry.append(bytes(text[:size]))
                spare.append(text)
                continue
            line = b"".join([*carry, text[: first + 1]])
            if len(line) > 1:
                yield line, 0, len(line) - 1
            last = text.rfind(b"\n", 0, size)
            if last > first:
                yield text, first + 1, last
            carry = [bytes(text[last + 1 : size])]
            spare.append(text)
    if rest := b"".join(carry):  # no newline at the end of the file
        yield rest + b"\n", 0, len(rest)


def _scan(
    data: bytes, begin: int, last: int, wanted: set[bytes], width: int, heads: list[bytes]
) -> list[int] | None:
    """Offsets of the genotype blocks of wanted lines in ``data[begin:last + 1]``; the text
    before each block (the first nine columns) is appended to ``heads``.

    None when a wanted line is too short for 3-character calls (the caller falls back).
    """
    picked: list[int] = []
    find = data.find
    start = begin
    while start <= last:
        end = find(b"\n", start)
        tab2 = find(b"\t", find(b"\t", start) + 1)
        key = bytes(data[start:tab2])  # data may be a bytearray (unhashable slices)
        if key[:3] == b"chr":
            key = key[3:]
        if key in wanted:  # header lines and other records are skipped unparsed
            gt_start = end + 1 - width
            if gt_start <= start or data[gt_start - 1] != 9:
                return None
            heads.append(data[start : gt_start - 1])
            picked.append(gt_start)
        start = end + 1
    return picked
