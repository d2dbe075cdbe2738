"""The monitoring engine's entry points: one per use, each pure (records in, a typed result out).

Inputs are read by ``io`` first (``io.cgm.read_cgm`` / ``read_cgm_files`` ->
:class:`~precisionrx.records.monitoring.CgmReadings`; ``io.vitals_inputs.read_vitals`` /
``io.apple_health.read_apple_health`` -> ``HealthExport``); nothing here reads or writes files,
and nothing starts processes (:func:`cgm_metrics` takes the caller's ``mapper``).

- :func:`cgm_metrics` — ``monitor metrics``: every metric per subject with the consensus
  assessment (:class:`~precisionrx.records.monitoring.CgmMetricsResult`);
- :func:`cgm_agp` — ``monitor agp``: the AGP data per subject (``AgpResult``);
- :func:`cgm_alerts` — ``monitor alerts``: the alert rules replayed (``AlertsResult``);
- :func:`summarise_vitals` — ``monitor vitals``: the export's vitals (``VitalsSummary``);
- :func:`review_patient_cgm` / :func:`review_patient_vitals` — the plan's monitoring and vitals
  sections with their findings (``MonitoringReview`` / ``VitalsReview``).

Every result carries the reader's caveats and its provenance (tool and knowledge-base versions,
the sha256 of the input files, the settings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from precisionrx.engines.monitoring.agp import agp_data, with_svg
from precisionrx.engines.monitoring.alert_history import alert_history
from precisionrx.engines.monitoring.alerts import AlertConfig, Reading, replay
from precisionrx.engines.monitoring.consensus import (
    alert_thresholds,
    assess,
    check_population,
    sufficiency,
)  # fmt: skip
from precisionrx.engines.monitoring.findings import (
    PERIOD_DAYS,
    cgm_findings,
    changes,
    glucose_units,
    period_metrics,
    split_periods,
)  # fmt: skip
from precisionrx.engines.monitoring.metrics_table import Mapper, MetricOptions, metrics_table
from precisionrx.engines.monitoring.vitals import (
    apple_hrv,
    heart_rate,
    home_bp,
    hrv_time_domain,
    mean_hrv_sdnn,
    recent_home_bp,
    resting_heart_rate,
    resting_trend,
    sleep_summary,
    step_activity,
)  # fmt: skip
from precisionrx.errors import InputError
from precisionrx.io.apple_health import HealthExport
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.evidence import Provenance, fingerprint
from precisionrx.records.monitoring import (
    AgpResult,
    AlertsResult,
    CgmMetricsResult,
    CgmReadings,
    MonitoringReview,
    MonitoringSection,
    SubjectMetrics,
    VitalsReview,
    VitalsSection,
    VitalsSummary,
)  # fmt: skip

#: Knowledge bases behind every CGM result: the consensus targets and alert reference
#: (``monitoring``) and the plausibility table the readers applied (``limits``).
CGM_SOURCES = ["monitoring", "limits"]
GMI_NOTE = (
    "GMI estimates HbA1c from CGM; the risk equations use it only when no laboratory HbA1c "
    "is recorded, and say so"
)


@dataclass(frozen=True)
class AlertSettings:
    """The alert thresholds: the low / high ones from the population's consensus targets
    unless given (mg/dL); the urgent low (>= 55) and the rapid rise / fall rate (mg/dL/min)."""

    population: str = "adult"
    low: float | None = None
    high: float | None = None
    urgent_low: float = 55.0
    rate: float = 3.0

    def __post_init__(self) -> None:
        check_population(self.population)


def _input_sha256(readings: CgmReadings) -> str:
    if readings.sha256 is not None:
        return readings.sha256
    return fingerprint(readings.frame.select("id", "time_utc", "gl").write_csv())


def _provenance(kb: KnowledgeBase, readings: CgmReadings, parameters: dict[str, str]) -> Provenance:
    return kb.provenance(CGM_SOURCES, _input_sha256(readings), parameters)


def cgm_metrics(
    readings: CgmReadings,
    kb: KnowledgeBase,
    settings: MetricOptions | None = None,
    *,
    mapper: Mapper | None = None,
    progress: Callable[[], None] | None = None,
) -> CgmMetricsResult:
    """Every CGM metric per subject (iglu's names, docs/cli/monitor.md) and the consensus
    targets of ``settings.population``, subjects in order of first appearance.

    ``mapper`` runs the per-subject jobs (default ``map`` here; a worker pool's ``map`` for
    large inputs: the caller's choice); ``progress`` is called once per finished subject."""
    settings = settings or MetricOptions()
    table = metrics_table(readings.frame, settings, progress, mapper)
    table = table.with_columns(
        pl.col("first", "last").dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
    )
    subjects = [
        SubjectMetrics(**row, consensus=assess(row, kb, settings.population))
        for row in table.iter_rows(named=True)
    ]
    return CgmMetricsResult(
        subjects=subjects,
        caveats=list(readings.caveats),
        provenance=_provenance(kb, readings, settings.parameters()),
    )


def cgm_agp(readings: CgmReadings, kb: KnowledgeBase) -> AgpResult:
    """The AGP data (statistics, five bands, modal day, daily profiles) of every subject, in
    order of first appearance; no drawings (the renderer adds them)."""
    frame = readings.frame
    return AgpResult(
        agps=[agp_data(frame, s) for s in frame["id"].unique(maintain_order=True).to_list()],
        caveats=list(readings.caveats),
        provenance=_provenance(kb, readings, {}),
    )


def alert_config(kb: KnowledgeBase, settings: AlertSettings) -> AlertConfig:
    """The alert engine's configuration: the population's low / high thresholds unless given;
    an InputError when they do not satisfy urgent_low <= low < high."""
    target_low, target_high = alert_thresholds(kb, settings.population)
    return AlertConfig(
        urgent_low=settings.urgent_low,
        low=target_low if settings.low is None else settings.low,
        high=target_high if settings.high is None else settings.high,
        rate=settings.rate,
    )


def cgm_alerts(
    readings: CgmReadings, kb: KnowledgeBase, settings: AlertSettings | None = None
) -> AlertsResult:
    """The alert rules (engines/monitoring/alerts.py) replayed over the readings, in time order
    per subject; the low / high thresholds from the population's targets unless given."""
    settings = settings or AlertSettings()
    config = alert_config(kb, settings)
    frame = readings.frame
    raised = replay(
        (
            Reading(str(s), t, float(v))
            for s, t, v in zip(frame["id"], frame["time_utc"], frame["gl"], strict=True)
        ),
        config,
    )
    parameters = {k: str(v) for k, v in dataclasses.asdict(config).items()}
    return AlertsResult(
        alerts=raised,
        caveats=list(readings.caveats),
        provenance=_provenance(kb, readings, {"population": settings.population, **parameters}),
    )


def _vitals_sha256(export: HealthExport) -> str:
    if export.sha256 is not None:
        return export.sha256
    return fingerprint(dataclasses.asdict(export))


def summarise_vitals(export: HealthExport, kb: KnowledgeBase) -> VitalsSummary:
    """Heart rate, resting heart rate, HRV, home blood pressure, activity and sleep of a whole
    export (each only when the export has it)."""
    return VitalsSummary(
        source=export.source,
        records_skipped=export.skipped,
        caveats=list(export.caveats),
        resting_heart_rate=resting_heart_rate(export),
        hrv=apple_hrv(export),
        hrv_nn=hrv_time_domain(np.array(export.rr_ms)) if export.rr_ms else None,
        heart_rate=heart_rate(export),
        home_blood_pressure=home_bp(export.blood_pressure) if export.blood_pressure else None,
        activity=step_activity(export),
        sleep=sleep_summary(export),
        glucose_readings=len(export.glucose),
        provenance=kb.provenance(["limits"], _vitals_sha256(export)),
    )


def review_patient_vitals(export: HealthExport, kb: KnowledgeBase) -> VitalsReview:
    """The plan's vitals: resting heart rate of the last 14 days vs the 14 before (a finding
    when it rose by >= 5 bpm), Apple's HRV SDNN, and the home blood pressure of the last 14
    days (ESH protocol), with the reader's caveats."""
    trend, findings = resting_trend(export, export.source)
    section = VitalsSection(
        source=export.source,
        resting_heart_rate=trend,
        hrv_sdnn_ms=mean_hrv_sdnn(export),
        home_blood_pressure=recent_home_bp(export),
        caveats=list(export.caveats),
        provenance=kb.provenance(["limits"], _vitals_sha256(export), {"period_days": "14"}),
    )
    return VitalsReview(section=section, findings=findings)


#: Age from which the plan assesses CGM against the consensus' older/high-risk targets (TIR
#: > 50 %, below 70 < 1 %; Battelino 2019): the ADA Standards of Care's older adults (>= 65 y,
#: section 13).
OLDER_ADULT_AGE = 65


def review_patient_cgm(
    readings: CgmReadings,
    kb: KnowledgeBase,
    *,
    subject: str,
    source: str,
    age_years: float | None = None,
    country: str | None = None,
) -> MonitoringReview:
    """The plan's CGM section for one patient (``subject``: the record's id; ``source``: the
    file, named in the findings): the last 14 days and the 14 before, the consensus targets
    (adult, or older/high-risk from :data:`OLDER_ADULT_AGE`), the AGP of the last 14 days
    (modal day only), ``gmi_for_risk`` and the findings (engines/monitoring/findings.py)."""
    older = age_years is not None and age_years >= OLDER_ADULT_AGE
    population = "older_high_risk" if older else "adult"
    frame = readings.frame.with_columns(pl.lit(subject).alias("id"))
    recent, before = split_periods(frame)
    current = period_metrics(recent)
    if current is None:
        raise InputError("no CGM readings in the last 14 days", path=source)
    previous = period_metrics(before)
    consensus = assess(current.model_dump(), kb, population)
    change = changes(current, previous)
    caveats = list(readings.caveats)
    if not consensus.sufficient_data:
        caveats.append(sufficiency(current.model_dump())[1])
    history = alert_history(recent, before, alert_config(kb, AlertSettings(population=population)))
    section = MonitoringSection(
        source=source,
        timezone=readings.tz,
        period_days=PERIOD_DAYS,
        current=current,
        previous=previous,
        changes=change,
        consensus=consensus,
        agp=with_svg(agp_data(recent, subject), daily=False),
        gmi_for_risk=current.gmi if consensus.sufficient_data else None,
        gmi_note=GMI_NOTE,
        alert_history=history,
        caveats=caveats,
        provenance=_provenance(
            kb, readings, {"population": population, "period_days": str(PERIOD_DAYS)}
        ),
    )
    return MonitoringReview(
        section=section,
        findings=cgm_findings(current, previous, change, consensus, source, glucose_units(country)),
    )
