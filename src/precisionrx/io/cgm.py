"""Continuous glucose monitoring exports into one table: ``id, time_utc, local, gl`` (mg/dL).

Formats (detected from the content):
- generic ``id,time,gl`` (iglu's layout; ``id`` optional) or ``time,value,unit``;
- LibreView CSV export (historic readings; US or European date layout);
- Nightscout entries JSON (``sgv`` entries, epoch-millisecond ``date``);
- FHIR R4 Observations (Bundle, list or one) with the HL7 CGM IG sensor-reading codes 99504-3
  (mg/dL) and 105272-9 (mmol/L); Open mHealth blood-glucose data points;
- Apple Health ``export.xml`` blood-glucose records (streamed, io/apple_health.py);
- Dexcom Clarity CSV export: metadata rows skipped, ``EGV`` rows kept; the glucose column's
  unit is read from its header (``Glucose Value (mg/dL)`` or ``(mmol/L)``); the text values
  ``Low`` / ``High`` (outside the sensor's 40-400 mg/dL range) are set to 40 / 400 and counted.
Times: a timestamp with an offset is an instant; one without is local wall-clock time in the
given IANA zone (``--tz``; UTC when none is given, said in the caveats). Daylight-saving gaps
(non-existent local times) are errors naming the row; repeated (ambiguous) local times take
the earlier instant. mmol/L is converted with 18.01559 mg/dL per mmol/L (Nightscout, Tidepool).
Readings repeated for the same subject and instant (backfill) are kept once.

Validation (docs/errors.md, "Validation limits"): the file must be a regular file (textio); a
reading whose glucose is outside the plausibility table's ``glucose_cgm`` row (after the unit
conversion and the Low/High substitution) or whose date is before the table's earliest year or
after the time of the run plus its margin is dropped, with one ``implausible_reading`` caveat
naming the file and the first lines. Only isolated readings are dropped: more implausible
glucose values than ``DROP_SHARE`` of the readings (and ``DROP_ALLOWANCE``), or a median of at
most ``MMOL_MEDIAN`` mg/dL (mmol/L values in a mg/dL column), make the file an error. Errors
and drops name the same lines (``lines``: the file's line of each kept row). A subject whose
remaining readings span more than the table's ``cgm_span`` (days) is an error: the day grid's
memory grows with the span.

Reading: a file up to ``SMALL_FILE`` bytes, or with a byte-order mark, UTF-16 or lone CR line
ends, is decoded whole (textio.read_text, capped at 2 GiB); a larger plain UTF-8 CSV is checked
in blocks (textio.check_csv_file) and read by polars from its path, with no size cap.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from precisionrx.errors import InputError
from precisionrx.io.apple_health import dropped_caveat, file_sha256
from precisionrx.io.textio import (
    check_csv_file,
    check_fields,
    check_input_file,
    needs_decoding,
    read_text,
)
from precisionrx.kb.limits import DroppedReadings, load_limits
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.monitoring import CgmReadings

MGDL_PER_MMOL = 18.01559
SENSOR_LOW, SENSOR_HIGH = 40.0, 400.0
DEXCOM_TIME = "Timestamp (YYYY-MM-DDThh:mm:ss)"
#: ISO date-time layouts accepted (after "T" is replaced by a space).
FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


#: What :func:`read_cgm` returns (records.monitoring.CgmReadings): the frame ``id, time_utc
#: (UTC), local (naive wall clock), gl (mg/dL)``, the zone, the caveats, the file's sha256.
CgmData = CgmReadings


def _note(code: str, message: str) -> Caveat:
    return Caveat(code=code, message=message, kind=CaveatKind.NOTE)


def _read(path: Path, source: Path | io.StringIO) -> pl.DataFrame:
    """The CSV as strings: ``source`` is the decoded text, or the path of a large plain UTF-8
    file already checked by textio.check_csv_file (polars reads it without a Python copy)."""
    try:
        return pl.read_csv(source, infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read CGM file ({str(exc)[:120]})", path=path) from exc


def _glucose(
    text: pl.Series,
    unit: pl.Series | str,
    path: Path,
    caveats: list[Caveat],
    line0: int = 2,
    dropped: DroppedReadings | None = None,
    label: str = "line",
    lines: pl.Series | None = None,
) -> pl.Series:
    raw = text.str.strip_chars()
    lowered = raw.str.to_lowercase()
    censored_low = (lowered == "low").sum()
    censored_high = (lowered == "high").sum()
    value = raw.cast(pl.Float64, strict=False)
    bad = raw.is_not_null() & (raw != "") & value.is_null() & ~lowered.is_in(["low", "high"])
    if bad.any():
        i = int(bad.arg_true()[0])
        raise InputError(f"glucose value {raw[i]!r} is not a number", path=path,
                         record=_at(i, line0, label, lines))  # fmt: skip
    unit_s = unit if isinstance(unit, pl.Series) else pl.Series([unit] * len(raw))
    unit_l = unit_s.str.to_lowercase().str.replace_all(" ", "")
    bad_unit = ~unit_l.is_in(["mg/dl", "mmol/l"])
    if bad_unit.any():
        i = int(bad_unit.arg_true()[0])
        raise InputError(f"unit {unit_s[i]!r}: must be mg/dL or mmol/L", path=path,
                         record=_at(i, line0, label, lines))  # fmt: skip
    mgdl = pl.select(
        pl.when(lowered == "low").then(SENSOR_LOW)
        .when(lowered == "high").then(SENSOR_HIGH)
        .when(unit_l == "mmol/l").then(value * MGDL_PER_MMOL)
        .otherwise(value)
    ).to_series()  # fmt: skip
    if censored_low or censored_high:
        caveats.append(_note(
            "sensor_range_censored",
            f"{censored_low} 'Low' and {censored_high} 'High' readings (outside the sensor's "
            "40-400 mg/dL range) were set to 40 and 400 mg/dL",
        ))  # fmt: skip
    limit = load_limits().get("glucose_cgm", "mg/dL")
    lo, hi = limit.min or 0.0, limit.max or float("inf")
    _not_mmol(mgdl, unit, path)
    impossible = mgdl.is_not_null() & (mgdl.is_nan() | (mgdl < lo) | (mgdl > hi))
    n_bad = int(impossible.sum())
    if n_bad:
        first = impossible.arg_true().head(_SHOWN).to_list()
        shown = [(_at(i, line0, label, lines), limit.describe(float(mgdl[i]), "glucose"))
                 for i in first]  # fmt: skip
        _refuse_many(n_bad, int(mgdl.is_not_null().sum()), shown, path)
        log = dropped if dropped is not None else DroppedReadings(str(path))
        log.add_many(n_bad, shown)
        mgdl = pl.select(pl.when(impossible).then(None).otherwise(mgdl)).to_series()
    return mgdl


#: A file whose implausible glucose readings are more than this share of its readings (and
#: more than ``DROP_ALLOWANCE``) is refused instead of read without them: so many impossible
#: values mean a wrong unit or layout, and what is left would be a confident wrong answer.
DROP_SHARE, DROP_ALLOWANCE = 0.01, 5
#: A median below this (mg/dL) is not a living person's CGM trace: mmol/L read as mg/dL.
MMOL_MEDIAN = 35.0
_SHOWN = 5


def _mmol_hint(unit: pl.Series | str) -> str:
    if isinstance(unit, str):
        return (
            "values look like mmol/L: use a time,value,unit layout (unit mmol/L), or convert "
            "them to mg/dL"
        )
    return "values look like mmol/L: check the unit column"


def _not_mmol(mgdl: pl.Series, unit: pl.Series | str, path: Path) -> None:
    """InputError when the readings' median is below ``MMOL_MEDIAN`` mg/dL."""
    finite = mgdl.drop_nulls().drop_nans()
    median = finite.median() if len(finite) else None
    if isinstance(median, (int, float)) and median <= MMOL_MEDIAN:
        raise InputError(
            f"the median glucose is {median:.3g} mg/dL: no CGM trace has a median of "
            f"{MMOL_MEDIAN:g} mg/dL or less",
            path=path,
            hint=_mmol_hint(unit),
        )


def _refuse_many(n_bad: int, n: int, shown: list[tuple[str, str]], path: Path) -> None:
    """InputError when ``n_bad`` implausible readings of ``n`` are too many to drop."""
    if n_bad <= max(DROP_ALLOWANCE, DROP_SHARE * n):
        return
    where, problem = shown[0]
    raise InputError(
        f"{n_bad:,} of {n:,} glucose readings ({100 * n_bad / max(n, 1):.1f} %) are outside "
        f"the plausible range (first: {where}: {problem}); too many to drop",
        path=path,
        record=where,
        hint="check the unit and the column layout: mmol/L values need a time,value,unit "
        "layout (unit mmol/L)",
    )


def _times(
    text: pl.Series,
    tz: str,
    path: Path,
    line0: int = 2,
    ids: pl.Series | None = None,
    dropped: DroppedReadings | None = None,
    label: str = "line",
    lines: pl.Series | None = None,
) -> pl.Series:
    """UTC instants from ISO text; naive times are wall-clock in ``tz``.

    A wall-clock time that occurs twice (the hour repeated when clocks go back) is the earlier
    instant the first time it appears for a subject and the later instant the second time, as
    a device exporting local time writes the two hours one after the other."""
    t = text.str.strip_chars().str.replace("T", " ")
    has_offset = t.str.contains(r"([+-]\d{2}:?\d{2}|Z)$")
    naive = _parse(t)
    aware = pl.Series([None] * len(t), dtype=pl.Datetime("us", "UTC"))
    if has_offset.any():
        with_z = t.str.replace(r"Z$", "+00:00").str.replace(r"([+-]\d{2})(\d{2})$", "$1:$2")
        aware = _parse(with_z, "%:z")
    local = _localise(naive, tz, ids)
    utc = pl.select(
        pl.when(has_offset).then(aware).otherwise(local.dt.convert_time_zone("UTC"))
    ).to_series()
    bad = utc.is_null() & t.is_not_null() & (t != "")
    if bad.any():
        i = int(bad.arg_true()[0])
        problem = (
            f"does not exist in {tz} (daylight-saving gap)"
            if naive[i] is not None
            else "is not an ISO date-time"
        )
        raise InputError(f"time {text[i]!r} {problem}", path=path,
                         record=_at(i, line0, label, lines))  # fmt: skip
    return _plausible_times(utc, path, line0, dropped, label, lines)


#: FORMATS in the order tried (the commonest first: each later one parses only what is left).
_PARSE_ORDER = (FORMATS[1], FORMATS[0], FORMATS[2])


def _parse(t: pl.Series, suffix: str = "") -> pl.Series:
    """Date-times of ``t`` in the first of FORMATS (+ ``suffix``) that parses each; UTC when
    ``suffix`` is an offset. Only the rows left unparsed are tried with the next format."""

    def parse(s: pl.Series, fmt: str) -> pl.Series:
        out = s.str.to_datetime(fmt + suffix, strict=False, time_unit="us")
        return out.dt.convert_time_zone("UTC") if suffix else out

    out = parse(t, _PARSE_ORDER[0])
    for fmt in _PARSE_ORDER[1:]:
        todo = out.is_null() & t.is_not_null()
        if not todo.any():
            break
        idx = todo.arg_true()
        out = out.scatter(idx, parse(t.gather(idx), fmt))
    return out


def _localise(naive: pl.Series, tz: str, ids: pl.Series | None) -> pl.Series:
    """``naive`` wall-clock times in ``tz`` (non-existent times null). A repeated (ambiguous)
    time is the earlier instant the first time it appears for a subject and the later one
    after; only the ambiguous rows are ranked (a window over every row is slow)."""
    earliest = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    if tz == "UTC":
        return earliest
    latest = naive.dt.replace_time_zone(tz, ambiguous="latest", non_existent="null")
    ambiguous = (earliest != latest).fill_null(False)
    if not ambiguous.any():
        return earliest
    idx = ambiguous.arg_true()
    subject = ids if ids is not None and len(ids) == len(naive) else pl.Series([0] * len(naive))
    repeat = (
        pl.DataFrame({"id": subject.gather(idx), "naive": naive.gather(idx)})
        .select(pl.int_range(pl.len()).over("id", "naive") > 0)
        .to_series()
    )
    return earliest.scatter(idx.filter(repeat), latest.gather(idx.filter(repeat)))


def _at(i: int, line0: int, label: str, lines: pl.Series | None) -> str:
    """Where reading ``i`` is in the file: its line (``lines`` when rows were filtered)."""
    return f"{label} {lines[i]}" if lines is not None else f"{label} {i + line0}"


def _plausible_times(
    utc: pl.Series,
    path: Path,
    line0: int,
    dropped: DroppedReadings | None,
    label: str,
    lines: pl.Series | None = None,
) -> pl.Series:
    """``utc`` with readings dated before the limits' earliest year or after the run time plus
    its margin set to null (dropped), each named in ``dropped``."""
    limits = load_limits()
    earliest = datetime(limits.earliest_year(), 1, 1, tzinfo=UTC)
    latest = limits.latest_time()
    bad = utc.is_not_null() & ((utc < earliest) | (utc > latest))
    if not bad.any():
        return utc
    log = dropped if dropped is not None else DroppedReadings(str(path))
    shown = []
    for i in bad.arg_true().head(log.wanted).to_list():
        when = utc[i]
        problem = limits.date_problem(when) if isinstance(when, datetime) else None
        shown.append((_at(i, line0, label, lines), problem or "implausible date"))
    log.add_many(int(bad.sum()), shown)
    return pl.select(pl.when(bad).then(None).otherwise(utc)).to_series()


def _no_readings(path: Path, dropped: str | None = None) -> InputError:
    return InputError(
        "no glucose readings in the file (nothing to compute)",
        path=path,
        hint=dropped or "check that it is a CGM export with at least one glucose value",
    )


def _csv(
    path: Path, frame: pl.DataFrame, zone: str, caveats: list[Caveat], dropped: DroppedReadings
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Dexcom Clarity, ``id,time,gl`` or ``time,value,unit`` CSV (``frame``: all strings)."""
    units: pl.Series | str
    cols = {c.strip().lstrip("\ufeff"): c for c in frame.columns}
    if DEXCOM_TIME in cols and "Event Type" in cols:
        frame = frame.with_row_index("__line", offset=2)
        egv = frame.filter(pl.col(cols["Event Type"]) == "EGV")
        gcol = next((c for c in cols if c.startswith("Glucose Value")), None)
        if gcol is None:
            raise InputError(
                "Dexcom export without a Glucose Value column", path=path, record="header"
            )
        unit = "mmol/L" if "mmol" in gcol else "mg/dL"
        ids = pl.Series([path.stem] * egv.height)
        times, values, units = egv[cols[DEXCOM_TIME]], egv[cols[gcol]], unit
    elif {"time", "gl"} <= set(cols):
        ids = frame[cols["id"]] if "id" in cols else pl.Series([path.stem] * frame.height)
        times, values, units = frame[cols["time"]], frame[cols["gl"]], "mg/dL"
    elif {"time", "value", "unit"} <= set(cols):
        ids = frame[cols["id"]] if "id" in cols else pl.Series([path.stem] * frame.height)
        times, values = frame[cols["time"]], frame[cols["value"]]
        units = frame[cols["unit"]].fill_null("")
    else:
        raise InputError(
            "unrecognised CGM file: expected a Dexcom Clarity or LibreView export, Nightscout "
            "entries JSON, or id,time,gl / time,value,unit columns", path=path, record="header",
        )  # fmt: skip
    if times.len() == 0:
        raise _no_readings(path)
    lines = egv["__line"] if "__line" in frame.columns else None  # Dexcom: EGV rows only
    return (
        ids,
        _times(times, zone, path, ids=ids, dropped=dropped, lines=lines),
        _glucose(values, units, path, caveats, dropped=dropped, lines=lines),
    )


def _libreview(
    path: Path, text: str, zone: str, caveats: list[Caveat], dropped: DroppedReadings
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """LibreView export: metadata line, header line, historic (record type 0) readings kept.

    Dates: US ``MM-DD-YYYY hh:mm AM/PM`` when AM/PM is present, else ``DD-MM-YYYY HH:MM``.
    """
    try:
        frame = pl.read_csv(
            io.StringIO(text), skip_rows=1, infer_schema=False, truncate_ragged_lines=True
        ).with_row_index("__line", offset=3)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read LibreView export ({str(exc)[:120]})", path=path) from exc
    cols = {c.strip(): c for c in frame.columns}
    gcol = next((c for c in cols if c.startswith("Historic Glucose")), None)
    if gcol is None or "Device Timestamp" not in cols or "Record Type" not in cols:
        raise InputError(
            "LibreView export without Device Timestamp, Record Type and Historic Glucose "
            "columns", path=path, record="line 2",
        )  # fmt: skip
    hist = frame.filter(pl.col(cols["Record Type"]).str.strip_chars() == "0")
    if hist.height == 0:
        raise _no_readings(path)
    scans = frame.height - hist.height
    if scans:
        caveats.append(_note("records_not_used", f"{scans} LibreView records other than "
                             "historic readings (scans, strips, notes) were not used"))  # fmt: skip
    stamp = hist[cols["Device Timestamp"]].str.strip_chars()
    us = stamp.str.contains(r"(?i)[AP]M$")
    parsed = pl.select(
        pl.when(us)
        .then(stamp.str.to_datetime("%m-%d-%Y %I:%M %p", strict=False, time_unit="us"))
        .otherwise(stamp.str.to_datetime("%d-%m-%Y %H:%M", strict=False, time_unit="us"))
    ).to_series()
    iso = parsed.dt.to_string("%Y-%m-%d %H:%M:%S")
    bad = parsed.is_null() & stamp.is_not_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise InputError(f"Device Timestamp {stamp[i]!r} is not a LibreView date", path=path,
                         record=f"line {hist['__line'][i]}")  # fmt: skip
    unit = "mmol/L" if "mmol" in gcol else "mg/dL"
    ids = pl.Series([path.stem] * hist.height)
    lines = hist["__line"]
    gl = _glucose(hist[cols[gcol]], unit, path, caveats, dropped=dropped, lines=lines)
    utc = _times(iso.fill_null(""), zone, path, ids=ids, dropped=dropped, lines=lines)
    return ids, utc, gl


FHIR_GLUCOSE = {"99504-3": "mg/dL", "105272-9": "mmol/L"}  # HL7 CGM IG 1.0.0 sensor readings


def _json_readings(
    path: Path, text: str, zone: str, caveats: list[Caveat], dropped: DroppedReadings
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Nightscout entries, FHIR Observations (Bundle, list or one) or Open mHealth points."""
    import json

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", path=path) from exc
    items = data if isinstance(data, list) else [data]
    first = items[0] if items and isinstance(items[0], dict) else {}
    if first.get("resourceType") in ("Bundle", "Observation"):
        return _fhir(items, path, zone, dropped)
    if "blood_glucose" in first or "blood_glucose" in (first.get("body") or {}):
        return _omh(items, path, zone, dropped)
    entries = data if isinstance(data, list) else data.get("entries", [])
    if not isinstance(entries, list):
        raise InputError("expected Nightscout entries, FHIR Observations or Open mHealth points",
                         path=path)  # fmt: skip
    return _nightscout(entries, path, caveats, dropped)


def _fhir(
    items: list[object], path: Path, zone: str, dropped: DroppedReadings
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Observations coded 99504-3 (mg/dL) or 105272-9 (mmol/L) with effectiveDateTime."""
    obs: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and item.get("resourceType") == "Bundle":
            for entry in item.get("entry") or []:
                res = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(res, dict) and res.get("resourceType") == "Observation":
                    obs.append(res)
        elif isinstance(item, dict) and item.get("resourceType") == "Observation":
            obs.append(item)
    ids, times, values, units, where = [], [], [], [], []
    for k, o in enumerate(obs):
        coding: Any = (o.get("code") or {}).get("coding") or []
        codes = {c.get("code") for c in coding if isinstance(c, dict)}
        code = next((c for c in codes if c in FHIR_GLUCOSE), None)
        if code is None:
            continue
        q = o.get("valueQuantity") or {}
        if not isinstance(q, dict) or not isinstance(q.get("value"), (int, float)):
            raise InputError("glucose Observation without a numeric valueQuantity", path=path,
                             record=f"Observation {k + 1}")  # fmt: skip
        subject = (o.get("subject") or {}).get("reference") or path.stem
        ids.append(str(subject))
        times.append(str(o.get("effectiveDateTime") or ""))
        values.append(str(q["value"]))
        units.append(FHIR_GLUCOSE[code])
        where.append(k + 1)
    caveats: list[Caveat] = []
    lines = pl.Series(where, dtype=pl.Int64)
    return (pl.Series(ids, dtype=pl.Utf8),
            _times(pl.Series(times, dtype=pl.Utf8), zone, path, dropped=dropped,
                   label="Observation", lines=lines),
            _glucose(pl.Series(values, dtype=pl.Utf8), pl.Series(units, dtype=pl.Utf8), path,
                     caveats, dropped=dropped, label="Observation", lines=lines))  # fmt: skip


def _omh(
    items: list[object], path: Path, zone: str, dropped: DroppedReadings
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Open mHealth blood-glucose data points (bare bodies or header + body)."""
    times, values, units = [], [], []
    for k, item in enumerate(items):
        body = item.get("body", item) if isinstance(item, dict) else {}
        bg = body.get("blood_glucose") if isinstance(body, dict) else None
        frame = (body.get("effective_time_frame") or {}) if isinstance(body, dict) else {}
        when = frame.get("date_time") or (frame.get("time_interval") or {}).get("start_date_time")
        if not isinstance(bg, dict) or when is None:
            raise InputError("Open mHealth point without blood_glucose and effective_time_frame",
                             path=path, record=f"data point {k + 1}")  # fmt: skip
        times.append(str(when))
        values.append(str(bg.get("value")))
        units.append(str(bg.get("unit")))
    caveats: list[Caveat] = []
    ids = pl.Series([path.stem] * len(times), dtype=pl.Utf8)
    return (ids,
            _times(pl.Series(times, dtype=pl.Utf8), zone, path, dropped=dropped,
                   label="data point", line0=1),
            _glucose(pl.Series(values, dtype=pl.Utf8), pl.Series(units, dtype=pl.Utf8), path,
                     caveats, dropped=dropped, label="data point", line0=1))  # fmt: skip


def _nightscout(
    entries: list[object], path: Path, caveats: list[Caveat], dropped: DroppedReadings
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Nightscout ``/api/v1/entries.json``: ``type`` sgv entries, ``date`` in epoch ms (UTC).

    ``sgv`` 39 means LOW (below the sensor range: set to 40); values below 39 are Dexcom error
    codes and are dropped (Nightscout lib/plugins/errorcodes.js).
    """
    rows = [e for e in entries if isinstance(e, dict) and e.get("type", "sgv") == "sgv"]
    values, times, errors, lows = [], [], 0, 0
    bad_values: list[tuple[str, str]] = []
    n_bad = 0
    limits = load_limits()
    glucose = limits.get("glucose_cgm", "mg/dL")
    earliest = datetime(limits.earliest_year(), 1, 1, tzinfo=UTC).timestamp() * 1000
    latest = limits.latest_time().timestamp() * 1000
    for k, e in enumerate(rows):
        sgv, date = e.get("sgv"), e.get("date")
        if not isinstance(sgv, (int, float)) or not isinstance(date, (int, float)):
            raise InputError("entry without a numeric sgv and date", path=path,
                             record=f"entry {k + 1}")  # fmt: skip
        if sgv < 39:
            errors += 1
            continue
        if not earliest <= date <= latest:
            dropped.add(
                f"entry {k + 1}",
                f"date {date!r} ms is not between {limits.earliest_year()}"
                " and the time of this run plus its margin (kb limits/plausibility.tsv)",
            )
            continue
        if sgv != 39 and not glucose.contains(float(sgv)):
            if len(bad_values) < _SHOWN:
                bad_values.append((f"entry {k + 1}", glucose.describe(float(sgv), "glucose")))
            n_bad += 1
            continue
        lows += sgv == 39
        values.append(SENSOR_LOW if sgv == 39 else float(sgv))
        times.append(int(date))
    if n_bad:
        _refuse_many(n_bad, n_bad + len(values), bad_values, path)
        dropped.add_many(n_bad, bad_values)
    if errors:
        caveats.append(
            _note(
                "sensor_error_codes",
                f"{errors} Nightscout entries with sensor error codes (< 39) dropped",
            )
        )
    if lows:
        caveats.append(
            _note("sensor_range_censored", f"{lows} LOW entries (39) set to {SENSOR_LOW:g} mg/dL")
        )
    utc = pl.Series(times, dtype=pl.Int64).cast(pl.Datetime("ms")).dt.cast_time_unit("us")
    utc = utc.dt.replace_time_zone("UTC")
    return pl.Series([path.stem] * len(values)), utc, pl.Series(values, dtype=pl.Float64)


def _second_line(head: str) -> str:
    """Line 2 of the file start (LibreView's header line), or line 1 if there is no line 2."""
    lines = head.split("\n", 2)
    return lines[1] if len(lines) > 2 else lines[0]


#: Files up to this size (bytes) are decoded whole (textio.read_text); a larger plain UTF-8 CSV
#: is checked in blocks (textio.check_csv_file) and read by polars from its path, so that its
#: size is not capped by textio.MAX_TEXT_BYTES and no second copy of it is held as text.
SMALL_FILE = 64 * 1024**2


def _plain_csv(head: bytes) -> bool:
    """A generic or Dexcom CSV (not JSON, not LibreView), judged from the file's first bytes."""
    if head.lstrip(b" \t\r\n").startswith((b"[", b"{")) or head.startswith(b"Glucose Data"):
        return False
    lines = head.split(b"\n", 2)
    return b"Device Timestamp" not in (lines[1] if len(lines) > 2 else lines[0])


def read_cgm(path: str | Path, tz: str | None = None) -> CgmReadings:
    """The readings of one CGM export (any format above), with the reader's caveats."""
    path = Path(path)
    zone = tz or "UTC"
    try:
        pl.select(pl.lit("2020-01-01 00:00").str.to_datetime().dt.replace_time_zone(zone))
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"unknown time zone {zone!r} (use an IANA name, e.g. Europe/London)"
        ) from exc
    caveats: list[Caveat] = []
    if tz is None:
        caveats.append(Caveat(
            code="no_time_zone",
            message="no time zone given (--tz): times without an offset were read as UTC",
        ))  # fmt: skip
    check_input_file(path, "CGM")
    sha256 = file_sha256(path)
    with path.open("rb") as fh:
        head = fh.read(4096)
    dropped = DroppedReadings(str(path))
    if b"<HealthData" in head:
        from precisionrx.io.apple_health import read_apple_health

        export = read_apple_health(path)
        glucose = export.glucose
        caveats += export.caveats
        utc = pl.Series([t for t, _ in glucose], dtype=pl.Datetime("us", "UTC"))
        gl = pl.Series([v for _, v in glucose], dtype=pl.Float64)
        ids = pl.Series([path.stem] * len(glucose))
    elif path.stat().st_size > SMALL_FILE and not needs_decoding(head) and _plain_csv(head):
        # a large plain UTF-8 CSV: checked in blocks, read by polars from the path (no text copy)
        check_csv_file(path)
        ids, utc, gl = _csv(path, _read(path, path), zone, caveats, dropped)
    else:
        text = read_text(path, "CGM")
        if text.lstrip(" \n").startswith(("[", "{")):
            ids, utc, gl = _json_readings(path, text, zone, caveats, dropped)
        elif text.startswith("Glucose Data") or "Device Timestamp" in _second_line(text[:4096]):
            ids, utc, gl = _libreview(path, text, zone, caveats, dropped)
        else:
            check_fields(text, path, exact=True)
            frame = _read(path, io.StringIO(text))
            del text
            ids, utc, gl = _csv(path, frame, zone, caveats, dropped)
    note = dropped_caveat(dropped)
    if note is not None:
        caveats.append(note)
    out = pl.DataFrame({"id": ids.cast(pl.Utf8), "time_utc": utc, "gl": gl}).drop_nulls(
        ["time_utc", "gl"]
    )
    if out.height == 0:
        raise _no_readings(path, dropped.caveat())
    before = out.height
    out = out.unique(subset=["id", "time_utc"], keep="first", maintain_order=True).sort(
        "id", "time_utc"
    )
    if out.height < before:
        caveats.append(_note("repeated_readings", f"{before - out.height} repeated readings "
                             "(same subject and time) dropped"))  # fmt: skip
    _check_span(out, path)
    out = out.with_columns(pl.col("time_utc").dt.convert_time_zone(zone).dt.replace_time_zone(None)
                           .alias("local"))  # fmt: skip
    return CgmReadings(out.select("id", "time_utc", "local", "gl"), zone, caveats, sha256)


def read_cgm_files(paths: list[Path], tz: str | None = None) -> CgmReadings:
    """Several CGM exports as one table (see :func:`combine`)."""
    return combine([(p.name, read_cgm(p, tz)) for p in paths])


def combine(parts: list[tuple[str, CgmReadings]]) -> CgmReadings:
    """CGM readings of several files (name, readings) as one table; each caveat's message
    names its file, and the sha256 covers every file's, in order."""
    from precisionrx.records.evidence import fingerprint

    caveats = [
        c.model_copy(update={"message": f"{name}: {c.message}"})
        for name, part in parts
        for c in part.caveats
    ]
    shas = [part.sha256 or "" for _, part in parts]
    sha256 = parts[0][1].sha256 if len(parts) == 1 else fingerprint(*shas)
    frame = pl.concat([part.frame for _, part in parts])
    return CgmReadings(frame, parts[0][1].tz, caveats, sha256)


def _check_span(frame: pl.DataFrame, path: Path) -> None:
    """InputError when a subject's readings span more than the limits' ``cgm_span`` days."""
    limit = load_limits().get("cgm_span").max
    if limit is None:
        return
    spans = frame.group_by("id", maintain_order=True).agg(
        pl.col("time_utc").min().alias("first"), pl.col("time_utc").max().alias("last")
    )
    for subject, first, last in spans.iter_rows():
        days = (last - first).total_seconds() / 86400
        if days > limit:
            raise InputError(
                f"subject {subject!r}: readings span {days:,.0f} days ({first:%Y-%m-%d} to "
                f"{last:%Y-%m-%d}), over the {limit:,.0f}-day limit for one CGM record",
                path=path,
                record=f"subject {subject}",
                hint="split the export by period; the limit is documented in docs/errors.md",
            )
