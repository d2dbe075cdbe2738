"""Knowledge-base registry: discovery, versions, integrity checks and the loaded bundle.

Each source lives in ``kb/data/<name>/`` with an ``about.json`` recording source, version,
date, licence, the sha256 of every file and a bundle sha256 over that manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from precisionrx.errors import KbIntegrityError, KbNotFound
from precisionrx.kb.prescribing import PrescribingKb
from precisionrx.kb.schema import GeneDefinition, PhenotypeTable, load_definition
from precisionrx.kb.supplementary import DualBuildMap, SupplementaryPhenotypes


def data_root() -> Path:
    return Path(str(resources.files("precisionrx.kb").joinpath("data")))


@dataclass(frozen=True, slots=True)
class KbInfo:
    name: str
    version: str
    date: str
    license: str
    source: str
    sha256: str
    files: dict[str, str]
    path: Path

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def _read_about(folder: Path) -> KbInfo:
    about_path = folder / "about.json"
    try:
        about = json.loads(about_path.read_text())
    except (OSError, ValueError) as exc:
        raise KbIntegrityError("about.json missing or unreadable", path=about_path) from exc
    return KbInfo(
        name=about["name"],
        version=about["version"],
        date=about.get("date", ""),
        license=about.get("license", ""),
        source=about.get("source", ""),
        sha256=about["sha256"],
        files=dict(about.get("files", {})),
        path=folder,
    )


def list_kbs(root: Path | None = None) -> list[KbInfo]:
    """All packaged knowledge bases, sorted by name."""
    root = root or data_root()
    if not root.is_dir():
        raise KbNotFound("knowledge-base directory not found", path=root)
    return [_read_about(p) for p in sorted(root.iterdir()) if (p / "about.json").is_file()]


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    kb: str
    file: str
    problem: str


def verify_kbs(root: Path | None = None) -> list[VerifyProblem]:
    """Recompute every file's sha256 and the bundle sha256; return the problems found."""
    problems: list[VerifyProblem] = []
    for info in list_kbs(root):
        for rel, expected in sorted(info.files.items()):
            path = info.path / rel
            if not path.is_file():
                problems.append(VerifyProblem(info.name, rel, "missing"))
                continue
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
            if actual != expected:
                problems.append(VerifyProblem(info.name, rel, f"sha256 {actual} != {expected}"))
        bundle = hashlib.sha256(
            "".join(f"{k}\t{v}\n" for k, v in sorted(info.files.items())).encode()
        ).hexdigest()
        if bundle != info.sha256:
            problems.append(VerifyProblem(info.name, "about.json", "bundle sha256 mismatch"))
        known = set(info.files) | {"about.json"}
        for extra in sorted(p for p in info.path.rglob("*") if p.is_file()):
            rel = extra.relative_to(info.path).as_posix()
            if rel not in known and "__pycache__" not in rel:
                problems.append(VerifyProblem(info.name, rel, "file not listed in about.json"))
    return problems


@dataclass
class KnowledgeBase:
    """The loaded knowledge bundle handed to engines (PharmCAT's ``Env``)."""

    root: Path = field(default_factory=data_root)
    _definitions: dict[str, GeneDefinition] = field(default_factory=dict)
    _phenotypes: dict[str, PhenotypeTable | None] = field(default_factory=dict)

    @cached_property
    def infos(self) -> list[KbInfo]:
        return list_kbs(self.root)

    def versions(self) -> list[dict[str, str]]:
        return [i.as_dict() for i in self.infos]

    def info(self, name: str) -> KbInfo:
        for i in self.infos:
            if i.name == name:
                return i
        raise KbNotFound(f"knowledge base {name!r} is not installed", path=self.root)

    @cached_property
    def genes(self) -> list[str]:
        folder = self.root / "pharmcat" / "definitions"
        return sorted(p.stem for p in folder.glob("*.json"))

    def definition(self, gene: str) -> GeneDefinition:
        if gene not in self._definitions:
            path = self.root / "pharmcat" / "definitions" / f"{gene}.json"
            if not path.is_file():
                raise KbNotFound(f"no allele definition for gene {gene}", path=path)
            self._definitions[gene] = load_definition(path)
        return self._definitions[gene]

    def raw_definition(self, gene: str) -> GeneDefinition:
        """The packaged definition with no exemption applied (for the allele audit)."""
        path = self.root / "pharmcat" / "definitions" / f"{gene}.json"
        if not path.is_file():
            raise KbNotFound(f"no allele definition for gene {gene}", path=path)
        return load_definition(path, apply_exemptions=False)

    def phenotypes(self, gene: str) -> PhenotypeTable | None:
        if gene not in self._phenotypes:
            path = self.root / "pharmcat" / "phenotypes" / f"{gene}.json"
            self._phenotypes[gene] = PhenotypeTable.load(path) if path.is_file() else None
        return self._phenotypes[gene]

    @cached_property
    def supplementary(self) -> SupplementaryPhenotypes:
        return SupplementaryPhenotypes.load(self.root / "pypgx")

    @cached_property
    def dual_build(self) -> DualBuildMap:
        return DualBuildMap.load(self.root / "pypgx" / "variants_dual_build.tsv")

    @cached_property
    def _frequency_data(self) -> dict[str, Any]:
        path = self.root / "frequencies_1kgp" / "haplotype_counts.json"
        if not path.is_file():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return dict(data["genes"])

    @cached_property
    def haplotype_counts(self) -> dict[str, dict[str, int]]:
        """1KGP panel counts of haplotypes matched to each named allele, per gene."""
        return {g: dict(v["counts"]) for g, v in self._frequency_data.items()}

    def population_frequencies(self, gene: str) -> dict[str, dict[str, float]]:
        """Per 1KGP super-population: named-allele frequencies among its panel haplotypes."""
        pops = self._frequency_data.get(gene, {}).get("populations", {})
        return {
            pop: {a: k / v["haplotypes"] for a, k in v["counts"].items()}
            for pop, v in pops.items()
            if v["haplotypes"]
        }

    @cached_property
    def _position_frequency_data(self) -> dict[str, Any]:
        path = self.root / "frequencies_1kgp" / "position_frequencies.json"
        if not path.is_file():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return dict(data["genes"])

    def position_frequencies(self, gene: str) -> dict[str, dict[str, dict[str, float]]]:
        """Per allele-defining position label and 1KGP super-population: the frequency of each
        non-reference allele in the panel (positions absent from the panel are left out)."""
        return dict(self._position_frequency_data.get(gene, {}))

    def no_frequency(self, gene: str) -> frozenset[str]:
        """Alleles with defining positions absent from the panel: frequency unknown."""
        return frozenset(self._frequency_data.get(gene, {}).get("no_frequency", []))

    @cached_property
    def prescribing(self) -> PrescribingKb:
        return PrescribingKb.load(self.root)

    @cached_property
    def reporter_messages(self) -> list[dict[str, Any]]:
        path = self.root / "pharmcat" / "reporter_messages.json"
        data: Any = json.loads(path.read_text())
        return list(data.get("messages", data) if isinstance(data, dict) else data)
