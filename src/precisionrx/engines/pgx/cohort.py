"""Vectorised matching across samples for phased data (biobank and cohort runs).

For samples whose heterozygous positions are all phased in one block, each haplotype is
matched independently: an allele matches a haplotype when it accepts the haplotype's
allele at every present position. All haplotypes of all samples are matched in one array
operation per named allele, instead of a per-sample loop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.matcher import CompiledGene
from precisionrx.engines.pgx.observe import HAPLOID, MISSING, GeneObservations


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
