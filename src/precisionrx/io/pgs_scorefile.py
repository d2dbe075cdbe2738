"""PGS Catalog scoring files (format v2.0, plain or gzipped), harmonised or author-reported.

Header lines ``#key=value`` give metadata (pgs_id, genome_build, HmPOS_build, ...). Harmonised
files carry ``hm_chr``/``hm_pos`` (used when present) next to the author's ``chr_name``/
``chr_position``. Rows flagged ``is_haplotype``/``is_diplotype``/``is_interaction`` are kept but
marked unsupported.

Input safety: the file must be a regular file (:func:`~precisionrx.io.textio.check_input_file`);
text is decoded by :func:`~precisionrx.io.textio.decode_text` (UTF-8 with or without a BOM,
UTF-16, CRLF; an undecodable byte names its line); a row with more or fewer fields than the
header, and a weight, position or frequency that is NaN or infinite, is an error naming its line.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from precisionrx.errors import InputError
from precisionrx.io.textio import MAX_TEXT_BYTES, check_input_file, decode_text

TRUE = {"true", "1", "t", "yes"}


@dataclass(frozen=True, slots=True)
class ScoreVariant:
    chrom: str
    pos: int | None
    rsid: str | None
    effect_allele: str
    other_allele: str | None
    weight: float
    effect_type: str  # additive | dominant | recessive | genotypic
    genotypic: tuple[float, float, float] | None
    allele_frequency: float | None
    unsupported: str | None  # reason, for haplotype/diplotype/interaction rows
    line: int


@dataclass
class ScoreFile:
    """A scoring file as one table (columns below), plus its header metadata.

    Table columns: ``idx`` (row order), ``line``, ``chrom`` (no ``chr``), ``pos`` (null when the
    build has no position), ``rsid``, ``effect_allele``, ``other_allele`` (null if absent),
    ``weight``, ``effect_type`` (additive | dominant | recessive | genotypic), ``d0``/``d1``/``d2``
    (genotypic weights), ``freq`` (effect-allele frequency), ``unsupported`` (reason or null).
    """

    path: Path
    pgs_id: str
    genome_build: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    table: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def variants(self) -> list[ScoreVariant]:
        """Row objects (convenient for small files and tests; scoring uses the table)."""
        out = []
        for r in self.table.iter_rows(named=True):
            geno = (r["d0"], r["d1"], r["d2"]) if r["effect_type"] == "genotypic" else None
            out.append(
                ScoreVariant(r["chrom"], r["pos"], r["rsid"], r["effect_allele"],
                             r["other_allele"], r["weight"], r["effect_type"], geno, r["freq"],
                             r["unsupported"], r["line"])
            )  # fmt: skip
        return out


def _text(frame: pl.DataFrame, col: str) -> pl.Expr:
    if col in frame.columns:
        return pl.col(col).str.strip_chars()
    return pl.lit(None, dtype=pl.Utf8)


def _number(frame: pl.DataFrame, col: str, path: Path, lines: pl.Series, kind: type) -> pl.Series:
    """Column as numbers; NA/NR/empty are null; anything else non-numeric is an error."""
    if col not in frame.columns:
        return pl.repeat(None, frame.height, dtype=pl.Float64, eager=True).alias(col)
    text = frame[col].str.strip_chars()
    blank = text.is_null() | text.is_in(["", "NA", "NR"])
    num = text.cast(pl.Float64, strict=False)
    bad = ~blank & num.is_null()
    if bad.any():
        line = int(lines.filter(bad)[0])
        value = text.filter(bad)[0]
        raise InputError(f"non-numeric {col} {value!r}", path=path, record=f"line {line}")
    infinite = (~blank & ~num.is_finite()).fill_null(False)
    if infinite.any():
        line = int(lines.filter(infinite)[0])
        value = text.filter(infinite)[0]
        raise InputError(
            f"{col} {value!r} is not a finite number", path=path, record=f"line {line}",
            hint="NaN and infinite values cannot be scored: fix or drop the row",
        )  # fmt: skip
    num = pl.select(pl.when(blank).then(None).otherwise(num)).to_series()
    return num.cast(pl.Int64) if kind is int else num


def _table(text: str, first_line: int, path: Path) -> pl.DataFrame:
    """The tab-separated table starting at line ``first_line`` (its header), every cell text;
    a row whose field count differs from the header's is an error naming its line.

    No Python list of rows: polars reads the bytes and refuses a row longer than the header,
    and the file's tab and newline totals then prove every row exact; otherwise the fields are
    counted per line with array arithmetic (:func:`_bad_row`) to name the first wrong row."""
    data = text.encode("utf-8")
    end = len(data)
    while end:  # blank lines at the end of the file
        nl = data.rfind(b"\n", 0, end)
        if data[nl + 1 : end].strip():
            break
        end = max(nl, 0)
    nl = data.find(b"\n", 0, end)
    head = data[: end if nl < 0 else nl].decode("utf-8")
    if not head.strip():
        raise InputError(
            "scoring file has no column header after its # lines",
            path=path, record=f"line {first_line}",
        )  # fmt: skip
    names = [c.strip() for c in head.split("\t")]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"duplicate column(s) {', '.join(dupes)}", path=path, record=f"line {first_line}"
        )
    width = len(names)
    body = b"" if nl < 0 else data[nl + 1 : end]
    del data
    if not body:
        return pl.DataFrame({n: pl.Series(n, [], dtype=pl.Utf8) for n in names})
    if width == 1:  # no separator to count: every line is one field
        return pl.DataFrame({names[0]: body.decode("utf-8").split("\n")})
    lines = body.count(b"\n") + 1
    frame: pl.DataFrame | None = None
    if body.count(b"\t") == (width - 1) * lines:  # no row longer than the header: checked
        try:  # by polars (it refuses a long row); then the totals show every row is exact
            frame = pl.read_csv(
                body, separator="\t", has_header=False, new_columns=names, infer_schema=False,
                quote_char=None, empty_string_is_null=False, comment_prefix=None,
            )  # fmt: skip
        except pl.exceptions.PolarsError:
            frame = None
    if frame is not None and frame.height == lines:
        return frame
    _bad_row(body, width, names, first_line, path)
    raise InputError("scoring file table unreadable", path=path, record=f"line {first_line}")


def _bad_row(body: bytes, width: int, names: list[str], first_line: int, path: Path) -> None:
    """InputError naming the first row of ``body`` whose field count is not ``width``: fields
    counted per line with array arithmetic on the bytes (no Python list of rows)."""
    data = np.frombuffer(body, dtype=np.uint8)
    ends = np.append(np.flatnonzero(data == 10), len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    tabs = np.flatnonzero(data == 9)
    fields = np.searchsorted(tabs, ends) - np.searchsorted(tabs, starts) + 1
    bad = np.flatnonzero(fields != width)
    if len(bad):
        k = int(bad[0])
        n, row = int(fields[k]), body[starts[k] : ends[k]].decode("utf-8")
        where = f"line {first_line + 1 + k}"
        if not row.strip():
            raise InputError("blank line inside the table", path=path, record=where)
        missing = f"; missing {', '.join(names[n:])}" if n < width else ""
        raise InputError(f"{n} field(s), the header has {width}{missing}", path=path, record=where)


def read_scorefile(path: str | Path) -> ScoreFile:
    path = check_input_file(path, "scoring file", InputError)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError("scoring file not readable", path=path) from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"scoring file gzip data is truncated or corrupt ({exc})",
                             path=path) from exc  # fmt: skip
    if len(raw) > MAX_TEXT_BYTES:
        raise InputError(f"scoring file is over the {MAX_TEXT_BYTES:,}-byte limit", path=path)
    text = decode_text(raw, path, InputError)
    meta: dict[str, str] = {}
    body_start = 0  # 0-based index of the column-header line
    offset = 0
    while text.startswith("#", offset):
        nl = text.find("\n", offset)
        nl = len(text) if nl < 0 else nl
        key, sep, value = text[offset:nl].lstrip("#").partition("=")
        if sep:
            meta[key.strip()] = value.strip().strip("\t")
        offset = nl + 1
        body_start += 1
    frame = _table(text[offset:], body_start + 1, path)
    cols = set(frame.columns)
    if "effect_allele" not in cols:
        raise InputError(
            "scoring file has no effect_allele column", path=path, record=f"line {body_start + 1}"
        )
    dosage = {"dosage_0_weight", "dosage_1_weight", "dosage_2_weight"}
    if "effect_weight" not in cols and not dosage <= cols:
        raise InputError(
            "scoring file has no effect_weight (or dosage_*_weight) column",
            path=path, record=f"line {body_start + 1}",
        )  # fmt: skip
    use_hm = "hm_chr" in cols and "hm_pos" in cols
    build = meta.get("HmPOS_build") if use_hm else meta.get("genome_build")
    pgs_id = meta.get("pgs_id") or meta.get("pgs_name") or path.name.split(".")[0]
    first = body_start + 2  # 1-based line number of the first row
    lines = pl.int_range(first, first + frame.height, eager=True).alias("line")
    pos = _number(frame, "hm_pos" if use_hm else "chr_position", path, lines, int)
    weight = _number(frame, "effect_weight", path, lines, float).fill_null(0.0)
    d = [_number(frame, f"dosage_{k}_weight", path, lines, float) for k in range(3)]
    freq = _number(frame, "allelefrequency_effect", path, lines, float)

    def flag(col: str) -> pl.Expr:
        return _text(frame, col).str.to_lowercase().is_in(list(TRUE)).fill_null(False)

    unsupported = pl.lit(None, dtype=pl.Utf8)
    for c in ("is_interaction", "is_diplotype", "is_haplotype"):  # first listed wins
        unsupported = (
            pl.when(flag(c)).then(pl.lit(f"{c} rows are not supported")).otherwise(unsupported)
        )
    genotypic = d[0].is_not_null()
    table = frame.select(
        pl.int_range(frame.height, eager=True).alias("idx"),
        lines,
        _text(frame, "hm_chr" if use_hm else "chr_name").fill_null("").str.strip_prefix("chr")
        .alias("chrom"),
        pos.alias("pos"),
        pl.coalesce(_text(frame, "hm_rsID"), _text(frame, "rsID")).alias("rsid"),
        _text(frame, "effect_allele").fill_null("").alias("effect_allele"),
        pl.coalesce(_text(frame, "other_allele").replace("", None),
                    _text(frame, "hm_inferOtherAllele").replace("", None)).alias("other_allele"),
        weight.alias("weight"),
        pl.when(pl.lit(genotypic)).then(pl.lit("genotypic"))
        .when(flag("is_dominant")).then(pl.lit("dominant"))
        .when(flag("is_recessive")).then(pl.lit("recessive"))
        .otherwise(pl.lit("additive")).alias("effect_type"),
        d[0].fill_null(0.0).alias("d0"), d[1].fill_null(0.0).alias("d1"),
        d[2].fill_null(0.0).alias("d2"),
        freq.alias("freq"),
        unsupported.alias("unsupported"),
    )  # fmt: skip
    return ScoreFile(path, pgs_id, build if build not in (None, "NR") else None, meta, table)
