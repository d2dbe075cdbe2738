"""Base regressors and meta-learners for conditional average treatment effects (CATE).

**Base regressors** (chosen per outcome model by 5-fold cross-validated mean squared error on
the rows that model is fitted to): ``linear`` (ridge with a cross-validated penalty on
standardised features), ``exp_linear`` (a generalised linear model with a log link and normal
errors: mean exp(Xb), for positive, multiplicatively structured outcomes; ``ExpMeanRegressor``)
and ``boosting`` (histogram gradient boosting, 100 iterations). The candidate set spans
additive, multiplicative and nonparametric surfaces; the selection uses the outcome of the
training rows only.

**Meta-learners** (Künzel et al., PNAS 2019; Kennedy, 2020 arXiv:2004.14497):

- ``t_learner``: one regression per arm, tau(x) = mu1(x) - mu0(x);
- ``x_learner``: imputed effects D1 = Y - mu0(X) among the treated and D0 = mu1(X) - Y among
  the untreated, each regressed on X; tau(x) = e(x) tau0(x) + (1 - e(x)) tau1(x);
- ``dr``: the doubly-robust pseudo-outcome phi = mu1 - mu0 + T(Y - mu1)/e - (1 - T)(Y - mu0)/
  (1 - e), with cross-fitted nuisances (5 folds), regressed on X.

The propensity e(x) is a logistic regression on standardised features, clipped to
[0.01, 0.99] (as EconML's DRLearner default ``min_propensity``).

**Controls** (``--controls``: confounders that are not effect modifiers, EconML's ``W``): the
learners receive the design z = [X, W] with the ``k`` effect-modifier columns first. Every
nuisance (outcome models, propensity of the DR scores) is fitted on z; the CATE is a function
of X only: the DR learner regresses phi on X, the X-learner regresses the imputed effects on X
(weighted by e(X)), and the T-learner projects mu1(z) - mu0(z) of the training rows on X with
the final-stage family (the "projection" of a T-learner; Künzel et al. 2019 use the same
second-stage regression for the X-learner).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

Array = NDArray[np.float64]
BaseName = Literal["linear", "exp_linear", "boosting"]
LearnerName = Literal["t_learner", "x_learner", "dr", "causal_forest", "bcf"]
BASES: tuple[BaseName, ...] = ("linear", "exp_linear", "boosting")
FOLDS = 5
MIN_PROPENSITY = 0.01


class ExpMeanRegressor:
    """Least squares with an exponential mean, E[y | x] = exp(b0 + x b): a generalised linear
    model with a log link and normal errors, fitted by Gauss-Newton with step halving on
    standardised features and a small ridge penalty (``alpha`` on the slopes)."""

    def __init__(self, alpha: float = 1e-4, max_iter: int = 200) -> None:
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, x: Array, y: Array) -> ExpMeanRegressor:
        self.center_ = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        z = np.column_stack([np.ones(len(y)), (x - self.center_) / self.scale_])
        if y.mean() <= 0:
            raise ValueError("an exponential mean needs a positive mean outcome")
        beta = np.zeros(z.shape[1])
        beta[0] = np.log(y.mean())
        penalty = np.full(z.shape[1], self.alpha * len(y))
        penalty[0] = 0.0

        def loss(b: Array) -> float:
            with np.errstate(over="ignore", invalid="ignore"):
                mu = np.exp(z @ b)
            return float(np.sum((y - mu) ** 2) + np.sum(penalty * b**2))

        current = loss(beta)
        for _ in range(self.max_iter):
            with np.errstate(over="ignore", invalid="ignore"):
                mu = np.exp(z @ beta)
            jac = z * mu[:, None]
            grad = jac.T @ (y - mu) - penalty * beta
            hess = jac.T @ jac + np.diag(penalty)
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
            size = 1.0
            while size > 1e-6:
                trial = beta + size * step
                value = loss(trial)
                if np.isfinite(value) and value <= current:
                    break
                size /= 2
            else:
                break
            beta, previous, current = trial, current, value
            if previous - current <= 1e-10 * max(previous, 1.0):
                break
        self.coef_ = beta
        return self

    def predict(self, x: Array) -> Array:
        z = (x - self.center_) / self.scale_
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(np.exp(self.coef_[0] + z @ self.coef_[1:]), dtype=np.float64)


def make_base(name: BaseName, seed: int) -> Any:
    """An unfitted regressor of the named family."""
    if name == "linear":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    if name == "exp_linear":
        return ExpMeanRegressor()
    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=10,
                                         random_state=seed)  # fmt: skip


def _fit(name: BaseName, x: Array, y: Array, seed: int) -> Any:
    model = make_base(name, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x, y)
    return model


def _predict(model: Any, x: Array) -> Array:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(model.predict(x), dtype=np.float64)


def cv_mse(name: BaseName, x: Array, y: Array, seed: int) -> float:
    """5-fold cross-validated mean squared error of a base family (inf when it fails or
    predicts non-finite values, e.g. an exponential mean that overflows)."""
    folds = KFold(n_splits=min(FOLDS, len(y)), shuffle=True, random_state=seed)
    errors = np.empty(len(y))
    for train, test in folds.split(x):
        try:
            pred = _predict(_fit(name, x[train], y[train], seed), x[test])
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # e.g. exp of a
            # non-positive mean
            return float("inf")
        if not np.isfinite(pred).all():
            return float("inf")
        errors[test] = (pred - y[test]) ** 2
    return float(errors.mean())


def select_base(x: Array, y: Array, seed: int) -> tuple[BaseName, dict[str, float]]:
    """The base family with the lowest cross-validated MSE, and every family's score."""
    scores = {name: cv_mse(name, x, y, seed) for name in BASES}
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    best = min(finite, key=lambda k: finite[k]) if finite else "linear"
    return best, scores  # type: ignore[return-value]


def propensity(x: Array, t: Array) -> Any:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, t)
    return model


def propensity_of(model: Any, x: Array) -> Array:
    e = np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
    return np.clip(e, MIN_PROPENSITY, 1 - MIN_PROPENSITY)


@dataclass
class Bases:
    """The base family chosen for each nuisance/second-stage model, with the selection scores
    (chosen once on the training data; refits reuse the families)."""

    mu0: BaseName
    mu1: BaseName
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


def choose_bases(x: Array, t: Array, y: Array, seed: int) -> Bases:
    mu0, s0 = select_base(x[t == 0], y[t == 0], seed)
    mu1, s1 = select_base(x[t == 1], y[t == 1], seed)
    return Bases(mu0, mu1, {"mu0": s0, "mu1": s1})


@dataclass
class FittedLearner:
    """A fitted meta-learner: ``effect(x)`` is its CATE (``x``: the effect modifiers)."""

    name: LearnerName
    models: dict[str, Any]
    final_base: BaseName | None = None

    def effect(self, x: Array) -> Array:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: non-finite, checked
            return self._effect(x)  # by the callers

    def _effect(self, x: Array) -> Array:
        m = self.models
        if "tau" in m:  # DR, or a T-learner projected on X (controls)
            return _predict(m["tau"], x)
        if self.name == "t_learner":
            return _predict(m["mu1"], x) - _predict(m["mu0"], x)
        e = propensity_of(m["e"], x)
        return e * _predict(m["tau0"], x) + (1 - e) * _predict(m["tau1"], x)


def fit_learner(
    name: LearnerName, z: Array, t: Array, y: Array, bases: Bases, seed: int,
    final: BaseName = "linear", k: int | None = None,
) -> FittedLearner:  # fmt: skip
    """Fit one meta-learner with the given base families on the design ``z`` whose first
    ``k`` columns are the effect modifiers (``None``: every column)."""
    x = z if k is None else z[:, :k]
    treated, control = t == 1, t == 0
    mu0 = _fit(bases.mu0, z[control], y[control], seed)
    mu1 = _fit(bases.mu1, z[treated], y[treated], seed)
    if name == "t_learner":
        if x is z:
            return FittedLearner(name, {"mu0": mu0, "mu1": mu1})
        tau = _fit(final, x, _predict(mu1, z) - _predict(mu0, z), seed)
        return FittedLearner(name, {"tau": tau}, final)
    if name == "x_learner":
        d1 = y[treated] - _predict(mu0, z[treated])
        d0 = _predict(mu1, z[control]) - y[control]
        tau1 = _fit(final, x[treated], d1, seed)
        tau0 = _fit(final, x[control], d0, seed)
        return FittedLearner(name, {"tau0": tau0, "tau1": tau1, "e": propensity(x, t)}, final)
    if name != "dr":
        raise ValueError(f"{name} is not a meta-learner")
    phi = dr_pseudo_outcome(z, t, y, bases, seed)
    return FittedLearner(name, {"tau": _fit(final, x, phi, seed)}, final)


def dr_scores(x: Array, t: Array, y: Array, bases: Bases, seed: int) -> tuple[Array, Array]:
    """The doubly-robust scores of each arm, Gamma1 = mu1 + T(Y - mu1)/e and Gamma0 = mu0 +
    (1 - T)(Y - mu0)/(1 - e), with the nuisances fitted on the other folds (cross-fitting).
    Native thread pools are held to one thread (see ``cate.fit_effects``)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _dr_scores(x, t, y, bases, seed)


def _dr_scores(x: Array, t: Array, y: Array, bases: Bases, seed: int) -> tuple[Array, Array]:
    g0, g1 = np.empty(len(y)), np.empty(len(y))
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(x):
        xt, tt, yt = x[train], t[train], y[train]
        mu0 = _fit(bases.mu0, xt[tt == 0], yt[tt == 0], seed)
        mu1 = _fit(bases.mu1, xt[tt == 1], yt[tt == 1], seed)
        e = propensity_of(propensity(xt, tt), x[test])
        m0, m1 = _predict(mu0, x[test]), _predict(mu1, x[test])
        a, yy = t[test], y[test]
        g1[test] = m1 + a * (yy - m1) / e
        g0[test] = m0 + (1 - a) * (yy - m0) / (1 - e)
    return g0, g1


def dr_pseudo_outcome(x: Array, t: Array, y: Array, bases: Bases, seed: int) -> Array:
    """phi_i = Gamma1 - Gamma0 (:func:`dr_scores`): its conditional mean is the CATE when
    either nuisance is right."""
    g0, g1 = dr_scores(x, t, y, bases, seed)
    return g1 - g0


def cross_fitted_effects(
    name: LearnerName, z: Array, t: Array, y: Array, bases: Bases, seed: int,
    final: BaseName = "linear", k: int | None = None,
) -> Array:  # fmt: skip
    """Out-of-fold CATE predictions of a learner (each row predicted by a fit without it)."""
    out = np.empty(len(y))
    width = z.shape[1] if k is None else k
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=seed + 1)
    for train, test in folds.split(z):
        fitted = fit_learner(name, z[train], t[train], y[train], bases, seed, final, k)
        out[test] = fitted.effect(z[test][:, :width])
    return out


def out_of_fold(name: BaseName, x: Array, target: Array, seed: int) -> Array:
    """Out-of-fold predictions of a base family regressed on ``target``."""
    out = np.empty(len(target))
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=seed + 1)
    for train, test in folds.split(x):
        out[test] = _predict(_fit(name, x[train], target[train], seed), x[test])
    return out
