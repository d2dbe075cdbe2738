"""Tabular data for the treatment-effect commands: a CSV file with a header row, read with
pandas (numbers as numbers, empty cells as missing). Errors name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

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


def _numeric(table: pd.DataFrame, path: Path, columns: list[str]) -> NDArray[np.float64]:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"columns not in the data: {missing}", path=path)
    for c in columns:
        if not pd.api.types.is_numeric_dtype(table[c]):
            raise InputError(f"column {c!r} is not numeric: encode it (e.g. one-hot) first",
                             path=path)  # fmt: skip
        bad = table[c].isna()
        if bad.any():
            first = int(bad.to_numpy().nonzero()[0][0]) + 2  # header is line 1
            raise InputError(f"column {c!r} has {int(bad.sum())} missing values (first on line "
                             f"{first})", path=path)  # fmt: skip
    return np.asarray(table[columns].to_numpy(dtype=float), dtype=np.float64)


def feature_matrix(table: pd.DataFrame, path: Path, features: list[str]) -> NDArray[np.float64]:
    """The feature columns as a float matrix (all present, numeric and complete)."""
    return _numeric(table, path, features)


def effect_arrays(
    table: pd.DataFrame,
    path: Path,
    treatment: str,
    outcome: str,
    features: list[str] | None,
    id_column: str | None,
    controls: list[str] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[str]]:
    """The design (feature columns, then the ``controls`` columns), treatment and outcome of a
    training table, and the feature names; ``features`` None: every column except the
    treatment, the outcome, the id and the controls."""
    controls = list(controls or [])
    skip = (treatment, outcome, id_column, *controls)
    names = features or [c for c in table.columns if c not in skip]
    if treatment in names or outcome in names:
        raise InputError("the treatment and the outcome cannot be features", path=path)
    if treatment in controls or outcome in controls:
        raise InputError("the treatment and the outcome cannot be controls", path=path)
    both = sorted(set(names) & set(controls))
    if both:
        raise InputError(
            f"column(s) {', '.join(both)} given both as features and as controls", path=path,
            hint="a control is adjusted for but is not an effect modifier; name it once",
        )  # fmt: skip
    if not names:
        raise InputError("no feature columns left", path=path)
    z = _numeric(table, path, [*names, *controls])
    t = _numeric(table, path, [treatment])[:, 0]
    y = _numeric(table, path, [outcome])[:, 0]
    return z, t, y, names
