"""Configured panel models of innovation output: sample, design, fit and tidy estimates.

A model in the study config, parsed into a frozen
:class:`innopanel.config.specs.ModelSpec`, names an estimator
(:data:`innopanel.config.covariances.ESTIMATORS`),
an outcome, regressors and controls, a covariance, and optionally distributed lags,
interactions and a sub-period. This module turns that into a design matrix, fits it
with :mod:`innopanel.econometrics.estimators` and writes one tidy row per term (and one per
long-run sum of a distributed lag). Every row records the covariance, the exact
small-sample correction and the reference distribution used for p-values and CIs,
so that a reader can reproduce the standard errors elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from innopanel.config.checks import ABSORBING_ESTIMATORS, effects_problems
from innopanel.config.covariances import (
    covariance_kind,
    covariance_problems,
    refits_per_cluster,
)
from innopanel.config.specs import ModelSpec
from innopanel.econometrics.covariance import (
    NORMAL,
    CovarianceError,
    CovarianceSpec,
    SampleCounts,
    check_sample,
    covariance_label,
    group_count,
)
from innopanel.econometrics.estimators import (
    CONSTANT,
    WITH_CONSTANT,
    EstimationError,
    FitResult,
    drop_all_zero_groups,
    fit_linear,
    fit_ppml,
    linear_combination,
)
from innopanel.econometrics.outcome_checks import check_outcome_varies
from innopanel.io import atomic_path, with_data_note, write_csv
from innopanel.vocabulary import unit_words

LOGGER = logging.getLogger(__name__)
ENTITY, TIME = "unit_id", "year"
CONFIDENCE = 0.95
INTERACTION_SEPARATOR = "_x_"
LONG_RUN_SUFFIX = "_long_run"
# The most units a note of estimates.csv names; the coverage report names every one.
NOTED_UNITS = 10
# The columns tables and figures read; keep their names and meaning stable.
ESTIMATES_COLUMNS = [
    "model",
    "model_label",
    "estimator",
    "outcome",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "ci_lower",
    "ci_upper",
    "nobs",
    "n_entities",
    "n_periods",
    "r2",
    "r2_within",
    "r2_overall",
    "r2_between",
    "entity_effects",
    "time_effects",
    "cov_type",
    "cov_label",
    "small_sample_correction",
    # Added with the full toolkit: what a row is, how its inference was done, and the
    # sample it comes from.
    "term_kind",
    "reference_distribution",
    "df_inference",
    "correction_factor",
    "n_clusters",
    "kernel",
    "bandwidth",
    "sample_first_year",
    "sample_last_year",
    "pseudo_r2",
    "log_likelihood",
    "dropped_units",
    "note",
]


@dataclass(frozen=True)
class FittedModel:
    """A configured model fitted on its sample, with what is needed to report it."""

    spec: ModelSpec
    fit: FitResult
    unit: str = "city"
    # The first and last year the estimating sample has data for.
    first_year: int | None = None
    last_year: int | None = None
    # The panel's units the estimating regression does not use (sorted ids): the count
    # estimates.csv reports as dropped_units, as the coverage report lists them.
    lost_units: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def correction(self) -> str:
        """The small-sample correction and reference distribution, as one sentence."""
        return self.fit.correction.describe()

    @property
    def result(self) -> Any:
        """The underlying linearmodels or statsmodels result."""
        return self.fit.library_result


def lag_name(variable: str, lag: int) -> str:
    """Column name of ``variable`` lagged ``lag`` years (``rd_intensity_lag2``)."""
    return variable if lag == 0 else f"{variable}_lag{lag}"


def interaction_name(first: str, second: str) -> str:
    return f"{first}{INTERACTION_SEPARATOR}{second}"


def design_terms(spec: ModelSpec) -> list[str]:
    """Right-hand-side terms in order: regressors (each followed by its distributed
    lags), controls, then interactions."""
    lags = dict(spec.distributed_lags)
    terms: list[str] = []
    for term in spec.terms:
        terms.append(term)
        if term in lags:
            terms.extend(lag_name(term, k) for k in range(1, lags[term] + 1))
    terms.extend(interaction_name(*pair) for pair in spec.interactions)
    return terms


def _lagged(panel: pd.DataFrame, variable: str, lag: int) -> pd.Series:
    """The unit's value ``lag`` calendar years earlier (missing across a gap year)."""
    earlier = panel[[ENTITY, TIME, variable]].copy()
    earlier[TIME] = earlier[TIME] + lag
    merged = panel[[ENTITY, TIME]].merge(earlier, on=[ENTITY, TIME], how="left")
    return pd.Series(merged[variable].to_numpy(), index=panel.index)


def check_unique_pairs(panel: pd.DataFrame, where: str) -> None:
    """Refuse a panel whose (unit, year) pairs repeat, naming how many and the first few.

    Every estimator indexes its rows by (unit, year); a repeated pair would be counted
    twice, or multiplied by a selection on the index, and the estimates would be wrong
    without a word. The pipeline's clean step refuses conflicting duplicates; this is
    the same rule for a frame given to the Python API. ``where`` names the caller.
    """
    pairs = pd.DataFrame(
        {ENTITY: panel[ENTITY].astype(str), TIME: pd.to_numeric(panel[TIME], errors="coerce")}
    )
    repeated = pairs[pairs.duplicated(keep=False)]
    if repeated.empty:
        return
    counts = repeated.groupby([ENTITY, TIME], sort=True).size()
    shown = ", ".join(f"{u} {y:g} ({n} rows)" for (u, y), n in counts.head(5).items())
    more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    raise EstimationError(
        f"{where}: the panel has {len(counts)} repeated (unit, year) pair(s) in "
        f"{len(repeated)} rows: {shown}{more}. A panel model needs one row per unit and "
        "year, or those rows count several times. Aggregate them first, e.g. "
        f"panel.groupby(['{ENTITY}', '{TIME}'], as_index=False).sum(numeric_only=True) "
        "(or .mean()), or drop the wrong rows; the pipeline's clean step reports exact "
        "duplicates and refuses conflicting ones."
    )


def model_frame(panel: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Return the complete-case (unit, year)-indexed frame a model is estimated on.

    Builds distributed lags by calendar year (lags reach back before a sub-period's
    first year), keeps the model's years, drops rows missing any model variable
    *before* fitting (so cluster ids stay aligned with residuals), then forms
    interactions of variables centred at their estimation-sample means. Repeated (unit,
    year) pairs are refused (:func:`check_unique_pairs`).
    """
    check_unique_pairs(panel, f"model '{spec.name}'")
    base = list(spec.variables)
    absent = [c for c in base if c not in panel.columns]
    if absent:
        raise EstimationError(
            f"model '{spec.name}': the panel has no column(s) {absent}. Add them to variables "
            "in the study config (config/studies/<study>.yaml) and rerun the clean step."
        )
    frame = panel[[ENTITY, TIME, *dict.fromkeys(base)]].copy()
    frame[TIME] = frame[TIME].astype("int64")
    for variable, max_lag in spec.distributed_lags:
        for lag in range(1, max_lag + 1):
            frame[lag_name(variable, lag)] = _lagged(frame, variable, lag)
    if spec.first_year is not None:
        frame = frame[frame[TIME] >= spec.first_year]
    if spec.last_year is not None:
        frame = frame[frame[TIME] <= spec.last_year]
    if frame.empty:
        raise EstimationError(
            f"model '{spec.name}': the panel has no rows in {spec.window}. Set "
            f"models.{spec.name}.first_year..last_year inside the study window."
        )
    empty = [c for c in dict.fromkeys(base) if frame[c].isna().all()]
    if empty:
        raise EstimationError(
            f"model '{spec.name}': {', '.join(empty)} has no value in "
            f"{spec.window} (all {len(frame)} rows missing). Check its "
            "source mapping and the data-quality report, or drop it from the model."
        )
    linear_terms = [t for t in design_terms(spec) if INTERACTION_SEPARATOR not in t]
    frame = frame[[ENTITY, TIME, spec.outcome, *dict.fromkeys(linear_terms)]].dropna()
    for first_variable, second_variable in spec.interactions:
        left, right = frame[first_variable], frame[second_variable]
        if spec.center_interactions:
            # Centring makes each main effect the slope at the other's sample mean.
            left, right = left - left.mean(), right - right.mean()
        frame[interaction_name(first_variable, second_variable)] = left * right
    return frame.set_index([ENTITY, TIME]).sort_index()


def _differenced(frame: pd.DataFrame) -> np.ndarray:
    """Rows of a (unit, year)-sorted frame whose unit has the previous calendar year: the
    rows first differences keep."""
    units = frame.index.get_level_values(ENTITY)
    years = frame.index.get_level_values(TIME).to_numpy()
    follows = (units[1:] == units[:-1]) & (np.diff(years) == 1)
    return np.concatenate([[False], follows])


def estimating_units(frame: pd.DataFrame, spec: ModelSpec) -> list[str]:
    """The units of a model frame (:func:`model_frame`) whose rows enter the estimating
    regression, sorted: first differences need a unit with two consecutive years, PPML
    drops a unit whose outcome is always zero (when it has unit effects), every other
    estimator uses each unit of the frame."""
    units = frame.index.get_level_values(ENTITY)
    if spec.estimator == "first_differences":
        units = units[_differenced(frame)]
    elif spec.estimator == "ppml":
        keep, _, _ = drop_all_zero_groups(
            frame[spec.outcome], spec.entity_effects, spec.time_effects
        )
        units = units[keep]
    return sorted(set(units.astype(str)))


def _estimating_rows(frame: pd.DataFrame, spec: ModelSpec) -> int:
    """Observations of the estimating regression: unit means for between, consecutive-year
    pairs for first differences, the complete rows otherwise."""
    if spec.estimator == "between":
        return int(frame.index.get_level_values(ENTITY).nunique())
    if spec.estimator == "first_differences":
        return int(_differenced(frame).sum())
    return len(frame)


def _absorbed_count(frame: pd.DataFrame, spec: ModelSpec) -> int:
    """Effects the estimating regression absorbs besides its coefficients: unit and year
    effects of fixed effects and PPML (one fewer when both, as one is collinear), year
    dummies of first differences (one per year of the differences; no constant)."""
    units = frame.index.get_level_values(ENTITY).nunique()
    years = frame.index.get_level_values(TIME)
    if spec.estimator in ABSORBING_ESTIMATORS:
        absorbed = units * spec.entity_effects + years.nunique() * spec.time_effects
        return absorbed - (spec.entity_effects and spec.time_effects)
    if spec.estimator == "first_differences" and spec.time_effects:
        return int(years[_differenced(frame)].nunique())
    return 0


def _coefficient_count(spec: ModelSpec) -> int:
    """Coefficients of the estimating regression: its terms plus the constant of pooled
    OLS, between and RE, and of PPML without effects (with effects it has none)."""
    ppml_constant = spec.estimator == "ppml" and not (spec.entity_effects or spec.time_effects)
    return len(design_terms(spec)) + int(spec.estimator in WITH_CONSTANT or ppml_constant)


def check_size(frame: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> None:
    """Refuse a complete-case sample too small for the model, saying why and what to do.

    A model needs at least two units, two years if it has unit effects, and positive
    residual degrees of freedom after its coefficients and absorbed effects (between
    has one observation per unit, first differences one per consecutive-year pair).
    """
    plural = unit_words(unit)[1]
    rows = len(frame)
    units = frame.index.get_level_values(ENTITY).nunique()
    years = frame.index.get_level_values(TIME).nunique()
    coefficients = _coefficient_count(spec)
    absorbed = _absorbed_count(frame, spec)
    residual = _estimating_rows(frame, spec) - coefficients - absorbed
    if units < 2:
        problem = f"it needs at least 2 {plural}"
    elif spec.entity_effects and years < 2:
        problem = "unit effects need at least 2 years"
    elif residual < 1:
        problem = (
            f"{coefficients} coefficient(s) and {absorbed} absorbed effect(s) leave "
            f"{residual} residual degrees of freedom"
            + (" (between has one observation per unit)" if spec.estimator == "between" else "")
        )
    else:
        return
    raise EstimationError(
        f"the panel is too small for model '{spec.name}': {rows} usable row(s) ({units} "
        f"{plural}, {years} year(s)) in {spec.window} with every "
        f"variable of the model present; {problem}. Widen study.first_year..study.last_year "
        f"(or models.{spec.name}.first_year..last_year), add {plural} or sources, use "
        f"data.cleaning.panel: unbalanced, or drop terms from models.{spec.name}."
    )


def check_jackknife_size(frame: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> None:
    """Refuse a jackknife by refits over more clusters than the model's cap allows.

    Leave-one-cluster-out refits cost clusters x rows, so this is the one step whose
    time grows faster than the panel; its cap says so instead of running for hours.
    """
    if spec.jackknife_max_clusters is None or not refits_per_cluster(
        spec.estimator, spec.covariance
    ):
        return
    clusters = frame.index.get_level_values(ENTITY).nunique()
    if clusters <= spec.jackknife_max_clusters:
        return
    plural = unit_words(unit)[1]
    raise EstimationError(
        f"model '{spec.name}': the leave-one-{unit}-out jackknife would refit the "
        f"{spec.estimator} model {clusters} times on about {len(frame)} rows each (its "
        f"time grows as {plural} x rows), over models.{spec.name}.jackknife_max_clusters "
        f"= {spec.jackknife_max_clusters}. With this many {plural} CV1 covers as well "
        f"(README, Models): set models.{spec.name}.covariance: clustered; or raise the "
        "cap if the time is worth it."
    )


def with_covariance(spec: ModelSpec, covariance: str) -> ModelSpec:
    """``spec`` with another covariance kind; kernel keys go if the kind takes none."""
    if covariance_kind(covariance).takes_kernel:
        return replace(spec, covariance=covariance)
    return replace(spec, covariance=covariance, kernel=None, bandwidth=None)


def check_model(spec: ModelSpec) -> None:
    """Refuse effects the estimator cannot take and a covariance it cannot use, with the
    start-up config check's own messages (one rule for config and Python API)."""
    where = f"models.{spec.name}"
    problems = effects_problems(where, spec.estimator, spec.entity_effects, spec.time_effects)
    problems += covariance_problems(
        where, spec.estimator, spec.covariance, spec.kernel, spec.bandwidth
    )
    if problems:
        raise EstimationError(" ".join(problems))


def model_covariance(spec: ModelSpec) -> CovarianceSpec:
    """The covariance a model asks for (bandwidth None: resolved per fit)."""
    return CovarianceSpec(spec.covariance, spec.kernel, spec.bandwidth, spec.small_sample)


def fit_model(
    panel: pd.DataFrame, spec: ModelSpec, covariance: str | None = None, unit: str = "city"
) -> FittedModel:
    """Fit one configured model; ``covariance`` overrides the configured kind."""
    if covariance is not None:
        spec = with_covariance(spec, covariance)
    check_model(spec)
    frame = model_frame(panel, spec)
    terms = design_terms(spec)
    exog = frame[terms].astype(float)
    if spec.estimator in WITH_CONSTANT:
        # linearmodels adds no constant itself; without it RE and pooled OLS are misspecified.
        exog.insert(len(terms), CONSTANT, 1.0)
    check_size(frame, spec, unit)
    check_jackknife_size(frame, spec, unit)
    check_outcome_varies(frame, spec)
    entity_effects, time_effects = spec.entity_effects, spec.time_effects
    covariance_spec = model_covariance(spec)
    dependent = frame[spec.outcome].astype(float)
    try:
        if spec.estimator == "ppml":
            fit = fit_ppml(dependent, exog, covariance_spec, entity_effects, time_effects, unit)
        else:
            fit = fit_linear(
                dependent, exog, spec.estimator, covariance_spec, entity_effects, time_effects
            )
        _check_clusters(fit, unit)
    except (EstimationError, CovarianceError) as error:
        raise EstimationError(f"model '{spec.name}': {error}") from error
    if fit.dropped_entities:
        LOGGER.info(
            "model '%s': dropped %d %s(s) whose outcome is always zero: %s",
            spec.name,
            len(fit.dropped_entities),
            unit,
            ", ".join(fit.dropped_entities),
        )
    years = frame.index.get_level_values(TIME)
    used = set(fit.fitted.index.get_level_values(0).astype(str))
    return FittedModel(
        spec=spec,
        fit=fit,
        unit=unit,
        first_year=int(years.min()),
        last_year=int(years.max()),
        lost_units=tuple(sorted(set(panel[ENTITY].astype(str)) - used)),
    )


def _check_clusters(fit: FitResult, unit: str) -> None:
    counts = SampleCounts(fit.nobs, len(fit.params), fit.n_entities, fit.n_periods)
    check_sample(fit.covariance, counts, unit)


def _inference(
    estimate: np.ndarray, std_error: np.ndarray, distribution: str, df: int | None
) -> dict[str, np.ndarray]:
    statistic = estimate / std_error
    if distribution == NORMAL:
        p_value = 2.0 * stats.norm.sf(np.abs(statistic))
        critical = stats.norm.ppf(0.5 + CONFIDENCE / 2.0)
    else:
        p_value = 2.0 * stats.t.sf(np.abs(statistic), df)
        critical = stats.t.ppf(0.5 + CONFIDENCE / 2.0, df)
    return {
        "statistic": statistic,
        "p_value": p_value,
        "ci_lower": estimate - critical * std_error,
        "ci_upper": estimate + critical * std_error,
    }


def _long_run_rows(fitted: FittedModel) -> list[dict[str, Any]]:
    rows = []
    for variable, max_lag in fitted.spec.distributed_lags:
        terms = [lag_name(variable, k) for k in range(max_lag + 1)]
        estimate, std_error = linear_combination(fitted.fit, terms)
        rows.append(
            {
                "term": variable + LONG_RUN_SUFFIX,
                "estimate": estimate,
                "std_error": std_error,
                "term_kind": "long_run_sum",
                "note": "sum of the coefficients on " + " + ".join(terms),
            }
        )
    return rows


def tidy(fitted: FittedModel) -> pd.DataFrame:
    """One row per reported term (and long-run sum): estimate, SE, test, p, 95 % CI and
    model-level statistics, covariance and corrections."""
    fit, spec = fitted.fit, fitted.spec
    terms = list(fit.reported_terms)
    rows: list[dict[str, Any]] = [
        {
            "term": term,
            "estimate": float(fit.params[term]),
            "std_error": float(fit.std_errors[term]),
            "term_kind": "coefficient",
            "note": "",
        }
        for term in terms
    ]
    rows.extend(_long_run_rows(fitted))
    frame = pd.DataFrame(rows)
    frame = frame.assign(
        **_inference(
            frame["estimate"].to_numpy(),
            frame["std_error"].to_numpy(),
            fit.correction.distribution,
            fit.correction.df,
        )
    )
    notes = []
    if fit.dropped_entities:
        notes.append(
            f"dropped {len(fit.dropped_entities)} {fitted.unit}(s) whose outcome is always "
            "zero: " + ", ".join(fit.dropped_entities)
        )
    others = [u for u in fitted.lost_units if u not in fit.dropped_entities]
    if others:
        shown = ", ".join(others[:NOTED_UNITS]) + (
            f" and {len(others) - NOTED_UNITS} more" if len(others) > NOTED_UNITS else ""
        )
        notes.append(
            f"{len(others)} {fitted.unit}(s) of the panel not in the sample: {shown} "
            "(data_quality/model_coverage.md says why)"
        )
    if fit.dropped_periods:
        notes.append(
            "dropped year(s) whose outcome is always zero: "
            + ", ".join(str(y) for y in fit.dropped_periods)
        )
    if spec.estimator == "first_differences" and spec.time_effects:
        notes.append("year effects enter the differenced equation as year dummies (not shown)")
    if spec.interactions and spec.center_interactions:
        notes.append("interaction terms are products of variables centred at sample means")
    model_note = "; ".join(notes)
    frame["note"] = [
        "; ".join(part for part in (row_note, model_note) if part) for row_note in frame["note"]
    ]
    statistics = fit.statistics
    frame = frame.assign(
        model=fitted.name,
        model_label=spec.label,
        estimator=spec.estimator,
        outcome=spec.outcome,
        nobs=fit.nobs,
        n_entities=fit.n_entities,
        n_periods=fit.n_periods,
        r2=statistics["r2"],
        r2_within=statistics["r2_within"],
        r2_overall=statistics["r2_overall"],
        r2_between=statistics["r2_between"],
        # check_model refused effects an estimator cannot take, so these are the ones used.
        entity_effects=spec.entity_effects,
        time_effects=spec.time_effects,
        cov_type=spec.covariance,
        cov_label=covariance_label(fit.covariance, fitted.unit),
        small_sample_correction=fit.correction.describe(),
        reference_distribution=fit.correction.distribution,
        df_inference=np.nan if fit.correction.df is None else float(fit.correction.df),
        correction_factor=fit.correction.factor,
        n_clusters=_cluster_count(fit),
        kernel=fit.covariance.resolved_kernel or "",
        bandwidth=np.nan if fit.covariance.bandwidth is None else float(fit.covariance.bandwidth),
        sample_first_year=fitted.first_year,
        sample_last_year=fitted.last_year,
        pseudo_r2=statistics.get("pseudo_r2", np.nan),
        log_likelihood=statistics.get("log_likelihood", np.nan),
        dropped_units=len(fitted.lost_units),
    )
    return frame[ESTIMATES_COLUMNS]


def _cluster_count(fit: FitResult) -> float:
    kind = fit.covariance.entry
    count = group_count(kind, fit.n_entities, fit.n_periods)
    return np.nan if count is None or not kind.reports_clusters else float(count)


RESIDUALS_COLUMNS = ["model", ENTITY, TIME, "fitted", "residual"]
# Estimators whose observations are (unit, year) rows; between's are unit means.
RESIDUAL_ESTIMATORS = ("pooled_ols", "fixed_effects", "random_effects", "first_differences", "ppml")


@dataclass(frozen=True)
class Estimates:
    """What the estimate step writes: tidy estimates and per-observation residuals."""

    table: pd.DataFrame
    residuals: pd.DataFrame


def model_residuals(fitted: FittedModel) -> pd.DataFrame:
    """One row per observation the model used: ``model, unit_id, year, fitted, residual``.

    Which residual each estimator has: pooled OLS and RE, y - Xb; fixed effects, the
    idiosyncratic residual y - Xb - estimated effects (fitted values include the
    effects); first differences, the residual of the differenced equation (fitted is the
    fitted change, ``year`` the later year of the pair); PPML, the response residual
    y - mu (fitted is the mean mu; the Pesaran CD test uses Pearson residuals instead).
    Between has no row per (unit, year) and writes none. Linear residuals are the
    library's ``resids`` and fitted values y - resids, whatever the covariance.
    """
    fit = fitted.fit
    frame = pd.DataFrame({"fitted": fit.fitted, "residual": fit.response_residuals})
    frame.index = frame.index.set_names([ENTITY, TIME])
    frame = frame.reset_index()
    frame.insert(0, "model", fitted.name)
    return frame.astype({ENTITY: str, TIME: "int64"})[RESIDUALS_COLUMNS]


def estimate_models(
    panel: pd.DataFrame, models: Mapping[str, ModelSpec], unit: str = "city"
) -> Estimates:
    """Fit every configured model: tidy estimates stacked in config order, and the
    residuals of every model but between (:func:`model_residuals`), sorted by model,
    unit and year."""
    fits = [fit_model(panel, spec, unit=unit) for spec in models.values()]
    residuals = [model_residuals(f) for f in fits if f.spec.estimator in RESIDUAL_ESTIMATORS]
    stacked = (
        pd.concat(residuals, ignore_index=True)
        if residuals
        else pd.DataFrame({column: [] for column in RESIDUALS_COLUMNS})
    )
    return Estimates(
        table=pd.concat([tidy(f) for f in fits], ignore_index=True),
        residuals=stacked.sort_values([*RESIDUALS_COLUMNS[:3]], kind="mergesort").reset_index(
            drop=True
        ),
    )


def _write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as temporary:
        frame.to_parquet(temporary, index=False, engine="pyarrow")


def write_estimates(
    estimates: Estimates,
    data_note: str,
    csv_path: str | Path,
    parquet_path: str | Path,
    residuals_path: str | Path,
) -> None:
    """Write the tidy estimates as CSV (12 significant digits) and parquet, and the
    residuals as parquet, each row carrying ``data_note``."""
    table = with_data_note(estimates.table, data_note)
    write_csv(csv_path, table)
    _write_parquet(parquet_path, table)
    _write_parquet(residuals_path, with_data_note(estimates.residuals, data_note))
