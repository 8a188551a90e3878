"""Covariance estimators and the small-sample corrections applied to them.

Every standard error in innopanel is a library's *raw* sandwich (no correction at
all) multiplied by a factor chosen here, so a correction is always stated, never
inherited from a library default. The factors follow Stata, whose printed results
the reference tests reproduce (tests/test_references.py):

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from innopanel.vocabulary import unit_words

COVARIANCE_KINDS = (
    "unadjusted",
    "robust",
    "clustered",
    "clustered_jackknife",
    "two_way_clustered",
    "driscoll_kraay",
)
# Kinds whose raw covariance is a sum over unit clusters.
UNIT_CLUSTERED = ("clustered", "clustered_jackknife", "two_way_clustered")
KERNELS = ("bartlett",)
# Fewer clusters than this in any cluster dimension make cluster-robust SEs unreliable.
MIN_CLUSTERS = 10
NORMAL = "normal"
STUDENT_T = "t"


class CovarianceError(ValueError):
    """A covariance cannot be computed on the sample; the message says what to do."""


@dataclass(frozen=True)
class CovarianceSpec:
    """Which covariance to compute: kind, and for Driscoll–Kraay its kernel and bandwidth.

    ``bandwidth=None`` means the automatic rule :func:`automatic_bandwidth`.
    """

    kind: str = "clustered"
    kernel: str = "bartlett"
    bandwidth: int | None = None
    small_sample: bool = True

    def __post_init__(self) -> None:
        if self.kind not in COVARIANCE_KINDS:
            raise CovarianceError(
                f"unknown covariance '{self.kind}'; use one of {', '.join(COVARIANCE_KINDS)}."
            )
        if self.kernel not in KERNELS:
            raise CovarianceError(f"unknown kernel '{self.kernel}'; use one of {KERNELS}.")

    @classmethod
    def from_model(cls, spec: Mapping[str, Any]) -> CovarianceSpec:
        """Read a model's covariance keys, applying the schema's defaults in code."""
        return cls(
            kind=spec["covariance"],
            kernel=spec.get("kernel", "bartlett"),
            bandwidth=spec.get("bandwidth"),
            small_sample=bool(spec.get("small_sample", True)),
        )


def automatic_bandwidth(n_periods: int) -> int:
    """Newey–West (1994) plug-in lag floor(4 (T/100)^(2/9)), Stata ``xtscc``'s default."""
    return math.floor(4.0 * (n_periods / 100.0) ** (2.0 / 9.0))


def resolved_bandwidth(spec: CovarianceSpec, n_periods: int) -> int | None:
    """The Bartlett bandwidth (maximum lag) used, or None for non-kernel covariances."""
    if spec.kind != "driscoll_kraay":
        return None
    return automatic_bandwidth(n_periods) if spec.bandwidth is None else int(spec.bandwidth)


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
    entity_nested = kind in UNIT_CLUSTERED
    time_nested = kind == "two_way_clustered"
    blocks = []
    if counts.entity_effects:
        blocks.append((counts.n_entities, entity_nested))
    if counts.time_effects:
        blocks.append((counts.n_periods, time_nested))
    total = 0
    for position, (size, nested) in enumerate(blocks):
        # Every block after the first, and the first when a constant is present,
        # loses one column to collinearity.
        size -= 1 if (position > 0 or counts.has_constant) else 0
        if not nested:
            total += size
    return total


def _require_clusters(name: str, clusters: int, fix: str) -> None:
    if clusters < MIN_CLUSTERS:
        raise CovarianceError(
            f"{clusters} {name} clusters are too few for cluster-robust standard errors "
            f"(at least {MIN_CLUSTERS} are needed). {fix}"
        )


def check_sample(spec: CovarianceSpec, counts: SampleCounts, unit: str = "city") -> None:
    """Raise :class:`CovarianceError` if the sample cannot support the covariance."""
    if spec.kind in ("clustered", "clustered_jackknife"):
        _require_clusters(
            unit, counts.n_entities, f"Use covariance: robust, or add {unit_words(unit)[1]}."
        )
    elif spec.kind == "two_way_clustered":
        fix = "Use covariance: clustered or driscoll_kraay, or widen the year window."
        _require_clusters(unit, counts.n_entities, fix)
        _require_clusters("year", counts.n_periods, fix)
    elif spec.kind == "driscoll_kraay":
        bandwidth = resolved_bandwidth(spec, counts.n_periods)
        if bandwidth is None or bandwidth < 0 or counts.n_periods < bandwidth + 2:
            raise CovarianceError(
                f"Driscoll–Kraay with bandwidth {bandwidth} needs at least "
                f"{(bandwidth or 0) + 2} periods, the sample has {counts.n_periods}. "
                "Lower the bandwidth or widen the year window."
            )


def correction(spec: CovarianceSpec, counts: SampleCounts, likelihood: bool = False) -> Correction:
    """The factor for ``spec`` on a sample of ``counts`` (see the module docstring)."""
    n, k = counts.nobs, counts.n_terms
    if spec.kind == "clustered_jackknife":
        size = counts.n_entities
        return Correction(
            (size - 1) / size,
            "(G-1)/G * sum_g (b_(g)-b)(b_(g)-b)' (jackknife, CV3)",
            f"n={n}, k={k}, G={size} clusters",
            STUDENT_T if spec.small_sample else NORMAL,
            size - 1 if spec.small_sample else None,
        )
    groups = {
        "clustered": ("G", counts.n_entities, "clusters"),
        "two_way_clustered": (
            "M",
            min(counts.n_entities, counts.n_periods),
            "= min(G_unit, G_year)",
        ),
        "driscoll_kraay": ("T", counts.n_periods, "periods"),
    }.get(spec.kind)
    if not spec.small_sample:
        sizes = f"n={n}, k={k}" + (f", {groups[0]}={groups[1]}" if groups else "")
        return Correction(1.0, "no small-sample correction (factor 1)", sizes, NORMAL, None)

    if likelihood:
        return _likelihood_correction(spec, n, k, groups)

    d = absorbed_effects(counts, spec.kind)
    residual_df = n - k - d
    if residual_df <= 0:
        raise CovarianceError(
            f"{n} observations are too few for {k} coefficients and {d} fixed effects."
        )
    counted = f"n={n}, k={k}, d={d} absorbed effects counted"
    if groups is None:
        return Correction(n / residual_df, "n/(n-k-d)", counted, STUDENT_T, residual_df)
    symbol, size, what = groups
    factor = size / (size - 1) * (n - 1) / residual_df
    return Correction(
        factor,
        f"{symbol}/({symbol}-1)*(n-1)/(n-k-d)",
        f"{counted}, {symbol}={size} {what}",
        STUDENT_T,
        size - 1,
    )


def _likelihood_correction(
    spec: CovarianceSpec, n: int, k: int, groups: tuple[str, int, str] | None
) -> Correction:
    # Stata's convention for ML estimators (poisson, ppmlhdfe): no (n-1)/(n-k) term.
    sizes = f"n={n}, k={k}"
    if spec.kind == "unadjusted":
        return Correction(1.0, "inverse information matrix (factor 1)", sizes, NORMAL, None)
    if spec.kind == "robust":
        return Correction(n / (n - 1), "n/(n-1)", sizes, NORMAL, None)
    assert groups is not None
    symbol, size, what = groups
    return Correction(
        size / (size - 1),
        f"{symbol}/({symbol}-1)",
        f"{sizes}, {symbol}={size} {what}",
        STUDENT_T,
        size - 1,
    )


def covariance_label(spec: CovarianceSpec, unit: str = "city", bandwidth: int | None = None) -> str:
    """Column label for a table, e.g. "Clustered by city" or "Driscoll–Kraay, bandwidth 2"."""
    if spec.kind == "unadjusted":
        return "Classical (homoskedastic)"
    if spec.kind == "robust":
        return "Heteroskedasticity-robust"
    if spec.kind == "clustered":
        return f"Clustered by {unit}"
    if spec.kind == "clustered_jackknife":
        return f"Clustered by {unit} (jackknife)"
    if spec.kind == "two_way_clustered":
        return f"Two-way clustered by {unit} and year"
    return f"Driscoll–Kraay ({spec.kernel.capitalize()} kernel, bandwidth {bandwidth})"


def linearmodels_options(spec: CovarianceSpec, n_periods: int) -> dict[str, Any]:
    """``fit`` keywords that make linearmodels return the raw (uncorrected) covariance."""
    options: dict[str, Any] = {"debiased": False}
    if spec.kind in ("unadjusted", "robust"):
        options["cov_type"] = spec.kind
    elif spec.kind == "clustered_jackknife":
        # The jackknife replaces the covariance; the fit itself needs none.
        options["cov_type"] = "unadjusted"
    elif spec.kind in ("clustered", "two_way_clustered"):
        options.update(cov_type="clustered", cluster_entity=True, group_debias=False)
        if spec.kind == "two_way_clustered":
            options["cluster_time"] = True
    else:
        options.update(
            cov_type="kernel",
            kernel=spec.kernel,
            bandwidth=resolved_bandwidth(spec, n_periods),
        )
    return options
