"""Average treatment effects from observational data: crude, inverse-probability weighting
(plain and stabilised), the parametric g-formula (standardisation) and augmented IPW.

Methods follow Hernán MA, Robins JM, *Causal Inference: What If* (2020), chapters 12-13:

- **crude**: difference of the outcome means, treated minus untreated; the model-based
  (pooled-variance least-squares) standard error of What If section 12.1.
- **ipw** / **stabilized_ipw**: a logistic propensity model P(A=1 | L) fitted by maximum
  likelihood (Newton-Raphson) on the covariate terms that do not name the treatment; weights
  1/P(A=a | L) (stabilised: P(A=a)/P(A=a | L)); the effect is the weighted difference of means
  (the weighted least-squares fit of Y on A, What If Program 12.2-12.3), with a robust
  (sandwich, HC0) interval that treats the weights as known — conservative, as What If's GEE.
- **gformula**: an outcome linear model Y ~ A + covariate terms (a term may name the
  treatment, e.g. ``qsmk:smokeintensity``); every row's outcome predicted with A set to 1 and to
  0; the effect is the mean difference (What If Program 13.2-13.3); a nonparametric bootstrap
  percentile interval (rows resampled, both models refitted).
- **aipw**: the doubly-robust estimator mean(m1 - m0 + A(Y - m1)/e - (1 - A)(Y - m0)/(1 - e))
  with the same outcome and propensity models; the interval from its influence function
  (standard error sd(psi)/sqrt(n)).

Rows with a missing outcome, treatment or model variable are dropped and counted. The
treatment must be coded 0/1. Estimates from observational data are causal only under
exchangeability, positivity and consistency, and only for correctly specified models: the
result says so in its caveats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix
from numpy.typing import NDArray
from scipy.stats import norm

from precisionrx.errors import InputError
from precisionrx.records.effects import AteMethod, AteResult, CiMethod, WeightSummary
from precisionrx.records.evidence import Caveat, CaveatKind, Provenance, fingerprint

Array = NDArray[np.float64]
METHODS: tuple[AteMethod, ...] = ("crude", "ipw", "stabilized_ipw", "gformula", "aipw")
#: Propensities this close to 0 or 1 mean (near) non-positivity: a caveat, never hidden.
EXTREME_PROPENSITY = 0.01


@dataclass(frozen=True)
class Prepared:
    """The rows used and the model matrices."""

    y: Array
    a: Array
    propensity: Array | None
    outcome: Array | None
    outcome_treated: Array | None
    outcome_untreated: Array | None
    propensity_terms: list[str]
    outcome_terms: list[str]
    dropped: tuple[int, int, int]


def _terms(covariates: str) -> list[str]:
    try:
        formula = Formula(covariates)
    except Exception as exc:  # formulaic raises several parser error types
        raise InputError(f"cannot parse the covariate formula {covariates!r} ({exc})") from exc
    return [str(t) for t in formula if str(t) != "1"]


def _names(term: str, column: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(column)}(?![\w.])", term) is not None


def _as_floats(values: Any) -> Array:
    return np.asarray(values, dtype=np.float64)


def _matrix(terms: list[str], data: pd.DataFrame) -> tuple[Array, Any]:
    rhs = " + ".join(terms) if terms else "1"
    try:
        mm = model_matrix(rhs, data, na_action="raise")
    except Exception as exc:  # an unknown column, a bad transform
        raise InputError(f"cannot build the model matrix for {rhs!r} ({exc})") from exc
    return _as_floats(mm), mm.model_spec


def prepare(
    data: pd.DataFrame, treatment: str, outcome: str, covariates: str, method: AteMethod
) -> Prepared:
    """Drop incomplete rows (counted), check the treatment, build the model matrices."""
    for col in (treatment, outcome):
        if col not in data.columns:
            shown = ", ".join(list(data.columns)[:12]) + (", ..." if data.shape[1] > 12 else "")
            raise InputError(f"column {col!r} not in the data", hint=f"columns: {shown}")
    terms = _terms(covariates) if covariates.strip() else []
    needed = sorted(Formula(covariates).required_variables) if terms else []
    missing_cols = [c for c in needed if c not in data.columns]
    if missing_cols:
        raise InputError(f"the covariate formula names columns not in the data: {missing_cols}")
    no_y = data[outcome].isna()
    no_a = ~no_y & data[treatment].isna()
    rest = [c for c in needed if c not in (treatment, outcome)]
    no_l = ~no_y & ~no_a & (data[rest].isna().any(axis=1) if rest else False)
    keep = ~(no_y | no_a | no_l)
    used = data.loc[keep].reset_index(drop=True)
    dropped = (int(no_y.sum()), int(no_a.sum()), int(np.asarray(no_l).sum()))
    a = pd.to_numeric(used[treatment], errors="coerce").to_numpy(dtype=float)
    if len(a) == 0:
        raise InputError("no row has the outcome, the treatment and every covariate")
    if not np.isin(a, (0.0, 1.0)).all():
        bad = sorted({str(v) for v in used[treatment][~np.isin(a, (0.0, 1.0))]})[:5]
        raise InputError(f"treatment {treatment!r} must be coded 0/1 (found {bad})")
    if a.min() == a.max():
        raise InputError(f"treatment {treatment!r} takes one value only: no contrast")
    y = pd.to_numeric(used[outcome], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise InputError(f"outcome {outcome!r} has non-numeric values")
    prop_terms = [t for t in terms if not _names(t, treatment)]
    out_terms = ([] if treatment in terms else [treatment]) + terms
    propensity = outcome_m = treated = untreated = None
    if method in ("ipw", "stabilized_ipw", "aipw"):
        propensity, _ = _matrix(prop_terms, used)
    if method in ("gformula", "aipw"):
        outcome_m, spec = _matrix(out_terms, used)
        treated = _as_floats(spec.get_model_matrix(used.assign(**{treatment: 1})))
        untreated = _as_floats(spec.get_model_matrix(used.assign(**{treatment: 0})))
    return Prepared(y, a, propensity, outcome_m, treated, untreated, prop_terms, out_terms,
                    dropped)  # fmt: skip


def logistic(x: Array, a: Array, max_iter: int = 100) -> Array:
    """Maximum-likelihood logistic regression by Newton-Raphson; the fitted probabilities.

    A treatment that the covariates separate (perfectly, or so nearly that a fitted
    probability reaches 0 or 1 in floating point) has no finite maximum: positivity fails and
    inverse-probability weights do not exist - an InputError, never clipped silently."""
    beta = np.zeros(x.shape[1])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            p = 1.0 / (1.0 + np.exp(-(x @ beta)))
            w = p * (1.0 - p)
            step = np.linalg.lstsq(x.T @ (x * w[:, None]), x.T @ (a - p), rcond=None)[0]
            beta = beta + step
            if not np.isfinite(beta).all() or np.max(np.abs(step)) < 1e-10:
                break
        fitted = 1.0 / (1.0 + np.exp(-(x @ beta)))
    bad = ~np.isfinite(fitted) | (fitted <= 0.0) | (fitted >= 1.0)
    if bad.any():
        raise InputError(
            f"the covariates separate the treatment groups ({int(bad.sum())} rows with a fitted "
            "propensity of 0 or 1): positivity fails and inverse-probability weights do not "
            "exist",
            hint="restrict to a population where both treatments occur, or drop the separating "
            "terms",
        )
    return np.asarray(fitted, dtype=np.float64)


def _ols(x: Array, y: Array) -> Array:
    return np.asarray(np.linalg.lstsq(x, y, rcond=None)[0], dtype=float)


def _weighted_difference(y: Array, a: Array, w: Array) -> tuple[float, float]:
    """The weighted least-squares slope of Y on A and its HC0 sandwich standard error."""
    d = np.column_stack([np.ones_like(a), a])
    bread = np.linalg.inv(d.T @ (d * w[:, None]))
    beta = bread @ (d.T @ (w * y))
    e = y - d @ beta
    meat = d.T @ (d * (w**2 * e**2)[:, None])
    cov = bread @ meat @ bread
    return float(beta[1]), float(np.sqrt(cov[1, 1]))


def _gformula(p: Prepared, rows: NDArray[np.intp] | None = None) -> tuple[float, float, float]:
    assert p.outcome is not None and p.outcome_treated is not None
    assert p.outcome_untreated is not None
    idx = np.arange(len(p.y)) if rows is None else rows
    beta = _ols(p.outcome[idx], p.y[idx])
    m1 = p.outcome_treated[idx] @ beta
    m0 = p.outcome_untreated[idx] @ beta
    return float(np.mean(m1 - m0)), float(np.mean(m1)), float(np.mean(m0))


def estimate_ate(
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates: str,
    method: AteMethod,
    *,
    alpha: float = 0.05,
    bootstrap: int = 1000,
    seed: int = 0,
    input_sha256: str | None = None,
) -> AteResult:
    """The average effect of ``treatment`` on ``outcome`` (module docstring). The result's
    provenance names ``input_sha256`` (the caller's fingerprint of the data file; default:
    the fingerprint of the table as CSV) and the parameters."""
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1 (got {alpha})")
    p = prepare(data, treatment, outcome, covariates, method)
    z = float(norm.ppf(1 - alpha / 2))
    y, a = p.y, p.a
    caveats = [Caveat(code="causal_assumptions", kind=CaveatKind.NOTE, message=(
        "a causal reading needs exchangeability given the covariates, positivity, consistency "
        "and correctly specified models; none is testable from these data alone"))]  # fmt: skip
    extra: dict[str, object] = {}
    ci: CiMethod
    if method == "crude":
        t, c = y[a == 1], y[a == 0]
        ate = float(t.mean() - c.mean())
        pooled = ((len(t) - 1) * t.var(ddof=1) + (len(c) - 1) * c.var(ddof=1)) / (len(y) - 2)
        se = float(np.sqrt(pooled * (1 / len(t) + 1 / len(c))))
        lo, hi, ci = ate - z * se, ate + z * se, "ols_model_based"
    elif method in ("ipw", "stabilized_ipw"):
        assert p.propensity is not None
        e = logistic(p.propensity, a)
        w = np.where(a == 1, 1 / e, 1 / (1 - e))
        if method == "stabilized_ipw":
            share = a.mean()
            w = w * np.where(a == 1, share, 1 - share)
        ate, se = _weighted_difference(y, a, w)
        lo, hi, ci = ate - z * se, ate + z * se, "sandwich"
        extra["weights"] = WeightSummary(mean=float(w.mean()), sd=float(w.std(ddof=1)),
                                         min=float(w.min()), max=float(w.max()))  # fmt: skip
        caveats += _positivity(e)
    elif method == "gformula":
        ate, m1, m0 = _gformula(p)
        rng = np.random.default_rng(seed)
        reps = [_gformula(p, rng.integers(0, len(y), len(y)))[0] for _ in range(bootstrap)]
        lo, hi = (float(v) for v in np.quantile(reps, [alpha / 2, 1 - alpha / 2]))
        ci = "bootstrap"
        extra.update(mean_outcome_treated=m1, mean_outcome_untreated=m0,
                     bootstrap_replicates=bootstrap, seed=seed)  # fmt: skip
    else:  # aipw
        assert p.propensity is not None and p.outcome is not None
        assert p.outcome_treated is not None and p.outcome_untreated is not None
        e = logistic(p.propensity, a)
        beta = _ols(p.outcome, y)
        mu1, mu0 = p.outcome_treated @ beta, p.outcome_untreated @ beta
        psi = mu1 - mu0 + a * (y - mu1) / e - (1 - a) * (y - mu0) / (1 - e)
        ate = float(psi.mean())
        se = float(psi.std(ddof=1) / np.sqrt(len(psi)))
        lo, hi, ci = ate - z * se, ate + z * se, "influence_function"
        extra.update(mean_outcome_treated=float(mu1.mean()),
                     mean_outcome_untreated=float(mu0.mean()))  # fmt: skip
        caveats += _positivity(e)
    n_y, n_a, n_l = p.dropped
    if n_y:
        caveats.append(Caveat(code="outcome_missing_dropped", kind=CaveatKind.WARNING, message=(
            f"{n_y} rows without the outcome were dropped: the estimate is for the rows with "
            "it (selection bias if missingness depends on treatment and outcome; What If "
            "ch. 12.6 uses censoring weights)")))  # fmt: skip
    return AteResult(
        method=method, ate=ate, ci_lower=lo, ci_upper=hi, n=len(y), n_treated=int(a.sum()),
        n_control=int(len(a) - a.sum()), ci_method=ci, alpha=alpha, treatment=treatment,
        outcome=outcome, covariates=covariates, n_dropped_missing_outcome=n_y,
        n_dropped_missing_treatment=n_a, n_dropped_missing_covariates=n_l,
        propensity_terms=p.propensity_terms if method in ("ipw", "stabilized_ipw", "aipw")
        else [],
        outcome_terms=p.outcome_terms if method in ("gformula", "aipw") else [],
        caveats=caveats, **extra,  # type: ignore[arg-type]
        provenance=_provenance(data, input_sha256, {
            "method": method, "treatment": treatment, "outcome": outcome,
            "covariates": covariates, "alpha": str(alpha), "bootstrap": str(bootstrap),
            "seed": str(seed)}),
    )  # fmt: skip


def _provenance(data: pd.DataFrame, input_sha256: str | None,
                parameters: dict[str, str]) -> Provenance:  # fmt: skip
    from precisionrx import __version__

    digest = input_sha256 or fingerprint(data.to_csv(index=False))
    return Provenance(tool_version=__version__, input_sha256=digest, parameters=parameters)


def _positivity(e: Array) -> list[Caveat]:
    extreme = int(np.sum((e < EXTREME_PROPENSITY) | (e > 1 - EXTREME_PROPENSITY)))
    if not extreme:
        return []
    return [Caveat(code="positivity", kind=CaveatKind.WARNING, message=(
        f"{extreme} rows have a propensity below {EXTREME_PROPENSITY} or above "
        f"{1 - EXTREME_PROPENSITY}: weights are extreme and the estimate rests on few rows "
        "(check overlap; consider trimming or another estimand)"))]  # fmt: skip
