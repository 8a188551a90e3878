"""Fast, exact within estimation of panel models with entity and/or time effects.

The estimates and covariances are linearmodels' ``PanelOLS`` ones, to rounding
(tests/test_within.py checks 1e-8 on balanced and unbalanced panels), at a fraction
of the time and memory on large panels. linearmodels absorbs the larger set of
effects by demeaning and regresses the result on a dense n x (T-1) matrix of
demeaned dummies for the smaller set; this module solves the same
Frisch-Waugh-Lovell problem without that matrix:

1. demean every column by the larger grouping ``a`` (exact: group sums by bincount);
2. the demeaned dummies ``W = M_a D`` of the smaller grouping ``d`` enter only
   through ``W'W = diag(counts_d) - B' diag(1/counts_a) B`` (``B`` the a x d
   incidence counts) and ``W'v = D'(M_a v)`` (group sums again), so the projection
   on ``W`` is a small T x T solve (a pseudo-inverse, so disconnected panels work);
3. subtract ``W Pi`` column by column, which leaves the two-way demeaned data.

Regressors are then solved from their Gram matrix, scaled to unit diagonal so that
units of measurement do not affect precision. Covariances follow linearmodels
exactly: ``debiased`` scales by n/(n-k-extra_df), ``group_debias`` by
G/(G-1)*(n-1)/n, ``count_effects`` decides whether extra_df counts the absorbed
effects (linearmodels' count: N + T - 1 for two-way), and ``auto_df`` applies
linearmodels' rule (effects nested in the clusters are not counted).

Work is done in one n x (k+1) float array plus a few n-vectors at a time, so
the peak memory stays near the size of the data (benchmarks/within.py measures it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from innopanel.econometrics.absorption import pseudo_inverse

#: A column is absorbed by the effects when less than this share of its norm is
#: left after demeaning (linearmodels' tolerance).
ABSORBED_TOLERANCE = 1e-5
#: Regressors are collinear when the scaled Gram matrix is this ill-conditioned.
COLLINEARITY_LIMIT = 1e12
#: The a x d incidence counts are built dense while they need at most this many
#: cells per observation; sparser (very unbalanced) panels use a sparse product.
DENSE_INCIDENCE_CELLS_PER_OBSERVATION = 8
COVARIANCE_TYPES = ("unadjusted", "robust", "clustered")


class WithinError(ValueError):
    """The model cannot be estimated as specified; the message says why and the fix."""


@dataclass(frozen=True)
class WithinResult:
    """A fitted within model, with the attributes of linearmodels' results that
    innopanel reads (params, std_errors, tstats, pvalues, conf_int, cov, s2, nobs,
    resids, entity_info, time_info and the four R² measures)."""

    params: pd.Series
    cov: pd.DataFrame
    resids: pd.Series
    nobs: int
    df_resid: int
    df_model: int
    debiased: bool
    s2: float
    rsquared: float
    rsquared_within: float
    rsquared_overall: float
    rsquared_between: float
    entity_info: Mapping[str, float]
    time_info: Mapping[str, float]
    cov_type: str
    extra_df: int
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), self.params.index, name="std_error")

    @property
    def tstats(self) -> pd.Series:
        return pd.Series(self.params / self.std_errors, name="tstat")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from t(df_resid) if debiased, else the normal."""
        magnitude = np.abs(self.tstats.to_numpy())
        if self.debiased:
            values = 2 * stats.t.sf(magnitude, self.df_resid)
        else:
            values = 2 * stats.norm.sf(magnitude)
        return pd.Series(values, self.params.index, name="pvalue")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals with columns lower and upper, as linearmodels."""
        quantiles = np.array([(1 - level) / 2, 1 - (1 - level) / 2])
        if self.debiased:
            critical = stats.t.ppf(quantiles, self.df_resid)
        else:
            critical = stats.norm.ppf(quantiles)
        interval = self.params.to_numpy()[:, None] + self.std_errors.to_numpy()[:, None] * critical
        return pd.DataFrame(interval, index=self.params.index, columns=["lower", "upper"])


def fit_within(
    dependent: pd.Series | pd.DataFrame, exog: pd.DataFrame, **options: Any
) -> WithinResult:
    """Fit ``PanelOLS(dependent, exog, entity_effects, time_effects).fit(**fit_options)``.

    ``dependent`` and ``exog`` carry an (entity, time) MultiIndex, as linearmodels
    needs. ``options`` take linearmodels' names, meanings and defaults:
    entity_effects=False, time_effects=False (the model's), and cov_type="unadjusted"
    (or "robust", "clustered"), debiased=True, cluster_entity=False,
    group_debias=False, count_effects=True, auto_df=True (the fit's). Rows missing
    any value are dropped first, as linearmodels does.
    """
    if not isinstance(dependent.index, pd.MultiIndex) or dependent.index.nlevels != 2:
        raise WithinError(
            "fit_within needs data indexed by (entity, time): set_index([entity, time])."
        )
    if not dependent.index.equals(exog.index):
        raise WithinError("dependent and exog must share one (entity, time) index.")
    outcome = dependent if isinstance(dependent, pd.Series) else dependent.iloc[:, 0]
    columns = [outcome.to_numpy(dtype=np.float64), *_float_columns(exog)]
    index = dependent.index
    return _fit(
        columns,
        [str(name) for name in exog.columns],
        np.asarray(index.codes[0], dtype=np.int64),
        np.asarray(index.codes[1], dtype=np.int64),
        index,
        **options,
    )


def fit_within_frame(
    frame: pd.DataFrame,
    outcome: str,
    regressors: Sequence[str],
    entity: str,
    time: str,
    **options: Any,
) -> WithinResult:
    """As :func:`fit_within`, from a flat frame with entity and time columns.

    Saves building a MultiIndex on large panels; ``options`` are fit_within's.
    """
    missing = [c for c in (outcome, *regressors, entity, time) if c not in frame.columns]
    if missing:
        raise WithinError(f"the frame has no column(s) {missing}; check the model's terms.")
    codes = []
    for name in (entity, time):
        ids, _ = pd.factorize(frame[name], sort=False)
        codes.append(np.asarray(ids, dtype=np.int64))
    columns = [frame[outcome].to_numpy(dtype=np.float64), *_float_columns(frame[list(regressors)])]
    return _fit(columns, list(regressors), codes[0], codes[1], frame.index, **options)


def _float_columns(frame: pd.DataFrame) -> list[np.ndarray]:
    return [frame[name].to_numpy(dtype=np.float64) for name in frame.columns]


@dataclass
class _Grouping:
    """Compact integer codes of one set of effects, with the count of each level."""

    codes: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> _Grouping:
        counts = np.bincount(codes)
        if (counts == 0).any():
            # Levels left unused by dropped rows would divide by zero: renumber.
            used = counts > 0
            codes = (np.cumsum(used) - 1)[codes]
            counts = counts[used]
        return cls(codes, counts.astype(np.float64))

    @property
    def size(self) -> int:
        return len(self.counts)

    def sums(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=values, minlength=self.size)

    def means(self, values: np.ndarray) -> np.ndarray:
        return self.sums(values) / self.counts

    def demean(self, column: np.ndarray) -> None:
        """Subtract each group's mean from ``column`` in place."""
        column -= self.means(column)[self.codes]


def _fit(
    columns: list[np.ndarray],
    terms: list[str],
    entity_codes: np.ndarray,
    time_codes: np.ndarray,
    index: pd.Index,
    *,
    entity_effects: bool = False,
    time_effects: bool = False,
    cov_type: str = "unadjusted",
    debiased: bool = True,
    cluster_entity: bool = False,
    group_debias: bool = False,
    count_effects: bool = True,
    auto_df: bool = True,
) -> WithinResult:
    """Fit on float columns (outcome first), integer entity and time codes, and the
    rows' index (which labels the residuals)."""
    if cov_type not in COVARIANCE_TYPES:
        raise WithinError(f"cov_type '{cov_type}' is not one of {list(COVARIANCE_TYPES)}.")
    if cov_type == "clustered" and not cluster_entity:
        raise WithinError("clustered covariance is supported by entity: pass cluster_entity=True.")
    if not (entity_effects or time_effects):
        raise WithinError("a within model needs entity_effects or time_effects.")
    if (entity_codes < 0).any() or (time_codes < 0).any():
        raise WithinError("entity or time ids are missing in some rows; drop or fill them.")
    if not terms:
        raise WithinError("a within model needs at least one regressor.")

    complete = np.ones(len(entity_codes), dtype=bool)
    for column in columns:
        complete &= ~np.isnan(column)
    all_complete = bool(complete.all())
    nobs = int(complete.sum())
    data = np.empty((nobs, len(columns)), order="F")
    for j, column in enumerate(columns):
        data[:, j] = column if all_complete else column[complete]
    entity = _Grouping.from_codes(entity_codes if all_complete else entity_codes[complete])
    time = _Grouping.from_codes(time_codes if all_complete else time_codes[complete])
    k = len(terms)
    n_effects = (
        entity.size * entity_effects + time.size * time_effects - (entity_effects and time_effects)
    )
    if nobs <= k + n_effects:
        raise WithinError(
            f"{nobs} complete observations are too few for {k} regressors and "
            f"{n_effects} absorbed effects; add data or drop terms."
        )
    raw_norms = np.sqrt(np.einsum("ij,ij->j", data, data))

    if entity_effects and time_effects:
        larger, smaller = (entity, time) if entity.size >= time.size else (time, entity)
        _demean_two_way(data, larger, smaller)
    else:
        grouping = entity if entity_effects else time
        for j in range(data.shape[1]):
            grouping.demean(data[:, j])

    _check_absorbed(data[:, 1:], raw_norms[1:], terms)
    gram = data.T @ data
    params, gram_inverse = _solve(gram, terms)
    residuals = data[:, 0] - data[:, 1:] @ params
    residual_ss = float(residuals @ residuals)

    if auto_df:
        count_effects = _count_effects_automatically(
            cov_type, entity_effects, time_effects, entity, time
        )
    extra_df = n_effects if count_effects else 0
    effective = nobs - extra_df - (k if debiased else 0)
    if effective <= 0:
        raise WithinError(
            f"no residual degrees of freedom: {nobs} observations, {k} regressors and "
            f"{extra_df} effects counted."
        )
    scale = nobs / effective
    s2 = scale * residual_ss / nobs
    if cov_type == "unadjusted":
        covariance = s2 * gram_inverse
    else:
        meat = _meat(data[:, 1:], residuals, entity if cov_type == "clustered" else None)
        if cov_type == "clustered" and group_debias:
            meat *= entity.size / (entity.size - 1) * (nobs - 1) / nobs
        covariance = scale * (gram_inverse @ meat @ gram_inverse)
    covariance = (covariance + covariance.T) / 2

    r2_overall, r2_within, r2_between, outcome_ss = _raw_rsquared(
        columns, None if all_complete else complete, params, entity
    )
    return WithinResult(
        params=pd.Series(params, index=terms, name="parameter"),
        cov=pd.DataFrame(covariance, index=terms, columns=terms),
        # Residuals of the demeaned regression, as linearmodels' resids.
        resids=pd.Series(
            residuals, index=index if all_complete else index[complete], name="residual"
        ),
        nobs=nobs,
        df_resid=nobs - k - n_effects,
        df_model=k + n_effects,
        debiased=debiased,
        s2=s2,
        rsquared=r_squared(residual_ss, float(gram[0, 0]), outcome_ss, nobs),
        rsquared_within=r2_within,
        rsquared_overall=r2_overall,
        rsquared_between=r2_between,
        entity_info=_group_info(entity),
        time_info=_group_info(time),
        cov_type=cov_type,
        extra_df=extra_df,
        options={
            "entity_effects": entity_effects,
            "time_effects": time_effects,
            "cov_type": cov_type,
            "debiased": debiased,
            "cluster_entity": cluster_entity,
            "group_debias": group_debias,
            "count_effects": count_effects,
        },
    )


def _demean_two_way(data: np.ndarray, larger: _Grouping, smaller: _Grouping) -> None:
    """Remove both sets of effects from every column of ``data`` in place."""
    for j in range(data.shape[1]):
        larger.demean(data[:, j])
    # D'(M_a v) for every column: the smaller grouping's sums of the demeaned data.
    cross = np.column_stack([smaller.sums(data[:, j]) for j in range(data.shape[1])])
    dummy_gram = np.diag(smaller.counts) - _incidence_gram(larger, smaller)
    projection = pseudo_inverse(dummy_gram) @ cross
    for j in range(data.shape[1]):
        # Subtract M_a D Pi_j: spread Pi_j to rows, demean it by the larger grouping.
        fitted = projection[smaller.codes, j]
        larger.demean(fitted)
        data[:, j] -= fitted


def _incidence_gram(larger: _Grouping, smaller: _Grouping) -> np.ndarray:
    """Return B' diag(1/counts_a) B for the a x d incidence counts B."""
    cells = larger.size * smaller.size
    if cells <= DENSE_INCIDENCE_CELLS_PER_OBSERVATION * len(larger.codes):
        incidence = np.bincount(
            larger.codes * smaller.size + smaller.codes, minlength=cells
        ).reshape(larger.size, smaller.size)
        incidence = incidence.astype(np.float64)
        return (incidence / larger.counts[:, None]).T @ incidence
    incidence_sparse = sparse.csr_array(
        (np.ones(len(larger.codes)), (larger.codes, smaller.codes)),
        shape=(larger.size, smaller.size),
    )
    weighted = sparse.diags_array(1 / larger.counts) @ incidence_sparse
    return (incidence_sparse.T @ weighted).toarray()


def _solve(gram: np.ndarray, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return the coefficients and (X'X)^-1 from the Gram matrix of [y, X]."""
    xx = gram[1:, 1:]
    scale = 1 / np.sqrt(np.diag(xx))
    scaled = xx * scale[:, None] * scale[None, :]
    condition = np.linalg.cond(scaled)
    if not np.isfinite(condition) or condition > COLLINEARITY_LIMIT:
        raise WithinError(
            f"the regressors {terms} are collinear once the effects are removed "
            f"(condition number {condition:.3g}); drop one of them."
        )
    scaled_inverse = np.linalg.inv(scaled)
    inverse = scaled_inverse * scale[:, None] * scale[None, :]
    params = inverse @ gram[1:, 0]
    return params, inverse


def _check_absorbed(regressors: np.ndarray, raw_norms: np.ndarray, terms: list[str]) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.linalg.norm(regressors, axis=0) / raw_norms
    absorbed = [
        term for term, share in zip(terms, left, strict=True) if not share >= ABSORBED_TOLERANCE
    ]
    if absorbed:
        raise WithinError(
            f"regressor(s) {absorbed} do not vary once the fixed effects are removed "
            "(absorbed by the effects); drop them from the model."
        )


def _meat(regressors: np.ndarray, residuals: np.ndarray, clusters: _Grouping | None) -> np.ndarray:
    """Sum of outer products of the scores x_i e_i, by observation or by cluster."""
    k = regressors.shape[1]
    if clusters is None:
        scores = regressors * residuals[:, None]
        return scores.T @ scores
    sums = np.empty((clusters.size, k))
    for j in range(k):
        sums[:, j] = clusters.sums(regressors[:, j] * residuals)
    return sums.T @ sums


def _count_effects_automatically(
    cov_type: str, entity_effects: bool, time_effects: bool, entity: _Grouping, time: _Grouping
) -> bool:
    """linearmodels' auto_df: one set of effects nested in the clusters is not counted."""
    if cov_type != "clustered" or (entity_effects and time_effects):
        return True
    if entity_effects:
        return False
    # Time effects are nested in entity clusters only if each period has one entity.
    first_entity = np.full(time.size, -1)
    first_entity[time.codes[::-1]] = entity.codes[::-1]
    return not bool((first_entity[time.codes] == entity.codes).all())


def r_squared(residual_ss: float, total_ss: float, outcome_ss: float, nobs: int) -> float:
    """1 - RSS/TSS, or NaN where TSS is rounding error (linearmodels' rule)."""
    if total_ss <= (max(nobs, 100) * np.finfo(float).eps) ** 2 * outcome_ss:
        return float("nan")
    return float(1 - residual_ss / total_ss)


def _group_info(grouping: _Grouping) -> dict[str, float]:
    counts = grouping.counts
    return {
        "total": float(grouping.size),
        "mean": float(counts.mean()),
        "median": float(np.median(counts)),
        "min": float(counts.min()),
        "max": float(counts.max()),
    }


def _raw_rsquared(
    columns: list[np.ndarray], rows: np.ndarray | None, params: np.ndarray, entity: _Grouping
) -> tuple[float, float, float, float]:
    """Overall, within-entity and between R² of ``params`` on the raw data, and y'y.

    ``columns`` are the outcome then the regressors; ``rows`` selects the complete ones.

    linearmodels' definitions for a model without a constant: the overall and
    between R² use uncentred total sums of squares. Residuals are formed from the
    data, not from Gram matrices, so large means cost no precision.
    """
    # The raw columns are read again (one at a time) rather than kept, to save memory.
    outcome = columns[0] if rows is None else columns[0][rows]
    residuals = outcome.copy()
    for coefficient, column in zip(params, columns[1:], strict=True):
        residuals -= coefficient * (column if rows is None else column[rows])
    outcome_ss = float(outcome @ outcome)
    nobs = len(outcome)
    overall = r_squared(float(residuals @ residuals), outcome_ss, outcome_ss, nobs)
    residual_means = entity.means(residuals)
    outcome_means = entity.means(outcome)
    between_ss = float(outcome_means @ outcome_means)
    between = r_squared(float(residual_means @ residual_means), between_ss, between_ss, entity.size)
    residuals -= residual_means[entity.codes]
    demeaned_outcome = outcome - outcome_means[entity.codes]
    within = r_squared(
        float(residuals @ residuals),
        float(demeaned_outcome @ demeaned_outcome),
        outcome_ss,
        nobs,
    )
    return overall, within, between, outcome_ss


def absorb_effects(
    data: np.ndarray,
    entity_codes: np.ndarray,
    time_codes: np.ndarray,
    entity_effects: bool,
    time_effects: bool,
) -> None:
    """Remove unit and/or year effects from every column of the float array ``data`` in
    place, exactly as the fit does (the multiverse demeans many columns with it)."""
    entity, time = _Grouping.from_codes(entity_codes), _Grouping.from_codes(time_codes)
    if entity_effects and time_effects:
        larger, smaller = (entity, time) if entity.size >= time.size else (time, entity)
        _demean_two_way(data, larger, smaller)
        return
    grouping = entity if entity_effects else time
    for j in range(data.shape[1]):
        grouping.demean(data[:, j])
