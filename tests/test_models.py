"""Estimation is checked against a known DGP and against a second engine (statsmodels)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from innopanel.models import (
    ESTIMATES_COLUMNS,
    EstimationError,
    estimate_models,
    fit_model,
    hausman_test,
    tidy,
)

TRUE_SLOPES = {"x_rd": 0.5, "x_talent": -0.3}


def linear_panel(n_cities: int = 80, n_years: int = 10, seed: int = 7) -> pd.DataFrame:
    """y = a_i + g_t + 0.5 x_rd - 0.3 x_talent + e, with regressors correlated with a_i."""
    rng = np.random.default_rng(seed)
    city_effect = rng.normal(0, 1, n_cities)
    year_effect = rng.normal(0, 0.5, n_years)
    city = np.repeat(np.arange(n_cities), n_years)
    year = np.tile(np.arange(2011, 2011 + n_years), n_cities)
    x_rd = 0.8 * city_effect[city] + rng.normal(0, 1, city.size)
    x_talent = -0.5 * city_effect[city] + rng.normal(0, 1, city.size)
    y = (
        city_effect[city]
        + year_effect[year - 2011]
        + TRUE_SLOPES["x_rd"] * x_rd
        + TRUE_SLOPES["x_talent"] * x_talent
        + rng.normal(0, 0.3, city.size)
    )
    return pd.DataFrame(
        {
            "unit_id": [f"c{i:03d}" for i in city],
            "year": year,
            "y": y,
            "x_rd": x_rd,
            "x_talent": x_talent,
        }
    )


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
    estimates = tidy(fit_model(linear_panel(n_cities=400, seed=1), "twoway", TWOWAY))
    for term, truth in TRUE_SLOPES.items():
        row = estimates.set_index("term").loc[term]
        # Tolerance: 4 standard errors (SE about 0.005 here), and absolute 0.03.
        assert abs(row["estimate"] - truth) < min(4 * row["std_error"], 0.03)


def test_pooled_ols_is_biased_where_fe_is_not() -> None:
    panel = linear_panel(n_cities=400, seed=2)
    pooled = tidy(fit_model(panel, "pooled", spec("pooled_ols"))).set_index("term")
    assert pooled.loc["x_rd", "estimate"] > TRUE_SLOPES["x_rd"] + 0.1  # city effect leaks in


@pytest.mark.parametrize(
    "model_spec", [TWOWAY, CITY_FE, spec("pooled_ols")], ids=["twoway_fe", "city_fe", "pooled_ols"]
)
def test_linearmodels_agrees_with_statsmodels(model_spec: dict) -> None:
    panel = linear_panel()
    fitted = fit_model(panel, "m", model_spec)
    ours = tidy(fitted).set_index("term")

    formula = "y ~ x_rd + x_talent"
    if model_spec.get("entity_effects"):
        formula += " + C(unit_id)"
    if model_spec.get("time_effects"):
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


def test_tidy_output_has_every_column_and_records_corrections() -> None:
    estimates = tidy(fit_model(linear_panel(), "city_fe", CITY_FE))
    assert list(estimates.columns) == ESTIMATES_COLUMNS
    row = estimates.iloc[0]
    assert row["nobs"] == 800 and row["n_entities"] == 80 and row["n_periods"] == 10
    assert row["cov_label"] == "Clustered by city"
    # City effects nested in city clusters are not counted (d=0), as in Stata's xtreg, fe.
    assert "d=0" in row["small_sample_correction"] and "G=80" in row["small_sample_correction"]
    assert row["ci_lower"] < row["estimate"] < row["ci_upper"]


def test_missing_rows_are_dropped_before_fitting() -> None:
    panel = linear_panel()
    panel.loc[[0, 5, 17], "x_rd"] = np.nan
    row = tidy(fit_model(panel, "twoway", TWOWAY)).iloc[0]
    assert row["nobs"] == 797


def test_random_effects_and_pooled_get_a_constant_placed_last() -> None:
    estimates = estimate_models(linear_panel(), {"re": spec("random_effects")})
    assert estimates["term"].tolist() == ["x_rd", "x_talent", "const"]


def test_hausman_rejects_re_when_effects_correlate_with_regressors() -> None:
    models = {"fe": CITY_FE, "re": spec("random_effects")}
    result = hausman_test(linear_panel(), models, "fe", "re").iloc[0]
    assert result["df"] == 2
    assert result["p_value"] < 1e-6
    assert result["covariance"].startswith("classical")


def test_hausman_does_not_reject_when_effects_are_random() -> None:
    rng = np.random.default_rng(3)
    panel = linear_panel(n_cities=200)
    # Redraw the regressors independent of the city effect: RE is then consistent.
    panel["x_rd"] = rng.normal(0, 1, len(panel))
    panel["x_talent"] = rng.normal(0, 1, len(panel))
    city_effect = panel.groupby("unit_id")["y"].transform("mean")
    panel["y"] = (
        city_effect + 0.5 * panel["x_rd"] - 0.3 * panel["x_talent"] + rng.normal(0, 0.3, len(panel))
    )
    result = hausman_test(panel, {"fe": CITY_FE, "re": spec("random_effects")}, "fe", "re")
    assert result.iloc[0]["p_value"] > 0.01


def test_too_small_a_panel_is_a_clear_error() -> None:
    panel = linear_panel(n_cities=3, n_years=2)
    with pytest.raises(EstimationError, match="too few"):
        fit_model(panel, "twoway", TWOWAY)


def test_unknown_column_is_a_clear_error() -> None:
    with pytest.raises(EstimationError, match=r"no column\(s\) \['x_missing'\]"):
        fit_model(linear_panel(), "m", {**CITY_FE, "controls": ["x_missing"]})


def test_two_way_fe_recovers_the_demo_dgp(study_config: dict) -> None:
    """The configured two-way FE model, on a large draw of the demo DGP, finds its truth.

    log(patents) is a log-linear NB2 outcome, so linear FE is consistent up to a
    Jensen term that is constant (1/2θ) plus 1/(2μ), small for μ in the hundreds.
    """
    from innopanel.cleaning import derive_variables
    from innopanel.demo import DemoParameters, simulate_panel

    parameters = DemoParameters()
    raw = simulate_panel(
        [f"c{i:03d}" for i in range(400)], range(2011, 2023), seed=11, parameters=parameters
    )
    panel = derive_variables(raw.rename(columns={"city_id": "unit_id"}), study_config["variables"])
    model = study_config["models"]["twoway_fe"]
    estimates = tidy(fit_model(panel, "twoway_fe", model)).set_index("term")
    truth = parameters.coefficients()
    for term in model["regressors"]:
        row = estimates.loc[term]
        # Stated tolerance: within 4 clustered SEs of the true coefficient.
        assert abs(row["estimate"] - truth[term]) < 4 * row["std_error"], (term, row["estimate"])
    assert estimates.loc["rd_intensity", "std_error"] < 0.02  # the check has power
