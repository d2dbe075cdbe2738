"""Continuous-monitoring records: CGM readings in, metrics, consensus assessment, AGP data,
alerts, wearable vitals and the plan's monitoring and vitals sections out.

Field names and meanings are the JSON keys of ``precisionrx monitor metrics|alerts|vitals``
and of the plan's ``monitoring`` / ``vitals`` sections (docs/cli/monitor.md). Numbers are
never rounded; a value that cannot be computed is ``None`` (JSON ``null``), never NaN.

>>> a = Alert(subject="p", time="2024-03-01T08:00:00Z", type="low", value=68.0, threshold=70.0,
...           readings=[AlertReading(time="2024-03-01T08:00:00Z", value=68.0)])
>>> a.as_dict()["time"], Alert.model_validate_json(a.model_dump_json()) == a
('2024-03-01T08:00:00Z', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
)

from precisionrx.records.evidence import Caveat, EngineResult, Finding

TimeT = TypeVar("TimeT", str, datetime)

# -- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CgmReading:
    """One glucose reading (the alert engine's hot-path input)."""

    subject: str
    time: datetime  # UTC instant of the measurement
    value: float  # mg/dL
    received: datetime | None = None  # when it arrived (None: at ``time``)


@dataclass(frozen=True)
class CgmReadings:
    """CGM readings as read by ``io.cgm``: one table ``id, time_utc, local, gl`` (mg/dL; UTC
    instants and local wall-clock times), the zone of the local times, the reader's caveats
    and the sha256 of the source file(s) (None when the table was not read from files)."""

    frame: pl.DataFrame
    tz: str
    caveats: list[Caveat] = field(default_factory=list)
    sha256: str | None = None


# -- JSON shape -----------------------------------------------------------------------------


class _Shaped(BaseModel):
    """Keeps today's JSON shape: ``key_order`` first (the rest after, in field order), keys of
    ``omit_none`` left out when None and of ``omit_empty`` when empty (top level only)."""

    key_order: ClassVar[tuple[str, ...]] = ()
    omit_none: ClassVar[frozenset[str]] = frozenset()
    omit_empty: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in self.omit_none:
            if key in data and data[key] is None:
                del data[key]
        for key in self.omit_empty:
            if key in data and not data[key]:
                del data[key]
        if not self.key_order:
            return data
        head = {k: data[k] for k in self.key_order if k in data}
        return head | {k: v for k, v in data.items() if k not in head}


class _Result(EngineResult, _Shaped):
    """An engine result: the domain fields first, then ``caveats`` and ``provenance``."""

    @model_serializer(mode="wrap")
    def _shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = _Shaped._shape(self, handler)
        if not self.key_order:
            for key in ("caveats", "provenance"):
                if key in data:
                    data[key] = data.pop(key)
        return data


# -- CGM metrics ----------------------------------------------------------------------------


class _GlucoseSummary(BaseModel, Generic[TimeT]):
    """The reading-level metrics shared by the metrics table and the AGP panel, in the column
    order of the metrics CSV (definitions in docs/cli/monitor.md); ``first`` / ``last``: the
    first and last instant (UTC), as text or as an instant."""

    model_config = ConfigDict(frozen=True)

    id: str
    n_readings: int
    first: TimeT
    last: TimeT
    mean: float | None = None
    sd: float | None = None
    cv: float | None = None
    gmi: float | None = None
    gmi_mmol_mol: float | None = None
    ea1c: float | None = None
    in_range_70_180: float | None = None
    in_range_70_140: float | None = None
    in_range_63_140: float | None = None
    below_54: float | None = None
    below_63: float | None = None
    below_70: float | None = None
    above_140: float | None = None
    above_180: float | None = None
    above_250: float | None = None
    lbgi: float | None = None
    hbgi: float | None = None
    j_index: float | None = None
    m_value: float | None = None
    hyper_index: float | None = None
    hypo_index: float | None = None
    igc: float | None = None
    grade: float | None = None
    grade_hypo: float | None = None
    grade_eugly: float | None = None
    grade_hyper: float | None = None
    cogi: float | None = None
    gri: float | None = None
    gri_hypo: float | None = None
    gri_hyper: float | None = None
    gri_zone: str | None = None


class CgmMetricValues(_GlucoseSummary[str]):
    """Every CGM metric of one subject (or one period), in the column order of the metrics
    CSV; definitions in docs/cli/monitor.md. ``first`` / ``last``: the first and last instant
    (UTC) as text."""

    min: float | None = None
    q25: float | None = None
    median: float | None = None
    q75: float | None = None
    max: float | None = None
    iqr: float | None = None
    mad: float | None = None
    days: float | None = None
    active_percent: float | None = None
    adrr: float | None = None
    mag: float | None = None
    gvp: float | None = None
    cv_mean: float | None = None
    cv_sd: float | None = None
    modd: float | None = None
    conga: float | None = None
    sd_roc: float | None = None
    dt0: float | None = None
    sdw: float | None = None
    sdhhmm: float | None = None
    sdwsh: float | None = None
    sddm: float | None = None
    sdb: float | None = None
    sdbdm: float | None = None
    auc: float | None = None
    mage: float | None = None
    mage_plus: float | None = None
    mage_minus: float | None = None
    mage_service: float | None = None
    mage_max: float | None = None
    hypo_level1_per_day: float | None = None
    hypo_level2_per_day: float | None = None
    hypo_extended_per_day: float | None = None
    hyper_level1_per_day: float | None = None
    hyper_level2_per_day: float | None = None
    hyper_extended_per_day: float | None = None
    hypo_level1_excl_per_day: float | None = None
    hyper_level1_excl_per_day: float | None = None
    hypo_level1_mean_duration: float | None = None
    hypo_level2_mean_duration: float | None = None
    hypo_extended_mean_duration: float | None = None
    hyper_level1_mean_duration: float | None = None
    hyper_level2_mean_duration: float | None = None
    hyper_extended_mean_duration: float | None = None
    hypo_level1_excl_mean_duration: float | None = None
    hyper_level1_excl_mean_duration: float | None = None
    hypo_level1_mean_glucose: float | None = None
    hypo_level2_mean_glucose: float | None = None
    hypo_extended_mean_glucose: float | None = None
    hyper_level1_mean_glucose: float | None = None
    hyper_level2_mean_glucose: float | None = None
    hyper_extended_mean_glucose: float | None = None
    hypo_level1_excl_mean_glucose: float | None = None
    hyper_level1_excl_mean_glucose: float | None = None


class ConsensusCheck(_Shaped):
    """One consensus target: the metric, its target (``"< 4"``), the value and whether it is
    met (None when the value is missing); ``caveat`` when the wear is insufficient."""

    model_config = ConfigDict(frozen=True)
    omit_none: ClassVar[frozenset[str]] = frozenset({"caveat"})

    metric: str
    target: str
    value: float | None
    met: bool | None
    caveat: Caveat | None = None


class ConsensusAssessment(BaseModel):
    """The International Consensus on Time in Range targets of a population (Battelino 2019)."""

    model_config = ConfigDict(frozen=True)

    population: str
    sufficient_data: bool
    all_met: bool
    checks: list[ConsensusCheck]
    source: str


class SubjectMetrics(CgmMetricValues):
    """One subject of ``monitor metrics``: the metrics and the consensus assessment."""

    consensus: ConsensusAssessment


class CgmMetricsResult(_Result):
    """``precisionrx monitor metrics`` (JSON ``{"subjects": [...], "caveats": [...]}``)."""

    subjects: list[SubjectMetrics]


# -- AGP ------------------------------------------------------------------------------------


class AgpStats(_GlucoseSummary[datetime]):
    """The AGP statistics panel: the reading-level metrics, days and % time CGM active."""

    min: float | None = None
    max: float | None = None
    days: float | None = None
    active_percent: float | None = None


class AgpBands(BaseModel):
    """Percent of readings in the five AGP bands (< 54, 54-69, 70-180, 181-250, > 250)."""

    model_config = ConfigDict(frozen=True)

    very_low: float | None
    low: float | None
    in_range: float | None
    high: float | None
    very_high: float | None


class ModalDayBin(BaseModel):
    """One 15-minute bin of the modal day: percentiles (R type 7) of its readings."""

    model_config = ConfigDict(frozen=True)

    minute: int
    p5: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p95: float | None


class DailyProfile(_Shaped):
    """One local calendar day's (minute of the day, mg/dL) points; ``svg`` once drawn."""

    model_config = ConfigDict(frozen=True)
    omit_none: ClassVar[frozenset[str]] = frozenset({"svg"})

    date: str
    points: list[tuple[int, float]]
    svg: str | None = None


class AgpData(_Shaped):
    """Everything the AGP page shows for one subject; ``profile_svg`` once drawn."""

    model_config = ConfigDict(frozen=True)
    omit_none: ClassVar[frozenset[str]] = frozenset({"profile_svg"})

    subject: str
    first: str
    last: str
    stats: AgpStats
    bands: AgpBands
    modal_day: list[ModalDayBin]
    daily: list[DailyProfile]
    profile_svg: str | None = None


class AgpResult(_Result):
    """``precisionrx monitor agp``: one AGP per subject, in order of first appearance."""

    agps: list[AgpData]


# -- alerts ---------------------------------------------------------------------------------


class AlertType(StrEnum):
    URGENT_LOW = "urgent_low"
    LOW = "low"
    HIGH = "high"
    PREDICTED_LOW = "predicted_low"
    RAPID_RISE = "rapid_rise"
    RAPID_FALL = "rapid_fall"
    STALE_15 = "stale_15"
    STALE_30 = "stale_30"
    SENSOR_GAP = "sensor_gap"


def iso_time(t: datetime) -> str:
    """An instant as ISO 8601 text, UTC written ``Z``."""
    return t.isoformat().replace("+00:00", "Z")


class AlertReading(BaseModel):
    """A reading that triggered an alert."""

    model_config = ConfigDict(frozen=True)

    time: datetime
    value: float

    @field_serializer("time")
    def _time(self, t: datetime) -> str:
        return iso_time(t)


class Alert(BaseModel):
    """One CGM alert with the readings that triggered it (values unrounded)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    time: datetime
    type: AlertType
    value: float | None
    threshold: float | None
    readings: tuple[AlertReading, ...] = ()

    @field_serializer("time")
    def _time(self, t: datetime) -> str:
        return iso_time(t)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of the alert."""
        return self.model_dump(mode="json")


class AlertsResult(_Result):
    """``precisionrx monitor alerts``: the alerts in time order per subject."""

    alerts: list[Alert]


# -- wearable vitals ------------------------------------------------------------------------


class HrvTimeDomain(_Shaped):
    """SDNN, RMSSD and pNN50 (ms, %) from NN intervals (Task Force 1996)."""

    model_config = ConfigDict(frozen=True)
    omit_none: ClassVar[frozenset[str]] = frozenset({"mean_nn"})

    sdnn: float | None
    rmssd: float | None
    pnn50: float | None
    n_intervals: float
    mean_nn: float | None = None


class HomeBloodPressure(_Shaped):
    """Home blood pressure by the ESH protocol (day 1 discarded) with its categories; only
    ``n`` (0) when there are no readings."""

    model_config = ConfigDict(frozen=True)
    omit_none: ClassVar[frozenset[str]] = frozenset(
        {"days", "mean_sbp", "mean_dbp", "acc_aha_2017", "esh_2023", "home_hypertension_135_85"}
    )
    omit_empty: ClassVar[frozenset[str]] = frozenset({"caveats"})

    n: int
    days: int | None = None
    mean_sbp: float | None = None
    mean_dbp: float | None = None
    acc_aha_2017: str | None = None
    esh_2023: str | None = None
    home_hypertension_135_85: bool | None = None
    caveats: list[Caveat] = Field(default_factory=list)


class Activity(BaseModel):
    """Steps and moderate / vigorous minutes per week against WHO 2020."""

    model_config = ConfigDict(frozen=True)

    steps_per_day: float | None
    moderate_minutes_per_week: float
    vigorous_minutes_per_week: float
    who_2020_met: bool
    source: str


class Sleep(BaseModel):
    model_config = ConfigDict(frozen=True)

    sleep_hours_per_night: float | None
    efficiency: float | None
    nights: int


class RestingHeartRate(BaseModel):
    """Mean of the daily means of the device's resting heart rate."""

    model_config = ConfigDict(frozen=True)

    mean_bpm: float
    days: int


class AppleHrv(BaseModel):
    model_config = ConfigDict(frozen=True)

    sdnn_ms_mean: float
    n: int
    note: str


class HeartRate(BaseModel):
    model_config = ConfigDict(frozen=True)

    mean_bpm: float
    n: int


class VitalsSummary(_Result):
    """``precisionrx monitor vitals``: each stream only when the export has it."""

    key_order: ClassVar[tuple[str, ...]] = (
        "source", "records_skipped", "caveats", "resting_heart_rate", "hrv", "hrv_nn",
        "heart_rate", "home_blood_pressure", "activity", "sleep", "glucose_readings",
    )  # fmt: skip
    omit_none: ClassVar[frozenset[str]] = frozenset(
        {"resting_heart_rate", "hrv", "hrv_nn", "heart_rate", "home_blood_pressure",
         "activity", "sleep"}
    )  # fmt: skip
    omit_empty: ClassVar[frozenset[str]] = frozenset({"caveats"})

    source: str
    records_skipped: int
    resting_heart_rate: RestingHeartRate | None = None
    hrv: AppleHrv | None = None
    hrv_nn: HrvTimeDomain | None = None
    heart_rate: HeartRate | None = None
    home_blood_pressure: HomeBloodPressure | None = None
    activity: Activity | None = None
    sleep: Sleep | None = None
    glucose_readings: int


# -- plan sections --------------------------------------------------------------------------


class PeriodMetrics(CgmMetricValues):
    """The CGM metrics of one 14-day period of the plan, with its nocturnal lows: readings
    < 70 mg/dL between 00:00 and 06:00 local time, and the level 1 hypoglycaemic episodes
    (>= 15 min < 70 mg/dL, Battelino 2023) that start in those hours."""

    nocturnal_lows: int
    nocturnal_hypo_episodes: int = 0


class AlertHistory(BaseModel):
    """The CGM alerts a live monitor would have raised over the plan's two periods: the alert
    rules (engines/monitoring/alerts.py, Dexcom and Nightscout defaults) replayed over the
    uploaded readings with the population's low and high thresholds."""

    model_config = ConfigDict(frozen=True)

    #: ``urgent_low``, ``low``, ``high`` (mg/dL) and ``rate`` (mg/dL/min) as used.
    thresholds: dict[str, float]
    #: Alerts per type in the last ``period_days`` days (every type listed, zeros included).
    current: dict[str, int]
    #: The same for the period before; None when there are no readings then.
    previous: dict[str, int] | None
    #: The newest alerts of the last period, newest first, at most :data:`ALERTS_SHOWN`.
    recent: list[Alert]
    note: str


#: Most alerts of the last period a plan lists one by one (the counts cover them all).
ALERTS_SHOWN = 50


class MonitoringSection(_Result):
    """The plan's CGM section: the last 14 days vs the 14 before, consensus targets, the AGP
    (modal day only) and the GMI offered to the risk equations."""

    source: str
    timezone: str
    period_days: int
    current: PeriodMetrics
    previous: PeriodMetrics | None
    changes: dict[str, float | None]
    consensus: ConsensusAssessment
    agp: AgpData
    gmi_for_risk: float | None
    gmi_note: str
    alert_history: AlertHistory | None = None


class MonitoringReview(BaseModel):
    """The monitoring section and the findings it raises (for the plan's key findings)."""

    section: MonitoringSection
    findings: list[Finding] = Field(default_factory=list)


class RestingHeartRateTrend(BaseModel):
    model_config = ConfigDict(frozen=True)

    last_14_days: float | None
    previous_14_days: float | None


class VitalsSection(_Result):
    """The plan's wearable vitals: resting heart rate trend, Apple's HRV SDNN, home BP."""

    key_order: ClassVar[tuple[str, ...]] = (
        "source", "resting_heart_rate", "hrv_sdnn_ms", "home_blood_pressure", "caveats",
    )  # fmt: skip
    omit_none: ClassVar[frozenset[str]] = frozenset(
        {"resting_heart_rate", "hrv_sdnn_ms", "home_blood_pressure"}
    )
    omit_empty: ClassVar[frozenset[str]] = frozenset({"caveats"})

    source: str
    resting_heart_rate: RestingHeartRateTrend | None = None
    hrv_sdnn_ms: float | None = None
    home_blood_pressure: HomeBloodPressure | None = None

    @property
    def home_sbp(self) -> float | None:
        """The home systolic mean (offered to the cardiovascular risk equations)."""
        bp = self.home_blood_pressure
        return bp.mean_sbp if bp is not None else None


class VitalsReview(BaseModel):
    """The vitals section and the findings it raises."""

    section: VitalsSection
    findings: list[Finding] = Field(default_factory=list)
