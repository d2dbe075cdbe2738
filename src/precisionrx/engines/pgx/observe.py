"""Turn VCF records into per-sample observations at a gene's allele-defining positions.

The result is vectorised across samples: allele codes ``(n_samples, n_positions, 2)`` with
a per-position allele table (code 0 is always the definition's reference allele). Codes:
``-1`` unknown haplotype allele (``.``), ``-3`` no second haplotype (haploid call).
A position with no data at all is *missing* (``present`` False): never silently reference.
An invalid call (allele index beyond the ALT alleles, more than two alleles, malformed GT; see
:mod:`precisionrx.io.vcf`) arrives as missing and is named in ``GeneObservations.notes``, one
line per record and sample: ``invalid genotype at CHROM:POS (sample NAME): PROBLEM; treated as
missing``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.normalizer import edit_of, match_allele
from precisionrx.io.vcf import BuildMarkers, VcfRecord
from precisionrx.kb.schema import DefinedPosition, GeneDefinition
from precisionrx.kb.supplementary import DualBuildMap

MISSING = -1
HAPLOID = -3
UNDOCUMENTED_PREFIX = "?"
NEAR_WINDOW = 30


@dataclass
class GeneObservations:
    gene: str
    samples: list[str]
    positions: tuple[DefinedPosition, ...]
    allele_table: list[list[str]]
    codes: npt.NDArray[np.int16]
    present: npt.NDArray[np.bool_]
    ref_filled: npt.NDArray[np.bool_]
    phased: npt.NDArray[np.bool_]
    phase_set: npt.NDArray[np.int64]
    ref_mismatches: list[str] = field(default_factory=list)
    #: Each position's coordinate in the input's build (None: no coordinate there).
    input_positions: list[int | None] = field(default_factory=list)
    #: Positions filled as reference on request (not observed); None when not used.
    assumed: npt.NDArray[np.bool_] | None = None
    #: Invalid calls treated as missing, one line per record and sample (see the module doc).
    notes: list[str] = field(default_factory=list)

    #: ``notes`` grouped by the sample they name, built on first use (see :meth:`notes_for`).
    _by_sample: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)

    def notes_for(self, sample: str) -> list[str]:
        """The notes naming ``sample``: one pass over ``notes`` for all samples, not one per
        sample (a cohort with many invalid calls would otherwise scan them once per sample)."""
        if self._by_sample is None:
            index: dict[str, list[str]] = {}
            for note in self.notes:
                head, sep, _ = note.partition("):")
                name = head.rpartition("(sample ")[2] if sep else ""
                index.setdefault(name, []).append(note)
            self._by_sample = index
        return list(self._by_sample.get(sample, []))

    def allele(self, j: int, code: int) -> str | None:
        if code < 0:
            return None
        return self.allele_table[j][code]

    def is_undocumented(self, j: int, code: int) -> bool:
        return code >= 0 and self.allele_table[j][code].startswith(UNDOCUMENTED_PREFIX)


def build_markers(defns: Sequence[GeneDefinition], dual: DualBuildMap) -> BuildMarkers:
    """Allele-defining positions as build markers: GRCh38 (the definitions' coordinates and
    REF) and GRCh37 (the dual-build table's coordinates of the same positions, same REF)."""
    to37: dict[tuple[str, int], int] = {}
    for (chrom, p37), p38 in dual.to38.items():
        to37.setdefault((chrom, p38), p37)
    m38: dict[tuple[str, int], frozenset[str]] = {}
    m37: dict[tuple[str, int], frozenset[str]] = {}
    for defn in defns:
        chrom = defn.chromosome.removeprefix("chr")
        for pos in defn.positions:
            if not pos.ref or not set(pos.ref) <= set("ACGTN"):
                continue
            m38[(chrom, pos.position)] = frozenset({pos.ref})
            at37 = to37.get((chrom, pos.position))
            if at37 is not None:
                m37[(chrom, at37)] = frozenset({pos.ref})
    return {"GRCh38": m38, "GRCh37": m37}


def _candidates(defn: GeneDefinition, j: int, pos: DefinedPosition) -> list[str]:
    names = {d for a in defn.alleles if j < len(a.defined) and (d := a.defined[j]) is not None}
    return sorted({pos.ref, *pos.alts, *(n for n in names if set(n) <= set("ACGT"))})


def _code(table: list[str], allele: str) -> int:
    if allele not in table:
        table.append(allele)
    return table.index(allele)


def observe(
    defn: GeneDefinition,
    positions: Sequence[DefinedPosition],
    records: Sequence[VcfRecord],
    samples: list[str],
    input_positions: Sequence[int | None],
    same_build: bool = True,
) -> GeneObservations:
    """Collect genotypes at ``positions`` (definition order) from ``records``.

    ``input_positions`` gives each definition position's coordinate in the input's build
    (None when it has none, e.g. no GRCh37 coordinate known).
    """
    n, m = len(samples), len(positions)
    codes = np.full((n, m, 2), MISSING, dtype=np.int16)
    present = np.zeros((n, m), dtype=bool)
    ref_filled = np.zeros((n, m), dtype=bool)
    phased = np.zeros((n, m), dtype=bool)
    phase_set = np.zeros((n, m), dtype=np.int64)
    tables: list[list[str]] = [[p.ref] for p in positions]
    mismatches: list[str] = []
    used: dict[int, VcfRecord] = {}  # records that spoke about a position (by id)
    by_pos: dict[int, list[VcfRecord]] = {}
    for rec in records:
        by_pos.setdefault(rec.pos, []).append(rec)
    sorted_recs = sorted(records, key=lambda r: r.pos)
    rec_pos = [r.pos for r in sorted_recs]
    # gVCF blocks can start far before a position: keep them in their own list.
    block_recs = [r for r in sorted_recs if r.is_ref_block]
    # ALT alleles that are a variant PharmCAT ignores (matched on position and alleles) say
    # nothing about the defining variant written at the same position: they count as unknown.
    # Edits are taken relative to the defining position, so this holds on GRCh37 input too.
    ignored_vars = [
        (ig.position, ig.ref, alt) for ig in defn.exemptions.ignored_positions for alt in ig.alts
    ]

    for j, (pos, qpos) in enumerate(zip(positions, input_positions, strict=True)):
        if qpos is None:
            continue
        cands = _candidates(defn, j, pos) if j < len(defn.positions) else [pos.ref, *pos.alts]
        applying: list[tuple[VcfRecord, list[int]]] = []
        blocks: list[VcfRecord] = [b for b in block_recs if b.pos <= qpos <= b.end]
        ignored = {
            edit_of(p, ref, alt, pos.position)
            for p, ref, alt in ignored_vars
            if abs(p - pos.position) <= NEAR_WINDOW
        }
        lo = bisect_left(rec_pos, qpos - NEAR_WINDOW)
        for rec in sorted_recs[lo:]:
            if rec.pos > qpos + len(pos.ref) + NEAR_WINDOW:
                break
            if rec.is_ref_block:
                continue
            exact = rec.pos == qpos
            skip = [
                bool(ignored) and edit_of(rec.pos, rec.ref, a, qpos) in ignored for a in rec.alts
            ]
            if skip and all(skip):
                continue  # only ignored variants in this record: not evidence for position j
            mapping = [0]
            hit = False
            for alt, ignored_alt in zip(rec.alts, skip, strict=True):
                if ignored_alt:
                    mapping.append(MISSING)
                    continue
                got = match_allele(rec.pos, rec.ref, alt, qpos, pos.ref, cands)
                if got is None:
                    mapping.append(-99)  # undocumented at this position
                else:
                    mapping.append(_code(tables[j], got))
                    hit = hit or got != pos.ref
            if exact:
                if len(rec.ref) == 1 == len(pos.ref) and rec.ref != pos.ref:
                    if same_build:
                        mismatches.append(f"{pos.label} REF {rec.ref} != {pos.ref}")
                    known = rec.ref in cands
                    mapping[0] = _code(tables[j], rec.ref if known else f"?{rec.ref}")
                for k, alt in enumerate(rec.alts, start=1):
                    if mapping[k] == -99 and not alt.startswith("<") and alt not in {"*", "."}:
                        mapping[k] = _code(tables[j], f"{UNDOCUMENTED_PREFIX}{alt}")
                    elif mapping[k] == -99:
                        mapping[k] = MISSING
                applying.append((rec, mapping))
            elif hit:
                mapping = [MISSING if c == -99 else c for c in mapping]
                applying.append((rec, mapping))
        used.update((id(rec), rec) for rec, _ in applying)
        used.update((id(blk), blk) for blk in blocks)
        if mapping_conflicts := _combine(codes, present, phased, phase_set, j, applying):
            tables[j].append(f"{UNDOCUMENTED_PREFIX}conflict")
            code = len(tables[j]) - 1
            for s in mapping_conflicts:
                codes[s, j, :] = code
        for blk in blocks:
            gts = blk.genotypes
            for s in range(n):
                if present[s, j]:
                    continue
                a, b = int(gts[s, 0]), int(gts[s, 1]) if gts.shape[1] > 2 else -2
                if a == 0 and b in (0, -2):
                    codes[s, j, 0] = 0
                    codes[s, j, 1] = 0 if b == 0 else HAPLOID
                    present[s, j] = True
                    ref_filled[s, j] = True
    return GeneObservations(
        gene=defn.gene,
        samples=samples,
        positions=tuple(positions),
        allele_table=tables,
        codes=codes,
        present=present,
        ref_filled=ref_filled,
        phased=phased,
        phase_set=phase_set,
        ref_mismatches=mismatches,
        input_positions=list(input_positions),
        notes=[note for rec in used.values() for note in rec.invalid_notes(samples)],
    )


def _combine(
    codes: npt.NDArray[np.int16],
    present: npt.NDArray[np.bool_],
    phased: npt.NDArray[np.bool_],
    phase_set: npt.NDArray[np.int64],
    j: int,
    applying: list[tuple[VcfRecord, list[int]]],
) -> list[int]:
    """Merge every record that speaks about position ``j`` (split multi-allelics, padding)."""
    conflicts: list[int] = []
    if not applying:
        return conflicts
    n = codes.shape[0]
    for rec, mapping in applying:
        gts = rec.genotypes
        lut = np.asarray(mapping, dtype=np.int16)
        a = gts[:, 0]
        b = gts[:, 1] if gts.shape[1] > 2 else np.full(n, -2, dtype=np.int32)
        ph = gts[:, -1].astype(bool)
        ca = np.where(a >= 0, lut[np.clip(a, 0, len(lut) - 1)], MISSING).astype(np.int16)
        cb = np.where(b >= 0, lut[np.clip(b, 0, len(lut) - 1)], np.where(b == -2, HAPLOID, MISSING))
        cb = cb.astype(np.int16)
        # Partial genotype with a reference known allele (0/.): ignored, as if missing.
        partial_ref = ((ca == 0) & (cb == MISSING)) | ((cb == 0) & (ca == MISSING))
        both_missing = (ca == MISSING) & (cb == MISSING)
        usable = ~(partial_ref | both_missing)
        new = np.stack([ca, cb], axis=1)
        first = usable & ~present[:, j]
        codes[first, j] = new[first]
        present[first, j] = True
        phased[first, j] = ph[first] & (cb[first] != HAPLOID)
        if rec.phase_sets is not None:
            phase_set[first, j] = rec.phase_sets[first]
        again = usable & ~first
        if not again.any():
            continue
        cur = codes[again, j]
        nxt = new[again]
        keep = (cur == nxt) | np.isin(nxt, (0, MISSING, HAPLOID))
        take = ~keep & np.isin(cur, (0, MISSING))
        merged = np.where(keep, cur, np.where(take, nxt, -100)).astype(np.int16)
        bad = (merged == -100).any(axis=1)
        idx = np.flatnonzero(again)
        conflicts.extend(int(s) for s in idx[bad])
        ok = idx[~bad]
        codes[ok, j] = merged[~bad]
    return conflicts
