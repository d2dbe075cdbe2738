"""Physiological plausibility limits (kb/data/limits/plausibility.tsv), one table for every reader.

Readers apply them in one of two ways (docs/errors.md, "Validation limits"):

- a reading in a time series (CGM, heart rate, home blood pressure) outside its limits is
  dropped, and :class:`DroppedReadings` turns the drops into one caveat naming the file and the
  first lines or records;
- a single-valued clinical input (a patient-file measurement, a risk-table value) outside its
  limits makes the whole input an error naming the file and the record.

Loading is lazy (:func:`load_limits`, cached): importing this module reads nothing.

>>> limits = load_limits()
>>> limits.get("systolic_bp", "mmHg").contains(9999)
False
>>> limits.classify("Systolic blood pressure")
'systolic_bp'
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from precisionrx.errors import KbIntegrityError

TABLE = "plausibility.tsv"
COLUMNS = (
    "measurement", "unit", "min", "max", "aliases", "not_if", "loinc", "status", "source", "note",
)  # fmt: skip
#: Code systems whose codes are matched against the ``loinc`` column.
LOINC_SYSTEMS = ("http://loinc.org", "loinc", "urn:oid:2.16.840.1.113883.6.1")
_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")


def normalise_unit(unit: str) -> str:
    """Units compared case-, space- and bracket-insensitively (``mm[Hg]`` = ``mmHg``)."""
    u = unit.strip().lower().replace(" ", "").replace("[", "").replace("]", "")
    u = u.replace("µ", "u").replace("μ", "u").replace("²", "2").replace("^2", "2")
    u = u.replace("{", "").replace("}", "").replace("_", "")  # UCUM annotations: {1.73_m2}
    return {"lb_av": "lb", "in_i": "in", "bpm": "/min", "beats/min": "/min", "1/min": "/min",
            "mmol/l": "mmol/l", "min-1": "/min", "kg/m2": "kg/m2"}.get(u, u)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Limit:
    """One row: ``min <= value <= max`` (either bound may be absent)."""

    measurement: str
    unit: str
    min: float | None
    max: float | None
    aliases: tuple[str, ...] = ()
    not_if: tuple[str, ...] = ()
    loinc: tuple[str, ...] = ()
    status: str = "unverified"
    source: str = ""
    note: str = ""

    def contains(self, value: float) -> bool:
        """False for NaN, infinities and values outside the bounds."""
        if value != value or value in (float("inf"), float("-inf")):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    @property
    def range_text(self) -> str:
        lo = "" if self.min is None else f"{self.min:g}"
        hi = "" if self.max is None else f"{self.max:g}"
        unit = "" if self.unit in ("", "year", "day") else f" {self.unit}"
        if self.min is None:
            return f"at most {hi}{unit}"
        if self.max is None:
            return f"at least {lo}{unit}"
        return f"{lo}-{hi}{unit}"

    def describe(self, value: float, what: str | None = None) -> str:
        """``"systolic_bp 9999 mmHg is outside the plausible 40-300 mm[Hg] (...)"``."""
        name = what or self.measurement
        unit = f" {self.unit}" if self.unit not in ("", "year", "day") else ""
        return (
            f"{name} {value:g}{unit} is outside the plausible range {self.range_text} "
            f"(kb limits/{TABLE}, {self.status})"
        )


@dataclass(frozen=True)
class Limits:
    """All rows, by measurement and normalised unit."""

    rows: tuple[Limit, ...]
    _by_key: dict[tuple[str, str], Limit] = field(default_factory=dict, compare=False)
    _loinc: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for r in self.rows:
            self._by_key[(r.measurement, normalise_unit(r.unit))] = r
            for code in r.loinc:
                self._loinc.setdefault(code, r.measurement)

    def get(self, measurement: str, unit: str | None = None) -> Limit:
        """The row of ``measurement`` in ``unit`` (the first row when ``unit`` is None)."""
        if unit is None:
            for r in self.rows:
                if r.measurement == measurement:
                    return r
        else:
            hit = self._by_key.get((measurement, normalise_unit(unit)))
            if hit is not None:
                return hit
        raise KeyError(f"no plausibility limit for {measurement!r} in {unit!r}")

    def find(self, measurement: str, unit: str) -> Limit | None:
        return self._by_key.get((measurement, normalise_unit(unit)))

    def classify(self, name: str, code: str | None = None, system: str | None = None) -> str | None:
        """The measurement key a measurement refers to, or None.

        A LOINC ``code`` decides whatever the name: the code says the specimen, so a code
        listed in a row's ``loinc`` column is that row and any other LOINC code (2161-8, urine
        creatinine) is no row. Without a LOINC code the free-text ``name`` is matched:
        ``aliases`` are substrings of the lower-cased name and ``not_if`` words exclude it
        (``Urine creatinine``, ``Fundal height``)."""
        if code and (
            (system or "").strip().lower() in LOINC_SYSTEMS
            or (not system and _LOINC_CODE.match(code.strip()))
        ):
            return self._loinc.get(code.strip())  # another LOINC code: not one of the rows
        lowered = name.lower()
        for r in self.rows:
            if not r.aliases or any(w in lowered for w in r.not_if):
                continue
            if any(a in lowered for a in r.aliases):
                return r.measurement
        return None

    # -- dates ---------------------------------------------------------------------------
    def earliest_year(self) -> int:
        lo = self.get("date").min
        return int(lo) if lo is not None else 1

    def latest_time(self, now: datetime | None = None) -> datetime:
        """The latest plausible instant (UTC): the run time plus the ``date_ahead`` margin."""
        ahead = self.get("date_ahead").max or 0.0
        return (now or datetime.now(UTC)) + timedelta(days=ahead)

    def date_problem(self, when: datetime, now: datetime | None = None) -> str | None:
        """Why ``when`` is not a plausible date of a measurement, or None if it is."""
        if when.year < self.earliest_year():
            return f"dated {when.isoformat()}, before {self.earliest_year()} (kb limits/{TABLE})"
        aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        latest = self.latest_time(now)
        if aware > latest:
            return (
                f"dated {when.isoformat()}, more than {self.get('date_ahead').max:g} days after "
                f"the time of this run (kb limits/{TABLE})"
            )
        return None


def _number(text: str, path: Path, line: int) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise KbIntegrityError(
            f"{text!r} is not a number", path=path, record=f"line {line}"
        ) from None


def parse_limits(text: str, path: Path) -> Limits:
    """Rows of the TSV text (``#`` lines are comments); KbIntegrityError when malformed."""
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if not ln.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in lines)), delimiter="\t")
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise KbIntegrityError(f"header must be {', '.join(COLUMNS)}", path=path)
    rows = []
    for (n, _), cells in zip(lines[1:], reader, strict=False):
        if not cells:
            continue
        if len(cells) != len(COLUMNS):
            raise KbIntegrityError(f"{len(cells)} columns, expected {len(COLUMNS)}", path=path,
                                   record=f"line {n}")  # fmt: skip
        d = dict(zip(COLUMNS, cells, strict=True))
        lo, hi = _number(d["min"], path, n), _number(d["max"], path, n)
        if lo is not None and hi is not None and lo > hi:
            raise KbIntegrityError("min is above max", path=path, record=f"line {n}")
        if d["status"] not in ("verified", "unverified"):
            raise KbIntegrityError("status must be verified or unverified", path=path,
                                   record=f"line {n}")  # fmt: skip
        rows.append(
            Limit(
                measurement=d["measurement"],
                unit=d["unit"],
                min=lo,
                max=hi,
                aliases=tuple(a.lower() for a in d["aliases"].split("|") if a),
                not_if=tuple(a.lower() for a in d["not_if"].split("|") if a),
                loinc=tuple(c.strip() for c in d["loinc"].split("|") if c.strip()),
                status=d["status"],
                source=d["source"],
                note=d["note"],
            )
        )
    return Limits(tuple(rows))


def limits_path() -> Path:
    return Path(str(resources.files("precisionrx.kb").joinpath("data", "limits", TABLE)))


@lru_cache(maxsize=1)
def load_limits() -> Limits:
    """The packaged table (read once per process)."""
    path = limits_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KbIntegrityError("plausibility limits missing or unreadable", path=path) from exc
    return parse_limits(text, path)


_FIRST_SHOWN = 5


@dataclass
class DroppedReadings:
    """Implausible readings dropped from one file, reported as one caveat.

    Only the first few drops are kept as text (``items``), the rest are counted: a file whose
    every reading is dropped must not build one string per row."""

    path: str
    items: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, where: str, problem: str) -> None:
        self.count += 1
        if len(self.items) < _FIRST_SHOWN:
            self.items.append(f"{where}: {problem}")

    def add_many(self, count: int, first: list[tuple[str, str]]) -> None:
        """``count`` drops, of which ``first`` (where, problem) are the first ones (a vectorised
        reader passes at most the first few)."""
        for where, problem in first[: max(0, _FIRST_SHOWN - len(self.items))]:
            self.items.append(f"{where}: {problem}")
        self.count += count

    @property
    def wanted(self) -> int:
        """How many more drops would be shown (readers need not describe the others)."""
        return max(0, _FIRST_SHOWN - len(self.items))

    def __len__(self) -> int:
        return self.count

    def caveat(self) -> str | None:
        """``"implausible_reading: FILE: 2 readings dropped (line 3: ...; line 9: ...)"``."""
        if not self.count:
            return None
        shown = "; ".join(self.items)
        more = self.count - len(self.items)
        if more > 0:
            shown += f"; and {more:,} more"
        s = "" if self.count == 1 else "s"
        return f"implausible_reading: {self.path}: {self.count:,} reading{s} dropped ({shown})"


_YEAR = re.compile(r"^\s*([+-]?\d{1,6})-")


def parse_date(text: str) -> datetime | None:
    """An ISO date or date-time (offset optional), or None when ``text`` is not one."""
    t = text.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(t)
    except ValueError:
        return None


def year_of(text: str) -> int | None:
    """The leading year of an ISO-like date text (``0001-01-01``, ``9999-12-31``)."""
    m = _YEAR.match(text)
    return int(m.group(1)) if m else None
