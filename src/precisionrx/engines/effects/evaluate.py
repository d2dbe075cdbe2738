"""Validation of a fitted CATE model on data with outcomes (``precisionrx effects evaluate``).

Every statistic compares the model's predicted CATE tau_hat(x) with the doubly-robust (AIPW)
score of each row, phi_i = Gamma1_i - Gamma0_i (learners.dr_scores: cross-fitted outcome models
of the model's base families and a logistic propensity; Robins, Rotnitzky & Zhao 1994; the
scores grf's ``get_scores`` returns). phi_i is a noisy but, under no unmeasured confounding and
overlap, unbiased signal of the row's effect, so averages of phi over groups of rows estimate
the groups' average effects without any use of the model's own outcome fits.

- :func:`calibration_bins`: average effect per quantile group of the prediction (GATES,
  Chernozhukov, Demirer, Duflo & Fernández-Val 2018, "Generic machine learning inference on
  heterogeneous treatment effects in randomized experiments", NBER w24678; EconML
  ``DRTester.evaluate_cal``).
- :func:`calibration_test`: grf's ``test_calibration`` regression on the mean and the
  differential prediction, here with phi as the response (HC3 standard errors).
- :func:`best_linear_projection`: grf's ``best_linear_projection``: OLS of phi on [1, X] with
  HC3 standard errors.
- :func:`rate`: the targeting operator characteristic (TOC) curve and its two rank-weighted
  averages, AUTOC and Qini (Yadlowsky, Fleming, Shah, Brunskill & Wager 2021, "Evaluating
  treatment prioritization rules via rank-weighted average treatment effects",
  arXiv:2111.07966; grf ``rank_average_treatment_effect``), with bootstrap standard errors.
- :func:`permutation_importance`: the increase in the DR loss mean((phi - tau_hat)^2) when one
  feature's column is permuted (Breiman 2001; Fisher, Rudin & Dominici 2019 "model reliance").
- :func:`verdict`: "heterogeneity detected" when the AUTOC or the differential calibration
  coefficient is significantly above 0; "insufficient data" below 20 rows per arm.

Limits: these check how well the model *ranks and scales* effects on the given rows. They are
optimistic on the rows the model was fitted to (the caller says so with ``on_training_data``),
and causal only under the assumptions behind phi. Pure: arrays in, dataclasses out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from precisionrx.engines.effects.learners import Array, dr_scores
from precisionrx.errors import InputError
from precisionrx.records.evidence import Caveat, CaveatKind

#: Fewer rows than this in an arm: no statistics and the verdict ``insufficient_data``.
MIN_PER_ARM = 20
#: Permutations of each feature behind its importance.
PERMUTATION_REPEATS = 5
#: Bootstrap replicates behind the AUTOC and Qini standard errors.
BOOTSTRAP = 200
#: Points of the TOC curve kept for the plot (at most; one per row for smaller data).
TOC_POINTS = 100
#: Quantiles of the CATE distribution reported (percent).
QUANTILES = (5, 25, 50, 75, 95)
#: Most bars of the CATE histogram.
HISTOGRAM_BINS = 30

Verdict = Literal["heterogeneity_detected", "heterogeneity_not_detected", "insufficient_data"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimate with its standard error, normal ``1 - alpha`` interval and one-sided p-value
    for "> 0" (None where undefined, e.g. a zero standard error)."""

    estimate: float
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None


@dataclass(frozen=True, slots=True)
class Coefficient:
    """A regression coefficient with its heteroskedasticity-robust (HC3) standard error, t
    statistic against 0, p-value and normal interval; all None when not identified."""

    term: str
    estimate: float | None
    se: float | None
    t_stat: float | None
    p_value: float | None
    ci_lower: float | None
    ci_upper: float | None


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One quantile group of the predicted CATE: its rows, the range and mean of the prediction,
    and the doubly-robust estimate of the group's average effect (mean phi) with its interval."""

    bin: int
    n: int
    cate_min: float
    cate_max: float
    mean_cate: float
    mean_dr: float
    se: float | None
    ci_lower: float | None
    ci_upper: float | None


@dataclass(frozen=True, slots=True)
class CalibrationTest:
    """grf ``test_calibration`` coefficients (one-sided p-values for "> 0")."""

    mean_prediction: Coefficient
    differential_prediction: Coefficient
    se_type: str = "HC3"


@dataclass(frozen=True, slots=True)
class Projection:
    """grf ``best_linear_projection``: intercept and one coefficient per feature (two-sided
    p-values)."""

    coefficients: list[Coefficient]
    se_type: str = "HC3"


@dataclass(frozen=True, slots=True)
class TocPoint:
    """The TOC at treated fraction ``q`` with a pointwise normal bootstrap interval."""

    q: float
    toc: float
    ci_lower: float | None
    ci_upper: float | None


@dataclass(frozen=True, slots=True)
class Rate:
    autoc: Estimate
    qini: Estimate
    toc: list[TocPoint]
    bootstrap: int


@dataclass(frozen=True, slots=True)
class Importance:
    """Mean increase of the DR loss over ``repeats`` permutations of the feature, and its SD."""

    feature: str
    importance: float
    sd: float | None
    repeats: int


@dataclass(frozen=True, slots=True)
class Distribution:
    """The predicted CATE over the evaluation rows: summary and histogram."""

    mean: float
    sd: float
    min: float
    max: float
    quantiles: dict[str, float]
    histogram_edges: list[float]
    histogram_counts: list[int]


@dataclass
class Evaluation:
    verdict: Verdict
    verdict_text: str
    n: int
    n_treated: int
    alpha: float
    cate_distribution: Distribution
    ate: Estimate | None = None
    calibration: list[CalibrationBin] = field(default_factory=list)
    calibration_test: CalibrationTest | None = None
    blp: Projection | None = None
    rate: Rate | None = None
    importance: list[Importance] = field(default_factory=list)
    caveats: list[Caveat] = field(default_factory=list)


# --- helpers ------------------------------------------------------------------------------


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _mean_estimate(values: Array, alpha: float) -> Estimate:
    """The mean with its standard error sd/sqrt(n) and normal interval (p-value for > 0)."""
    m = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return _estimate(m, se, alpha)


def _estimate(value: float, se: float | None, alpha: float) -> Estimate:
    z = float(norm.ppf(1 - alpha / 2))
    if se is None or not np.isfinite(se) or se <= 0:
        return Estimate(value, _finite(se) if se is not None else None, None, None, None)
    return Estimate(value, se, value - z * se, value + z * se, float(norm.sf(value / se)))


def robust_ols(design: Array, target: Array) -> tuple[Array, Array] | None:
    """Least-squares coefficients of ``target`` on ``design`` and their HC3 standard errors
    (MacKinnon & White 1985; Long & Ervin 2000 recommend HC3 for small samples; the sandwich
    (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2) X (X'X)^-1 with h_ii the leverages). None when the
    design is rank-deficient or a row has leverage 1 (HC3 undefined)."""
    n, p = design.shape
    if n <= p or np.linalg.matrix_rank(design) < p:
        return None
    beta = np.linalg.lstsq(design, target, rcond=None)[0]
    bread = np.linalg.inv(design.T @ design)
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    if np.any(leverage >= 1 - 1e-10):
        return None
    resid = target - design @ beta
    weights = (resid / (1 - leverage)) ** 2
    meat = design.T @ (design * weights[:, None])
    cov = bread @ meat @ bread
    return np.asarray(beta, dtype=np.float64), np.sqrt(np.clip(np.diag(cov), 0.0, None))


def _coefficient(
    term: str, beta: float, se: float, alpha: float, one_sided: bool
) -> Coefficient:  # fmt: skip
    z = float(norm.ppf(1 - alpha / 2))
    if not se > 0:
        return Coefficient(term, beta, _finite(se), None, None, None, None)
    t = beta / se
    p = float(norm.sf(t)) if one_sided else float(2 * norm.sf(abs(t)))
    return Coefficient(term, beta, se, t, p, beta - z * se, beta + z * se)


def _missing(term: str) -> Coefficient:
    return Coefficient(term, None, None, None, None, None, None)


def _negligible(values: Array, scale: float) -> bool:
    return bool(np.all(np.abs(values) <= 1e-12 * max(1.0, scale)))


# --- the statistics ------------------------------------------------------------------------


def calibration_bins(tau: Array, phi: Array, bins: int, alpha: float) -> list[CalibrationBin]:
    """Sorted Group Average Treatment Effects (GATES; Chernozhukov et al. 2018; the calibration
    tables of grf's vignettes and EconML's ``DRTester``): the rows sorted by predicted CATE
    (ties in row order) and cut into ``bins`` groups of equal size (sizes differ by at most
    one); per group the mean prediction and the doubly-robust group effect mean(phi), with the
    normal interval from sd(phi)/sqrt(n) of the group. A calibrated model's groups lie on
    mean(phi) = mean prediction."""
    order = np.argsort(tau, kind="stable")
    out = []
    for k, rows in enumerate(np.array_split(order, bins)):
        if not len(rows):
            continue
        est = _mean_estimate(phi[rows], alpha)
        out.append(CalibrationBin(bin=k + 1, n=len(rows), cate_min=float(tau[rows].min()),
                                  cate_max=float(tau[rows].max()),
                                  mean_cate=float(tau[rows].mean()), mean_dr=est.estimate,
                                  se=est.se, ci_lower=est.ci_lower,
                                  ci_upper=est.ci_upper))  # fmt: skip
    return out


def calibration_test(tau: Array, phi: Array, alpha: float) -> CalibrationTest:
    """The omnibus calibration test of grf's ``test_calibration`` (after Chernozhukov, Demirer,
    Duflo & Fernández-Val 2018, the "best linear predictor" of the CATE): the regression, without
    intercept, of the response on the mean prediction mean(tau_hat) and the differential
    prediction tau_hat - mean(tau_hat). grf's response is the residualised outcome Y - m(X) with
    both regressors multiplied by W - e(X); here it is the doubly-robust score phi, for which the
    same regression estimates the same two coefficients (the columns are orthogonal):
    mean(phi) / mean(tau_hat) and cov(phi, tau_hat) / var(tau_hat).

    A mean coefficient of 1 says the average prediction is right; a differential coefficient of
    1 says the heterogeneity is well calibrated, and one significantly above 0 that the
    predictions capture real heterogeneity. Standard errors HC3, p-values one-sided ("> 0") as
    grf's. A column that is (numerically) zero (a mean prediction of 0, or a constant
    prediction) leaves its coefficient undefined (None)."""
    scale = float(np.max(np.abs(tau)))
    centre = float(tau.mean())
    columns = {"mean_prediction": np.full(len(tau), centre),
               "differential_prediction": tau - centre}  # fmt: skip
    kept = [k for k, v in columns.items() if not _negligible(v, scale)]
    result = {k: _missing(k) for k in columns}
    if kept:
        fit = robust_ols(np.column_stack([columns[k] for k in kept]), phi)
        if fit is not None:
            for i, k in enumerate(kept):
                result[k] = _coefficient(k, float(fit[0][i]), float(fit[1][i]), alpha, True)
    return CalibrationTest(result["mean_prediction"], result["differential_prediction"])


def best_linear_projection(
    x: Array, phi: Array, features: list[str], alpha: float
) -> tuple[Projection, bool]:
    """grf's ``best_linear_projection`` (Semenova & Chernozhukov 2021, "Debiased machine
    learning of conditional average treatment effects and other causal functions", Econometrics
    Journal 24(2)): OLS of the doubly-robust scores on [1, X], HC3 standard errors, two-sided
    p-values. Each slope is the change in the average effect per unit of the feature, the other
    features held fixed (a linear summary, not the model's own shape). A feature that is
    constant in these rows has no slope (None); when the remaining design is collinear nothing is
    identified (every coefficient None; the flag is False)."""
    varying = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]
    design = np.column_stack([np.ones(len(phi)), x[:, varying]])
    fit = robust_ols(design, phi)
    names = ["intercept", *(features[j] for j in varying)]
    found: dict[str, Coefficient] = {}
    if fit is not None:
        for i, name in enumerate(names):
            found[name] = _coefficient(name, float(fit[0][i]), float(fit[1][i]), alpha, False)
    coefs = [found.get(name, _missing(name)) for name in ["intercept", *features]]
    return Projection(coefs), fit is not None


def toc_curve(priority: Array, phi: Array) -> Array:
    """TOC(j/n) for j = 1..n (Yadlowsky et al. 2021, eq. 2.3 with the empirical quantiles): the
    mean doubly-robust score of the j rows of highest priority minus the mean over all rows.
    Rows with equal priority share the mean of their scores (the expected curve under a random
    order among ties)."""
    order = np.argsort(-priority, kind="stable")
    p, s = priority[order], phi[order]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    sizes = np.diff(np.r_[starts, len(p)])
    s = np.repeat(np.add.reduceat(s, starts) / sizes, sizes)
    j = np.arange(1, len(s) + 1)
    return np.asarray(np.cumsum(s) / j - s.mean(), dtype=np.float64)


def rate_statistics(toc: Array) -> tuple[float, float]:
    """AUTOC and Qini from a TOC curve at q = j/n (Yadlowsky et al. 2021, section 2.2): the
    RATE with weight alpha(q) = 1 (AUTOC, the area under the TOC) and alpha(q) = q (Qini), as
    the Riemann sums grf computes: mean(TOC) and mean(q TOC)."""
    q = np.arange(1, len(toc) + 1) / len(toc)
    return float(toc.mean()), float(np.mean(q * toc))


def _grid(n: int) -> NDArray[np.intp]:
    """Indices (0-based, into the TOC at j = 1..n) of the curve points kept for the plot."""
    points = min(TOC_POINTS, n)
    return np.ceil(np.arange(1, points + 1) / points * n).astype(np.intp) - 1


def rate(
    priority: Array, phi: Array, alpha: float, rng: np.random.Generator,
    bootstrap: int = BOOTSTRAP,
) -> Rate:  # fmt: skip
    """AUTOC and Qini of prioritising by ``priority`` with standard errors from ``bootstrap``
    nonparametric bootstrap resamples of the rows (priorities held fixed, the model not refitted,
    as grf), normal intervals and one-sided p-values for "> 0"; the TOC curve at up to 100
    fractions q with pointwise bootstrap intervals."""
    toc = toc_curve(priority, phi)
    autoc, qini = rate_statistics(toc)
    n = len(phi)
    grid = _grid(n)
    draws = np.empty((bootstrap, 2))
    curves = np.empty((bootstrap, len(grid)))
    for b in range(bootstrap):
        idx = rng.integers(0, n, n)
        boot = toc_curve(priority[idx], phi[idx])
        draws[b] = rate_statistics(boot)
        curves[b] = boot[grid]
    se = draws.std(axis=0, ddof=1) if bootstrap > 1 else np.full(2, np.nan)
    curve_se = curves.std(axis=0, ddof=1) if bootstrap > 1 else np.full(len(grid), np.nan)
    z = float(norm.ppf(1 - alpha / 2))
    points = []
    for k, i in enumerate(grid):
        s = float(curve_se[k])
        ok = np.isfinite(s)
        points.append(TocPoint(q=float((i + 1) / n), toc=float(toc[i]),
                               ci_lower=float(toc[i] - z * s) if ok else None,
                               ci_upper=float(toc[i] + z * s) if ok else None))  # fmt: skip
    return Rate(
        autoc=_estimate(autoc, _finite(float(se[0])), alpha),
        qini=_estimate(qini, _finite(float(se[1])), alpha),
        toc=points,
        bootstrap=bootstrap,
    )


def permutation_importance(
    model: Any, x: Array, phi: Array, features: list[str], repeats: int,
    rng: np.random.Generator,
) -> list[Importance]:  # fmt: skip
    """Per feature, the mean increase of the DR loss mean((phi - tau_hat)^2) when that feature's
    column is randomly permuted (``repeats`` permutations), and the SD over the permutations
    (permutation importance, Breiman 2001; "model reliance", Fisher, Rudin & Dominici 2019,
    JMLR 20(177)). It measures how much the model's CATE *relies* on the feature to match the
    effects seen in these data: near 0 (or below, by chance) for a feature the model ignores or
    that does not help. Correlated features can share or mask each other's importance; it is a
    property of the model, not a causal statement about the feature. Sorted from most to least
    important (ties in feature order)."""
    base = float(np.mean((phi - model.effect(x)) ** 2))
    out = []
    for j, name in enumerate(features):
        gains = np.empty(repeats)
        for r in range(repeats):
            shuffled = x.copy()
            shuffled[:, j] = rng.permutation(shuffled[:, j])
            gains[r] = float(np.mean((phi - model.effect(shuffled)) ** 2)) - base
        sd = float(gains.std(ddof=1)) if repeats > 1 else None
        out.append(Importance(name, float(gains.mean()), sd, repeats))
    return sorted(out, key=lambda i: -i.importance)


def distribution(tau: Array) -> Distribution:
    """Mean, SD, range, the 5/25/50/75/95th percentiles and a histogram of the predicted CATE
    (equal-width bars, as many as Sturges' rule log2(n) + 1 gives, at most 30: a rule by the
    count only, so that a narrow CATE with one outlier cannot ask for millions of bars)."""
    count = min(HISTOGRAM_BINS, int(np.ceil(np.log2(len(tau)))) + 1)
    counts, edges = np.histogram(tau, bins=count)
    return Distribution(
        mean=float(tau.mean()), sd=float(tau.std(ddof=1)) if len(tau) > 1 else 0.0,
        min=float(tau.min()), max=float(tau.max()),
        quantiles={f"p{q}": float(np.percentile(tau, q)) for q in QUANTILES},
        histogram_edges=[float(e) for e in edges], histogram_counts=[int(c) for c in counts],
    )  # fmt: skip


# --- the verdict ---------------------------------------------------------------------------


def _g(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def verdict(
    rate_result: Rate | None, test: CalibrationTest | None, alpha: float
) -> tuple[Verdict, str]:
    """``heterogeneity_detected`` when the ``1 - alpha`` AUTOC interval lies above 0 (a
    one-sided test at alpha/2) or the differential calibration coefficient is above 0 with a
    one-sided p-value below alpha/2: the two tests share alpha (Bonferroni), so with no
    heterogeneity the verdict is wrong at most alpha of the time. ``insufficient_data`` when no
    statistics were computed."""
    level = f"{100 * (1 - alpha):.3g}%"
    if rate_result is None or test is None:
        return "insufficient_data", (
            f"Insufficient data: fewer than {MIN_PER_ARM} treated or untreated rows, too few for "
            "a confident answer; no conclusion about treatment-effect heterogeneity is drawn."
        )
    autoc = rate_result.autoc
    diff = test.differential_prediction
    by_rate = autoc.ci_lower is not None and autoc.ci_lower > 0
    by_calibration = diff.p_value is not None and diff.p_value < alpha / 2
    shown = (f"AUTOC {_g(autoc.estimate)}, {level} CI {_g(autoc.ci_lower)} to "
             f"{_g(autoc.ci_upper)}")  # fmt: skip
    limits = ("This checks the model's ranking on these data, under the assumptions of no "
              "unmeasured confounding and overlap; it is not proof that the features cause the "
              "differences.")  # fmt: skip
    if by_rate or by_calibration:
        return "heterogeneity_detected", (
            f"Heterogeneity detected: people the model ranks higher benefited more than average "
            f"on these data ({shown}; differential calibration {_g(diff.estimate)}, one-sided "
            f"p {_g(diff.p_value)}). {limits}"
        )
    return "heterogeneity_not_detected", (
        f"Heterogeneity not detected: on these data the model's ranking did not identify people "
        f"who benefit more than average ({shown}). This does not show that the effect is the "
        f"same for everyone: the data may be too few, or the model may miss it. {limits}"
    )


# --- the whole evaluation ------------------------------------------------------------------


def _check(x: Array, t: Array, y: Array, controls: Array | None) -> None:
    if not np.isin(t, (0.0, 1.0)).all():
        raise InputError("the treatment must be coded 0/1")
    arrays = [x, y] + ([controls] if controls is not None else [])
    if not all(np.isfinite(a).all() for a in arrays):
        raise InputError("features and outcome must be finite numbers (no missing values)")


def _caveats(on_training_data: bool) -> list[Caveat]:
    out = [
        Caveat(code="causal_assumptions", kind=CaveatKind.NOTE, message=(
            "the doubly-robust scores behind every statistic are unbiased only without "
            "unmeasured confounding and with overlap (guaranteed by randomisation in a trial)")),
        Caveat(code="permutation_importance", kind=CaveatKind.NOTE, message=(
            "feature importance is the model's reliance on each feature (permutation), not a "
            "causal effect of the feature; correlated features share importance")),
    ]  # fmt: skip
    if on_training_data:
        out.append(Caveat(code="evaluated_on_training_data", kind=CaveatKind.WARNING, message=(
            "these are the rows the model was fitted to: calibration and ranking are optimistic "
            "here; evaluate the prioritisation on data not used for fitting")))  # fmt: skip
    return out


def evaluate(
    model: Any,
    x: Array,
    t: Array,
    y: Array,
    *,
    alpha: float = 0.05,
    bins: int = 5,
    seed: int | None = None,
    permutation_repeats: int = PERMUTATION_REPEATS,
    bootstrap: int = BOOTSTRAP,
    controls: Array | None = None,
    on_training_data: bool = False,
) -> Evaluation:
    """Evaluate ``model`` (an ``EffectsModel``: ``effect``, ``features``, ``bases``, ``seed``)
    on rows with features ``x``, a 0/1 treatment ``t`` and an outcome ``y``. ``controls``: the
    model's control columns of the same rows (adjusted for in the doubly-robust scores only).
    ``seed`` (default: the model's) drives the bootstrap and the permutations; the scores'
    folds use the model's seed. Native thread pools are held to one thread, as in
    ``cate.fit_effects`` (the permutations call the model's predictions many times)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _evaluate(model, x, t, y, alpha=alpha, bins=bins, seed=seed,
                         permutation_repeats=permutation_repeats, bootstrap=bootstrap,
                         controls=controls, on_training_data=on_training_data)  # fmt: skip


def _check_finite(tau: Array) -> None:
    bad = np.flatnonzero(~np.isfinite(tau))
    if bad.size:
        rows = ", ".join(str(int(i)) for i in bad[:5]) + (" ..." if bad.size > 5 else "")
        raise InputError(
            f"the model's CATE is not a finite number for {bad.size} row(s) (0-based: {rows}): "
            "values far outside the training data overflow its outcome surface",
            hint="check those rows' features against the model's feature_ranges (effects describe)",
        )


def _evaluate(
    model: Any, x: Array, t: Array, y: Array, *, alpha: float, bins: int, seed: int | None,
    permutation_repeats: int, bootstrap: int, controls: Array | None, on_training_data: bool,
) -> Evaluation:  # fmt: skip
    if not 2 <= bins <= len(y):
        raise InputError(f"bins must be between 2 and the number of rows (got {bins})")
    _check(x, t, y, controls)
    features = list(model.features)
    if x.shape[1] != len(features):
        raise InputError(f"the data have {x.shape[1]} feature columns; the model has "
                         f"{len(features)}")  # fmt: skip
    tau = np.asarray(model.effect(x), dtype=np.float64)
    _check_finite(tau)
    n, n_treated = len(y), int(t.sum())
    caveats = _caveats(on_training_data)
    result = Evaluation("insufficient_data", "", n, n_treated, alpha, distribution(tau),
                        caveats=caveats)  # fmt: skip
    if min(n_treated, n - n_treated) < MIN_PER_ARM:
        caveats.append(Caveat(code="insufficient_data", kind=CaveatKind.WARNING, message=(
            f"{n_treated} treated and {n - n_treated} untreated rows: at least {MIN_PER_ARM} "
            "per arm are needed; nothing was estimated")))  # fmt: skip
        result.verdict, result.verdict_text = verdict(None, None, alpha)
        return result
    z = x if controls is None else np.column_stack([x, controls])
    g0, g1 = dr_scores(z, t, y, model.bases, int(model.seed))
    phi = g1 - g0
    rng = np.random.default_rng(int(model.seed) if seed is None else seed)
    result.ate = _mean_estimate(phi, alpha)
    result.calibration = calibration_bins(tau, phi, bins, alpha)
    result.calibration_test = calibration_test(tau, phi, alpha)
    result.blp, identified = best_linear_projection(x, phi, features, alpha)
    if not identified:
        caveats.append(Caveat(code="blp_not_identified", kind=CaveatKind.NOTE, message=(
            "the best linear projection is not identified on these rows (collinear features or "
            "a row with leverage 1): its coefficients are left empty")))  # fmt: skip
    result.rate = rate(tau, phi, alpha, rng, bootstrap)
    result.importance = permutation_importance(model, x, phi, features, permutation_repeats,
                                               rng)  # fmt: skip
    result.verdict, text = verdict(result.rate, result.calibration_test, alpha)
    if on_training_data:
        text += " Evaluated on the training data: optimistic; use data not used for fitting."
    result.verdict_text = text
    return result
