"""The demo's data-generating process (innopanel.synthetic.dgp): seeds, ranges, the NB2
outcome, the pipeline's derivations and the bias that makes fixed effects necessary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from innopanel.data.derivations import derive_variables
from innopanel.synthetic import dgp

YEARS = list(range(2011, 2023))
UNITS = [f"c{i:03d}" for i in range(1, 401)]


@pytest.fixture(scope="module")
def big_simulation() -> dgp.SimulatedPanel:
    return dgp.simulate_panel_with_truth(UNITS, YEARS, seed=12345)


def test_same_seed_same_panel_different_seed_different_panel() -> None:
    first = dgp.simulate_panel(UNITS[:30], YEARS, seed=7)
    again = dgp.simulate_panel(UNITS[:30], YEARS, seed=7)
    other = dgp.simulate_panel(UNITS[:30], YEARS, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert (first["invention_patents_granted"] != other["invention_patents_granted"]).mean() > 0.9


def test_panel_shape_units_and_ranges(big_simulation: dgp.SimulatedPanel) -> None:
    panel = big_simulation.panel
    assert list(panel.columns) == ["unit_id", "year", *dgp.SOURCE_VARIABLES]
    assert len(panel) == len(UNITS) * len(YEARS)
    assert (panel[list(dgp.SOURCE_VARIABLES)] >= 0).all().all()
    regressors = dgp.derive_regressors(panel)
    assert regressors["rd_intensity"].between(0.3, 8).all()
    assert regressors["rd_intensity"].quantile([0.05, 0.95]).between(1, 6).all()
    assert regressors["talent"].quantile([0.01, 0.99]).between(20, 300).all()
    assert regressors["open_platforms"].between(0, 40).all()
    assert regressors["gdp_per_capita"].quantile([0.01, 0.99]).between(35_000, 250_000).all()
    assert panel["secondary_share"].between(25, 55).all()
    assert (panel["invention_patent_applications"] >= panel["invention_patents_granted"]).all()
    grant_rate = panel["invention_patents_granted"] / panel["invention_patent_applications"]
    assert grant_rate.between(0.25, 0.55).all()
    mean = np.exp(big_simulation.log_mean)
    assert mean.quantile(0.01) > 50 and mean.quantile(0.99) < 40_000
    assert (panel["invention_patents_granted"] == 0).mean() < 0.001
    per_10k = panel["college_students"] / panel["population"]
    assert per_10k.between(140, 2050).all()  # clipped to [150, 2000], then rounded
    # Platform stocks never shrink within a city.
    for column in dgp.PLATFORM_COMPONENTS:
        steps = panel.groupby("unit_id")[column].diff().dropna()
        assert (steps >= 0).all(), column


def test_log_mean_uses_the_pipelines_derived_variables(
    big_simulation: dgp.SimulatedPanel, study_config: dict
) -> None:
    """The DGP's regressors are, to the last bit, what the clean step derives."""
    panel = derive_variables(big_simulation.panel, study_config["variables"], study_config["units"])
    parameters = dgp.DemoParameters()
    log_mean = (
        parameters.intercept
        + panel["unit_id"].map(big_simulation.unit_effects).to_numpy()
        + panel["year"].map(big_simulation.year_effects).to_numpy()
    )
    for term, coefficient in parameters.coefficients().items():
        log_mean = log_mean + coefficient * panel[term].to_numpy()
    np.testing.assert_array_equal(log_mean, big_simulation.log_mean.to_numpy())


def test_outcome_is_overdispersed_negative_binomial(big_simulation: dgp.SimulatedPanel) -> None:
    granted = big_simulation.panel["invention_patents_granted"].to_numpy(dtype=float)
    mean = np.exp(big_simulation.log_mean.to_numpy())
    # Poisson would give a mean Pearson ratio of 1; NB2 gives 1 + mu/theta.
    pearson = ((granted - mean) ** 2 / mean).mean()
    assert pearson > 5
    # Method of moments for 1/theta: E[(y - mu)^2 - y] / mu^2.
    inverse_theta = (((granted - mean) ** 2 - granted) / mean**2).mean()
    assert 1 / 45 < inverse_theta < 1 / 20


def _within_two_way(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    values = frame[columns]
    unit_mean = values.groupby(frame["unit_id"]).transform("mean")
    year_mean = values.groupby(frame["year"]).transform("mean")
    return (values - unit_mean - year_mean + values.mean()).to_numpy()


def test_regressors_correlated_with_city_effect_and_fe_recovers_truth(
    big_simulation: dgp.SimulatedPanel,
) -> None:
    panel = big_simulation.panel
    data = dgp.derive_regressors(panel)
    data["log_patents"] = np.log(panel["invention_patents_granted"])
    terms = list(dgp.MEAN_EQUATION_TERMS)

    means = data.groupby("unit_id")[["rd_intensity", "log_patents"]].mean()
    alpha = big_simulation.unit_effects.loc[means.index]
    assert np.corrcoef(means["rd_intensity"], alpha)[0, 1] > 0.5
    assert np.corrcoef(means["rd_intensity"], means["log_patents"])[0, 1] > 0.5

    pooled_x = np.column_stack([np.ones(len(data)), data[terms].to_numpy()])
    pooled = np.linalg.lstsq(pooled_x, data["log_patents"].to_numpy(), rcond=None)[0][1:]
    within_x = _within_two_way(data, terms)
    within_y = _within_two_way(data, ["log_patents"])[:, 0]
    within = np.linalg.lstsq(within_x, within_y, rcond=None)[0]

    truth = dgp.DemoParameters().coefficients()
    assert within[0] == pytest.approx(truth["rd_intensity"], abs=0.04)
    assert within[1] == pytest.approx(truth["log_talent"], abs=0.1)
    assert within[2] == pytest.approx(truth["open_platforms"], abs=0.01)
    # Pooled OLS loads the city effect onto the regressors.
    assert pooled[0] - within[0] > 0.1
    assert pooled[1] - within[1] > 0.1


def test_tiers_shift_unit_effects() -> None:
    tiers = {unit: (1 if k < 200 else 3) for k, unit in enumerate(UNITS)}
    sim = dgp.simulate_panel_with_truth(UNITS, YEARS, seed=3, tiers=tiers)
    alpha = sim.unit_effects
    assert alpha.iloc[:200].mean() - alpha.iloc[200:].mean() > 1.0
    population = sim.panel.groupby("unit_id")["population"].mean()
    assert population.iloc[:200].median() > 2.5 * population.iloc[200:].median()
