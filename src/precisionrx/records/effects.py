"""Treatment-effect results: the average effect of ``precisionrx effects ate``
(docs/cli/effects.md, docs/methods/effects.md).

>>> r = AteResult(method="ipw", ate=3.44, ci_lower=2.41, ci_upper=4.47, n=1566, n_treated=403,
...     n_control=1163, ci_method="sandwich", alpha=0.05, treatment="qsmk", outcome="wt82_71",
...     covariates="sex + age")
>>> list(r.model_dump())[:5]
['method', 'ate', 'ci_lower', 'ci_upper', 'n']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from precisionrx.records.evidence import EngineResult

AteMethod = Literal["crude", "ipw", "stabilized_ipw", "gformula", "aipw"]
CiMethod = Literal["ols_model_based", "sandwich", "bootstrap", "influence_function"]


class WeightSummary(BaseModel):
    """The inverse-probability weights of an IPW estimate (their spread shows positivity
    problems: What If, ch. 12.5)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    mean: float
    sd: float
    min: float
    max: float


class AteResult(EngineResult):
    """One average treatment effect (difference in means of the outcome, treated minus
    untreated) with its confidence interval."""

    model_config = ConfigDict(allow_inf_nan=False)

    method: AteMethod
    ate: float
    ci_lower: float
    ci_upper: float
    #: Rows used (after dropping rows with a missing value in a variable the models need).
    n: int
    n_treated: int
    n_control: int
    ci_method: CiMethod
    alpha: float
    treatment: str
    outcome: str
    covariates: str
    #: Rows dropped for a missing outcome, treatment or covariate (counted, never silent).
    n_dropped_missing_outcome: int = 0
    n_dropped_missing_treatment: int = 0
    n_dropped_missing_covariates: int = 0
    #: Bootstrap replicates (``ci_method`` bootstrap), with the seed.
    bootstrap_replicates: int | None = None
    seed: int | None = None
    #: The right-hand sides actually fitted: the propensity model (terms naming the treatment
    #: left out) and the outcome model (treatment + every covariate term).
    propensity_terms: list[str] = Field(default_factory=list)
    outcome_terms: list[str] = Field(default_factory=list)
    weights: WeightSummary | None = None
    #: Mean potential outcomes under treatment and under no treatment (g-formula, AIPW).
    mean_outcome_treated: float | None = None
    mean_outcome_untreated: float | None = None
