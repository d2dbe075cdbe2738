"""Continuous glucose monitoring (consensus metrics, AGP, alerts) and wearable vitals.

>>> import precisionrx as prx
>>> from precisionrx.api.monitor import demo_cgm
>>> result = prx.monitor.metrics(demo_cgm())
>>> subject = result.subjects[0]
>>> subject.n_readings, round(subject.in_range_70_180, 1), round(subject.gmi, 2)
(8064, 94.8, 6.06)
>>> sorted(v.name for v in result.provenance.knowledge_bases)
['limits', 'monitoring']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from precisionrx.engines.monitoring.api import (
    AlertSettings,
    cgm_agp,
    cgm_alerts,
    cgm_metrics,
    summarise_vitals,
)
from precisionrx.engines.monitoring.metrics_table import MetricOptions
from precisionrx.io.cgm import read_cgm
from precisionrx.io.vitals_inputs import read_vitals
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.monitoring import AgpResult, AlertsResult, CgmMetricsResult, VitalsSummary

__all__ = ["AlertSettings", "MetricOptions", "agp", "alerts", "demo_cgm", "metrics", "vitals"]


def metrics(
    cgm: str | Path,
    *,
    tz: str | None = None,
    settings: MetricOptions | None = None,
    kb: KnowledgeBase | None = None,
) -> CgmMetricsResult:
    """Consensus CGM metrics per subject of a CGM export (Dexcom, Libre, generic CSV, Open
    mHealth, FHIR), each checked against the international consensus targets."""
    kb = kb or KnowledgeBase()
    return cgm_metrics(read_cgm(cgm, tz), kb, settings)


def agp(cgm: str | Path, *, tz: str | None = None, kb: KnowledgeBase | None = None) -> AgpResult:
    """The ambulatory glucose profile data of a CGM export."""
    kb = kb or KnowledgeBase()
    return cgm_agp(read_cgm(cgm, tz), kb)


def alerts(
    cgm: str | Path,
    *,
    tz: str | None = None,
    settings: AlertSettings | None = None,
    kb: KnowledgeBase | None = None,
) -> AlertsResult:
    """Replays a CGM export through the alert engine (urgent low, predicted low, high, ...)."""
    kb = kb or KnowledgeBase()
    return cgm_alerts(read_cgm(cgm, tz), kb, settings)


def vitals(export: str | Path, *, kb: KnowledgeBase | None = None) -> VitalsSummary:
    """Resting heart rate, HRV, home blood pressure, activity and sleep from a health export
    (Apple Health, FHIR, Open mHealth)."""
    kb = kb or KnowledgeBase()
    return summarise_vitals(read_vitals(export), kb)


def demo_cgm() -> Path:
    """The bundled synthetic patient's CGM export."""
    return Path(str(resources.files("precisionrx.demo").joinpath("cgm.csv")))
