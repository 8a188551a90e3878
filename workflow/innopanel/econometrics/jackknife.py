"""Leave-one-cluster-out jackknife sums, and an exact O(rows) route for least squares.

The CV3 covariance needs the estimate without each cluster (unit) g. For a nonlinear
model that is a refit per unit (:func:`leave_one_out`). For least squares with unit
and/or year effects and unit clusters, every refit follows from per-unit Gram
matrices (:func:`least_squares_jackknife`): unit effects are nested in the clusters,
so demeaning by unit is local to each unit and unchanged by leaving another out; year
effects enter as explicit columns whose per-unit Gram blocks are cell sums. Then
b_(g) solves (A - A_g) b = (c - c_g), A and c summed over units: one small solve per
unit after one pass over the rows, instead of a regression on N - N_g rows per unit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from innopanel.econometrics.covariance import group_sums


def leave_one_out(
    params: np.ndarray, clusters: np.ndarray, refit: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """sum_g (b_(g) - b)(b_(g) - b)' with ``refit(keep)`` the estimate on the rows where
    ``keep`` is true, clusters taken in order of their codes 0..G-1."""
    order = np.argsort(clusters, kind="stable")
    bounds = np.searchsorted(clusters[order], np.arange(int(clusters.max()) + 2))
    deviations = np.empty((len(bounds) - 1, len(params)))
    keep = np.ones(len(clusters), dtype=bool)
    for cluster in range(len(bounds) - 1):
        rows = order[bounds[cluster] : bounds[cluster + 1]]
        keep[rows] = False
        deviations[cluster] = refit(keep) - params
        keep[rows] = True
    return deviations.T @ deviations


def least_squares_jackknife(
    outcome: np.ndarray,
    regressors: np.ndarray,
    units: np.ndarray,
    years: np.ndarray,
    entity_effects: bool,
    time_effects: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares slopes and sum_g (b_(g) - b)(b_(g) - b)' over units g.

    ``units`` and ``years`` are codes 0..G-1 and 0..T-1. The model is y on the
    regressors (include a constant yourself if there are no effects) with unit and/or
    year effects. Exactly the slopes OLS on a dummy design gives, with and without
    each unit; costs O(n (k+T)^2 + G (k+T)^3).
    """
    n_units, n_years = int(units.max()) + 1, int(years.max()) + 1
    data = np.column_stack([outcome, regressors]).astype(np.float64)
    counts = np.bincount(units, minlength=n_units).astype(np.float64)
    if entity_effects:
        data -= (group_sums(data, units, n_units) / counts[:, None])[units]
    m = data.shape[1]
    # Per-unit Gram blocks of [y, X]: sums of the rows' outer products.
    products = (data[:, :, None] * data[:, None, :]).reshape(len(data), m * m)
    blocks = [group_sums(products, units, n_units).reshape(n_units, m, m)]
    if time_effects:
        cells = units * n_years + years
        cell_counts = np.bincount(cells, minlength=n_units * n_years).reshape(n_units, n_years)
        # Z_g' D~_g: the cell sums of the (unit-demeaned) data, whose unit sums are zero.
        cross = (
            np.column_stack(
                [
                    np.bincount(cells, weights=data[:, j], minlength=n_units * n_years)
                    for j in range(m)
                ]
            )
            .reshape(n_units, n_years, m)
            .transpose(0, 2, 1)
        )
        dummy_gram = cell_counts[:, :, None] * np.eye(n_years)[None]
        if entity_effects:
            dummy_gram -= cell_counts[:, :, None] * cell_counts[:, None, :] / counts[:, None, None]
            # The unit-demeaned year dummies sum to zero: drop the first year.
            cross, dummy_gram = cross[:, :, 1:], dummy_gram[:, 1:, 1:]
        top = np.concatenate([blocks[0], cross], axis=2)
        bottom = np.concatenate([cross.transpose(0, 2, 1), dummy_gram], axis=2)
        blocks = [np.concatenate([top, bottom], axis=1)]
    per_unit = blocks[0]
    total = per_unit.sum(axis=0)
    k = regressors.shape[1]
    params = _solve_slopes(total[None], k)[0]
    deviations = _solve_slopes(total[None] - per_unit, k) - params
    return params, deviations.T @ deviations


def _solve_slopes(grams: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` coefficients of y on the other columns, from each Gram matrix of
    [y, X, D] in the stack ``grams``; scaled to unit diagonal for precision, and by a
    pseudo-inverse where a left-out unit leaves a year column empty."""
    design = grams[:, 1:, 1:]
    diagonal = np.einsum("gii->gi", design)
    scale = 1.0 / np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    scaled = design * scale[:, :, None] * scale[:, None, :]
    right = grams[:, 1:, 0] * scale
    try:
        solution = np.linalg.solve(scaled, right[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        solution = np.stack(
            [np.linalg.pinv(a, hermitian=True) @ b for a, b in zip(scaled, right, strict=True)]
        )
    return (solution * scale)[:, :k]
