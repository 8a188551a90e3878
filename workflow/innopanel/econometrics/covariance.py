"""Covariance estimators and the small-sample corrections applied to them.

The kinds themselves (labels, library options, supported estimators, cluster
dimensions, kernels) are data in :mod:`innopanel.config.covariances`; this module
computes with them.

Every standard error in innopanel is a library's *raw* sandwich (no correction at
all) multiplied by a factor chosen here, so a correction is always stated, never
inherited from a library default. The factors follow Stata, whose printed results
the reference tests reproduce (tests/test_published_references.py):

===================  ================================  =========================
covariance           linear models (OLS, FE, RE, FD)   PPML (a likelihood model)
===================  ================================  =========================
unadjusted           n/(n-k-d), t(n-k-d)               1, normal
robust               n/(n-k-d), t(n-k-d)               n/(n-1), normal
clustered            G/(G-1)(n-1)/(n-k-d), t(G-1)      G/(G-1), t(G-1)
clustered_jackknife  (G-1)/G, t(G-1)                   (G-1)/G, t(G-1)
two_way_clustered    M/(M-1)(n-1)/(n-k-d), t(M-1)      M/(M-1), t(M-1)
driscoll_kraay       T/(T-1)(n-1)/(n-k-d), t(T-1)      T/(T-1), t(T-1)
===================  ================================  =========================

n: observations of the estimating regression, k: its coefficients, d: absorbed
fixed effects that are not nested in a cluster dimension, G: clusters (cities),
M: the smaller number of clusters of the two dimensions, T: periods. With
``small_sample: false`` every factor is 1 and inference is normal (asymptotic).

``clustered_jackknife`` is the CV3 estimator of MacKinnon, Nielsen and Webb (2023):
(G-1)/G times the sum over units g of (b_(g) - b)(b_(g) - b)', b_(g) the estimate
without unit g. It stays reliable when a few large clusters dominate the scores, as in
PPML, which weights observations by their mean; its factor is part of its definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import sparse

from innopanel.config.covariances import (
    PERIODS,
    SMALLER_DIMENSION,
    UNIT,
    UNITS,
    YEAR,
    CovarianceKind,
    covariance_kind,
    sample_problem,
)

NORMAL = "normal"
STUDENT_T = "t"
# How each group count of a correction is written: symbol and what it counts.
GROUP_SYMBOLS = {
    UNITS: ("G", "clusters"),
    SMALLER_DIMENSION: ("M", "= min(G_unit, G_year)"),
    PERIODS: ("T", "periods"),
}


class CovarianceError(ValueError):
    """A covariance cannot be computed on the sample; the message says what to do."""


@dataclass(frozen=True)
class CovarianceSpec:
    """Which covariance to compute: kind, and for a kernel kind its kernel and bandwidth.

    ``bandwidth=None`` means the automatic rule :func:`automatic_bandwidth`, applied once
    per fit by :func:`resolve_bandwidth`; ``kernel=None`` means the kind's default.
    """

    kind: str = "clustered"
    kernel: str | None = None
    bandwidth: int | None = None
    small_sample: bool = True

    def __post_init__(self) -> None:
        try:
            entry = covariance_kind(self.kind)
        except ValueError as error:
            raise CovarianceError(str(error)) from error
        if self.kernel is not None and self.kernel not in entry.kernels:
            raise CovarianceError(
                f"covariance {self.kind} takes "
                + (f"kernel {' or '.join(entry.kernels)}" if entry.kernels else "no kernel")
                + f", not '{self.kernel}'."
            )

    @property
    def entry(self) -> CovarianceKind:
        """The registry entry of this kind."""
        return covariance_kind(self.kind)

    @property
    def resolved_kernel(self) -> str | None:
        """The kernel used: the one named, else the kind's default (None without one)."""
        return self.kernel or self.entry.default_kernel


def automatic_bandwidth(n_periods: int) -> int:
    """Newey–West (1994) plug-in lag floor(4 (T/100)^(2/9)), Stata ``xtscc``'s default."""
    return math.floor(4.0 * (n_periods / 100.0) ** (2.0 / 9.0))


def resolve_bandwidth(spec: CovarianceSpec, n_periods: int) -> CovarianceSpec:
    """``spec`` with its bandwidth fixed for a sample of ``n_periods`` periods: the one
    configured, else the automatic rule; kinds without a kernel keep None. Called once
    per fit, so the options, the checks and the reported bandwidth agree."""
    if not spec.entry.takes_kernel or spec.bandwidth is not None:
        return spec
    return replace(spec, bandwidth=automatic_bandwidth(n_periods))


@dataclass(frozen=True)
class SampleCounts:
    """Sizes of an estimating regression that the corrections depend on."""

    nobs: int
    n_terms: int
    n_entities: int
    n_periods: int
    entity_effects: bool = False
    time_effects: bool = False
    has_constant: bool = False


@dataclass(frozen=True)
class Correction:
    """The factor applied to a raw covariance and the inference it implies."""

    factor: float
    formula: str
    counts: str
    distribution: str
    df: int | None

    def describe(self) -> str:
        """One sentence a reader can recompute the factor from."""
        reference = (
            "normal reference distribution"
            if self.distribution == NORMAL
            else f"t({self.df}) reference distribution"
        )
        return f"{self.formula} with {self.counts}; {reference}"


def absorbed_effects(counts: SampleCounts, kind: str) -> int:
    """Absorbed fixed effects counted as used degrees of freedom (d).

    Effects nested in a cluster dimension cost no degree of freedom in a cluster-robust
    covariance (Stata's ``xtreg, fe vce(cluster)`` and reghdfe); all others are counted.
    A constant in the regressors is collinear with the first block of effects.
    """
    clusters = covariance_kind(kind).clusters
    blocks = []
    if counts.entity_effects:
        blocks.append((counts.n_entities, UNIT in clusters))
    if counts.time_effects:
        blocks.append((counts.n_periods, YEAR in clusters))
    total = 0
    for position, (size, nested) in enumerate(blocks):
        # Every block after the first, and the first when a constant is present,
        # loses one column to collinearity.
        size -= 1 if (position > 0 or counts.has_constant) else 0
        if not nested:
            total += size
    return total


def check_sample(spec: CovarianceSpec, counts: SampleCounts, unit: str = "city") -> None:
    """Raise :class:`CovarianceError` if the sample cannot support the covariance."""
    problem = sample_problem(spec.kind, counts.n_entities, counts.n_periods, spec.bandwidth, unit)
    if problem is not None:
        raise CovarianceError(problem)


def group_count(kind: CovarianceKind, n_entities: int, n_periods: int) -> int | None:
    """The group count (G, M or T) of ``kind``'s correction, or None if it has none."""
    return {
        None: None,
        UNITS: n_entities,
        SMALLER_DIMENSION: min(n_entities, n_periods),
        PERIODS: n_periods,
    }[kind.groups]


def correction(spec: CovarianceSpec, counts: SampleCounts, likelihood: bool = False) -> Correction:
    """The factor for ``spec`` on a sample of ``counts`` (see the module docstring)."""
    n, k = counts.nobs, counts.n_terms
    kind = spec.entry
    size = group_count(kind, counts.n_entities, counts.n_periods)
    if kind.jackknife:
        assert size is not None
        return Correction(
            (size - 1) / size,
            "(G-1)/G * sum_g (b_(g)-b)(b_(g)-b)' (jackknife, CV3)",
            f"n={n}, k={k}, G={size} clusters",
            STUDENT_T if spec.small_sample else NORMAL,
            size - 1 if spec.small_sample else None,
        )
    symbol, what = GROUP_SYMBOLS[kind.groups] if kind.groups else ("", "")
    if not spec.small_sample:
        sizes = f"n={n}, k={k}" + (f", {symbol}={size}" if size is not None else "")
        return Correction(1.0, "no small-sample correction (factor 1)", sizes, NORMAL, None)

    if likelihood:
        return _likelihood_correction(spec, n, k, size, symbol, what)

    d = absorbed_effects(counts, spec.kind)
    residual_df = n - k - d
    if residual_df <= 0:
        raise CovarianceError(
            f"{n} observations are too few for {k} coefficients and {d} fixed effects."
        )
    counted = f"n={n}, k={k}, d={d} absorbed effects counted"
    if size is None:
        return Correction(n / residual_df, "n/(n-k-d)", counted, STUDENT_T, residual_df)
    factor = size / (size - 1) * (n - 1) / residual_df
    return Correction(
        factor,
        f"{symbol}/({symbol}-1)*(n-1)/(n-k-d)",
        f"{counted}, {symbol}={size} {what}",
        STUDENT_T,
        size - 1,
    )


def _likelihood_correction(
    spec: CovarianceSpec, n: int, k: int, size: int | None, symbol: str, what: str
) -> Correction:
    # Stata's convention for ML estimators (poisson, ppmlhdfe): no (n-1)/(n-k) term.
    sizes = f"n={n}, k={k}"
    if size is None and not spec.entry.sandwich:
        return Correction(1.0, "inverse information matrix (factor 1)", sizes, NORMAL, None)
    if size is None:
        return Correction(n / (n - 1), "n/(n-1)", sizes, NORMAL, None)
    return Correction(
        size / (size - 1),
        f"{symbol}/({symbol}-1)",
        f"{sizes}, {symbol}={size} {what}",
        STUDENT_T,
        size - 1,
    )


def covariance_label(spec: CovarianceSpec, unit: str = "city") -> str:
    """Column label for a table, e.g. "Clustered by city" or "Driscoll–Kraay, bandwidth 2"."""
    return spec.entry.describe(unit, spec.resolved_kernel, spec.bandwidth)


def linearmodels_options(spec: CovarianceSpec) -> dict[str, Any]:
    """``fit`` keywords that make linearmodels return the raw (uncorrected) covariance.

    ``spec`` must have its bandwidth resolved (:func:`resolve_bandwidth`)."""
    options: dict[str, Any] = {"debiased": False, **dict(spec.entry.linearmodels)}
    if spec.entry.takes_kernel:
        options.update(kernel=spec.resolved_kernel, bandwidth=spec.bandwidth)
    return options


def group_sums(values: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Column sums of ``values`` (rows x m) within each group code: a size x m array."""
    indicator = sparse.csr_array(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(size, len(codes))
    )
    return np.asarray(indicator @ values)


def bartlett_weights(bandwidth: int, periods: int) -> np.ndarray:
    """The T x T matrix of Bartlett weights 1 - |s - t| / (bandwidth + 1) within the band."""
    distance = np.abs(np.subtract.outer(np.arange(periods), np.arange(periods)))
    return np.where(distance <= bandwidth, 1 - distance / (bandwidth + 1), 0.0)


def score_meat(
    scores: np.ndarray,
    units: np.ndarray,
    periods: np.ndarray,
    kind: str,
    bandwidth: int | None = None,
) -> np.ndarray:
    """The raw sandwich's meat of ``scores`` (rows x m) for covariance ``kind``: by
    observation (robust), clustered by unit, two-way (unit + year - unit-year cell,
    Cameron, Gelbach and Miller), or Driscoll–Kraay (year sums smoothed by the Bartlett
    kernel, statsmodels' hac-groupsum). ``units`` and ``periods`` are 0-based codes,
    periods in time order; ``bandwidth`` is the resolved Driscoll–Kraay lag."""
    meat = np.zeros((scores.shape[1], scores.shape[1]))
    for sign, left, right in _meat_terms(scores, units, periods, kind, bandwidth):
        meat += sign * (left.T @ right)
    return meat


def score_variances(
    scores: np.ndarray,
    units: np.ndarray,
    periods: np.ndarray,
    kind: str,
    bandwidth: int | None = None,
) -> np.ndarray:
    """The diagonal of :func:`score_meat` (one raw variance per column of ``scores``),
    without the m x m matrix: memory stays proportional to ``scores``."""
    variances = np.zeros(scores.shape[1])
    for sign, left, right in _meat_terms(scores, units, periods, kind, bandwidth):
        variances += sign * np.einsum("gm,gm->m", left, right)
    return variances


def _meat_terms(
    scores: np.ndarray,
    units: np.ndarray,
    periods: np.ndarray,
    kind: str,
    bandwidth: int | None,
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The meat of ``kind`` as a signed sum of products: meat = sum of sign * L' R."""
    entry = covariance_kind(kind)
    n_units, n_periods = int(units.max()) + 1, int(periods.max()) + 1
    if entry.takes_kernel:
        if bandwidth is None:
            raise CovarianceError(f"covariance {kind} needs its bandwidth resolved first.")
        by_period = group_sums(scores, periods, n_periods)
        return [(1.0, by_period, bartlett_weights(bandwidth, n_periods) @ by_period)]
    if not entry.clusters:
        return [(1.0, scores, scores)]
    codes = {UNIT: (units, n_units), YEAR: (periods, n_periods)}
    terms = []
    for dimension in entry.clusters:
        by_group = group_sums(scores, *codes[dimension])
        terms.append((1.0, by_group, by_group))
    if len(entry.clusters) == 2:
        by_cell = group_sums(scores, units * n_periods + periods, n_units * n_periods)
        terms.append((-1.0, by_cell, by_cell))
    return terms
