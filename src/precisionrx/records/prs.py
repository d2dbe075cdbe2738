"""Polygenic-score results: per-sample score rows, the match-log summary, settings.

The full match log (one row per scoring-file variant and candidate, millions for genome-wide
scores) stays a table inside the engine and is written by the CLI as it is; the typed result
carries its counts (:class:`MatchLogSummary`).

>>> row = ScoreRow(pgs_id="PGS1", sample="S1", sum=0.5, variants_matched=2,
...                variants_in_score=2, percentile=None, z=None)
>>> ScoreRow.model_validate_json(row.model_dump_json()) == row
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat, EngineResult


class PrsSettings(BaseModel):
    """Matching and reporting options (pgscatalog-match defaults)."""

    model_config = ConfigDict(frozen=True)

    keep_ambiguous: bool = False
    keep_multiallelic: bool = False
    #: Smallest share of the score's variants that must match for a score to be reported.
    min_overlap: float = 0.75
    #: Missing calls: ``mean-impute`` (plink2's default: the mean dosage of the samples with a
    #: call), ``no-mean-imputation`` (they add nothing), or ``auto`` (mean imputation from 50
    #: samples up, as pgsc_calc decides).
    missing: Literal["auto", "mean-impute", "no-mean-imputation"] = "auto"
    #: VCF dosages: FORMAT ``DS``, ``GP``, hard calls ``GT``, or ``auto`` (DS, else GP, when the
    #: header declares them, else GT). PLINK 2 and BGEN files carry their own dosages.
    dosage_field: Literal["auto", "DS", "GP", "GT"] = "auto"


class ScoreRow(BaseModel):
    """One sample's score for one scoring file. Floats are never rounded; None where not
    computed (or not finite)."""

    model_config = ConfigDict(frozen=True)

    pgs_id: str
    sample: str
    sum: float | None
    variants_matched: int
    variants_in_score: int
    percentile: float | None
    z: float | None
    caveats: list[Caveat] = Field(default_factory=list)


class MatchLogSummary(BaseModel):
    """Counts of the match log of one scoring file: rows per ``match_status`` (matched,
    excluded, not_best, unmatched) and per reason."""

    model_config = ConfigDict(frozen=True)

    pgs_id: str
    by_status: dict[str, int] = Field(default_factory=dict)
    by_reason: dict[str, int] = Field(default_factory=dict)
    #: When the scoring file was on the other genome build: ``from``, ``to`` and the
    #: ``converted`` and ``failed`` variant counts of the chain-file conversion.
    build_conversion: dict[str, str | int] | None = None


class ScoreResult(EngineResult):
    """One scoring file scored over every sample of a VCF."""

    pgs_id: str
    trait: str | None = None
    scorefile: str | None = None
    variants_matched: int
    variants_in_score: int
    rows: list[ScoreRow] = Field(default_factory=list)
    match_log: MatchLogSummary


class PrsResult(EngineResult):
    """Every scoring file of a run, in the order given."""

    scores: list[ScoreResult] = Field(default_factory=list)

    def rows(self) -> list[ScoreRow]:
        """The per-sample rows of every score, in order (the ``scores`` of ``precisionrx prs``)."""
        return [row for s in self.scores for row in s.rows]
