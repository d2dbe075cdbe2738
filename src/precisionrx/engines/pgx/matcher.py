"""Named-allele matching, after PharmCAT's Named Allele Matcher (documented behaviour).

- Each named allele accepts, at every position, its defined allele; undefined cells take
  the reference row's allele; IUPAC codes accept any of their bases.
- Positions missing from the input are dropped from every definition. A non-reference
  allele with no defining position left can never be called.
- A diplotype (A, B) is consistent when, for every heterozygous block (one phase set, or
  one unphased position), one orientation of A and B explains every position in the
  block, and both accept each homozygous position.
- Score = number of defining positions still present, summed over the diplotype; the top
  score wins and ties are all returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.observe import HAPLOID, MISSING, GeneObservations
from precisionrx.kb.schema import GeneDefinition

BoolArray = npt.NDArray[np.bool_]


@dataclass
class CompiledGene:
    """Definition as arrays, bound to one observation's allele tables."""

    names: list[str]
    reference_index: int
    defined: BoolArray  # (n_alleles, n_positions)
    accepts: BoolArray  # (n_alleles, n_positions, n_codes)


def compile_gene(defn: GeneDefinition, obs: GeneObservations) -> CompiledGene:
    n_pos = len(defn.positions)
    width = max(len(t) for t in obs.allele_table[:n_pos]) if n_pos else 1
    acc = np.zeros((len(defn.alleles), n_pos, width), dtype=bool)
    defined = np.zeros((len(defn.alleles), n_pos), dtype=bool)
    for j in range(n_pos):
        groups: dict[frozenset[str], list[int]] = {}
        for a, allele in enumerate(defn.alleles):
            groups.setdefault(allele.accepts[j], []).append(a)
            defined[a, j] = allele.defined[j] is not None
        table = obs.allele_table[j]
        for accepted, members in groups.items():
            for c, seq in enumerate(table):
                if seq in accepted:
                    acc[members, j, c] = True
    ref = next(i for i, a in enumerate(defn.alleles) if a.reference)
    return CompiledGene([a.name for a in defn.alleles], ref, defined, acc)


_STAR = re.compile(r"^\*(\d+)(.*)$")


def allele_sort_key(name: str) -> tuple[int, int, str]:
    """Natural order: reference-like names first, then star numbers, then text."""
    if name in {"Reference"} or name.endswith("reference") or "(reference)" in name:
        return (0, 0, name)
    m = _STAR.match(name)
    if m:
        return (1, int(m.group(1)), m.group(2))
    return (2, 0, name)


def diplotype_name(a: str, b: str | None) -> str:
    if b is None:
        return a
    x, y = sorted((a, b), key=allele_sort_key)
    return f"{x}/{y}"


@dataclass
class MatchResult:
    pairs: list[tuple[str, str | None]] = field(default_factory=list)
    score: int = 0
    haploid: bool = False
    phased: bool = False
    undocumented: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    @property
    def diplotypes(self) -> list[str]:
        return [diplotype_name(a, b) for a, b in self.pairs]


def sample_vectors(
    obs: GeneObservations, s: int, n_pos: int
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16], BoolArray]:
    h1 = obs.codes[s, :n_pos, 0].copy()
    h2 = obs.codes[s, :n_pos, 1].copy()
    present = obs.present[s, :n_pos].copy()
    return h1, h2, present


def _hits(comp: CompiledGene, codes: npt.NDArray[np.int16]) -> BoolArray:
    """(n_alleles, n_positions): does each allele accept each haplotype code."""
    n_pos = codes.shape[0]
    safe = np.clip(codes, 0, comp.accepts.shape[2] - 1)
    hits = comp.accepts[:, np.arange(n_pos), safe]
    hits[:, codes < 0] = False
    return hits


def match_sample(
    defn: GeneDefinition,
    comp: CompiledGene,
    obs: GeneObservations,
    s: int,
    force_haploid: bool = False,
) -> MatchResult:
    """Match one sample's genotypes at one gene."""
    n_pos = len(defn.positions)
    h1, h2, present = sample_vectors(obs, s, n_pos)
    result = MatchResult()
    haploid_calls = present & (h2 == HAPLOID)
    haploid = force_haploid or (bool(present.any()) and bool(haploid_calls[present].all()))
    if force_haploid:
        het = present & (h1 != h2) & (h2 != HAPLOID)
        if het.any():
            return result  # heterozygous call in a hemizygous region: caller adds caveat
        h2 = np.where(present, HAPLOID, h2).astype(np.int16)
    # Partial genotypes with an ALT kept (e.g. "./1"): the unknown haplotype matches nothing.
    result.partial = [
        obs.positions[j].label
        for j in np.flatnonzero(present & ((h1 == MISSING) | (h2 == MISSING)))
    ]
    result.haploid = haploid
    pres_idx = np.flatnonzero(present)
    scores = (comp.defined[:, present]).sum(axis=1)
    eligible = scores > 0
    eligible[comp.reference_index] = True
    m1 = _hits(comp, h1)
    if haploid:
        ok = eligible & m1[:, pres_idx].all(axis=1)
        cands = np.flatnonzero(ok)
        if cands.size == 0:
            return result
        best = scores[cands].max()
        result.pairs = [(comp.names[a], None) for a in cands if scores[a] == best]
        result.score = int(best)
        result.phased = True
        return result
    m2 = _hits(comp, h2)
    viable = eligible & (m1 | m2)[:, pres_idx].all(axis=1)
    cands = np.flatnonzero(viable)
    if cands.size == 0:
        return result
    het = present & (h1 != h2)
    hom_idx = np.flatnonzero(present & (h1 == h2))
    blocks: dict[tuple[int, int], list[int]] = {}
    for j in np.flatnonzero(het):
        key = (1, int(obs.phase_set[s, j])) if obs.phased[s, j] else (0, int(j))
        blocks.setdefault(key, []).append(int(j))
    result.phased = bool(het.any()) and all(k[0] == 1 for k in blocks) and len(blocks) == 1
    if not het.any():
        result.phased = True  # homozygous everywhere: effectively phased
    c1 = m1[cands]
    c2 = m2[cands]
    k = cands.size
    ok = np.ones((k, k), dtype=bool)
    if hom_idx.size:
        hom_ok: BoolArray = np.asarray(c1[:, hom_idx].all(axis=1), dtype=bool)
        ok &= np.outer(hom_ok, hom_ok)
    for cols in blocks.values():
        a1 = c1[:, cols]
        a2 = c2[:, cols]
        fwd = (a1[:, None, :] & a2[None, :, :]).all(axis=2)
        rev = (a2[:, None, :] & a1[None, :, :]).all(axis=2)
        ok &= fwd | rev
    ii, jj = np.nonzero(np.triu(ok))
    if ii.size == 0:
        return result
    pair_scores = scores[cands[ii]] + scores[cands[jj]]
    best = int(pair_scores.max())
    result.score = best
    seen: set[tuple[str, str]] = set()
    for x, y, sc in zip(ii, jj, pair_scores, strict=True):
        if sc != best:
            continue
        a, b = comp.names[cands[x]], comp.names[cands[y]]
        first, second = sorted((a, b), key=allele_sort_key)
        if (first, second) in seen:
            continue
        seen.add((first, second))
        result.pairs.append((first, second))
    return result
