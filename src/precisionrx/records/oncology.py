"""Tumour report records: what ``precisionrx tumor`` writes and the plan's ``oncology`` section.

Field names and meanings are those of docs/cli/tumor.md: the tumour type, TMB and MSI, the
alterations read, the knowledge-base matches with their therapies (tiers, resistance
overrides, curated flags), the grouped ``therapy_summary``, the germline pharmacogenomic
conflicts and the knowledge base used. Keys that only the command writes (``germline_checked``,
``notice``) are left out when not set.

>>> t = Tmb(value=0.5, scheme="coding_and_silent", callable_mb=34.0, variants_counted=17,
...         high=False, threshold=10.0)
>>> Tmb.model_validate_json(t.model_dump_json()) == t
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import Caveat, EngineResult

#: A therapy's drug: one name, or the names of a combination.
Drug = str | list[str]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


def _unset(value: object) -> bool:
    return value is None


class TumourType(_Record):
    """The patient's OncoTree code, its name and its lineage (most specific first)."""

    code: str | None
    name: str | None
    lineage: list[str] = Field(default_factory=list)


class Tmb(_Record):
    """Tumour mutational burden (unrounded mut/Mb) under one of PCGR's counting schemes."""

    value: float
    scheme: str
    callable_mb: float
    variants_counted: int
    high: bool
    threshold: float
    caveats: list[Caveat] = Field(default_factory=list)


class Msi(_Record):
    """Microsatellite status as given (``--msi``), from an MSIsensor score, or unknown."""

    status: str
    source: str
    high: bool
    caveats: list[Caveat] = Field(default_factory=list)


class AlterationEntry(_Record):
    """One alteration read from the inputs, with whether the knowledge base knows it."""

    gene: str | None
    alteration: str
    type: str
    protein_change: str | None
    hgvsc: str | None
    exon: str | None
    consequence: str | None
    vaf: float | None
    copy_number: float | None
    oncogenic_evidence: str
    source: str
    #: Notes of the reader (flags of a fusion caller, invalid genotypes), repeated as caveats.
    notes: list[str] = Field(default_factory=list)


class EvidenceFlag(_Record):
    """A curated flag of a knowledge-base item (kb/data/oncology/evidence_flags.tsv)."""

    flag: str
    reason: str


class Override(_Record):
    """The resistance item that overrode a sensitivity item, and why."""

    match: int
    therapy: int
    alteration: str
    match_resolution: str
    drug: Drug
    biomarker: str
    evidence_level: str
    tumor_type: str | None
    tumor_type_match: str
    source: str
    source_id: str
    url: str | None
    reason: str


class Therapy(_Record):
    """One knowledge-base evidence item for a matched alteration."""

    drug: Drug
    therapy_type: str | None
    response: str
    evidence_level: str
    strength: str
    tier: str | None
    amp_level: str | None
    escat_approx: str | None
    source: str
    source_id: str
    citation: str
    url: str | None
    tumor_type: str | None
    tumor_type_name: str | None
    tumor_type_match: Literal["same", "other", "pan-cancer"]
    approval: str | None
    biomarker: str
    flag: EvidenceFlag | None
    recommendation: str
    overridden_by: Override | None = None
    overridden_tier: str | None = None


class Match(_Record):
    """The evidence items of one alteration (or MSI-H / TMB-H) at one match resolution."""

    gene: str | None
    alteration: str
    match_resolution: str
    tier: str | None
    resistance: bool
    therapies: list[Therapy] = Field(default_factory=list)


class ItemRef(_Record):
    """An evidence item: an index into ``matches`` and into that match's ``therapies``."""

    match: int
    therapy: int


class EvidenceBrief(_Record):
    """The evidence item a grouped row stands on."""

    match: int
    therapy: int
    alteration: str
    match_resolution: str
    response: str
    overridden: bool
    flag: EvidenceFlag | None
    evidence_level: str
    tier: str | None
    tumor_type: str | None
    tumor_type_match: str
    source: str
    source_id: str
    url: str | None


class TherapySummaryRow(_Record):
    """One alteration and therapy (a drug or a regimen) with its status and best evidence."""

    gene: str | None
    alteration: str
    drug: Drug
    status: Literal["sensitive", "expected resistance", "disputed"]
    recommendation: str
    tier: str | None
    best_evidence: EvidenceBrief
    supporting: int
    conflicting: int
    overridden: int
    overridden_by: list[Override] = Field(default_factory=list)
    supporting_items: list[ItemRef] = Field(default_factory=list)
    conflicting_items: list[ItemRef] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)


class GermlineRecommendation(_Record):
    """A pharmacogenomic recommendation matched to the germline genotype."""

    source: str
    lookup_keys: dict[str, str]
    classification: str | None
    text: str
    phenotype_basis: str
    caused_by: list[str] = Field(default_factory=list)
    guideline: str


class GermlineConflict(_Record):
    """A suggested drug with germline guidance to act on (``action`` / ``caution``), or with
    guidance whose genotype could not be determined (``not_determined``)."""

    drug: str
    sample: str
    status: Literal["action", "caution", "not_determined"]
    genes: list[str]
    recommendations: list[GermlineRecommendation] = Field(default_factory=list)


class GermlineChecked(_Record):
    """The germline input the suggested drugs were checked against, and those drugs."""

    vcf: str
    drugs: list[str]


class AddedSource(_Record):
    """The record of a user-added export (``precisionrx kb add civic FILE``)."""

    name: str
    file: str
    sha256: str
    added: str
    rows: int
    matchable_rows: int
    license: str


class KnowledgeBaseInfo(_Record):
    """The oncology knowledge base used: packaged version, source and licence, and the
    user-added exports."""

    version: str | None
    source: str | None
    license: str | None
    added: list[AddedSource] = Field(default_factory=list)


class _ReportFields(BaseModel):
    """The report's fields in the order the command writes them (docs/cli/tumor.md); the
    ``caveats`` of :class:`EngineResult` keep this place, its ``provenance`` comes last."""

    tumor_type: TumourType
    genome_build: str | None
    tmb: Tmb
    msi: Msi
    alterations: list[AlterationEntry] = Field(default_factory=list)
    matches: list[Match] = Field(default_factory=list)
    therapy_summary: list[TherapySummaryRow] = Field(default_factory=list)
    germline_conflicts: list[GermlineConflict] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)
    knowledge_base: KnowledgeBaseInfo
    #: Set when a germline input was checked (the command's ``--germline-vcf``); else left out.
    germline_checked: GermlineChecked | None = Field(default=None, exclude_if=_unset)
    #: The decision-support notice (the command's document); else left out.
    notice: str | None = Field(default=None, exclude_if=_unset)
    #: The tumour input's name; left out when not given.
    input: str | None = Field(default=None, exclude_if=_unset)


class TumourReport(EngineResult, _ReportFields):
    """``precisionrx tumor`` and the plan's ``oncology`` section."""

    model_config = ConfigDict(frozen=True)
