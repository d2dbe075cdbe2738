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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from precisionrx.errors import InputError

MGDL_PER_MMOL = 18.01559
SENSOR_LOW, SENSOR_HIGH = 40.0, 400.0
DEXCOM_TIME = "Timestamp (YYYY-MM-DDThh:mm:ss)"
#: ISO date-time layouts accepted (after "T" is replaced by a space).
FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


@dataclass
class CgmData:
    frame: pl.DataFrame  # id, time_utc (UTC), local (naive wall clock), gl (mg/dL)
    tz: str
    caveats: list[str] = field(default_factory=list)


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise InputError("CGM file not found", path=path)
    try:
        return pl.read_csv(
            path, infer_schema=False, truncate_ragged_lines=True, encoding="utf8-lossy"
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read CGM file ({str(exc)[:120]})", path=path) from exc


def _glucose(
    text: pl.Series, unit: pl.Series | str, path: Path, caveats: list[str], line0: int = 2
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
                         record=f"line {i + line0}")  # fmt: skip
    unit_s = unit if isinstance(unit, pl.Series) else pl.Series([unit] * len(raw))
    unit_l = unit_s.str.to_lowercase().str.replace_all(" ", "")
    bad_unit = ~unit_l.is_in(["mg/dl", "mmol/l"])
    if bad_unit.any():
        i = int(bad_unit.arg_true()[0])
        raise InputError(f"unit {unit_s[i]!r}: must be mg/dL or mmol/L", path=path,
                         record=f"line {i + line0}")  # fmt: skip
    mgdl = pl.select(
        pl.when(lowered == "low").then(SENSOR_LOW)
        .when(lowered == "high").then(SENSOR_HIGH)
        .when(unit_l == "mmol/l").then(value * MGDL_PER_MMOL)
        .otherwise(value)
    ).to_series()  # fmt: skip
    if censored_low or censored_high:
        caveats.append(
            f"{censored_low} 'Low' and {censored_high} 'High' readings (outside the sensor's "
            "40-400 mg/dL range) were set to 40 and 400 mg/dL"
        )
    impossible = mgdl.is_not_null() & ((mgdl < 10) | (mgdl > 1000))
    if impossible.any():
        i = int(impossible.arg_true()[0])
        raise InputError(f"glucose {mgdl[i]:g} mg/dL is not possible", path=path,
                         record=f"line {i + line0}")  # fmt: skip
    return mgdl


def _times(
    text: pl.Series, tz: str, path: Path, line0: int = 2, ids: pl.Series | None = None
) -> pl.Series:
    """UTC instants from ISO text; naive times are wall-clock in ``tz``.

    A wall-clock time that occurs twice (the hour repeated when clocks go back) is the earlier
    instant the first time it appears for a subject and the later instant the second time, as
    a device exporting local time writes the two hours one after the other."""
    t = text.str.strip_chars().str.replace("T", " ")
    has_offset = t.str.contains(r"([+-]\d{2}:?\d{2}|Z)$")
    naive = pl.select(
        pl.coalesce([t.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in FORMATS])
    ).to_series()
    aware = pl.Series([None] * len(t), dtype=pl.Datetime("us", "UTC"))
    if has_offset.any():
        with_z = t.str.replace(r"Z$", "+00:00").str.replace(r"([+-]\d{2})(\d{2})$", "$1:$2")
        aware = pl.select(
            pl.coalesce([with_z.str.to_datetime(fmt + "%:z", strict=False, time_unit="us")
                         .dt.convert_time_zone("UTC") for fmt in FORMATS])
        ).to_series()  # fmt: skip
    subject = ids if ids is not None and len(ids) == len(naive) else pl.Series([0] * len(naive))
    local = (
        pl.DataFrame({"id": subject, "naive": naive})
        .select(
            pl.col("naive").dt.replace_time_zone(
                tz,
                ambiguous=pl.when(pl.int_range(pl.len()).over("id", "naive") > 0)
                .then(pl.lit("latest"))
                .otherwise(pl.lit("earliest")),
                non_existent="null",
            )
        )
        .to_series()
    )
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
        raise InputError(f"time {text[i]!r} {problem}", path=path, record=f"line {i + line0}")
    return utc


def _no_readings(path: Path) -> InputError:
    return InputError(
        "no glucose readings in the file (nothing to compute)",
        path=path,
        hint="check that it is a CGM export with at least one glucose value",
    )


def _csv(path: Path, zone: str, caveats: list[str]) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Dexcom Clarity, ``id,time,gl`` or ``time,value,unit`` CSV."""
    units: pl.Series | str
    frame = _read(path)
    cols = {c.strip().lstrip("\ufeff"): c for c in frame.columns}
    if DEXCOM_TIME in cols and "Event Type" in cols:
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
    return ids, _times(times, zone, path, ids=ids), _glucose(values, units, path, caveats)


def _libreview(path: Path, zone: str, caveats: list[str]) -> tuple[pl.Series, pl.Series, pl.Series]:
    """LibreView export: metadata line, header line, historic (record type 0) readings kept.

    Dates: US ``MM-DD-YYYY hh:mm AM/PM`` when AM/PM is present, else ``DD-MM-YYYY HH:MM``.
    """
    try:
        frame = pl.read_csv(path, skip_rows=1, infer_schema=False, truncate_ragged_lines=True)
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
        caveats.append(f"{scans} LibreView records other than historic readings (scans, "
                       "strips, notes) were not used")  # fmt: skip
    text = hist[cols["Device Timestamp"]].str.strip_chars()
    us = text.str.contains(r"(?i)[AP]M$")
    parsed = pl.select(
        pl.when(us)
        .then(text.str.to_datetime("%m-%d-%Y %I:%M %p", strict=False, time_unit="us"))
        .otherwise(text.str.to_datetime("%d-%m-%Y %H:%M", strict=False, time_unit="us"))
    ).to_series()
    iso = parsed.dt.to_string("%Y-%m-%d %H:%M:%S")
    bad = parsed.is_null() & text.is_not_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise InputError(f"Device Timestamp {text[i]!r} is not a LibreView date", path=path,
                         record="historic reading " + str(i + 1))  # fmt: skip
    unit = "mmol/L" if "mmol" in gcol else "mg/dL"
    ids = pl.Series([path.stem] * hist.height)
    gl = _glucose(hist[cols[gcol]], unit, path, caveats, line0=3)
    return ids, _times(iso.fill_null(""), zone, path, line0=3, ids=ids), gl


FHIR_GLUCOSE = {"99504-3": "mg/dL", "105272-9": "mmol/L"}  # HL7 CGM IG 1.0.0 sensor readings


def _json_readings(
    path: Path, zone: str, caveats: list[str]
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Nightscout entries, FHIR Observations (Bundle, list or one) or Open mHealth points."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", path=path) from exc
    items = data if isinstance(data, list) else [data]
    first = items[0] if items and isinstance(items[0], dict) else {}
    if first.get("resourceType") in ("Bundle", "Observation"):
        return _fhir(items, path, zone)
    if "blood_glucose" in first or "blood_glucose" in (first.get("body") or {}):
        return _omh(items, path, zone)
    entries = data if isinstance(data, list) else data.get("entries", [])
    if not isinstance(entries, list):
        raise InputError("expected Nightscout entries, FHIR Observations or Open mHealth points",
                         path=path)  # fmt: skip
    return _nightscout(entries, path, caveats)


def _fhir(items: list[object], path: Path, zone: str) -> tuple[pl.Series, pl.Series, pl.Series]:
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
    ids, times, values, units = [], [], [], []
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
    caveats: list[str] = []
    return (pl.Series(ids, dtype=pl.Utf8), _times(pl.Series(times, dtype=pl.Utf8), zone, path),
            _glucose(pl.Series(values, dtype=pl.Utf8), pl.Series(units, dtype=pl.Utf8), path,
                     caveats))  # fmt: skip


def _omh(items: list[object], path: Path, zone: str) -> tuple[pl.Series, pl.Series, pl.Series]:
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
    caveats: list[str] = []
    ids = pl.Series([path.stem] * len(times), dtype=pl.Utf8)
    return (ids, _times(pl.Series(times, dtype=pl.Utf8), zone, path),
            _glucose(pl.Series(values, dtype=pl.Utf8), pl.Series(units, dtype=pl.Utf8), path,
                     caveats))  # fmt: skip


def _nightscout(
    entries: list[object], path: Path, caveats: list[str]
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Nightscout ``/api/v1/entries.json``: ``type`` sgv entries, ``date`` in epoch ms (UTC).

    ``sgv`` 39 means LOW (below the sensor range: set to 40); values below 39 are Dexcom error
    codes and are dropped (Nightscout lib/plugins/errorcodes.js).
    """
    rows = [e for e in entries if isinstance(e, dict) and e.get("type", "sgv") == "sgv"]
    values, times, errors, lows = [], [], 0, 0
    for k, e in enumerate(rows):
        sgv, date = e.get("sgv"), e.get("date")
        if not isinstance(sgv, (int, float)) or not isinstance(date, (int, float)):
            raise InputError("entry without a numeric sgv and date", path=path,
                             record=f"entry {k + 1}")  # fmt: skip
        if sgv < 39:
            errors += 1
            continue
        lows += sgv == 39
        values.append(SENSOR_LOW if sgv == 39 else float(sgv))
        times.append(int(date))
    if errors:
        caveats.append(f"{errors} Nightscout entries with sensor error codes (< 39) dropped")
    if lows:
        caveats.append(f"{lows} LOW entries (39) set to {SENSOR_LOW:g} mg/dL")
    utc = pl.Series(times, dtype=pl.Int64).cast(pl.Datetime("ms")).dt.cast_time_unit("us")
    utc = utc.dt.replace_time_zone("UTC")
    return pl.Series([path.stem] * len(values)), utc, pl.Series(values, dtype=pl.Float64)


def _second_line(head: bytes) -> bytes:
    """Line 2 of the file start (LibreView's header line), or line 1 if there is no line 2."""
    lines = head.split(b"\n", 2)
    return lines[1] if len(lines) > 2 else lines[0]


def read_cgm(path: str | Path, tz: str | None = None) -> CgmData:
    path = Path(path)
    zone = tz or "UTC"
    try:
        pl.select(pl.lit("2020-01-01 00:00").str.to_datetime().dt.replace_time_zone(zone))
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"unknown time zone {zone!r} (use an IANA name, e.g. Europe/London)"
        ) from exc
    caveats: list[str] = []
    if tz is None:
        caveats.append("no time zone given (--tz): times without an offset were read as UTC")
    head = path.read_bytes()[:4096] if path.is_file() else b""
    if head.lstrip(b"\xef\xbb\xbf \n").startswith((b"[", b"{")):
        ids, utc, gl = _json_readings(path, zone, caveats)
    elif b"<HealthData" in head:
        from precisionrx.io.apple_health import read_apple_health

        glucose = read_apple_health(path).glucose
        utc = pl.Series([t for t, _ in glucose], dtype=pl.Datetime("us", "UTC"))
        gl = pl.Series([v for _, v in glucose], dtype=pl.Float64)
        ids = pl.Series([path.stem] * len(glucose))
    elif head.startswith(b"Glucose Data") or b"Device Timestamp" in _second_line(head):
        ids, utc, gl = _libreview(path, zone, caveats)
    else:
        ids, utc, gl = _csv(path, zone, caveats)
    out = pl.DataFrame({"id": ids.cast(pl.Utf8), "time_utc": utc, "gl": gl}).drop_nulls(
        ["time_utc", "gl"]
    )
    if out.height == 0:
        raise _no_readings(path)
    before = out.height
    out = out.unique(subset=["id", "time_utc"], keep="first", maintain_order=True).sort(
        "id", "time_utc"
    )
    if out.height < before:
        caveats.append(f"{before - out.height} repeated readings (same subject and time) dropped")
    out = out.with_columns(pl.col("time_utc").dt.convert_time_zone(zone).dt.replace_time_zone(None)
                           .alias("local"))  # fmt: skip
    return CgmData(out.select("id", "time_utc", "local", "gl"), zone, caveats)
