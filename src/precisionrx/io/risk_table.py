"""Batch risk input: CSV or JSON (list of objects, or {"rows": [...]}) with the documented columns.

Columns (extra columns are ignored): id, age, sex (female|male), sbp, bp_treated, total_chol,
hdl_chol, chol_unit (mg/dL|mmol/L), diabetes, smoker, egfr, bmi, statin, hba1c, uacr, sdi_decile,
race (white|black|other; PCE only), region (low|moderate|high|very_high) or country (ISO code),
plus the QRISK3 and diabetes-score columns (docs/cli/risk.md). Booleans are 1/0 or true/false.
Impossible values (negative or non-physiological) are errors naming the row and column; values
outside a model's validated range are caveats in that model's output. The physiological limits
of age, SBP, cholesterol (checked in mg/dL after the unit conversion), eGFR, BMI and HbA1c come
from the knowledge base's plausibility table (kb/data/limits/plausibility.tsv), the same table the
patient file is checked against; the other columns are codes with their own ranges here. An id
given twice is an error naming both lines. Blank flags are read as 0 (no) and said on each
result that uses them (``default_input`` caveats, engines/cardio/runner.py).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from precisionrx.errors import InputError
from precisionrx.io.textio import check_fields, read_text
from precisionrx.kb.limits import Limit, load_limits
from precisionrx.records.risk_inputs import MGDL_PER_MMOL, FloatArray, RiskInputs

TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f", ""}
#: Columns checked against the plausibility table: column -> (measurement, unit).
#: Cholesterol is checked in mg/dL after the unit conversion (read_risk_table).
PLAUSIBLE = {
    "age": ("age", "year"), "sbp": ("systolic_bp", "mm[Hg]"), "egfr": ("egfr", "mL/min/1.73m2"),
    "bmi": ("bmi", "kg/m2"), "hba1c": ("hba1c", "%"),
}  # fmt: skip
#: Ranges of the code and score columns (and UACR, SBP SD, waist): outside them the row is an
#: input error. total_chol / hdl_chol must only be positive here (the limits apply in mg/dL).
IMPOSSIBLE = {
    "total_chol": (0, float("inf")), "hdl_chol": (0, float("inf")),
    "uacr": (0, 100000), "sdi_decile": (1, 10),
    "qrisk3_ethnicity": (1, 9), "townsend": (-15, 25), "sbp_sd": (0, 100), "diabetes_type": (1, 2),
    "smoking_category": (0, 4), "waist_cm": (20, 300), "family_history_diabetes": (0, 2),
    "age_diabetes_diagnosis": (0, 130),
}  # fmt: skip


def _limit(col: str) -> tuple[float, float]:
    """(min, max) of a column: the plausibility table's row, or IMPOSSIBLE."""
    if col in PLAUSIBLE:
        row = load_limits().get(*PLAUSIBLE[col])
        lo = row.min if row.min is not None else float("-inf")
        hi = row.max if row.max is not None else float("inf")
        return lo, hi
    return IMPOSSIBLE[col]


def _check_limit(
    values: FloatArray, limit: Limit, col: str, path: Path, offset: int, unit: str = ""
) -> None:
    """InputError naming the first row whose (non-missing) value is outside ``limit``."""
    lo = limit.min if limit.min is not None else float("-inf")
    hi = limit.max if limit.max is not None else float("inf")
    out = ~np.isnan(values) & ((values < lo) | (values > hi))
    if out.any():
        j = int(np.flatnonzero(out)[0])
        raise InputError(
            f"column {col}: {values[j]:g}{unit} is not a possible value "
            f"(expected {limit.range_text}; kb limits/plausibility.tsv)",
            path=path,
            record=f"row {j + offset}",
        )


NUMERIC = ("age", "sbp", "total_chol", "hdl_chol", "egfr", "bmi", "hba1c", "uacr", "sdi_decile")
FLAGS = ("bp_treated", "diabetes", "smoker", "statin")
#: Optional QRISK3 columns: numeric codes/values, and 0/1 flags.
EXTRA_NUMERIC = (
    "qrisk3_ethnicity", "townsend", "sbp_sd", "diabetes_type", "smoking_category", "waist_cm",
    "family_history_diabetes", "age_diabetes_diagnosis",
)  # fmt: skip
EXTRA_FLAGS = (
    "af", "ra", "ckd", "migraine", "sle", "smi", "atypical_antipsychotic", "corticosteroids",
    "erectile_dysfunction", "family_history_chd",
)  # fmt: skip
INTEGER_CODES = {
    "sdi_decile", "qrisk3_ethnicity", "diabetes_type", "smoking_category",
    "family_history_diabetes",
}  # fmt: skip
#: Diabetes-score items where "not given" must stay distinct from "no": 1/0, blank = NaN.
EXTRA_ANSWERS = (
    "hypertension", "gestational_diabetes", "physically_active", "daily_fruit_veg",
    "high_glucose_history",
)  # fmt: skip


def _frame(path: Path, text: str | None = None) -> pl.DataFrame:
    if text is None:
        text = read_text(path, "risk input")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            if isinstance(data, dict):
                data = data.get("rows", data.get("patients"))
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise InputError('expected a list of objects (or {"rows": [...]})', path=path)
            rows = [
                {str(k).lower(): (None if v is None else str(v)) for k, v in r.items()}
                for r in data
            ]
            return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
        if text.endswith("\n\n"):  # trailing blank lines (spreadsheet exports) are not rows
            text = text.rstrip("\n") + "\n"
        check_fields(text, path)
        frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=False)
    except InputError:
        raise
    except (ValueError, UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        if path.suffix.lower() != ".json":
            check_fields(text, path, exact=True)  # a row longer than the header, named
        raise InputError(
            f"cannot read risk table ({exc.__class__.__name__}: {str(exc)[:120]})", path=path
        ) from exc
    return frame.rename({c: c.strip().lower() for c in frame.columns})


def _column(frame: pl.DataFrame, name: str) -> pl.Series:
    if name in frame.columns:
        return frame[name].cast(pl.Utf8).str.strip_chars()
    return pl.Series(name, [None] * frame.height, dtype=pl.Utf8)


def _first_row(mask: npt.NDArray[np.bool_], offset: int) -> str:
    return f"row {int(np.flatnonzero(mask)[0]) + offset}"


def _numbers(frame: pl.DataFrame, path: Path, offset: int) -> dict[str, FloatArray]:
    """All numeric columns parsed in one parallel polars pass, then range-checked."""
    present = [c for c in NUMERIC + EXTRA_NUMERIC if c in frame.columns]
    # Plain numbers parse in one cast; only columns with anything else (blanks, NA, spaces,
    # text) take the slower text path.
    quick = frame.select(
        [pl.col(c).cast(pl.Utf8).cast(pl.Float64, strict=False).alias(c) for c in present]
        + [(pl.col(c).is_not_null() & pl.col(c).cast(pl.Utf8).cast(pl.Float64, strict=False)
            .is_null()).any().alias(f"{c}__other") for c in present]
    )  # fmt: skip
    values: dict[str, FloatArray] = {}
    for col in NUMERIC + EXTRA_NUMERIC:
        if col not in present:
            values[col] = np.full(frame.height, np.nan)
            continue
        if quick[f"{col}__other"][0] or quick[col].null_count():
            text = frame[col].cast(pl.Utf8).str.strip_chars()
            blank = text.is_null() | text.str.to_lowercase().is_in(["", "na", "nan", "null"])
            num = text.cast(pl.Float64, strict=False)
            bad = (~blank & num.is_null()).to_numpy()
            if bad.any():
                raise InputError(
                    f"column {col}: value is not a number",
                    path=path,
                    record=_first_row(bad, offset),
                )
            arr = num.fill_null(float("nan")).to_numpy().astype(np.float64)
        else:
            arr = quick[col].to_numpy().astype(np.float64)
        lo, hi = _limit(col)
        out = ~np.isnan(arr) & ((arr < lo) | (arr > hi))
        if out.any():
            j = int(np.flatnonzero(out)[0])
            source = "; kb limits/plausibility.tsv" if col in PLAUSIBLE else ""
            raise InputError(
                f"column {col}: {arr[j]:g} is not a possible value (expected {lo:g}-{hi:g}"
                f"{source})",
                path=path,
                record=f"row {j + offset}",
            )
        fractional = ~np.isnan(arr) & (arr != np.round(arr))
        if col in INTEGER_CODES and fractional.any():
            raise InputError(
                f"column {col}: must be a whole-number code",
                path=path,
                record=_first_row(fractional, offset),
            )
        values[col] = arr
    return values


def _choice(
    frame: pl.DataFrame, col: str, allowed: list[str], default: str, path: Path, offset: int
) -> pl.Series:
    """Lower-cased codes of a categorical column; empty -> ``default``; others are errors."""
    text = _column(frame, col).str.to_lowercase().replace("", None).fill_null(default)
    bad = (~text.is_in(allowed)).to_numpy()
    if bad.any():
        shown = " or ".join(a for a in allowed if len(a) > 1)
        raise InputError(
            f"column {col}: must be {shown}", path=path, record=_first_row(bad, offset)
        )
    return text


def _flag(frame: pl.DataFrame, col: str, keep_blank: bool, path: Path, offset: int) -> FloatArray:
    """1/0 (true/false, yes/no) as 1.0/0.0; empty is 0, or NaN when ``keep_blank``."""
    if col not in frame.columns:
        return np.full(frame.height, np.nan if keep_blank else 0.0)
    raw = frame[col].cast(pl.Utf8)
    if raw.null_count() == 0 and raw.is_in(["0", "1"]).all():  # the common case
        return (raw == "1").to_numpy().astype(np.float64)
    text = _column(frame, col).str.to_lowercase().fill_null("")
    ok = text.is_in(list(TRUE | FALSE)).to_numpy()
    if not ok.all():
        raise InputError(
            f"column {col}: must be 1/0 or true/false", path=path, record=_first_row(~ok, offset)
        )
    flag = text.is_in(list(TRUE)).to_numpy().astype(np.float64)
    if keep_blank:
        flag[(text == "").to_numpy()] = np.nan
    return flag


def _no_duplicate_ids(ids: pl.Series, path: Path, offset: int) -> None:
    """InputError naming the first id given twice and both of its rows."""
    if ids.n_unique() == ids.len():
        return
    frame = pl.DataFrame({"id": ids.alias("id")}).with_row_index("row")
    dup = frame.filter(pl.col("id").is_duplicated())
    if dup.height:
        first = dup.filter(pl.col("id") == dup["id"][0])
        a, b = int(first["row"][0]) + offset, int(first["row"][1]) + offset
        what = "line" if offset == 2 else "row"
        raise InputError(
            f"id {dup['id'][0]!r} is given twice ({what}s {a} and {b}); each id must be unique",
            path=path,
            record=f"{what} {b}",
            hint="a blank id is numbered by its row, which may collide with a given id",
        )


def read_risk_table(path: str | Path, *, text: str | None = None, first_row: int = 0) -> RiskInputs:
    """Read and validate the whole table with column operations (fast for millions of rows).

    ``text``: the table's text when already read (a cohort shard: the header and a block of
    rows of ``path``), whose first data row is row ``first_row`` (0-based) of the file, so
    messages name the file's own line numbers."""
    path = Path(path)
    frame = _frame(path, text)
    offset = (1 if path.suffix.lower() == ".json" else 2) + first_row  # CSV: header is line 1
    for required in ("age", "sex"):
        if required not in frame.columns:
            raise InputError(f"missing required column {required!r}", path=path, record="header")
    if frame.height == 0:
        raise InputError("no rows to score (the table has a header only)", path=path)
    values = _numbers(frame, path, offset)
    sex = _choice(frame, "sex", ["female", "male", "f", "m"], "", path, offset)
    flags = {}
    for col in FLAGS + EXTRA_FLAGS + EXTRA_ANSWERS:
        # Flags default to 0 when empty; diabetes-score answers stay "not given" (NaN).
        flags[col] = _flag(frame, col, col in EXTRA_ANSWERS, path, offset)
    defaulted: dict[str, tuple[npt.NDArray[np.bool_], str]] = {}
    for col in FLAGS + EXTRA_FLAGS:
        blank = (
            (_column(frame, col).fill_null("") == "").to_numpy()
            if col in frame.columns
            else np.ones(frame.height, dtype=bool)
        )
        if blank.any():
            defaulted[col] = (blank, "0 (no) used")
    race_blank = (_column(frame, "race").fill_null("") == "").to_numpy()
    if race_blank.any():
        defaulted["race"] = (race_blank, "'other' used")
    unit = _choice(frame, "chol_unit", ["mg/dl", "mmol/l"], "mg/dl", path, offset)
    factor = np.where((unit == "mmol/l").to_numpy(), MGDL_PER_MMOL, 1.0)
    total = values["total_chol"] * factor
    hdl = values["hdl_chol"] * factor
    limits = load_limits()
    _check_limit(total, limits.get("total_cholesterol", "mg/dL"), "total_chol", path, offset,
                 " mg/dL")  # fmt: skip
    _check_limit(hdl, limits.get("hdl_cholesterol", "mg/dL"), "hdl_chol", path, offset, " mg/dL")
    bad_hdl = hdl >= total
    if bad_hdl.any():
        raise InputError(
            "hdl_chol must be lower than total_chol", path=path, record=_first_row(bad_hdl, offset)
        )
    n = frame.height
    id_series = (
        _column(frame, "id").replace("", None)
        .fill_null(pl.Series(np.arange(first_row + 1, first_row + n + 1)).cast(pl.Utf8))
    )  # fmt: skip
    _no_duplicate_ids(id_series, path, offset)
    ids = id_series.to_list()
    race = _column(frame, "race").str.to_lowercase().replace("", None).fill_null("other").to_list()
    region = (
        _column(frame, "region").replace("", None)
        .fill_null(_column(frame, "country").replace("", None)).fill_null("").to_list()
    )  # fmt: skip
    return RiskInputs(
        ids=ids, age=values["age"], female=sex.is_in(["female", "f"]).to_numpy(), sbp=values["sbp"],
        bp_treated=flags["bp_treated"], total_mgdl=total, hdl_mgdl=hdl,
        diabetes=flags["diabetes"], smoker=flags["smoker"], egfr=values["egfr"], bmi=values["bmi"],
        statin=flags["statin"], hba1c=values["hba1c"], uacr=values["uacr"],
        sdi_decile=values["sdi_decile"], race=race, region=region,
        extra={**{c: values[c] for c in EXTRA_NUMERIC},
               **{c: flags[c] for c in EXTRA_FLAGS + EXTRA_ANSWERS}},
        defaulted=defaulted,
    )  # fmt: skip
