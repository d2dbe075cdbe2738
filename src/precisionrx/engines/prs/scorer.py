"""Match scoring-file variants to a VCF the way pgscatalog-match does, and compute scores.

Matching priority per variant (pgscatalog-match 0.4.0): refalt > altref > refalt_flip >
altref_flip > no_oa_ref > no_oa_alt > no_oa_ref_flip > no_oa_alt_flip, where "refalt" means
effect allele = REF and other allele = ALT. By default strand-ambiguous pairs (A/T, C/G) and
multi-allelic VCF sites are excluded, strand flips are tried, duplicate candidates keep the best
match (others "not_best"), and a score whose matched fraction is below ``min_overlap`` (0.75) fails.
Positions absent from the VCF are "unmatched", except where a gVCF reference block covers them:
then the genotype is homozygous reference and the other allele is taken as the reference base.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from precisionrx.io.pgs_scorefile import ScoreFile, ScoreVariant
from precisionrx.io.vcf import VcfFile, VcfRecord

COMPLEMENT = str.maketrans("ACGT", "TGCA")
PRIORITY = [
    "refalt", "altref", "refalt_flip", "altref_flip",
    "no_oa_ref", "no_oa_alt", "no_oa_ref_flip", "no_oa_alt_flip",
]  # fmt: skip
MIN_OVERLAP = 0.75


def flip(allele: str) -> str:
    return allele.translate(COMPLEMENT)


def ambiguous(ea: str, oa: str | None) -> bool:
    return oa is not None and len(ea) == 1 and len(oa) == 1 and flip(ea) == oa


def match_type(v: ScoreVariant, ref: str, alt: str) -> str | None:
    ea, oa = v.effect_allele, v.other_allele
    if oa is not None:
        checks = [
            ("refalt", ea == ref and oa == alt),
            ("altref", ea == alt and oa == ref),
            ("refalt_flip", flip(ea) == ref and flip(oa) == alt),
            ("altref_flip", flip(ea) == alt and flip(oa) == ref),
        ]
    else:
        checks = [
            ("no_oa_ref", ea == ref),
            ("no_oa_alt", ea == alt),
            ("no_oa_ref_flip", flip(ea) == ref),
            ("no_oa_alt_flip", flip(ea) == alt),
        ]
    return next((name for name, ok in checks if ok), None)


@dataclass
class MatchLogRow:
    pgs_id: str
    chr: str
    pos: int | None
    effect_allele: str
    other_allele: str | None
    match_status: str  # matched | excluded | not_best | unmatched
    reason: str


@dataclass
class ScoreResult:
    pgs_id: str
    samples: list[str]
    sums: npt.NDArray[np.float64] | None
    variants_matched: int
    variants_in_score: int
    z: npt.NDArray[np.float64] | None
    caveats: list[str] = field(default_factory=list)
    log: list[MatchLogRow] = field(default_factory=list)


CHUNK = 4096


def _score_chunk(
    chosen: list[tuple[ScoreVariant, VcfRecord, int, bool]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Weighted effect-allele dosages of a block of matched variants, summed per sample."""
    gts = np.stack([rec.genotypes[:, :2] for _, rec, _, _ in chosen]).astype(np.int8)  # (m, n, 2)
    alt_k = np.array([k for _, _, k, _ in chosen], dtype=np.int8)[:, None]
    is_block = alt_k == -1
    first, second = gts[:, :, 0], gts[:, :, 1]
    haploid = second == -2
    missing = (first == -1) | (second == -1)
    count = (first == alt_k).astype(np.float64) + (second == alt_k)
    count = np.where(haploid, count * 2, count)
    eff_alt = np.array([e for _, _, _, e in chosen])[:, None]
    dosage = np.where(eff_alt, count, 2 - count)
    if is_block.any():
        dosage = np.where(is_block, np.where(first == 0, 0.0, np.nan), dosage)
    weights = np.array([v.weight for v, _, _, _ in chosen])[:, None]
    kinds = np.array([v.effect_type for v, _, _, _ in chosen])[:, None]
    if not is_block.any() and (kinds == "additive").all():
        # Common case: one matrix product; missing calls count 0 and are tallied.
        dosage[missing] = 0.0
        return weights[:, 0] @ dosage, missing.sum(axis=0).astype(np.int64)
    dosage[missing] = np.nan
    contrib = dosage * weights
    if (kinds != "additive").any():
        contrib = np.where(kinds == "dominant", (dosage >= 1) * weights, contrib)
        contrib = np.where(kinds == "recessive", (dosage >= 2) * weights, contrib)
        for i, (v, _, _, _) in enumerate(chosen):
            if v.genotypic is not None:
                table = np.asarray(v.genotypic)
                contrib[i] = table[np.nan_to_num(dosage[i], nan=0).astype(int).clip(0, 2)]
        contrib[np.isnan(dosage)] = np.nan
    nan = np.isnan(contrib)
    return np.where(nan, 0.0, contrib).sum(axis=0), nan.sum(axis=0).astype(np.int64)


def score(
    sf: ScoreFile,
    vcf: VcfFile,
    keep_ambiguous: bool = False,
    keep_multiallelic: bool = False,
    min_overlap: float = MIN_OVERLAP,
) -> ScoreResult:
    n = len(vcf.samples)
    points = {(v.chrom, v.pos) for v in sf.variants if v.pos is not None and not v.unsupported}
    by_pos = vcf.records_at(points) if points else {}
    log: list[MatchLogRow] = []
    # Matched variants are collected first, then scored together as one matrix product.
    chosen: list[tuple[ScoreVariant, VcfRecord, int, bool]] = []
    have_freq = all(v.allele_frequency is not None for v in sf.variants if not v.unsupported)
    for v in sf.variants:

        def row(status: str, reason: str, v: ScoreVariant = v) -> None:
            log.append(
                MatchLogRow(
                    sf.pgs_id, v.chrom, v.pos, v.effect_allele, v.other_allele, status, reason
                )
            )

        if v.unsupported:
            row("excluded", v.unsupported)
            continue
        if v.pos is None:
            row("unmatched", "no position for this genome build")
            continue
        if ambiguous(v.effect_allele, v.other_allele) and not keep_ambiguous:
            row("excluded", "strand-ambiguous (A/T or C/G)")
            continue
        at = by_pos.get((v.chrom, v.pos), [])
        recs = [r for r in at if r.pos == v.pos and not r.is_ref_block]
        blocks = [r for r in at if r.is_ref_block]
        candidates: list[tuple[int, str, VcfRecord, int]] = []
        multiallelic = False
        for rec in recs:
            alts = [a for a in rec.alts if not a.startswith("<") and a not in {"*", "."}]
            if len(alts) > 1:
                multiallelic = True
                if not keep_multiallelic:
                    continue
            for k, alt in enumerate(rec.alts, start=1):
                mt = match_type(v, rec.ref, alt)
                if mt is not None:
                    candidates.append((PRIORITY.index(mt), mt, rec, k))
        if candidates:
            candidates.sort(key=lambda c: c[0])
            _, mt, rec, k = candidates[0]
            for extra in candidates[1:]:
                row("not_best", f"lower-priority candidate {extra[1]}")
            chosen.append((v, rec, k, mt.startswith(("altref", "no_oa_alt"))))
            row("matched", mt)
        elif blocks and v.other_allele:
            chosen.append((v, blocks[0], -1, False))
            row("matched", "gvcf_reference_block (other allele taken as reference)")
        else:
            reason = "multi-allelic site excluded" if multiallelic else "position not in the VCF"
            row("excluded" if multiallelic else "unmatched", reason)
    matched = len(chosen)
    total = np.zeros(n)
    missing_calls = np.zeros(n, dtype=np.int64)
    mean = 0.0
    var = 0.0
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start : start + CHUNK]
        part_total, part_missing = _score_chunk(part)
        total += part_total
        missing_calls += part_missing
    if chosen and have_freq:
        add = [
            (v.allele_frequency, v.weight) for v, _, _, _ in chosen if v.effect_type == "additive"
        ]
        p = np.array([a for a, _ in add], dtype=np.float64)
        w = np.array([b for _, b in add], dtype=np.float64)
        mean = float(np.sum(2 * p * w))
        var = float(np.sum(2 * p * (1 - p) * w**2))
    n_scored = sum(1 for v in sf.variants)
    caveats = [
        "polygenic scores transfer poorly across ancestries: check the ancestry the score was "
        f"developed in (PGS Catalog entry {sf.pgs_id}) before interpreting it for this person"
    ]
    fraction = matched / n_scored if n_scored else 0.0
    sums: npt.NDArray[np.float64] | None = total
    z = None
    if fraction < min_overlap:
        caveats.append(
            f"only {matched}/{n_scored} variants matched ({fraction:.0%} < {min_overlap:.0%}): "
            "score not reported"
        )
        sums = None
    elif have_freq and var > 0:
        z = (total - mean) / math.sqrt(var)
        caveats.append(
            "percentile and Z from the analytic mean and variance of the scoring file's "
            "effect-allele frequencies (Hardy-Weinberg, independent variants)"
        )
    else:
        caveats.append("no reference distribution: percentile and Z not computed")
    if missing_calls.any():
        caveats.append("some matched sites had missing genotype calls: counted as 0 (not imputed)")
    return ScoreResult(sf.pgs_id, list(vcf.samples), sums, matched, n_scored, z, caveats, log)


def result_rows(res: ScoreResult) -> list[dict[str, Any]]:
    out = []
    for i, s in enumerate(res.samples):
        z = None if res.z is None else float(res.z[i])
        out.append(
            {
                "pgs_id": res.pgs_id,
                "sample": s,
                "sum": None if res.sums is None else round(float(res.sums[i]), 8),
                "variants_matched": res.variants_matched,
                "variants_in_score": res.variants_in_score,
                "percentile": None
                if z is None
                else round(50 * (1 + math.erf(z / math.sqrt(2))), 2),
                "z": None if z is None else round(z, 4),
                "caveats": list(res.caveats),
            }
        )
    return out
