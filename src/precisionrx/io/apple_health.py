"""Apple Health ``export.xml``, read as a stream (exports reach gigabytes).

Each ``Record`` element is handled and cleared as soon as it is parsed. Kept: blood glucose
(``mg/dL``, or ``mmol<180.1558800000541>/L`` = mmol/L), heart rate, resting heart rate, HRV SDNN
(ms), step counts (intervals), sleep analysis (``InBed``, ``Asleep*``, ``Awake``), and blood
pressure (systolic and diastolic records of one ``HKCorrelationTypeIdentifierBloodPressure``
paired by start time). Dates carry their offset (``2024-01-09 12:30:00 +0200``).

Plausibility (docs/errors.md, "Validation limits"): a glucose, heart-rate, HRV or blood-pressure
record outside its row of the knowledge base's plausibility table, a pressure whose diastolic
value is not below its systolic value, and any record dated before the table's earliest year or
after the time of the run plus its margin, is dropped; ``caveats`` names the file and the first
records dropped (a Caveat with code ``implausible_reading``).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from precisionrx.errors import InputError
from precisionrx.io.textio import check_input_file
from precisionrx.kb.limits import DroppedReadings, Limit, Limits, load_limits
from precisionrx.records.evidence import Caveat, CaveatKind

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
    #: ``implausible_reading`` caveats: readings dropped, naming the file and records.
    caveats: list[Caveat] = field(default_factory=list)
    #: The file read (as given) and the sha256 of its bytes.
    source: str = ""
    sha256: str | None = None


#: Codes whose caveat text was ``"code: message"`` before caveats were records.
_CODE_IN_TEXT = frozenset({"implausible_reading"})


def dropped_caveat(log: DroppedReadings) -> Caveat | None:
    """The ``implausible_reading`` caveat of a reader's dropped readings, or None."""
    text = log.caveat()
    if text is None:
        return None
    code, _, message = text.partition(": ")
    return Caveat(code=code, message=message, kind=CaveatKind.WARNING)


def caveat_text(c: Caveat) -> str:
    """A reader's caveat as one line of text (``note:`` lines on standard error, hints)."""
    return f"{c.code}: {c.message}" if c.code in _CODE_IN_TEXT else c.message


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes (read in blocks)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


#: Stream -> plausibility-table row (measurement, unit).
STREAM_LIMITS = {
    "glucose": ("glucose_cgm", "mg/dL"), "heart_rate": ("heart_rate", "/min"),
    "resting_hr": ("heart_rate", "/min"), "hrv_sdnn": ("hrv_sdnn", "ms"),
    "sbp": ("systolic_bp", "mm[Hg]"), "dbp": ("diastolic_bp", "mm[Hg]"),
    "rr_ms": ("rr_interval", "ms"),
}  # fmt: skip


class Plausibility:
    """The checks a vitals reader applies to each reading; drops are logged for one caveat.

    The bounds are computed once (readers call these per record: an export has millions);
    ``where`` is a text, or a record number formatted with ``label`` only when dropped."""

    def __init__(self, path: Path, label: str = "Record") -> None:
        self.limits: Limits = load_limits()
        self.rows: dict[str, Limit] = {k: self.limits.get(*v) for k, v in STREAM_LIMITS.items()}
        self.bounds: dict[str, tuple[float, float]] = {
            k: (
                r.min if r.min is not None else float("-inf"),
                r.max if r.max is not None else float("inf"),
            )
            for k, r in self.rows.items()
        }
        self.now = datetime.now(UTC)
        self.earliest = datetime(self.limits.earliest_year(), 1, 1, tzinfo=UTC)
        self.latest = self.limits.latest_time(self.now)
        self.label = label
        self.dropped = DroppedReadings(str(path))

    def _where(self, where: str | int) -> str:
        return f"{self.label} {where}" if isinstance(where, int) else where

    def value(self, stream: str, value: float, where: str | int) -> bool:
        """True if ``value`` is plausible for ``stream``; otherwise logged and False."""
        lo, hi = self.bounds[stream]
        if lo <= value <= hi:  # False for NaN
            return True
        self.dropped.add(self._where(where), self.rows[stream].describe(value, stream))
        return False

    def when(self, t: datetime, where: str | int) -> bool:
        aware = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
        if self.earliest <= aware <= self.latest:
            return True
        self.dropped.add(
            self._where(where), self.limits.date_problem(t, self.now) or "implausible date"
        )
        return False

    def pressure(self, sbp: float, dbp: float, where: str | int) -> bool:
        if not (self.value("sbp", sbp, where) and self.value("dbp", dbp, where)):
            return False
        if dbp < sbp:
            return True
        self.dropped.add(
            self._where(where), f"diastolic {dbp:g} mmHg is not below systolic {sbp:g} mmHg"
        )
        return False

    def finish(self, out: HealthExport) -> None:
        note = dropped_caveat(self.dropped)
        if note is not None:
            out.caveats.append(note)


def _time(text: str | None) -> datetime:
    if not text:
        raise ValueError("missing date")
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")


def read_apple_health(path: str | Path) -> HealthExport:
    source = str(path)
    path = check_input_file(path, "Apple Health export")
    out = HealthExport(source=source, sha256=file_sha256(path))
    check = Plausibility(path)
    bp: dict[datetime, dict[str, float]] = {}
    bp_record: dict[datetime, int] = {}
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
                if not check.when(start, n):
                    elem.clear()
                    continue
                if kind == SLEEP:
                    out.sleep.append((start, _time(elem.get("endDate")), value))
                elif kind.startswith(PREFIX):
                    name = kind.removeprefix(PREFIX)
                    number = float(value)
                    where = n
                    if name == "BloodGlucose":
                        unit = (elem.get("unit") or "").lower()
                        mgdl = number * MGDL_PER_MMOL if "mmol" in unit else number
                        if check.value("glucose", mgdl, where):
                            out.glucose.append((start, mgdl))
                    elif name == "HeartRate":
                        if check.value("heart_rate", number, where):
                            out.heart_rate.append((start, number))
                    elif name == "RestingHeartRate":
                        if check.value("resting_hr", number, where):
                            out.resting_hr.append((start, number))
                    elif name == "HeartRateVariabilitySDNN":
                        if check.value("hrv_sdnn", number, where):
                            out.hrv_sdnn.append((start, number))
                    elif name == "StepCount":
                        out.steps.append((start, _time(elem.get("endDate")), number))
                    elif name in ("BloodPressureSystolic", "BloodPressureDiastolic"):
                        bp.setdefault(start, {})[name[13:].lower()] = number
                        bp_record.setdefault(start, n)
                    else:
                        out.skipped += 1
                else:
                    out.skipped += 1
            except ValueError as exc:
                raise InputError(f"record {n}: {exc}", path=path, record=f"Record {n}") from exc
            elem.clear()
    except ET.ParseError as exc:
        raise InputError(f"malformed XML ({exc})", path=path) from exc
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise InputError(f"the XML declares an unknown encoding ({exc})", path=path,
                         hint="Apple Health exports are UTF-8") from None  # fmt: skip
    out.blood_pressure = sorted(
        (t, v["systolic"], v["diastolic"])
        for t, v in bp.items()
        if len(v) == 2 and check.pressure(v["systolic"], v["diastolic"], bp_record[t])
    )
    check.finish(out)
    return out
