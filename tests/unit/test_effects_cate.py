"""Individual treatment effects (``precisionrx effects fit | predict | describe``).

Accuracy: IHDP realisation 1 (tests/data/ihdp, the NPCI setting-A benchmark in the CFR-Net
split): out-of-sample sqrt(PEHE) and eATE against the noiseless true effects (the issue's bars
are 0.90 and 0.15 as means over realisations 1-40; the benchmark script reports them); simulated
data with a known effect function. The model artefact: checksum, format version and the class
allow-list (a pickle that names ``os.system`` is refused before it runs).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precisionrx.engines.effects.cate import LEARNERS, fit_effects, one_se_choice
from precisionrx.engines.effects.learners import ExpMeanRegressor, choose_bases
from precisionrx.errors import InputError
from precisionrx.io.effects_model import (
    FORMAT_VERSION,
    MANIFEST,
    PAYLOAD,
    ModelFileError,
    load_model,
    model_bytes,
)
from testkit.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "ihdp"
TRAIN = pd.read_csv(DATA / "ihdp1_train.csv")
TEST = pd.read_csv(DATA / "ihdp1_test.csv")
FEATURES = [f"x{j}" for j in range(1, 26)]


def _simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    e = 1 / (1 + np.exp(-0.5 * x[:, 0]))
    t = rng.binomial(1, e).astype(float)
    tau = 1.0 + 2.0 * x[:, 1]
    y = 2.0 + x[:, 0] - x[:, 2] + t * tau + rng.normal(scale=0.5, size=n)
    return x, t, y, tau


@pytest.fixture(scope="module")
def ihdp_model():  # type: ignore[no-untyped-def]
    x = TRAIN[FEATURES].to_numpy(dtype=float)
    return fit_effects(x, TRAIN["t"].to_numpy(dtype=float), TRAIN["y"].to_numpy(dtype=float),
                       FEATURES, method="auto", seed=0, bootstrap=30)  # fmt: skip


def test_ihdp_realisation_1_accuracy(ihdp_model) -> None:  # type: ignore[no-untyped-def]
    xt = TEST[FEATURES].to_numpy(dtype=float)
    tau = TEST["true_cate"].to_numpy()
    cate = ihdp_model.effect(xt)
    assert float(np.sqrt(np.mean((cate - tau) ** 2))) < 0.5
    assert abs(float(cate.mean() - tau.mean())) < 0.15
    lower, upper = ihdp_model.interval(xt, 0.05)
    assert (lower <= cate).all() and (cate <= upper).all()
    assert np.mean((lower <= tau) & (tau <= upper)) >= 0.8


def test_auto_records_every_candidate_and_its_choice(ihdp_model) -> None:  # type: ignore[no-untyped-def]
    assert set(ihdp_model.selection) == set(LEARNERS)
    assert ihdp_model.chosen in LEARNERS and ihdp_model.method == "auto"
    assert all(np.isfinite(v) for v in ihdp_model.selection.values())
    # the control arm of NPCI setting A has an exponential mean: the selection finds it
    assert ihdp_model.bases.mu0 == "exp_linear"


@pytest.mark.parametrize("method", ["t_learner", "x_learner", "dr"])
def test_learners_recover_a_known_effect_function(method: str) -> None:
    x, t, y, _ = _simulated(1500, 4)
    model = fit_effects(x, t, y, ["a", "b", "c"], method=method, seed=1, bootstrap=20)
    xt, _, _, tau_t = _simulated(300, 5)
    assert float(np.sqrt(np.mean((model.effect(xt) - tau_t) ** 2))) < 0.35
    assert model.chosen == method and model.selection == {}


def test_one_se_rule_prefers_the_simpler_learner() -> None:
    rng = np.random.default_rng(0)
    base = rng.exponential(size=500)
    # t_learner's loss is higher on average but not distinguishably (noise >> the gap)
    close = base + 0.01 + rng.normal(scale=1.0, size=500)
    losses = {"t_learner": close, "x_learner": base.copy(), "dr": base + 5.0}
    assert one_se_choice(losses) == "t_learner"  # type: ignore[arg-type]
    losses = {"t_learner": base + 5.0, "x_learner": base.copy(), "dr": base + 0.5}
    assert one_se_choice(losses) == "x_learner"  # type: ignore[arg-type]


def test_exp_mean_regressor_recovers_its_coefficients() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 2))
    y = np.exp(0.5 + 0.3 * x[:, 0] - 0.2 * x[:, 1]) + rng.normal(scale=0.05, size=800)
    model = ExpMeanRegressor(alpha=0.0).fit(x, y)
    pred = model.predict(x)
    assert float(np.sqrt(np.mean((pred - np.exp(0.5 + 0.3 * x[:, 0] - 0.2 * x[:, 1])) ** 2))) < 0.02
    with pytest.raises(ValueError, match="positive mean"):
        ExpMeanRegressor().fit(x, -np.abs(y))


def test_bases_are_chosen_on_training_rows_only() -> None:
    x, t, y, _ = _simulated(400, 3)
    bases = choose_bases(x, t, y, 0)
    assert set(bases.scores["mu0"]) == {"linear", "exp_linear", "boosting"}
    assert bases.mu0 == min(bases.scores["mu0"], key=lambda k: bases.scores["mu0"][k])


@pytest.mark.parametrize(
    ("t", "message"),
    [
        (np.r_[np.zeros(100), np.full(100, 2.0)], "0/1"),
        (np.r_[np.zeros(195), np.ones(5)], "per arm"),
    ],
)
def test_unusable_treatment_is_an_input_error(t: np.ndarray, message: str) -> None:
    x = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(InputError, match=message):
        fit_effects(x, t, x[:, 0], ["a", "b"], bootstrap=20)


# --- the model file ------------------------------------------------------------------------


def _archive(path: Path, manifest: dict[str, object], payload: bytes) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(MANIFEST, json.dumps(manifest))
        z.writestr(PAYLOAD, payload)


def test_model_file_round_trip_and_refusals(tmp_path: Path) -> None:
    x, t, y, _ = _simulated(300, 6)
    model = fit_effects(x, t, y, ["a", "b", "c"], method="t_learner", bootstrap=20)
    good = tmp_path / "m.prxm"
    good.write_bytes(model_bytes(model, {"features": ["a", "b", "c"]}))
    manifest, again = load_model(good)
    assert manifest["format_version"] == FORMAT_VERSION
    assert np.array_equal(again.effect(x), model.effect(x))
    with zipfile.ZipFile(good) as z:
        manifest = json.loads(z.read(MANIFEST))
        payload = z.read(PAYLOAD)
    tampered = tmp_path / "tampered.prxm"
    _archive(tampered, manifest, payload[:-1] + bytes([payload[-1] ^ 1]))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(tampered)
    old = tmp_path / "old.prxm"
    _archive(old, {**manifest, "format_version": FORMAT_VERSION + 1}, payload)
    with pytest.raises(ModelFileError, match="version"):
        load_model(old)
    evil = pickle.dumps(os.system)  # a pickle naming os.system, with a correct checksum
    bad = tmp_path / "evil.prxm"
    _archive(bad, {**manifest, "payload_sha256": hashlib.sha256(evil).hexdigest()}, evil)
    with pytest.raises(ModelFileError, match="not allowed"):
        load_model(bad)
    text = tmp_path / "text.prxm"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a precisionrx effects model"):
        load_model(text)


# --- the command line ----------------------------------------------------------------------


def test_cli_fit_describe_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "ihdp.prxm"
    code, _, err = run(["effects", "fit", str(DATA / "ihdp1_train.csv"), "--treatment", "t",
                        "--outcome", "y", "--id", "unit", "--bootstrap", "20", "-o", str(model)],
                       capsys)  # fmt: skip
    assert code == 0, err
    code, out, _ = run(["effects", "describe", str(model)], capsys)
    info = json.loads(out)
    assert info["features"] == FEATURES and info["method"] == "auto"
    assert set(info["selection_dr_loss"]) == set(LEARNERS) and info["chosen"] in LEARNERS
    assert info["n"] == 672 and info["bootstrap"] == 20
    # the outcome-free test split; an extra column (the truth) is ignored
    out_csv = tmp_path / "pred.csv"
    code, _, err = run(["effects", "predict", str(model), str(DATA / "ihdp1_test.csv"), "--id",
                        "unit", "-o", str(out_csv)], capsys)  # fmt: skip
    assert code == 0, err
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["row", "unit", "cate", "cate_lower", "cate_upper"]
    assert [r["row"] for r in rows] == [str(i) for i in range(len(TEST))]
    assert [r["unit"] for r in rows] == [str(u) for u in TEST["unit"]]
    cate = np.array([float(r["cate"]) for r in rows])
    assert float(np.sqrt(np.mean((cate - TEST["true_cate"].to_numpy()) ** 2))) < 0.5
    out_json = tmp_path / "pred.json"
    code, _, _ = run(["effects", "predict", str(model), str(DATA / "ihdp1_test.csv"),
                      "--format", "json", "--alpha", "0.1", "-o", str(out_json)], capsys)  # fmt: skip
    doc = json.loads(out_json.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert code == 0 and doc["alpha"] == 0.1 and len(doc["predictions"]) == len(TEST)
    assert list(doc["predictions"][0]) == ["row", "cate", "cate_lower", "cate_upper"]


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = TRAIN.copy()
    train["site"] = "a"
    bad = tmp_path / "bad.csv"
    train.to_csv(bad, index=False)
    code, _, err = run(["effects", "fit", str(bad), "--treatment", "t", "--outcome", "y",
                        "-o", str(tmp_path / "m.prxm")], capsys)  # fmt: skip
    assert code == 2 and "site" in err and "not numeric" in err
    assert not (tmp_path / "m.prxm").exists()
    code, _, err = run(["effects", "fit", str(DATA / "ihdp1_train.csv"), "--treatment", "t",
                        "--outcome", "y", "--method", "magic", "-o", str(tmp_path / "m")], capsys)  # fmt: skip
    assert code == 2 and "magic" in err
    model = tmp_path / "small.prxm"
    code, _, err = run(["effects", "fit", str(DATA / "ihdp1_train.csv"), "--treatment", "t",
                        "--outcome", "y", "--id", "unit", "--features", "x1,x2,x3",
                        "--method", "t_learner", "--bootstrap", "20", "-o", str(model)], capsys)  # fmt: skip
    assert code == 0, err
    missing = tmp_path / "missing.csv"
    TEST.drop(columns=["x2"]).to_csv(missing, index=False)
    code, _, err = run(["effects", "predict", str(model), str(missing)], capsys)
    assert code == 2 and "x2" in err and "Traceback" not in err
    code, _, err = run(["effects", "predict", str(bad), str(missing)], capsys)
    assert code == 2 and "not a precisionrx effects model" in err


# --- the treatment rule (effects policy) ---------------------------------------------------


def _sign_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Treatment helps (+2) when a > 0 and harms (-1) otherwise; b, c, d are noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    t = rng.binomial(1, 0.5, n).astype(float)
    y = x[:, 1] + t * np.where(x[:, 0] > 0, 2.0, -1.0) + rng.normal(size=n)
    return x, t, y


def test_policy_finds_who_benefits_and_beats_treat_all() -> None:
    from precisionrx.engines.effects.policy import min_leaf_size, policy

    x, t, y = _sign_data(1000, 0)
    bases = choose_bases(x, t, y, 0)
    result = policy(x, t, y, ["a", "b", "c", "d"], bases, depth=1)
    assert len(result.rules) == 2 and all(r.startswith("a ") for r in result.rules)
    assert result.rules[0].endswith("do not treat") and result.rules[1].endswith(": treat")
    threshold = float(result.rules[0].split("<=")[1].split(":")[0])
    assert abs(threshold) < 0.2
    gain_all, gain_none = result.value["gain_vs_treat_all"], result.value["gain_vs_treat_none"]
    assert gain_all.ci_lower > 0 and gain_none.ci_lower > 0  # the rule beats both, out of sample
    assert 0.4 < result.treated_share < 0.6
    assert all(int(g["n"]) >= min_leaf_size(1000) for g in result.leaves)  # type: ignore[call-overload]
    deep = policy(x, t, y, ["a", "b", "c", "d"], bases, depth=2)
    assert deep.value["policy"].estimate > result.value["treat_all"].estimate


@pytest.mark.parametrize(
    ("cost", "rule"), [(0.0, "everyone: treat"), (50.0, "everyone: do not treat")]
)
def test_policy_with_uniform_benefit_is_one_leaf(cost: float, rule: str) -> None:
    from precisionrx.engines.effects.policy import policy

    x, t, y, _ = _simulated(800, 9)  # effect 1 + 2 b: positive for most rows, never above 50
    y = y + 5 * t  # everyone benefits
    result = policy(x, t, y, ["a", "b", "c"], choose_bases(x, t, y, 0), depth=2, cost=cost)
    assert result.rules == [rule]


def test_cli_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "ihdp.prxm"
    code, _, err = run(["effects", "fit", str(DATA / "ihdp1_train.csv"), "--treatment", "t",
                        "--outcome", "y", "--id", "unit", "--method", "t_learner",
                        "--bootstrap", "20", "-o", str(model)], capsys)  # fmt: skip
    assert code == 0, err
    out = tmp_path / "policy.json"
    code, _, err = run(["effects", "policy", str(model), str(DATA / "ihdp1_train.csv"),
                        "--max-depth", "1", "-o", str(out)], capsys)  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert doc["rule"] == ["everyone: treat"]  # IHDP: every child benefits (ATT = 4)
    assert set(doc["value"]) == {"policy", "treat_all", "treat_none", "gain_vs_treat_all",
                                 "gain_vs_treat_none"}  # fmt: skip
    assert doc["value"]["gain_vs_treat_none"]["ci_lower"] > 0
    code, _, err = run(["effects", "policy", str(model), str(DATA / "ihdp1_train.csv"),
                        "--max-depth", "3"], capsys)  # fmt: skip
    assert code == 2
    code, _, err = run(["effects", "policy", str(model), str(DATA / "ihdp1_test.csv")], capsys)
    assert code == 2 and "t" in err  # no treatment or outcome column in the test split
