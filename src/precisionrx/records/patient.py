"""The patient record: one person's clinical, lifestyle, genomic and monitoring inputs.

Every model is strict about its keys (``extra="forbid"``): a misspelt key such as
``medicatons`` is an error, never a silently dropped list. Numbers must be finite
(``allow_inf_nan=False``): a YAML ``.nan`` or ``.inf`` is an error, never a value that every
comparison silently lets through. Plausibility of the values
(measurements, ages, dates) is checked by the reader against the knowledge base's limits
table (io/patient_file.py, kb/limits.py), since records do not depend on the knowledge base.

>>> p = PatientRecord(id="p1", demographics=Demographics(sex_at_birth="female", age_years=54))
>>> PatientRecord.model_validate_json(p.model_dump_json()) == p
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SexAtBirth = Literal["female", "male", "unknown"]


class Demographics(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    sex_at_birth: SexAtBirth = "unknown"
    age_years: float | None = Field(default=None, ge=0, le=130)
    birth_date: str | None = None
    #: Self-reported ancestry / ethnicity, as the patient gave it. Never inferred.
    ancestry_self_reported: str | None = None
    country: str | None = None


class Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    code: str | None = None
    system: str | None = None
    onset: str | None = None
    active: bool = True


class Medication(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    rxnorm: str | None = None
    dose: str | None = None
    status: str = "active"


class Allergy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    substance: str
    reaction: str | None = None
    code: str | None = None


class Measurement(BaseModel):
    """A lab value or vital sign with its unit (UCUM where known)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    value: float
    unit: str
    code: str | None = None
    system: str | None = None
    time: str | None = None


class Lifestyle(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    smoking: str | None = None
    alcohol_units_per_week: float | None = Field(default=None, ge=0)
    physical_activity_minutes_per_week: float | None = Field(default=None, ge=0)
    diet: str | None = None


class FamilyHistoryItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    relation: str
    condition: str
    age_at_onset: float | None = Field(default=None, ge=0, le=130)


class GenomicInput(BaseModel):
    """A genomic file belonging to the patient (paths are resolved by the reader)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    #: ``fhir_bundle``: a lab's FHIR Genomics Reporting results (JSON or NDJSON; docs/fhir.md).
    kind: Literal[
        "germline_vcf",
        "tumor_vcf",
        "maf",
        "outside_calls",
        "cna",
        "fusions",
        "pgs_scorefile",
        "fhir_bundle",
    ]
    path: str
    sample: str | None = None
    genome_build: Literal["GRCh38", "GRCh37"] = "GRCh38"
    #: Tumour inputs (maf, tumor_vcf): OncoTree code, MSI status, callable megabases for TMB.
    tumor_type: str | None = None
    msi: str | None = None
    callable_mb: float | None = Field(default=None, gt=0)


class MonitoringStream(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    kind: str
    path: str
    timezone: str | None = None


class QuestionnaireFile(BaseModel):
    """Completed questionnaires (CSV or FHIR QuestionnaireResponses, docs/cli/mh.md) for the
    plan's mental-health section (paths are resolved by the reader)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    path: str


class OutsideCallEntry(BaseModel):
    """One gene result given in the patient file instead of (or over) the VCF, as in a
    PharmCAT outside-call line: a diplotype, a phenotype or an activity score."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    gene: str
    diplotype: str | None = None
    phenotype: str | None = None
    activity_score: str | float | None = None


class EffectModelEntry(BaseModel):
    """A fitted treatment-effect model to apply to this patient in the plan
    (``precisionrx effects fit``): the model file, what the treatment is called, and optionally
    the model's held-out evaluation (``effects evaluate`` JSON) and fairness audit
    (``fairness audit`` JSON). Paths are relative to the patient file. ``values`` gives feature
    values by name; other features are looked up in the record (``age``/``age_years``, then a
    measurement whose name equals the feature)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    model: str
    treatment_label: str
    evaluation: str | None = None
    fairness: str | None = None
    values: dict[str, float] = Field(default_factory=dict)


#: Pregnancy status for the reproductive-safety cautions (``not_applicable``: cannot become
#: pregnant, e.g. after the menopause); None when not recorded.
Pregnancy = Literal["pregnant", "breastfeeding", "planning", "not_pregnant", "not_applicable"]


class PatientRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    id: str
    name: str | None = None
    demographics: Demographics = Demographics()
    conditions: tuple[Condition, ...] = ()
    medications: tuple[Medication, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    lifestyle: Lifestyle = Lifestyle()
    family_history: tuple[FamilyHistoryItem, ...] = ()
    genomic_inputs: tuple[GenomicInput, ...] = ()
    monitoring: tuple[MonitoringStream, ...] = ()
    questionnaires: tuple[QuestionnaireFile, ...] = ()
    #: PharmCAT outside calls: a TSV path (relative to the patient file) or inline entries;
    #: they override the VCF per gene (``genomic_inputs`` of kind ``outside_calls`` too).
    outside_calls: str | tuple[OutsideCallEntry, ...] | None = None
    pregnancy: Pregnancy | None = None
    #: Treatment-effect models to apply (docs/methods/effects.md, "In the plan").
    effects: tuple[EffectModelEntry, ...] = ()
    #: Resources that were present but could not be read (lenient FHIR reading).
    input_warnings: tuple[str, ...] = ()

    def measurement(
        self, *names: str, exact: bool = False, unit: str | None = None
    ) -> Measurement | None:
        """First measurement whose lower-cased name equals (``exact``) or contains one of
        ``names``, optionally in the given unit (case-insensitive)."""
        for m in self.measurements:
            name = m.name.lower()
            hit = name in names if exact else any(n in name for n in names)
            if hit and (unit is None or m.unit.lower() == unit):
                return m
        return None
