"""Vectorised matching across samples for phased data (biobank and cohort runs).

For samples whose heterozygous positions are all phased in one block, each haplotype is
matched independently: an allele matches a haplotype when it accepts the haplotype's
allele at every present position. All haplotypes of all samples are matched in one array
operation per named allele, instead of a per-sample loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.matcher import CompiledGene, compile_gene
from precisionrx.engines.pgx.observe import HAPLOID, MISSING, GeneObservations, observe
from precisionrx.io.vcf import VcfFile
from precisionrx.kb.registry import KnowledgeBase


def haplotype_matches(
    comp: CompiledGene, obs: GeneObservations, n_pos: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """(n_samples*2, n_alleles) match matrix and per-haplotype allele scores.

    Identical haplotypes (same alleles at the same present positions) are matched once: a
    cohort has far fewer distinct haplotypes than haplotypes.
    """
    n = obs.codes.shape[0]
    codes = obs.codes[:, :n_pos, :].transpose(0, 2, 1).reshape(n * 2, n_pos)
    present = np.repeat(obs.present[:, :n_pos], 2, axis=0)
    key = np.ascontiguousarray(np.where(present, codes, np.int16(-100)).astype(np.int16))
    rows = key.view(np.dtype((np.void, key.dtype.itemsize * max(n_pos, 1)))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    codes, present = codes[first], present[first]
    safe = np.clip(codes, 0, comp.accepts.shape[2] - 1)
    cols = np.arange(n_pos)
    n_alleles = comp.accepts.shape[0]
    match = np.zeros((len(first), n_alleles), dtype=bool)
    bad_code = codes < 0
    for a in range(n_alleles):
        ok = comp.accepts[a][cols, safe]
        ok |= ~present
        ok &= ~(bad_code & present)
        match[:, a] = ok.all(axis=1)
    scores = present.astype(np.int64) @ comp.scoring.T.astype(np.int64)
    eligible = scores > 0
    eligible[:, comp.reference_index] = True
    match &= eligible
    return match[inverse], scores[inverse]


def best_alleles(
    comp: CompiledGene, match: npt.NDArray[np.bool_], scores: npt.NDArray[np.int64], h: int
) -> list[str]:
    idx = np.flatnonzero(match[h])
    if idx.size == 0:
        return []
    sc = scores[h, idx]
    best = sc.max()
    return [comp.names[i] for i in idx[sc == best]]


def single_block_phased(obs: GeneObservations, n_pos: int) -> npt.NDArray[np.bool_]:
    """Samples whose heterozygous positions are all phased in a single phase set."""
    codes = obs.codes[:, :n_pos, :]
    het = obs.present[:, :n_pos] & (codes[:, :, 0] != codes[:, :, 1])
    het &= codes[:, :, 1] != HAPLOID
    unphased_het = (het & ~obs.phased[:, :n_pos]).any(axis=1)
    ps = np.where(het, obs.phase_set[:, :n_pos], -1)
    ps_max = ps.max(axis=1)
    ps_min = np.where(het, obs.phase_set[:, :n_pos], np.iinfo(np.int64).max).min(axis=1)
    one_set = ~het.any(axis=1) | (ps_max == ps_min)
    has_missing_allele = ((codes == MISSING) & obs.present[:, :n_pos, None]).any(axis=(1, 2))
    out: npt.NDArray[np.bool_] = ~unphased_het & one_set & ~has_missing_allele
    return out


def haplotype_alleles_from_panel(
    kb: KnowledgeBase,
    gene: str,
    path: Path,
    complete: set[str] | None = None,
    samples: list[str] | None = None,
) -> Iterator[list[str]]:
    """Best named alleles of each haplotype of a fully phased panel.

    Positions absent from the panel are missing (the panel dropped some common sites), so
    only alleles whose defining positions are all in the panel (added to ``complete``)
    can be counted reliably.
    """
    defn = kb.definition(gene)
    with VcfFile(path) as vcf:
        if samples is not None:  # haplotype h belongs to samples[h // 2]
            samples.extend(vcf.samples)
        chrom = defn.chromosome.removeprefix("chr")
        (records,) = vcf.fetch([(chrom, defn.start - 50, defn.end + 50)])
        obs = observe(
            defn, defn.positions, records, vcf.samples, [p.position for p in defn.positions]
        )
    in_panel: npt.NDArray[np.bool_] = np.asarray(obs.present.any(axis=0), dtype=bool)
    if complete is not None:
        ref = defn.reference_allele
        for allele in defn.alleles:
            cols = [
                j for j, d in enumerate(allele.defined) if d is not None and d != ref.defined[j]
            ]
            if all(in_panel[j] for j in cols):
                complete.add(allele.name)
    absent = ~obs.present & in_panel[None, :]
    obs.codes[absent] = 0  # a panel site not called in a sample: reference in this panel
    obs.present[absent] = True
    comp = compile_gene(defn, obs)
    match, scores = haplotype_matches(comp, obs, len(defn.positions))
    for h in range(match.shape[0]):
        yield best_alleles(comp, match, scores, h)
