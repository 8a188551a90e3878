"""The panel estimators, each returning a :class:`FitResult` with corrected covariance.

Linear estimators (pooled OLS, between, one- and two-way fixed effects, Swamy–Arora
random effects, first differences) are fitted with linearmodels or the group-sum
engine of :mod:`innopanel.econometrics.within`; Poisson pseudo-maximum likelihood
(PPML) by :mod:`innopanel.econometrics.poisson`, with its effects absorbed. Each is
asked for its *raw* covariance, which is then scaled by the factor of
:func:`innopanel.econometrics.covariance.correction`.

Data come as a frame indexed by (unit, year) holding the outcome and the regressors;
rows with missing values must have been dropped before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from innopanel.config.covariances import (
    EXACT_JACKKNIFE_ESTIMATORS,
    LINEAR_ESTIMATORS,
    UNIT,
    YEAR,
)
from innopanel.econometrics.absorption import FixedEffects
from innopanel.econometrics.covariance import (
    Correction,
    CovarianceError,
    CovarianceSpec,
    SampleCounts,
    correction,
    linearmodels_options,
    resolve_bandwidth,
    score_meat,
)
from innopanel.econometrics.jackknife import least_squares_jackknife, leave_one_out
from innopanel.econometrics.poisson import (
    ConvergenceError,
    PoissonFit,
    fit_poisson,
    sandwich,
)
from innopanel.econometrics.poisson import jackknife as poisson_jackknife
from innopanel.econometrics.poisson import log_likelihood as poisson_log_likelihood
from innopanel.econometrics.within import fit_within, r_squared

TIME = "year"
CONSTANT = "const"
# Estimators whose design includes an intercept (the others absorb or difference it out).
WITH_CONSTANT = ("pooled_ols", "between", "random_effects")


class EstimationError(ValueError):
    """A model cannot be estimated on the data given; the message says why and what to do."""


@dataclass(frozen=True)
class FitResult:
    """Coefficients, corrected covariance and what is needed to report and test them."""

    params: pd.Series
    cov: pd.DataFrame
    correction: Correction
    # The covariance computed, its bandwidth resolved for this sample.
    covariance: CovarianceSpec
    nobs: int
    n_entities: int
    n_periods: int
    statistics: dict[str, float]
    # Residuals the diagnostics use: y - fitted for linear models, Pearson for PPML.
    residuals: pd.Series
    # Fitted values of the estimating equation (differences for first differences, the
    # mean for PPML) and the response residuals y - fitted, on the observations used.
    fitted: pd.Series
    response_residuals: pd.Series
    # Terms shown in the tidy output; absorbed dummies (e.g. FD year effects) are not.
    reported_terms: tuple[str, ...]
    dropped_entities: tuple[str, ...] = ()
    dropped_periods: tuple[int, ...] = ()
    library_result: Any = field(default=None, repr=False, compare=False)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)


def check_unique_index(index: pd.Index) -> None:
    """Refuse data whose (unit, year) index repeats a pair: each would count twice.

    :func:`innopanel.econometrics.models.check_unique_pairs` refuses such a panel at
    the model's entry with the fix; this guards the estimators called directly."""
    repeated = index[index.duplicated()]
    if len(repeated):
        raise EstimationError(
            f"the data repeat {len(repeated.unique())} (unit, year) pair(s), first "
            f"{tuple(repeated[0])}; give one row per unit and year (aggregate them first)."
        )


def _levels(frame: pd.DataFrame) -> tuple[int, int]:
    return (
        int(frame.index.get_level_values(0).nunique()),
        int(frame.index.get_level_values(1).nunique()),
    )


def first_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """Difference every column against the unit's previous *calendar* year.

    A unit's first year, and a year after a gap, have no difference and are dropped.
    """
    frame = frame.sort_index()
    entity = frame.index.get_level_values(0)
    year = frame.index.get_level_values(1).to_numpy()
    same_unit = entity[1:] == entity[:-1]
    consecutive = np.concatenate([[False], same_unit & (year[1:] - year[:-1] == 1)])
    differences = frame.diff()
    return differences[consecutive]


def fit_linear(
    dependent: pd.Series,
    exog: pd.DataFrame,
    estimator: str,
    covariance: CovarianceSpec,
    entity_effects: bool = False,
    time_effects: bool = False,
) -> FitResult:
    """Fit a linear panel estimator and scale its raw covariance by the stated correction.

    ``exog`` is used as given (add ``const`` for pooled OLS, between and RE). For
    first differences, ``dependent`` and ``exog`` are in levels and are differenced
    here; ``time_effects`` then gives the differenced equation year effects: OLS with
    one dummy per year and no constant, computed as a within-year regression (the same
    slopes, residuals and raw covariances by Frisch-Waugh-Lovell, without the dummies;
    the dummies still count in k, and the R² measures are the dummy regression's).
    """
    if estimator not in LINEAR_ESTIMATORS:
        raise EstimationError(f"unknown linear estimator '{estimator}'.")
    check_unique_index(exog.index)
    reported = tuple(str(c) for c in exog.columns)
    fit_estimator, fit_entity, fit_time, year_dummies = (
        estimator,
        entity_effects,
        time_effects,
        0,
    )
    if estimator == "first_differences":
        levels = pd.concat([dependent.rename("__outcome__"), exog], axis=1)
        differenced = first_differences(levels)
        dependent, exog = differenced["__outcome__"], differenced.drop(columns="__outcome__")
        fit_estimator = "fixed_effects" if time_effects else "pooled_ols"
        fit_entity = False
        year_dummies = exog.index.get_level_values(1).nunique() if time_effects else 0
    n_entities, n_periods = _levels(exog)
    covariance = resolve_bandwidth(covariance, n_periods)
    if estimator not in covariance.entry.estimators:
        raise EstimationError(
            f"covariance {covariance.kind} does not support the {estimator} estimator"
            + (", which has one observation per unit" if estimator == "between" else "")
            + "; use covariance unadjusted or robust."
        )
    has_constant = CONSTANT in exog.columns
    absorbing = estimator == "fixed_effects"
    counts = SampleCounts(
        nobs=n_entities if estimator == "between" else len(exog),
        n_terms=exog.shape[1] + year_dummies,
        n_entities=n_entities,
        n_periods=n_periods,
        entity_effects=absorbing and entity_effects,
        time_effects=absorbing and time_effects,
        has_constant=has_constant,
    )
    try:
        fix = correction(covariance, counts)
    except CovarianceError as error:
        raise EstimationError(str(error)) from error
    options = linearmodels_options(covariance)
    result = _library_fit(dependent, exog, fit_estimator, options, fit_entity, fit_time)
    raw_cov = result.cov
    if covariance.entry.jackknife:
        terms = list(exog.columns)
        squares = _linear_jackknife(dependent, exog, fit_estimator, fit_entity, fit_time)
        raw_cov = pd.DataFrame(squares, index=terms, columns=terms)
    residuals = result.resids
    if isinstance(residuals, pd.DataFrame):
        residuals = residuals.iloc[:, 0]
    residuals = residuals.rename("residual")
    if year_dummies:
        statistics = dummy_regression_rsquared(dependent, residuals)
    else:
        statistics = {
            "r2": float(result.rsquared),
            "r2_within": float(result.rsquared if absorbing else result.rsquared_within),
            "r2_overall": float(result.rsquared_overall),
            "r2_between": float(result.rsquared_between),
        }
    return FitResult(
        params=result.params.copy(),
        cov=raw_cov * fix.factor,
        correction=fix,
        covariance=covariance,
        nobs=int(result.nobs),
        n_entities=n_entities,
        n_periods=n_periods,
        statistics=statistics,
        residuals=residuals,
        fitted=(_observed(dependent, estimator).reindex(residuals.index) - residuals).rename(
            "fitted"
        ),
        response_residuals=residuals,
        reported_terms=reported,
        library_result=result,
    )


def _observed(dependent: pd.Series, estimator: str) -> pd.Series:
    """The outcome the estimator's residuals belong to: unit means for between (its
    residuals are indexed by unit), the outcome as given otherwise."""
    return dependent.groupby(level=0).mean() if estimator == "between" else dependent


def dummy_regression_rsquared(dependent: pd.Series, residuals: pd.Series) -> dict[str, float]:
    """linearmodels' PooledOLS R² measures of a regression whose year dummies make an
    implicit constant, from its outcome and residuals (the fitted values include the
    year effects): overall (= r2) and between centred, within about unit means."""
    units = pd.factorize(dependent.index.get_level_values(0))[0]
    outcome = dependent.to_numpy(dtype=float)
    errors = residuals.reindex(dependent.index).to_numpy(dtype=float)
    counts = np.bincount(units).astype(float)

    def unit_means(values: np.ndarray) -> np.ndarray:
        return np.bincount(units, weights=values) / counts

    outcome_ss = float(outcome @ outcome)
    overall = r_squared(
        float(errors @ errors),
        float(np.sum((outcome - outcome.mean()) ** 2)),
        outcome_ss,
        len(outcome),
    )
    means, error_means = unit_means(outcome), unit_means(errors)
    between = r_squared(
        float(error_means @ error_means),
        float(np.sum((means - means.mean()) ** 2)),
        float(means @ means),
        len(means),
    )
    within_errors = errors - error_means[units]
    within_outcome = outcome - means[units]
    within = r_squared(
        float(within_errors @ within_errors),
        float(within_outcome @ within_outcome),
        outcome_ss,
        len(outcome),
    )
    return {"r2": overall, "r2_within": within, "r2_overall": overall, "r2_between": between}


def _library_fit(
    dependent: pd.Series,
    exog: pd.DataFrame,
    estimator: str,
    options: dict[str, Any],
    entity_effects: bool,
    time_effects: bool,
) -> Any:
    """The linearmodels fit behind :func:`fit_linear` (first differences already taken)."""
    # Imported here: linearmodels (with statsmodels) costs a job about 1.5 s to import, and
    # the fixed-effects fits, PPML and the multiverse never call it.
    from linearmodels.panel import BetweenOLS, PanelOLS, PooledOLS, RandomEffects

    if estimator == "pooled_ols":
        return PooledOLS(dependent, exog).fit(**options)
    if estimator == "between":
        return BetweenOLS(dependent, exog).fit(**options)
    if estimator == "random_effects":
        # small_sample=True: Swamy–Arora with the Baltagi–Chang (1994) degrees of freedom
        # for unbalanced panels, as plm's random.method = "swar" and Stata's xtreg, re sa.
        return RandomEffects(dependent, exog).fit(small_sample=True, **options)
    if CONSTANT not in exog.columns and within_supports(options):
        # The same estimator and corrections as PanelOLS (equal to 1e-8, tests/test_within.py)
        # by group sums instead of linearmodels' general path: several times faster.
        return fit_within(
            dependent,
            exog,
            entity_effects=entity_effects,
            time_effects=time_effects,
            auto_df=False,
            count_effects=False,
            **options,
        )
    return PanelOLS(dependent, exog, entity_effects=entity_effects, time_effects=time_effects).fit(
        auto_df=False, count_effects=False, **options
    )


def within_supports(options: dict[str, Any]) -> bool:
    """Whether innopanel.econometrics.within covers these fit options (else PanelOLS is used):
    classical, robust, or one-way clustered by the panel unit. (A model with a constant
    also stays with PanelOLS, which reports it as the grand mean.)"""
    allowed = {"cov_type", "debiased", "cluster_entity", "group_debias"}
    if set(options) - allowed:
        return False
    cov_type = options.get("cov_type", "unadjusted")
    if cov_type == "clustered":
        return bool(options.get("cluster_entity"))
    return cov_type in ("unadjusted", "robust")


def _linear_jackknife(
    dependent: pd.Series,
    exog: pd.DataFrame,
    estimator: str,
    entity_effects: bool,
    time_effects: bool,
) -> np.ndarray:
    """sum_g (b_(g) - b)(b_(g) - b)' over leave-one-unit-out refits, for the jackknife.

    Pooled OLS and fixed effects (without a constant) take the exact per-unit Gram
    route of :func:`innopanel.econometrics.jackknife.least_squares_jackknife`, linear
    in the rows; RE, between and FE with a constant are refitted by linearmodels.
    """
    index = exog.index
    units = pd.factorize(index.get_level_values(0))[0]
    absorbs = estimator == "fixed_effects" and (entity_effects or time_effects)
    if estimator in EXACT_JACKKNIFE_ESTIMATORS and not (absorbs and CONSTANT in exog):
        years = pd.factorize(index.get_level_values(1), sort=True)[0]
        _, squares = least_squares_jackknife(
            dependent.to_numpy(dtype=float),
            exog.to_numpy(dtype=float),
            units,
            years,
            absorbs and entity_effects,
            absorbs and time_effects,
        )
        return squares
    plain = linearmodels_options(CovarianceSpec("unadjusted"))
    terms = list(exog.columns)

    def library(keep: np.ndarray) -> np.ndarray:
        result = _library_fit(
            dependent[keep], exog[keep], estimator, plain, entity_effects, time_effects
        )
        return result.params[terms].to_numpy()

    full = _library_fit(dependent, exog, estimator, plain, entity_effects, time_effects)
    return leave_one_out(full.params[terms].to_numpy(), units, library)


def drop_all_zero_groups(
    dependent: pd.Series, entity_effects: bool, time_effects: bool
) -> tuple[np.ndarray, tuple[str, ...], tuple[int, ...]]:
    """Rows to keep for PPML (a boolean mask, by position), and the units and years
    dropped because y is always 0.

    A unit (or year) whose outcome is zero throughout has a fixed effect of minus
    infinity and carries no information on the slopes; ppmlhdfe and fixest drop it.
    Dropping one margin can empty another, so the rule is applied until nothing changes.
    The mask is positional, never a selection by (unit, year) label, so no row is ever
    repeated, whatever the index holds.
    """
    keep = np.ones(len(dependent), dtype=bool)
    dropped_units: list[str] = []
    dropped_years: list[int] = []
    changed = True
    while changed:
        changed = False
        margins = ((0, entity_effects, dropped_units), (1, time_effects, dropped_years))
        for level, wanted, sink in margins:
            if not wanted:
                continue
            labels = dependent.index.get_level_values(level)
            current = dependent[keep]
            totals = current.groupby(level=level).sum()
            zero = totals.index[totals <= 0]
            if len(zero):
                sink.extend(zero.tolist())
                keep &= ~labels.isin(zero)
                changed = True
    return keep, tuple(str(u) for u in dropped_units), tuple(int(y) for y in dropped_years)


def fit_ppml(
    dependent: pd.Series,
    exog: pd.DataFrame,
    covariance: CovarianceSpec,
    entity_effects: bool = True,
    time_effects: bool = True,
    unit: str = "city",
) -> FitResult:
    """Poisson pseudo-maximum likelihood with unit and/or year fixed effects absorbed.

    Consistent whenever E[y | x, effects] = exp(x b + effects), whatever the variance
    (Santos Silva and Tenreyro, 2006); inference therefore uses sandwich covariances.
    Units (years) whose outcome is always zero are dropped and returned.
    """
    check_unique_index(exog.index)
    if (dependent < 0).any():
        bad = dependent[dependent < 0].index[0]
        raise EstimationError(
            f"PPML needs a non-negative outcome; '{dependent.name}' is {dependent[bad]} "
            f"for {unit} '{bad[0]}' in {bad[1]}."
        )
    keep, dropped_units, dropped_years = drop_all_zero_groups(
        dependent, entity_effects, time_effects
    )
    dependent, exog = dependent[keep], exog[keep]
    if dependent.sum() <= 0:
        raise EstimationError(f"PPML: the outcome '{dependent.name}' is zero in every row.")
    n_entities, n_periods = _levels(exog)
    covariance = resolve_bandwidth(covariance, n_periods)
    counts = SampleCounts(
        nobs=len(exog),
        n_terms=exog.shape[1],
        n_entities=n_entities,
        n_periods=n_periods,
        entity_effects=entity_effects,
        time_effects=time_effects,
        has_constant=CONSTANT in exog.columns,
    )
    try:
        fix = correction(covariance, counts, likelihood=True)
    except CovarianceError as error:
        raise EstimationError(str(error)) from error

    terms = list(exog.columns)
    outcome = dependent.to_numpy(dtype=float)
    regressors = exog.to_numpy(dtype=float)
    effects = FixedEffects.from_index(exog.index, entity_effects, time_effects)
    if not effects.sets and CONSTANT not in exog.columns:
        regressors = np.column_stack([regressors, np.ones(len(regressors))])
    try:
        poisson = fit_poisson(outcome, regressors, effects)
        raw_cov = _ppml_covariance(poisson, outcome, regressors, effects, covariance, exog.index)
    except ConvergenceError as error:
        raise EstimationError(str(error)) from error
    mean = poisson.mean
    log_likelihood = poisson_log_likelihood(outcome, mean)
    # The null model is a constant alone, whose mean is the outcome's mean (statsmodels).
    null_log_likelihood = poisson_log_likelihood(outcome, np.full(len(outcome), outcome.mean()))
    statistics = {
        "r2": float("nan"),
        "r2_within": float("nan"),
        "r2_overall": float("nan"),
        "r2_between": float("nan"),
        "pseudo_r2": 1.0 - log_likelihood / null_log_likelihood,
        "log_likelihood": log_likelihood,
    }
    k = len(terms)
    return FitResult(
        params=pd.Series(poisson.params[:k], index=terms),
        cov=pd.DataFrame(raw_cov[:k, :k] * fix.factor, index=terms, columns=terms),
        correction=fix,
        covariance=covariance,
        nobs=len(exog),
        n_entities=n_entities,
        n_periods=n_periods,
        statistics=statistics,
        residuals=pd.Series((outcome - mean) / np.sqrt(mean), index=exog.index, name="residual"),
        fitted=pd.Series(mean, index=exog.index, name="fitted"),
        response_residuals=pd.Series(outcome - mean, index=exog.index, name="residual"),
        reported_terms=tuple(terms),
        dropped_entities=dropped_units,
        dropped_periods=dropped_years,
        library_result=poisson,
    )


def _ppml_covariance(
    poisson: PoissonFit,
    outcome: np.ndarray,
    regressors: np.ndarray,
    effects: FixedEffects,
    covariance: CovarianceSpec,
    index: pd.MultiIndex,
) -> np.ndarray:
    """The raw (uncorrected) covariance of the PPML slopes that ``covariance`` names,
    as statsmodels' GLM computes it on the dummy design (see innopanel.econometrics.poisson).

    ``covariance`` must have its bandwidth resolved (:func:`resolve_bandwidth`)."""
    entry = covariance.entry
    codes = {
        UNIT: pd.factorize(index.get_level_values(0))[0],
        YEAR: pd.factorize(index.get_level_values(1), sort=True)[0],
    }
    if entry.jackknife:
        return poisson_jackknife(poisson, outcome, regressors, effects, codes[UNIT])
    if not entry.sandwich:
        return poisson.bread
    scores = poisson.scores(outcome)
    meat = score_meat(scores, codes[UNIT], codes[YEAR], covariance.kind, covariance.bandwidth)
    return sandwich(poisson.bread, meat)


def linear_combination(
    fit: FitResult, terms: Sequence[str], weights: Sequence[float] | None = None
) -> tuple[float, float]:
    """Estimate and standard error of sum_j w_j b_j (all weights 1 by default)."""
    weights = np.ones(len(terms)) if weights is None else np.asarray(weights, dtype=float)
    vector = fit.params[list(terms)].to_numpy()
    covariance = fit.cov.loc[list(terms), list(terms)].to_numpy()
    return float(weights @ vector), float(np.sqrt(weights @ covariance @ weights))
