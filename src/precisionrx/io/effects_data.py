"""Tabular data for the treatment-effect commands: a CSV file with a header row, read with
pandas (numbers as numbers, empty cells as missing). Errors name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from precisionrx.errors import InputError


def read_table(path: str | Path) -> pd.DataFrame:
    """The CSV as a data frame; an unreadable, empty or header-only file is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        data = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read as CSV ({exc.__class__.__name__}: {exc})".strip(),
                         path=path) from exc  # fmt: skip
    if data.empty:
        raise InputError("no data rows", path=path)
    return data
