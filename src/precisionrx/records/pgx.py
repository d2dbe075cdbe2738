"""Pharmacogene call records: the public shape of ``precisionrx pgx`` JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat


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
    warfarin: dict[str, Any] | None = None
