"""Prescribing knowledge: CPIC/DPWG guideline annotations, drug codes, CYP modulators, brands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from precisionrx.errors import KbIntegrityError


@dataclass(frozen=True, slots=True)
class GuidelineRecommendation:
    lookup: dict[str, str | dict[str, float]]
    population: str
    classification: str | None
    text: str
    implications: tuple[str, ...]
    drugs: tuple[str, ...]
    #: The annotation's own flags (ClinPGx/PharmCAT ``dosingInformation``,
    #: ``alternateDrugAvailable``): the advice changes the dose / names an alternative drug.
    dosing_information: bool = False
    alternate_drug: bool = False


@dataclass(frozen=True, slots=True)
class Guideline:
    id: str
    name: str
    source: str
    version: str
    url: str | None
    drugs: tuple[str, ...]
    genes: tuple[str, ...]
    citation: str | None
    recommendations: tuple[GuidelineRecommendation, ...]


@dataclass(frozen=True, slots=True)
class Modulator:
    drug: str
    gene: str
    role: str  # inhibitor | inducer
    strength: str  # strong | moderate
    verified: bool
    source: str


@dataclass(frozen=True, slots=True)
class CpicChange:
    date: str
    type: str
    subject: str
    note: str


@dataclass(frozen=True, slots=True)
class PrescribingKb:
    version: str
    guidelines: tuple[Guideline, ...]
    rxnorm_to_drug: dict[str, str]
    brands: dict[str, str]
    modulators: tuple[Modulator, ...]
    changes: tuple[CpicChange, ...]
    #: Every guideline drug, computed once (``drugs`` is read on every prescribing check).
    _drugs: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_drugs", frozenset(d for g in self.guidelines for d in g.drugs))

    @property
    def drugs(self) -> frozenset[str]:
        return self._drugs

    @classmethod
    def load(cls, root: Path) -> PrescribingKb:
        try:
            raw: dict[str, Any] = json.loads((root / "guidelines" / "guidelines.json").read_text())
            drugs = json.loads((root / "guidelines" / "drugs.json").read_text())["drugs"]
            changes = json.loads(
                (root / "guidelines" / "cpic_changes_since_2024-03-25.json").read_text()
            )["changes"]
        except (OSError, ValueError, KeyError) as exc:
            raise KbIntegrityError("guideline data unreadable", path=root / "guidelines") from exc
        guidelines = tuple(
            Guideline(
                id=g["id"],
                name=g["name"],
                source=g["source"],
                version=str(g["version"]),
                url=g.get("url"),
                drugs=tuple(d.lower() for d in g["drugs"]),
                genes=tuple(g["genes"]),
                citation=g.get("citation"),
                recommendations=tuple(
                    GuidelineRecommendation(
                        lookup=r["lookup"],
                        population=r["population"],
                        classification=r["classification"],
                        text=r["text"],
                        implications=tuple(r["implications"]),
                        drugs=tuple(d.lower() for d in r["drugs"]),
                        dosing_information=bool(r.get("dosing_information")),
                        alternate_drug=bool(r.get("alternate_drug")),
                    )
                    for r in g["recommendations"]
                ),
            )
            for g in raw["guidelines"]
        )
        rx = {d["rxnorm"]: d["drug"].lower() for d in drugs if d.get("rxnorm", "").isdigit()}
        brands = dict(_tsv(root / "interactions" / "brand_names.tsv"))
        mods = tuple(
            Modulator(d, g, role, strength, verified == "yes", source)
            for d, g, role, strength, verified, source in _tsv(
                root / "interactions" / "cyp_modulators.tsv"
            )
        )
        return cls(
            version=str(raw.get("version", "")),
            guidelines=guidelines,
            rxnorm_to_drug=rx,
            brands={k.lower(): v.lower() for k, v in brands.items()},
            modulators=mods,
            changes=tuple(
                CpicChange(c["date"], c["type"] or "", c["subject"] or "", c["note"])
                for c in changes
            ),
        )


def _tsv(path: Path) -> list[list[str]]:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return [ln.split("\t") for ln in lines[1:]]
