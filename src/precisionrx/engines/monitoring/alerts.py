"""Deterministic CGM alert rules, shared by file replay and the streaming entry point.

Rules (defaults from Dexcom G6/G7 labelling and Nightscout 15.0.7, kb cgm_alert_reference.csv;
every threshold except the urgent low can be personalised):
- ``urgent_low``: reading < 55 mg/dL. Fixed at 55 (it can be raised, never lowered), cannot be
  snoozed: it repeats on every qualifying reading.
- ``low``: reading < ``low`` (default 70); ``high``: reading > ``high`` (default 250). Each repeats
  at most every ``repeat_minutes`` (default 30) while the condition lasts.
- ``predicted_low``: either of two forecasts goes below the target within ``predict_minutes``
  (20; Dexcom "Urgent Low Soon" looks 20 minutes ahead and Nightscout's ar2 plugin names its
  event from the +20-minute point), whichever fires first:
  Nightscout's AR2 forecast (see :func:`ar2_forecast`) from the last two readings, at most
  ``trend_minutes`` (15) apart, when the last reading is below the one before; or the linear
  trend (see :func:`linear_forecast`): the least-squares line through the readings of the last
  ``trend_minutes`` (>= 3 readings spanning >= 10 minutes, no gap), when it falls. AR2 pulls its
  forecast back towards 140 mg/dL, so on a steady fast fall the line crosses first; from two
  readings only AR2 can fire. The target is the low threshold while the reading is at or above
  it. Below it the ``low`` alert already says so and only a forecast below the urgent low (Dexcom
  Urgent Low Soon, predicted <= 55 within 20 min) raises ``predicted_low``, with threshold 55;
  below the urgent low, ``urgent_low`` alone. Readings further apart (a gap, stale data) give no
  forecast. Value: the lowest forecast point within the horizon of the model that fired (the
  lower if both, AR2 on a tie); readings: that model's inputs (two for AR2, the window of >= 3
  for the linear trend, so the count says which model fired).
- ``rapid_rise`` / ``rapid_fall``: rate between two consecutive readings at most 15 minutes
  apart >= 3 mg/dL/min (Dexcom rise/fall alert setting).
- ``stale_15`` / ``stale_30``: no reading for 15 / 30 minutes (Nightscout warn / urgent),
  raised at the moment the data became that old.
- ``sensor_gap``: data resumed after a gap of more than 20 minutes (Dexcom signal-loss default);
  the gap is reported, never interpolated.
Glucose alarms fire only for readings less than 10 minutes old when they are processed
(Nightscout); a replay processes each reading at its own time unless an arrival time is given.
Every alert carries the readings that triggered it. Values are not rounded (machine-readable
output keeps full precision).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from precisionrx.errors import InputError
from precisionrx.records.monitoring import Alert, AlertReading, AlertType, CgmReading

URGENT_LOW = 55.0
ALERT_TYPES = tuple(t.value for t in AlertType)
#: Fields of an alert, in the order of the JSON object and of the CSV columns.
ALERT_FIELDS = ("subject", "time", "type", "value", "threshold", "readings")

#: Nightscout 15.0.7 ar2 plugin (lib/plugins/ar2.js; research notes monitoring.md section 4 and
#: kb cgm_alert_reference.csv, verified): an AR(2) model of x = ln(bg / 140),
#: x[t + 1] = -0.723 x[t - 1] + 1.716 x[t], in 5-minute steps, each point 140 e^x kept within
#: 36-400 mg/dL.
AR2_COEFFICIENTS = (-0.723, 1.716)
AR2_CENTRE = 140.0
AR2_STEP_MINUTES = 5.0
AR2_RANGE = (36.0, 400.0)
#: The linear trend of ``predicted_low`` (the rule before AR2, kept beside it): a least-squares line
#: through at least this many readings of the last ``trend_minutes``, spanning at least this long.
LINEAR_MIN_READINGS = 3
LINEAR_MIN_SPAN_MINUTES = 10.0


#: The engine's input record (records.monitoring.CgmReading), under its historical name.
Reading = CgmReading


class Timed(Protocol):
    """A reading as the forecasts see it: a time and a value."""

    @property
    def time(self) -> datetime: ...

    @property
    def value(self) -> float: ...


@dataclass
class AlertConfig:
    urgent_low: float = URGENT_LOW
    low: float = 70.0
    high: float = 250.0
    rate: float = 3.0  # mg/dL/min for rapid rise / fall
    predict_minutes: float = 20.0  # forecast horizon of predicted_low (Dexcom Urgent Low Soon)
    trend_minutes: float = 15.0  # the most two readings may be apart for a rate or a forecast
    repeat_minutes: float = 30.0
    fresh_minutes: float = 10.0
    stale_minutes: tuple[float, float] = (15.0, 30.0)
    gap_minutes: float = 20.0

    def __post_init__(self) -> None:
        if self.urgent_low < URGENT_LOW:
            raise InputError(f"the urgent-low threshold cannot be set below {URGENT_LOW:g} mg/dL")
        if not self.urgent_low <= self.low < self.high:
            raise InputError("thresholds must satisfy urgent_low <= low < high")


@dataclass(slots=True)
class RaisedAlert:
    """An alert as :class:`AlertEngine` raises it: the fields of
    :class:`~precisionrx.records.monitoring.Alert`, with the engine's own readings, not yet
    validated into that record.

    The engine's hot path builds these plain records (about 1 us each); validating a pydantic
    ``Alert`` with its ``AlertReading`` records costs about 12 us, which on a busy trace (0.6
    alerts per reading) was a third of the time of a ``feed``. :meth:`record` gives the ``Alert``;
    :func:`replay`, :func:`stream` and the ``on_alert`` callback hand out ``Alert`` records.
    Not to be modified.

    >>> raised = AlertEngine().feed(Reading("p", datetime(2024, 3, 1, 8, tzinfo=UTC), 50.0))
    >>> [(a.type.value, a.threshold) for a in raised]
    [('urgent_low', 55.0)]
    >>> Alert.model_validate_json(raised[0].record().model_dump_json()) == raised[0].record()
    True
    >>> raised[0].as_dict()["time"]
    '2024-03-01T08:00:00Z'
    """

    subject: str
    time: datetime
    type: AlertType
    value: float | None
    threshold: float | None
    readings: tuple[Reading, ...]

    def record(self) -> Alert:
        """The alert as the typed record of the JSON output (times and values validated)."""
        return Alert(
            subject=self.subject, time=self.time, type=self.type, value=self.value,
            threshold=self.threshold,
            readings=tuple(AlertReading(time=r.time, value=r.value) for r in self.readings),
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of the alert (that of :meth:`record`)."""
        return self.record().as_dict()


_ALERT_TYPES = {t.value: t for t in AlertType}


def _alert(
    subject: str,
    time: datetime,
    kind: str,
    value: float | None,
    threshold: float | None,
    readings: Sequence[Reading],
) -> RaisedAlert:
    return RaisedAlert(subject, time, _ALERT_TYPES[kind], value, threshold, tuple(readings))


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0


def ar2_forecast(previous: Reading, current: Reading, steps: int) -> list[float]:
    """Nightscout's AR2 forecast (mg/dL) ``steps`` x 5 minutes ahead of ``current``.

    The reading five minutes before ``current`` is taken on the straight line through the two
    readings (Nightscout scales the delta to 5 minutes when the previous reading is more than 9
    minutes old; here every interval is scaled, so 1-minute sensors are not under-forecast),
    kept within 36-400 mg/dL, and the AR(2) recursion runs in log space from it.
    """
    lo, hi = AR2_RANGE
    elapsed = _minutes(previous.time, current.time)
    before = current.value - (current.value - previous.value) * AR2_STEP_MINUTES / elapsed
    a, b = AR2_COEFFICIENTS
    x_prev = math.log(min(max(before, lo), hi) / AR2_CENTRE)
    x = math.log(current.value / AR2_CENTRE)
    out = []
    for _ in range(steps):
        x_prev, x = x, a * x_prev + b * x
        out.append(min(max(AR2_CENTRE * math.exp(x), lo), hi))
    return out


def linear_forecast(window: Sequence[Timed], minutes: float) -> float | None:
    """Least-squares line through ``window`` (time order), evaluated ``minutes`` after its last
    reading, kept within 36-400 mg/dL like AR2's points; None for fewer than 3 readings, a span
    under 10 minutes, or a line that does not fall (only a fall can forecast a low, and a falling
    line is lowest at the end of the horizon)."""
    return _falling_line([(_posix(w.time), w) for w in window], minutes)


def _posix(t: datetime) -> float:
    """Seconds since the epoch; a naive time is taken as UTC (not the machine's zone)."""
    return t.timestamp() if t.tzinfo is not None else t.replace(tzinfo=UTC).timestamp()


def _falling_line(points: Sequence[tuple[float, Timed]], minutes: float) -> float | None:
    """:func:`linear_forecast` on (POSIX seconds, reading) pairs (the engine's window)."""
    n = len(points)
    if n < LINEAR_MIN_READINGS:
        return None
    last, current = points[-1][0], points[-1][1].value
    if last - points[0][0] < LINEAR_MIN_SPAN_MINUTES * 60.0:
        return None
    sx = sy = sxx = sxy = 0.0
    falls = False
    before = points[0][1].value
    for t, w in points:
        x = (t - last) / 60.0  # minutes before the last reading
        y = w.value - current  # relative to the last reading: 0 on a flat trace
        falls = falls or w.value < before
        before = w.value
        sx += x
        sy += y
        sxx += x * x
        sxy += x * y
    if not falls:
        return None  # readings that never fall: no fall, whatever the rounding of the sums
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    if slope >= 0:
        return None
    lo, hi = AR2_RANGE
    return min(max(current + (sy + slope * (n * minutes - sx)) / n, lo), hi)


class AlertEngine:
    """Per-subject state machine; ``feed`` one reading at a time, ``tick`` for stale data."""

    def __init__(
        self,
        config: AlertConfig | None = None,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        """``on_alert`` (optional) is called with every alert as it is raised (callback API)."""
        self.config = config or AlertConfig()
        self.on_alert = on_alert
        self._last: dict[str, Reading] = {}
        # the linear trend's window per subject: (POSIX seconds, reading), oldest first
        self._recent: dict[str, deque[tuple[float, Reading]]] = {}
        self._last_fired: dict[tuple[str, str], datetime] = {}
        self._stale_done: dict[str, set[str]] = {}

    def _fire(self, subject: str, kind: str, at: datetime, repeat: float) -> bool:
        last = self._last_fired.get((subject, kind))
        if last is not None and _minutes(last, at) < repeat:
            return False
        self._last_fired[(subject, kind)] = at
        return True

    def tick(self, subject: str, now: datetime) -> list[RaisedAlert]:
        """Stale-data alerts for ``subject`` at clock time ``now``."""
        cfg = self.config
        last = self._last.get(subject)
        if last is None:
            return []
        done = self._stale_done.setdefault(subject, set())
        out = []
        for minutes, kind in zip(cfg.stale_minutes, ("stale_15", "stale_30"), strict=True):
            if kind not in done and _minutes(last.time, now) >= minutes:
                done.add(kind)
                out.append(_alert(subject, last.time + timedelta(minutes=minutes), kind,
                                  None, minutes, [last]))  # fmt: skip
        return out

    def feed(self, r: Reading) -> list[RaisedAlert]:
        """The alerts ``r`` raises (with the stale alerts reached before it), in the order of
        the rules, as :class:`RaisedAlert` (``.record()``: the typed ``Alert``); each also goes
        to ``on_alert`` as an ``Alert`` record."""
        alerts = self._feed(r)
        if self.on_alert is not None:
            for a in alerts:
                self.on_alert(a.record())
        return alerts

    def _feed(self, r: Reading) -> list[RaisedAlert]:
        cfg = self.config
        out: list[RaisedAlert] = []
        previous = self._last.get(r.subject)
        if previous is not None and r.time <= previous.time:
            return out  # duplicate or out-of-order (backfilled) reading: no alarms
        dt = 0.0
        if previous is not None:
            out += self.tick(r.subject, r.time)  # staleness reached before this reading
            dt = _minutes(previous.time, r.time)
            if dt > cfg.gap_minutes:
                out.append(_alert(r.subject, r.time, "sensor_gap", dt, cfg.gap_minutes,
                                  [previous, r]))  # fmt: skip
        self._stale_done[r.subject] = set()
        self._last[r.subject] = r
        recent = self._recent.get(r.subject)
        if recent is None:
            recent = self._recent[r.subject] = deque()
        elif dt > cfg.gap_minutes:
            recent.clear()  # never bridge a sensor gap
        now = _posix(r.time)
        recent.append((now, r))
        while now - recent[0][0] > cfg.trend_minutes * 60.0:
            recent.popleft()  # nor stale data: only the readings of the last trend_minutes
        arrived = r.received or r.time
        if _minutes(r.time, arrived) >= cfg.fresh_minutes:
            return out  # too old to alarm on
        v = r.value
        if v < cfg.urgent_low:
            out.append(_alert(r.subject, r.time, "urgent_low", v, cfg.urgent_low, [r]))
        elif v < cfg.low:
            if self._fire(r.subject, "low", r.time, cfg.repeat_minutes):
                out.append(_alert(r.subject, r.time, "low", v, cfg.low, [r]))
        elif v > cfg.high and self._fire(r.subject, "high", r.time, cfg.repeat_minutes):
            out.append(_alert(r.subject, r.time, "high", v, cfg.high, [r]))
        if previous is None or not 0 < dt <= cfg.trend_minutes:
            return out  # no rate and no forecast across a gap
        rate = (v - previous.value) / dt
        if rate >= cfg.rate and self._fire(r.subject, "rapid_rise", r.time, cfg.repeat_minutes):
            out.append(_alert(r.subject, r.time, "rapid_rise", rate, cfg.rate, [previous, r]))
        if rate <= -cfg.rate and self._fire(r.subject, "rapid_fall", r.time, cfg.repeat_minutes):
            out.append(_alert(r.subject, r.time, "rapid_fall", rate, -cfg.rate, [previous, r]))
        # already below the low threshold: only a coming urgent low is news
        target = cfg.low if v >= cfg.low else cfg.urgent_low
        if v >= cfg.urgent_low:
            predicted = self._predict(previous, r, recent)
            if predicted is not None:
                lowest, inputs = predicted
                if lowest < target and self._fire(
                    r.subject, f"predicted_low {target}", r.time, cfg.repeat_minutes
                ):
                    out.append(_alert(r.subject, r.time, "predicted_low", lowest, target,
                                      inputs))  # fmt: skip
        return out

    def _predict(
        self, previous: Reading, r: Reading, recent: deque[tuple[float, Reading]]
    ) -> tuple[float, list[Reading]] | None:
        """The lower of the AR2 and linear-trend forecasts (lowest point within the horizon) with
        the readings it came from; AR2 on a tie; None when neither forecasts a fall."""
        cfg = self.config
        best: tuple[float, list[Reading]] | None = None
        if r.value < previous.value:  # AR2: only a falling pair can forecast a low
            steps = int(cfg.predict_minutes // AR2_STEP_MINUTES)
            best = (min(ar2_forecast(previous, r, steps), default=r.value), [previous, r])
        line = _falling_line(recent, cfg.predict_minutes)
        if line is not None and (best is None or line < best[0]):
            best = (line, [w for _, w in recent])
        return best


def replay(readings: Iterable[Reading], config: AlertConfig | None = None) -> list[Alert]:
    """Alerts over recorded readings, in time order per subject (stale alerts included)."""
    engine = AlertEngine(config)
    out: list[RaisedAlert] = []
    by_subject: dict[str, list[Reading]] = {}
    for r in readings:
        by_subject.setdefault(r.subject, []).append(r)
    for subject in sorted(by_subject):
        for r in sorted(by_subject[subject], key=lambda x: x.time):
            out += engine.feed(r)
    return [a.record() for a in out]


async def stream(
    source: AsyncIterator[Reading], config: AlertConfig | None = None
) -> AsyncIterator[Alert]:
    """Streaming entry point: alerts as readings arrive (the same rules as ``replay``)."""
    engine = AlertEngine(config)
    async for r in source:
        for alert in engine.feed(r):
            yield alert.record()
