"""DPYD and RYR1: genes reported as lists of variants rather than star haplotypes.

Rules (PharmCAT Gene Definition Exceptions, CPIC fluoropyrimidine guideline PMID 29152729):
- phased or effectively phased data (homozygous everywhere, or one heterozygous
  position): the variants on each strand are listed, ``Reference`` for a strand with none;
- unphased data with two or more heterozygous positions: all variants are listed (a
  homozygous one twice) and no strand assignment is attempted;
- DPYD activity score = sum of the two lowest variant activity values (lowest per strand
  when phased); ties prefer variants known to both CPIC and DPWG (the AMP tier-1 list);
- DPYD HapB3 is called from intronic rs75017182, falling back to exonic rs56038477
  with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from precisionrx.engines.pgx.observe import HAPLOID, GeneObservations
from precisionrx.kb.schema import GeneDefinition, NamedAllele

HAPB3 = "c.1129-5923C>G, c.1236G>A (HapB3)"
HAPB3_INTRONIC = "rs75017182"
HAPB3_EXONIC = "rs56038477"


@dataclass
class VariantListCall:
    strands: list[list[str]] | None  # per strand when phased / effectively phased
    found: list[str] = field(default_factory=list)  # all variants (hom twice)
    warnings: list[str] = field(default_factory=list)
    undetermined: list[str] = field(default_factory=list)


def call_variant_list(defn: GeneDefinition, obs: GeneObservations, s: int) -> VariantListCall:
    n_pos = len(defn.positions)
    present = obs.present[s, :n_pos]
    h = obs.codes[s, :n_pos, :]
    labels = {p.label: j for j, p in enumerate(defn.positions)}
    warnings: list[str] = []
    hap_alleles: list[tuple[list[str], list[str]]] = []
    undetermined: list[str] = []
    skip_positions: set[int] = set()
    if defn.gene == "DPYD" and HAPB3_INTRONIC in labels and HAPB3_EXONIC in labels:
        ji, je = labels[HAPB3_INTRONIC], labels[HAPB3_EXONIC]
        skip_positions = {ji, je}
        hap = defn.allele(HAPB3)
        use = ji if present[ji] else je
        if not present[ji] and present[je]:
            warnings.append(
                "HapB3 called from exonic rs56038477 because intronic rs75017182 is missing; "
                "genotype rs75017182 to confirm HapB3 and its decreased function"
            )
        elif present[ji] and present[je]:
            gi = _carriers(obs, s, ji, hap.accepts[ji])
            ge = _carriers(obs, s, je, hap.accepts[je])
            if gi != ge:
                warnings.append(
                    "HapB3 intronic rs75017182 and exonic rs56038477 disagree; "
                    "the intronic SNP was used"
                )
        if present[use]:
            strand = _carriers(obs, s, use, hap.accepts[use])
            hap_alleles.append(([HAPB3] if strand[0] else [], [HAPB3] if strand[1] else []))
        else:
            undetermined.append(HAPB3)
    by_position, multi = _allele_index(defn)
    missing = {j for j in range(n_pos) if not present[j]}
    for j in sorted(missing - skip_positions):
        undetermined.extend(a.name for a in by_position.get(j, []))
    ref_codes = (0, HAPLOID, -1)
    nonref = [
        j
        for j in range(n_pos)
        if present[j] and (int(h[j, 0]) not in ref_codes or int(h[j, 1]) not in ref_codes)
    ]
    for j in nonref:
        if j in skip_positions:
            continue
        for allele in by_position.get(j, []):
            c = _carriers(obs, s, j, allele.accepts[j])
            if c[0] or c[1]:
                hap_alleles.append(([allele.name] if c[0] else [], [allele.name] if c[1] else []))
    for allele, cols in multi:
        if any(j in skip_positions for j in cols):
            continue
        if not all(present[j] for j in cols):
            undetermined.append(allele.name)
            continue
        strand = (True, True)
        for j in cols:
            c = _carriers(obs, s, j, allele.accepts[j])
            strand = (strand[0] and c[0], strand[1] and c[1])
        hap_alleles.append(([allele.name] if strand[0] else [], [allele.name] if strand[1] else []))
    s1 = [a for x, _ in hap_alleles for a in x]
    s2 = [a for _, y in hap_alleles for a in y]
    het = present & (h[:, 0] != h[:, 1]) & (h[:, 1] != HAPLOID)
    het_phased = het & obs.phased[s, :n_pos]
    sets = {int(obs.phase_set[s, j]) for j in np.flatnonzero(het_phased)}
    effectively = int(het.sum()) <= 1 or (bool(het_phased[het].all()) and len(sets) <= 1)
    found = sorted(s1 + s2)
    if effectively:
        return VariantListCall([s1, s2], found, warnings, undetermined)
    return VariantListCall(None, found, warnings, undetermined)


def _allele_index(
    defn: GeneDefinition,
) -> tuple[dict[int, list[NamedAllele]], list[tuple[NamedAllele, list[int]]]]:
    """Single-position alleles by position, and the multi-position ones (e.g. HapB3)."""
    return defn.memo("pgx.allele_index", lambda: _make_allele_index(defn))


def _make_allele_index(
    defn: GeneDefinition,
) -> tuple[dict[int, list[NamedAllele]], list[tuple[NamedAllele, list[int]]]]:
    by_position: dict[int, list[NamedAllele]] = {}
    multi: list[tuple[NamedAllele, list[int]]] = []
    for allele in defn.alleles:
        if allele.reference or allele.name == HAPB3:
            continue
        cols = [j for j, d in enumerate(allele.defined) if d is not None]
        if len(cols) == 1:
            by_position.setdefault(cols[0], []).append(allele)
        elif cols:
            multi.append((allele, cols))
    return by_position, multi


def _carriers(obs: GeneObservations, s: int, j: int, accepts: frozenset[str]) -> tuple[bool, bool]:
    a, b = int(obs.codes[s, j, 0]), int(obs.codes[s, j, 1])
    ref = obs.allele_table[j][0]
    x = a >= 0 and obs.allele_table[j][a] in accepts and obs.allele_table[j][a] != ref
    y = b >= 0 and obs.allele_table[j][b] in accepts and obs.allele_table[j][b] != ref
    return (x, y)


def strand_name(names: list[str]) -> str:
    if not names:
        return "Reference"
    if len(names) == 1:
        return names[0]
    return "[" + " + ".join(names) + "]"


def lowest_two(
    call: VariantListCall, activity: dict[str, str | None], preferred: tuple[str, ...]
) -> tuple[str, str]:
    """The alleles used for the phenotype: lowest per strand, or the two lowest overall."""

    def value(name: str) -> Decimal:
        raw = activity.get(name)
        return Decimal(raw) if raw not in (None, "n/a") else Decimal(1)

    def rank(name: str) -> tuple[Decimal, int, str]:
        return (value(name), 0 if name in preferred else 1, name)

    if call.strands is not None:
        picks = [min(strand, key=rank) if strand else "Reference" for strand in call.strands]
        return picks[0], picks[1]
    ordered = sorted(call.found, key=rank)
    ordered += ["Reference", "Reference"]
    return ordered[0], ordered[1]
