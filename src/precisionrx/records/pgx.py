"""Pharmacogene call records: the public shape of ``precisionrx pgx`` JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from precisionrx.records.evidence import Caveat, Provenance


class PositionSummary(BaseModel):
    """Per-gene coverage: which allele-defining positions the input covered."""

    model_config = ConfigDict(frozen=True)

    total: int
    found: int
    missing: list[str] = Field(default_factory=list)
    reference_filled: int = 0


class DiplotypeCall(BaseModel):
    """One candidate diplotype with its own phenotype: every top-scoring candidate is listed."""

    diplotype: str | None
    probability: float | None = None
    phenotype: str | None = None
    activity_score: str | None = None
    allele_functions: list[str] = Field(default_factory=list)
    lookup_key: str | None = None


class GeneCall(BaseModel):
    """One gene's diplotype and phenotype for one sample."""

    gene: str
    called: bool
    diplotypes: list[str] = Field(default_factory=list)
    diplotype_probabilities: list[float] | None = None
    #: When tied candidates' results differ: one entry each (order of ``diplotypes``), each with
    #: its own phenotype and activity score. Empty otherwise (the fields below hold the result).
    diplotype_calls: list[DiplotypeCall] = Field(default_factory=list)
    phenotype: str | None = None
    activity_score: str | None = None
    allele_functions: list[str] = Field(default_factory=list)
    lookup_key: str | None = None
    source: Literal["vcf", "outside"] = "vcf"
    phased: bool = False
    positions: PositionSummary
    variants: list[str] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)


class DrugRecommendation(BaseModel):
    """One guideline recommendation matched to the patient's genotype (or its absence)."""

    drug: str
    source: str
    genes: list[str]
    lookup_keys: dict[str, str]
    population: str
    classification: str | None
    text: str
    implications: list[str] = Field(default_factory=list)
    guideline: str
    guideline_version: str
    guideline_url: str | None = None
    phenotype_basis: Literal["genotype", "phenoconverted"] = "genotype"
    caused_by: list[str] = Field(default_factory=list)
    matched: bool = True
    #: The guideline annotation's flags: the advice changes the dose (``dosing_information``)
    #: or names an alternative drug (``alternate_drug``) — PharmCAT's dosingInformation and
    #: alternateDrugAvailable.
    dosing_information: bool = False
    alternate_drug: bool = False
    caveats: list[Caveat] = Field(default_factory=list)


class EffectivePhenotype(BaseModel):
    """A phenotype changed by a concomitant drug (phenoconversion)."""

    gene: str
    genotype_phenotype: str | None
    genotype_activity_score: str | None
    effective_phenotype: str
    effective_activity_score: str | None
    caused_by: list[str]
    rule: str
    verified: bool = True


class MedicationReview(BaseModel):
    medication: str
    matched_drug: str | None = None
    status: Literal["action", "caution", "ok", "no_guidance", "unknown"]
    recommendations: list[DrugRecommendation] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)


class WarfarinInputs(BaseModel):
    """What the IWPC models and the CPIC 2017 flowchart were given."""

    model_config = ConfigDict(frozen=True)

    age_years: float | None
    height_cm: float | None
    weight_kg: float | None
    race_category: str
    VKORC1_rs9923231: str | None
    CYP2C9: str | None
    amiodarone: bool
    enzyme_inducer: bool


class DoseEstimate(BaseModel):
    """An IWPC weekly dose: a number, or a range over assumed bounds when inputs are missing
    (then ``weekly_dose_mg`` is null and ``weekly_dose_range_mg`` holds [low, high])."""

    model_config = ConfigDict(frozen=True)

    weekly_dose_mg: float | None
    daily_dose_mg: float | None = None
    weekly_dose_range_mg: tuple[float, float] | None = None

    @model_serializer(mode="wrap")
    def _omit_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("daily_dose_mg", "weekly_dose_range_mg"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class WarfarinGuidance(BaseModel):
    """CPIC 2017 warfarin flowchart with the IWPC 2009 dose estimates."""

    model_config = ConfigDict(frozen=True)

    guideline: str
    inputs: WarfarinInputs
    cpic_action: str
    strength: str | None
    adjustments: list[str] = Field(default_factory=list)
    iwpc_pharmacogenetic: DoseEstimate
    iwpc_clinical: DoseEstimate
    caveats: list[Caveat] = Field(default_factory=list)


class SampleResult(BaseModel):
    input: str
    sample: str
    genome_build: str = "GRCh38"
    genes: list[GeneCall] = Field(default_factory=list)
    #: Filled by the prescribing engine (absent from genotype-only output).
    recommendations: list[DrugRecommendation] | None = None
    medication_review: list[MedicationReview] | None = None
    effective_phenotypes: list[EffectivePhenotype] | None = None
    #: IWPC dose and CPIC 2017 flowchart, when warfarin is listed or asked for.
    warfarin: WarfarinGuidance | None = None
    #: Tool and knowledge-base versions and the input's fingerprint.
    provenance: Provenance | None = None
