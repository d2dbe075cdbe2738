"""Named-allele matching, after PharmCAT's Named Allele Matcher (documented behaviour).

- Each named allele accepts, at every position, its defined allele; undefined cells take
  the reference row's allele; IUPAC codes accept any of their bases.
- Positions missing from the input are dropped from every definition. A non-reference
  allele with no defining position left can never be called.
- A diplotype (A, B) is consistent when, for every heterozygous block (one phase set, or
  one unphased position), one orientation of A and B explains every position in the
  block, and both accept each homozygous position.
- Score = number of defining positions still present, summed over the diplotype; the top
  score wins and ties are all returned. The reference allele scores every present
  position (as documented). One departure from PharmCAT's count of non-blank cells for the
  other alleles: IUPAC positions do not score, i.e. a cell holding an ambiguity code
  (CYP2D6 *12's ``Y`` at rs28371710) and any cell where the reference allele's own cell is
  an ambiguity code (CYP2D6 rs1058164 ``S``, rs150163869 ``R``: the reference's sub-alleles
  vary there). Such cells are no evidence for one allele over another, and counting them
  let an allele that differs from a common one only at a missing position outscore it:
  with rs5030862 missing every CYP2D6 *2 haplotype was called *12 (no function), with
  rs201377835 missing *11; *10 was called *56. Those pairs now tie and are all listed,
  ranked by frequency. Genes without IUPAC codes are unaffected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.observe import HAPLOID, MISSING, GeneObservations
from precisionrx.kb.schema import IUPAC, GeneDefinition

BoolArray = npt.NDArray[np.bool_]


@dataclass
class CompiledGene:
    """Definition as arrays, bound to one observation's allele tables."""

    names: list[str]
    reference_index: int
    defined: BoolArray  # (n_alleles, n_positions)
    accepts: BoolArray  # (n_alleles, n_positions, n_codes)
    #: Cells that score: every defined cell of the reference allele; for the others, defined
    #: cells at positions where neither they nor the reference hold an IUPAC ambiguity code.
    scoring: BoolArray  # (n_alleles, n_positions)

    def scores(self, present: BoolArray) -> npt.NDArray[np.int64]:
        """Allele scores over the present positions."""
        out: npt.NDArray[np.int64] = self.scoring[:, present].sum(axis=1).astype(np.int64)
        return out


def compile_gene(defn: GeneDefinition, obs: GeneObservations) -> CompiledGene:
    n_pos = len(defn.positions)
    width = max(len(t) for t in obs.allele_table[:n_pos]) if n_pos else 1
    acc = np.zeros((len(defn.alleles), n_pos, width), dtype=bool)
    defined = np.zeros((len(defn.alleles), n_pos), dtype=bool)
    scoring = np.zeros((len(defn.alleles), n_pos), dtype=bool)
    ref_allele = defn.reference_allele
    for j in range(n_pos):
        groups: dict[frozenset[str], list[int]] = {}
        for a, allele in enumerate(defn.alleles):
            groups.setdefault(allele.accepts[j], []).append(a)
            cell = allele.defined[j]
            defined[a, j] = cell is not None
            scoring[a, j] = cell is not None and (
                allele.reference or not (_ambiguous(cell) or _ambiguous(ref_allele.defined[j]))
            )
        table = obs.allele_table[j]
        for accepted, members in groups.items():
            for c, seq in enumerate(table):
                if seq in accepted:
                    acc[members, j, c] = True
    ref = next(i for i, a in enumerate(defn.alleles) if a.reference)
    return CompiledGene([a.name for a in defn.alleles], ref, defined, acc, scoring)


def _ambiguous(cell: str | None) -> bool:
    return cell is not None and len(cell) == 1 and cell in IUPAC


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
    scores = comp.scores(present)
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


#: Genes whose haplotypes that match no named allele exactly are called as the named alleles
#: whose own defining variants are all present (extra variants left unexplained and listed),
#: instead of no call. CYP2D6 only: it is called from SNVs/indels without its structural
#: variants, and panels and arrays miss many of its 150+ positions, so exact matching fails
#: on common haplotypes with one extra variant; PyPGx 0.27 calls these the same way (an
#: allele is a candidate when its core variants are a subset of the haplotype's). Other genes
#: keep PharmCAT's rule: no exact match, no call (NamedAlleleMatcher-101, "Combinations and
#: Partial Alleles" is research-only there).
PARTIAL_FALLBACK_GENES = frozenset({"CYP2D6"})


@dataclass
class PartialFit:
    """Per allele, per position: does it fit a code, and does that code count as explained."""

    fit: BoolArray  # (n_alleles, n_positions, n_codes)
    explained: BoolArray  # (n_alleles, n_positions, n_codes)


def partial_fit(comp: CompiledGene) -> PartialFit:
    """An allele fits a non-reference code where it defines that allele (explained) or where
    its definition is blank (an extra variant, unexplained); the reference allele fits every
    code as an extra. Reference codes are those the reference allele accepts."""
    ref_acc = comp.accepts[comp.reference_index]  # (n_positions, n_codes)
    free = ~comp.defined
    free[comp.reference_index] = True
    nonref = ~ref_acc[None, :, :]
    fit = comp.accepts | (free[:, :, None] & nonref)
    explained = comp.accepts & comp.defined[:, :, None] & nonref
    explained[comp.reference_index] = False
    return PartialFit(fit, explained)


def partial_match(
    defn: GeneDefinition,
    comp: CompiledGene,
    obs: GeneObservations,
    s: int,
    force_haploid: bool = False,
) -> MatchResult:
    """Diplotypes whose alleles carry all their own defining variants (present positions).

    Pairs are scored by the number of the sample's non-reference alleles they explain; every
    top-scoring pair is returned, and ``undocumented`` lists the positions whose variants the
    first pair leaves unexplained. Used only when :func:`match_sample` finds no pair.
    """
    n_pos = len(defn.positions)
    h1, h2, present = sample_vectors(obs, s, n_pos)
    result = MatchResult()
    if not present.any() or ((h1 < 0) & present).any():
        return result
    haploid = force_haploid or bool((h2[present] == HAPLOID).all())
    pf = partial_fit(comp)
    ref_acc = comp.accepts[comp.reference_index]
    cols = np.flatnonzero(present)
    width = comp.accepts.shape[2]

    def view(codes: npt.NDArray[np.int16]) -> tuple[BoolArray, npt.NDArray[np.int64]]:
        safe = np.clip(codes[cols], 0, width - 1)
        f = pf.fit[:, cols, safe]
        e = pf.explained[:, cols, safe].astype(np.int64)
        return f, e

    # As in exact matching: an allele with no defining position left cannot be called.
    eligible: BoolArray = np.asarray(comp.scoring[:, present].any(axis=1), dtype=bool)
    eligible[comp.reference_index] = True
    f1, e1 = view(h1)
    if haploid:
        ok = f1.all(axis=1) & eligible
        sc = e1.sum(axis=1)
        cand = np.flatnonzero(ok)
        best = sc[cand].max()
        result.pairs = [(comp.names[a], None) for a in cand if sc[a] == best]
        result.haploid = result.phased = True
        result.score = int(best)
        top = int(cand[sc[cand] == best][0])
        result.undocumented = _unexplained(defn, cols, pf, [top], [h1], ref_acc)
        return result
    if ((h2 < 0) & present).any():
        return result
    f2, e2 = view(h2)
    het = h1[cols] != h2[cols]
    blocks: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(het):
        j = int(cols[i])
        key = (1, int(obs.phase_set[s, j])) if obs.phased[s, j] else (0, j)
        blocks.setdefault(key, []).append(int(i))
    viable = np.flatnonzero((f1 | f2).all(axis=1) & eligible)
    a1, a2, x1, x2 = f1[viable], f2[viable], e1[viable], e2[viable]
    k = viable.size
    ok = np.ones((k, k), dtype=bool)
    score = np.zeros((k, k), dtype=np.int64)
    hom = np.flatnonzero(~het)
    if hom.size:
        hom_ok = a1[:, hom].all(axis=1)
        ok &= np.outer(hom_ok, hom_ok)
        hx = x1[:, hom].sum(axis=1)
        score += hx[:, None] + hx[None, :]
    for idx in blocks.values():
        fwd = (a1[:, None, idx] & a2[None, :, idx]).all(axis=2)
        rev = (a2[:, None, idx] & a1[None, :, idx]).all(axis=2)
        sf = x1[:, idx].sum(axis=1)[:, None] + x2[:, idx].sum(axis=1)[None, :]
        sr = x2[:, idx].sum(axis=1)[:, None] + x1[:, idx].sum(axis=1)[None, :]
        ok &= fwd | rev
        score += np.maximum(np.where(fwd, sf, -1), np.where(rev, sr, -1))
    ok = np.triu(ok)
    if not ok.any():
        return result
    best = int(score[ok].max())
    result.score = best
    result.phased = not any(key[0] == 0 for key in blocks) and len(blocks) <= 1
    seen: set[tuple[str, str]] = set()
    first: tuple[int, int] | None = None
    for x, y in zip(*np.nonzero(ok & (score == best)), strict=True):
        a, b = comp.names[viable[x]], comp.names[viable[y]]
        pair = sorted((a, b), key=allele_sort_key)
        if (pair[0], pair[1]) in seen:
            continue
        seen.add((pair[0], pair[1]))
        result.pairs.append((pair[0], pair[1]))
        first = first or (int(x), int(y))
    if first is not None:
        x, y = first
        pair = [int(viable[x]), int(viable[y])]
        result.undocumented = _unexplained(defn, cols, pf, pair, [h1, h2], ref_acc)
    return result


def _unexplained(
    defn: GeneDefinition,
    cols: npt.NDArray[np.intp],
    pf: PartialFit,
    alleles: list[int],
    haplotypes: list[npt.NDArray[np.int16]],
    ref_acc: BoolArray,
) -> list[str]:
    """Labels of present positions with a non-reference allele the chosen alleles leave
    unexplained (each heterozygous position in its best orientation)."""
    width = ref_acc.shape[1]
    out = []
    for j in cols:
        codes = [min(max(int(h[j]), 0), width - 1) for h in haplotypes]
        nonref = sum(1 for c in codes if not ref_acc[j, c])
        if not nonref:
            continue
        orders = [codes] if len(codes) == 1 else [codes, codes[::-1]]
        best = max(
            sum(int(pf.explained[a, j, c]) for a, c in zip(alleles, order, strict=True))
            for order in orders
        )
        if best < nonref:
            out.append(defn.positions[int(j)].label)
    return out
