"""Treatment effects in the plan (issue 17 item 7): a model named in the patient record is
applied to the patient, with its interval, its place among the training rows' estimates, the
evaluation verdict and fairness summary when named, and caveats outside the training
population."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from precisionrx.engines.effects.cate import fit_effects
from precisionrx.engines.effects.patient import fairness_lines, patient_effect
from precisionrx.io.effects_model import model_bytes
from precisionrx.plan.builder import build
from testkit.cli import run


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """age 40-80 and systolic pressure 110-170; the effect grows with pressure; treatment
    more likely at higher pressure (observational)."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(40, 80, n)
    sbp = rng.uniform(110, 170, n)
    e = 1 / (1 + np.exp(-(sbp - 140) / 6))
    t = rng.binomial(1, e).astype(float)
    tau = -0.1 * (sbp - 110)
    y = 0.05 * age + 0.02 * sbp + t * tau + rng.normal(scale=0.5, size=n)
    return np.column_stack([age, sbp]), t, y


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    x, t, y = _data()
    model = fit_effects(x, t, y, ["age", "sbp"], method="t_learner", bootstrap=20)
    manifest = {"payload_sha256": "abc", "outcome": "sbp_change", "features": ["age", "sbp"]}
    return model, manifest


def _patient(tmp_path: Path, model, values=None, age=60, extra=None) -> Path:  # type: ignore[no-untyped-def]
    (tmp_path / "m.prxm").write_bytes(model_bytes(model, {
        "features": ["age", "sbp"], "outcome": "y", "treatment": "t", "id": None}))  # fmt: skip
    entry: dict[str, object] = {"model": "m.prxm", "treatment_label": "intensive BP target"}
    if values is not None:
        entry["values"] = values
    entry.update(extra or {})
    doc = {"id": "P1", "demographics": {"sex_at_birth": "female", "age_years": age},
           "measurements": [{"name": "sbp", "value": 150, "unit": "mm[Hg]"}],
           "effects": [entry]}  # fmt: skip
    path = tmp_path / "patient.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_plan_shows_the_patients_effect_with_its_context(  # type: ignore[no-untyped-def]
    tmp_path: Path, fitted, capsys: pytest.CaptureFixture[str]
) -> None:
    model, _ = fitted
    plan = build(_patient(tmp_path, model))
    assert "effects" in plan.engines
    (e,) = plan.effects
    assert e.treatment_label == "intensive BP target" and e.model == "m.prxm"
    assert e.values == {"age": 60.0, "sbp": 150.0}
    assert e.value_sources["age"] == "demographics.age_years"
    assert e.value_sources["sbp"].startswith("measurement sbp")
    # the true effect at sbp 150 is -4; the estimate and its interval are close to it
    assert e.cate is not None and abs(e.cate + 4.0) < 0.8
    assert e.cate_lower is not None and e.cate_upper is not None
    assert e.cate_lower <= e.cate <= e.cate_upper
    # the training rows' effects run from about 0 (sbp 110) to -6 (sbp 170): -4 is low
    expected = 100 * np.mean(np.asarray(model.training_effects) < e.cate)
    assert e.training_percentile == pytest.approx(expected)
    assert e.training_p05 is not None and e.training_p95 is not None
    assert e.training_p05 < e.cate < e.training_p95
    codes = [c.code for c in e.caveats]
    assert {"not_validated", "no_fairness_audit", "causal_assumptions"} <= set(codes)
    assert not e.outside_training_population
    html_out = tmp_path / "out"
    code, _, err = run(["plan", str(tmp_path / "patient.yaml"), "-o", str(html_out)], capsys)
    assert code == 0, err
    page = (html_out / "plan.html").read_text()
    assert "Estimated treatment effects" in page and "intensive BP target" in page
    doc = json.loads((html_out / "plan.json").read_text())
    assert doc["effects"][0]["cate"] == pytest.approx(e.cate)


def test_values_in_the_entry_win_and_out_of_range_is_flagged(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    model, _ = fitted
    (e,) = build(_patient(tmp_path, model, values={"sbp": 200.0}, age=95)).effects
    assert e.values == {"age": 95.0, "sbp": 200.0}
    assert e.value_sources["sbp"] == "effects entry values"
    assert e.outside_training_population
    assert {o.feature for o in e.out_of_range} == {"age", "sbp"}
    assert e.caveats[0].code in {"outside_training_range", "poor_overlap"}
    assert "outside_training_range" in [c.code for c in e.caveats]


def test_a_missing_feature_gives_no_estimate(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    model, manifest = fitted
    e = patient_effect(model, {"age": 60.0}, treatment_label="x", model_name="m",
                       manifest=manifest)  # fmt: skip
    assert e.cate is None and e.missing_features == ["sbp"]
    assert e.caveats[0].code == "missing_features"


def test_poor_overlap_is_a_caveat(fitted) -> None:  # type: ignore[no-untyped-def]
    model, manifest = fitted
    _lo, hi = model.ranges["sbp"]
    # the highest training pressure: inside the range, but almost always treated
    e = patient_effect(model, {"age": 60.0, "sbp": hi}, treatment_label="x", model_name="m",
                       manifest=manifest)  # fmt: skip
    assert e.propensity is not None and e.propensity_range is not None
    assert e.propensity > e.propensity_range[1]
    assert e.outside_training_population and not e.out_of_range
    assert e.caveats[0].code == "poor_overlap" and "almost always treated" in e.caveats[0].message


def test_evaluation_and_fairness_files_are_summarised(  # type: ignore[no-untyped-def]
    tmp_path: Path, fitted, capsys: pytest.CaptureFixture[str]
) -> None:
    model, _ = fitted
    path = _patient(tmp_path, model, extra={"evaluation": "eval.json", "fairness": "fair.json"})
    x, t, y = _data(500, seed=7)  # held-out rows from the same population
    held_out = tmp_path / "held_out.csv"
    held_out.write_text(
        "age,sbp,t,y\n"
        + "".join(
            f"{float(a)!r},{float(b)!r},{int(tt)},{float(yy)!r}\n"
            for (a, b), tt, yy in zip(x, t, y, strict=True)
        )
    )
    code, _, err = run(["effects", "evaluate", str(tmp_path / "m.prxm"), str(held_out),
                        "-o", str(tmp_path / "eval.json")], capsys)  # fmt: skip
    assert code == 0, err
    evaluation = json.loads((tmp_path / "eval.json").read_text())
    audit = {
        "groupings": {
            "sex": {
                "per_group": {"F": {"o_over_e": 0.9}, "M": {"o_over_e": 1.2}},
                "equalized_odds_difference": 0.125,
                "demographic_parity_difference": 0.25,
            }
        }
    }
    (tmp_path / "fair.json").write_text(json.dumps(audit))
    (e,) = build(path).effects
    assert e.validation_verdict == evaluation["verdict"] == "heterogeneity_detected"
    assert e.validation_text == evaluation["verdict_text"]
    assert e.validation_source == "eval.json" and e.fairness_source == "fair.json"
    assert e.fairness_summary == [
        "sex: 2 groups, equalized-odds difference 0.125, demographic-parity difference 0.250, "
        "O/E from 0.90 (F) to 1.20 (M)"
    ]
    codes = [c.code for c in e.caveats]
    assert not {"not_validated", "no_fairness_audit", "heterogeneity_not_shown"} & set(codes)
    assert e.provenance is not None and len(e.provenance.input_sha256 or "") == 64
    assert set(e.provenance.parameters) >= {"alpha", "evaluation_sha256", "fairness_sha256"}
    assert fairness_lines({}) == []
    # an evaluation on the training rows is optimistic: not a validation
    on_training = {
        **evaluation,
        "caveats": [
            *evaluation["caveats"],
            {"code": "evaluated_on_training_data", "kind": "warning", "message": "m"},
        ],
    }
    (tmp_path / "eval.json").write_text(json.dumps(on_training))
    (e,) = build(path).effects
    assert "not_validated" in [c.code for c in e.caveats]
    # no heterogeneity shown: the caveat says to read the estimate like the average
    (tmp_path / "eval.json").write_text(
        json.dumps({**evaluation, "verdict": "heterogeneity_not_detected"})
    )
    (e,) = build(path).effects
    assert "heterogeneity_not_shown" in [c.code for c in e.caveats]
    # an evaluation of another model stops the plan, naming the file
    (tmp_path / "eval.json").write_text(json.dumps({**evaluation, "model_sha256": "0" * 64}))
    code, _, err = run(["plan", str(path), "-o", str(tmp_path / "out")], capsys)
    assert code == 2 and "eval.json" in err and "model_sha256" in err


def test_the_latest_measurement_is_used(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    model, _ = fitted
    path = _patient(tmp_path, model)
    doc = yaml.safe_load(path.read_text())
    doc["measurements"] = [
        {"name": "SBP", "value": 160, "unit": "mm[Hg]", "time": "2026-05-01"},
        {"name": "sbp", "value": 130, "unit": "mm[Hg]", "time": "2026-11-01"},
        {"name": "sbp", "value": 170, "unit": "mm[Hg]"},
    ]
    path.write_text(yaml.safe_dump(doc))
    (e,) = build(path).effects
    assert e.values["sbp"] == 130.0 and "2026-11-01" in e.value_sources["sbp"]


def test_a_missing_model_file_stops_the_plan(  # type: ignore[no-untyped-def]
    tmp_path: Path, fitted, capsys: pytest.CaptureFixture[str]
) -> None:
    model, _ = fitted
    path = _patient(tmp_path, model)
    (tmp_path / "m.prxm").unlink()
    out = tmp_path / "out"
    code, _, err = run(["plan", str(path), "-o", str(out)], capsys)
    assert code == 2 and "m.prxm" in err
    assert not out.exists() or not any(out.iterdir())
