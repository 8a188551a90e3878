"""Estimate the specifications of a declared multiverse, many in one process.

The panel is prepared once (:func:`prepare_panel`): every outcome, every focal
definition and every control at every declared lag, by calendar year. A linear
specification is then a set of rows and columns of that frame: its rows are demeaned by
the within engine (:func:`innopanel.econometrics.within.absorb_effects`; the grand mean
without fixed effects, which is OLS with a constant), solved from the Gram matrix, and
its covariance is a sandwich of grouped scores
(:func:`innopanel.econometrics.covariance.score_meat`) times the stated
small-sample correction of :mod:`innopanel.econometrics.covariance` — the estimates and
standard errors of :func:`innopanel.econometrics.models.fit_model` (tests check it), at a
small fraction of the cost. A PPML specification is fitted by ``fit_model`` itself.

A specification that cannot be estimated (too few rows or clusters, a collinear or
absorbed term) is kept, with missing numbers and the reason in ``note``: the grid's
size never shrinks silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from innopanel.config.multiverse import (
    CHOICES,
    FIXED_EFFECTS,
    Multiverse,
    SampleChoice,
    Specification,
)
from innopanel.config.specs import ModelSpec
from innopanel.econometrics.covariance import (
    NORMAL,
    CovarianceError,
    CovarianceSpec,
    SampleCounts,
    automatic_bandwidth,
    check_sample,
    correction,
    score_meat,
)
from innopanel.econometrics.estimators import EstimationError
from innopanel.econometrics.models import (
    CONFIDENCE,
    ENTITY,
    TIME,
    check_unique_pairs,
    fit_model,
    tidy,
)
from innopanel.econometrics.within import WithinError, absorb_effects

#: Columns of specifications.parquet besides the choices (one row per specification and term).
ESTIMATE_COLUMNS = [
    "spec_id",
    *CHOICES,
    "estimator",
    "outcome_variable",
    "term",
    "role",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "ci_lower",
    "ci_upper",
    "critical_value",
    "reference_distribution",
    "df_inference",
    "nobs",
    "n_units",
    "n_periods",
    "note",
]
UNIT_INDEX = "unit_index"
FOCAL, CONTROL = "focal", "control"


class MultiverseEstimationError(ValueError):
    """The panel cannot carry the declared multiverse; the message says why and the fix."""


def column(variable: str, lag: int) -> str:
    """The prepared frame's column of ``variable`` lagged ``lag`` years."""
    return variable if lag == 0 else f"{variable}_lag{lag}"


@dataclass(frozen=True)
class Prepared:
    """The prepared frame, with the arrays every specification slices (read once)."""

    frame: pd.DataFrame
    years: np.ndarray
    unit_index: np.ndarray
    n_units: int
    _columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _samples: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Prepared:
        """Wrap a frame made by :func:`prepare_panel` (sorted by unit and year)."""
        unit_index = frame[UNIT_INDEX].to_numpy()
        return cls(frame, frame[TIME].to_numpy(), unit_index, int(unit_index.max()) + 1)

    def column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            self._columns[name] = self.frame[name].to_numpy(dtype=np.float64)
        return self._columns[name]

    def sample(self, sample: SampleChoice, study: Mapping[str, Any]) -> np.ndarray:
        """The rows a sample rule keeps, before complete cases (computed once per sample)."""
        if sample.name not in self._samples:
            self._samples[sample.name] = _sample_rows(self, sample, study)
        return self._samples[sample.name]


def _sample_rows(prepared: Prepared, sample: SampleChoice, study: Mapping[str, Any]) -> np.ndarray:
    frame, years = prepared.frame, prepared.years
    keep = (years >= sample.first_year) & (years <= sample.last_year)
    units = frame[ENTITY]
    if sample.drop_focal_and_peers:
        keep &= ~units.isin([study["focal_unit"], *study["peer_units"]]).to_numpy()
    if sample.drop_top:
        means = frame.loc[keep].groupby(ENTITY)[sample.top_by].mean()
        # Largest first, ties by unit id, so the same units go on every machine.
        ranked = means.reset_index().sort_values(
            [sample.top_by, ENTITY], ascending=[False, True], kind="mergesort"
        )
        keep &= ~units.isin(ranked[ENTITY].head(sample.drop_top)).to_numpy()
    return keep


def prepare_panel(panel: pd.DataFrame, multiverse: Multiverse) -> Prepared:
    """Every column the grid uses, at every declared lag, sorted by unit and year.

    ``unit_index`` numbers the panel's units in sorted order: the null draws give unit
    ``unit_index`` the same weight in every specification. Repeated (unit, year) pairs
    are refused, as by every model (:func:`innopanel.econometrics.models.check_unique_pairs`).
    """
    check_unique_pairs(panel, "multiverse")
    frame = panel[[ENTITY, TIME]].copy()
    frame[TIME] = frame[TIME].astype("int64")
    frame[ENTITY] = frame[ENTITY].astype(str)
    for outcome in multiverse.outcomes.values():
        frame[outcome.outcome] = panel[outcome.outcome].astype(float)
    tops = {s.top_by for s in multiverse.samples.values() if s.top_by is not None}
    for variable in tops:
        frame[variable] = panel[variable].astype(float)
    regressors: dict[str, pd.Series] = {}
    for focal in multiverse.focal.values():
        values = panel[focal.variable].astype(float)
        if focal.transform == "log":
            bad = panel.loc[values <= 0, [ENTITY, TIME]]
            if not bad.empty:
                first = bad.iloc[0]
                raise MultiverseEstimationError(
                    f"multiverse.focal.{focal.name}: log of {focal.variable} needs positive "
                    f"values, but {len(bad)} row(s) are <= 0 (first: {first[ENTITY]} "
                    f"{first[TIME]}); use transform: level or fix the data."
                )
            values = np.log(values)
        regressors[focal.term] = values
    for members in multiverse.control_sets.values():
        for control in members:
            regressors[control] = panel[control].astype(float)
    for name, values in regressors.items():
        frame[name] = values.to_numpy()
    for lag in (lag for lag in multiverse.lags if lag > 0):
        earlier = frame[[ENTITY, TIME, *regressors]].copy()
        earlier[TIME] = earlier[TIME] + lag
        earlier.columns = [ENTITY, TIME, *(column(name, lag) for name in regressors)]
        frame = frame.merge(earlier, on=[ENTITY, TIME], how="left")
    frame = frame.sort_values([ENTITY, TIME], kind="mergesort").reset_index(drop=True)
    frame[UNIT_INDEX] = pd.factorize(frame[ENTITY], sort=True)[0]
    return Prepared.of(frame)


@dataclass(frozen=True)
class Design:
    """One specification's rows and columns of the prepared frame."""

    rows: np.ndarray
    outcome: str
    terms: tuple[str, ...]
    entity_effects: bool
    time_effects: bool


def design(
    prepared: Prepared, multiverse: Multiverse, spec: Specification, study: Mapping[str, Any]
) -> Design:
    """The rows (complete, in the sample) and columns of ``spec``."""
    outcome = multiverse.outcomes[spec.outcome]
    focal = multiverse.focal[spec.focal]
    terms = (
        column(focal.term, spec.lag),
        *(column(c, spec.lag) for c in multiverse.control_sets[spec.controls]),
    )
    sample = multiverse.samples[spec.sample]
    keep = prepared.sample(sample, study).copy()
    for name in (outcome.outcome, *terms):
        keep &= ~np.isnan(prepared.column(name))
    if sample.balanced:
        window = np.unique(prepared.years[keep]).size
        counts = np.bincount(prepared.unit_index[keep], minlength=prepared.n_units)
        keep &= counts[prepared.unit_index] == window
    entity_effects, time_effects = FIXED_EFFECTS[spec.fixed_effects]
    return Design(np.flatnonzero(keep), outcome.outcome, terms, entity_effects, time_effects)


@dataclass(frozen=True)
class LinearFit:
    """A fitted linear specification, with what the null draws reuse."""

    design: Design
    params: np.ndarray
    std_errors: np.ndarray
    covariance: CovarianceSpec
    factor: float
    critical: float
    distribution: str
    df: int | None
    nobs: int
    units: np.ndarray  # local unit code of each row
    periods: np.ndarray  # local period code of each row (periods in year order)
    global_units: np.ndarray  # unit_index of each local unit
    demeaned: np.ndarray  # rows x (1 + k): outcome then terms, effects removed
    inverse_gram: np.ndarray


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(values, return_inverse=True)
    return codes, uniques


def fit_linear_specification(prepared: Prepared, spec: Specification, found: Design) -> LinearFit:
    """Fit a linear specification on its rows; raise EstimationError when it cannot be."""
    rows = found.rows
    units, unit_ids = _codes(prepared.unit_index[rows])
    periods, years = _codes(prepared.years[rows])
    k = len(found.terms)
    data = np.empty((len(rows), k + 1), order="F")
    for position, name in enumerate((found.outcome, *found.terms)):
        data[:, position] = prepared.column(name)[rows]
    has_constant = not (found.entity_effects or found.time_effects)
    covariance = CovarianceSpec(spec.covariance)
    if covariance.entry.takes_kernel:
        covariance = CovarianceSpec(spec.covariance, bandwidth=automatic_bandwidth(len(years)))
    counts = SampleCounts(
        nobs=len(rows),
        n_terms=k + has_constant,
        n_entities=len(unit_ids),
        n_periods=len(years),
        entity_effects=found.entity_effects,
        time_effects=found.time_effects,
        has_constant=has_constant,
    )
    if len(rows) <= counts.n_terms or len(unit_ids) < 2:
        raise EstimationError(f"{len(rows)} rows of {len(unit_ids)} unit(s) are too few.")
    check_sample(covariance, counts)
    fix = correction(covariance, counts)
    raw_norms = np.linalg.norm(data[:, 1:], axis=0)
    if has_constant:
        data -= data.mean(axis=0)
    else:
        absorb_effects(data, units, periods, found.entity_effects, found.time_effects)
    left = np.linalg.norm(data[:, 1:], axis=0)
    if not (left >= 1e-5 * raw_norms).all():
        raise EstimationError("a term does not vary once the fixed effects are removed.")
    x = data[:, 1:]
    gram = x.T @ x
    scale = 1 / np.sqrt(np.diag(gram))
    scaled = gram * np.outer(scale, scale)
    if np.linalg.cond(scaled) > 1e12:
        raise EstimationError("the terms are collinear once the fixed effects are removed.")
    inverse = np.linalg.inv(scaled) * np.outer(scale, scale)
    params = inverse @ (x.T @ data[:, 0])
    residuals = data[:, 0] - x @ params
    meat = score_meat(x * residuals[:, None], units, periods, spec.covariance, covariance.bandwidth)
    cov = fix.factor * (inverse @ meat @ inverse)
    variances = np.diag(cov)
    if not (variances > 0).all():
        raise EstimationError("the covariance has a non-positive variance on this sample.")
    quantile = 0.5 + CONFIDENCE / 2
    critical = (
        stats.norm.ppf(quantile) if fix.distribution == NORMAL else stats.t.ppf(quantile, fix.df)
    )
    return LinearFit(
        design=found,
        params=params,
        std_errors=np.sqrt(variances),
        covariance=covariance,
        factor=fix.factor,
        critical=float(critical),
        distribution=fix.distribution,
        df=fix.df,
        nobs=len(rows),
        units=units,
        periods=periods,
        global_units=unit_ids,
        demeaned=data,
        inverse_gram=inverse,
    )


def _rows(
    spec: Specification,
    multiverse: Multiverse,
    terms: Sequence[str],
    values: dict[str, Any],
    note: str = "",
) -> list[dict[str, Any]]:
    outcome = multiverse.outcomes[spec.outcome]
    common = {
        "spec_id": spec.id,
        **spec.choices,
        "estimator": outcome.estimator,
        "outcome_variable": outcome.outcome,
        "note": note,
    }
    return [
        {
            **common,
            "term": term,
            "role": FOCAL if position == 0 else CONTROL,
            **{
                key: value[position] if isinstance(value, np.ndarray) else value
                for key, value in values.items()
            },
        }
        for position, term in enumerate(terms)
    ]


def _linear_rows(
    fit: LinearFit, spec: Specification, multiverse: Multiverse
) -> list[dict[str, Any]]:
    statistic = fit.params / fit.std_errors
    if fit.distribution == NORMAL:
        p_value = 2 * stats.norm.sf(np.abs(statistic))
    else:
        p_value = 2 * stats.t.sf(np.abs(statistic), fit.df)
    return _rows(
        spec,
        multiverse,
        fit.design.terms,
        {
            "estimate": fit.params,
            "std_error": fit.std_errors,
            "statistic": statistic,
            "p_value": p_value,
            "ci_lower": fit.params - fit.critical * fit.std_errors,
            "ci_upper": fit.params + fit.critical * fit.std_errors,
            "critical_value": fit.critical,
            "reference_distribution": fit.distribution,
            "df_inference": np.nan if fit.df is None else float(fit.df),
            "nobs": fit.nobs,
            "n_units": len(fit.global_units),
            "n_periods": int(fit.periods.max()) + 1,
        },
    )


def model_for(found: Design, estimator: str, covariance: str, name: str) -> ModelSpec:
    """The :class:`ModelSpec` that fits a specification's design with ``fit_model``
    (on its own rows, so the model keeps every year it is given)."""
    return ModelSpec(
        name=name,
        label=name,
        estimator=estimator,
        outcome=found.outcome,
        regressors=found.terms[:1],
        controls=found.terms[1:],
        covariance=covariance,
        entity_effects=found.entity_effects,
        time_effects=found.time_effects,
        small_sample=True,
        kernel=None,
        bandwidth=None,
        distributed_lags=(),
        interactions=(),
        center_interactions=False,
        first_year=None,
        last_year=None,
    )


def _ppml_rows(
    prepared: Prepared, spec: Specification, found: Design, multiverse: Multiverse, unit: str
) -> list[dict[str, Any]]:
    """A PPML specification, fitted by fit_model on its own rows."""
    model = model_for(found, "ppml", spec.covariance, spec.id)
    table = tidy(fit_model(prepared.frame.iloc[found.rows], model, unit=unit))
    table = table.set_index("term").loc[list(found.terms)]
    quantile = 0.5 + CONFIDENCE / 2
    df = table["df_inference"].iloc[0]
    critical = stats.norm.ppf(quantile) if np.isnan(df) else stats.t.ppf(quantile, df)
    values = {
        key: table[key].to_numpy()
        for key in ("estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper")
    }
    return _rows(
        spec,
        multiverse,
        found.terms,
        {
            **values,
            "critical_value": float(critical),
            "reference_distribution": table["reference_distribution"].iloc[0],
            "df_inference": float(df),
            "nobs": int(table["nobs"].iloc[0]),
            "n_units": int(table["n_entities"].iloc[0]),
            "n_periods": int(table["n_periods"].iloc[0]),
        },
    )


def _failed_rows(
    spec: Specification, multiverse: Multiverse, found: Design, reason: str
) -> list[dict[str, Any]]:
    missing = {key: np.nan for key in ESTIMATE_COLUMNS[len(CHOICES) + 5 : -1]}
    missing["reference_distribution"] = ""
    return _rows(spec, multiverse, found.terms, missing, note=f"not estimated: {reason}")


def estimate_chunk(
    prepared: Prepared,
    multiverse: Multiverse,
    specifications: Sequence[Specification],
    study: Mapping[str, Any],
) -> pd.DataFrame:
    """One row per specification and term of ``specifications`` (a chunk of the grid)."""
    rows: list[dict[str, Any]] = []
    for spec in specifications:
        found = design(prepared, multiverse, spec, study)
        try:
            if multiverse.outcomes[spec.outcome].estimator == "ppml":
                rows += _ppml_rows(prepared, spec, found, multiverse, study["unit"])
            else:
                fit = fit_linear_specification(prepared, spec, found)
                rows += _linear_rows(fit, spec, multiverse)
        except (EstimationError, CovarianceError, WithinError, np.linalg.LinAlgError) as error:
            rows += _failed_rows(spec, multiverse, found, str(error))
    table = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    return table.astype({"lag": "int64", "nobs": "float64", "n_units": "float64"})
