"""The plan's CGM alert history: the alert rules replayed over the last period and the one
before (the same readings the consensus metrics use), counted per type, with the newest alerts
listed one by one."""

from __future__ import annotations

import dataclasses

import polars as pl

from precisionrx.engines.monitoring.alerts import ALERT_TYPES, AlertConfig, Reading, replay
from precisionrx.records.monitoring import ALERTS_SHOWN, Alert, AlertHistory

NOTE = (
    "Retrospective: the alerts a live monitor with these thresholds would have raised on the "
    "uploaded readings (Dexcom and Nightscout default rules; the urgent low cannot be snoozed, "
    "other alerts repeat at most every 30 minutes). They were not sent to anyone."
)


def _alerts(frame: pl.DataFrame, config: AlertConfig) -> list[Alert]:
    return replay(
        (
            Reading(str(s), t, float(v))
            for s, t, v in zip(frame["id"], frame["time_utc"], frame["gl"], strict=True)
        ),
        config,
    )


def _counts(alerts: list[Alert]) -> dict[str, int]:
    counts = dict.fromkeys(ALERT_TYPES, 0)
    for a in alerts:
        counts[a.type.value] += 1
    return counts


def alert_history(recent: pl.DataFrame, before: pl.DataFrame, config: AlertConfig) -> AlertHistory:
    """Each period is replayed on its own, so an alert is counted in the period of its reading
    (a reading's rate or forecast never reaches across the boundary)."""
    current = _alerts(recent, config)
    previous = _alerts(before, config) if before.height else None
    thresholds = {k: float(v) for k, v in dataclasses.asdict(config).items()
                  if k in ("urgent_low", "low", "high", "rate")}  # fmt: skip
    newest = sorted(current, key=lambda a: a.time, reverse=True)[:ALERTS_SHOWN]
    return AlertHistory(
        thresholds=thresholds,
        current=_counts(current),
        previous=None if previous is None else _counts(previous),
        recent=newest,
        note=NOTE,
    )
