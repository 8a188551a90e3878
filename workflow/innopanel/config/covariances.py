"""The covariance kinds a model may name: one registry entry each, and their checks.

Each kind is one frozen :class:`CovarianceKind` in :data:`COVARIANCES`: its table label,
the group count its small-sample correction uses, the options that make linearmodels and
statsmodels return its raw (uncorrected) sandwich, the estimators it supports, the
cluster dimensions it needs and the kernels it takes. Adding a kind is adding one entry
(and its enum value in config/schemas/config.schema.yaml). The computation lives in
:mod:`innopanel.econometrics.covariance`, which reads these entries; the checks below are
the one place compatibility is decided, used by the start-up config check and by the
estimation code alike.

Only the standard library is imported (config may not import econometrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from innopanel.vocabulary import unit_words

UNIT, YEAR = "unit", "year"
# Group counts a correction can use (the G, M or T of the correction's formula).
UNITS, SMALLER_DIMENSION, PERIODS = "units", "smaller_dimension", "periods"
# Fewer clusters than this in any cluster dimension make cluster-robust SEs unreliable.
MIN_CLUSTERS = 10
LINEAR_ESTIMATORS = (
    "pooled_ols",
    "between",
    "fixed_effects",
    "random_effects",
    "first_differences",
)
ESTIMATORS = (*LINEAR_ESTIMATORS, "ppml")
# The between estimator has one observation per unit: nothing to cluster or smooth over.
WITHIN_UNIT_ESTIMATORS = tuple(e for e in ESTIMATORS if e != "between")
# Their jackknife is exact in one pass over the rows (per-unit Gram blocks); every other
# estimator's refits the model once per cluster.
EXACT_JACKKNIFE_ESTIMATORS = ("pooled_ols", "fixed_effects")


@dataclass(frozen=True)
class CovarianceKind:
    """One covariance a model may name, as data.

    ``label`` is a column header with ``{unit}`` (and, for kernel kinds, ``{kernel}`` and
    ``{bandwidth}``) to fill. ``groups`` is what the correction's group count counts
    (None: no group term). ``clusters`` are the dimensions summed over as clusters; an
    absorbed effect of such a dimension is nested in the clusters and costs no degree of
    freedom. ``reports_clusters`` says whether estimates.csv states the group count in
    ``n_clusters``. ``sandwich`` is False for the classical covariance, the inverse
    information matrix, which a likelihood model leaves uncorrected. ``linearmodels`` are
    ``fit`` keywords (``debiased=False`` is always added); ``statsmodels`` is the GLM
    ``cov_type``.
    """

    name: str
    label: str
    groups: str | None
    linearmodels: tuple[tuple[str, Any], ...]
    statsmodels: str
    estimators: tuple[str, ...]
    clusters: tuple[str, ...] = ()
    kernels: tuple[str, ...] = ()
    jackknife: bool = False
    reports_clusters: bool = True
    sandwich: bool = True

    @property
    def takes_kernel(self) -> bool:
        return bool(self.kernels)

    @property
    def default_kernel(self) -> str | None:
        """The kernel used when a model names none (the first listed)."""
        return self.kernels[0] if self.kernels else None

    def describe(self, unit: str, kernel: str | None = None, bandwidth: int | None = None) -> str:
        """The table label, e.g. "Clustered by city" or "Driscoll–Kraay (Bartlett ...)"."""
        return self.label.format(unit=unit, kernel=(kernel or "").capitalize(), bandwidth=bandwidth)


COVARIANCES: dict[str, CovarianceKind] = {
    kind.name: kind
    for kind in (
        CovarianceKind(
            name="unadjusted",
            label="Classical (homoskedastic)",
            groups=None,
            linearmodels=(("cov_type", "unadjusted"),),
            statsmodels="nonrobust",
            estimators=ESTIMATORS,
            sandwich=False,
        ),
        CovarianceKind(
            name="robust",
            label="Heteroskedasticity-robust",
            groups=None,
            linearmodels=(("cov_type", "robust"),),
            statsmodels="HC0",
            estimators=ESTIMATORS,
        ),
        CovarianceKind(
            name="clustered",
            label="Clustered by {unit}",
            groups=UNITS,
            linearmodels=(
                ("cov_type", "clustered"),
                ("cluster_entity", True),
                ("group_debias", False),
            ),
            statsmodels="cluster",
            estimators=WITHIN_UNIT_ESTIMATORS,
            clusters=(UNIT,),
        ),
        CovarianceKind(
            # CV3: the leave-one-unit-out refits replace the covariance, so the fit
            # itself asks the libraries for none. Its (G-1)/G factor is part of its
            # definition; estimates.csv has always left its n_clusters empty.
            name="clustered_jackknife",
            label="Clustered by {unit} (jackknife)",
            groups=UNITS,
            linearmodels=(("cov_type", "unadjusted"),),
            statsmodels="nonrobust",
            estimators=WITHIN_UNIT_ESTIMATORS,
            clusters=(UNIT,),
            jackknife=True,
            reports_clusters=False,
        ),
        CovarianceKind(
            name="two_way_clustered",
            label="Two-way clustered by {unit} and year",
            groups=SMALLER_DIMENSION,
            linearmodels=(
                ("cov_type", "clustered"),
                ("cluster_entity", True),
                ("group_debias", False),
                ("cluster_time", True),
            ),
            statsmodels="cluster",
            estimators=WITHIN_UNIT_ESTIMATORS,
            clusters=(UNIT, YEAR),
        ),
        CovarianceKind(
            name="driscoll_kraay",
            label="Driscoll–Kraay ({kernel} kernel, bandwidth {bandwidth})",
            groups=PERIODS,
            linearmodels=(("cov_type", "kernel"),),
            statsmodels="hac-groupsum",
            estimators=WITHIN_UNIT_ESTIMATORS,
            kernels=("bartlett",),
        ),
    )
}


def covariance_kind(name: str) -> CovarianceKind:
    """The registry entry of covariance ``name``; an unknown name lists the known ones."""
    if name not in COVARIANCES:
        raise ValueError(f"unknown covariance '{name}'; use one of {', '.join(COVARIANCES)}.")
    return COVARIANCES[name]


def refits_per_cluster(estimator: str, covariance: str) -> bool:
    """Whether the covariance refits the model once per cluster: a jackknife of an
    estimator without the exact one-pass route (the cost jackknife_max_clusters caps)."""
    return covariance_kind(covariance).jackknife and estimator not in EXACT_JACKKNIFE_ESTIMATORS


def covariance_problems(
    where: str, estimator: str, covariance: str, kernel: str | None, bandwidth: int | None
) -> list[str]:
    """Problems of a model's covariance keys: an unknown kind or kernel, kernel keys on a
    kind without a kernel, an estimator the kind does not support. ``where`` names the
    model (``models.<name>``); ``kernel`` and ``bandwidth`` are None when not set."""
    if covariance not in COVARIANCES:
        known = ", ".join(COVARIANCES)
        return [f"{where}.covariance = '{covariance}' is unknown; use one of {known}."]
    kind = COVARIANCES[covariance]
    problems = []
    for key, value in (("kernel", kernel), ("bandwidth", bandwidth)):
        if value is not None and not kind.takes_kernel:
            takers = [k.name for k in COVARIANCES.values() if k.takes_kernel]
            problems.append(
                f"{where}.{key} applies only to covariance: {' or '.join(takers)}; remove it."
            )
    if kernel is not None and kind.takes_kernel and kernel not in kind.kernels:
        problems.append(f"{where}.kernel = '{kernel}' is unknown; use one of {kind.kernels}.")
    if estimator not in kind.estimators:
        supported = [k.name for k in COVARIANCES.values() if estimator in k.estimators]
        reason = (
            ": the between estimator has one observation per unit"
            if estimator == "between"
            else f" does not support estimator {estimator}"
        )
        problems.append(
            f"{where}.covariance = '{covariance}'{reason}; use {' or '.join(supported)}."
        )
    return problems


def sample_problem(
    name: str, n_units: int, n_periods: int, bandwidth: int | None, unit: str = "city"
) -> str | None:
    """Why an estimating sample of ``n_units`` units and ``n_periods`` periods cannot
    support covariance ``name`` (the cluster minimum, the kernel's periods), or None."""
    kind = covariance_kind(name)
    counts = {UNIT: (unit, n_units), YEAR: (YEAR, n_periods)}
    for dimension in kind.clusters:
        noun, clusters = counts[dimension]
        if clusters < MIN_CLUSTERS:
            if kind.clusters == (UNIT,):
                fix = f"Use covariance: robust, or add {unit_words(unit)[1]}."
            else:
                fix = "Use covariance: clustered or driscoll_kraay, or widen the year window."
            return (
                f"{clusters} {noun} clusters are too few for cluster-robust standard errors "
                f"(at least {MIN_CLUSTERS} are needed). {fix}"
            )
    if kind.takes_kernel and (bandwidth is None or bandwidth < 0 or n_periods < bandwidth + 2):
        return (
            f"covariance {kind.name} with bandwidth {bandwidth} needs at least "
            f"{(bandwidth or 0) + 2} periods, the sample has {n_periods}. Lower the bandwidth or "
            "widen the year window."
        )
    return None
