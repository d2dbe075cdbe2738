"""PGS Catalog scoring files (format v2.0, plain or gzipped), harmonised or author-reported.

Header lines ``#key=value`` give metadata (pgs_id, genome_build, HmPOS_build, ...). Harmonised
files carry ``hm_chr``/``hm_pos`` (used when present) next to the author's ``chr_name``/
``chr_position``. Rows flagged ``is_haplotype``/``is_diplotype``/``is_interaction`` are kept but
marked unsupported.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

from precisionrx.errors import InputError

TRUE = {"true", "1", "t", "yes"}


@dataclass(frozen=True, slots=True)
class ScoreVariant:
    chrom: str
    pos: int | None
    rsid: str | None
    effect_allele: str
    other_allele: str | None
    weight: float
    effect_type: str  # additive | dominant | recessive | genotypic
    genotypic: tuple[float, float, float] | None
    allele_frequency: float | None
    unsupported: str | None  # reason, for haplotype/diplotype/interaction rows
    line: int


@dataclass
class ScoreFile:
    path: Path
    pgs_id: str
    genome_build: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    variants: list[ScoreVariant] = field(default_factory=list)


def _flag(row: dict[str, str], col: str) -> bool:
    return (row.get(col) or "").strip().lower() in TRUE


def _float(text: str | None) -> float | None:
    if text is None or text.strip() in {"", "NA", "NR"}:
        return None
    return float(text)


def read_scorefile(path: str | Path) -> ScoreFile:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError("scoring file not readable", path=path) from exc
    try:
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputError("scoring file is not text or gzip", path=path) from exc
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = 0
    for i, line in enumerate(lines):
        if line.startswith("#"):
            key, sep, value = line.lstrip("#").partition("=")
            if sep:
                meta[key.strip()] = value.strip().strip("\t")
            continue
        body_start = i
        break
    reader = csv.DictReader(io.StringIO("\n".join(lines[body_start:])), delimiter="\t")
    cols = set(reader.fieldnames or [])
    if "effect_allele" not in cols:
        raise InputError(
            "scoring file has no effect_allele column", path=path, record=f"line {body_start + 1}"
        )
    has_weight = (
        "effect_weight" in cols or {"dosage_0_weight", "dosage_1_weight", "dosage_2_weight"} <= cols
    )
    if not has_weight:
        raise InputError("scoring file has no effect_weight (or dosage_*_weight) column", path=path)
    use_hm = "hm_chr" in cols and "hm_pos" in cols
    build = meta.get("HmPOS_build") if use_hm else meta.get("genome_build")
    pgs_id = meta.get("pgs_id") or meta.get("pgs_name") or path.name.split(".")[0]
    out = ScoreFile(path, pgs_id, build if build not in (None, "NR") else None, meta)
    for n, row in enumerate(reader, start=body_start + 2):
        chrom = (row.get("hm_chr") if use_hm else row.get("chr_name")) or ""
        pos_text = (row.get("hm_pos") if use_hm else row.get("chr_position")) or ""
        try:
            pos = int(float(pos_text)) if pos_text.strip() else None
            weight = _float(row.get("effect_weight")) or 0.0
            geno = None
            if row.get("dosage_0_weight") not in (None, ""):
                geno = (
                    _float(row.get("dosage_0_weight")) or 0.0,
                    _float(row.get("dosage_1_weight")) or 0.0,
                    _float(row.get("dosage_2_weight")) or 0.0,
                )
            freq = _float(row.get("allelefrequency_effect"))
        except ValueError as exc:
            raise InputError(
                f"non-numeric position or weight ({exc})", path=path, record=f"line {n}"
            ) from exc
        unsupported = next(
            (
                f"{c} rows are not supported"
                for c in ("is_haplotype", "is_diplotype", "is_interaction")
                if _flag(row, c)
            ),
            None,
        )
        etype = (
            "genotypic"
            if geno
            else "dominant"
            if _flag(row, "is_dominant")
            else ("recessive" if _flag(row, "is_recessive") else "additive")
        )
        oa = (row.get("other_allele") or row.get("hm_inferOtherAllele") or "").strip() or None
        out.variants.append(
            ScoreVariant(
                chrom=str(chrom).removeprefix("chr"),
                pos=pos,
                rsid=(row.get("hm_rsID") or row.get("rsID") or None),
                effect_allele=(row.get("effect_allele") or "").strip(),
                other_allele=oa,
                weight=weight,
                effect_type=etype,
                genotypic=geno,
                allele_frequency=freq,
                unsupported=unsupported,
                line=n,
            )
        )
    return out
