"""Forest-based CATE estimators: the causal forest (EconML ``CausalForestDML``, the
generalised random forest of Athey, Tibshirani & Wager, Ann. Stat. 2019, on residualised data)
and Bayesian causal forests (stochtree ``BCFModel``; Hahn, Murray & Carvalho, Bayesian Analysis
2020).

Both carry their own intervals, so they have no bootstrap refits:

- **causal_forest**: the outcome and treatment are residualised by cross-fitted nuisances
  (E[Y | X, W] with the base family chosen by cross-validated MSE, as the meta-learners' outcome
  models; P(T = 1 | X, W) by logistic regression), then an honest forest of 500 trees (subsamples
  of 45 % of the rows, EconML's default; grf draws half) fits the CATE on X; intervals from the
  forest's bootstrap-of-little-bags variance (``effect_interval``), normal approximation.
- **bcf**: y = mu(x, w, e) + tau(x) t + noise with BART priors on the prognostic function mu
  (which also sees the estimated propensity e, the "ps-BART" device against regularisation-
  induced confounding) and on the effect tau (a separate, more strongly shrunk forest that splits
  on the effect modifiers only); 10 grow-from-root warm-start sweeps then 100 MCMC draws
  (stochtree's recommended warm start). Interval: the posterior quantiles of tau(x) per row. The
  fitted forests are kept as stochtree's JSON (not a pickle of native objects) and rebuilt on
  first use after loading.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from precisionrx.engines.effects.learners import (
    Array,
    LearnerName,
    make_base,
    propensity,
    propensity_of,
    select_base,
)

#: Trees of the causal forest (a multiple of EconML's subforest size, 4).
FOREST_TREES = 500
#: Grow-from-root sweeps and retained MCMC draws of BCF.
BCF_GFR = 10
BCF_DRAWS = 100


@dataclass
class CausalForestLearner:
    """A fitted EconML causal forest."""

    forest: Any
    name: LearnerName = "causal_forest"

    def effect(self, x: Array) -> Array:
        return np.asarray(self.forest.effect(x), dtype=np.float64).reshape(-1)

    def interval(self, x: Array, alpha: float) -> tuple[Array, Array]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lower, upper = self.forest.effect_interval(x, alpha=alpha)
        return (np.asarray(lower, dtype=np.float64).reshape(-1),
                np.asarray(upper, dtype=np.float64).reshape(-1))  # fmt: skip


def fit_causal_forest(z: Array, t: Array, y: Array, k: int, seed: int) -> CausalForestLearner:
    """Fit a causal forest on effect modifiers ``z[:, :k]`` with controls ``z[:, k:]``."""
    from econml.dml import CausalForestDML

    family, _ = select_base(z, y, seed)
    forest = CausalForestDML(
        model_y=make_base(family, seed),
        model_t=_classifier(),
        discrete_treatment=True,
        n_estimators=FOREST_TREES,
        min_samples_leaf=5,
        cv=5,
        n_jobs=1,
        random_state=seed,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forest.fit(y, t.astype(int), X=z[:, :k], W=z[:, k:] if z.shape[1] > k else None)
    return CausalForestLearner(forest)


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


@dataclass
class BcfLearner:
    """A fitted Bayesian causal forest, kept as stochtree JSON."""

    model_json: str
    #: Propensity model on the design (for the prognostic forest's covariate at prediction).
    propensity_model: Any
    #: Values filled in for the control columns at prediction: the effect forest never splits
    #: on them (they only enter mu), so the CATE does not depend on them.
    control_fill: list[float] = field(default_factory=list)
    name: LearnerName = "bcf"
    _model: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    def _draws(self, x: Array) -> Array:
        if self._model is None:
            from stochtree import BCFModel

            model = BCFModel()
            model.from_json(self.model_json)
            self._model = model
        z = np.array(x, dtype=np.float64, copy=True)
        if self.control_fill:
            z = np.column_stack([x, np.tile(self.control_fill, (len(x), 1))])
        e = propensity_of(self.propensity_model, z)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            draws = self._model.predict(z, np.ones(len(z)), propensity=e, terms="cate")
        return np.asarray(draws, dtype=np.float64).reshape(len(x), -1)

    def effect(self, x: Array) -> Array:
        return np.asarray(self._draws(x).mean(axis=1), dtype=np.float64)

    def interval(self, x: Array, alpha: float) -> tuple[Array, Array]:
        draws = self._draws(x)
        lower = np.quantile(draws, alpha / 2, axis=1)
        upper = np.quantile(draws, 1 - alpha / 2, axis=1)
        return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def fit_bcf(z: Array, t: Array, y: Array, k: int, seed: int) -> BcfLearner:
    """Fit BCF with the effect forest restricted to the ``k`` effect-modifier columns."""
    from stochtree import BCFModel

    # stochtree writes into its inputs: give it its own (writeable) copies
    z, t, y = (np.array(a, dtype=np.float64, copy=True) for a in (z, t, y))
    if z.shape[1] == 1:  # stochtree 0.4 cannot save a model of one covariate: add a constant
        z = np.column_stack([z, np.zeros(len(z))])  # column (never split on; filled with 0)
    e_model = propensity(z, t)
    e = propensity_of(e_model, z)
    model = BCFModel()
    effect_params: dict[str, Any] = {}
    if z.shape[1] > k:
        effect_params["keep_vars"] = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.sample(
            X_train=z, Z_train=t, y_train=y, propensity_train=e,
            num_gfr=BCF_GFR, num_burnin=0, num_mcmc=BCF_DRAWS,
            general_params={"random_seed": seed},
            treatment_effect_forest_params=effect_params,
        )  # fmt: skip
    fill = [float(v) for v in z[:, k:].mean(axis=0)]
    return BcfLearner(model.to_json(), e_model, fill, _model=model)
