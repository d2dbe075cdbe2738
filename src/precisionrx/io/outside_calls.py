"""PharmCAT outside-call TSV: ``gene<TAB>diplotype[<TAB>phenotype[<TAB>activity score]]``.

Lines starting with ``#`` and blank lines are ignored. At least one of the three result
fields is required per line. Gene-symbol prefixes on allele names are stripped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from precisionrx.errors import OutsideCallError


@dataclass(frozen=True, slots=True)
class OutsideCall:
    gene: str
    diplotype: str | None
    phenotype: str | None
    activity_score: str | None
    line: int


def read_outside_calls(path: str | Path) -> list[OutsideCall]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise OutsideCallError("file not found", path=path) from exc
    except UnicodeDecodeError as exc:
        raise OutsideCallError("not UTF-8 text", path=path) from exc
    calls: list[OutsideCall] = []
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = [f.strip() for f in raw.rstrip("\n").split("\t")]
        if len(fields) > 4:
            raise OutsideCallError(
                f"expected at most 4 tab-separated fields, found {len(fields)}",
                path=path,
                record=f"line {n}",
            )
        fields += [""] * (4 - len(fields))
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
        if gene in seen:
            raise OutsideCallError(f"{gene} is listed twice", path=path, record=f"line {n}")
        seen.add(gene)
        if dip:
            dip = "/".join(part.strip().removeprefix(gene) for part in dip.split("/"))
        calls.append(OutsideCall(gene, dip or None, pheno or None, score or None, n))
    return calls
