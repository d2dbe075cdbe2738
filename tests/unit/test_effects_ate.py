"""Average treatment effects (``precisionrx effects ate``): golden cases from Hernán MA, Robins
JM, *Causal Inference: What If* (2020), NHEFS (tests/data/nhefs, CDLA-Permissive-1.0), the
effect of quitting smoking (``qsmk``) on weight gain 1971-1982 (``wt82_71``, kg), among the
1566 of 1629 people with the outcome measured:

- section 12.1: unadjusted difference 2.5 kg (95 % CI 1.7 to 3.4);
- Program 12.2: IP weighting, 3.4 (2.4 to 4.5); weights mean 2.0, SD 1.5, min 1.05, max 16.7;
- Program 12.3: stabilised weights, same estimate and interval; weights mean 1.0, SD 0.29,
  min 0.33, max 4.30;
- Program 13.2-13.3: standardisation with a qsmk x smokeintensity term, 3.5 (bootstrap 95 % CI
  2.6 to 4.5).
Plus simulated data with a known effect (every estimator near it) and input errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precisionrx.engines.effects.ate import estimate_ate, logistic
from precisionrx.errors import InputError
from testkit.cli import run

NHEFS = Path(__file__).resolve().parents[1] / "data" / "nhefs" / "NHEFS.csv"
#: What If Program 12.2 propensity covariates (as.factor -> C()).
L = ("sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2) + "
     "smokeyrs + I(smokeyrs**2) + C(exercise) + C(active) + wt71 + I(wt71**2)")  # fmt: skip
DATA = pd.read_csv(NHEFS)


def test_crude_difference_what_if_12_1() -> None:
    r = estimate_ate(DATA, "qsmk", "wt82_71", "", "crude")
    assert (round(r.ate, 1), round(r.ci_lower, 1), round(r.ci_upper, 1)) == (2.5, 1.7, 3.4)
    assert (r.n, r.n_dropped_missing_outcome, r.n_treated, r.n_control) == (1566, 63, 403, 1163)


@pytest.mark.parametrize(
    ("method", "weights"),
    [("ipw", (2.00, 1.47, 1.05, 16.70)), ("stabilized_ipw", (1.00, 0.29, 0.33, 4.30))],
)
def test_ip_weighting_what_if_programs_12_2_and_12_3(
    method: str, weights: tuple[float, float, float, float]
) -> None:
    r = estimate_ate(DATA, "qsmk", "wt82_71", L, method)  # type: ignore[arg-type]
    assert (round(r.ate, 1), round(r.ci_lower, 1), round(r.ci_upper, 1)) == (3.4, 2.4, 4.5)
    assert (round(r.ate, 2), round(r.ci_lower, 2), round(r.ci_upper, 2)) == (3.44, 2.41, 4.47)
    assert r.weights is not None and r.ci_method == "sandwich"
    got = (r.weights.mean, r.weights.sd, r.weights.min, r.weights.max)
    assert [round(g, 2) for g in got] == list(weights)
    assert "qsmk" not in " ".join(r.propensity_terms)


def test_standardisation_what_if_program_13_2() -> None:
    r = estimate_ate(DATA, "qsmk", "wt82_71", L + " + qsmk:smokeintensity", "gformula",
                     bootstrap=400, seed=1)  # fmt: skip
    assert round(r.ate, 1) == 3.5 and round(r.ate, 2) == 3.52
    assert (round(r.ci_lower, 1), round(r.ci_upper, 1)) in {(2.6, 4.5), (2.6, 4.4), (2.7, 4.5)}
    assert r.outcome_terms[0] == "qsmk" and "qsmk:smokeintensity" in r.outcome_terms
    assert r.bootstrap_replicates == 400 and r.seed == 1


def test_aipw_close_to_the_other_adjusted_estimates() -> None:
    r = estimate_ate(DATA, "qsmk", "wt82_71", L + " + qsmk:smokeintensity", "aipw")
    assert 3.3 < r.ate < 3.6 and r.ci_lower < r.ate < r.ci_upper
    assert r.ci_method == "influence_function"


def _simulated(n: int, seed: int) -> tuple[pd.DataFrame, float]:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, size=n)
    e = 1 / (1 + np.exp(-(0.6 * x1 - 0.8 * x2)))
    a = rng.binomial(1, e)
    y = 1.0 + 2.0 * a + 1.5 * x1 - 1.0 * x2 + rng.normal(size=n)
    return pd.DataFrame({"a": a, "y": y, "x1": x1, "x2": x2}), 2.0


@pytest.mark.parametrize("method", ["ipw", "stabilized_ipw", "gformula", "aipw"])
def test_adjusted_estimators_recover_a_known_effect(method: str) -> None:
    data, truth = _simulated(4000, 7)
    r = estimate_ate(data, "a", "y", "x1 + C(x2)", method, bootstrap=200)  # type: ignore[arg-type]
    assert abs(r.ate - truth) < 0.15 and r.ci_lower < truth < r.ci_upper
    crude = estimate_ate(data, "a", "y", "", "crude")
    assert abs(crude.ate - truth) > 0.3  # confounded: the adjustment matters


def test_logistic_matches_the_score_equations() -> None:
    data, _ = _simulated(2000, 3)
    x = np.column_stack([np.ones(len(data)), data["x1"], data["x2"]])
    p = logistic(x, data["a"].to_numpy(dtype=float))
    assert np.allclose(x.T @ (data["a"].to_numpy() - p), 0, atol=1e-8)


def test_missing_values_are_dropped_and_counted() -> None:
    data, _ = _simulated(500, 5)
    data.loc[:9, "y"] = np.nan
    data.loc[10:14, "a"] = np.nan
    data.loc[15:16, "x1"] = np.nan
    r = estimate_ate(data, "a", "y", "x1 + x2", "ipw")
    assert (r.n_dropped_missing_outcome, r.n_dropped_missing_treatment,
            r.n_dropped_missing_covariates, r.n) == (10, 5, 2, 483)  # fmt: skip
    assert "outcome_missing_dropped" in {c.code for c in r.caveats}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treatment": "x1"}, "coded 0/1"),
        ({"outcome": "nope"}, "not in the data"),
        ({"covariates": "x1 + age"}, "not in the data"),
        ({"covariates": "x1 +"}, "formula"),
    ],
)
def test_bad_input_is_an_input_error(change: dict[str, str], message: str) -> None:
    data, _ = _simulated(200, 2)
    args = {"treatment": "a", "outcome": "y", "covariates": "x1"} | change
    with pytest.raises(InputError, match=message):
        estimate_ate(data, args["treatment"], args["outcome"], args["covariates"], "ipw")


def test_positivity_caveat_for_extreme_propensities() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=800)
    a = rng.binomial(1, 1 / (1 + np.exp(-3 * x)))
    data = pd.DataFrame({"a": a, "y": a + x, "x": x})
    r = estimate_ate(data, "a", "y", "x", "ipw")
    assert "positivity" in {c.code for c in r.caveats}


def test_separated_treatment_has_no_weights() -> None:
    x = np.linspace(-2, 2, 200)
    data = pd.DataFrame({"a": (x > 0).astype(int), "y": x, "x": x})
    with pytest.raises(InputError, match="positivity fails"):
        estimate_ate(data, "a", "y", "x", "ipw")


def test_cli_json_fields_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ate.json"
    code, _, err = run(["effects", "ate", str(NHEFS), "--treatment", "qsmk", "--outcome",
                        "wt82_71", "--covariates", L, "--method", "ipw", "-o", str(out)],
                       capsys)  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert list(doc)[:5] == ["method", "ate", "ci_lower", "ci_upper", "n"]
    assert doc["method"] == "ipw" and math.isclose(doc["ate"], 3.44, abs_tol=0.005)
    assert doc["n_dropped_missing_outcome"] == 63 and doc["notice"]
    code, _, err = run(["effects", "ate", str(NHEFS), "--treatment", "qsmk", "--outcome",
                        "wt82_71", "--method", "magic"], capsys)  # fmt: skip
    assert code == 2 and "magic" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,y\n0,1\n2,3\n1,4\n")
    code, _, err = run(["effects", "ate", str(bad), "--treatment", "a", "--outcome", "y",
                        "--method", "crude", "-o", str(tmp_path / "x.json")], capsys)  # fmt: skip
    assert code == 2 and "bad.csv" in err and "0/1" in err and "Traceback" not in err
    assert not (tmp_path / "x.json").exists()
    code, _, err = run(["effects", "ate", str(tmp_path / "missing.csv"), "--treatment", "a",
                        "--outcome", "y", "--method", "crude"], capsys)  # fmt: skip
    assert code == 2 and "missing.csv" in err
