"""Poisson pseudo-maximum likelihood with absorbed unit and year effects, and its
covariances, by iteratively reweighted least squares on group sums.

Each IRLS step regresses the working outcome on the regressors with weights mu, both
partialled of the effects by :class:`innopanel.econometrics.absorption.FixedEffects`
(the weighted within transformation of ppmlhdfe and pyfixest's ``fepois``, here exact
rather than by alternating projections). No dummy column is ever built, so time and
memory grow with the rows, not with rows x units. The estimating equations, the
starting values (mu = (y + mean y)/2) and the stopping rule (relative change of the
deviance) are statsmodels' GLM ones; tests/test_models.py checks the estimates and
every covariance against the GLM on a dummy design to 1e-8.

The raw covariances are the GLM's on the full dummy design, restricted to the slopes:
by Frisch-Waugh-Lovell that block of the inverse Hessian is ``(X~'WX~)^-1`` and the
slope part of every score is ``x~_i (y_i - mu_i)``, ``X~`` the weighted-demeaned
regressors at the final mean. The leave-one-cluster-out jackknife refits start from
the full fit's linear predictor, so each takes a few IRLS steps on the other rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from innopanel.econometrics.absorption import FixedEffects
from innopanel.econometrics.jackknife import leave_one_out

TOLERANCE = 1e-10
MAX_ITERATIONS = 200


class ConvergenceError(ValueError):
    """IRLS did not converge; the message names the likely cause."""


@dataclass(frozen=True)
class PoissonFit:
    """A converged Poisson fit with absorbed effects, on float arrays."""

    params: np.ndarray
    # Linear predictor and mean, row by row (effects included).
    eta: np.ndarray
    mean: np.ndarray
    # Regressors partialled of the effects with weights ``mean``, and (X~'WX~)^-1.
    demeaned: np.ndarray
    bread: np.ndarray
    iterations: int

    def scores(self, outcome: np.ndarray) -> np.ndarray:
        """The slope part of each observation's score, x~_i (y_i - mu_i)."""
        return self.demeaned * (outcome - self.mean)[:, None]


def deviance(outcome: np.ndarray, mean: np.ndarray) -> float:
    """Poisson deviance 2 sum [y log(y/mu) - (y - mu)], with 0 log 0 = 0."""
    positive = outcome > 0
    ratio = np.log(outcome[positive] / mean[positive])
    return 2.0 * float(np.sum(outcome[positive] * ratio) - np.sum(outcome - mean))


def log_likelihood(outcome: np.ndarray, mean: np.ndarray) -> float:
    """sum [y log mu - mu - log y!], statsmodels' Poisson log-likelihood."""
    return float(np.sum(special.xlogy(outcome, mean) - mean - special.gammaln(outcome + 1.0)))


def _scaled_solve(gram: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``gram b = right`` after scaling to unit diagonal (units of measurement cost
    no precision); also return the inverse."""
    scale = 1.0 / np.sqrt(np.diag(gram))
    inverse = np.linalg.inv(gram * scale[:, None] * scale[None, :]) * scale[:, None] * scale
    return inverse @ right, inverse


def fit_poisson(
    outcome: np.ndarray,
    regressors: np.ndarray,
    effects: FixedEffects,
    start: np.ndarray | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    covariance: bool = True,
) -> PoissonFit:
    """Poisson (pseudo-)ML of ``outcome`` on ``regressors`` (n x k) and ``effects``.

    ``start`` is a linear predictor to start from (a warm start); by default
    mu = (y + mean y)/2, as statsmodels and ppmlhdfe. Stops when the deviance changes
    by at most ``tolerance`` * (|deviance| + 0.1), statsmodels' rule. With
    ``covariance=False`` (jackknife refits) the bread and scores are not formed.
    """
    if start is None:
        mean = (outcome + outcome.mean()) / 2.0
        eta = np.log(mean)
    else:
        eta = np.asarray(start, dtype=float)
        mean = np.exp(eta)
    previous = deviance(outcome, mean)
    k = regressors.shape[1]
    data = np.empty((len(outcome), k + 1), order="F")
    data[:, 1:] = regressors
    for iteration in range(1, max_iterations + 1):
        working = eta + (outcome - mean) / mean
        data[:, 0] = working
        demeaned = effects.partial_out(data, mean)
        weighted = demeaned[:, 1:] * mean[:, None]
        params, _ = _scaled_solve(weighted.T @ demeaned[:, 1:], weighted.T @ demeaned[:, 0])
        # The fitted effects are what demeaning took out of the fit: z - z~ - (X - X~) b.
        eta = working - (demeaned[:, 0] - demeaned[:, 1:] @ params)
        mean = np.exp(eta)
        current = deviance(outcome, mean)
        if abs(current - previous) <= tolerance * (abs(current) + 0.1):
            if not covariance:
                return PoissonFit(params, eta, mean, np.empty((0, k)), np.empty((k, k)), iteration)
            final = effects.partial_out(regressors, mean)
            weighted = final * mean[:, None]
            _, bread = _scaled_solve(weighted.T @ final, np.zeros(k))
            return PoissonFit(params, eta, mean, final, bread, iteration)
        previous = current
    raise ConvergenceError(
        f"PPML did not converge in {max_iterations} iterations; check the regressors for "
        "separation (a regressor that perfectly predicts zeros)."
    )


def sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    covariance = bread @ meat @ bread
    return (covariance + covariance.T) / 2.0


def jackknife(
    fit: PoissonFit,
    outcome: np.ndarray,
    regressors: np.ndarray,
    effects: FixedEffects,
    clusters: np.ndarray,
    tolerance: float = TOLERANCE,
) -> np.ndarray:
    """sum_g (b_(g) - b)(b_(g) - b)' over leave-one-cluster-out refits, each started from
    the full fit's linear predictor on the rows it keeps (cluster codes 0..G-1)."""
    return leave_one_out(
        fit.params,
        clusters,
        lambda keep: (
            fit_poisson(
                outcome[keep], regressors[keep], effects.subset(keep), fit.eta[keep], tolerance
            ).params
        ),
    )
