"""Input files as every reader must see them: regular files, decoded text, named lines.

One layer for the checks that every input kind shares, so that each reader reports the same
problems the same way (docs/errors.md):

- :func:`check_input_file`: the path exists, is not a directory and is a regular file (not
  ``/dev/zero``, ``/dev/urandom``, a FIFO or a socket, which would block or never end), and can
  be read. Each reader passes its own error class so that exit codes stay per input kind.
- :func:`decode_text`: bytes to text. A UTF-8 or UTF-16/32 byte-order mark is honoured and
  UTF-16 without a mark is recognised from its zero bytes (spreadsheet exports); otherwise the
  text must be UTF-8, and a byte that is not names its line and column instead of being
  replaced silently. CRLF and lone CR line ends become LF.
- :func:`read_text`: both, with a size cap (inputs are read whole by some readers: the cap
  keeps memory bounded and is documented in docs/errors.md).
- :func:`check_csv_file`: the checks of :func:`decode_text` and :func:`check_fields` on a plain
  UTF-8 file of any size, streamed in blocks (no whole-file string), for readers that hand the
  path itself to polars.
- :func:`load_json`: JSON text to data, refusing the ``NaN`` / ``Infinity`` tokens that
  Python's parser accepts but RFC 8259 does not (a value that no comparison rejects).
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from precisionrx.errors import InputError

#: Largest text input read whole (bytes). Genotype files are streamed and not subject to it.
MAX_TEXT_BYTES = 2 * 1024**3

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in words (for error messages)."""
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def check_input_file(
    path: str | Path, what: str = "input", error: type[InputError] = InputError
) -> Path:
    """``path`` as a readable regular file, or ``error`` naming the file and the problem."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{what} file not found", path=p) from None
    except NotADirectoryError:
        raise error(f"{what} file not found (a parent is not a directory)", path=p) from None
    except PermissionError:
        raise error(f"{what} file cannot be read: permission denied", path=p) from None
    except OSError as exc:  # name too long, loops, I/O errors
        raise error(f"{what} file cannot be read: {exc.strerror or exc}", path=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} is a directory, not a file", path=p)
    if not stat.S_ISREG(st.st_mode):
        raise error(
            f"{what} is {file_kind(st.st_mode)}, not a regular file",
            path=p,
            hint="save the data to a file and pass its path",
        )
    if not os.access(p, os.R_OK):
        raise error(f"{what} file cannot be read: permission denied", path=p)
    return p


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: most ASCII characters have a zero high byte."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode_text(data: bytes, path: str | Path, error: type[InputError] = InputError) -> str:
    """Text of ``data`` with LF line ends; ``error`` naming line and column if it cannot be."""
    encoding = "utf-8"
    start = 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    else:
        encoding = _utf16_without_bom(data) or "utf-8"
    try:
        text = data[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        body, pos = data[start:], exc.start
        line = body.count(b"\n", 0, pos) + 1
        column = pos - (body.rfind(b"\n", 0, pos) + 1) + 1
        bad = body[pos : pos + 1].hex()
        raise error(
            f"line {line}, column {column}: byte 0x{bad} is not valid {encoding.upper()}",
            path=path,
            hint="save it as UTF-8: Latin-1 and Windows-1252 exports must be converted",
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise error(f"line {line}: contains NUL characters (a binary file, not text)", path=path)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_text(
    path: str | Path,
    what: str = "input",
    error: type[InputError] = InputError,
    max_bytes: int = MAX_TEXT_BYTES,
) -> str:
    """A checked, decoded text file (see the module docstring)."""
    p = check_input_file(path, what, error)
    size = p.stat().st_size
    if size > max_bytes:
        raise error(
            f"{what} file is {size:,} bytes, over the {max_bytes:,}-byte limit for this input",
            path=p,
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{what} file cannot be read: {exc.strerror or exc}", path=p) from None
    return decode_text(data, p, error)


def needs_decoding(head: bytes) -> bool:
    """True when a file starting with ``head`` must go through :func:`decode_text` before a
    UTF-8 reader can read it: a byte-order mark, UTF-16 without one, or lone CR line ends."""
    if any(head.startswith(bom) for bom, _ in _BOMS) or _utf16_without_bom(head):
        return True
    return b"\r" in head.replace(b"\r\n", b"")


#: Block size of :func:`check_csv_file` (bytes; a block ends at a line end).
_BLOCK = 64 * 1024**2


def _widths(block: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Comma count + 1 and blankness of each line of ``block`` (which ends at a line end or at
    the end of the file); CR before LF is not part of a line."""
    ends = np.flatnonzero(block == 10)
    if not len(ends) or ends[-1] != len(block) - 1:
        ends = np.append(ends, len(block))
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.flatnonzero(block == 44)
    counts = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    length = ends - starts
    cr = length > 0
    cr[cr] = block[np.minimum(ends[cr] - 1, len(block) - 1)] == 13
    blank = (length - cr) == 0
    return counts.astype(np.int64), blank


def check_csv_file(
    path: str | Path, error: type[InputError] = InputError, block_size: int = _BLOCK
) -> None:
    """The checks of :func:`decode_text` (valid UTF-8, no NUL) and :func:`check_fields` (every
    non-blank line has as many fields as the header) on a plain UTF-8 comma-separated file,
    read in blocks of whole lines: memory stays bounded whatever the file size (the caller
    reads the file with polars from its path). A quoted file's fields are counted with the
    ``csv`` module, streamed."""
    p = Path(path)
    decoder = codecs.getincrementaldecoder("utf-8")()
    header, line0, quoted, carry = 0, 1, False, b""
    with p.open("rb") as fh:
        while True:
            chunk = fh.read(block_size)
            final = not chunk
            buf = carry + chunk
            cut = len(buf) if final else buf.rfind(b"\n") + 1
            if cut == 0 and not final:  # no line end yet: read on
                carry = buf
                continue
            block, carry = buf[:cut], buf[cut:]
            del buf
            if block:
                _decodes(decoder, block, final, line0, p, error)
                quoted = quoted or b'"' in block
                if not quoted:
                    header = _same_widths(block, header, line0, p, error)
                line0 += block.count(b"\n")
            if final:
                break
    if quoted:
        _check_quoted(p, error)


def _decodes(
    decoder: codecs.IncrementalDecoder,
    block: bytes,
    final: bool,
    line0: int,
    path: Path,
    error: type[InputError],
) -> None:
    """``error`` naming the line and column of the first byte of ``block`` that is not UTF-8,
    or of a NUL character."""
    try:
        decoder.decode(block, final=final)
    except UnicodeDecodeError as exc:
        pos = exc.start
        line = line0 + block.count(b"\n", 0, pos)
        column = pos - (block.rfind(b"\n", 0, pos) + 1) + 1
        raise error(
            f"line {line}, column {column}: byte 0x{block[pos : pos + 1].hex()} is not valid UTF-8",
            path=path,
            hint="save it as UTF-8: Latin-1 and Windows-1252 exports must be converted",
        ) from None
    nul = block.find(b"\x00")
    if nul >= 0:
        line = line0 + block.count(b"\n", 0, nul)
        raise error(f"line {line}: contains NUL characters (a binary file, not text)", path=path)


def _same_widths(block: bytes, header: int, line0: int, path: Path, error: type[InputError]) -> int:
    """The header's field count (taken from ``block`` when it holds line 1); ``error`` naming
    the first non-blank line of ``block`` with another count."""
    counts, blank = _widths(np.frombuffer(block, dtype=np.uint8))
    if line0 == 1:
        header = int(counts[0])
    wrong = np.flatnonzero(~blank & (counts != header))
    if len(wrong):
        n = int(wrong[0])
        raise error(
            f"{int(counts[n])} field(s), the header has {header}",
            path=path,
            record=f"line {line0 + n}",
            hint="every row needs a value (or an empty field) for each column",
        )
    return header


def _check_quoted(path: Path, error: type[InputError]) -> None:
    """Field counts of a quoted CSV file, streamed through the ``csv`` module."""
    import csv

    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        header = None
        for row in reader:
            if not row or not any(c.strip() for c in row):
                continue
            if header is None:
                header = len(row)
            elif len(row) != header:
                raise error(
                    f"{len(row)} field(s), the header has {header}",
                    path=path,
                    record=f"line {reader.line_num}",
                    hint="every row needs a value (or an empty field) for each column",
                )


def check_fields(
    text: str, path: str | Path, error: type[InputError] = InputError, exact: bool = False
) -> None:
    """Every non-blank line of a comma-separated ``text`` has as many fields as the header, or
    ``error`` names the line: a short row would otherwise read as blank values (missing inputs)
    and a long one be cut. Vectorised for unquoted text; quoted text goes through ``csv``."""
    if '"' not in text and "\n\n" not in text and not text.startswith("\n"):
        # Fast proof for the common case: with no blank line, the comma total equals lines x
        # header commas when every line has the header's count, unless a long and a short line
        # cancel out — which the exact count below (also run when the totals differ) catches
        # only if asked; polars refuses long lines itself, and its error leads the reader here
        # with ``exact=True``.
        head_end = text.find("\n")
        header_commas = text[: head_end if head_end >= 0 else len(text)].count(",")
        n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        if not exact and text.count(",") == n_lines * header_commas:
            return
    if '"' in text:  # quoted fields may hold commas: count with the csv module
        import csv

        rows = enumerate(csv.reader(io.StringIO(text)), start=1)
        widths = [(n, len(r)) for n, r in rows if r and any(c.strip() for c in r)]
    else:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        ends = np.flatnonzero(data == 10)
        if not len(ends) or ends[-1] != len(data) - 1:
            ends = np.append(ends, len(data))
        starts = np.concatenate(([0], ends[:-1] + 1))
        commas = np.flatnonzero(data == 44)
        counts = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
        blank = (ends - starts) == 0
        widths = [(1, int(counts[0]) + 1)] if len(counts) else []
        wrong = np.flatnonzero(~blank & (counts != (counts[0] if len(counts) else 0)))
        widths += [(int(n) + 1, int(counts[n]) + 1) for n in wrong[:1]]
    if not widths:
        return
    header = widths[0][1]
    for line, width in widths[1:]:
        if width != header:
            raise error(
                f"{width} field(s), the header has {header}",
                path=path,
                record=f"line {line}",
                hint="every row needs a value (or an empty field) for each column",
            )


_NON_FINITE = re.compile(r"(?<![\w\"])(-?Infinity|NaN)(?![\w\"])")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(text: str, path: str | Path, error: type[InputError] = InputError) -> Any:
    """The data of JSON ``text``; ``error`` naming the line of a ``NaN``/``Infinity`` token, or
    the parser's message for other invalid JSON."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        bad = _NON_FINITE.search(text)
        if bad is not None and "is not a JSON number" in str(exc):
            line = text.count("\n", 0, bad.start()) + 1
            raise error(
                f"{bad.group(1)} is not a JSON number (RFC 8259)",
                path=path,
                record=f"line {line}",
            ) from exc
        raise error(f"not valid JSON ({exc})", path=path) from exc
