"""Typed views of the packaged PharmCAT allele definitions and phenotype tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from precisionrx.errors import KbIntegrityError

T = TypeVar("T")

#: IUPAC nucleotide codes used in a few definitions (CYP2B6, CYP2C19, CYP2C9, CYP2D6).
IUPAC: dict[str, frozenset[str]] = {
    "R": frozenset("AG"),
    "Y": frozenset("CT"),
    "S": frozenset("GC"),
    "W": frozenset("AT"),
    "K": frozenset("GT"),
    "M": frozenset("AC"),
    "B": frozenset("CGT"),
    "D": frozenset("AGT"),
    "H": frozenset("ACT"),
    "V": frozenset("ACG"),
    "N": frozenset("ACGT"),
}

#: Genes whose undocumented ALT alleles are treated as reference (PharmCAT toxicity rule).
TOXICITY_GENES = frozenset({"CACNA1S", "DPYD", "G6PD", "NUDT15", "RYR1", "TPMT"})
#: Genes called per variant rather than as star-allele haplotypes.
VARIANT_LIST_GENES = frozenset({"DPYD", "RYR1", "CACNA1S"})
#: Genes on chrX: hemizygous in males.
CHRX_GENES = frozenset({"G6PD"})
#: Genes whose recommendations are keyed on activity score.
ACTIVITY_SCORE_GENES = frozenset({"CYP2C9", "CYP2D6", "DPYD"})


@dataclass(frozen=True, slots=True)
class DefinedPosition:
    chromosome: str
    position: int
    rsid: str | None
    ref: str
    alts: tuple[str, ...]
    hgvs: str | None = None

    @property
    def label(self) -> str:
        return self.rsid or f"{self.chromosome}:{self.position}"

    @property
    def known_alleles(self) -> frozenset[str]:
        return frozenset((self.ref, *self.alts))


@dataclass(frozen=True, slots=True)
class NamedAllele:
    name: str
    #: Allele per position as written in the definition (None = not part of the definition).
    defined: tuple[str | None, ...]
    #: Acceptable sample alleles per position (None filled from the reference row; IUPAC expanded).
    accepts: tuple[frozenset[str], ...]
    reference: bool

    def score(self, present: tuple[bool, ...] | None = None) -> int:
        """Number of defining positions (among ``present`` ones, if given)."""
        if present is None:
            return sum(1 for d in self.defined if d is not None)
        return sum(1 for d, p in zip(self.defined, present, strict=True) if d is not None and p)


@dataclass(frozen=True, slots=True)
class Exemptions:
    #: Variants PharmCAT excludes (exemptions.json ``ignoredPositions``). Each is one variant,
    #: matched on position AND alleles, never on the position alone: G6PD's Villeurbanne
    #: deletion (g.154532991_154532993delGGT, written CGGT>C at 154532990) shares its VCF
    #: position with rs5030869 (C>T, Chatham), which stays a defining variant.
    ignored_positions: tuple[DefinedPosition, ...] = ()
    extra_positions: tuple[DefinedPosition, ...] = ()
    required_positions: frozenset[int] = frozenset()
    ignored_alleles: frozenset[str] = frozenset()
    unphased_priorities: tuple[tuple[frozenset[str], str], ...] = ()
    amp1_alleles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GeneDefinition:
    gene: str
    chromosome: str
    version: str
    positions: tuple[DefinedPosition, ...]
    alleles: tuple[NamedAllele, ...]
    exemptions: Exemptions = field(default_factory=Exemptions)
    #: What the calling engine derives from this definition (indexes, per-pattern lookups),
    #: kept with the loaded definition instead of in module-level state.
    derived: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: Hashable, factory: Callable[[], T]) -> T:
        """``factory()`` computed once per loaded definition."""
        if key not in self.derived:
            self.derived[key] = factory()
        return cast(T, self.derived[key])

    @property
    def reference_allele(self) -> NamedAllele:
        return next(a for a in self.alleles if a.reference)

    @property
    def start(self) -> int:
        return min(p.position for p in self.positions)

    @property
    def end(self) -> int:
        return max(p.position + len(p.ref) - 1 for p in self.positions)

    def allele(self, name: str) -> NamedAllele:
        for a in self.alleles:
            if a.name == name:
                return a
        raise KeyError(name)


@lru_cache(maxsize=4096)
def _expand(code: str) -> frozenset[str]:
    if len(code) == 1 and code in IUPAC:
        return IUPAC[code]
    return frozenset({code})


def _position(raw: dict[str, Any]) -> DefinedPosition:
    return DefinedPosition(
        chromosome=raw["chromosome"],
        position=int(raw["position"]),
        rsid=raw.get("rsid"),
        ref=raw["ref"],
        alts=tuple(raw["alts"]),
        hgvs=raw.get("hgvs"),
    )


def same_variant(a: DefinedPosition, b: DefinedPosition) -> bool:
    """Two definitions describe the same variant: same position and HGVS, or same alleles."""
    if a.position != b.position or a.chromosome != b.chromosome:
        return False
    if a.hgvs and b.hgvs:
        return a.hgvs == b.hgvs
    return a.ref == b.ref and set(a.alts) == set(b.alts)


def load_definition(path: Path, apply_exemptions: bool = True) -> GeneDefinition:
    """Load one gene's definition, applying the exemptions (ignored variants and alleles).

    ``apply_exemptions=False`` keeps every variant and named allele as packaged (the allele
    audit writes VCFs from these raw definitions, including alleles the calling drops).
    """
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise KbIntegrityError("allele definition unreadable", path=path) from exc
    ex = raw.get("exemptions", {})
    try:
        ignored = tuple(_position(p) for p in ex.get("ignored_positions", []))
    except (KeyError, TypeError) as exc:
        raise KbIntegrityError(
            "ignored_positions must list whole variants (position, ref, alts)", path=path
        ) from exc
    ignored_alleles = frozenset(ex.get("ignored_alleles", []))
    variants = [_position(v) for v in raw["variants"]]
    keep = [
        i
        for i, v in enumerate(variants)
        if not (apply_exemptions and any(same_variant(v, ig) for ig in ignored))
    ]
    positions = tuple(variants[i] for i in keep)
    ref_row = next(a for a in raw["named_alleles"] if a["reference"])
    ref_alleles = [ref_row["alleles"][i] for i in keep]
    alleles = []
    for a in raw["named_alleles"]:
        if apply_exemptions and a["name"] in ignored_alleles:
            continue
        defined = tuple(a["alleles"][i] for i in keep)
        if apply_exemptions and not a["reference"] and all(d is None for d in defined):
            continue  # defined only at ignored variants (listed by the allele audit)
        accepts = tuple(
            _expand(d if d is not None else r) for d, r in zip(defined, ref_alleles, strict=True)
        )
        alleles.append(NamedAllele(a["name"], defined, accepts, bool(a["reference"])))
    exemptions = Exemptions(
        ignored_positions=ignored,
        extra_positions=tuple(_position(p) for p in ex.get("extra_positions", [])),
        required_positions=frozenset(int(p) for p in ex.get("required_positions", [])),
        ignored_alleles=ignored_alleles,
        unphased_priorities=tuple(
            (frozenset(p["list"]), p["pick"]) for p in ex.get("unphased_priorities", [])
        ),
        amp1_alleles=tuple(ex.get("amp1_alleles", [])),
    )
    return GeneDefinition(
        gene=raw["gene"],
        chromosome=raw["chromosome"],
        version=raw["version"],
        positions=positions,
        alleles=tuple(alleles),
        exemptions=exemptions,
    )


@dataclass(frozen=True, slots=True)
class PhenotypeRow:
    phenotype: str
    activity_score: str | None
    lookup_key: str


@dataclass(frozen=True, slots=True)
class PhenotypeTable:
    """Allele function/activity and the diplotype -> phenotype table for one gene."""

    gene: str
    version: str
    functions: dict[str, str | None]
    activities: dict[str, str | None]
    diplotypes: dict[tuple[str, ...], PhenotypeRow]

    @classmethod
    def load(cls, path: Path) -> PhenotypeTable:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise KbIntegrityError("phenotype table unreadable", path=path) from exc
        return cls(
            gene=raw["gene"],
            version=raw.get("version") or "",
            functions={k: v["function"] for k, v in raw["alleles"].items()},
            activities={k: v["activity"] for k, v in raw["alleles"].items()},
            diplotypes={
                tuple(sorted(names)): PhenotypeRow(pheno, score, key)
                for names, pheno, score, key in raw["diplotypes"]
            },
        )

    def lookup(self, *alleles: str) -> PhenotypeRow | None:
        return self.diplotypes.get(tuple(sorted(alleles)))
