"""Validation of CATE models (``precisionrx effects evaluate``).

The statistics are checked against direct computations from their definitions (GATES means,
the TOC/AUTOC/Qini of Yadlowsky et al. 2021 by an explicit loop, OLS by numpy.linalg.lstsq and
the HC3 sandwich written out row by row); the verdict on IHDP realisation 1 (real
heterogeneity) and on a trial with a constant effect (none); permutation importance on data
whose effect depends on one feature.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precisionrx.engines.effects.cate import fit_effects
from precisionrx.engines.effects.evaluate import (
    best_linear_projection,
    calibration_test,
    evaluate,
    rate,
    rate_statistics,
    robust_ols,
    toc_curve,
)
from precisionrx.engines.effects.learners import dr_scores
from precisionrx.errors import InputError
from testkit.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "ihdp"
TRAIN = pd.read_csv(DATA / "ihdp1_train.csv")
FEATURES = [f"x{j}" for j in range(1, 26)]
X = TRAIN[FEATURES].to_numpy(dtype=float)
T = TRAIN["t"].to_numpy(dtype=float)
Y = TRAIN["y"].to_numpy(dtype=float)


def _strict(text: str) -> dict:  # type: ignore[type-arg]
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def _trial(n: int, seed: int, modifier: float = 0.0, weak: float = 0.0):  # type: ignore[no-untyped-def]
    """A randomised trial: effect 1 + modifier * a + weak * b; b also prognostic; c is noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = rng.binomial(1, 0.5, n).astype(float)
    tau = 1.0 + modifier * x[:, 0] + weak * x[:, 1]
    y = x[:, 1] + t * tau + rng.normal(size=n)
    return x, t, y


@pytest.fixture(scope="module")
def ihdp_model():  # type: ignore[no-untyped-def]
    # the learner `auto` chooses on this realisation (tests/unit/test_effects_cate.py), named to
    # keep the fit fast
    return fit_effects(X, T, Y, FEATURES, method="t_learner", seed=0, bootstrap=20)


@pytest.fixture(scope="module")
def ihdp_eval(ihdp_model):  # type: ignore[no-untyped-def]
    return evaluate(ihdp_model, X, T, Y, on_training_data=True)


# --- the verdict ---------------------------------------------------------------------------


def test_ihdp_heterogeneity_is_detected(ihdp_eval) -> None:  # type: ignore[no-untyped-def]
    # IHDP setting A: the true effect varies (realisation 1: SD 0.8 around 4; a tail below 2).
    # The only IHDP rows with outcomes are the training rows, hence the training-data caveat.
    ev = ihdp_eval
    assert ev.verdict == "heterogeneity_detected"
    assert ev.rate.autoc.ci_lower > 0 and ev.rate.autoc.p_value < 0.025
    assert ev.rate.qini.ci_lower > 0
    assert ev.calibration_test.differential_prediction.estimate > 0
    assert 0.8 < ev.calibration_test.mean_prediction.estimate < 1.2
    assert 3.5 < ev.ate.estimate < 4.5  # the ATT is 4.0 in every IHDP realisation
    assert "evaluated_on_training_data" in {c.code for c in ev.caveats}
    assert "Heterogeneity detected" in ev.verdict_text and "training data" in ev.verdict_text
    assert ev.n == 672 and ev.n_treated == 123


def test_constant_effect_is_not_detected() -> None:
    x, t, y = _trial(800, 0)  # effect 1 for everyone
    model = fit_effects(x, t, y, ["a", "b", "c"], method="t_learner", seed=0, bootstrap=20)
    xe, te, ye = _trial(800, 1)  # fresh rows from the same trial
    ev = evaluate(model, xe, te, ye)
    assert ev.verdict == "heterogeneity_not_detected"
    assert ev.rate.autoc.ci_lower <= 0 <= ev.rate.autoc.ci_upper
    assert ev.calibration_test.differential_prediction.p_value >= 0.025
    assert "does not show that the effect is the same" in ev.verdict_text
    assert abs(ev.ate.estimate - 1.0) < 3 * ev.ate.se
    assert "evaluated_on_training_data" not in {c.code for c in ev.caveats}


def test_too_few_rows_per_arm_is_insufficient_data(ihdp_model) -> None:  # type: ignore[no-untyped-def]
    keep = np.r_[np.flatnonzero(T == 1)[:15], np.flatnonzero(T == 0)[:200]]
    ev = evaluate(ihdp_model, X[keep], T[keep], Y[keep])
    assert ev.verdict == "insufficient_data" and "Insufficient data" in ev.verdict_text
    assert ev.rate is None and ev.calibration == [] and ev.ate is None and ev.importance == []
    assert "insufficient_data" in {c.code for c in ev.caveats}
    assert (
        ev.n == 215 and ev.n_treated == 15 and ev.cate_distribution.max >= ev.cate_distribution.min
    )


def test_unusable_input_is_an_input_error(ihdp_model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="0/1"):
        evaluate(ihdp_model, X, T * 2, Y)
    with pytest.raises(InputError, match="feature columns"):
        evaluate(ihdp_model, X[:, :3], T, Y)
    y = Y.copy()
    y[3] = np.nan
    with pytest.raises(InputError, match="finite"):
        evaluate(ihdp_model, X, T, y)


# --- the statistics against their definitions ---------------------------------------------


def test_calibration_bins_are_group_means_of_the_dr_scores(ihdp_model) -> None:  # type: ignore[no-untyped-def]
    ev = evaluate(ihdp_model, X, T, Y, bins=4, bootstrap=20, permutation_repeats=1)
    g0, g1 = dr_scores(X, T, Y, ihdp_model.bases, ihdp_model.seed)
    phi = g1 - g0
    tau = ihdp_model.effect(X)
    rank = np.empty(len(tau), dtype=int)
    rank[np.argsort(tau)] = np.arange(len(tau))
    group = rank * 4 // len(tau)  # 672 rows: four quantile groups of 168
    assert [b.n for b in ev.calibration] == [168] * 4
    for k, b in enumerate(ev.calibration):
        rows = group == k
        assert b.mean_dr == pytest.approx(phi[rows].mean(), rel=1e-12)
        assert b.mean_cate == pytest.approx(tau[rows].mean(), rel=1e-12)
        se = phi[rows].std(ddof=1) / np.sqrt(rows.sum())
        assert b.se == pytest.approx(se, rel=1e-12)
        assert b.ci_lower == pytest.approx(b.mean_dr - 1.959963984540054 * se, rel=1e-9)
        assert b.cate_max < (tau[group == k + 1].min() if k < 3 else np.inf)
    assert ev.ate.estimate == pytest.approx(phi.mean(), rel=1e-12)


def _toc_by_definition(priority: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """TOC(j/n) = mean phi of the j highest priorities - mean phi (Yadlowsky et al. 2021, eq.
    2.3), with a loop; tied priorities enter with the mean of their group's scores."""
    n = len(phi)
    order = sorted(range(n), key=lambda i: -priority[i])
    scores = []
    for i in order:
        tied = [k for k in range(n) if priority[k] == priority[i]]
        scores.append(sum(phi[k] for k in tied) / len(tied))
    ate = sum(phi) / n
    return np.array([sum(scores[:j]) / j - ate for j in range(1, n + 1)])


def test_toc_autoc_and_qini_by_hand() -> None:
    priority = np.array([0.3, 0.9, 0.1, 0.5])
    phi = np.array([1.0, 4.0, -2.0, 0.0])
    # sorted: 4, 0, 1, -2; ATE 0.75; TOC = 3.25, 1.25, 0.91666..., 0
    toc = toc_curve(priority, phi)
    assert toc == pytest.approx([3.25, 1.25, 5 / 3 - 0.75, 0.0], abs=1e-12)
    autoc, qini = rate_statistics(toc)
    assert autoc == pytest.approx((3.25 + 1.25 + 5 / 3 - 0.75) / 4, abs=1e-12)
    assert qini == pytest.approx((0.25 * 3.25 + 0.5 * 1.25 + 0.75 * (5 / 3 - 0.75)) / 4, abs=1e-12)
    rng = np.random.default_rng(3)
    priority = rng.integers(0, 6, 40).astype(float)  # many ties
    phi = rng.normal(size=40) + priority
    assert toc_curve(priority, phi) == pytest.approx(_toc_by_definition(priority, phi), abs=1e-12)
    # ties: the curve does not depend on the order of tied rows
    perm = rng.permutation(40)
    assert toc_curve(priority[perm], phi[perm]) == pytest.approx(toc_curve(priority, phi))


def test_rate_bootstrap_is_seeded_and_an_informative_ranking_is_positive() -> None:
    rng = np.random.default_rng(0)
    priority = rng.normal(size=300)
    phi = 2 * priority + rng.normal(scale=3, size=300)
    a = rate(priority, phi, 0.05, np.random.default_rng(7), bootstrap=100)
    b = rate(priority, phi, 0.05, np.random.default_rng(7), bootstrap=100)
    assert a == b
    assert a.autoc.ci_lower > 0 and a.autoc.p_value < 0.001 and a.autoc.se > 0
    assert a.autoc.ci_upper - a.autoc.estimate == pytest.approx(1.959963984540054 * a.autoc.se)
    assert len(a.toc) == 100 and a.toc[-1].q == 1.0 and abs(a.toc[-1].toc) < 1e-12
    # a ranking unrelated to the scores: the interval covers 0
    c = rate(rng.normal(size=300), phi, 0.05, np.random.default_rng(7), bootstrap=100)
    assert c.autoc.ci_lower < 0 < c.autoc.ci_upper


def _hc3_by_hand(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta = np.linalg.lstsq(design, target, rcond=None)[0]
    inv = np.linalg.pinv(design.T @ design)
    meat = np.zeros((design.shape[1], design.shape[1]))
    for i in range(len(target)):
        row = design[i]
        h = row @ inv @ row
        e = target[i] - row @ beta
        meat += np.outer(row, row) * e**2 / (1 - h) ** 2
    return beta, np.sqrt(np.diag(inv @ meat @ inv))


def test_best_linear_projection_is_ols_with_hc3_errors() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 3))
    phi = 1.0 + 2.0 * x[:, 0] - 0.5 * x[:, 2] + rng.normal(size=200) * (1 + np.abs(x[:, 1]))
    proj, identified = best_linear_projection(x, phi, ["a", "b", "c"], 0.05)
    design = np.column_stack([np.ones(200), x])
    beta, se = _hc3_by_hand(design, phi)
    assert identified and [c.term for c in proj.coefficients] == ["intercept", "a", "b", "c"]
    assert [c.estimate for c in proj.coefficients] == pytest.approx(beta, rel=1e-10)
    assert [c.se for c in proj.coefficients] == pytest.approx(se, rel=1e-10)
    a = proj.coefficients[1]
    assert a.t_stat == pytest.approx(a.estimate / a.se) and a.p_value < 1e-10
    assert robust_ols(design, phi)[0] == pytest.approx(beta, rel=1e-10)  # type: ignore[index]
    # a constant feature has no slope; the rest is still estimated
    x[:, 1] = 3.0
    proj, identified = best_linear_projection(x, phi, ["a", "b", "c"], 0.05)
    assert identified and proj.coefficients[2].estimate is None
    assert proj.coefficients[1].estimate == pytest.approx(
        np.linalg.lstsq(np.column_stack([np.ones(200), x[:, [0, 2]]]), phi, rcond=None)[0][1]
    )
    # collinear features: nothing is identified
    x[:, 2] = 2 * x[:, 0]
    proj, identified = best_linear_projection(x, phi, ["a", "b", "c"], 0.05)
    assert not identified and all(c.estimate is None for c in proj.coefficients)


def test_calibration_test_coefficients() -> None:
    rng = np.random.default_rng(6)
    tau = rng.normal(loc=2.0, size=300)
    phi = 0.5 + 1.5 * (tau - 2.0) + 0.9 * 2.0 + rng.normal(size=300)
    test = calibration_test(tau, phi, 0.05)
    centre = tau.mean()
    assert test.mean_prediction.estimate == pytest.approx(phi.mean() / centre, rel=1e-10)
    slope = np.cov(phi, tau)[0, 1] / tau.var(ddof=1)
    assert test.differential_prediction.estimate == pytest.approx(slope, rel=1e-10)
    design = np.column_stack([np.full(300, centre), tau - centre])
    _, se = _hc3_by_hand(design, phi)
    assert test.differential_prediction.se == pytest.approx(se[1], rel=1e-10)
    assert test.differential_prediction.p_value < 1e-6  # one-sided
    # a constant prediction: no differential coefficient
    flat = calibration_test(np.full(300, 2.0), phi, 0.05)
    assert flat.differential_prediction.estimate is None
    assert flat.mean_prediction.estimate == pytest.approx(phi.mean() / 2.0)


def test_permutation_importance_ranks_the_noise_feature_lowest() -> None:
    x, t, y = _trial(1500, 2, modifier=1.5, weak=0.5)  # a modifies strongly, b weakly, c noise
    model = fit_effects(x, t, y, ["a", "b", "c"], method="t_learner", seed=0, bootstrap=20)
    xe, te, ye = _trial(1500, 3, modifier=1.5, weak=0.5)
    ev = evaluate(model, xe, te, ye, seed=1)
    assert [i.feature for i in ev.importance] == ["a", "b", "c"]
    assert ev.importance[0].importance > 10 * max(ev.importance[2].importance, 0.01)
    assert all(i.repeats == 5 and i.sd is not None and i.sd >= 0 for i in ev.importance)
    assert ev.verdict == "heterogeneity_detected"


def test_controls_enter_the_dr_scores_only() -> None:
    rng = np.random.default_rng(8)
    n = 600
    w = rng.normal(size=n)  # a confounder: drives treatment and outcome, modifies nothing
    x = rng.normal(size=(n, 2))
    t = rng.binomial(1, 1 / (1 + np.exp(-w))).astype(float)
    y = 2 * w + t * (1 + x[:, 0]) + rng.normal(size=n)
    z = np.column_stack([x, w])
    model = fit_effects(z, t, y, ["a", "b"], method="t_learner", seed=0, bootstrap=20,
                        controls=["w"])  # fmt: skip
    ev = evaluate(model, x, t, y, controls=w[:, None], permutation_repeats=2)
    g0, g1 = dr_scores(z, t, y, model.bases, model.seed)
    assert ev.ate.estimate == pytest.approx(float((g1 - g0).mean()), rel=1e-12)
    assert ev.importance[0].feature == "a"


def test_evaluation_is_reproducible_and_finite(ihdp_model, ihdp_eval) -> None:  # type: ignore[no-untyped-def]
    again = evaluate(ihdp_model, X, T, Y, on_training_data=True)
    assert again.rate == ihdp_eval.rate and again.importance == ihdp_eval.importance
    d = ihdp_eval.cate_distribution
    assert d.quantiles["p5"] <= d.quantiles["p25"] <= d.quantiles["p50"] <= d.quantiles["p75"]
    assert d.quantiles["p75"] <= d.quantiles["p95"] and sum(d.histogram_counts) == 672
    assert len(d.histogram_edges) == len(d.histogram_counts) + 1 <= 31


# --- the command line ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A model fitted on the first 450 IHDP training rows; both halves as CSV files."""
    folder = tmp_path_factory.mktemp("evaluate")
    fit_csv, held_csv = folder / "fit.csv", folder / "held.csv"
    TRAIN.iloc[:450].to_csv(fit_csv, index=False)
    TRAIN.iloc[450:].to_csv(held_csv, index=False)
    model = folder / "ihdp.prxm"
    from precisionrx.cli import main

    main(["effects", "fit", str(fit_csv), "--treatment", "t", "--outcome", "y", "--id", "unit",
          "--method", "t_learner", "--bootstrap", "20", "-o", str(model)])  # fmt: skip
    return model, fit_csv, held_csv


KEYS = ["verdict", "verdict_text", "ate", "calibration", "calibration_test", "blp", "rate",
        "importance", "cate_distribution", "n", "n_treated", "alpha", "bins", "seed",
        "permutation_repeats", "caveats", "method", "features", "data_sha256", "model_sha256",
        "precisionrx_version", "notice"]  # fmt: skip


def test_cli_json(fitted, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    model, fit_csv, held_csv = fitted
    out = tmp_path / "eval.json"
    code, _, err = run(["effects", "evaluate", str(model), str(held_csv), "--bins", "4",
                        "-o", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    doc = _strict(out.read_text())
    assert list(doc) == KEYS
    assert doc["verdict"] in {"heterogeneity_detected", "heterogeneity_not_detected"}
    assert doc["n"] == 222 and len(doc["calibration"]) == 4 and doc["bins"] == 4
    assert set(doc["rate"]) == {"autoc", "qini", "toc", "bootstrap"}
    assert set(doc["rate"]["autoc"]) == {"estimate", "se", "ci_lower", "ci_upper", "p_value"}
    assert {p["q"] for p in doc["rate"]["toc"]} >= {1.0}
    assert [c["term"] for c in doc["blp"]["coefficients"]] == ["intercept", *FEATURES]
    assert set(doc["calibration_test"]) == {"mean_prediction", "differential_prediction",
                                            "se_type"}  # fmt: skip
    assert sorted(i["feature"] for i in doc["importance"]) == sorted(FEATURES)
    assert set(doc["cate_distribution"]["quantiles"]) == {"p5", "p25", "p50", "p75", "p95"}
    assert all(set(c) == {"code", "kind", "message"} for c in doc["caveats"])
    assert "evaluated_on_training_data" not in {c["code"] for c in doc["caveats"]}
    assert doc["notice"].startswith("Decision support") and len(doc["model_sha256"]) == 64
    # the same data and seed: the same document
    again = tmp_path / "again.json"
    run(["effects", "evaluate", str(model), str(held_csv), "--bins", "4", "-o", str(again)],
        capsys)  # fmt: skip
    assert again.read_bytes() == out.read_bytes()
    # on the training file: the caveat, and the verdict text says so
    code, text, err = run(["effects", "evaluate", str(model), str(fit_csv)], capsys)
    assert code == 0, err
    doc = _strict(text)
    assert "evaluated_on_training_data" in {c["code"] for c in doc["caveats"]}
    assert "training data" in doc["verdict_text"]


def test_cli_html(fitted, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    model, _, held_csv = fitted
    out = tmp_path / "eval.html"
    code, _, err = run(["effects", "evaluate", str(model), str(held_csv), "--format", "html",
                        "-o", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    html = out.read_text()
    assert html.count("<svg") == 3 and "<?xml" not in html
    assert "Decision support only" in html and "Verdict:" in html and "Caveats" in html
    assert "causal_assumptions" in html and "NaN" not in html
    # numbers are rounded for reading: the full-precision AUTOC is in the JSON, not the page
    code, text, _ = run(["effects", "evaluate", str(model), str(held_csv)], capsys)
    autoc = _strict(text)["rate"]["autoc"]["estimate"]
    assert repr(autoc) not in html and f"{autoc:.3g}" in html
    again = tmp_path / "again.html"
    run(["effects", "evaluate", str(model), str(held_csv), "--format", "html", "-o", str(again)],
        capsys)  # fmt: skip
    assert again.read_bytes() == out.read_bytes()  # reproducible SVG (no date, fixed ids)


def test_cli_errors(fitted, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    model, _, held_csv = fitted
    out = tmp_path / "eval.json"
    missing = tmp_path / "no-such.prxm"
    code, _, err = run(["effects", "evaluate", str(missing), str(held_csv), "-o", str(out)],
                       capsys)  # fmt: skip
    assert code == 2 and "no-such.prxm" in err and "Traceback" not in err
    assert not out.exists()
    code, _, err = run(["effects", "evaluate", str(held_csv), str(held_csv), "-o", str(out)],
                       capsys)  # fmt: skip
    assert code == 2 and "not a precisionrx effects model" in err and not out.exists()
    # the outcome-free test split: no treatment or outcome column
    code, _, err = run(["effects", "evaluate", str(model), str(DATA / "ihdp1_test.csv"),
                        "-o", str(out)], capsys)  # fmt: skip
    assert code == 2 and "ihdp1_test.csv" in err and not out.exists()
    code, _, err = run(["effects", "evaluate", str(model), str(held_csv), "--bins", "1"], capsys)
    assert code == 2 and "--bins" in err
    bad = tmp_path / "bad.csv"
    TRAIN.iloc[450:].assign(t=2).to_csv(bad, index=False)
    code, _, err = run(["effects", "evaluate", str(model), str(bad), "-o", str(out)], capsys)
    assert code == 2 and "bad.csv" in err and "0/1" in err and not out.exists()
