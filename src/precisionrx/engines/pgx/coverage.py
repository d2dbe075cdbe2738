"""Data sufficiency of a pharmacogene call: what the missing positions leave possible.

A position absent from the input is never read as reference. PharmCAT drops it from every
definition (NamedAlleleMatcher-101, "Missing Positions") and the matcher here does the same,
so the best-scoring diplotypes are those the observed positions support. Two rules are added
on top, so that no phenotype is presented with more confidence than the data allow:

1. **Still possible.** A common allele that agrees with a called allele at every observed
   position and differs from it only at missing positions cannot be excluded: it stays
   possible (CYP2C19 with rs12248560 missing: ``*1/*1``, ``*1/*17`` and ``*17/*17``). Rare
   alleles (below :data:`COMMON_FREQUENCY` in every super-population, or never seen in the
   panel) are not enumerated: they are named by the ``missing_positions`` caveat, as PharmCAT
   warns of what its missing positions leave unassessed. Of the possible diplotypes, those
   with a result (phenotype, activity score, lookup key) the matched ones do not give are
   kept, the most frequent one per result: when the results differ, every possible result is
   listed with its own phenotype and none is presented as the answer.
2. **Insufficient coverage.** The positions that define the common decreased- and
   no-function alleles of a gene (allele function from the shipped CPIC/PharmCAT tables) are
   the ones a call cannot do without. When the result is open (rule 1 found another possible
   result) and most of them are absent, the gene is not called (``insufficient_coverage``)
   and the missing ones are named, instead of an enumeration of the diplotypes they leave open.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.matcher import allele_sort_key
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import IUPAC, GeneDefinition

#: Allele functions whose defining positions a call needs (CPIC allele functionality terms).
ACTIONABLE_FUNCTIONS = frozenset({"No function", "Decreased function"})
#: "Common": at least this frequency in at least one 1000 Genomes super-population.
COMMON_FREQUENCY = 0.01
#: Enumeration of the possible diplotypes stops here (the caller lists one per result).
MAX_POSSIBLE = 5000

BoolArray = npt.NDArray[np.bool_]
Pair = tuple[str, str | None]


@dataclass(frozen=True)
class CoverageKey:
    """The positions that define a gene's common decreased- and no-function alleles."""

    alleles: tuple[str, ...]
    #: Column indexes into the definition's positions.
    columns: tuple[int, ...]


def common_alleles(kb: KnowledgeBase, defn: GeneDefinition) -> frozenset[str]:
    """Non-reference alleles of ``defn`` that are common in at least one 1000 Genomes
    super-population (:data:`COMMON_FREQUENCY`).

    An allele is common when its panel haplotype frequency reaches the threshold in a
    super-population, or, for alleles the panel cannot count on their own (sub-alleles that
    share a haplotype, definitions with positions the panel lacks), when each of its defining
    variants reaches it in one and the same super-population.
    """
    return kb.memo(("pgx.common_alleles", defn.gene, defn.version), lambda: _common(kb, defn))


def _common(kb: KnowledgeBase, defn: GeneDefinition) -> frozenset[str]:
    freqs = kb.population_frequencies(defn.gene)
    sites = kb.position_frequencies(defn.gene)
    pops = sorted({p for f in sites.values() for p in f} | set(freqs))
    ref = defn.reference_allele.defined
    out: set[str] = set()
    for a in defn.alleles:
        if a.reference:
            continue
        cols = [j for j, d in enumerate(a.defined) if d is not None and d != ref[j]]
        bases = [(defn.positions[j].label, a.defined[j]) for j in cols]

        def site_common(pop: str, bases: list[tuple[str, str | None]] = bases) -> bool:
            return all(
                d is not None
                and (
                    d in IUPAC or sites.get(label, {}).get(pop, {}).get(d, 0.0) >= COMMON_FREQUENCY
                )
                for label, d in bases
            ) and any(d not in IUPAC for _, d in bases)

        counted = max((f.get(a.name, 0.0) for f in freqs.values()), default=0.0)
        if counted >= COMMON_FREQUENCY or (cols and any(site_common(p) for p in pops)):
            out.add(a.name)
    return frozenset(out)


def coverage_key(kb: KnowledgeBase, defn: GeneDefinition) -> CoverageKey:
    """Common (:func:`common_alleles`) decreased/no-function alleles of ``defn`` and the
    positions defining them."""
    return kb.memo(("pgx.coverage_key", defn.gene, defn.version), lambda: _key(kb, defn))


def _key(kb: KnowledgeBase, defn: GeneDefinition) -> CoverageKey:
    table = kb.phenotypes(defn.gene)
    functions = table.functions if table else {}
    common = common_alleles(kb, defn)
    ref = defn.reference_allele.defined
    alleles: list[str] = []
    columns: set[int] = set()
    for a in defn.alleles:
        if a.name in common and functions.get(a.name) in ACTIONABLE_FUNCTIONS:
            alleles.append(a.name)
            columns.update(j for j, d in enumerate(a.defined) if d is not None and d != ref[j])
    return CoverageKey(tuple(alleles), tuple(sorted(columns)))


def insufficient(key: CoverageKey, present: BoolArray) -> list[int]:
    """Missing key columns when most key positions are missing; else an empty list."""
    if not key.columns:
        return []
    missing = [j for j in key.columns if not present[j]]
    return missing if 2 * len(missing) > len(key.columns) else []


@dataclass(frozen=True)
class _Cells:
    names: tuple[str, ...]
    ids: npt.NDArray[np.int32]  # (n_alleles, n_positions): id of each cell's accepted set
    compatible: BoolArray  # (n_ids, n_ids): the two accepted sets share a base


def _cells(defn: GeneDefinition) -> _Cells:
    return defn.memo("pgx.cells", lambda: _make_cells(defn))


def _make_cells(defn: GeneDefinition) -> _Cells:
    sets: dict[frozenset[str], int] = {}
    ids = np.zeros((len(defn.alleles), len(defn.positions)), dtype=np.int32)
    for i, a in enumerate(defn.alleles):
        for j in range(len(defn.positions)):
            ids[i, j] = sets.setdefault(a.accepts[j], len(sets))
    order = list(sets)
    compatible = np.asarray([[bool(x & y) for y in order] for x in order], dtype=bool)
    return _Cells(tuple(a.name for a in defn.alleles), ids, compatible)


def hidden_alleles(defn: GeneDefinition, present: BoolArray, allele: str) -> tuple[str, ...]:
    """Alleles that agree with ``allele`` at every present position and differ from it only
    at missing ones: the input cannot tell them apart."""
    memo: dict[tuple[str, bytes], tuple[str, ...]] = defn.memo("pgx.hidden", dict)
    key = (allele, present.tobytes())
    if key in memo:
        return memo[key]
    cells = _cells(defn)
    if allele not in cells.names or present.all():
        return ()
    i = cells.names.index(allele)
    row = cells.ids[i]
    agree = cells.compatible[cells.ids[:, present], row[present]].all(axis=1)
    differ = (cells.ids[:, ~present] != row[~present]).any(axis=1)
    out = tuple(cells.names[k] for k in np.flatnonzero(agree & differ) if k != i)
    if len(memo) > 100_000:
        memo.clear()
    memo[key] = out
    return out


def possible_pairs(
    defn: GeneDefinition,
    present: BoolArray,
    pairs: list[Pair],
    result: Callable[[Pair], object],
    candidates: frozenset[str],
) -> list[Pair]:
    """Diplotypes the missing positions leave possible beside ``pairs``, whose result differs.

    ``result(pair)`` is what a diplotype contributes (phenotype, activity score, lookup key);
    ``candidates`` the alleles that may be listed (the common ones: a rare allele hidden by a
    missing position is named by the ``missing_positions`` caveat, as PharmCAT warns, not
    enumerated). For each called pair (A, B), every combination of A or a candidate hidden
    behind A with B or a candidate hidden behind B is possible; those whose result differs
    from (A, B)'s are kept. Both sides are varied together, not one at a time: SLCO1B1
    ``*1/*1`` with rs2306283 and rs11045819 missing leaves ``*1/*14`` (the same Normal
    Function) but also ``*14/*14`` (Increased Function). Returned: the new pairs only, in a
    stable order.
    """
    if present.all():
        return []
    seen = {_norm(p) for p in pairs}
    out: list[Pair] = []

    def hidden(allele: str) -> list[str]:
        return [x for x in hidden_alleles(defn, present, allele) if x in candidates]

    for a, b in pairs:
        base = result((a, b))
        alts_a = [a, *hidden(a)]
        alts_b: list[str | None] = [b] if b is None else [b, *hidden(b)]
        for x, y in itertools.product(alts_a, alts_b):
            pair = _norm((x, y))
            if pair in seen:
                continue
            seen.add(pair)
            if result(pair) != base:
                out.append(pair)
                if len(out) > MAX_POSSIBLE:
                    return out
    return out


def _norm(pair: Pair) -> Pair:
    a, b = pair
    if b is None:
        return (a, None)
    x, y = sorted((a, b), key=allele_sort_key)
    return (x, y)
