"""Specification tests a referee asks for, one row each in diagnostics.csv.

* Hausman test of fixed against random effects (classical), and its cluster-robust
  version: Mundlak's regression of the outcome on the regressors and their unit means
  (random effects, cluster-robust Wald test that the means do not matter);
* F test that all unit effects are zero;
* Breusch–Pagan LM test for random unit effects (Baltagi–Li form for unbalanced panels);
* Wooldridge's test for first-order serial correlation (first-difference residuals);
* Pesaran's CD test for cross-sectional dependence of the residuals;
* variance inflation factors of the regressors.

The statistics are plain functions of residuals and fitted models, so the reference
tests can feed them published data; :func:`run_diagnostics` runs the configured set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from innopanel.config.checks import ABSORBING_ESTIMATORS
from innopanel.config.diagnostics import DiagnosticsSpec
from innopanel.config.specs import ModelSpec
from innopanel.econometrics.absorption import FixedEffects
from innopanel.econometrics.covariance import CovarianceSpec
from innopanel.econometrics.estimators import (
    CONSTANT,
    FitResult,
    first_differences,
    fit_linear,
)
from innopanel.econometrics.models import ENTITY, TIME, design_terms, fit_model, model_frame
from innopanel.vocabulary import unit_words

LOGGER = logging.getLogger(__name__)
ALPHA = 0.05
VIF_THRESHOLD = 10.0
DIAGNOSTICS_COLUMNS = [
    "test",
    "model",
    "term",
    "statistic",
    "df",
    "df_denominator",
    "p_value",
    "null_hypothesis",
    "conclusion",
    "note",
    "nobs",
]
CLASSICAL = CovarianceSpec("unadjusted")
CLUSTERED = CovarianceSpec("clustered")


def _row(test: str, model: str, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(DIAGNOSTICS_COLUMNS, np.nan)
    row.update(test=test, model=model, term="", note="")
    row.update(values)
    return row


def _verdict(p_value: float, rejected: str, kept: str) -> str:
    if p_value < ALPHA:
        return f"reject H0 at 5%: {rejected}"
    return f"H0 not rejected at 5%: {kept}"


def _design(panel: pd.DataFrame, spec: ModelSpec) -> tuple[pd.Series, pd.DataFrame]:
    frame = model_frame(panel, spec)
    return frame[spec.outcome].astype(float), frame[design_terms(spec)].astype(float)


# --------------------------------------------------------------------- Hausman


def hausman_statistic(
    b_consistent: pd.Series,
    b_efficient: pd.Series,
    v_consistent: pd.DataFrame,
    v_efficient: pd.DataFrame,
) -> tuple[float, int, bool]:
    """H = d' [V_c - V_e]^+ d with d = b_c - b_e; returns H, rank and whether the
    variance difference is positive definite (if not, a generalised inverse is used)."""
    terms = list(b_consistent.index)
    difference = (b_consistent - b_efficient[terms]).to_numpy()
    variance = (v_consistent.loc[terms, terms] - v_efficient.loc[terms, terms]).to_numpy()
    rank = int(np.linalg.matrix_rank(variance))
    statistic = float(difference @ np.linalg.pinv(variance) @ difference)
    return statistic, rank, bool(np.linalg.eigvalsh(variance).min() > 0)


def error_variance(fit: FitResult) -> float:
    """The disturbance variance s^2 a classical covariance is built on: the library's
    SSR/n times the stated correction n/(n-k-d), i.e. SSR/(n-k-d)."""
    return float(fit.library_result.s2) * fit.correction.factor


def hausman_test(
    panel: pd.DataFrame,
    fe_spec: ModelSpec,
    re_spec: ModelSpec,
    variance: str = "sigmamore",
    unit: str = "city",
) -> dict[str, Any]:
    """Classical Hausman test of the FE model against the RE model on their common sample.

    Both models use classical covariances: the test assumes RE is efficient under H0,
    which clustered covariances do not deliver. ``variance="own"`` uses each model's
    own residual variance (plm's ``phtest``, Stata's ``hausman``). ``"sigmamore"`` (the
    default; Stata's ``hausman, sigmamore``) bases both on the efficient estimator's
    estimate of the idiosyncratic variance: sigma^2 = SSR/(n - k) of the RE
    (quasi-demeaned) regression, k counting its constant, the sigma^2 of V_RE itself.
    So V_RE is kept and V_FE = sigma^2 (X~'X~)^-1, FE's covariance rescaled by
    sigma^2 / s^2_FE with s^2_FE = SSR_within/(n - k - N) the variance it was built on.
    This keeps V_FE - V_RE positive semi-definite far more often. A negative statistic
    gets no p-value.
    """
    needed = sorted(
        {fe_spec.outcome, re_spec.outcome, *design_terms(fe_spec), *design_terms(re_spec)}
        & set(panel.columns)
    )
    common = panel.dropna(subset=needed)
    fe = fit_model(common, fe_spec, covariance="unadjusted", unit=unit)
    re = fit_model(common, re_spec, covariance="unadjusted", unit=unit)
    terms = [t for t in fe.fit.params.index if t in re.fit.params.index and t != CONSTANT]
    fe_cov = fe.fit.cov
    if variance == "sigmamore":
        fe_cov = fe_cov * (error_variance(re.fit) / error_variance(fe.fit))
    statistic, rank, definite = hausman_statistic(
        fe.fit.params[terms], re.fit.params, fe_cov, re.fit.cov
    )
    note = (
        f"chi2({rank}) on {', '.join(terms)}; classical covariances "
        + ("each model's own" if variance == "own" else "both at the RE residual variance")
        + ("" if definite else "; V_FE - V_RE not positive definite, generalised inverse used")
    )
    if statistic < 0:
        # A negative quadratic form has no chi-squared p-value; the classical test has
        # failed in this sample, not accepted H0.
        p_value = np.nan
        conclusion = (
            "not valid: negative statistic (V_FE - V_RE not positive semi-definite); use "
            "variance: sigmamore or the cluster-robust version"
        )
    else:
        p_value = float(stats.chi2.sf(statistic, rank))
        conclusion = _verdict(p_value, "prefer fixed effects", "random effects consistent")
    return _row(
        "Hausman (FE vs RE)",
        f"{fe_spec.name} vs {re_spec.name}",
        statistic=statistic,
        df=rank,
        p_value=p_value,
        null_hypothesis=f"{unit} effects are uncorrelated with the regressors (RE consistent)",
        conclusion=conclusion,
        note=note,
        nobs=int(fe.fit.nobs),
    )


def mundlak_test(panel: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> dict[str, Any]:
    """Cluster-robust Hausman test (Mundlak 1978; Wooldridge 2010, sec. 10.7.3).

    Random effects of the outcome on the regressors, their unit means (over the
    estimation sample) and a constant; a cluster-robust Wald test that the means'
    coefficients are zero, reported as F(q, G-1). Valid under heteroskedasticity and
    serial correlation, unlike the classical test.
    """
    dependent, exog = _design(panel, spec)
    units = exog.index.get_level_values(ENTITY)
    varying = [t for t in exog.columns if (exog[t].groupby(units).std(ddof=0) > 1e-12).any()]
    means = exog[varying].groupby(units).transform("mean")
    means.columns = [f"mean_{t}" for t in varying]
    design = pd.concat([exog, means], axis=1)
    design[CONSTANT] = 1.0
    fit = fit_linear(dependent, design, "random_effects", CLUSTERED)
    gamma = fit.params[means.columns].to_numpy()
    covariance = fit.cov.loc[means.columns, means.columns].to_numpy()
    wald = float(gamma @ np.linalg.solve(covariance, gamma))
    q, clusters = len(varying), fit.n_entities
    statistic = wald / q
    p_value = float(stats.f.sf(statistic, q, clusters - 1))
    return _row(
        "Hausman, cluster-robust (Mundlak)",
        spec.name,
        statistic=statistic,
        df=q,
        df_denominator=clusters - 1,
        p_value=p_value,
        null_hypothesis=f"{unit} means of the regressors have zero coefficients (RE consistent)",
        conclusion=_verdict(p_value, "prefer fixed effects", "random effects consistent"),
        note=(
            f"Wald/q with a {unit}-clustered covariance, F({q}, {clusters - 1}); "
            f"means of {', '.join(varying)}; {fit.correction.describe()}"
        ),
        nobs=fit.nobs,
    )


# ------------------------------------------------------------- effects F test


def effects_f_statistic(
    rss_restricted: float, rss_unrestricted: float, df_numerator: int, df_denominator: int
) -> tuple[float, float]:
    """F = [(RSS_r - RSS_u)/q] / [RSS_u/(n-k-d)] and its p-value."""
    statistic = ((rss_restricted - rss_unrestricted) / df_numerator) / (
        rss_unrestricted / df_denominator
    )
    return float(statistic), float(stats.f.sf(statistic, df_numerator, df_denominator))


def effects_f_test(panel: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> dict[str, Any]:
    """F test that all unit effects are zero (plm's ``pFtest``; Stata's "F test that all
    u_i=0"), keeping the model's year effects in both models. Classical (homoskedastic)."""
    dependent, exog = _design(panel, spec)
    time_effects = spec.time_effects
    unrestricted = fit_linear(dependent, exog, "fixed_effects", CLASSICAL, True, time_effects)
    if time_effects:
        restricted = fit_linear(dependent, exog, "fixed_effects", CLASSICAL, False, True)
    else:
        restricted = fit_linear(dependent, exog.assign(**{CONSTANT: 1.0}), "pooled_ols", CLASSICAL)
    rss_u = float((unrestricted.residuals**2).sum())
    rss_r = float((restricted.residuals**2).sum())
    df_numerator = unrestricted.n_entities - 1
    df_denominator = int(unrestricted.correction.df)
    statistic, p_value = effects_f_statistic(rss_r, rss_u, df_numerator, df_denominator)
    return _row(
        f"F test of {unit} effects",
        spec.name,
        statistic=statistic,
        df=df_numerator,
        df_denominator=df_denominator,
        p_value=p_value,
        null_hypothesis=f"all {unit} effects are zero"
        + (" (given year effects)" if time_effects else ""),
        conclusion=_verdict(p_value, f"{unit} effects present", f"no evidence of {unit} effects"),
        note="classical F test comparing residual sums of squares",
        nobs=unrestricted.nobs,
    )


# --------------------------------------------------------------- Breusch-Pagan


def breusch_pagan_lm(residuals: pd.Series) -> tuple[float, float]:
    """Breusch–Pagan (1980) LM statistic for random unit effects and Honda's (1985) form.

    LM = n^2 / (2 (sum_i T_i^2 - n)) * (sum_i (sum_t e_it)^2 / sum e_it^2 - 1)^2, the
    Baltagi–Li (1990) form, which reduces to nT/(2(T-1)) [...]^2 in a balanced panel;
    Honda's statistic is its signed square root, standard normal under H0.
    """
    sums = residuals.groupby(level=0).sum()
    sizes = residuals.groupby(level=0).size().astype(float)
    n = float(len(residuals))
    ratio = float((sums**2).sum() / (residuals**2).sum())
    scale = n**2 / (2.0 * (float((sizes**2).sum()) - n))
    honda = np.sqrt(scale) * (ratio - 1.0)
    return float(honda**2), float(honda)


def breusch_pagan_test(panel: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> dict[str, Any]:
    """LM test for random unit effects on pooled OLS residuals of the model's terms."""
    dependent, exog = _design(panel, spec)
    pooled = fit_linear(dependent, exog.assign(**{CONSTANT: 1.0}), "pooled_ols", CLASSICAL)
    statistic, honda = breusch_pagan_lm(pooled.residuals)
    p_value = float(stats.chi2.sf(statistic, 1))
    return _row(
        "Breusch-Pagan LM (random effects)",
        spec.name,
        statistic=statistic,
        df=1,
        p_value=p_value,
        null_hypothesis=f"the variance of the {unit} effects is zero (pooled OLS suffices)",
        conclusion=_verdict(p_value, f"random {unit} effects present", "pooled OLS suffices"),
        note=f"pooled OLS residuals; Baltagi-Li form; Honda's one-sided z = {honda:.6g}",
        nobs=pooled.nobs,
    )


# --------------------------------------------------------- serial correlation


def wooldridge_serial_correlation(
    dependent: pd.Series, exog: pd.DataFrame, time_effects: bool = False
) -> dict[str, float]:
    """Wooldridge's (2002, sec. 10.6.3) test as Drukker (2003) implements it (``xtserial``).

    Regress first differences of y on first differences of x (no constant; year
    dummies if ``time_effects``); regress the residuals on their one-year lag, cluster
    by unit; under no serial correlation in the levels' errors the coefficient is
    -0.5. F = ((rho + 0.5)/se)^2 with F(1, G-1).
    """
    first_step = fit_linear(dependent, exog, "first_differences", CLUSTERED, False, time_effects)
    residuals = first_step.residuals.rename("residual").reset_index()
    lagged = residuals.assign(**{TIME: residuals[TIME] + 1}).rename(
        columns={"residual": "residual_lag"}
    )
    pairs = residuals.merge(lagged, on=[ENTITY, TIME]).set_index([ENTITY, TIME]).sort_index()
    second_step = fit_linear(pairs["residual"], pairs[["residual_lag"]], "pooled_ols", CLUSTERED)
    rho = float(second_step.params["residual_lag"])
    std_error = float(second_step.std_errors["residual_lag"])
    clusters = second_step.n_entities
    statistic = ((rho + 0.5) / std_error) ** 2
    return {
        "statistic": statistic,
        "rho": rho,
        "std_error": std_error,
        "df_denominator": clusters - 1,
        "p_value": float(stats.f.sf(statistic, 1, clusters - 1)),
        "nobs": second_step.nobs,
    }


def serial_correlation_test(
    panel: pd.DataFrame, spec: ModelSpec, unit: str = "city"
) -> dict[str, Any]:
    dependent, exog = _design(panel, spec)
    result = wooldridge_serial_correlation(dependent, exog, spec.time_effects)
    return _row(
        "Wooldridge serial correlation",
        spec.name,
        statistic=result["statistic"],
        df=1,
        df_denominator=result["df_denominator"],
        p_value=result["p_value"],
        null_hypothesis="no first-order serial correlation in the idiosyncratic errors",
        conclusion=_verdict(
            result["p_value"], "serially correlated errors", "no evidence of serial correlation"
        ),
        note=(
            f"AR coefficient of first-difference residuals {result['rho']:.6g} "
            f"(SE {result['std_error']:.6g}, {unit}-clustered) against -0.5"
        ),
        nobs=result["nobs"],
    )


# ---------------------------------------------------------------- Pesaran CD


#: Units per block of the pairwise sums: blocks of this many rows of the G x G pair
#: matrices keep the memory near 8 * CD_BLOCK_CELLS bytes per matrix whatever G.
CD_BLOCK_CELLS = 2_000_000


def pesaran_cd(residuals: pd.Series) -> tuple[float, int]:
    """Pesaran's (2004, 2015) CD statistic and the number of unit pairs it uses.

    CD = sum_{i<j} sqrt(T_ij) rho_ij / sqrt(M), rho_ij the correlation of the residuals
    of units i and j over their T_ij common periods, over the M pairs with T_ij >= 2
    and a defined correlation; CD is standard normal under independence. In a
    balanced panel M = N(N-1)/2, the textbook form.

    Exact over all pairs: the pairwise-complete sums (counts, sums, cross products) are
    matrix products of the T x N residual and observed-mask matrices, taken in blocks
    of units, so the cost is O(N^2 T) multiply-adds in BLAS (a second at N = 3,000)
    and the memory stays bounded.
    """
    wide = residuals.unstack(level=0)
    observed = wide.notna().to_numpy(dtype=float)
    values = np.nan_to_num(wide.to_numpy(dtype=float))
    squares = values**2
    n_units = values.shape[1]
    block = max(1, CD_BLOCK_CELLS // max(n_units, 1))
    total, pairs = 0.0, 0
    for start in range(0, n_units, block):
        rows = slice(start, min(start + block, n_units))
        common = observed[:, rows].T @ observed
        sum_x = values[:, rows].T @ observed  # unit i's sum over the periods j has
        sum_y = observed[:, rows].T @ values
        cross = values[:, rows].T @ values
        square_x = squares[:, rows].T @ observed
        square_y = observed[:, rows].T @ squares
        with np.errstate(divide="ignore", invalid="ignore"):
            covariance = cross - sum_x * sum_y / common
            variance_x = square_x - sum_x**2 / common
            variance_y = square_y - sum_y**2 / common
            correlation = covariance / np.sqrt(variance_x * variance_y)
        # Only pairs i < j; a series constant over the common periods has no correlation.
        later = np.arange(n_units)[None, :] > np.arange(rows.start, rows.stop)[:, None]
        constant = (variance_x <= 1e-12 * square_x) | (variance_y <= 1e-12 * square_y)
        usable = later & (common >= 2) & ~constant & np.isfinite(correlation)
        total += float(np.sum(np.sqrt(common[usable]) * correlation[usable]))
        pairs += int(usable.sum())
    return total / np.sqrt(pairs), pairs


def pesaran_cd_test(panel: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> dict[str, Any]:
    # The residuals do not depend on the covariance: skip a jackknife's G refits.
    fitted = fit_model(panel, spec, covariance="unadjusted", unit=unit)
    statistic, pairs = pesaran_cd(fitted.fit.residuals)
    kind = "Pearson residuals" if spec.estimator == "ppml" else "residuals"
    note = f"{kind} of the model; {pairs} {unit} pairs"
    year_effects = spec.time_effects and spec.estimator in (
        "fixed_effects",
        "ppml",
        "first_differences",
    )
    if year_effects:
        # Residuals net of year effects sum to about zero across units in every year, so
        # the pairwise correlations average -1/(N-1): CD is pulled towards
        # -sqrt(T N / (2 (N - 1))) even under independence (Juodis and Reese, 2022).
        n, t = fitted.fit.n_entities, fitted.fit.n_periods
        expected = -np.sqrt(t * n / (2.0 * (n - 1)))
        p_value = np.nan
        # A true minus, as the tables print every negative number.
        about = f"{expected:.3g}".replace("-", "\u2212")
        conclusion = (
            f"no p-value: after year effects CD is about {about} under independence, not N(0,1)"
        )
        note += (
            f"; after year effects CD is about {expected:.3g} under independence "
            "(Juodis and Reese 2022), so N(0,1) does not apply"
        )
    else:
        p_value = float(2.0 * stats.norm.sf(abs(statistic)))
        conclusion = _verdict(
            p_value, "cross-sectional dependence", "no evidence of cross-sectional dependence"
        )
        note += "; standard normal under H0"
    return _row(
        "Pesaran CD (cross-sectional dependence)",
        spec.name,
        statistic=statistic,
        p_value=p_value,
        null_hypothesis=f"the {kind} of different {unit_words(unit)[1]} are uncorrelated",
        conclusion=conclusion,
        note=note,
        nobs=fitted.fit.nobs,
    )


# ------------------------------------------------------------------------ VIF


def variance_inflation_factors(
    regressors: pd.DataFrame, absorbed: FixedEffects | None = None
) -> pd.Series:
    """VIF_j = 1 / (1 - R_j^2), R_j^2 from regressing x_j on the other regressors.

    The regressors are first purged of the ``absorbed`` fixed effects (by group sums,
    no dummy matrix), or centred if ``absorbed`` is None, so R_j^2 is the centred R^2
    of the variation the model actually uses (Stata's ``estat vif`` after ``regress``
    for pooled OLS).
    """
    values = regressors.to_numpy(dtype=float)
    if absorbed is None:
        purged = values - values.mean(axis=0)
    else:
        purged = absorbed.partial_out(values)
    factors = {}
    for j, term in enumerate(regressors.columns):
        target, others = purged[:, j], np.delete(purged, j, axis=1)
        fitted = others @ np.linalg.lstsq(others, target, rcond=None)[0]
        r_squared = 1.0 - float(np.sum((target - fitted) ** 2) / np.sum(target**2))
        factors[term] = 1.0 / (1.0 - r_squared) if r_squared < 1.0 else np.inf
    return pd.Series(factors, name="vif")


def vif_rows(panel: pd.DataFrame, spec: ModelSpec, unit: str = "city") -> list[dict[str, Any]]:
    """One row per regressor; the variation used is that left after the model's
    effects (fixed effects, differences or unit means)."""
    _, exog = _design(panel, spec)
    estimator = spec.estimator
    absorbed = None
    basis = "centred regressors"
    if estimator in ABSORBING_ESTIMATORS and (spec.entity_effects or spec.time_effects):
        absorbed = FixedEffects.from_index(exog.index, spec.entity_effects, spec.time_effects)
        basis = "regressors net of the model's fixed effects"
    elif estimator == "first_differences":
        exog = first_differences(exog)
        if spec.time_effects:
            absorbed = FixedEffects.from_index(exog.index, False, True)
        basis = "first-differenced regressors" + (
            " net of year effects" if spec.time_effects else ""
        )
    elif estimator == "between":
        exog = exog.groupby(level=ENTITY).mean()
        basis = f"{unit} means of the regressors"
    factors = variance_inflation_factors(exog, absorbed)
    return [
        _row(
            "VIF",
            spec.name,
            term=term,
            statistic=float(value),
            null_hypothesis="",
            conclusion=(
                f"above {VIF_THRESHOLD:g}: strong collinearity"
                if value > VIF_THRESHOLD
                else f"below {VIF_THRESHOLD:g}"
            ),
            note=f"1/(1-R2) on {basis}",
            nobs=len(exog),
        )
        for term, value in factors.items()
    ]


# ------------------------------------------------------------------------ all


def run_diagnostics(
    panel: pd.DataFrame,
    models: Mapping[str, ModelSpec],
    diagnostics: DiagnosticsSpec,
    unit: str = "city",
) -> pd.DataFrame:
    """Every configured test, in a fixed order, as one frame of DIAGNOSTICS_COLUMNS."""
    hausman = diagnostics.hausman
    rows: list[dict[str, Any]] = [
        hausman_test(
            panel,
            models[hausman.fixed_effects],
            models[hausman.random_effects],
            hausman.variance,
            unit,
        ),
        mundlak_test(panel, models[hausman.random_effects], unit),
    ]
    tests = {
        "effects_f_test": effects_f_test,
        "breusch_pagan": breusch_pagan_test,
        "serial_correlation": serial_correlation_test,
        "cross_sectional_dependence": pesaran_cd_test,
    }
    for key, names in diagnostics.model_tests:
        for name in names:
            if key == "vif":
                rows.extend(vif_rows(panel, models[name], unit))
            else:
                rows.append(tests[key](panel, models[name], unit))
    LOGGER.info("%d diagnostic rows", len(rows))
    return pd.DataFrame(rows, columns=DIAGNOSTICS_COLUMNS)
