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


class OutOfRange(BaseModel):
    """A feature of the patient outside the range of the model's training rows."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    feature: str
    value: float
    training_min: float
    training_max: float


class PatientEffect(EngineResult):
    """One patient's estimated individual treatment effect from a fitted model named in the
    patient record (``effects: [{model, treatment_label}]``; docs/methods/effects.md)."""

    model_config = ConfigDict(allow_inf_nan=False)

    treatment_label: str
    #: The model file as named in the record, its payload checksum and what it estimates.
    model: str
    model_sha256: str | None = None
    method: str | None = None
    outcome: str | None = None
    #: The CATE (treated minus untreated, in outcome units) and its interval; None when the
    #: model could not be applied (missing features, unreadable model: see the caveats).
    cate: float | None = None
    cate_lower: float | None = None
    cate_upper: float | None = None
    alpha: float = 0.05
    #: Share of the training rows with a smaller estimated effect, in percent.
    training_percentile: float | None = None
    #: The training rows' estimated effects: 5th, 50th and 95th percentiles.
    training_p05: float | None = None
    training_p50: float | None = None
    training_p95: float | None = None
    #: Feature values used, by feature name, and where each came from (``record`` field or
    #: ``values`` of the effects entry).
    values: dict[str, float] = Field(default_factory=dict)
    value_sources: dict[str, str] = Field(default_factory=dict)
    missing_features: list[str] = Field(default_factory=list)
    #: Outside the training population: features out of range, or a propensity outside the
    #: training rows' 1st-99th percentile (poor overlap).
    outside_training_population: bool = False
    out_of_range: list[OutOfRange] = Field(default_factory=list)
    propensity: float | None = None
    propensity_range: tuple[float, float] | None = None
    #: ``effects evaluate`` verdict on held-out data (heterogeneity_detected,
    #: heterogeneity_not_detected, insufficient_data) and its sentence; None: not validated.
    validation_verdict: str | None = None
    validation_text: str | None = None
    validation_source: str | None = None
    #: One line per grouping of a ``fairness audit`` of the model, and the audit file.
    fairness_summary: list[str] = Field(default_factory=list)
    fairness_source: str | None = None
