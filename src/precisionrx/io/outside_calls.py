"""PharmCAT outside-call files (pharmcat-docs Outside-Call-Format.md).

Tab-separated, up to 4 fields per line: HGNC gene symbol (required), diplotype or single allele
call, phenotype (or another gene result), activity score. Any one of the last three is enough;
they can be given alone or together, and different lines can mix them. Lines starting with
``#`` and blank lines are ignored. Gene-symbol prefixes on allele names are stripped
(``CYP2C9*1/CYP2C9*3`` -> ``*1/*3``).

A gene may be listed on several lines or in several files: that is an ambiguous result (every
line is kept, in order, and the engine reports each), not an error. Identical repeated lines
are one candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from precisionrx.errors import OutsideCallError
from precisionrx.io.textio import read_text

MAX_FIELDS = 4


@dataclass(frozen=True, slots=True)
class OutsideCall:
    gene: str
    diplotype: str | None
    phenotype: str | None
    activity_score: str | None
    line: int
    #: File the call came from (as given); empty when built in code.
    source: str = ""

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.source else f"line {self.line}"


def _strip_gene_prefix(gene: str, diplotype: str) -> str:
    return "/".join(part.strip().removeprefix(gene).strip() for part in diplotype.split("/"))


def read_outside_calls(path: str | Path) -> list[OutsideCall]:
    """Read one outside-call file (a regular text file: UTF-8, or UTF-16 with its mark)."""
    path = Path(path)
    text = read_text(path, "outside-call list", OutsideCallError)
    calls: list[OutsideCall] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = [f.strip() for f in raw.split("\t")]
        if len(fields) > MAX_FIELDS:
            raise OutsideCallError(
                f"expected at most {MAX_FIELDS} tab-separated fields, found {len(fields)}",
                path=path,
                record=f"line {n}",
            )
        fields += [""] * (MAX_FIELDS - len(fields))
        gene, dip, pheno, score = fields
        if not gene:
            raise OutsideCallError("gene symbol missing", path=path, record=f"line {n}")
        if not (dip or pheno or score):
            raise OutsideCallError(
                f"{gene}: give a diplotype, a phenotype or an activity score",
                path=path,
                record=f"line {n}",
                hint="fields are separated by TABs",
            )
        if dip:
            dip = _strip_gene_prefix(gene, dip)
        calls.append(OutsideCall(gene, dip or None, pheno or None, score or None, n, str(path)))
    return calls


def read_outside_call_files(paths: Iterable[str | Path]) -> list[OutsideCall]:
    """Every call of every file, in order; a gene in several places is an ambiguous call."""
    calls: list[OutsideCall] = []
    for path in paths:
        calls += read_outside_calls(path)
    return calls


def by_gene(calls: Iterable[OutsideCall]) -> dict[str, list[OutsideCall]]:
    """Group calls per gene (first-seen order); identical repeated lines count once."""
    out: dict[str, list[OutsideCall]] = {}
    for c in calls:
        same = out.setdefault(c.gene, [])
        if not any(
            (o.diplotype, o.phenotype, o.activity_score)
            == (c.diplotype, c.phenotype, c.activity_score)
            for o in same
        ):
            same.append(c)
    return out
