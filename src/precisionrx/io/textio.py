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
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

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


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


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
            f"{what} is {_kind(st.st_mode)}, not a regular file",
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
