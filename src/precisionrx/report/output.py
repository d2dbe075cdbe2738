"""Atomic output (nothing half-written when a command fails) and strict JSON.

Machine-readable output keeps full precision: floats are written with Python's shortest
round-trip repr (``json.dumps``), never rounded; rounding belongs to the HTML and console views.
JSON has no NaN or Infinity (RFC 8259 section 6), so :func:`dumps` writes a non-finite float as
null instead of the ``NaN`` token Python's encoder emits by default.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


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


def write_atomic_with(path: Path, writer: Callable[[BinaryIO], None]) -> None:
    """Let ``writer`` fill a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    data = text.encode("utf-8")

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    write_atomic_with(path, write)


def write_all_atomic(files: dict[Path, str]) -> None:
    """Write several files; each appears whole or not at all."""
    for path, text in files.items():
        write_atomic(path, text)


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
