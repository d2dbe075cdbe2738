"""Deterministic CGM alert rules, shared by file replay and the streaming entry point.

Rules (defaults from Dexcom G6/G7 labelling and Nightscout 15.0.7, kb cgm_alert_reference.csv;
every threshold except the urgent low can be personalised):
- ``urgent_low``: reading < 55 mg/dL. Fixed at 55 (it can be raised, never lowered), cannot be
  snoozed: it repeats on every qualifying reading.
- ``low``: reading < ``low`` (default 70); ``high``: reading > ``high`` (default 250). Each repeats
  at most every ``repeat_minutes`` (default 30) while the condition lasts.
- ``predicted_low``: not yet below the urgent-low threshold, but the straight-line trend of the
  readings of the last 15 minutes (least squares, >= 3 readings spanning >= 10 minutes, no gap)
  reaches it within 20 minutes (Dexcom "Urgent Low Soon": predicted <= 55 within 20 min).
- ``rapid_rise`` / ``rapid_fall``: rate between two consecutive readings at most 15 minutes
  apart >= 3 mg/dL/min (Dexcom rise/fall alert setting).
- ``stale_15`` / ``stale_30``: no reading for 15 / 30 minutes (Nightscout warn / urgent),
  raised at the moment the data became that old.
- ``sensor_gap``: data resumed after a gap of more than 20 minutes (Dexcom signal-loss default);
  the gap is reported, never interpolated.
Glucose alarms fire only for readings less than 10 minutes old when they are processed
(Nightscout); a replay processes each reading at its own time unless an arrival time is given.
Every alert carries the readings that triggered it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

URGENT_LOW = 55.0
ALERT_TYPES = (
    "urgent_low", "low", "high", "predicted_low", "rapid_rise", "rapid_fall", "stale_15",
    "stale_30", "sensor_gap",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reading:
    subject: str
    time: datetime  # UTC instant of the measurement
    value: float  # mg/dL
    received: datetime | None = None  # when it arrived (None: at ``time``)


@dataclass
class AlertConfig:
    urgent_low: float = URGENT_LOW
    low: float = 70.0
    high: float = 250.0
    rate: float = 3.0  # mg/dL/min for rapid rise / fall
    predict_minutes: float = 20.0
    trend_minutes: float = 15.0
    repeat_minutes: float = 30.0
    fresh_minutes: float = 10.0
    stale_minutes: tuple[float, float] = (15.0, 30.0)
    gap_minutes: float = 20.0

    def __post_init__(self) -> None:
        if self.urgent_low < URGENT_LOW:
            raise ValueError(f"the urgent-low threshold cannot be set below {URGENT_LOW:g} mg/dL")
        if not self.urgent_low <= self.low < self.high:
            raise ValueError("thresholds must satisfy urgent_low <= low < high")


@dataclass
class Alert:
    subject: str
    time: datetime
    type: str
    value: float | None
    threshold: float | None
    readings: list[Reading] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "type": self.type,
            "value": self.value,
            "threshold": self.threshold,
            "readings": [
                {"time": r.time.isoformat().replace("+00:00", "Z"), "value": r.value}
                for r in self.readings
            ],
        }


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0


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
        self._recent: dict[str, deque[Reading]] = {}
        self._last_fired: dict[tuple[str, str], datetime] = {}
        self._stale_done: dict[str, set[str]] = {}

    def _fire(self, subject: str, kind: str, at: datetime, repeat: float) -> bool:
        last = self._last_fired.get((subject, kind))
        if last is not None and _minutes(last, at) < repeat:
            return False
        self._last_fired[(subject, kind)] = at
        return True

    def tick(self, subject: str, now: datetime) -> list[Alert]:
        """Stale-data alerts for ``subject`` at clock time ``now``."""
        cfg = self.config
        recent = self._recent.get(subject)
        if not recent:
            return []
        last = recent[-1]
        done = self._stale_done.setdefault(subject, set())
        out = []
        for minutes, kind in zip(cfg.stale_minutes, ("stale_15", "stale_30"), strict=True):
            if kind not in done and _minutes(last.time, now) >= minutes:
                done.add(kind)
                out.append(Alert(subject, last.time + timedelta(minutes=minutes), kind,
                                 None, minutes, [last]))  # fmt: skip
        return out

    def feed(self, r: Reading) -> list[Alert]:
        alerts = self._feed(r)
        if self.on_alert is not None:
            for a in alerts:
                self.on_alert(a)
        return alerts

    def _feed(self, r: Reading) -> list[Alert]:
        cfg = self.config
        out: list[Alert] = []
        recent = self._recent.setdefault(r.subject, deque())
        previous = recent[-1] if recent else None
        if previous is not None and r.time <= previous.time:
            return out  # duplicate or out-of-order (backfilled) reading: no alarms
        if previous is not None:
            out += self.tick(r.subject, r.time)  # staleness reached before this reading
            gap = _minutes(previous.time, r.time)
            if gap > cfg.gap_minutes:
                out.append(Alert(r.subject, r.time, "sensor_gap", round(gap, 1),
                                 cfg.gap_minutes, [previous, r]))  # fmt: skip
                recent.clear()  # never bridge a gap
        self._stale_done[r.subject] = set()
        recent.append(r)
        while recent and _minutes(recent[0].time, r.time) > cfg.trend_minutes:
            recent.popleft()
        arrived = r.received or r.time
        if _minutes(r.time, arrived) >= cfg.fresh_minutes:
            return out  # too old to alarm on
        v = r.value
        if v < cfg.urgent_low:
            out.append(Alert(r.subject, r.time, "urgent_low", v, cfg.urgent_low, [r]))
        elif v < cfg.low:
            if self._fire(r.subject, "low", r.time, cfg.repeat_minutes):
                out.append(Alert(r.subject, r.time, "low", v, cfg.low, [r]))
        elif v > cfg.high and self._fire(r.subject, "high", r.time, cfg.repeat_minutes):
            out.append(Alert(r.subject, r.time, "high", v, cfg.high, [r]))
        if previous is not None and previous in recent:
            dt = _minutes(previous.time, r.time)
            if 0 < dt <= cfg.trend_minutes:
                rate = (v - previous.value) / dt
                if rate >= cfg.rate and self._fire(
                    r.subject, "rapid_rise", r.time, cfg.repeat_minutes
                ):
                    out.append(Alert(r.subject, r.time, "rapid_rise", round(rate, 3), cfg.rate,
                                     [previous, r]))  # fmt: skip
                if rate <= -cfg.rate and self._fire(r.subject, "rapid_fall", r.time,
                                                    cfg.repeat_minutes):  # fmt: skip
                    out.append(Alert(r.subject, r.time, "rapid_fall", round(rate, 3), -cfg.rate,
                                     [previous, r]))  # fmt: skip
        if v >= cfg.urgent_low:
            predicted = self._predict(list(recent))
            if (
                predicted is not None
                and predicted < cfg.urgent_low
                and self._fire(r.subject, "predicted_low", r.time, cfg.repeat_minutes)
            ):
                out.append(Alert(r.subject, r.time, "predicted_low", round(predicted, 1),
                                 cfg.urgent_low, list(recent)))  # fmt: skip
        return out

    def _predict(self, window: list[Reading]) -> float | None:
        """Least-squares line through the window, evaluated ``predict_minutes`` ahead."""
        cfg = self.config
        if len(window) < 3 or _minutes(window[0].time, window[-1].time) < 10:
            return None
        t0 = window[0].time
        xs = [_minutes(t0, w.time) for w in window]
        ys = [w.value for w in window]
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx == 0:
            return None
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
        return my + slope * (xs[-1] + cfg.predict_minutes - mx)


def replay(readings: Iterable[Reading], config: AlertConfig | None = None) -> list[Alert]:
    """Alerts over recorded readings, in time order per subject (stale alerts included)."""
    engine = AlertEngine(config)
    out: list[Alert] = []
    by_subject: dict[str, list[Reading]] = {}
    for r in readings:
        by_subject.setdefault(r.subject, []).append(r)
    for subject in sorted(by_subject):
        for r in sorted(by_subject[subject], key=lambda x: x.time):
            out += engine.feed(r)
    return out


async def stream(
    source: AsyncIterator[Reading], config: AlertConfig | None = None
) -> AsyncIterator[Alert]:
    """Streaming entry point: alerts as readings arrive (the same rules as ``replay``)."""
    engine = AlertEngine(config)
    async for r in source:
        for alert in engine.feed(r):
            yield alert
