"""PPML with absorbed effects against the dense implementation it replaced.

The reference is statsmodels' GLM on a design with one dummy column per unit and year
(kept here, in the tests, not in the package), fitted to a tight tolerance; estimates,
every covariance kind, the log-likelihood and the jackknife must agree to 1e-8. The
absorption itself is checked against weighted least squares on dummies, and the whole
fit is checked to give the same bytes under any Python hash seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import simulate_panel

from innopanel.econometrics import absorption
from innopanel.econometrics.absorption import FixedEffects
from innopanel.econometrics.covariance import CovarianceSpec
from innopanel.econometrics.estimators import drop_all_zero_groups, fit_ppml

ROOT = Path(__file__).resolve().parents[1]
STATSMODELS = Path(sm.__file__).parent
TERMS = ["x_rd", "x_talent"]
poisson_panel = partial(
    simulate_panel,
    n_units=40,
    n_years=7,
    seed=9,
    outcome="poisson",
    slopes={"x_rd": 0.3, "x_talent": -0.2},
    unit_prefix="c",
)
COVARIANCES = [
    CovarianceSpec("unadjusted"),
    CovarianceSpec("robust"),
    CovarianceSpec("clustered"),
    CovarianceSpec("two_way_clustered"),
    CovarianceSpec("driscoll_kraay", bandwidth=2),
]


def dense_design(exog: pd.DataFrame, entity_effects: bool, time_effects: bool) -> pd.DataFrame:
    """``exog`` with one dummy per unit and per year (the first year dropped with both),
    or a constant without effects: the design the package used to build."""
    blocks = [exog.astype(float)]
    if entity_effects:
        units = pd.Series(exog.index.get_level_values(0), index=exog.index)
        blocks.append(pd.get_dummies(units, prefix="unit", dtype=float))
    if time_effects:
        years = pd.Series(exog.index.get_level_values(1), index=exog.index)
        blocks.append(pd.get_dummies(years, prefix="year", dtype=float, drop_first=entity_effects))
    design = pd.concat(blocks, axis=1)
    if not (entity_effects or time_effects):
        design["const"] = 1.0
    return design


def dense_fit(outcome: pd.Series, design: pd.DataFrame, covariance: CovarianceSpec) -> sm.GLM:
    """statsmodels' Poisson GLM with the raw covariance ``covariance`` names."""
    index = design.index
    units = pd.factorize(index.get_level_values(0))[0]
    years = pd.factorize(index.get_level_values(1), sort=True)[0]
    raw = {"use_correction": False, "df_correction": False}
    options: dict = {
        "unadjusted": {"cov_type": "nonrobust"},
        "robust": {"cov_type": "HC0"},
        "clustered": {"cov_type": "cluster", "cov_kwds": {"groups": units, **raw}},
        "two_way_clustered": {
            "cov_type": "cluster",
            "cov_kwds": {"groups": np.column_stack([units, years]), **raw},
        },
        "driscoll_kraay": {
            "cov_type": "hac-groupsum",
            "cov_kwds": {"time": years, "maxlags": covariance.bandwidth, **raw},
        },
    }[covariance.kind]
    model = sm.GLM(outcome.astype(float), design, family=sm.families.Poisson())
    return model.fit(method="irls", tol=1e-14, maxiter=500, **options)


def kept_frame(panel: pd.DataFrame, entity_effects: bool, time_effects: bool) -> pd.DataFrame:
    frame = panel.set_index(["unit_id", "year"]).sort_index()
    keep, _, _ = drop_all_zero_groups(frame["y"], entity_effects, time_effects)
    return frame.loc[keep]


@pytest.mark.parametrize("effects", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("covariance", COVARIANCES, ids=lambda c: c.kind)
def test_ppml_matches_the_dense_glm_in_estimates_and_every_covariance(
    effects: tuple[bool, bool], covariance: CovarianceSpec
) -> None:
    panel = poisson_panel()
    panel.loc[panel["unit_id"] == "c004", "y"] = 0.0  # a unit to drop
    frame = kept_frame(panel, *effects)
    indexed = panel.set_index(["unit_id", "year"])
    fit = fit_ppml(indexed["y"], indexed[TERMS], covariance, *effects)
    dense = dense_fit(frame["y"], dense_design(frame[TERMS], *effects), covariance)
    assert ("c004" in fit.dropped_entities) == effects[0]
    assert fit.nobs == len(frame)
    np.testing.assert_allclose(fit.params[TERMS], dense.params[TERMS], rtol=1e-8)
    expected = dense.cov_params().loc[TERMS, TERMS].to_numpy() * fit.correction.factor
    np.testing.assert_allclose(fit.cov.loc[TERMS, TERMS], expected, rtol=1e-8)
    np.testing.assert_allclose(fit.statistics["log_likelihood"], dense.llf, rtol=1e-10)
    np.testing.assert_allclose(fit.statistics["pseudo_r2"], 1 - dense.llf / dense.llnull, rtol=1e-8)
    np.testing.assert_allclose(fit.fitted.sort_index(), dense.fittedvalues.sort_index(), rtol=1e-8)


def test_ppml_jackknife_equals_dense_leave_one_unit_out_refits() -> None:
    panel = poisson_panel(n_units=15, n_years=6)
    frame = kept_frame(panel, True, True)
    fit = fit_ppml(frame["y"], frame[TERMS], CovarianceSpec("clustered_jackknife"))
    g = frame.index.get_level_values(0).nunique()
    deviations = []
    for unit in frame.index.get_level_values(0).unique():
        rest = frame.drop(index=unit, level=0)
        design = dense_design(rest[TERMS], True, True)
        dense = dense_fit(rest["y"], design, CovarianceSpec("robust"))
        deviations.append(dense.params[TERMS].to_numpy() - fit.params[TERMS].to_numpy())
    deviations = np.asarray(deviations)
    expected = (g - 1) / g * deviations.T @ deviations
    np.testing.assert_allclose(fit.cov.to_numpy(), expected, rtol=1e-8)


def test_ppml_on_the_demo_dgp_matches_the_dense_glm(study_config: dict) -> None:
    from innopanel.data.derivations import derive_variables
    from innopanel.synthetic.dgp import simulate_panel as simulate_demo

    raw = simulate_demo([f"c{i:03d}" for i in range(64)], range(2011, 2023), seed=3)
    panel = derive_variables(raw, study_config["variables"], study_config["units"])
    model = study_config["models"]["ppml_twoway"]
    terms = [*model["regressors"], *model["controls"]]
    frame = panel.set_index(["unit_id", "year"])[[model["outcome"], *terms]].dropna().sort_index()
    covariance = CovarianceSpec("clustered")
    fit = fit_ppml(frame[model["outcome"]], frame[terms], covariance)
    kept = frame.loc[drop_all_zero_groups(frame[model["outcome"]], True, True)[0]]
    dense = dense_fit(kept[model["outcome"]], dense_design(kept[terms], True, True), covariance)
    np.testing.assert_allclose(fit.params[terms], dense.params[terms], rtol=1e-8)
    expected = dense.cov_params().loc[terms, terms].to_numpy() * fit.correction.factor
    np.testing.assert_allclose(fit.cov.loc[terms, terms], expected, rtol=1e-8)


@pytest.mark.parametrize("covariance", ["robust", "clustered"])
def test_ppml_with_ship_effects_matches_the_dense_glm_on_statas_ships_data(covariance: str) -> None:
    ships = pd.read_csv(STATSMODELS / "discrete" / "tests" / "results" / "ships.csv").dropna()
    frame = ships.assign(row=np.arange(len(ships))).set_index(["ship", "row"])
    terms = ["yr_con", "op_75_79"]
    spec = CovarianceSpec(covariance)
    fit = fit_ppml(frame["accident"], frame[terms].astype(float), spec, True, False, unit="ship")
    dense = dense_fit(frame["accident"], dense_design(frame[terms], True, False), spec)
    np.testing.assert_allclose(fit.params[terms], dense.params[terms], rtol=1e-8)
    expected = dense.cov_params().loc[terms, terms].to_numpy() * fit.correction.factor
    np.testing.assert_allclose(fit.cov.loc[terms, terms], expected, rtol=1e-8)
    np.testing.assert_allclose(fit.statistics["log_likelihood"], dense.llf, rtol=1e-10)


@pytest.mark.parametrize("sparse_cells", [False, True])
@pytest.mark.parametrize("disconnected", [False, True])
def test_absorbing_effects_equals_weighted_least_squares_on_dummies(
    disconnected: bool, sparse_cells: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sparse_cells:  # the route of very unbalanced panels
        monkeypatch.setattr(absorption, "DENSE_CELLS_PER_OBSERVATION", 0)
    rng = np.random.default_rng(2)
    units = np.repeat(np.arange(30), 6)
    years = np.tile(np.arange(6), 30)
    if disconnected:
        # Units 0-14 are seen only in years 0-2, units 15-29 only in years 3-5.
        keep = (units < 15) == (years < 3)
    else:
        keep = rng.random(len(units)) > 0.25  # unbalanced
    units, years = units[keep], years[keep]
    index = pd.MultiIndex.from_arrays([units, years])
    data = rng.normal(size=(len(units), 3))
    weights = rng.uniform(0.1, 5.0, size=len(units))
    dummies = np.column_stack(
        [units[:, None] == np.unique(units), years[:, None] == np.unique(years)]
    )
    root = np.sqrt(weights)[:, None]
    coefficients = np.linalg.lstsq(dummies * root, data * root, rcond=None)[0]
    expected = data - dummies @ coefficients
    absorbed = FixedEffects.from_index(index, True, True).partial_out(data, weights)
    np.testing.assert_allclose(absorbed, expected, atol=1e-11)
    assert FixedEffects.from_index(index, True, True).count == 30 + 6 - 1


HASH_SEED_SCRIPT = """
import hashlib, sys
import numpy as np
from conftest import simulate_panel
from innopanel.econometrics.covariance import CovarianceSpec
from innopanel.econometrics.estimators import fit_linear, fit_ppml
panel = simulate_panel(
    n_units=50, n_years=8, seed=5, outcome="poisson", slopes={"x_rd": 0.3, "x_talent": -0.2}
)
frame = panel.set_index(["unit_id", "year"]).sort_index()
exog = frame[["x_rd", "x_talent"]]
digest = hashlib.sha256()
for kind in ("clustered", "clustered_jackknife", "two_way_clustered"):
    for fit in (
        fit_ppml(frame["y"], exog, CovarianceSpec(kind)),
        fit_linear(frame["y"], exog, "fixed_effects", CovarianceSpec(kind), True, True),
    ):
        digest.update(fit.params.to_numpy().tobytes() + fit.cov.to_numpy().tobytes())
        digest.update(fit.fitted.to_numpy().tobytes())
print(digest.hexdigest())
"""


def test_ppml_and_two_way_fe_give_identical_bytes_under_any_hash_seed() -> None:
    """Every Snakemake job starts with its own hash seed: results must not depend on it."""
    digests = set()
    for seed in ("0", "1", "12345"):
        environment = {
            **os.environ,
            "PYTHONHASHSEED": seed,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "workflow"), str(ROOT / "tests")]),
        }
        run = subprocess.run(
            [sys.executable, "-c", HASH_SEED_SCRIPT],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1
