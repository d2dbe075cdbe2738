"""Caveats, provenance, findings and recommendations.

>>> c = Caveat(code="missing_positions", message="2 positions missing")
>>> Caveat.model_validate_json(c.model_dump_json()) == c
True
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class CaveatKind(StrEnum):
    """How a caveat should be read (after PharmCAT's message exception types)."""

    AMBIGUITY = "ambiguity"
    NOTE = "note"
    WARNING = "warning"
    FOOTNOTE = "footnote"


class Caveat(BaseModel):
    """Clinical uncertainty carried as data, shown in every report."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    kind: CaveatKind = CaveatKind.WARNING
    refs: tuple[str, ...] = ()


class KbVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    sha256: str


class Provenance(BaseModel):
    """Where a result came from: tool and knowledge-base versions, inputs, parameters."""

    model_config = ConfigDict(frozen=True)

    tool_version: str
    knowledge_bases: tuple[KbVersion, ...] = ()
    input_sha256: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict)
    timestamp: str | None = None


class Finding(BaseModel):
    """Something worth a clinician's attention, from any engine."""

    model_config = ConfigDict(frozen=True)

    domain: str
    title: str
    detail: str
    severity: str = "info"
    caveats: tuple[Caveat, ...] = ()
    source: str | None = None


class Recommendation(BaseModel):
    """An action with its evidence, source and version."""

    model_config = ConfigDict(frozen=True)

    domain: str
    subject: str
    action: str
    evidence: str | None = None
    source: str | None = None
    source_version: str | None = None
    strength: str | None = None
    caveats: tuple[Caveat, ...] = ()
