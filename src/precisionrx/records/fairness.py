"""Fairness audits of a risk or treatment model: the predictions as read (``PredictionTable``)
and the result of ``precisionrx fairness audit`` (``FairnessAudit``; docs/cli/fairness.md).

Per group of each grouping column: discrimination (AUC), calibration (calibration-in-the-large,
O/E, ECE, Brier, a 10-bin reliability curve) and the error rates at the operating point
(selection rate, TPR, FPR); between groups, Fairlearn's non-negative gaps and, with a privileged
value, AIF360's signed versions. A value that cannot be computed is None (null in JSON), with a
caveat saying why; no NaN or infinity.

>>> g = GroupMetrics(n=4, prevalence=0.5, mean_predicted_risk=0.4,
...     calibration_in_the_large=0.1, o_over_e=1.25, auc=0.75, brier=0.2, ece_10bin=0.1,
...     selection_rate=0.5, tpr=0.5, fpr=0.5)
>>> list(g.model_dump())[:4]
['n', 'prevalence', 'mean_predicted_risk', 'calibration_in_the_large']
>>> GroupMetrics.model_validate_json(g.model_dump_json()) == g
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import EngineResult

#: The group name of a row whose group cell is empty (pooled with a written ``unknown``).
UNKNOWN_GROUP = "unknown"


@dataclass(frozen=True, slots=True)
class PredictionTable:
    """A model's predictions as read from a file: one entry per usable row, in file order.

    ``labels`` and ``preds`` hold 0/1, ``scores`` predicted risks in [0, 1]; ``groups`` maps
    each grouping column to the rows' group values (strings as written; an empty cell is
    :data:`UNKNOWN_GROUP`). Rows without a label, score or prediction were dropped and
    counted.
    """

    labels: NDArray[np.int8]
    scores: NDArray[np.float64]
    #: The model's binary decision column (``--pred``), or None when a threshold is used.
    preds: NDArray[np.int8] | None
    groups: dict[str, NDArray[np.str_]]
    label: str
    score: str
    pred: str | None = None
    #: Rows dropped for a missing label, score or prediction, per column (a row missing two
    #: values counts once in ``n_dropped`` and once under each column).
    n_dropped: int = 0
    n_dropped_by_column: dict[str, int] = field(default_factory=dict)
    #: Rows kept whose group cell was empty, per grouping column.
    n_missing_group: dict[str, int] = field(default_factory=dict)


class GroupMetrics(BaseModel):
    """Discrimination, calibration and error rates of one group (or of all rows).

    ``calibration_in_the_large`` is observed minus expected (prevalence − mean predicted risk);
    ``o_over_e`` observed over expected events. ``auc`` is None when the group has one label
    class, ``o_over_e`` when every score is 0, ``tpr`` without positives, ``fpr`` without
    negatives.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    n: int
    prevalence: float
    mean_predicted_risk: float
    calibration_in_the_large: float
    o_over_e: float | None
    auc: float | None
    brier: float
    ece_10bin: float
    selection_rate: float
    tpr: float | None
    fpr: float | None


class Aif360Signed(BaseModel):
    """AIF360's signed comparisons of the unprivileged rows (every row of the grouping whose
    value is not ``privileged``) with the privileged rows; 0 (1 for the ratio) is parity and a
    negative difference (ratio below 1) disfavours the unprivileged rows."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    privileged: str
    n_privileged: int
    n_unprivileged: int
    #: selection rate (unprivileged) − selection rate (privileged).
    statistical_parity_difference: float
    #: selection rate (unprivileged) / selection rate (privileged); None when the privileged
    #: selection rate is 0.
    disparate_impact_ratio: float | None
    #: mean of (FPR_unpriv − FPR_priv) and (TPR_unpriv − TPR_priv).
    average_odds_difference: float | None
    #: TPR_unpriv − TPR_priv.
    equal_opportunity_difference: float | None


class GroupingAudit(BaseModel):
    """One grouping column: its groups and Fairlearn's between-group gaps (max − min over the
    groups, ratios min / max)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    per_group: dict[str, GroupMetrics]
    demographic_parity_difference: float | None
    demographic_parity_ratio: float | None
    equalized_odds_difference: float | None
    equalized_odds_ratio: float | None
    equal_opportunity_difference: float | None
    #: Only with a privileged value present in the grouping (and rows outside it).
    aif360_signed: Aif360Signed | None = None


class CalibrationBin(BaseModel):
    """One non-empty bin of a reliability diagram: scores in [lower, upper) (the last bin
    includes 1)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    bin: int
    lower: float
    upper: float
    n: int
    mean_predicted_risk: float
    observed_rate: float


class FairnessAudit(EngineResult):
    """The fairness audit of one model's predictions over one or more grouping columns."""

    model_config = ConfigDict(allow_inf_nan=False)

    #: Grouping column -> its audit, in the order the columns were given.
    groupings: dict[str, GroupingAudit]
    #: Rows audited (after dropping rows with a missing label, score or prediction).
    n: int
    n_dropped: int
    n_dropped_by_column: dict[str, int] = Field(default_factory=dict)
    label: str
    score: str
    #: The prediction column (``--pred``), or None when ``threshold`` made the predictions.
    pred: str | None = None
    threshold: float | None = None
    #: Grouping column -> the privileged value used for ``aif360_signed``.
    privileged: dict[str, str] = Field(default_factory=dict)
    #: The same metrics over every audited row.
    overall: GroupMetrics
    #: Grouping column -> group -> the non-empty bins of its 10-bin reliability diagram.
    calibration_curves: dict[str, dict[str, list[CalibrationBin]]] = Field(default_factory=dict)
