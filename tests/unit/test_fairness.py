"""Fairness audits (``precisionrx fairness audit``): metrics against Fairlearn 0.15 and
scikit-learn, hand-computed calibration and AIF360 signed metrics, properties, the reader, the CLI.

Reference definitions: Fairlearn 0.15 ``fairlearn.metrics`` (differences max − min over groups,
ratios min / max, equalized odds the worse of the TPR and FPR gaps); AIF360 0.6
``ClassificationMetric`` (unprivileged minus privileged; aif360 is not installed, so those are
checked by hand on a small table); ECE after Naeini 2015 / Guo 2017 (10 equal-width bins,
weighted by bin share).
"""

from __future__ import annotations

import doctest
import importlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sklearn.metrics import brier_score_loss, roc_auc_score

from precisionrx.engines.fairness import auc, audit_predictions, ece_10bin, gap, reliability
from precisionrx.errors import InputError
from precisionrx.io.predictions import read_predictions
from precisionrx.records.fairness import FairnessAudit, PredictionTable
from testkit.cli import run

PER_GROUP_FIELDS = {
    "n",
    "prevalence",
    "mean_predicted_risk",
    "calibration_in_the_large",
    "o_over_e",
    "auc",
    "brier",
    "ece_10bin",
    "selection_rate",
    "tpr",
    "fpr",
}
GAP_FIELDS = {
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
}
SIGNED_FIELDS = {
    "statistical_parity_difference",
    "disparate_impact_ratio",
    "average_odds_difference",
    "equal_opportunity_difference",
}
TOL = 1e-12


# --------------------------------------------------------------------------- generated data


def generated(n: int = 3000, seed: int = 17) -> dict[str, NDArray[Any]]:
    """Three ethnic groups with different base rates (A low, B high, C middling) and a model
    calibrated for A and B but under-predicting C twofold; a sex column independent of both."""
    rng = np.random.default_rng(seed)
    eth = rng.choice(np.array(["A", "B", "C"]), size=n, p=[0.5, 0.3, 0.2])
    shift = np.select([eth == "A", eth == "B"], [-1.2, 0.4], -0.3)
    logit = shift + rng.normal(0.0, 1.0, n)
    score = 1 / (1 + np.exp(-logit))
    true_risk = np.where(eth == "C", np.clip(2 * score, 0, 1), score)
    label = (rng.random(n) < true_risk).astype(np.int8)
    sex = rng.choice(np.array(["female", "male"]), size=n)
    pred = (rng.random(n) < score).astype(np.int8)  # a decision column not tied to a threshold
    return {"label": label, "score": score, "eth": eth, "sex": sex, "pred": pred}


def table_of(data: dict[str, NDArray[Any]], groups: tuple[str, ...] = ("eth", "sex"),
             with_pred: bool = False) -> PredictionTable:  # fmt: skip
    return PredictionTable(
        labels=data["label"].astype(np.int8),
        scores=data["score"].astype(np.float64),
        preds=data["pred"].astype(np.int8) if with_pred else None,
        groups={g: data[g].astype(np.str_) for g in groups},
        label="label",
        score="score",
        pred="pred" if with_pred else None,
    )


def write_csv(path: Path, data: dict[str, NDArray[Any]]) -> Path:
    columns = list(data)
    lines = [",".join(columns)]
    lines += [",".join(repr(float(data[c][i])) if c == "score" else str(data[c][i])
                       for c in columns) for i in range(len(data["label"]))]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def data() -> dict[str, NDArray[Any]]:
    return generated()


@pytest.fixture(scope="module")
def by_threshold(data: dict[str, NDArray[Any]]) -> FairnessAudit:
    return audit_predictions(table_of(data), threshold=0.3)


@pytest.fixture(scope="module")
def by_pred(data: dict[str, NDArray[Any]]) -> FairnessAudit:
    return audit_predictions(table_of(data, with_pred=True))


# --------------------------------------------------------------------------- against Fairlearn


def fairlearn_reference(y: NDArray[Any], p: NDArray[Any], g: NDArray[Any]) -> dict[str, Any]:
    from fairlearn import metrics as fm

    frame = fm.MetricFrame(
        metrics={"selection_rate": fm.selection_rate, "tpr": fm.true_positive_rate,
                 "fpr": fm.false_positive_rate},
        y_true=y, y_pred=p, sensitive_features=g,
    )  # fmt: skip
    kw = {"sensitive_features": g}
    return {
        "by_group": {str(k): row.to_dict() for k, row in frame.by_group.iterrows()},
        "demographic_parity_difference": fm.demographic_parity_difference(y, p, **kw),
        "demographic_parity_ratio": fm.demographic_parity_ratio(y, p, **kw),
        "equalized_odds_difference": fm.equalized_odds_difference(y, p, **kw),
        "equalized_odds_ratio": fm.equalized_odds_ratio(y, p, **kw),
        "equal_opportunity_difference": fm.equal_opportunity_difference(y, p, **kw),
    }


@pytest.mark.parametrize("mode", ["threshold", "pred"])
@pytest.mark.parametrize("column", ["eth", "sex"])
def test_rates_and_gaps_match_fairlearn(
    data: dict[str, NDArray[Any]], by_threshold: FairnessAudit, by_pred: FairnessAudit,
    mode: str, column: str,
) -> None:  # fmt: skip
    result = by_threshold if mode == "threshold" else by_pred
    p = (data["score"] >= 0.3).astype(int) if mode == "threshold" else data["pred"]
    ref = fairlearn_reference(data["label"], p, data[column])
    grouping = result.groupings[column]
    assert set(grouping.per_group) == set(ref["by_group"])
    for name, m in grouping.per_group.items():
        expected = ref["by_group"][name]
        assert m.selection_rate == pytest.approx(expected["selection_rate"], abs=TOL)
        assert m.tpr == pytest.approx(expected["tpr"], abs=TOL)
        assert m.fpr == pytest.approx(expected["fpr"], abs=TOL)
    for field in GAP_FIELDS:
        assert getattr(grouping, field) == pytest.approx(ref[field], abs=TOL), field


@pytest.mark.parametrize("column", ["eth", "sex"])
def test_auc_brier_and_calibration_match_sklearn_and_numpy(
    data: dict[str, NDArray[Any]], by_threshold: FairnessAudit, column: str
) -> None:
    for name, m in by_threshold.groupings[column].per_group.items():
        rows = data[column] == name
        y, s = data["label"][rows], data["score"][rows]
        assert m.n == rows.sum()
        assert m.auc == pytest.approx(roc_auc_score(y, s), abs=TOL)
        assert m.brier == pytest.approx(brier_score_loss(y, s), abs=TOL)
        assert m.prevalence == pytest.approx(y.mean(), abs=TOL)
        assert m.mean_predicted_risk == pytest.approx(s.mean(), abs=TOL)
        assert m.calibration_in_the_large == pytest.approx(y.mean() - s.mean(), abs=TOL)
        assert m.o_over_e == pytest.approx(y.sum() / s.sum(), abs=TOL)
        assert m.ece_10bin == pytest.approx(ece_by_loops(y, s), abs=TOL)


def ece_by_loops(y: NDArray[Any], s: NDArray[Any]) -> float:
    total = 0.0
    for k in range(10):
        lo, hi = k / 10, (k + 1) / 10
        inside = (s >= lo) & ((s < hi) if k < 9 else (s <= hi))
        if inside.any():
            total += inside.sum() / len(y) * abs(y[inside].mean() - s[inside].mean())
    return total


def test_the_miscalibrated_group_stands_out(by_threshold: FairnessAudit) -> None:
    groups = by_threshold.groupings["eth"].per_group
    # C is under-predicted twofold: large positive O − E and O/E near 2; A and B calibrated.
    assert groups["C"].calibration_in_the_large > 0.15
    assert groups["C"].o_over_e is not None and groups["C"].o_over_e > 1.6
    for name in ("A", "B"):
        assert abs(groups[name].calibration_in_the_large) < 0.05  # ~3 standard errors
        assert groups[name].ece_10bin < groups["C"].ece_10bin
    # Base rates differ between A and B without miscalibration.
    assert groups["B"].prevalence - groups["A"].prevalence > 0.2
    curve = by_threshold.calibration_curves["eth"]["C"]
    assert all(b.observed_rate >= b.mean_predicted_risk for b in curve if b.n >= 30)


def test_overall_metrics(data: dict[str, NDArray[Any]], by_threshold: FairnessAudit) -> None:
    o = by_threshold.overall
    assert o.n == len(data["label"])
    assert o.auc == pytest.approx(roc_auc_score(data["label"], data["score"]), abs=TOL)
    assert o.selection_rate == pytest.approx((data["score"] >= 0.3).mean(), abs=TOL)


# --------------------------------------------------------------------------- by hand


def test_ece_and_calibration_in_the_large_by_hand() -> None:
    y = np.array([0, 1, 1, 1, 0])
    s = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    # bins: 0 -> {0.05: y 0}; 1 -> {0.15, 0.15: y 1, 1}; 9 -> {0.95, 1.0: y 1, 0}
    # |0 - 0.05| * 1/5 + |1 - 0.15| * 2/5 + |0.5 - 0.975| * 2/5 = 0.01 + 0.34 + 0.19
    assert ece_10bin(y, s) == pytest.approx(0.54, abs=TOL)
    table = PredictionTable(labels=y.astype(np.int8), scores=s, preds=None,
                            groups={"g": np.array(["x"] * 5)}, label="y", score="s")  # fmt: skip
    m = audit_predictions(table, threshold=0.5).groupings["g"].per_group["x"]
    assert m.prevalence == pytest.approx(0.6, abs=TOL)
    assert m.mean_predicted_risk == pytest.approx(2.3 / 5, abs=TOL)
    assert m.calibration_in_the_large == pytest.approx(0.6 - 0.46, abs=TOL)
    assert m.o_over_e == pytest.approx(3 / 2.3, abs=TOL)
    assert m.brier == pytest.approx((0.05**2 + 0.85**2 * 2 + 0.05**2 + 1) / 5, abs=TOL)
    assert m.selection_rate == pytest.approx(0.4, abs=TOL)
    assert m.tpr == pytest.approx(1 / 3, abs=TOL)
    assert m.fpr == pytest.approx(1 / 2, abs=TOL)


def test_bins_are_k_over_ten_with_the_last_closed() -> None:
    bins = reliability(np.array([1, 0, 1, 0]), np.array([0.3, 0.29999999999999993, 1.0, 0.0]))
    assert [(b.bin, b.n) for b in bins] == [(0, 1), (2, 1), (3, 1), (9, 1)]
    assert bins[2].lower == 0.3 and bins[2].upper == 0.4
    assert bins[-1].mean_predicted_risk == 1.0 and bins[-1].observed_rate == 1.0


def test_auc_with_ties_counts_one_half() -> None:
    y = np.array([0, 1, 0, 1, 1])
    s = np.array([0.2, 0.2, 0.5, 0.5, 0.9])
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=TOL)
    assert auc(np.array([1, 1]), np.array([0.1, 0.2])) is None


def small_table() -> PredictionTable:
    """Ten people, privileged group ``m``:

    ====  =====  ====  ========================================
    grp   label  pred
    m     1 1 0 0 0    1 1 1 0 0   SR 3/5, TPR 2/2, FPR 1/3
    f     1 1 1 0 0    1 0 0 1 0   SR 2/5, TPR 1/3, FPR 1/2
    ====  =====  ====  ========================================
    """
    labels = np.array([1, 1, 0, 0, 0, 1, 1, 1, 0, 0], dtype=np.int8)
    preds = np.array([1, 1, 1, 0, 0, 1, 0, 0, 1, 0], dtype=np.int8)
    groups = np.array(["m"] * 5 + ["f"] * 5)
    scores = np.linspace(0.05, 0.95, 10)
    return PredictionTable(labels=labels, scores=scores, preds=preds, groups={"sex": groups},
                           label="y", score="s", pred="p")  # fmt: skip


def test_aif360_signed_by_hand() -> None:
    result = audit_predictions(small_table(), privileged={"sex": "m"})
    signed = result.groupings["sex"].aif360_signed
    assert signed is not None
    assert (signed.n_privileged, signed.n_unprivileged) == (5, 5)
    assert signed.statistical_parity_difference == pytest.approx(2 / 5 - 3 / 5, abs=TOL)
    assert signed.disparate_impact_ratio == pytest.approx((2 / 5) / (3 / 5), abs=TOL)
    assert signed.equal_opportunity_difference == pytest.approx(1 / 3 - 1, abs=TOL)
    assert signed.average_odds_difference == pytest.approx(
        ((1 / 2 - 1 / 3) + (1 / 3 - 1)) / 2, abs=TOL
    )
    grouping = result.groupings["sex"]
    assert grouping.demographic_parity_difference == pytest.approx(1 / 5, abs=TOL)
    assert grouping.equal_opportunity_difference == pytest.approx(2 / 3, abs=TOL)
    assert grouping.equalized_odds_difference == pytest.approx(2 / 3, abs=TOL)
    assert grouping.equalized_odds_ratio == pytest.approx(1 / 3, abs=TOL)


def test_unprivileged_means_every_other_group() -> None:
    t = small_table()
    groups = np.array(["m"] * 5 + ["f", "f", "x", "x", "x"])
    t3 = PredictionTable(labels=t.labels, scores=t.scores, preds=t.preds, groups={"sex": groups},
                         label="y", score="s", pred="p")  # fmt: skip
    a = audit_predictions(t, privileged={"sex": "m"}).groupings["sex"].aif360_signed
    b = audit_predictions(t3, privileged={"sex": "m"}).groupings["sex"].aif360_signed
    assert a == b


def test_privileged_value_absent_gives_a_caveat_and_no_block() -> None:
    result = audit_predictions(small_table(), privileged={"sex": "nonbinary"})
    assert result.groupings["sex"].aif360_signed is None
    assert "privileged_value_absent" in [c.code for c in result.caveats]


def test_undefined_values_are_null_with_caveats() -> None:
    # Group "b" has no positives (TPR and AUC undefined); nobody is selected (ratio 0/0).
    table = PredictionTable(
        labels=np.array([1, 0, 1, 0, 0, 0], dtype=np.int8),
        scores=np.array([0.1, 0.2, 0.3, 0.0, 0.0, 0.1]),
        preds=None,
        groups={"g": np.array(["a", "a", "c", "c", "b", "b"])},
        label="y", score="s",
    )  # fmt: skip
    result = audit_predictions(table, threshold=0.9, privileged={"g": "a"})
    grouping = result.groupings["g"]
    b = grouping.per_group["b"]
    assert b.tpr is None and b.auc is None and b.fpr == 0.0
    assert grouping.demographic_parity_difference == 0.0
    assert grouping.demographic_parity_ratio is None
    assert grouping.equal_opportunity_difference == 0.0  # over a and c; b left out
    assert grouping.equalized_odds_ratio is None
    assert grouping.aif360_signed is not None
    assert grouping.aif360_signed.disparate_impact_ratio is None
    codes = {c.code for c in result.caveats}
    assert {"tpr_undefined", "auc_undefined", "gap_excludes_group", "ratio_undefined",
            "small_group", "point_estimates"} <= codes  # fmt: skip
    text = json.dumps(result.model_dump(mode="json"), allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text


def test_o_over_e_undefined_when_every_score_is_zero() -> None:
    table = PredictionTable(labels=np.array([0, 1], dtype=np.int8), scores=np.zeros(2),
                            preds=None, groups={"g": np.array(["a", "a"])}, label="y",
                            score="s")  # fmt: skip
    result = audit_predictions(table, threshold=0.5)
    assert result.groupings["g"].per_group["a"].o_over_e is None
    assert result.groupings["g"].demographic_parity_difference is None  # one group: no gap
    assert {"o_over_e_undefined", "single_group"} <= {c.code for c in result.caveats}


def test_o_over_e_undefined_when_the_scores_sum_to_a_subnormal_number() -> None:
    """1 / 2.2e-311 overflows to infinity: O/E is undefined, never Infinity in the output."""
    table = PredictionTable(labels=np.array([0, 1], dtype=np.int8),
                            scores=np.array([0.0, 2.22507386e-311]), preds=None,
                            groups={"g": np.array(["a", "a"])}, label="y", score="s")  # fmt: skip
    result = audit_predictions(table, threshold=0.5)
    assert result.groupings["g"].per_group["a"].o_over_e is None
    assert "o_over_e_undefined" in {c.code for c in result.caveats}
    json.dumps(result.model_dump(mode="json"), allow_nan=False)


def test_gap_definition() -> None:
    g = gap({"a": 0.2, "b": 0.5, "c": None})
    assert (g.difference, g.ratio, g.excluded) == (pytest.approx(0.3), pytest.approx(0.4), ("c",))
    assert gap({"a": 0.0, "b": 0.0}).ratio is None
    assert gap({"a": 0.3}).difference is None


# --------------------------------------------------------------------------- properties


@st.composite
def tables(draw: st.DrawFn) -> tuple[PredictionTable, NDArray[np.intp]]:
    n = draw(st.integers(2, 40))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    scores = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    preds = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    groups = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    order = np.array(draw(st.permutations(range(n))), dtype=np.intp)
    table = PredictionTable(
        labels=np.array(labels, dtype=np.int8), scores=np.array(scores),
        preds=np.array(preds, dtype=np.int8), groups={"g": np.array(groups)},
        label="y", score="s", pred="p",
    )  # fmt: skip
    return table, order


def permuted(t: PredictionTable, order: NDArray[np.intp]) -> PredictionTable:
    assert t.preds is not None
    return PredictionTable(labels=t.labels[order], scores=t.scores[order], preds=t.preds[order],
                           groups={k: v[order] for k, v in t.groups.items()}, label=t.label,
                           score=t.score, pred=t.pred)  # fmt: skip


def close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


@settings(max_examples=80, deadline=None)
@given(tables())
def test_gaps_are_bounded_and_row_order_does_not_matter(
    case: tuple[PredictionTable, NDArray[np.intp]],
) -> None:
    table, order = case
    result = audit_predictions(table, privileged={"g": "a"})
    grouping = result.groupings["g"]
    for field in GAP_FIELDS:
        value = getattr(grouping, field)
        if value is None:
            continue
        assert value >= 0, field
        if field.endswith("_ratio"):
            assert value <= 1, field
    for m in grouping.per_group.values():
        for v in (m.auc, m.selection_rate, m.tpr, m.fpr, m.prevalence, m.brier, m.ece_10bin):
            assert v is None or 0 <= v <= 1
        assert abs(m.calibration_in_the_large - (m.prevalence - m.mean_predicted_risk)) < 1e-12
    again = audit_predictions(permuted(table, order), privileged={"g": "a"})
    a, b = result.model_dump(mode="json"), again.model_dump(mode="json")
    # the input fingerprint names the rows in their order; everything else is order-free
    assert a.pop("provenance")["parameters"] == b.pop("provenance")["parameters"]
    assert close(a, b)
    json.dumps(a, allow_nan=False)  # strict JSON: no NaN or infinity anywhere


# --------------------------------------------------------------------------- reader


def test_reader_drops_and_counts_missing_and_pools_unknown_groups(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "id,y,risk,eth\n1,1,0.9,A\n2,,0.5,A\n3,0,NA,B\n4,0.0,0.1,\n5,1.0,1,unknown\n"
        "6,NaN,,B\n\n7,0,0.2, B \n"
    )
    t = read_predictions(path, label="y", score="risk", groups=["eth"])
    assert t.labels.tolist() == [1, 0, 1, 0]
    assert t.scores.tolist() == [0.9, 0.1, 1.0, 0.2]
    assert t.groups["eth"].tolist() == ["A", "unknown", "unknown", "B"]
    assert (t.n_dropped, t.n_dropped_by_column) == (3, {"y": 2, "risk": 2})
    assert t.n_missing_group == {"eth": 1}


@pytest.mark.parametrize(
    ("body", "where", "column"),
    [
        ("1,2,0.5,A\n", "row 3", "y"),  # row 2 is fine; the bad one is the file's line 3
        ("1,yes,0.5,A\n", "row 3", "y"),
        ("1,1,1.5,A\n", "row 3", "risk"),
        ("1,1,-0.1,A\n", "row 3", "risk"),
        ("1,1,inf,A\n", "row 3", "risk"),
        ("1,1,high,A\n", "row 3", "risk"),
    ],
)
def test_reader_names_file_row_and_column(
    tmp_path: Path, body: str, where: str, column: str
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,y,risk,eth\n0,0,0.1,A\n" + body)
    with pytest.raises(InputError) as info:
        read_predictions(path, label="y", score="risk", groups=["eth"])
    text = str(info.value)
    assert str(path) in text and where in text and repr(column) in text


def test_reader_refuses_a_missing_column_a_short_row_and_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("y,risk,eth\n1,0.5,A\n")
    with pytest.raises(InputError, match="'sex' is not in the header"):
        read_predictions(path, label="y", score="risk", groups=["sex"])
    path.write_text("y,risk,eth\n1,0.5\n")
    with pytest.raises(InputError, match="row 2: 2 field"):
        read_predictions(path, label="y", score="risk", groups=["eth"])
    path.write_text("y,risk,eth\n,0.5,A\n")
    with pytest.raises(InputError, match="no rows to audit"):
        read_predictions(path, label="y", score="risk", groups=["eth"])
    path.write_text("y,risk,eth,p\n1,0.5,A,2\n")
    with pytest.raises(InputError, match="row 2: column 'p': prediction must be 0 or 1"):
        read_predictions(path, label="y", score="risk", groups=["eth"], pred="p")


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    small = {k: v[:400] for k, v in generated().items()}
    return write_csv(tmp_path_factory.mktemp("fairness") / "predictions.csv", small)


def strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    return json.loads(text, parse_constant=refuse)


def test_cli_json_layout(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["fairness", "audit", str(csv_path), "--label", "label", "--score",
                        "score", "--threshold", "0.3", "--group", "eth", "--group", "sex",
                        "--privileged", "eth=A", "--privileged", "female"], capsys)  # fmt: skip
    assert code == 0
    doc = strict_json(out)
    assert list(doc)[:11] == ["groupings", "n", "n_dropped", "n_dropped_by_column", "label",
                              "score", "pred", "threshold", "privileged", "overall",
                              "calibration_curves"]  # fmt: skip
    assert {"caveats", "provenance", "notice", "precisionrx_version"} <= set(doc)
    assert list(doc["groupings"]) == ["eth", "sex"]
    assert (doc["n"], doc["n_dropped"], doc["threshold"], doc["pred"]) == (400, 0, 0.3, None)
    assert doc["privileged"] == {"eth": "A", "sex": "female"}
    for grouping in doc["groupings"].values():
        assert set(grouping) == GAP_FIELDS | {"per_group", "aif360_signed"}
        assert set(grouping["aif360_signed"]) >= SIGNED_FIELDS
        for metrics in grouping["per_group"].values():
            assert set(metrics) == PER_GROUP_FIELDS
    assert doc["notice"].startswith("Decision support only")
    assert doc["provenance"]["parameters"]["groups"] == "eth,sex"


def test_cli_pred_column_and_no_signed_block_without_privileged(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["fairness", "audit", str(csv_path), "--label", "label", "--score",
                        "score", "--pred", "pred", "--group", "eth"], capsys)  # fmt: skip
    assert code == 0
    doc = strict_json(out)
    assert (doc["pred"], doc["threshold"]) == ("pred", None)
    assert "aif360_signed" not in doc["groupings"]["eth"]
    data = {k: v[:400] for k, v in generated().items()}
    expected = fairlearn_reference(data["label"], data["pred"], data["eth"])
    got = doc["groupings"]["eth"]["demographic_parity_difference"]
    assert got == pytest.approx(expected["demographic_parity_difference"], abs=TOL)


@pytest.mark.parametrize("extra", [[], ["--pred", "pred", "--threshold", "0.5"]])
def test_cli_pred_and_threshold_exactly_one(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    out = tmp_path / "out.json"
    code, _, err = run(["fairness", "audit", str(csv_path), "--label", "label", "--score",
                        "score", "--group", "eth", *extra, "-o", str(out)], capsys)  # fmt: skip
    assert code == 2
    assert "--pred" in err and "--threshold" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_threshold_out_of_range_is_a_usage_error(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["fairness", "audit", str(csv_path), "--label", "label", "--score",
                        "score", "--group", "eth", "--threshold", "1.5"], capsys)  # fmt: skip
    assert code == 2 and "range" in err


def test_cli_bad_label_exits_2_naming_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("y,risk,eth\n1,0.4,A\n0,0.2,B\n3,0.3,A\n")
    out = tmp_path / "out.json"
    code, _, err = run(["fairness", "audit", str(path), "--label", "y", "--score", "risk",
                        "--threshold", "0.5", "--group", "eth", "-o", str(out)], capsys)  # fmt: skip
    assert code == 2
    assert str(path) in err and "row 4" in err and "'y'" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_html_has_a_calibration_svg_per_grouping(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.html"
    code, _, err = run(["fairness", "audit", str(csv_path), "--label", "label", "--score",
                        "score", "--threshold", "0.3", "--group", "eth", "--group", "sex",
                        "--privileged", "eth=A", "--format", "html", "-o", str(out)],
                       capsys)  # fmt: skip
    assert code == 0 and "wrote" in err
    html = out.read_text()
    assert html.count("<svg") == 2 and html.count("<polyline") == 3 + 2
    assert html.count("<title id=") == 2 and html.count("<desc id=") == 2
    assert "Calibration curves by eth" in html and "Decision support only" in html
    assert "Unprivileged vs privileged (eth = A)" in html
    assert not re.search(r"\b(nan|inf|infinity)\b", html, re.IGNORECASE)


def test_cli_privileged_twice_plain_is_a_usage_error(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["fairness", "audit", str(csv_path), "--label", "label", "--score",
                        "score", "--threshold", "0.3", "--group", "eth", "--privileged", "A",
                        "--privileged", "B"], capsys)  # fmt: skip
    assert code == 2 and "--privileged" in err


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize(
    "name", ["precisionrx.records.fairness", "precisionrx.engines.fairness.audit"]
)
def test_docstring_examples_run(name: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert tried and not failures


def test_every_field_is_documented() -> None:
    from precisionrx.engines.fairness import audit as engine
    from precisionrx.records.fairness import (
        Aif360Signed,
        CalibrationBin,
        GroupingAudit,
        GroupMetrics,
    )

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli" / "fairness.md").read_text()
    for model in (FairnessAudit, GroupingAudit, GroupMetrics, Aif360Signed, CalibrationBin):
        for field in model.model_fields:
            assert f"`{field}`" in text, field
    source = Path(engine.__file__).read_text()
    codes = set(re.findall(r'add\(\s*"([a-z0-9_]+)"', source))
    assert len(codes) >= 12
    missing = sorted(c for c in codes if f"`{c}`" not in text)
    assert not missing, missing


def test_json_output_validates_against_the_committed_schema(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    schema_path = Path(__file__).resolve().parents[2] / "docs" / "schema" / "fairness_audit.json"
    schema = json.loads(schema_path.read_text())
    for extra in ([], ["--privileged", "A"]):
        code, out, _ = run(
            ["fairness", "audit", str(csv_path), "--label", "label", "--score", "score",
             "--threshold", "0.5", "--group", "eth", *extra],
            capsys,
        )  # fmt: skip
        assert code == 0
        jsonschema.validate(strict_json(out), schema)
