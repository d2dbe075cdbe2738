"""PyPGx tables: GRCh37<->GRCh38 coordinates and G6PD/RYR1 phenotypes (MIT, from CPIC)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def _rows(path: Path) -> list[list[str]]:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return [ln.split("\t") for ln in lines[1:]]


@dataclass(frozen=True, slots=True)
class DualBuildMap:
    """Maps GRCh37 positions of PGx variants to GRCh38 (chromosome without ``chr``)."""

    to38: dict[tuple[str, int], int]

    @classmethod
    def load(cls, path: Path) -> DualBuildMap:
        mapping: dict[tuple[str, int], int] = {}
        for _gene, _rsid, chrom, p37, p38, *_rest in _rows(path):
            if p37.isdigit() and p38.isdigit():
                mapping[(chrom, int(p37))] = int(p38)
        return cls(mapping)

    def lift(self, chrom: str, pos37: int) -> int | None:
        return self.to38.get((chrom.removeprefix("chr"), pos37))

    def offsets_for(self, chrom: str) -> list[tuple[int, int]]:
        """(GRCh37, GRCh38) pairs on one chromosome, sorted by GRCh38 position."""
        c = chrom.removeprefix("chr")
        return sorted(
            ((p37, p38) for (ch, p37), p38 in self.to38.items() if ch == c), key=lambda t: t[1]
        )


@dataclass(frozen=True, slots=True)
class SupplementaryPhenotypes:
    """G6PD and RYR1 diplotype phenotypes and allele functions missing from PharmCAT's data."""

    diplotypes: dict[str, dict[tuple[str, str], str]]
    functions: dict[str, dict[str, str]]

    @classmethod
    def load(cls, folder: Path) -> SupplementaryPhenotypes:
        dips: dict[str, dict[tuple[str, str], str]] = {}
        for gene, a1, a2, pheno in _rows(folder / "diplotype_phenotypes.tsv"):
            a, b = sorted((a1, a2))
            dips.setdefault(gene, {})[(a, b)] = pheno
        funcs: dict[str, dict[str, str]] = {}
        for gene, allele, function in _rows(folder / "allele_functions.tsv"):
            funcs.setdefault(gene, {})[allele] = function
        return cls(dips, funcs)

    def phenotype(self, gene: str, a1: str, a2: str) -> str | None:
        a, b = sorted((a1, a2))
        return self.diplotypes.get(gene, {}).get((a, b))
