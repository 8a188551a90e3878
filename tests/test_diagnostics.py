"""Specification tests behave as their null hypotheses say on known DGPs, and agree with
second engines; published reference values are in test_published_references.py."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from conftest import model_entry, simulate_panel
from linearmodels.panel import PanelOLS
from statsmodels.stats.outliers_influence import variance_inflation_factor

from innopanel.config.diagnostics import diagnostics_spec
from innopanel.config.specs import model_spec, model_specs
from innopanel.econometrics import diagnostics
from innopanel.econometrics.covariance import CovarianceSpec
from innopanel.econometrics.diagnostics import (
    DIAGNOSTICS_COLUMNS,
    breusch_pagan_lm,
    effects_f_test,
    hausman_test,
    mundlak_test,
    pesaran_cd,
    pesaran_cd_test,
    run_diagnostics,
    serial_correlation_test,
    variance_inflation_factors,
    vif_rows,
    wooldridge_serial_correlation,
)
from innopanel.econometrics.estimators import fit_linear

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_panel() -> pd.DataFrame:
    """The bundled demo panel (all cities, 2011-2022) with the derived variables."""
    from innopanel.data.derivations import derive_variables
    from innopanel.synthetic.calibration import build_demo_panel

    config = yaml.safe_load(
        (ROOT / "config" / "studies" / "demo_cities.yaml").read_text(encoding="utf-8")
    )
    cities = pd.read_csv(ROOT / "config" / "cities.csv", dtype=str, keep_default_na=False)
    raw = build_demo_panel(cities, 2011, 2022, config["demo"]["seed"])
    return derive_variables(raw, config["variables"], config["units"])


# The tests' one synthetic panel (conftest.simulate_panel): 200 units, 8 years, unit
# effects and errors of sd 1, no year effects (a two-way model absorbs none then).
panel = partial(simulate_panel, n_units=200, n_years=8, seed=0, year_effect_sd=0.0, error_sd=1.0)


MODELS = {
    name: model_spec(name, raw)
    for name, raw in {
        "fe": model_entry("fixed_effects", entity_effects=True),
        "twoway": model_entry("fixed_effects", entity_effects=True, time_effects=True),
        "re": model_entry("random_effects"),
        "pooled": model_entry("pooled_ols"),
    }.items()
}


# ---------------------------------------------------------------- Hausman


@pytest.mark.parametrize("variance", ["own", "sigmamore"])
def test_hausman_rejects_when_effects_correlate_with_regressors(variance: str) -> None:
    row = hausman_test(panel(), MODELS["fe"], MODELS["re"], variance=variance)
    assert row["df"] == 2 and row["p_value"] < 1e-6
    assert row["conclusion"].startswith("reject H0")


def test_hausman_does_not_reject_when_effects_are_random() -> None:
    row = hausman_test(panel(effect_loading=0.0, seed=3), MODELS["fe"], MODELS["re"])
    assert row["p_value"] > 0.01
    assert row["conclusion"].startswith("H0 not rejected")


def test_negative_hausman_statistic_gets_no_p_value(demo_panel: pd.DataFrame, study_config) -> None:
    # On the demo panel the classical test with each model's own variance fails:
    # V_FE - V_RE is indefinite and the quadratic form is negative.
    models = model_specs(study_config)
    row = hausman_test(demo_panel, models["city_fe"], models["random_effects"], "own")
    assert row["statistic"] < 0
    assert np.isnan(row["p_value"]) and row["conclusion"].startswith("not valid")
    assert "not positive definite" in row["note"]


def test_mundlak_test_rejects_correlated_effects_and_not_random_ones() -> None:
    assert mundlak_test(panel(), MODELS["re"])["p_value"] < 1e-6
    kept = mundlak_test(panel(effect_loading=0.0, seed=3), MODELS["re"])
    assert kept["p_value"] > 0.01
    assert kept["df"] == 2 and kept["df_denominator"] == 199


def test_mundlak_regression_reproduces_the_within_estimates() -> None:
    # Mundlak (1978): in a balanced panel the coefficients on x in the regression with
    # unit means equal the within estimates; checks that the means are built right.
    data = panel(n_units=50).set_index(["unit_id", "year"])
    exog = data[["x1", "x2"]]
    means = exog.groupby(level=0).transform("mean").add_prefix("mean_")
    augmented = pd.concat([exog, means], axis=1).assign(const=1.0)
    mundlak = fit_linear(data["y"], augmented, "random_effects", CovarianceSpec())
    within = fit_linear(data["y"], exog, "fixed_effects", CovarianceSpec(), True)
    np.testing.assert_allclose(mundlak.params[["x1", "x2"]], within.params, rtol=1e-8)


# ---------------------------------------------------------- effects F test


def test_effects_f_test_matches_linearmodels_pooled_f() -> None:
    data = panel(n_units=60)
    row = effects_f_test(data, MODELS["fe"])
    frame = data.set_index(["unit_id", "year"])
    reference = (
        PanelOLS(frame["y"], frame[["x1", "x2"]].assign(const=1.0), entity_effects=True)
        .fit()
        .f_pooled
    )
    assert row["statistic"] == pytest.approx(reference.stat, rel=1e-9)
    assert (row["df"], row["df_denominator"]) == (59, 60 * 8 - 60 - 2)
    assert row["p_value"] < 1e-10


def test_effects_f_test_keeps_year_effects_and_does_not_reject_without_unit_effects() -> None:
    data = panel(unit_effect_sd=0.0, effect_loading=0.0, seed=5)
    row = effects_f_test(data, MODELS["twoway"])
    assert row["p_value"] > 0.01
    assert "given year effects" in row["null_hypothesis"]
    assert row["df_denominator"] == 200 * 8 - 200 - 7 - 2


# ---------------------------------------------------------------- BP LM


def test_breusch_pagan_equals_the_balanced_textbook_formula() -> None:
    residuals = pd.Series(
        np.random.default_rng(1).normal(size=30),
        index=pd.MultiIndex.from_product([range(6), range(5)]),
    )
    n_units, n_years = 6, 5
    matrix = residuals.to_numpy().reshape(n_units, n_years)
    textbook = (
        n_units
        * n_years
        / (2 * (n_years - 1))
        * ((matrix.sum(axis=1) ** 2).sum() / (matrix**2).sum() - 1) ** 2
    )
    assert breusch_pagan_lm(residuals)[0] == pytest.approx(textbook, rel=1e-12)


def test_breusch_pagan_detects_random_effects_only_when_present() -> None:
    from innopanel.econometrics.diagnostics import breusch_pagan_test

    assert breusch_pagan_test(panel(effect_loading=0.0), MODELS["pooled"])["p_value"] < 1e-6
    quiet = breusch_pagan_test(
        panel(unit_effect_sd=0.0, effect_loading=0.0, seed=2), MODELS["pooled"]
    )
    assert quiet["p_value"] > 0.01


# ------------------------------------------------------ serial correlation


def test_wooldridge_test_detects_ar1_errors_and_not_iid_ones() -> None:
    assert serial_correlation_test(panel(ar=0.5), MODELS["fe"])["p_value"] < 1e-4
    iid = serial_correlation_test(panel(ar=0.0, seed=4), MODELS["fe"])
    assert iid["p_value"] > 0.01
    assert "-0.5" in iid["note"] and iid["df_denominator"] == 199


def test_wooldridge_statistic_matches_statsmodels_on_the_same_residuals() -> None:
    data = panel(ar=0.3, n_units=40).set_index(["unit_id", "year"])
    result = wooldridge_serial_correlation(data["y"], data[["x1", "x2"]])
    first = fit_linear(data["y"], data[["x1", "x2"]], "first_differences", CovarianceSpec())
    residuals = first.residuals.unstack()
    current = residuals.iloc[:, 1:].to_numpy().ravel()
    lagged = residuals.iloc[:, :-1].to_numpy().ravel()
    groups = np.repeat(np.arange(40), residuals.shape[1] - 1)
    # Stata's regress ..., nocons cluster(): G/(G-1)*(n-1)/(n-k) is statsmodels' default.
    reference = sm.OLS(current, lagged).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert result["rho"] == pytest.approx(reference.params[0], rel=1e-10)
    assert result["std_error"] == pytest.approx(reference.bse[0], rel=1e-10)


# ------------------------------------------------------------- Pesaran CD


def test_pesaran_cd_is_quiet_under_independence_and_detects_a_common_factor() -> None:
    independent = pesaran_cd_test(panel(n_units=60, seed=6), MODELS["fe"])
    assert independent["p_value"] > 0.01
    factor = pesaran_cd_test(panel(n_units=60, factor_loading=1.0), MODELS["fe"])
    assert factor["p_value"] < 1e-6


def test_pesaran_cd_after_year_effects_has_no_normal_p_value() -> None:
    row = pesaran_cd_test(panel(n_units=60, seed=6), MODELS["twoway"])
    assert np.isnan(row["p_value"])
    expected = -np.sqrt(8 * 60 / (2 * 59))
    assert f"{expected:.3g}" in row["note"]
    # ... and the statistic is indeed near that value under independence.
    assert abs(row["statistic"] - expected) < 1.5


def test_pesaran_cd_balanced_equals_the_textbook_formula() -> None:
    residuals = pd.Series(
        np.random.default_rng(2).normal(size=5 * 7),
        index=pd.MultiIndex.from_product([range(5), range(7)]),
    )
    correlations = np.corrcoef(residuals.to_numpy().reshape(5, 7))
    upper = correlations[np.triu_indices(5, k=1)]
    textbook = np.sqrt(2 * 7 / (5 * 4)) * upper.sum()
    statistic, pairs = pesaran_cd(residuals)
    assert pairs == 10 and statistic == pytest.approx(textbook, rel=1e-12)


def test_pesaran_cd_unbalanced_equals_pairwise_correlations_over_common_periods(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks of a few units (as at large N) give the pairwise-complete definition."""
    rng = np.random.default_rng(4)
    index = pd.MultiIndex.from_product([range(9), range(6)])
    residuals = pd.Series(rng.normal(size=len(index)), index=index)
    residuals = residuals[rng.random(len(index)) > 0.3]  # unbalanced
    residuals.loc[(8, slice(None))] = 0.25  # a constant series: no correlation
    monkeypatch.setattr(diagnostics, "CD_BLOCK_CELLS", 20)  # blocks of 2 units
    total, expected_pairs = 0.0, 0
    wide = residuals.unstack(level=0)
    for i in range(9):
        for j in range(i + 1, 9):
            common = wide[[i, j]].dropna()
            if len(common) >= 2 and common[i].std() > 0 and common[j].std() > 0:
                total += np.sqrt(len(common)) * np.corrcoef(common[i], common[j])[0, 1]
                expected_pairs += 1
    statistic, pairs = pesaran_cd(residuals)
    assert pairs == expected_pairs
    assert statistic == pytest.approx(total / np.sqrt(expected_pairs), rel=1e-10)


# -------------------------------------------------------------------- VIF


def test_vif_matches_statsmodels_on_pooled_regressors() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 3))
    x[:, 2] += 0.9 * x[:, 0]
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    ours = variance_inflation_factors(frame)
    with_constant = sm.add_constant(frame)
    for j, term in enumerate(frame.columns, start=1):
        assert ours[term] == pytest.approx(
            variance_inflation_factor(with_constant.to_numpy(), j), rel=1e-10
        )


def test_vif_reflects_a_known_correlation_and_removes_fixed_effects() -> None:
    data = panel(n_units=400)
    rng = np.random.default_rng(9)
    data["x2"] = 0.8 * data["x1"] + 0.6 * rng.normal(size=len(data))
    # VIF is 1/(1-rho^2) with rho the correlation of the within-unit variation.
    rows = {row["term"]: row for row in vif_rows(data, MODELS["fe"])}
    within_x1 = data["x1"] - data.groupby("unit_id")["x1"].transform("mean")
    within_x2 = data["x2"] - data.groupby("unit_id")["x2"].transform("mean")
    rho = np.corrcoef(within_x1, within_x2)[0, 1]
    assert rows["x1"]["statistic"] == pytest.approx(1 / (1 - rho**2), rel=1e-9)
    assert "fixed effects" in rows["x1"]["note"]


# -------------------------------------------------------------------- all


def test_run_diagnostics_writes_one_row_per_test(
    demo_panel: pd.DataFrame, study_config: dict
) -> None:
    demo = demo_panel
    config = study_config["diagnostics"]
    table = run_diagnostics(demo, model_specs(study_config), diagnostics_spec(config))
    assert list(table.columns) == DIAGNOSTICS_COLUMNS
    tests = table["test"].tolist()
    assert tests[:2] == ["Hausman (FE vs RE)", "Hausman, cluster-robust (Mundlak)"]
    assert tests.count("VIF") == sum(
        len(study_config["models"][m]["regressors"]) + len(study_config["models"][m]["controls"])
        for m in config["vif"]
    )
    assert tests.count("F test of city effects") == len(config["effects_f_test"])
    # The demo DGP's city effects are correlated with the regressors: both Hausman
    # versions must reject random effects.
    assert (table.loc[table["test"].str.startswith("Hausman"), "p_value"] < 0.05).all()
