"""Apple Health ``export.xml``, read as a stream (exports reach gigabytes).

Each ``Record`` element is handled and cleared as soon as it is parsed. Kept: blood glucose
(``mg/dL``, or ``mmol<180.1558800000541>/L`` = mmol/L), heart rate, resting heart rate, HRV SDNN
(ms), step counts (intervals), sleep analysis (``InBed``, ``Asleep*``, ``Awake``), and blood
pressure (systolic and diastolic records of one ``HKCorrelationTypeIdentifierBloodPressure``
paired by start time). Dates carry their offset (``2024-01-09 12:30:00 +0200``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from precisionrx.errors import InputError

MGDL_PER_MMOL = 18.01559
PREFIX = "HKQuantityTypeIdentifier"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"


@dataclass
class HealthExport:
    glucose: list[tuple[datetime, float]] = field(default_factory=list)  # mg/dL
    heart_rate: list[tuple[datetime, float]] = field(default_factory=list)
    resting_hr: list[tuple[datetime, float]] = field(default_factory=list)
    hrv_sdnn: list[tuple[datetime, float]] = field(default_factory=list)
    steps: list[tuple[datetime, datetime, float]] = field(default_factory=list)
    sleep: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    blood_pressure: list[tuple[datetime, float, float]] = field(default_factory=list)
    rr_ms: list[float] = field(default_factory=list)  # NN intervals (other sources)
    skipped: int = 0


def _time(text: str | None) -> datetime:
    if not text:
        raise ValueError("missing date")
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")


def read_apple_health(path: str | Path) -> HealthExport:
    path = Path(path)
    if not path.is_file():
        raise InputError("Apple Health export not found", path=path)
    out = HealthExport()
    bp: dict[datetime, dict[str, float]] = {}
    n = 0
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            if elem.tag != "Record":
                if elem.tag == "Correlation":
                    elem.clear()
                continue
            n += 1
            kind = elem.get("type", "")
            try:
                start = _time(elem.get("startDate"))
                value = elem.get("value") or ""
                if kind == SLEEP:
                    out.sleep.append((start, _time(elem.get("endDate")), value))
                elif kind.startswith(PREFIX):
                    name = kind.removeprefix(PREFIX)
                    number = float(value)
                    if name == "BloodGlucose":
                        unit = (elem.get("unit") or "").lower()
                        out.glucose.append(
                            (start, number * MGDL_PER_MMOL if "mmol" in unit else number)
                        )
                    elif name == "HeartRate":
                        out.heart_rate.append((start, number))
                    elif name == "RestingHeartRate":
                        out.resting_hr.append((start, number))
                    elif name == "HeartRateVariabilitySDNN":
                        out.hrv_sdnn.append((start, number))
                    elif name == "StepCount":
                        out.steps.append((start, _time(elem.get("endDate")), number))
                    elif name in ("BloodPressureSystolic", "BloodPressureDiastolic"):
                        bp.setdefault(start, {})[name[13:].lower()] = number
                    else:
                        out.skipped += 1
                else:
                    out.skipped += 1
            except ValueError as exc:
                raise InputError(f"record {n}: {exc}", path=path, record=f"Record {n}") from exc
            elem.clear()
    except ET.ParseError as exc:
        raise InputError(f"malformed XML ({exc})", path=path) from exc
    out.blood_pressure = sorted(
        (t, v["systolic"], v["diastolic"]) for t, v in bp.items() if len(v) == 2
    )
    return out
