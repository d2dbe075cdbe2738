"""The compiled scoring loop of :mod:`precisionrx.engines.prs.kernel` (numba, ``nogil``;
compiled once per machine and cached next to this file or in numba's user cache)."""

from __future__ import annotations

import numba


@numba.njit(nogil=True, cache=True)
def _variant(row, wv, eff_alt, k, geno_row, impute, total, miss):  # type: ignore[no-untyped-def]
    """One variant with missing calls or a non-additive effect."""
    n_samples = row.shape[0]
    s = 0.0
    called = 0
    for j in range(n_samples):
        ok = row[j] >= 0
        called += ok
        s += row[j] * ok
    mean = s / called if called > 0 else 0.0
    for j in range(n_samples):
        x = row[j]
        if x >= 0:
            d = float(x)
        else:
            miss[j] += 1
            if not impute or called == 0:
                continue
            if k == 1 or k == 2:  # plink2: the effect-allele frequency
                total[j] += wv * (mean if eff_alt else 2.0 - mean) / 2.0
                continue
            d = mean
        de = d if eff_alt else 2.0 - d
        if k == 0:
            total[j] += wv * de
        elif k == 1:
            total[j] += wv * min(de, 1.0)
        elif k == 2:
            total[j] += wv * max(de - 1.0, 0.0)
        else:
            total[j] += geno_row[min(max(int(de + 0.5), 0), 2)]


@numba.njit(nogil=True, cache=True)
def _accumulate(g, w, eff_alt, kind, geno, impute, total, miss):  # type: ignore[no-untyped-def]
    n_var, n_samples = g.shape
    for v in range(n_var):
        row = g[v]
        wv = w[v]
        missing = 0
        for j in range(n_samples):  # vectorises: any missing call in the row?
            missing |= row[j] < 0
        if kind[v] != 0 or missing:
            _variant(row, wv, eff_alt[v], kind[v], geno[v], impute, total, miss)
        elif eff_alt[v]:
            for j in range(n_samples):
                total[j] += wv * row[j]
        else:
            c = 2.0 * wv
            for j in range(n_samples):
                total[j] += c - wv * row[j]
