"""Pharmacogene call records: the public shape of ``precisionrx pgx`` JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat


class PositionSummary(BaseModel):
    """Per-gene coverage: which allele-defining positions the input covered."""

    model_config = ConfigDict(frozen=True)

    total: int
    found: int
    missing: list[str] = Field(default_factory=list)
    reference_filled: int = 0


class GeneCall(BaseModel):
    """One gene's diplotype and phenotype for one sample."""

    gene: str
    called: bool
    diplotypes: list[str] = Field(default_factory=list)
    diplotype_probabilities: list[float] | None = None
    phenotype: str | None = None
    activity_score: str | None = None
    allele_functions: list[str] = Field(default_factory=list)
    lookup_key: str | None = None
    source: Literal["vcf", "outside"] = "vcf"
    phased: bool = False
    positions: PositionSummary
    variants: list[str] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)


class SampleResult(BaseModel):
    input: str
    sample: str
    genome_build: str = "GRCh38"
    genes: list[GeneCall] = Field(default_factory=list)
