"""One patient's treatment effect from a fitted model, for the plan (issue 17 item 7).

Given the model, the patient's feature values and, when the record names them, the model's
held-out evaluation and fairness audit (already read), :func:`patient_effect` returns the
patient's CATE with its interval, where it sits among the training rows' estimated effects, the
validation verdict, a one-line fairness summary per grouping, and the caveats a reader needs:

- ``missing_features``: a feature without a value: no estimate (never an imputed guess);
- ``outside_training_population``: a feature outside the training rows' range, or the
  patient's propensity (from the effect modifiers) outside the training rows' 1st-99th
  percentile: the estimate is an extrapolation where the model saw few or no similar people;
- ``not_validated``: no ``effects evaluate`` result on held-out data was named;
- ``no_fairness_audit``: no ``fairness audit`` result was named;
- ``causal_assumptions``: always: the effect is causal only under no unmeasured confounding,
  overlap and a correct model; the interval reflects estimation variance only.

Pure: the caller reads files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from precisionrx import __version__
from precisionrx.engines.effects.cate import EffectsModel
from precisionrx.engines.effects.learners import propensity_of
from precisionrx.records import Caveat, CaveatKind
from precisionrx.records.effects import OutOfRange, PatientEffect
from precisionrx.records.evidence import Provenance, fingerprint

#: Verdicts ``effects evaluate`` writes.
VERDICTS = ("heterogeneity_detected", "heterogeneity_not_detected", "insufficient_data")


def _caveat(code: str, message: str, kind: CaveatKind = CaveatKind.WARNING) -> Caveat:
    return Caveat(code=code, kind=kind, message=message)


def fairness_lines(audit: dict[str, Any]) -> list[str]:
    """One line per grouping of a ``fairness audit`` JSON document: the equalized-odds and
    demographic-parity differences and the groups' observed/expected range."""
    lines: list[str] = []
    groupings = audit.get("groupings")
    if not isinstance(groupings, dict):
        return lines
    for name, g in groupings.items():
        if not isinstance(g, dict):
            continue
        parts = []
        for key, label in (
            ("equalized_odds_difference", "equalized-odds difference"),
            ("demographic_parity_difference", "demographic-parity difference"),
        ):
            v = g.get(key)
            if isinstance(v, int | float):
                parts.append(f"{label} {v:.3f}")
        per = g.get("per_group")
        if isinstance(per, dict):
            oe = [
                (str(k), float(v["o_over_e"]))
                for k, v in per.items()
                if isinstance(v, dict) and isinstance(v.get("o_over_e"), int | float)
            ]
            if oe:
                lo, hi = min(oe, key=lambda p: p[1]), max(oe, key=lambda p: p[1])
                parts.append(f"O/E from {lo[1]:.2f} ({lo[0]}) to {hi[1]:.2f} ({hi[0]})")
            parts.insert(0, f"{len(per)} groups")
        lines.append(f"{name}: " + ", ".join(parts) if parts else f"{name}: no metrics")
    return lines


def patient_effect(
    model: EffectsModel,
    values: dict[str, float],
    *,
    treatment_label: str,
    model_name: str,
    manifest: dict[str, Any],
    value_sources: dict[str, str] | None = None,
    evaluation: dict[str, Any] | None = None,
    evaluation_source: str | None = None,
    fairness: dict[str, Any] | None = None,
    fairness_source: str | None = None,
    alpha: float = 0.05,
) -> PatientEffect:
    """The patient's effect from ``model`` (see the module docstring)."""
    caveats: list[Caveat] = []
    params = {"alpha": repr(alpha), "treatment_label": treatment_label}
    if evaluation:
        params["evaluation_sha256"] = fingerprint(evaluation)
    if fairness:
        params["fairness_sha256"] = fingerprint(fairness)
    base: dict[str, Any] = {
        "provenance": Provenance(
            tool_version=__version__,
            input_sha256=fingerprint(str(manifest.get("payload_sha256")), values),
            parameters=params,
        ),
        "treatment_label": treatment_label,
        "model": model_name,
        "model_sha256": manifest.get("payload_sha256"),
        "method": model.chosen,
        "outcome": manifest.get("outcome"),
        "alpha": alpha,
        "value_sources": dict(value_sources or {}),
    }
    verdict = evaluation.get("verdict") if evaluation else None
    on_training = bool(evaluation) and any(
        isinstance(c, dict) and c.get("code") == "evaluated_on_training_data"
        for c in (evaluation or {}).get("caveats", [])
    )
    if verdict in VERDICTS and on_training:
        base["validation_verdict"] = verdict
        base["validation_source"] = evaluation_source
        caveats.append(_caveat(
            "not_validated",
            "the model's evaluation was run on its own training rows, which is optimistic: "
            "its individual estimates are not validated on held-out data",
        ))  # fmt: skip
    elif verdict in VERDICTS:
        base["validation_verdict"] = verdict
        text = evaluation.get("verdict_text") if evaluation else None
        base["validation_text"] = text if isinstance(text, str) else None
        base["validation_source"] = evaluation_source
        if verdict != "heterogeneity_detected":
            caveats.append(_caveat(
                "heterogeneity_not_shown",
                "the model's evaluation did not show that it ranks people by benefit better "
                "than chance: read the individual estimate as no more informative than the "
                "average effect",
            ))  # fmt: skip
    else:
        caveats.append(_caveat(
            "not_validated",
            "no held-out evaluation of the model is on record (`precisionrx effects evaluate`): "
            "its individual estimates are unvalidated",
        ))  # fmt: skip
    if fairness:
        base["fairness_summary"] = fairness_lines(fairness)
        base["fairness_source"] = fairness_source
    else:
        caveats.append(_caveat(
            "no_fairness_audit",
            "no fairness audit of the model is on record (`precisionrx fairness audit`)",
            CaveatKind.NOTE,
        ))  # fmt: skip
    caveats.append(_caveat(
        "causal_assumptions",
        "an estimated effect is causal only if the training data had no unmeasured "
        "confounding and enough overlap, and the model is right; the interval covers "
        "estimation variance only. Decision support for discussion, not an order.",
        CaveatKind.NOTE,
    ))  # fmt: skip
    missing = [f for f in model.features if f not in values]
    if missing:
        caveats.insert(0, _caveat(
            "missing_features",
            f"no value for {', '.join(missing)}: no individual estimate (values are never "
            "imputed)",
        ))  # fmt: skip
        return PatientEffect(**base, missing_features=missing, caveats=caveats)
    used = {f: float(values[f]) for f in model.features}
    x = np.array([[used[f] for f in model.features]], dtype=np.float64)
    cate = float(model.effect(x)[0])
    lower, upper = model.interval(x, alpha)
    if not all(np.isfinite(v) for v in (cate, lower[0], upper[0])):
        caveats.insert(0, _caveat(
            "estimate_not_finite",
            "the model's prediction for these values is not a finite number (an exponential "
            "surface overflowing far outside the training data): no individual estimate",
        ))  # fmt: skip
        return PatientEffect(**base, values=used, caveats=caveats)
    out_of_range = [
        OutOfRange(feature=f, value=used[f], training_min=lo, training_max=hi)
        for f, (lo, hi) in model.ranges.items()
        if f in used and not lo <= used[f] <= hi
    ]
    e: float | None = None
    if model.propensity_model is not None:
        e = float(propensity_of(model.propensity_model, x)[0])
    p_lo, p_hi = model.propensity_range
    poor_overlap = e is not None and not p_lo <= e <= p_hi
    if out_of_range:
        names = ", ".join(f"{o.feature} {o.value:g} (training {o.training_min:g} to "
                          f"{o.training_max:g})" for o in out_of_range)  # fmt: skip
        caveats.insert(0, _caveat(
            "outside_training_range",
            f"outside the training population: {names}; the estimate is an extrapolation",
        ))  # fmt: skip
    if poor_overlap:
        side = "treated" if e is not None and e > p_hi else "untreated"
        caveats.insert(0, _caveat(
            "poor_overlap",
            f"people like this patient were almost always {side} in the training data "
            f"(propensity {e:.3f}, training 1st-99th percentile "
            f"{p_lo:.3f} to {p_hi:.3f}): the comparison behind the estimate is thin",
        ))  # fmt: skip
    training = np.asarray(model.training_effects, dtype=np.float64)
    pct = p05 = p50 = p95 = None
    if training.size:
        pct = float(100.0 * np.mean(training < cate))
        p05, p50, p95 = (float(v) for v in np.quantile(training, [0.05, 0.5, 0.95]))
    return PatientEffect(
        **base, cate=cate, cate_lower=float(lower[0]), cate_upper=float(upper[0]),
        training_percentile=pct, training_p05=p05, training_p50=p50, training_p95=p95,
        values=used, outside_training_population=bool(out_of_range) or poor_overlap,
        out_of_range=out_of_range, propensity=e, propensity_range=(p_lo, p_hi),
        caveats=caveats,
    )  # fmt: skip
