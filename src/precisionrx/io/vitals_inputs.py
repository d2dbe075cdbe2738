"""Wearable vitals from FHIR Observations, Open mHealth data points and NN-interval files.

Into the same structure as the Apple Health reader (io/apple_health.HealthExport):
- FHIR R4 (Bundle, list or one Observation): 8867-4 heart rate, 40443-4 resting heart rate,
  85354-9 blood-pressure panel with components 8480-6 (systolic) and 8462-4 (diastolic),
  41950-7 steps per 24 h; ``effectiveDateTime`` or ``effectivePeriod.start``.
- Open mHealth: heart-rate, blood-pressure, step-count, sleep-duration and rr-interval points
  (bare bodies or header + body).
- NN intervals: a CSV with an ``rr_ms`` (or ``nn_ms``) column, one interval per row.
Anything else in the file is counted as skipped. Readings outside the knowledge base's
plausibility table (heart rate, blood pressure, NN interval) or dated implausibly are dropped
with an ``implausible_reading`` caveat naming the file and the records (io/apple_health.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from precisionrx.errors import InputError
from precisionrx.io.apple_health import HealthExport, Plausibility, caveat_text, file_sha256
from precisionrx.io.textio import check_input_file, read_text


def _when(text: str | None, path: Path, where: str) -> datetime:
    if not text:
        raise InputError("missing time", path=path, record=where)
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"time {text!r} is not ISO 8601", path=path, record=where) from exc
    if t.tzinfo is None:
        raise InputError(f"time {text!r} has no offset", path=path, record=where)
    return t


def _fhir(items: list[Any], path: Path, out: HealthExport, check: Plausibility) -> None:
    obs: list[Any] = []
    for item in items:
        if isinstance(item, dict) and item.get("resourceType") == "Bundle":
            obs += [e.get("resource") for e in item.get("entry") or [] if isinstance(e, dict)]
        elif isinstance(item, dict):
            obs.append(item)
    for k, o in enumerate(obs):
        if not isinstance(o, dict) or o.get("resourceType") != "Observation":
            out.skipped += 1
            continue
        codes = {c.get("code") for c in (o.get("code") or {}).get("coding") or []}
        where = f"Observation {k + 1}"
        period = o.get("effectivePeriod") or {}
        when = o.get("effectiveDateTime") or period.get("start")
        value = (o.get("valueQuantity") or {}).get("value")
        if "85354-9" in codes:
            parts: dict[str, float] = {}
            for comp in o.get("component") or []:
                ccodes = {c.get("code") for c in (comp.get("code") or {}).get("coding") or []}
                v = (comp.get("valueQuantity") or {}).get("value")
                if "8480-6" in ccodes and isinstance(v, (int, float)):
                    parts["sbp"] = float(v)
                if "8462-4" in ccodes and isinstance(v, (int, float)):
                    parts["dbp"] = float(v)
            if len(parts) == 2:
                t = _when(when, path, where)
                if check.when(t, where) and check.pressure(parts["sbp"], parts["dbp"], where):
                    out.blood_pressure.append((t, parts["sbp"], parts["dbp"]))
            continue
        target = {"8867-4": out.heart_rate, "40443-4": out.resting_hr}
        code = next((c for c in codes if c in target or c == "41950-7"), None)
        if code is None:
            out.skipped += 1
            continue
        if not isinstance(value, (int, float)):
            raise InputError("Observation without a numeric valueQuantity", path=path, record=where)
        t = _when(when, path, where)
        if not check.when(t, where):
            continue
        if code == "41950-7":
            out.steps.append((t, t + timedelta(days=1), float(value)))
        elif check.value("heart_rate", float(value), where):
            target[code].append((t, float(value)))


def _omh(items: list[Any], path: Path, out: HealthExport, check: Plausibility) -> None:
    for k, item in enumerate(items):
        body = item.get("body", item) if isinstance(item, dict) else {}
        frame = body.get("effective_time_frame") or {}
        interval = frame.get("time_interval") or {}
        where = f"data point {k + 1}"
        start = frame.get("date_time") or interval.get("start_date_time")
        if "rr_interval" in body:
            rr = float(body["rr_interval"]["value"])
            if check.value("rr_ms", rr, where):
                out.rr_ms.append(rr)
        elif "heart_rate" in body:
            t, hr = _when(start, path, where), float(body["heart_rate"]["value"])
            if check.when(t, where) and check.value("heart_rate", hr, where):
                out.heart_rate.append((t, hr))
        elif "systolic_blood_pressure" in body:
            sbp = float(body["systolic_blood_pressure"]["value"])
            dbp = float(body["diastolic_blood_pressure"]["value"])
            t = _when(start, path, where)
            if check.when(t, where) and check.pressure(sbp, dbp, where):
                out.blood_pressure.append((t, sbp, dbp))
        elif "step_count" in body:
            end = interval.get("end_date_time") or start
            out.steps.append((_when(start, path, where), _when(end, path, where),
                              float(body["step_count"]["value"])))  # fmt: skip
        elif "sleep_duration" in body:
            end = interval.get("end_date_time")
            hours = float(body["sleep_duration"]["value"])
            if body["sleep_duration"].get("unit") == "min":
                hours /= 60
            t0 = _when(start, path, where)
            out.sleep.append((t0, t0 + timedelta(hours=hours), "Asleep"))
            if end:
                out.sleep.append((t0, _when(end, path, where), "InBed"))
        else:
            out.skipped += 1


def read_vitals(path: str | Path) -> HealthExport:
    """Vitals from an Apple Health export, FHIR or Open mHealth JSON, or an NN-interval CSV.

    A file with none of them (no heart rate, HRV, blood pressure, steps, sleep, NN intervals
    or glucose) is an error: there would be nothing to report."""
    path = Path(path)
    out = _read_any(path)
    streams = (out.glucose, out.heart_rate, out.resting_hr, out.hrv_sdnn, out.steps, out.sleep,
               out.blood_pressure, out.rr_ms)  # fmt: skip
    if not any(streams):
        raise InputError(
            f"no vitals in the file ({out.skipped} other record"
            f"{'' if out.skipped == 1 else 's'} skipped)",
            path=path,
            hint="heart rate, HRV, blood pressure, steps, sleep or NN intervals are read"
            + (f"; {'; '.join(caveat_text(c) for c in out.caveats)}" if out.caveats else ""),
        )
    return out


def _read_any(path: Path) -> HealthExport:
    check_input_file(path, "vitals")
    with path.open("rb") as fh:
        head = fh.read(2048)
    if b"<HealthData" in head:
        from precisionrx.io.apple_health import read_apple_health

        return read_apple_health(path)
    out = HealthExport(source=str(path), sha256=file_sha256(path))
    check = Plausibility(path)
    text = read_text(path, "vitals")
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"not valid JSON ({exc})", path=path) from exc
        items = data if isinstance(data, list) else [data]
        try:
            if items and isinstance(items[0], dict) and "resourceType" in items[0]:
                _fhir(items, path, out, check)
            else:
                _omh(items, path, out, check)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"unexpected structure ({exc})", path=path) from exc
        check.finish(out)
        return out
    lines = text.splitlines()
    header = [h.strip().lower() for h in lines[0].split(",")] if lines else []
    col = next((header.index(c) for c in ("rr_ms", "nn_ms") if c in header), None)
    if col is None:
        raise InputError("unrecognised vitals file: Apple Health XML, FHIR or Open mHealth JSON, "
                         "or a CSV with an rr_ms column", path=path, record="line 1")  # fmt: skip
    for n, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        try:
            value = float(cells[col])
        except (ValueError, IndexError) as exc:
            raise InputError("NN interval is not a number", path=path, record=f"line {n}") from exc
        if check.value("rr_ms", value, f"line {n}"):
            out.rr_ms.append(value)
    check.finish(out)
    return out
