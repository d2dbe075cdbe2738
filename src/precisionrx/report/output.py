"""Atomic output (nothing half-written when a command fails) and strict JSON.

Machine-readable output keeps full precision: floats are written with Python's shortest
round-trip repr (``json.dumps``), never rounded; rounding belongs to the HTML and console views.
JSON has no NaN or Infinity (RFC 8259 section 6), so :func:`dumps` writes a non-finite float as
null instead of the ``NaN`` token Python's encoder emits by default.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from precisionrx.errors import InternalError, OutputPathError
from precisionrx.io.textio import file_kind


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity: such floats become null.

    The common case (nothing non-finite) costs one encoder pass; only a document the strict
    encoder refuses is walked and encoded again.
    """
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, **kwargs)


#: Longest temporary-file prefix taken from the output name (the file system limit is usually
#: 255 bytes per name; ``.NAME.XXXXXXXX.tmp`` adds 14 characters).
_TMP_NAME_CHARS = 100


def _problem(exc: OSError) -> str:
    """The problem of an ``OSError`` in words, as the operating system states it."""
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno == errno.EISDIR:
        return "is a directory, not a file"
    return (exc.strerror or str(exc)).lower()


def is_stream(path: Path) -> bool:
    """``path`` is (or links to) a character device or a FIFO: ``/dev/null``, ``/dev/stdout``
    on a pipe or terminal, a process substitution. Such outputs are written in place (a
    temporary file renamed over them would replace the device); ``/dev/full`` and the like
    fail on the write with :class:`OutputPathError`."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _real(path: Path) -> Path:
    """The file an output path names: a symbolic link is followed, so the link stays and the
    file it points to is replaced (a rename over the link would replace the link)."""
    try:
        return Path(os.path.realpath(path)) if path.is_symlink() else path
    except OSError:  # a name too long and the like: the checks that follow name the problem
        return path


def check_output_path(path: Path) -> None:
    """Refuse an output path that cannot be a file we write atomically; create nothing.

    Refused: a directory, a block device or socket, a parent that is not a directory, a name
    too long. Character devices and FIFOs are streams (:func:`is_stream`).
    """
    if is_stream(path):
        return
    path = _real(path)
    try:
        st: os.stat_result | None = path.stat()
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise OutputPathError(
            "cannot be written: a parent of it is a file, not a directory", path=path
        ) from None
    except OSError as exc:
        raise OutputPathError(f"cannot be written: {_problem(exc)}", path=path) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputPathError("is a directory: give a file name for this output", path=path)
        if not stat.S_ISREG(st.st_mode):
            raise OutputPathError(
                f"is {file_kind(st.st_mode)}, not a regular file: outputs are written to files",
                path=path,
            )
    parent = path.parent
    for folder in (parent, *parent.parents):
        try:
            fst = folder.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputPathError(
                f"cannot be written: folder {folder}: {_problem(exc)}", path=path
            ) from None
        if not stat.S_ISDIR(fst.st_mode):
            raise OutputPathError(
                f"cannot be written: {folder} is a file, not a directory", path=path
            )
        break


def check_outputs(
    outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]
) -> None:
    """Before a command runs: every output path can be written and none is one of the inputs.

    Inputs and outputs are compared as files (``os.path.samefile``: through symlinks, hard
    links and different spellings of the same path), so an input is never overwritten.
    """
    ins = [Path(p) for p in inputs if p is not None and str(p) != "-"]
    for out in outputs:
        if out is None:
            continue
        path = Path(out)
        check_output_path(path)
        for src in ins:
            if _same_file(path, src):
                raise OutputPathError(
                    f"is also an input ({src}): refusing to overwrite an input file",
                    path=path,
                    hint="write the output to another file",
                )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except (OSError, ValueError):
        try:
            return a.resolve() == b.resolve()
        except (OSError, RuntimeError):
            return False


def _prepare(path: Path) -> None:
    """Check ``path`` and create its folder; :class:`OutputPathError` on any problem."""
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"cannot be written: folder {path.parent} cannot be created: {_problem(exc)}",
            path=path,
        ) from None


def _temporary(path: Path) -> Path:
    """A new empty temporary file beside ``path`` (same file system, so the rename is atomic)."""
    try:
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name[:_TMP_NAME_CHARS]}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputPathError(
            f"cannot be written: cannot create a file in {path.parent}: {_problem(exc)}",
            path=path,
        ) from None
    os.close(fd)
    return Path(tmp)


def _fill(tmp: Path, path: Path, writer: Callable[[BinaryIO], None]) -> None:
    try:
        with tmp.open("wb") as fh:
            writer(fh)
    except OSError as exc:
        raise OutputPathError(f"cannot be written: {_problem(exc)}", path=path) from None


def _rename(tmp: Path, path: Path) -> None:
    try:
        tmp.replace(path)
    except OSError as exc:
        raise OutputPathError(f"cannot be written: {_problem(exc)}", path=path) from None


def _write_stream(path: Path, writer: Callable[[BinaryIO], None]) -> None:
    try:
        with path.open("wb") as fh:
            writer(fh)
    except OSError as exc:
        raise OutputPathError(f"cannot be written: {_problem(exc)}", path=path) from None


def write_atomic_with(path: Path, writer: Callable[[BinaryIO], None]) -> None:
    """Let ``writer`` fill a temporary file beside ``path``, then rename it into place.

    Every operating-system problem with the path (folder missing and not creatable, read-only,
    a directory or special file given, name too long, disk full) is an
    :class:`~precisionrx.errors.OutputPathError` naming the path; nothing is left behind.
    A stream (:func:`is_stream`) is written in place; a symbolic link's target is replaced.
    """
    if is_stream(path):
        _write_stream(path, writer)
        return
    path = _real(path)
    _prepare(path)
    tmp = _temporary(path)
    try:
        _fill(tmp, path, writer)
        _rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    write_atomic_with(path, write)


def write_all_atomic(files: Mapping[Path, str | bytes]) -> None:
    """Write several files: all of them, or none.

    Two phases: every file is first written to a temporary file beside it, then all are
    renamed into place. On any failure the temporaries are removed, files renamed in this call
    are removed again, and a file they replaced is put back, so a command never leaves
    ``plan.json`` without ``plan.html``.
    """
    streams = {p: files[p] for p in files if is_stream(p)}
    files = {_real(p): content for p, content in files.items() if p not in streams}
    paths = list(files)
    if len({p.absolute() for p in paths}) < len(paths):
        raise InternalError(f"an output file is named twice: {', '.join(map(str, paths))}")
    for path in paths:
        _prepare(path)
    temps: dict[Path, Path] = {}
    renamed: list[tuple[Path, Path | None]] = []
    try:
        for path in paths:
            temps[path] = _temporary(path)
            content = files[path]
            data = content.encode("utf-8") if isinstance(content, str) else content

            def write(fh: BinaryIO, data: bytes = data) -> None:
                fh.write(data)

            _fill(temps[path], path, write)
        for path in paths:
            backup = _backup(path)
            try:
                _rename(temps[path], path)
            except BaseException:
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise
            del temps[path]
            renamed.append((path, backup))
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        for path, backup in reversed(renamed):
            with contextlib.suppress(OSError):
                if backup is not None:
                    backup.replace(path)
                else:
                    path.unlink(missing_ok=True)
        raise
    for _, backup in renamed:
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink(missing_ok=True)
    for path, content in streams.items():  # after the files: a stream cannot be taken back
        data = content.encode("utf-8") if isinstance(content, str) else content

        def write(fh: BinaryIO, data: bytes = data) -> None:
            fh.write(data)

        _write_stream(path, write)


def _backup(path: Path) -> Path | None:
    """A hard link to the file ``path`` will replace, to put it back on failure (or None)."""
    if not path.is_file() or path.is_symlink():
        return None
    backup = path.with_name(f".{path.name[:_TMP_NAME_CHARS]}.{os.getpid()}.bak")
    try:
        backup.unlink(missing_ok=True)
        os.link(path, backup)
    except OSError:
        return None
    return backup


def json_lines(doc: dict[str, Any]) -> str:
    """A JSON document with one line per top-level key and per element of top-level lists.

    Readable and diff-friendly like an indented dump, but every element goes through the C
    encoder (an indented dump of 50,000 rows uses the slow pure-Python encoder). Strict JSON
    (:func:`dumps`).
    """
    parts = []
    for key, value in doc.items():
        head = json.dumps(key) + ": "
        if isinstance(value, list) and value:
            items = ",\n".join(dumps(v, ensure_ascii=False) for v in value)
            parts.append(head + "[\n" + items + "\n]")
        else:
            parts.append(head + dumps(value, ensure_ascii=False))
    return "{\n" + ",\n".join(parts) + "\n}\n"
