"""Estimation is checked against known DGPs and against second engines (statsmodels,
linearmodels' own estimators); published references are in test_published_references.py."""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from conftest import simulate_panel
from linearmodels.panel import FirstDifferenceOLS

from innopanel.config.covariances import ESTIMATORS
from innopanel.config.multiverse import multiverse_spec
from innopanel.config.specs import model_spec, model_specs
from innopanel.econometrics.covariance import CovarianceSpec, automatic_bandwidth
from innopanel.econometrics.estimators import (
    drop_all_zero_groups,
    first_differences,
    fit_linear,
    fit_ppml,
)
from innopanel.econometrics.models import (
    ESTIMATES_COLUMNS,
    RESIDUALS_COLUMNS,
    EstimationError,
    FittedModel,
    check_size,
    estimate_models,
    fit_model,
    model_frame,
    tidy,
    write_estimates,
)
from innopanel.econometrics.multiverse import prepare_panel

TRUE_SLOPES = {"x_rd": 0.5, "x_talent": -0.3}


# The tests' one synthetic panel (conftest.simulate_panel) with these slopes: x_rd loads
# on the unit effect (pooled estimates are biased), cities are c000, c001, ...
linear_panel = partial(simulate_panel, slopes=TRUE_SLOPES, unit_prefix="c")


def spec(estimator: str, **extra: object) -> dict:
    return {
        "label": estimator,
        "estimator": estimator,
        "outcome": "y",
        "regressors": ["x_rd"],
        "controls": ["x_talent"],
        "covariance": "clustered",
        **extra,
    }


def fit(panel: pd.DataFrame, name: str, raw: dict, **options: object) -> FittedModel:
    """Fit the model a config entry ``raw`` describes, as the estimate step does."""
    return fit_model(panel, model_spec(name, raw), **options)


def specs(raw_models: dict) -> dict:
    return {name: model_spec(name, raw) for name, raw in raw_models.items()}


TWOWAY = spec("fixed_effects", entity_effects=True, time_effects=True)
CITY_FE = spec("fixed_effects", entity_effects=True, time_effects=False)


def correction_factor(correction: str) -> float:
    """Recompute the variance scale from the recorded correction sentence."""
    n, k, d = (int(v) for v in re.search(r"n=(\d+), k=(\d+), d=(\d+)", correction).groups())
    groups = re.search(r"G=(\d+)", correction)
    if groups is None:
        return n / (n - k - d)
    g = int(groups.group(1))
    return g / (g - 1) * (n - 1) / (n - k - d)


def test_two_way_fe_recovers_the_true_slopes() -> None:
    estimates = tidy(fit(linear_panel(n_units=400, seed=1), "twoway", TWOWAY))
    for term, truth in TRUE_SLOPES.items():
        row = estimates.set_index("term").loc[term]
        # Tolerance: 4 standard errors (SE about 0.005 here), and absolute 0.03.
        assert abs(row["estimate"] - truth) < min(4 * row["std_error"], 0.03)


def test_pooled_ols_is_biased_where_fe_is_not() -> None:
    panel = linear_panel(n_units=400, seed=2)
    pooled = tidy(fit(panel, "pooled", spec("pooled_ols"))).set_index("term")
    assert pooled.loc["x_rd", "estimate"] > TRUE_SLOPES["x_rd"] + 0.1  # city effect leaks in


@pytest.mark.parametrize(
    "raw", [TWOWAY, CITY_FE, spec("pooled_ols")], ids=["twoway_fe", "city_fe", "pooled_ols"]
)
def test_linearmodels_agrees_with_statsmodels(raw: dict) -> None:
    panel = linear_panel()
    fitted = fit(panel, "m", raw)
    ours = tidy(fitted).set_index("term")

    formula = "y ~ x_rd + x_talent"
    if raw.get("entity_effects"):
        formula += " + C(unit_id)"
    if raw.get("time_effects"):
        formula += " + C(year)"
    # statsmodels' raw cluster sandwich (no correction), then our recorded correction.
    reference = smf.ols(formula, data=panel).fit(
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(panel["unit_id"])[0], "use_correction": False},
    )
    scale = correction_factor(fitted.correction)
    for term in ("x_rd", "x_talent"):
        assert ours.loc[term, "estimate"] == pytest.approx(reference.params[term], rel=1e-8)
        expected_se = np.sqrt(reference.cov_params().loc[term, term] * scale)
        assert ours.loc[term, "std_error"] == pytest.approx(expected_se, rel=1e-8)


def test_nested_city_effects_are_not_counted_but_year_effects_are() -> None:
    # Clustered by city: city effects are nested in the clusters (d excludes them, as
    # Stata's xtreg, fe and reghdfe); the T-1 year effects are counted.
    twoway = fit(linear_panel(), "twoway", TWOWAY)
    assert "d=9 absorbed effects" in twoway.correction
    robust = fit(linear_panel(), "twoway", TWOWAY, covariance="robust")
    assert "d=89 absorbed effects" in robust.correction  # 80 cities + 10 years - 1
    two_way = fit(linear_panel(n_years=12), "tw", TWOWAY, covariance="two_way_clustered")
    assert "d=0 absorbed effects" in two_way.correction and "M=12" in two_way.correction


def test_tidy_output_has_every_column_and_records_corrections() -> None:
    estimates = tidy(fit(linear_panel(), "city_fe", CITY_FE))
    assert list(estimates.columns) == ESTIMATES_COLUMNS
    row = estimates.iloc[0]
    assert row["nobs"] == 800 and row["n_entities"] == 80 and row["n_periods"] == 10
    assert row["cov_label"] == "Clustered by city"
    # City effects nested in city clusters are not counted (d=0), as in Stata's xtreg, fe.
    assert "d=0" in row["small_sample_correction"] and "G=80" in row["small_sample_correction"]
    assert row["reference_distribution"] == "t" and row["df_inference"] == 79
    assert row["correction_factor"] == pytest.approx(80 / 79 * 799 / 798)
    assert row["ci_lower"] < row["estimate"] < row["ci_upper"]
    assert row["term_kind"] == "coefficient"
    assert row["sample_first_year"] == 2011 and row["sample_last_year"] == 2020


def test_confidence_interval_uses_the_recorded_reference_distribution() -> None:
    row = tidy(fit(linear_panel(), "city_fe", CITY_FE)).iloc[0]
    half_width = (row["ci_upper"] - row["ci_lower"]) / 2
    assert half_width == pytest.approx(1.990450 * row["std_error"], rel=1e-5)  # t(79) quantile
    ppml = tidy(
        fit(
            poisson_panel(), "p", {**POISSON, "covariance": "robust"}
        )  # likelihood + robust: normal reference
    ).iloc[0]
    assert ppml["reference_distribution"] == "normal"
    assert (ppml["ci_upper"] - ppml["ci_lower"]) / 2 == pytest.approx(
        1.959964 * ppml["std_error"], rel=1e-5
    )


def test_missing_rows_are_dropped_before_fitting() -> None:
    panel = linear_panel()
    panel.loc[[0, 5, 17], "x_rd"] = np.nan
    row = tidy(fit(panel, "twoway", TWOWAY)).iloc[0]
    assert row["nobs"] == 797


def test_random_effects_and_pooled_get_a_constant_placed_last() -> None:
    estimates = estimate_models(linear_panel(), specs({"re": spec("random_effects")})).table
    assert estimates["term"].tolist() == ["x_rd", "x_talent", "const"]


def test_panel_too_small_for_a_model_says_why_and_names_the_fix() -> None:
    # Two-way FE on 3 cities x 2 years: 2 slopes + 3 city + 2 year - 1 effects = 6 rows.
    with pytest.raises(EstimationError) as error:
        fit(linear_panel(n_units=3, n_years=2), "twoway", TWOWAY)
    message = str(error.value)
    assert "the panel is too small for model 'twoway'" in message
    assert "6 usable row(s) (3 cities, 2 year(s))" in message
    assert "2 coefficient(s) and 4 absorbed effect(s) leave 0 residual degrees" in message
    assert "Widen study.first_year..study.last_year" in message
    assert "drop terms from models.twoway" in message


@pytest.mark.parametrize(
    ("n_cities", "n_years", "raw", "problem"),
    [
        (1, 10, spec("pooled_ols"), "it needs at least 2 cities"),
        (5, 1, CITY_FE, "unit effects need at least 2 years"),
        (3, 10, spec("between", covariance="robust"), "between has one observation per unit"),
    ],
    ids=["one_city", "one_year_with_unit_effects", "between_on_three_means"],
)
def test_each_size_problem_is_named(n_cities: int, n_years: int, raw: dict, problem: str) -> None:
    with pytest.raises(EstimationError, match=problem):
        fit(linear_panel(n_units=n_cities, n_years=n_years), "m", raw)


@pytest.mark.parametrize("estimator", ["fixed_effects", "ppml"])
def test_ppml_absorbs_effects_like_fixed_effects_and_has_no_constant(estimator: str) -> None:
    # Two-way effects cost cities + years - 1 degrees of freedom, and there is no
    # constant: 8 rows of 3 cities x 3 years leave 8 - 2 slopes - 5 effects = 1.
    raw = spec(estimator, entity_effects=True, time_effects=True)
    panel = linear_panel(n_units=4, n_years=3).assign(y=lambda d: np.exp(d["y"]))
    frame = model_frame(panel, model_spec("m", raw))
    check_size(frame.iloc[:8], model_spec("m", raw))
    # 2 cities x 3 years: 6 - 2 - (2 + 3 - 1) = 0.
    with pytest.raises(
        EstimationError, match=r"2 coefficient\(s\) and 4 absorbed effect\(s\) leave 0"
    ):
        check_size(frame.iloc[:6], model_spec("m", raw))


def test_a_jackknife_by_refits_over_its_cluster_cap_is_refused_and_says_why() -> None:
    panel = linear_panel(n_units=12, n_years=6).assign(y=lambda d: np.exp(d["y"]))
    effects = {"entity_effects": True, "time_effects": True}
    ppml = spec("ppml", covariance="clustered_jackknife", jackknife_max_clusters=11, **effects)
    with pytest.raises(EstimationError) as error:
        fit(panel, "counts", ppml)
    message = str(error.value)
    assert "model 'counts': the leave-one-city-out jackknife would refit" in message
    assert "12 times on about 72 rows each" in message
    assert "models.counts.jackknife_max_clusters = 11" in message
    assert "set models.counts.covariance: clustered" in message
    assert fit(panel, "counts", {**ppml, "jackknife_max_clusters": 12}).fit.nobs == 72
    # FE's jackknife is exact in one pass over the rows: no refits, so no cap.
    within = spec("fixed_effects", covariance="clustered_jackknife", jackknife_max_clusters=2)
    assert fit(panel, "within", {**within, **effects}).fit.nobs == 72
    assert model_spec("m", spec("ppml")).jackknife_max_clusters == 5000  # the default


def test_a_model_window_without_rows_is_named() -> None:
    with pytest.raises(EstimationError, match=r"no rows in 2030-2035.*models\.late"):
        fit(linear_panel(), "late", {**TWOWAY, "first_year": 2030, "last_year": 2035})


def test_an_all_missing_variable_is_named_not_called_a_small_panel() -> None:
    panel = linear_panel().assign(x_talent=np.nan)
    with pytest.raises(EstimationError, match="x_talent has no value in any year") as error:
        fit(panel, "twoway", TWOWAY)
    assert "too small" not in str(error.value)


def test_any_unit_noun_works_with_clustered_standard_errors() -> None:
    row = tidy(fit(linear_panel(), "m", CITY_FE, unit="region")).iloc[0]
    assert row["cov_label"] == "Clustered by region"
    with pytest.raises(EstimationError, match=r"5 region clusters are too few.*add regions"):
        fit(linear_panel(n_units=5), "m", CITY_FE, unit="region")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (spec("pooled_ols", entity_effects=True), "entity_effects or time_effects"),
        (spec("random_effects", time_effects=True), "entity_effects or time_effects"),
        (spec("between", covariance="robust", entity_effects=True), "entity_effects"),
        (spec("first_differences", entity_effects=True), "set entity_effects to false"),
        (spec("fixed_effects"), "needs entity_effects or time_effects"),
    ],
    ids=["pooled_unit", "re_year", "between_unit", "fd_unit", "fe_none"],
)
def test_effects_an_estimator_cannot_take_are_refused(raw: dict, key: str) -> None:
    # The Python API refuses what the start-up config check refuses, in the same words.
    with pytest.raises(EstimationError, match=r"models\.bad: .*" + re.escape(key)):
        fit(linear_panel(), "bad", raw)


def test_kernel_keys_on_a_kind_without_a_kernel_are_refused() -> None:
    with pytest.raises(EstimationError, match=r"models\.m\.bandwidth applies only to covariance"):
        fit(linear_panel(), "m", {**TWOWAY, "bandwidth": 2})


def test_unknown_column_is_a_clear_error() -> None:
    with pytest.raises(EstimationError, match=r"no column\(s\) \['x_missing'\]"):
        fit(linear_panel(), "m", {**CITY_FE, "controls": ["x_missing"]})


def test_too_few_year_clusters_for_two_way_clustering_is_a_clear_error() -> None:
    with pytest.raises(EstimationError, match="6 year clusters are too few"):
        fit(linear_panel(n_years=6), "m", {**TWOWAY, "covariance": "two_way_clustered"})


# --------------------------------------------------------------- between, FD


def test_between_is_ols_on_unit_means() -> None:
    panel = linear_panel()
    model = {**spec("between"), "covariance": "robust"}
    ours = tidy(fit(panel, "be", model)).set_index("term")
    means = panel.groupby("unit_id")[["y", "x_rd", "x_talent"]].mean()
    reference = smf.ols("y ~ x_rd + x_talent", data=means).fit(cov_type="HC1")
    for term in ("x_rd", "x_talent"):
        assert ours.loc[term, "estimate"] == pytest.approx(reference.params[term], rel=1e-9)
        assert ours.loc[term, "std_error"] == pytest.approx(reference.bse[term], rel=1e-8)
    assert ours.loc["x_rd", "nobs"] == 80


def test_first_differences_agree_with_linearmodels_first_difference_ols() -> None:
    panel = linear_panel()
    model = spec("first_differences", covariance="unadjusted")
    ours = fit(panel, "fd", model).fit
    frame = panel.set_index(["unit_id", "year"])
    reference = FirstDifferenceOLS(frame["y"], frame[["x_rd", "x_talent"]]).fit(debiased=True)
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-10)
    np.testing.assert_allclose(ours.std_errors, reference.std_errors, rtol=1e-10)


def test_first_differences_with_year_effects_recover_the_slopes() -> None:
    panel = linear_panel(n_units=400, seed=3)
    model = spec("first_differences", time_effects=True)
    estimates = tidy(fit(panel, "fd", model)).set_index("term")
    assert list(estimates.index) == ["x_rd", "x_talent"]  # year dummies are not reported
    for term, truth in TRUE_SLOPES.items():
        assert abs(estimates.loc[term, "estimate"] - truth) < 4 * estimates.loc[term, "std_error"]
    assert "year dummies" in estimates.loc["x_rd", "note"]


def test_first_differences_skip_gap_years() -> None:
    index = pd.MultiIndex.from_tuples(
        [("a", 2011), ("a", 2012), ("a", 2014), ("b", 2011), ("b", 2012)],
        names=["unit_id", "year"],
    )
    frame = pd.DataFrame({"v": [1.0, 3.0, 10.0, 5.0, 4.0]}, index=index)
    differences = first_differences(frame)
    assert differences.index.tolist() == [("a", 2012), ("b", 2012)]
    assert differences["v"].tolist() == [2.0, -1.0]


# ----------------------------------------------------------------- dynamics


def lag_panel(n_units: int = 300, n_years: int = 12, seed: int = 5) -> pd.DataFrame:
    """simulate_panel with y = a_i + g_t + 0.3 x_t + 0.2 x_{t-1} + 0.1 x_{t-2} + u (long-run
    effect 0.6): two pre-sample years give x its lags, and their y is missing."""
    panel = simulate_panel(
        n_units, n_years + 2, seed, slopes={"x_rd": 0.3}, first_year=2009, unit_prefix="c"
    )
    earlier = panel.groupby("unit_id")["x_rd"]
    panel["y"] += 0.2 * earlier.shift(1) + 0.1 * earlier.shift(2)
    return panel


def test_distributed_lags_recover_the_long_run_effect_and_its_se() -> None:
    panel = lag_panel()
    model = {
        **TWOWAY,
        "controls": [],
        "distributed_lags": {"x_rd": 2},
    }
    fitted = fit(panel, "dl", model)
    estimates = tidy(fitted).set_index("term")
    assert list(estimates.index) == ["x_rd", "x_rd_lag1", "x_rd_lag2", "x_rd_long_run"]
    for term, truth in {"x_rd": 0.3, "x_rd_lag1": 0.2, "x_rd_lag2": 0.1}.items():
        assert abs(estimates.loc[term, "estimate"] - truth) < 4 * estimates.loc[term, "std_error"]
    long_run = estimates.loc["x_rd_long_run"]
    assert long_run["term_kind"] == "long_run_sum"
    assert abs(long_run["estimate"] - 0.6) < 4 * long_run["std_error"]
    # The SE is sqrt(1'V1) over the three lag coefficients' covariance.
    block = fitted.fit.cov.loc[
        ["x_rd", "x_rd_lag1", "x_rd_lag2"], ["x_rd", "x_rd_lag1", "x_rd_lag2"]
    ]
    assert long_run["std_error"] == pytest.approx(float(np.sqrt(block.to_numpy().sum())))
    assert long_run["estimate"] == pytest.approx(
        estimates.loc[["x_rd", "x_rd_lag1", "x_rd_lag2"], "estimate"].sum()
    )


def test_lags_are_by_calendar_year_and_reach_before_a_sub_period() -> None:
    panel = lag_panel(n_units=3, n_years=4).dropna(subset=["y"])
    panel = panel[~((panel["unit_id"] == "c000") & (panel["year"] == 2012))]  # a gap year
    model = {**TWOWAY, "controls": [], "distributed_lags": {"x_rd": 1}, "first_year": 2013}
    frame = model_frame(panel, model_spec("dl", model))
    assert frame.index.get_level_values("year").min() == 2013
    # c000's 2013 lag would be 2012, which is missing: the row is dropped, not shifted.
    assert ("c000", 2013) not in frame.index
    expected = panel.set_index(["unit_id", "year"]).loc[("c001", 2012), "x_rd"]
    assert frame.loc[("c001", 2013), "x_rd_lag1"] == expected


def test_centred_interaction_recovers_its_coefficient_and_the_slope_at_the_mean() -> None:
    rng = np.random.default_rng(11)
    panel = linear_panel(n_units=300, seed=11)
    panel["x_talent"] = rng.normal(2.0, 1.0, len(panel))
    panel["y"] = (
        panel.groupby("unit_id")["x_rd"].transform("mean")
        + 0.5 * panel["x_rd"]
        - 0.3 * panel["x_talent"]
        + 0.2 * panel["x_rd"] * panel["x_talent"]
        + rng.normal(0, 0.3, len(panel))
    )
    model = {**CITY_FE, "interactions": [["x_rd", "x_talent"]]}
    estimates = tidy(fit(panel, "ix", model)).set_index("term")
    row = estimates.loc["x_rd_x_x_talent"]
    assert abs(row["estimate"] - 0.2) < 4 * row["std_error"]
    # Centred: the main effect of x_rd is its slope at the sample mean of x_talent.
    slope_at_mean = 0.5 + 0.2 * panel["x_talent"].mean()
    assert (
        abs(estimates.loc["x_rd", "estimate"] - slope_at_mean)
        < 4 * estimates.loc["x_rd", "std_error"]
    )
    assert "centred" in row["note"]


def test_sub_period_models_use_only_their_years() -> None:
    panel = linear_panel()
    row = tidy(fit(panel, "late", {**TWOWAY, "first_year": 2016})).iloc[0]
    assert (row["sample_first_year"], row["sample_last_year"]) == (2016, 2020)
    assert row["n_periods"] == 5 and row["nobs"] == 400


# --------------------------------------------------------------------- PPML

POISSON_TRUTH = {"x_rd": 0.3, "x_talent": -0.2}
POISSON = {
    "label": "PPML",
    "estimator": "ppml",
    "entity_effects": True,
    "time_effects": True,
    "outcome": "y",
    "regressors": ["x_rd"],
    "controls": ["x_talent"],
    "covariance": "clustered",
}


# Counts drawn from NB2 (theta 5) with mean exp(a_i + g_t + 0.3 x_rd - 0.2 x_talent).
poisson_panel = partial(
    simulate_panel,
    n_units=60,
    n_years=8,
    seed=4,
    outcome="poisson",
    slopes=POISSON_TRUTH,
    unit_prefix="c",
)


def test_ppml_recovers_the_true_coefficients() -> None:
    estimates = tidy(fit(poisson_panel(n_units=400), "ppml", POISSON)).set_index("term")
    for term, truth in POISSON_TRUTH.items():
        assert abs(estimates.loc[term, "estimate"] - truth) < 4 * estimates.loc[term, "std_error"]
    assert estimates.loc["x_rd", "std_error"] < 0.05  # the check has power
    assert 0 < estimates.loc["x_rd", "pseudo_r2"] < 1


def always_zero_units(panel: pd.DataFrame) -> list[str]:
    totals = panel.groupby("unit_id")["y"].sum()
    return sorted(totals.index[totals == 0])


def test_ppml_matches_statsmodels_poisson_with_dummies() -> None:
    panel = poisson_panel()
    fitted = fit(panel, "ppml", POISSON)
    # A unit whose outcome is always zero has an effect of minus infinity and no
    # information on the slopes; PPML drops it, so the reference is fitted without it.
    kept = panel[~panel["unit_id"].isin(always_zero_units(panel))]
    reference = smf.glm(
        "y ~ x_rd + x_talent + C(unit_id) + C(year)",
        data=kept,
        family=sm.families.Poisson(),
    ).fit(
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(kept["unit_id"])[0], "use_correction": False},
    )
    g = kept["unit_id"].nunique()
    assert fitted.fit.n_entities == g
    for term in POISSON_TRUTH:
        assert fitted.fit.params[term] == pytest.approx(reference.params[term], rel=1e-7)
        expected = np.sqrt(reference.cov_params().loc[term, term] * g / (g - 1))
        assert fitted.fit.std_errors[term] == pytest.approx(expected, rel=1e-6)
    assert "G/(G-1) with" in fitted.correction


def test_ppml_drops_cities_whose_outcome_is_always_zero_and_reports_them() -> None:
    panel = poisson_panel()
    panel.loc[panel["unit_id"].isin(["c003", "c017"]), "y"] = 0.0
    dropped = always_zero_units(panel)
    assert {"c003", "c017"} <= set(dropped)
    row = tidy(fit(panel, "ppml", POISSON)).iloc[0]
    assert row["dropped_units"] == len(dropped)
    assert ", ".join(dropped) in row["note"] and "always zero" in row["note"]
    kept = 60 - len(dropped)
    assert row["n_entities"] == kept and row["nobs"] == kept * 8


def test_ppml_refuses_a_negative_outcome_naming_the_row() -> None:
    panel = poisson_panel()
    panel.loc[5, "y"] = -1.0
    with pytest.raises(EstimationError, match="city 'c000' in 2016"):
        fit(panel, "ppml", POISSON)


def test_ppml_jackknife_matches_leave_one_city_out_refits_with_statsmodels() -> None:
    panel = poisson_panel(n_units=12, n_years=6)
    frame = panel.set_index(["unit_id", "year"])
    exog = frame[["x_rd", "x_talent"]]
    fit = fit_ppml(frame["y"], exog, CovarianceSpec("clustered_jackknife"))
    deviations = []
    for city in frame.index.get_level_values(0).unique():
        subset = panel[panel["unit_id"] != city]
        refit = smf.glm(
            "y ~ x_rd + x_talent + C(unit_id) + C(year)",
            data=subset,
            family=sm.families.Poisson(),
        ).fit(tol=1e-12)
        deviations.append(refit.params[list(POISSON_TRUTH)].to_numpy() - fit.params.to_numpy())
    deviations = np.asarray(deviations)
    expected = (12 - 1) / 12 * deviations.T @ deviations
    np.testing.assert_allclose(fit.cov.to_numpy(), expected, rtol=1e-6)
    assert fit.correction.df == 11


# ------------------------------------------------------------ covariances


def test_driscoll_kraay_records_kernel_and_bandwidth() -> None:
    model = {**TWOWAY, "covariance": "driscoll_kraay", "bandwidth": 3}
    row = tidy(fit(linear_panel(), "dk", model)).iloc[0]
    assert row["kernel"] == "bartlett" and row["bandwidth"] == 3
    assert row["cov_label"] == "Driscoll–Kraay (Bartlett kernel, bandwidth 3)"
    assert row["df_inference"] == 9  # T - 1
    automatic = tidy(fit(linear_panel(), "dk", {**TWOWAY, "covariance": "driscoll_kraay"}))
    assert automatic.iloc[0]["bandwidth"] == automatic_bandwidth(10) == 2


def test_jackknife_of_a_linear_model_matches_explicit_refits() -> None:
    panel = linear_panel(n_units=12, n_years=5)
    fitted = fit(panel, "jk", {**CITY_FE, "covariance": "clustered_jackknife"})
    deviations = []
    for city in panel["unit_id"].unique():
        refit = smf.ols("y ~ x_rd + x_talent + C(unit_id)", panel[panel["unit_id"] != city]).fit()
        deviations.append(refit.params[["x_rd", "x_talent"]].to_numpy() - fitted.fit.params)
    deviations = np.asarray(deviations, dtype=float)
    np.testing.assert_allclose(
        fitted.fit.cov.to_numpy(), 11 / 12 * deviations.T @ deviations, rtol=1e-8
    )
    assert tidy(fitted).iloc[0]["cov_label"] == "Clustered by city (jackknife)"


def test_between_refuses_clustered_standard_errors() -> None:
    with pytest.raises(EstimationError, match="one observation per unit"):
        fit(linear_panel(), "be", spec("between"))


# ------------------------------------------------------------------ outputs


def test_estimates_are_written_as_identical_csv_and_parquet(tmp_path) -> None:
    estimates = estimate_models(
        linear_panel(), specs({"twoway": TWOWAY, "dl": {**TWOWAY, "distributed_lags": {"x_rd": 1}}})
    )
    for prefix in ("a", "b"):
        paths = [tmp_path / f"{prefix}{suffix}" for suffix in (".csv", ".parquet", "_res.parquet")]
        write_estimates(estimates, "a note", *paths)
    for suffix in (".parquet", "_res.parquet"):
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()
    from_parquet = pd.read_parquet(tmp_path / "a.parquet")
    from_csv = pd.read_csv(tmp_path / "a.csv")
    assert list(from_parquet.columns) == [*ESTIMATES_COLUMNS, "data_note"]
    assert (from_csv["data_note"] == "a note").all()
    np.testing.assert_allclose(from_parquet["estimate"], from_csv["estimate"], rtol=1e-11)
    residuals = pd.read_parquet(tmp_path / "a_res.parquet")
    assert list(residuals.columns) == [*RESIDUALS_COLUMNS, "data_note"]
    pd.testing.assert_frame_equal(
        residuals.drop(columns="data_note"), estimates.residuals, check_dtype=True
    )
    assert not list(tmp_path.glob("*partial*"))


def test_residuals_are_the_fitted_models_own_and_sorted() -> None:
    panel = linear_panel().sample(frac=1.0, random_state=1)  # rows out of order
    raw = {
        "twoway": TWOWAY,
        "pooled": spec("pooled_ols"),
        "fd": spec("first_differences"),
        "be": spec("between", covariance="robust"),
    }
    residuals = estimate_models(panel, specs(raw)).residuals
    assert list(residuals.columns) == RESIDUALS_COLUMNS
    keys = residuals[["model", "unit_id", "year"]]
    assert keys.equals(keys.sort_values(["model", "unit_id", "year"], ignore_index=True))
    # Between's observations are unit means: it writes no residuals.
    assert set(residuals["model"]) == {"twoway", "pooled", "fd"}
    for name in ("twoway", "pooled"):
        result = fit(panel, name, raw[name], covariance="unadjusted").result
        ours = residuals[residuals["model"] == name].set_index(["unit_id", "year"])
        np.testing.assert_array_equal(ours["residual"], result.resids.sort_index())
        outcome = panel.set_index(["unit_id", "year"])["y"].reindex(ours.index)
        np.testing.assert_array_equal(ours["fitted"], outcome - ours["residual"])
    # First differences: one row per consecutive-year pair, the later year named.
    fd = residuals[residuals["model"] == "fd"]
    assert len(fd) == 80 * 9 and fd["year"].min() == 2012


def test_ppml_writes_response_residuals_about_its_mean() -> None:
    panel = poisson_panel()
    estimates = estimate_models(panel, specs({"ppml": POISSON}))
    ours = estimates.residuals.set_index(["unit_id", "year"])
    kept = panel[~panel["unit_id"].isin(always_zero_units(panel))]
    dense = smf.glm(
        "y ~ x_rd + x_talent + C(unit_id) + C(year)", data=kept, family=sm.families.Poisson()
    ).fit(tol=1e-13)
    mean = pd.Series(
        dense.fittedvalues.to_numpy(), index=pd.MultiIndex.from_frame(kept[["unit_id", "year"]])
    )
    np.testing.assert_allclose(ours["fitted"], mean.reindex(ours.index), rtol=1e-8)
    outcome = panel.set_index(["unit_id", "year"])["y"].reindex(ours.index)
    np.testing.assert_allclose(ours["residual"], outcome - ours["fitted"], rtol=1e-12, atol=1e-12)


def test_two_way_fe_recovers_the_demo_dgp(study_config: dict) -> None:
    """The configured two-way FE model, on a large draw of the demo DGP, finds its truth.

    log(patents) is a log-linear NB2 outcome, so linear FE is consistent up to a
    Jensen term that is constant (1/2θ) plus 1/(2μ), small for μ in the hundreds.
    """
    from innopanel.data.derivations import derive_variables
    from innopanel.synthetic.dgp import DemoParameters, simulate_panel

    parameters = DemoParameters()
    raw = simulate_panel(
        [f"c{i:03d}" for i in range(400)], range(2011, 2023), seed=11, parameters=parameters
    )
    panel = derive_variables(raw, study_config["variables"], study_config["units"])
    model = study_config["models"]["twoway_fe"]
    estimates = tidy(fit(panel, "twoway_fe", model)).set_index("term")
    truth = parameters.coefficients()
    for term in model["regressors"]:
        row = estimates.loc[term]
        # Stated tolerance: within 4 clustered SEs of the true coefficient.
        assert abs(row["estimate"] - truth[term]) < 4 * row["std_error"], (term, row["estimate"])
    assert estimates.loc["rd_intensity", "std_error"] < 0.02  # the check has power


def test_every_configured_model_estimates_on_the_bundled_demo_panel(study_config: dict) -> None:
    """Each default model fits the demo panel; robustness models have their rows."""
    from innopanel.data.derivations import derive_variables
    from innopanel.synthetic.calibration import build_demo_panel

    cities = pd.read_csv("config/cities.csv", dtype=str, keep_default_na=False)
    seed = study_config["demo"]["seed"]
    raw = build_demo_panel(cities, 2011, 2022, seed)
    panel = derive_variables(raw, study_config["variables"], study_config["units"])
    estimated = estimate_models(panel, model_specs(study_config))
    estimates = estimated.table
    assert list(dict.fromkeys(estimates["model"])) == list(study_config["models"])
    configured = study_config["models"].items()
    with_residuals = {name for name, raw in configured if raw["estimator"] != "between"}
    assert set(estimated.residuals["model"]) == with_residuals
    assert estimates[["estimate", "std_error", "p_value"]].notna().all().all()
    long_run = estimates[estimates["term_kind"] == "long_run_sum"]
    assert long_run["term"].tolist() == ["rd_intensity_long_run"]
    ppml = estimates[estimates["model"] == "ppml_twoway"].iloc[0]
    assert ppml["cov_label"] == "Clustered by city (jackknife)"
    assert ppml["entity_effects"] and ppml["time_effects"]


def test_a_model_parsed_without_a_study_drops_no_year() -> None:
    # Early years (as in Grunfeld's 1935-1954) must not fall out of a model that no
    # window restricts; a stated side still applies.
    panel = simulate_panel(n_units=12, n_years=20, seed=3, first_year=1930)
    raw = {"label": "FE", "estimator": "fixed_effects", "entity_effects": True}
    raw |= {"outcome": "y", "regressors": ["x1", "x2"], "covariance": "unadjusted"}
    open_model = model_spec("open", raw)
    assert (open_model.first_year, open_model.last_year, open_model.window) == (
        None,
        None,
        "any year",
    )
    assert fit_model(panel, open_model).result.nobs == len(panel)
    late = model_spec("late", raw | {"first_year": 1940})
    assert fit_model(panel, late).result.nobs == (panel["year"] >= 1940).sum()


# ------------------------------------------- repeated (unit, year) pairs (issue 18, item 7)


def repeated_pairs_panel() -> pd.DataFrame:
    """poisson_panel with three of its rows given twice (the first three of c005)."""
    panel = poisson_panel()
    return pd.concat([panel, panel[panel["unit_id"] == "c005"].head(3)], ignore_index=True)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_estimator_refuses_repeated_unit_year_pairs(estimator: str) -> None:
    raw = spec(estimator, entity_effects=estimator in ("fixed_effects", "ppml"))
    if estimator == "between":
        raw["covariance"] = "robust"
    with pytest.raises(EstimationError) as error:
        fit(repeated_pairs_panel(), "dup", raw)
    message = str(error.value)
    assert "model 'dup'" in message and "3 repeated (unit, year) pair(s) in 6 rows" in message
    assert "c005 2011 (2 rows)" in message and "groupby(['unit_id', 'year']" in message


def test_ppml_never_multiplies_rows_whatever_its_index_holds() -> None:
    # The root cause behind issue 18: rows were kept by a (unit, year) label selection,
    # which repeats every row of a repeated pair. The kept rows are a positional mask now.
    panel = repeated_pairs_panel()
    panel.loc[panel["unit_id"] == "c011", "y"] = 0.0  # a unit to drop, so rows are selected
    frame = panel.set_index(["unit_id", "year"])
    keep, dropped, _ = drop_all_zero_groups(frame["y"], True, True)
    zero = always_zero_units(panel)
    assert "c011" in zero and dropped == tuple(zero)
    assert keep.dtype == bool and len(keep) == len(frame)
    assert int(keep.sum()) == int((~panel["unit_id"].isin(zero)).sum()) == len(frame[keep])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_each_estimator_called_directly_refuses_a_repeated_index(estimator: str) -> None:
    frame = repeated_pairs_panel().set_index(["unit_id", "year"])
    exog = frame[["x_rd", "x_talent"]]
    with pytest.raises(EstimationError, match=r"repeat 3 \(unit, year\) pair\(s\), first \('c005'"):
        if estimator == "ppml":
            fit_ppml(frame["y"], exog, CovarianceSpec("robust"))
        else:
            fit_linear(frame["y"], exog.assign(const=1.0), estimator, CovarianceSpec("robust"))


def test_the_multiverse_refuses_repeated_unit_year_pairs(study_config: dict) -> None:
    # The check comes first, so the panel need not hold the grid's columns.
    with pytest.raises(EstimationError, match=r"multiverse: the panel has 3 repeated"):
        prepare_panel(repeated_pairs_panel(), multiverse_spec(study_config))
