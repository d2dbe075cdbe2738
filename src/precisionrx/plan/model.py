"""The TreatmentPlan model. Later engines add sections; renderers read only this model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from precisionrx.records import Caveat, Finding, Medication, Recommendation, SampleResult
from precisionrx.records.cardio import CardioSection
from precisionrx.records.effects import PatientEffect
from precisionrx.records.evidence import KbVersion
from precisionrx.records.interactions import InteractionResult
from precisionrx.records.medicines import MedicineAction
from precisionrx.records.mental_health import MentalHealthSection
from precisionrx.records.monitoring import MonitoringSection, VitalsSection
from precisionrx.records.oncology import TumourReport


class PatientSummary(BaseModel):
    id: str
    name: str | None = None
    sex_at_birth: str = "unknown"
    age_years: float | None = None
    ancestry_self_reported: str | None = None


class TreatmentPlan(BaseModel):
    precisionrx_version: str
    generated: str
    notice: str
    patient: PatientSummary
    #: The drug-first review: one line per current or planned medicine, the most urgent first
    #: (engines/medicines/act_now.py).
    act_now: list[MedicineAction] = Field(default_factory=list)
    knowledge_bases: list[KbVersion]
    medications: list[Medication] = Field(default_factory=list)
    pgx: list[SampleResult] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)
    patient_summary: list[str] = Field(default_factory=list)
    #: Cardiovascular risk rows, prevention options (ARR/NNT) and statin PGx notes.
    cardio: CardioSection | None = None
    #: Tumour report (docs/cli/tumor.md) with germline conflicts, when the record has one.
    oncology: TumourReport | None = None
    #: CGM summary of the last 14 days vs the 14 before, consensus targets and AGP.
    monitoring: MonitoringSection | None = None
    #: Wearable vitals (resting HR, HRV, home blood pressure) from a health export.
    vitals: VitalsSection | None = None
    #: Drug–drug interactions between the record's current and planned medicines (None when
    #: the record lists none): pairs, what could not be checked, the medicines as read.
    interactions: InteractionResult | None = None
    #: Questionnaire scores (docs/methods/mental_health.md): safety flags first, the latest
    #: score per instrument, trajectories; psychiatric content (service label PSY).
    mental_health: MentalHealthSection | None = None
    #: The patient's estimated treatment effects from the models the record names
    #: (docs/methods/effects.md, "In the plan").
    effects: list[PatientEffect] = Field(default_factory=list)
    #: Engines that ran, in order; later engines (oncology, monitoring) append here.
    engines: list[str] = Field(default_factory=list)
