"""Inference for the specification curve as a whole (Simonsohn, Simmons and Nelson 2020).

Three statistics summarise the curve of focal estimates: the median estimate, the share
of estimates significant at 5 % of each sign, and the mean t-statistic. Each is compared
with its distribution in a world where the focal effect is zero in every specification.

The null world is built by a wild cluster bootstrap with the null imposed (the
"restricted" WCR bootstrap of Cameron, Gelbach and Miller 2008): per specification, the
model without the focal term gives fitted values and residuals e0; draw b gives every
unit g one weight v_gb (Rademacher or Webb) and sets y*_b = fitted + v_g(i)b * e0_i.
The same v_b serves every specification, so a draw is one common null world. Weights
come from ``numpy.random.default_rng([seed, b])``: draw b is the same on any machine and
in any chunking.

Everything a draw changes is linear in v_b, so nothing is re-fitted: the focal estimate
is ``h' v_b`` with h_g = sum over unit g's rows of c_i e0_i, ``c`` the focal row of the
least-squares operator, and its raw variance is the quadratic form ``v_b' Q v_b``, where
Q is the same sandwich meat (:func:`innopanel.econometrics.covariance.score_meat`) taken
of the scores ``c_i * Z_i`` and ``Z = M diag(e0) S`` is the residual-maker applied to
e0 spread over unit columns. One small G x G matrix per specification serves every draw.
(With every weight 1 the draw is the data itself: the tests check that h'1 and 1'Q1
give the estimate and variance of the fit.)

Z (rows x G) and Q (G x G) grow with the square of the data: 20,000 units over 3 years
would need 9 GiB. They are built only while rows x G + G x G stays within
:data:`DENSE_NULL_CELLS`; above it, each block of :data:`NULL_DRAW_BLOCK` draws is
redrawn directly, the variance of draw b being the meat of the scores c_i * (M (e0 v_b))_i
(the same quadratic form, one column at a time), in memory proportional to the rows.

PPML specifications are fitted one at a time and are not redrawn: the joint tests are
over the linear specifications, and the table says how many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innopanel.config.multiverse import Multiverse, Specification
from innopanel.econometrics.covariance import (
    CovarianceError,
    group_sums,
    score_meat,
    score_variances,
)
from innopanel.econometrics.estimators import EstimationError
from innopanel.econometrics.multiverse import (
    FOCAL,
    LinearFit,
    Prepared,
    design,
    fit_linear_specification,
)
from innopanel.econometrics.within import WithinError, absorb_effects

WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
JOINT_TESTS_COLUMNS = [
    "statistic",
    "observed",
    "null_median",
    "null_p95",
    "p_value",
    "alternative",
    "specifications",
    "draws",
]
NULL_COLUMNS = ["draw", "median_estimate", "share_positive", "share_negative", "mean_statistic"]
#: The most cells (rows x units + units x units) of the dense Z and Q of one specification
#: (8 bytes each: 32 MB); a larger specification's draws are redrawn block by block.
DENSE_NULL_CELLS = 4_000_000
#: Draws redrawn at once without Q: a few arrays of rows x this many cells.
NULL_DRAW_BLOCK = 64


def null_weights(seed: int, draws: Sequence[int], n_units: int, kind: str) -> np.ndarray:
    """The n_units x len(draws) weights; column b depends on (seed, draw index) only."""
    columns = []
    for draw in draws:
        rng = np.random.default_rng([seed, draw])
        if kind == "rademacher":
            columns.append(rng.integers(0, 2, size=n_units) * 2.0 - 1.0)
        else:
            columns.append(WEBB[rng.integers(0, len(WEBB), size=n_units)])
    return np.column_stack(columns) if columns else np.empty((n_units, 0))


@dataclass(frozen=True)
class MeatVariance:
    """The raw variance of each draw as v' Q v, Q the G x G meat of the scores of Z."""

    meat: np.ndarray

    def __call__(self, local: np.ndarray) -> np.ndarray:
        return np.einsum("gb,gb->b", local, self.meat @ local)


@dataclass(frozen=True)
class RedrawVariance:
    """The raw variance of each draw from its own scores c_i * (M (e0 v_b))_i, a block
    of draws at a time: nothing of size rows x units or units x units is held."""

    fit: LinearFit
    restricted: np.ndarray  # e0
    focal_row: np.ndarray  # c
    kind: str

    def __call__(self, local: np.ndarray) -> np.ndarray:
        fit = self.fit
        variances = np.empty(local.shape[1])
        for start in range(0, local.shape[1], NULL_DRAW_BLOCK):
            block = slice(start, start + NULL_DRAW_BLOCK)
            redrawn = np.asfortranarray(self.restricted[:, None] * local[fit.units, block])
            scores = self.focal_row[:, None] * residuals_of(fit, redrawn)
            variances[block] = score_variances(
                scores, fit.units, fit.periods, self.kind, fit.covariance.bandwidth
            )
        return variances


@dataclass(frozen=True)
class NullOperator:
    """What one specification's focal estimate and variance are as functions of v."""

    units: np.ndarray  # global unit index of each local unit
    loading: np.ndarray  # h: the estimate is h' v
    variance: MeatVariance | RedrawVariance  # the raw variance of each column of v
    factor: float
    critical: float

    def draws(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The focal estimate and t-statistic in each column of ``weights``."""
        local = weights[self.units]
        estimates = self.loading @ local
        variances = self.factor * self.variance(local)
        with np.errstate(invalid="ignore", divide="ignore"):
            return estimates, estimates / np.sqrt(variances)


def residuals_of(fit: LinearFit, columns: np.ndarray) -> np.ndarray:
    """M applied to each column (rows x m, Fortran order, changed in place): the
    specification's effects removed, then the residuals of the regression on its terms."""
    x, found = fit.demeaned[:, 1:], fit.design
    if found.entity_effects or found.time_effects:
        absorb_effects(columns, fit.units, fit.periods, found.entity_effects, found.time_effects)
    else:
        columns -= columns.mean(axis=0)
    return columns - x @ (fit.inverse_gram @ (x.T @ columns))


def null_operator(fit: LinearFit, kind: str, dense_cells: int = DENSE_NULL_CELLS) -> NullOperator:
    """The :class:`NullOperator` of a fitted linear specification (module docstring):
    with Q when rows x units + units x units is at most ``dense_cells``, else redrawn."""
    outcome, x = fit.demeaned[:, 0], fit.demeaned[:, 1:]
    controls = x[:, 1:]
    restricted = outcome
    if controls.shape[1]:
        coefficients, *_ = np.linalg.lstsq(controls, outcome, rcond=None)
        restricted = outcome - controls @ coefficients
    focal_row = x @ fit.inverse_gram[:, 0]
    n_rows, n_units = len(outcome), len(fit.global_units)
    loading = group_sums((focal_row * restricted)[:, None], fit.units, n_units)[:, 0]
    variance: MeatVariance | RedrawVariance
    if n_rows * n_units + n_units * n_units <= dense_cells:
        spread = np.zeros((n_rows, n_units), order="F")
        spread[np.arange(n_rows), fit.units] = restricted
        scores = focal_row[:, None] * residuals_of(fit, spread)
        variance = MeatVariance(
            score_meat(scores, fit.units, fit.periods, kind, fit.covariance.bandwidth)
        )
    else:
        variance = RedrawVariance(fit, restricted, focal_row, kind)
    return NullOperator(fit.global_units, loading, variance, fit.factor, fit.critical)


@dataclass(frozen=True)
class NullChunk:
    """Focal estimates and t-statistics of some specifications under some null draws."""

    spec_ids: np.ndarray
    draws: np.ndarray
    estimates: np.ndarray  # specifications x draws
    statistics: np.ndarray
    critical: np.ndarray  # per specification


def null_chunk(
    prepared: Prepared,
    multiverse: Multiverse,
    specifications: Sequence[Specification],
    draws: Sequence[int],
    study: Mapping[str, Any],
) -> NullChunk:
    """Redraw every estimable linear specification of ``specifications`` under ``draws``."""
    weights = null_weights(multiverse.null.seed, draws, prepared.n_units, multiverse.null.weights)
    ids, estimates, statistics, critical = [], [], [], []
    for spec in specifications:
        if multiverse.outcomes[spec.outcome].estimator != "linear":
            continue
        try:
            fit = fit_linear_specification(
                prepared, spec, design(prepared, multiverse, spec, study)
            )
        except (EstimationError, CovarianceError, WithinError, np.linalg.LinAlgError):
            continue  # not estimated: its row in specifications.parquet says why
        operator = null_operator(fit, spec.covariance)
        estimate, statistic = operator.draws(weights)
        ids.append(spec.id)
        estimates.append(estimate)
        statistics.append(statistic)
        critical.append(operator.critical)
    shape = (0, len(draws))
    return NullChunk(
        spec_ids=np.array(ids, dtype=str),
        draws=np.asarray(draws, dtype=np.int64),
        estimates=np.vstack(estimates) if estimates else np.empty(shape),
        statistics=np.vstack(statistics) if statistics else np.empty(shape),
        critical=np.array(critical),
    )


def write_null_chunk(path: Any, chunk: NullChunk) -> None:
    """Write a chunk as an uncompressed .npz (a path or an open binary file)."""
    np.savez(path, **{name: getattr(chunk, name) for name in NullChunk.__dataclass_fields__})


def read_null_chunk(path: str) -> NullChunk:
    with np.load(path, allow_pickle=False) as stored:
        return NullChunk(**{name: stored[name] for name in NullChunk.__dataclass_fields__})


def curve_statistics(
    estimates: np.ndarray, statistics: np.ndarray, critical: np.ndarray
) -> dict[str, np.ndarray]:
    """The four curve statistics of each column of specifications x draws arrays.

    A two-way clustered variance (unit + year - observation) can come out negative in a
    draw; its t-statistic is then undefined (NaN): it counts as not significant and is
    left out of that draw's mean t-statistic."""
    significant = np.abs(np.nan_to_num(statistics)) > critical[:, None]
    return {
        "median_estimate": np.median(estimates, axis=0),
        "share_positive": (significant & (estimates > 0)).mean(axis=0),
        "share_negative": (significant & (estimates < 0)).mean(axis=0),
        "mean_statistic": np.nanmean(statistics, axis=0),
    }


def gather_null(chunks: Sequence[NullChunk], spec_ids: Sequence[str]) -> pd.DataFrame:
    """Per draw, the curve statistics over ``spec_ids``, whichever chunks hold them.

    Chunks may split specifications, draws or both; every (specification, draw) must be
    present exactly once."""
    draws = np.unique(np.concatenate([c.draws for c in chunks]))
    position = {spec_id: i for i, spec_id in enumerate(spec_ids)}
    estimates = np.full((len(spec_ids), len(draws)), np.nan)
    statistics = np.full_like(estimates, np.nan)
    critical = np.full(len(spec_ids), np.nan)
    for chunk in chunks:
        rows = np.array([position[s] for s in chunk.spec_ids], dtype=np.int64)
        columns = np.searchsorted(draws, chunk.draws)
        estimates[np.ix_(rows, columns)] = chunk.estimates
        statistics[np.ix_(rows, columns)] = chunk.statistics
        critical[rows] = chunk.critical
    if np.isnan(estimates).any():
        missing = sorted({spec_ids[i] for i in np.flatnonzero(np.isnan(estimates).any(axis=1))})
        raise ValueError(
            f"null draws are missing for {len(missing)} specification(s) (first {missing[0]}); "
            "a null chunk is stale or incomplete: rerun the multiverse_null rule."
        )
    return pd.DataFrame({"draw": draws, **curve_statistics(estimates, statistics, critical)})[
        NULL_COLUMNS
    ]


def joint_tests(specifications: pd.DataFrame, null: pd.DataFrame) -> pd.DataFrame:
    """The observed curve statistics and their p-values against the null draws.

    ``specifications`` are the focal rows of the estimated linear specifications. The
    p-value is (1 + draws at least as extreme) / (1 + draws): for the median and the
    mean t-statistic, extreme is in absolute value; for the share significant of a sign,
    extreme is at least as large a share."""
    observed = curve_statistics(
        specifications["estimate"].to_numpy()[:, None],
        specifications["statistic"].to_numpy()[:, None],
        specifications["critical_value"].to_numpy(),
    )
    rows = []
    for name, alternative in (
        ("median_estimate", "two-sided (|median|)"),
        ("share_positive", "greater"),
        ("share_negative", "greater"),
        ("mean_statistic", "two-sided (|mean t|)"),
    ):
        value = float(observed[name][0])
        drawn = null[name].to_numpy()
        if alternative == "greater":
            extreme = drawn >= value - 1e-12
        else:
            extreme = np.abs(drawn) >= abs(value) - 1e-12
        rows.append(
            {
                "statistic": name,
                "observed": value,
                "null_median": float(np.median(drawn)),
                # The value 5 % of draws reach: of |statistic| for a two-sided test.
                "null_p95": float(
                    np.quantile(drawn if alternative == "greater" else np.abs(drawn), 0.95)
                ),
                "p_value": (1 + int(extreme.sum())) / (1 + len(drawn)),
                "alternative": alternative,
                "specifications": len(specifications),
                "draws": len(drawn),
            }
        )
    return pd.DataFrame(rows, columns=JOINT_TESTS_COLUMNS)


def focal_rows(specifications: pd.DataFrame) -> pd.DataFrame:
    """The focal-term rows of the estimated linear specifications, in grid order."""
    rows = specifications[
        (specifications["role"] == FOCAL)
        & (specifications["estimator"] == "linear")
        & specifications["estimate"].notna()
    ]
    return rows.reset_index(drop=True)
