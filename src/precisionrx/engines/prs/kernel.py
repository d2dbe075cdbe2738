"""The scoring loop: weighted effect-allele dosages summed per sample, compiled with numba.

Input is one block of matched variants as a (variants, samples) matrix of ALT dosages: int8
hard-call counts or float32/float64 dosages, with any negative value (``-9``, PLINK's code) or
NaN meaning a missing call. Per variant the effect dosage is the ALT dosage when the effect
allele is the ALT, else 2 - ALT dosage, and contributes (plink2 ``--score`` definitions,
https://www.cog-genomics.org/plink/2.0/score):

* additive: weight x dosage;
* dominant: weight x min(dosage, 1); recessive: weight x max(dosage - 1, 0);
* genotypic (PGS Catalog ``dosage_0/1/2_weight``): the weight of the nearest whole dosage.

A missing call adds nothing under ``no-mean-imputation``; under mean imputation (plink2's
default) it is given the mean ALT dosage of the samples with a call at that variant (twice the
allele frequency in those samples): additive and genotypic effects then apply as above, while a
dominant or recessive effect adds weight x effect-allele frequency, as plink2 2.00a3.5 does
(checked in tests/golden/test_plink2_formats.py). A variant no sample has a call for
adds nothing either way. Missing calls are counted per sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

ADDITIVE, DOMINANT, RECESSIVE, GENOTYPIC = 0, 1, 2, 3
KIND_CODES = {"additive": ADDITIVE, "dominant": DOMINANT, "recessive": RECESSIVE,
              "genotypic": GENOTYPIC}  # fmt: skip


def accumulate(
    g: npt.NDArray[Any],
    weight: npt.NDArray[np.float64],
    effect_is_alt: npt.NDArray[np.bool_],
    kind: npt.NDArray[np.int8],
    genotypic: npt.NDArray[np.float64],
    impute: bool,
    total: npt.NDArray[np.float64],
    missing: npt.NDArray[np.int64],
) -> None:
    """Add one block's contributions to ``total`` and its missing calls to ``missing`` (both
    per sample, updated in place). Releases the GIL while it runs. numba is imported on the
    first call only (its import alone takes a quarter of a second)."""
    from precisionrx.engines.prs.kernel_compiled import _accumulate

    _accumulate(np.ascontiguousarray(g), weight, effect_is_alt, kind, genotypic, impute, total,
              missing)  # fmt: skip


def accumulate_numpy(
    g: npt.NDArray[Any],
    weight: npt.NDArray[np.float64],
    effect_is_alt: npt.NDArray[np.bool_],
    kind: npt.NDArray[np.int8],
    genotypic: npt.NDArray[np.float64],
    impute: bool,
    total: npt.NDArray[np.float64],
    missing: npt.NDArray[np.int64],
) -> None:
    """:func:`accumulate` in array operations: the same rules, for small blocks (a single
    person's VCF), where loading the compiled loop would cost more than it saves."""
    if (g.size == 0 or g.min() >= 0) and (kind == ADDITIVE).all():
        # no missing call, every score additive: one matrix-vector product
        signed = np.where(effect_is_alt, weight, -weight)
        total += signed @ g.astype(np.float64) + 2.0 * float(weight[~effect_is_alt].sum())
        return
    d = g.astype(np.float64)
    miss = d < 0
    called = (~miss).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(miss, 0.0, d).sum(axis=1) / called
    fill = mean[:, None] if impute else np.nan
    d = np.where(miss, fill, d)  # NaN where not imputed or no sample has a call
    de = np.where(effect_is_alt[:, None], d, 2.0 - d)
    w = weight[:, None]
    k = kind[:, None]
    contrib = np.where(k == DOMINANT, w * np.minimum(de, 1.0), w * de)
    contrib = np.where(k == RECESSIVE, w * np.maximum(de - 1.0, 0.0), contrib)
    # an imputed dominant or recessive call counts the effect-allele frequency (plink2)
    coded = miss & ((k == DOMINANT) | (k == RECESSIVE))
    contrib = np.where(coded, w * de / 2.0, contrib)
    if (kind == GENOTYPIC).any():
        nearest = np.clip(np.floor(np.nan_to_num(de) + 0.5), 0, 2).astype(np.intp)
        geno = np.take_along_axis(genotypic, nearest, axis=1)
        contrib = np.where(k == GENOTYPIC, geno, contrib)
    total += np.where(np.isnan(de), 0.0, contrib).sum(axis=0)
    missing += miss.sum(axis=0)
