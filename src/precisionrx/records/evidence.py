"""Caveats, provenance, findings and recommendations.

>>> c = Caveat(code="missing_positions", message="2 positions missing")
>>> Caveat.model_validate_json(c.model_dump_json()) == c
True
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

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


def fingerprint(*parts: bytes | str | BaseModel | Any) -> str:
    """sha256 of the inputs a result was computed from: raw bytes as they are, records by
    their canonical JSON (sorted keys), anything else by its JSON form. Same input, same
    fingerprint, whichever process computes it.

    >>> fingerprint(b"abc") == fingerprint(b"abc") != fingerprint(b"abd")
    True
    """
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            data = part
        elif isinstance(part, str):
            data = part.encode()
        elif isinstance(part, BaseModel):
            data = json.dumps(part.model_dump(mode="json"), sort_keys=True).encode()
        else:
            data = json.dumps(part, sort_keys=True, default=str).encode()
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


class EngineResult(BaseModel):
    """What every engine result carries: its caveats (one model for every domain) and where
    it came from (tool and knowledge-base versions, input fingerprint)."""

    caveats: list[Caveat] = Field(default_factory=list)
    provenance: Provenance | None = None


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
