"""A model's predictions for a fairness audit: a CSV with a header row, one row per person
(docs/cli/fairness.md).

The label and prediction columns hold 0 or 1 (``1.0`` from a spreadsheet too), the score column
a predicted risk in [0, 1]. A cell that is empty or reads ``NA``, ``N/A``, ``NaN``, ``null`` or
``None`` (any case) is missing: the row is dropped and counted, never silently. Group values are
strings as written (spaces trimmed); an empty group cell is the group ``unknown``. Any other
value is an :class:`~precisionrx.errors.InputError` naming the file, the row (its line number in
the file, the header being row 1) and the column.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from precisionrx.errors import InputError
from precisionrx.io.textio import read_text
from precisionrx.records.fairness import UNKNOWN_GROUP, PredictionTable

#: Cell texts read as a missing label, score or prediction (compared without case).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})

T = TypeVar("T")


def _binary(text: str, what: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value not in (0.0, 1.0):
        raise ValueError(f"{what} must be 0 or 1, got {text!r}")
    return int(value)


def _label(text: str) -> int:
    return _binary(text, "label")


def _prediction(text: str) -> int:
    return _binary(text, "prediction")


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"score must be a number in [0, 1], got {text!r}") from None
    if not (0.0 <= value <= 1.0):  # also refuses inf (nan is read as missing)
        raise ValueError(f"score must be a predicted risk in [0, 1], got {text!r}")
    return value


def _cell(parse: Callable[[str], T], text: str, column: str, path: Path, line: str) -> T:
    try:
        return parse(text)
    except ValueError as exc:
        raise InputError(f"column {column!r}: {exc}", path=path, record=line) from None


def _columns(header: list[str], wanted: Sequence[str], path: Path) -> dict[str, int]:
    names = [h.strip() for h in header]
    where: dict[str, int] = {}
    for column in dict.fromkeys(wanted):
        count = names.count(column)
        if count == 0:
            shown = ", ".join(repr(n) for n in names)
            raise InputError(f"column {column!r} is not in the header (columns: {shown})",
                             path=path, record="row 1")  # fmt: skip
        if count > 1:
            raise InputError(f"column {column!r} appears {count} times in the header",
                             path=path, record="row 1")  # fmt: skip
        where[column] = names.index(column)
    return where


def read_predictions(
    path: str | Path,
    *,
    label: str,
    score: str,
    groups: Sequence[str],
    pred: str | None = None,
) -> PredictionTable:
    """The usable rows of the predictions CSV at ``path`` (see the module docstring).

    A file without a header, without the named columns, with a row of the wrong width, a bad
    label, score or prediction, or without any usable row is an :class:`InputError`.
    """
    path = Path(path)
    text = read_text(path, "predictions")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)
    if header is None:
        raise InputError("empty file: no header row", path=path)
    if not groups:
        raise InputError("no grouping column given", path=path)
    needed = [label, score, *([pred] if pred else []), *groups]
    at = _columns(header, needed, path)
    values = [label, score, *([pred] if pred else [])]
    dropped_by = dict.fromkeys(values, 0)
    missing_group = dict.fromkeys(groups, 0)
    labels: list[int] = []
    scores: list[float] = []
    preds: list[int] = []
    group_cells: dict[str, list[str]] = {g: [] for g in groups}
    n_dropped = 0
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        line = f"row {reader.line_num}"
        if len(row) != len(header):
            raise InputError(f"{len(row)} field(s), the header has {len(header)}", path=path,
                             record=line)  # fmt: skip
        cells = {c: row[at[c]].strip() for c in at}
        missing = [c for c in values if cells[c].casefold() in MISSING]
        for column in missing:
            dropped_by[column] += 1
        y = None if label in missing else _cell(_label, cells[label], label, path, line)
        s = None if score in missing else _cell(_score, cells[score], score, path, line)
        p = None
        if pred is not None and pred not in missing:
            p = _cell(_prediction, cells[pred], pred, path, line)
        if missing:
            n_dropped += 1
            continue
        if y is None or s is None:  # unreachable: missing cells were dropped above
            continue
        labels.append(y)
        scores.append(s)
        if p is not None:
            preds.append(p)
        for g in groups:
            value = cells[g] or UNKNOWN_GROUP
            if not cells[g]:
                missing_group[g] += 1
            group_cells[g].append(value)
    if not labels:
        raise InputError(
            f"no rows to audit: {n_dropped} row(s) read, each without a label, score"
            + (" or prediction" if pred else ""),
            path=path,
        )
    return PredictionTable(
        labels=np.array(labels, dtype=np.int8),
        scores=np.array(scores, dtype=np.float64),
        preds=np.array(preds, dtype=np.int8) if pred else None,
        groups={g: np.array(v, dtype=np.str_) for g, v in group_cells.items()},
        label=label,
        score=score,
        pred=pred,
        n_dropped=n_dropped,
        n_dropped_by_column=dropped_by,
        n_missing_group=missing_group,
    )
