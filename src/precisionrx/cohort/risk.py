"""``cohort risk``: risk equations over tables larger than memory.

A CSV table is cut into blocks of whole lines (about :data:`BLOCK_BYTES` each; a block ends at
a line end, so the table must hold one row per line, without line breaks inside quoted
fields). Each shard reads its block, with the header, through the same reader as ``precisionrx
risk`` (messages name the file's own line numbers) and writes the same rows as ``risk --format
csv``: one per person x model x horizon x outcome. A JSON table is one shard. A person without
an ``id`` is numbered by their row in the whole file, as ``risk`` numbers them. Duplicate ids
are found within a block; across blocks they are not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from precisionrx.cohort.runner import Shard, file_identity, kb_versions, worker_kb

if TYPE_CHECKING:
    import pyarrow as pa

BLOCK_BYTES = 8 * 1024 * 1024
_READ = 8 * 1024 * 1024


def _blocks(path: Path, block_bytes: int) -> tuple[int, list[tuple[int, int, int]]]:
    """The header's length and (start, end, first row) of each block of whole lines."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = fh.readline()
        start, row = len(header), 0
        blocks = []
        while start < size:
            fh.seek(min(start + block_bytes, size))
            fh.readline()  # on to the end of the line the cut fell in
            end = min(fh.tell(), size)
            rows = 0
            fh.seek(start)
            left = end - start
            while left > 0:
                chunk = fh.read(min(_READ, left))
                rows += chunk.count(b"\n")
                left -= len(chunk)
            if end == size and size and not _ends_with_newline(fh, size):
                rows += 1
            if rows or end > start:
                blocks.append((start, end, row))
            row += rows
            start = end
    return len(header), blocks


def _ends_with_newline(fh: Any, size: int) -> bool:
    fh.seek(size - 1)
    return bool(fh.read(1) == b"\n")


def _check_lines(table: Path) -> None:
    """Blocks are cut at line feeds in UTF-8 text: refuse, before any shard, a table in
    UTF-16 or with carriage returns only (``precisionrx risk`` reads those whole)."""
    from precisionrx.errors import InputError

    with table.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "is UTF-16 text; cohort risk reads UTF-8 tables in blocks",
            path=table,
            hint="save it as UTF-8 CSV, or score it with precisionrx risk",
        )
    if b"\r" in head and b"\n" not in head:
        raise InputError("ends its lines with carriage returns only; cohort risk cuts the table "
                         "at line feeds", path=table,
                         hint="convert the line ends (e.g. tr '\\r' '\\n')")  # fmt: skip


def risk_shards(
    table: Path, models: list[str], block_bytes: int = BLOCK_BYTES
) -> tuple[list[Shard], dict[str, Any]]:
    identity = {"inputs": [file_identity(table)], "models": models, "block_bytes": block_bytes,
                "kb": kb_versions(worker_kb())}  # fmt: skip
    if table.suffix.lower() == ".json":
        spec = {"table": str(table.resolve()), "models": models, "header": 0, "start": 0,
                "end": -1, "first_row": 0}  # fmt: skip
        return [Shard(0, spec, table.name)], identity
    _check_lines(table)
    header, blocks = _blocks(table, block_bytes)
    shards = [
        Shard(i, {"table": str(table.resolve()), "models": models, "header": header,
                  "start": start, "end": end, "first_row": first},
              f"rows from {first + 1} of {table.name}")
        for i, (start, end, first) in enumerate(blocks)
    ]  # fmt: skip
    return shards, identity


def risk_shard(spec: dict[str, Any]) -> pa.Table:
    import polars as pl

    from precisionrx.engines.cardio.api import risk_frames
    from precisionrx.io.risk_table import read_risk_table

    path = Path(spec["table"])
    if spec["end"] < 0:
        inputs = read_risk_table(path)
    else:
        with path.open("rb") as fh:
            head = fh.read(spec["header"])
            fh.seek(spec["start"])
            body = fh.read(spec["end"] - spec["start"])
        try:
            text = (head + body).decode("utf-8-sig", errors="strict")
        except UnicodeDecodeError as exc:
            from precisionrx.errors import InputError

            at = exc.start - len(head)
            line = spec["first_row"] + 2 + body[: max(at, 0)].count(b"\n")
            raise InputError(f"line {line}: not UTF-8 text (byte {exc.object[exc.start]:#04x})",
                             path=path, record=f"line {line}",
                             hint="save the table as UTF-8 CSV") from None  # fmt: skip
        inputs = read_risk_table(path, text=text, first_row=spec["first_row"])
    blocks = risk_frames(inputs, worker_kb(), spec["models"])
    frame = pl.concat(blocks, how="diagonal_relaxed") if blocks else pl.DataFrame()
    return frame.to_arrow()
