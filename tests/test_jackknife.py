"""The exact per-unit Gram route of the least-squares jackknife against explicit refits.

Each refit of the reference is OLS on a dummy design without one unit (statsmodels),
the definition of the leave-one-cluster-out jackknife.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import simulate_panel

from innopanel.econometrics.jackknife import least_squares_jackknife

FORMULAS = {
    (True, True): "y ~ x1 + x2 + C(unit_id) + C(year)",
    (True, False): "y ~ x1 + x2 + C(unit_id)",
    (False, True): "y ~ 0 + x1 + x2 + C(year)",
    (False, False): "y ~ x1 + x2",
}


def unbalanced_panel(lonely_year: bool) -> pd.DataFrame:
    panel = simulate_panel(n_units=14, n_years=6, seed=3)
    panel = panel.sample(frac=0.85, random_state=2).sort_values(["unit_id", "year"])
    if lonely_year:
        # A year only one unit has: leaving that unit out leaves its year column empty.
        extra = panel[panel["unit_id"] == "u003"].iloc[[0]].assign(year=2030, y=1.5)
        panel = pd.concat([panel, extra], ignore_index=True)
    return panel.reset_index(drop=True)


@pytest.mark.parametrize("lonely_year", [False, True])
@pytest.mark.parametrize("effects", list(FORMULAS))
def test_least_squares_jackknife_equals_explicit_refits(
    effects: tuple[bool, bool], lonely_year: bool
) -> None:
    panel = unbalanced_panel(lonely_year)
    regressors = panel[["x1", "x2"]].to_numpy()
    if effects == (False, False):
        regressors = np.column_stack([regressors, np.ones(len(panel))])
    units = pd.factorize(panel["unit_id"])[0]
    years = pd.factorize(panel["year"], sort=True)[0]
    params, squares = least_squares_jackknife(
        panel["y"].to_numpy(), regressors, units, years, *effects
    )
    full = smf.ols(FORMULAS[effects], panel).fit().params[["x1", "x2"]].to_numpy()
    np.testing.assert_allclose(params[:2], full, rtol=1e-9)
    # The constant is a coefficient of pooled OLS; effects models have none.
    terms = ["x1", "x2", *(["Intercept"] if effects == (False, False) else [])]
    deviations = []
    for unit in pd.unique(panel["unit_id"]):
        refit = smf.ols(FORMULAS[effects], panel[panel["unit_id"] != unit]).fit()
        deviations.append(refit.params[terms].to_numpy() - params[: len(terms)])
    deviations = np.asarray(deviations)
    np.testing.assert_allclose(squares, deviations.T @ deviations, rtol=1e-8)
