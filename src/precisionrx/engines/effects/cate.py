"""Fit and predict conditional average treatment effects (``precisionrx effects fit/predict``).

``fit_effects`` chooses the base family of each outcome model by cross-validated MSE
(learners.py), then the meta-learner: ``auto`` fits every candidate (t_learner, x_learner, dr)
and scores its cross-fitted CATE against the cross-fitted doubly-robust pseudo-outcome (the
"DR loss" model-selection criterion; rows are always predicted by fits that did not see them,
and nothing of the rows to be predicted later is used); it keeps the simplest candidate within
one standard error of the best score (:func:`one_se_choice`). Intervals come from
``bootstrap`` refits of the chosen learner on resamples of the training rows (stratified by
arm), with the same base families: the percentile interval of each row's CATE. They cover
estimation variance, not model misspecification or confounding. ``causal_forest`` and ``bcf``
(forests.py) are fitted by name and carry their own intervals (forest variance, posterior).

Controls (confounders that are not effect modifiers) enter every nuisance model; the CATE is a
function of the features only (learners.py).

Pure: arrays in, a fitted model out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from precisionrx.engines.effects.forests import (
    BcfLearner,
    CausalForestLearner,
    fit_bcf,
    fit_causal_forest,
)
from precisionrx.engines.effects.learners import (
    Array,
    BaseName,
    Bases,
    FittedLearner,
    LearnerName,
    choose_bases,
    cross_fitted_effects,
    dr_pseudo_outcome,
    fit_learner,
    out_of_fold,
    propensity,
    propensity_of,
    select_base,
)
from precisionrx.errors import InputError

#: The candidates of ``auto``, simplest first (the one-standard-error rule's order).
LEARNERS: tuple[LearnerName, ...] = ("t_learner", "x_learner", "dr")
#: Every method ``fit_effects`` accepts by name.
METHODS: tuple[LearnerName, ...] = (*LEARNERS, "causal_forest", "bcf")
#: Bootstrap refits behind each interval.
BOOTSTRAP = 50
#: Fewer rows than this in an arm: no fit (too little data for a confident answer).
MIN_PER_ARM = 20


@dataclass
class EffectsModel:
    """A fitted CATE model with what ``describe`` shows and the plan needs."""

    method: str
    chosen: LearnerName
    features: list[str]
    learner: FittedLearner | CausalForestLearner | BcfLearner
    bootstrap: list[FittedLearner]
    bases: Bases
    final: BaseName
    #: DR loss per candidate learner (``auto``); empty for a named method.
    selection: dict[LearnerName, float] = field(default_factory=dict)
    seed: int = 0
    n: int = 0
    n_treated: int = 0
    #: Per-feature (min, max) of the training rows: predictions outside are extrapolations.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Training propensities' 1st and 99th percentiles (overlap).
    propensity_range: tuple[float, float] = (0.0, 1.0)
    propensity_model: object | None = None
    training_effects: list[float] = field(default_factory=list)
    #: Confounders adjusted for in the nuisance models (not effect modifiers; not needed to
    #: predict).
    controls: list[str] = field(default_factory=list)

    def effect(self, x: Array) -> Array:
        return self.learner.effect(x)

    def interval(self, x: Array, alpha: float) -> tuple[Array, Array]:
        if not isinstance(self.learner, FittedLearner):
            return self.learner.interval(x, alpha)
        draws = np.vstack([b.effect(x) for b in self.bootstrap])
        with np.errstate(over="ignore", invalid="ignore"):
            lower = np.quantile(draws, alpha / 2, axis=0)
            upper = np.quantile(draws, 1 - alpha / 2, axis=0)
        return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def _check(x: Array, t: Array, y: Array) -> None:
    if not np.isin(t, (0.0, 1.0)).all():
        raise InputError("the treatment must be coded 0/1")
    for arm in (0, 1):
        n = int(np.sum(t == arm))
        if n < MIN_PER_ARM:
            raise InputError(f"{n} rows with treatment = {arm}: at least {MIN_PER_ARM} per arm "
                             "are needed to estimate effects")  # fmt: skip
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("features and outcome must be finite numbers (no missing values)")


def one_se_choice(losses: dict[LearnerName, Array]) -> LearnerName:
    """The simplest learner (order of :data:`LEARNERS`) whose mean DR loss is within one
    standard error of the best one's, the standard error taken over the rows' paired loss
    differences (the one-standard-error rule, Hastie, Tibshirani & Friedman, ESL 7.10): the
    pseudo-outcome is noisy, and a learner that is not distinguishably better is not chosen
    over a simpler one."""
    best = min(losses, key=lambda k: float(losses[k].mean()))
    for name in LEARNERS:
        diff = losses[name] - losses[best]
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
        if float(diff.mean()) <= se:
            return name
    return best


def fit_effects(
    z: Array,
    t: Array,
    y: Array,
    features: list[str],
    *,
    method: str = "auto",
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
    controls: list[str] | None = None,
) -> EffectsModel:
    """Fit ``method`` (``auto`` or a method name) and, for a meta-learner, its bootstrap refits.
    ``z`` holds the ``features`` columns followed by the ``controls`` columns.

    Native thread pools (OpenMP of scikit-learn's boosting and of stochtree, BLAS) are held to
    one thread during the fit: the models are small, and two OpenMP runtimes spinning on a
    busy two-core machine slowed fits a hundredfold in testing."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit_effects(z, t, y, features, method=method, seed=seed, bootstrap=bootstrap,
                            controls=controls)  # fmt: skip


def _fit_effects(
    z: Array,
    t: Array,
    y: Array,
    features: list[str],
    *,
    method: str,
    seed: int,
    bootstrap: int,
    controls: list[str] | None,
) -> EffectsModel:
    controls = list(controls or [])
    k = len(features)
    if z.shape[1] != k + len(controls):
        raise ValueError("the design needs one column per feature and control")
    _check(z, t, y)
    if method != "auto" and method not in METHODS:
        raise InputError(f"method {method!r} is not available; choose auto or one of {METHODS}")
    x = z[:, :k]
    kk = k if controls else None
    bases = choose_bases(z, t, y, seed)
    phi = dr_pseudo_outcome(z, t, y, bases, seed)
    final, final_scores = select_base(x, phi, seed)
    bases.scores["final"] = final_scores
    selection: dict[LearnerName, float] = {}
    if method == "auto":
        losses: dict[LearnerName, Array] = {}
        for name in LEARNERS:
            if name == "dr":  # out-of-fold fits of the final stage on the cross-fitted phi
                tau = out_of_fold(final, x, phi, seed)
            else:
                tau = cross_fitted_effects(name, z, t, y, bases, seed, final, kk)
            losses[name] = (phi - tau) ** 2
            selection[name] = float(losses[name].mean())
        chosen = one_se_choice(losses)
    else:
        chosen = method  # type: ignore[assignment]
    learner: FittedLearner | CausalForestLearner | BcfLearner
    refits = []
    if chosen == "causal_forest":
        learner = fit_causal_forest(z, t, y, k, seed)
    elif chosen == "bcf":
        learner = fit_bcf(z, t, y, k, seed)
    else:
        learner = fit_learner(chosen, z, t, y, bases, seed, final, kk)
        rng = np.random.default_rng(seed)
        arms = [np.flatnonzero(t == 0), np.flatnonzero(t == 1)]
        for _ in range(bootstrap):
            idx: NDArray[np.intp] = np.concatenate([rng.choice(a, size=len(a)) for a in arms])
            refits.append(fit_learner(chosen, z[idx], t[idx], y[idx], bases, seed, final, kk))
    e_model = propensity(x, t)
    e = propensity_of(e_model, x)
    return EffectsModel(
        method=method, chosen=chosen, features=list(features), learner=learner,
        bootstrap=refits, bases=bases, final=final, selection=selection, seed=seed,
        n=len(y), n_treated=int(t.sum()),
        ranges={f: (float(x[:, i].min()), float(x[:, i].max())) for i, f in enumerate(features)},
        propensity_range=(float(np.quantile(e, 0.01)), float(np.quantile(e, 0.99))),
        propensity_model=e_model, training_effects=[float(v) for v in learner.effect(x)],
        controls=controls,
    )  # fmt: skip
