"""Panel regressions of innovation output on R&D intensity, talent and open platforms.

Estimation uses linearmodels. Every result records its covariance estimator and
the exact small-sample corrections applied, so that a reader can reproduce the
standard errors in another package (tests/test_models.py does so with statsmodels).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS, PooledOLS, RandomEffects
from scipy import stats

from innopanel.config import model_terms

ENTITY, TIME = "unit_id", "year"
CONSTANT = "const"
CONFIDENCE = 0.95
COVARIANCE_LABELS = {
    "unadjusted": "Classical (homoskedastic)",
    "robust": "Heteroskedasticity-robust",
    "clustered": "Clustered by {unit}",
}
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
]


class EstimationError(ValueError):
    """A model cannot be estimated on the data given; the message says why and what to do."""


@dataclass(frozen=True)
class FittedModel:
    """A fitted model with what is needed to report it."""

    name: str
    spec: Mapping[str, Any]
    result: Any
    correction: str
    unit: str = "city"


def model_frame(panel: pd.DataFrame, spec: Mapping[str, Any], name: str) -> pd.DataFrame:
    """Return the complete-case (unit, year)-indexed frame a model is estimated on.

    Rows missing any model variable are dropped *before* fitting, so that cluster
    ids stay aligned with the residuals.
    """
    columns = [spec["outcome"], *model_terms(spec)]
    absent = [c for c in columns if c not in panel.columns]
    if absent:
        raise EstimationError(
            f"model '{name}': the panel has no column(s) {absent}. Add them to variables "
            "in config/config.yaml and rerun the clean step."
        )
    frame = panel[[ENTITY, TIME, *columns]].dropna()
    frame = frame.astype({TIME: "int64"}).set_index([ENTITY, TIME]).sort_index()
    return frame


def _needs_constant(spec: Mapping[str, Any]) -> bool:
    return spec["estimator"] in ("pooled_ols", "random_effects")


def _check_size(frame: pd.DataFrame, spec: Mapping[str, Any], name: str, n_terms: int) -> None:
    entities = frame.index.get_level_values(ENTITY).nunique()
    periods = frame.index.get_level_values(TIME).nunique()
    effects = 0
    if spec.get("entity_effects"):
        effects += entities
    if spec.get("time_effects"):
        effects += periods - (1 if spec.get("entity_effects") else 0)
    if entities < 2 or len(frame) <= n_terms + effects:
        raise EstimationError(
            f"model '{name}': {len(frame)} complete observations in {entities} cities and "
            f"{periods} years are too few for {n_terms} coefficients and {effects} fixed "
            "effects. Widen the year window, add cities, or drop terms."
        )
    if spec["covariance"] == "clustered" and entities < 10:
        raise EstimationError(
            f"model '{name}': {entities} clusters are too few for clustered standard "
            "errors (at least 10 are needed). Use covariance: robust, or add cities."
        )


def _fit_arguments(
    spec: Mapping[str, Any], n_obs: int, n_entities: int, n_periods: int, n_terms: int
) -> tuple[dict[str, Any], str]:
    """Return linearmodels fit options and a sentence saying the corrections they apply.

    Corrections are chosen explicitly rather than left to library defaults:
    ``debiased=True`` scales by n/(n-k-d); ``group_debias=True`` by G/(G-1)*(n-1)/n;
    together they give Stata's ``xtreg, fe vce(cluster)`` for one-way FE.
    """
    covariance = spec["covariance"]
    options: dict[str, Any] = {"debiased": True}
    if covariance == "unadjusted":
        options["cov_type"] = "unadjusted"
    elif covariance == "robust":
        options["cov_type"] = "robust"
    else:
        options.update(cov_type="clustered", cluster_entity=True, group_debias=True)

    absorbed = 0
    if spec["estimator"] == "fixed_effects":
        entity, time = bool(spec.get("entity_effects")), bool(spec.get("time_effects"))
        absorbed = (n_entities if entity else 0) + (n_periods - (1 if entity else 0) if time else 0)
        # City effects nested in city clusters cost no degree of freedom in the
        # cluster-robust covariance (Stata's xtreg, fe convention); otherwise count them.
        nested = covariance == "clustered" and entity and not time
        options.update(auto_df=False, count_effects=not nested)
        counted = 0 if nested else absorbed
    else:
        counted = 0
    counts = f"n={n_obs}, k={n_terms}, d={counted} absorbed effects counted"
    if covariance == "clustered":
        # linearmodels' group_debias is G/(G-1)*(n-1)/n; with debiased n/(n-k-d) the
        # product is Stata's cluster correction.
        parts = [f"G/(G-1)*(n-1)/(n-k-d) with {counts}, G={n_entities} clusters"]
    else:
        parts = [f"n/(n-k-d) with {counts}"]
    parts.append("t and F reference distributions")
    return options, "; ".join(parts)


def fit_model(
    panel: pd.DataFrame,
    name: str,
    spec: Mapping[str, Any],
    covariance: str | None = None,
    unit: str = "city",
) -> FittedModel:
    """Fit one configured model; ``covariance`` overrides the configured one."""
    if covariance is not None:
        spec = {**spec, "covariance": covariance}
    frame = model_frame(panel, spec, name)
    terms = model_terms(spec)
    exog = frame[terms].copy()
    if _needs_constant(spec):
        # linearmodels adds no constant itself; without it RE and pooled OLS are misspecified.
        exog.insert(len(terms), CONSTANT, 1.0)
    n_entities = frame.index.get_level_values(ENTITY).nunique()
    n_periods = frame.index.get_level_values(TIME).nunique()
    _check_size(frame, spec, name, exog.shape[1])
    options, correction = _fit_arguments(spec, len(frame), n_entities, n_periods, exog.shape[1])
    dependent = frame[spec["outcome"]]
    estimator = spec["estimator"]
    if estimator == "pooled_ols":
        model = PooledOLS(dependent, exog)
    elif estimator == "random_effects":
        model = RandomEffects(dependent, exog)
    else:
        model = PanelOLS(
            dependent,
            exog,
            entity_effects=bool(spec.get("entity_effects")),
            time_effects=bool(spec.get("time_effects")),
        )
    result = model.fit(**options)
    return FittedModel(name=name, spec=spec, result=result, correction=correction, unit=unit)


def tidy(fitted: FittedModel) -> pd.DataFrame:
    """One row per term: estimate, SE, t, p, 95 % CI and model-level statistics."""
    result, spec = fitted.result, fitted.spec
    interval = result.conf_int(level=CONFIDENCE)
    is_fixed = spec["estimator"] == "fixed_effects"
    frame = pd.DataFrame(
        {
            "term": result.params.index.astype(str),
            "estimate": result.params.to_numpy(),
            "std_error": result.std_errors.to_numpy(),
            "statistic": result.tstats.to_numpy(),
            "p_value": result.pvalues.to_numpy(),
            "ci_lower": interval["lower"].to_numpy(),
            "ci_upper": interval["upper"].to_numpy(),
        }
    )
    frame.insert(0, "model", fitted.name)
    frame.insert(1, "model_label", spec["label"])
    frame.insert(2, "estimator", spec["estimator"])
    frame.insert(3, "outcome", spec["outcome"])
    frame["nobs"] = int(result.nobs)
    frame["n_entities"] = int(result.entity_info["total"])
    frame["n_periods"] = int(result.time_info["total"])
    frame["r2"] = float(result.rsquared)
    # "Within R²" is the R² after removing the model's fixed effects (what fixest and
    # reghdfe print); models without fixed effects report the city-demeaned R².
    frame["r2_within"] = float(result.rsquared if is_fixed else result.rsquared_within)
    frame["r2_overall"] = float(result.rsquared_overall)
    frame["r2_between"] = float(result.rsquared_between)
    frame["entity_effects"] = bool(spec.get("entity_effects", False)) if is_fixed else False
    frame["time_effects"] = bool(spec.get("time_effects", False)) if is_fixed else False
    frame["cov_type"] = spec["covariance"]
    frame["cov_label"] = COVARIANCE_LABELS[spec["covariance"]].format(unit=fitted.unit)
    frame["small_sample_correction"] = fitted.correction
    return frame[ESTIMATES_COLUMNS]


def estimate_models(
    panel: pd.DataFrame, models: Mapping[str, Mapping[str, Any]], unit: str = "city"
) -> pd.DataFrame:
    """Fit every configured model and stack their tidy estimates in config order."""
    frames = [tidy(fit_model(panel, name, spec, unit=unit)) for name, spec in models.items()]
    return pd.concat(frames, ignore_index=True)


def hausman_test(
    panel: pd.DataFrame,
    models: Mapping[str, Mapping[str, Any]],
    fixed_effects: str,
    random_effects: str,
) -> pd.DataFrame:
    """Classical Hausman test of FE against RE on a common sample.

    H = (b_FE - b_RE)' [V_FE - V_RE]^+ (b_FE - b_RE) ~ chi2(rank), with classical
    (non-robust) covariances: the test assumes RE is efficient under H0, which
    clustered covariances do not deliver. Both covariances use the RE estimate of
    the idiosyncratic variance (Stata's ``hausman, sigmamore``), which keeps
    V_FE - V_RE positive semi-definite; a generalised inverse and its rank are used.
    """
    fe_spec, re_spec = models[fixed_effects], models[random_effects]
    needed = sorted(
        {fe_spec["outcome"], re_spec["outcome"], *model_terms(fe_spec), *model_terms(re_spec)}
    )
    common = panel.dropna(subset=needed)
    fe = fit_model(common, fixed_effects, fe_spec, covariance="unadjusted").result
    re = fit_model(common, random_effects, re_spec, covariance="unadjusted").result
    terms = [t for t in fe.params.index if t in re.params.index and t != CONSTANT]
    difference = (fe.params[terms] - re.params[terms]).to_numpy()
    fe_covariance = fe.cov.loc[terms, terms] * (re.s2 / fe.s2)
    variance = (fe_covariance - re.cov.loc[terms, terms]).to_numpy()
    eigenvalues = np.linalg.eigvalsh(variance)
    rank = int(np.linalg.matrix_rank(variance))
    statistic = float(difference @ np.linalg.pinv(variance) @ difference)
    return pd.DataFrame(
        [
            {
                "test": "Hausman (FE vs RE)",
                "fixed_effects_model": fixed_effects,
                "random_effects_model": random_effects,
                "terms": " ".join(terms),
                "statistic": statistic,
                "df": rank,
                "p_value": float(stats.chi2.sf(statistic, rank)),
                "nobs": int(fe.nobs),
                "covariance": "classical for both models, RE idiosyncratic variance (sigmamore)",
                "variance_difference_positive_definite": bool(eigenvalues.min() > 0),
                "interpretation": "reject RE in favour of FE at 5%"
                if stats.chi2.sf(statistic, rank) < 0.05
                else "RE not rejected at 5%",
            }
        ]
    )
