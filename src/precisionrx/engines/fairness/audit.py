"""The fairness audit of one model's predictions across groups (docs/cli/fairness.md).

Definitions (all unweighted, over the rows of a group):

- ``prevalence`` = mean label; ``mean_predicted_risk`` = mean score;
  ``calibration_in_the_large`` = observed − expected = prevalence − mean predicted risk;
  ``o_over_e`` = Σ label / Σ score (observed over expected events).
- ``auc``: the Mann–Whitney statistic, P(score of a positive > score of a negative) with ties
  counted one half (equal to the area under the ROC curve, ``sklearn.metrics.roc_auc_score``);
  undefined with one label class.
- ``brier``: mean of (score − label)² (``sklearn.metrics.brier_score_loss``).
- ``ece_10bin``: expected calibration error (Naeini et al., AAAI 2015; Guo et al., ICML 2017)
  over 10 equal-width bins of the score, bin k = [k/10, (k+1)/10) and the last bin closed at 1:
  Σ_bins (n_bin / n) · |mean label − mean score|.
- ``selection_rate`` = mean prediction; ``tpr`` = mean prediction of the positives (undefined
  without positives); ``fpr`` = mean prediction of the negatives (undefined without negatives).

Between the groups of a grouping, Fairlearn 0.15's definitions (``fairlearn.metrics``,
``method="between_groups"``, ``agg="worst_case"``): a difference is max − min of the group
values, a ratio min / max; equalized odds takes the larger of the TPR and FPR differences (the
smaller of the ratios); equal opportunity is the TPR difference. A group whose rate is
undefined is left out of that rate's gaps (Fairlearn would count it as 0), with a caveat.

With a privileged value, AIF360 0.6's signed ``ClassificationMetric`` definitions, the
unprivileged rows being every row of the grouping with another value: statistical parity
difference SR_u − SR_p, disparate impact SR_u / SR_p, average odds difference
((FPR_u − FPR_p) + (TPR_u − TPR_p)) / 2, equal opportunity difference TPR_u − TPR_p.

Undefined values are None, with a caveat; nothing is NaN or infinite.

>>> import numpy as np
>>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
0.75
>>> round(ece_10bin(np.array([0, 1, 1, 1]), np.array([0.05, 0.15, 0.15, 0.95])), 6)
0.45
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from precisionrx.errors import InputError, InternalError
from precisionrx.records.evidence import Caveat, CaveatKind, Provenance, fingerprint
from precisionrx.records.fairness import (
    Aif360Signed,
    CalibrationBin,
    FairnessAudit,
    GroupingAudit,
    GroupMetrics,
    PredictionTable,
)

#: Number of equal-width score bins of the ECE and the reliability diagrams.
BINS = 10
#: Bin edges k/10 (each the double nearest k/10, so a score written 0.3 starts bin 3).
EDGES = np.arange(BINS + 1, dtype=np.float64) / BINS
#: Groups smaller than this get a ``small_group`` note.
SMALL_GROUP = 30

FAIRLEARN = "Fairlearn 0.15 fairlearn.metrics"
AIF360 = "AIF360 0.6 aif360.metrics.ClassificationMetric"
ECE_REFS = ("Naeini MP et al. AAAI 2015", "Guo C et al. ICML 2017")

Floats = NDArray[np.float64]


def _as_float(values: NDArray[np.generic]) -> Floats:
    return np.asarray(values, dtype=np.float64)


def auc(labels: NDArray[np.generic], scores: NDArray[np.generic]) -> float | None:
    """Area under the ROC curve as the Mann–Whitney U statistic over n1·n0 (ties count 1/2);
    None when the labels have one class."""
    y = _as_float(labels)
    n1 = int(np.count_nonzero(y == 1))
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(_as_float(scores), method="average")
    u = float(np.sum(ranks[y == 1])) - n1 * (n1 + 1) / 2
    return u / (n1 * n0)


def bin_of(scores: NDArray[np.generic]) -> NDArray[np.intp]:
    """The 10-bin index of each score in [0, 1]: k for k/10 ≤ s < (k+1)/10, 9 for s = 1."""
    index = np.searchsorted(EDGES, _as_float(scores), side="right") - 1
    return np.clip(index, 0, BINS - 1)


def ece_10bin(labels: NDArray[np.generic], scores: NDArray[np.generic]) -> float:
    """Expected calibration error over 10 equal-width bins, each weighted by its share of rows:
    Σ_b (n_b / n) |mean label_b − mean score_b| = Σ_b |Σ label_b − Σ score_b| / n."""
    y, s = _as_float(labels), _as_float(scores)
    index = bin_of(s)
    observed = np.bincount(index, weights=y, minlength=BINS)
    expected = np.bincount(index, weights=s, minlength=BINS)
    return float(np.sum(np.abs(observed - expected)) / y.size)


def reliability(labels: NDArray[np.generic], scores: NDArray[np.generic]) -> list[CalibrationBin]:
    """The non-empty bins of the 10-bin reliability diagram: count, mean score, label rate."""
    y, s = _as_float(labels), _as_float(scores)
    index = bin_of(s)
    counts = np.bincount(index, minlength=BINS)
    observed = np.bincount(index, weights=y, minlength=BINS)
    expected = np.bincount(index, weights=s, minlength=BINS)
    return [
        CalibrationBin(
            bin=k,
            lower=float(EDGES[k]),
            upper=float(EDGES[k + 1]),
            n=int(counts[k]),
            mean_predicted_risk=float(expected[k] / counts[k]),
            observed_rate=float(observed[k] / counts[k]),
        )
        for k in range(BINS)
        if counts[k]
    ]


@dataclass(frozen=True, slots=True)
class _Rates:
    selection_rate: float
    tpr: float | None
    fpr: float | None


def _rates(labels: Floats, preds: Floats) -> _Rates:
    positive = labels == 1
    tpr = float(np.mean(preds[positive])) if positive.any() else None
    fpr = float(np.mean(preds[~positive])) if (~positive).any() else None
    return _Rates(float(np.mean(preds)), tpr, fpr)


def _ratio(observed: float, expected: float) -> float | None:
    """O/E, or None when it is undefined: no expected events, or so few (a subnormal sum) that
    the quotient overflows."""
    if expected <= 0:
        return None
    ratio = observed / expected
    return ratio if math.isfinite(ratio) else None


def group_metrics(
    labels: NDArray[np.generic], scores: NDArray[np.generic], preds: NDArray[np.generic]
) -> GroupMetrics:
    """Every per-group metric of one set of rows (at least one row)."""
    y, s, p = _as_float(labels), _as_float(scores), _as_float(preds)
    if y.size == 0:
        raise InternalError("group_metrics needs at least one row")
    observed, expected = float(np.sum(y)), float(np.sum(s))
    prevalence, mean_risk = float(np.mean(y)), float(np.mean(s))
    rates = _rates(y, p)
    return GroupMetrics(
        n=int(y.size),
        prevalence=prevalence,
        mean_predicted_risk=mean_risk,
        calibration_in_the_large=prevalence - mean_risk,
        o_over_e=_ratio(observed, expected),
        auc=auc(y, s),
        brier=float(np.mean((s - y) ** 2)),
        ece_10bin=ece_10bin(y, s),
        selection_rate=rates.selection_rate,
        tpr=rates.tpr,
        fpr=rates.fpr,
    )


@dataclass(frozen=True, slots=True)
class Gap:
    """Fairlearn's between-groups difference (max − min) and ratio (min / max) of one rate,
    over the groups where it is defined."""

    difference: float | None
    ratio: float | None
    #: Groups left out because their rate is undefined.
    excluded: tuple[str, ...]


def gap(values: Mapping[str, float | None]) -> Gap:
    """The gap of one per-group rate; None with fewer than two groups where it is defined, a
    None ratio when the largest rate is 0 (0 / 0)."""
    defined = [v for v in values.values() if v is not None]
    excluded = tuple(g for g, v in values.items() if v is None)
    if len(defined) < 2:
        return Gap(None, None, excluded)
    low, high = min(defined), max(defined)
    return Gap(high - low, low / high if high > 0 else None, excluded)


class _Caveats:
    def __init__(self) -> None:
        self.items: list[Caveat] = []

    def add(self, code: str, message: str, kind: CaveatKind = CaveatKind.WARNING,
            refs: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.items.append(Caveat(code=code, message=message, kind=kind, refs=refs))


def _group_caveats(where: str, m: GroupMetrics, caveats: _Caveats) -> None:
    if m.auc is None:
        cls = "all positive" if m.prevalence == 1 else "all negative"
        caveats.add("auc_undefined", f"{where}: AUC undefined: one label class only ({cls}).")
    if m.o_over_e is None:
        caveats.add(
            "o_over_e_undefined",
            f"{where}: O/E undefined: the predicted risks sum to "
            "0 (or to a number too small to divide by).",
        )
    if m.tpr is None:
        caveats.add("tpr_undefined", f"{where}: TPR undefined: no positive labels.")
    if m.fpr is None:
        caveats.add("fpr_undefined", f"{where}: FPR undefined: no negative labels.")
    if m.n < SMALL_GROUP:
        caveats.add(
            "small_group",
            f"{where}: {m.n} rows: its estimates are very uncertain (fewer than {SMALL_GROUP}).",
            CaveatKind.NOTE,
        )


def _gap_caveats(column: str, rate: str, g: Gap, n_groups: int, caveats: _Caveats) -> None:
    if g.excluded and n_groups > 1:
        caveats.add(
            "gap_excludes_group",
            f"grouping {column!r}: group(s) {', '.join(map(repr, g.excluded))} left out of the "
            f"{rate} gaps: {rate} undefined there (Fairlearn would count it as 0).",
            refs=(FAIRLEARN,),
        )
    if g.difference is None and n_groups > 1:
        caveats.add(
            "gap_undefined",
            f"grouping {column!r}: {rate} gaps are null: fewer than two groups with a "
            f"defined {rate}.",
        )
    elif g.difference is not None and g.ratio is None:
        caveats.add(
            "ratio_undefined",
            f"grouping {column!r}: {rate} ratio is null: every group's {rate} is 0 (0 / 0).",
        )


def _signed(
    column: str, value: str, table: PredictionTable, preds: Floats, caveats: _Caveats
) -> Aif360Signed | None:
    groups = table.groups[column]
    privileged = groups == value
    n_priv = int(np.count_nonzero(privileged))
    if n_priv == 0:
        caveats.add(
            "privileged_value_absent",
            f"grouping {column!r}: no row has the privileged value {value!r}: no aif360_signed.",
        )
        return None
    if n_priv == groups.size:
        caveats.add(
            "no_unprivileged_rows",
            f"grouping {column!r}: every row has the privileged value {value!r}: no aif360_signed.",
        )
        return None
    y = _as_float(table.labels)
    p, u = _rates(y[privileged], preds[privileged]), _rates(y[~privileged], preds[~privileged])
    where = f"grouping {column!r}, privileged {value!r}"
    di = u.selection_rate / p.selection_rate if p.selection_rate > 0 else None
    if di is None:
        caveats.add("ratio_undefined", f"{where}: disparate impact is null: the privileged "
                    "rows' selection rate is 0.", refs=(AIF360,))  # fmt: skip
    eod = u.tpr - p.tpr if u.tpr is not None and p.tpr is not None else None
    dfpr = u.fpr - p.fpr if u.fpr is not None and p.fpr is not None else None
    aod = (dfpr + eod) / 2 if dfpr is not None and eod is not None else None
    if eod is None:
        caveats.add("tpr_undefined", f"{where}: equal opportunity and average odds differences "
                    "are null: no positive labels on one side.", refs=(AIF360,))  # fmt: skip
    elif dfpr is None:
        caveats.add("fpr_undefined", f"{where}: average odds difference is null: no negative "
                    "labels on one side.", refs=(AIF360,))  # fmt: skip
    return Aif360Signed(
        privileged=value,
        n_privileged=n_priv,
        n_unprivileged=int(groups.size - n_priv),
        statistical_parity_difference=u.selection_rate - p.selection_rate,
        disparate_impact_ratio=di,
        average_odds_difference=aod,
        equal_opportunity_difference=eod,
    )


def _grouping(
    column: str, table: PredictionTable, preds: Floats, caveats: _Caveats
) -> tuple[GroupingAudit, dict[str, list[CalibrationBin]]]:
    values, inverse = np.unique(table.groups[column], return_inverse=True)
    per_group: dict[str, GroupMetrics] = {}
    curves: dict[str, list[CalibrationBin]] = {}
    for k, name in enumerate(values.tolist()):
        rows = inverse == k
        y, s = table.labels[rows], table.scores[rows]
        per_group[name] = group_metrics(y, s, preds[rows])
        curves[name] = reliability(y, s)
        _group_caveats(f"grouping {column!r}, group {name!r}", per_group[name], caveats)
    if len(per_group) == 1:
        caveats.add(
            "single_group",
            f"grouping {column!r}: one group only ({next(iter(per_group))!r}): no gaps.",
            CaveatKind.NOTE,
        )
    selection = gap({g: m.selection_rate for g, m in per_group.items()})
    tpr = gap({g: m.tpr for g, m in per_group.items()})
    fpr = gap({g: m.fpr for g, m in per_group.items()})
    for rate, g in (("selection rate", selection), ("TPR", tpr), ("FPR", fpr)):
        _gap_caveats(column, rate, g, len(per_group), caveats)
    eo_difference: float | None = None
    eo_ratio: float | None = None
    if tpr.difference is not None and fpr.difference is not None:
        eo_difference = max(tpr.difference, fpr.difference)
    if tpr.ratio is not None and fpr.ratio is not None:
        eo_ratio = min(tpr.ratio, fpr.ratio)
    audit = GroupingAudit(
        per_group=per_group,
        demographic_parity_difference=selection.difference,
        demographic_parity_ratio=selection.ratio,
        equalized_odds_difference=eo_difference,
        equalized_odds_ratio=eo_ratio,
        equal_opportunity_difference=tpr.difference,
    )
    return audit, curves


def audit_predictions(
    table: PredictionTable,
    *,
    threshold: float | None = None,
    privileged: Mapping[str, str] | None = None,
    input_sha256: str | None = None,
) -> FairnessAudit:
    """Audit ``table`` across each of its grouping columns.

    The result's provenance names ``input_sha256`` (the caller's fingerprint of the
    predictions file; default: a fingerprint of the table's columns) and the parameters.

    The binary predictions are ``table.preds`` or, given ``threshold``, score ≥ threshold
    (exactly one of the two). ``privileged`` maps a grouping column to its privileged value,
    for AIF360's signed comparisons.
    """
    scores = _as_float(table.scores)
    preds: Floats
    if table.preds is not None and threshold is None:
        preds = _as_float(table.preds)
    elif table.preds is None and threshold is not None:
        preds = np.where(scores >= threshold, 1.0, 0.0)
    else:
        raise InternalError("audit_predictions needs a prediction column or a threshold, not both")
    if table.labels.size == 0:
        raise InputError("no rows to audit (every row lacks a label, score or prediction)")
    privileged = dict(privileged or {})
    unknown = sorted(set(privileged) - set(table.groups))
    if unknown:
        raise InternalError(f"privileged values for columns that are not groupings: {unknown}")
    caveats = _Caveats()
    caveats.add(
        "point_estimates",
        "Point estimates without confidence intervals: gaps between small groups can be chance; "
        "a gap in error rates can come from different base rates as well as from "
        "miscalibration (compare calibration_in_the_large and the calibration curves).",
        CaveatKind.NOTE,
    )
    if table.n_dropped:
        detail = ", ".join(f"{c}: {n}" for c, n in table.n_dropped_by_column.items() if n)
        caveats.add(
            "rows_dropped",
            f"{table.n_dropped} rows dropped for a missing value ({detail}); missingness that "
            "differs between groups can bias the audit.",
        )
    for column, count in table.n_missing_group.items():
        if count:
            caveats.add(
                "group_value_missing",
                f"grouping {column!r}: {count} rows with an empty group cell are audited as "
                "group 'unknown'.",
                CaveatKind.NOTE,
            )
    overall = group_metrics(table.labels, scores, preds)
    _group_caveats("all rows", overall, caveats)
    groupings: dict[str, GroupingAudit] = {}
    curves: dict[str, dict[str, list[CalibrationBin]]] = {}
    for column in table.groups:
        grouping, curves[column] = _grouping(column, table, preds, caveats)
        if column in privileged:
            signed = _signed(column, privileged[column], table, preds, caveats)
            grouping = grouping.model_copy(update={"aif360_signed": signed})
        groupings[column] = grouping
    return FairnessAudit(
        groupings=groupings,
        n=int(table.labels.size),
        n_dropped=table.n_dropped,
        n_dropped_by_column=dict(table.n_dropped_by_column),
        label=table.label,
        score=table.score,
        pred=table.pred if threshold is None else None,
        threshold=threshold,
        privileged=privileged,
        overall=overall,
        calibration_curves=curves,
        caveats=caveats.items,
        provenance=_provenance(table, threshold, privileged, input_sha256),
    )


def _provenance(
    table: PredictionTable, threshold: float | None, privileged: Mapping[str, str],
    input_sha256: str | None,
) -> Provenance:  # fmt: skip
    from precisionrx import __version__

    if input_sha256 is None:
        parts: list[bytes | str] = [table.label, table.labels.tobytes(), table.score,
                                    table.scores.tobytes()]  # fmt: skip
        if table.preds is not None:
            parts += [table.pred or "", table.preds.tobytes()]
        for name, values in sorted(table.groups.items()):
            parts += [name, "\x1f".join(str(v) for v in values)]
        input_sha256 = fingerprint(*parts)
    params = {"label": table.label, "score": table.score, "pred": table.pred or "",
              "threshold": "" if threshold is None else repr(threshold),
              "groups": ",".join(table.groups),
              "privileged": ",".join(f"{k}={v}" for k, v in privileged.items())}  # fmt: skip
    return Provenance(tool_version=__version__, input_sha256=input_sha256, parameters=params)
