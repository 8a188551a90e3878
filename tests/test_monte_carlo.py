"""A small, fast Monte Carlo on the demo DGP (the full one: workflow/benchmarks/monte_carlo.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from innopanel.synthetic.dgp import DemoParameters
from innopanel.synthetic.monte_carlo import Design, run_monte_carlo, summarise

REPLICATIONS = 10
SMOKE_MODELS = ("twoway_fe", "ppml_twoway")


@pytest.fixture(scope="module")
def replications(repo_root: Path) -> pd.DataFrame:
    config = yaml.safe_load(
        (repo_root / "config" / "studies" / "demo_cities.yaml").read_text(encoding="utf-8")
    )
    units = pd.read_csv(repo_root / "config" / "cities.csv", dtype=str, keep_default_na=False)
    # 24 cities x 8 years keeps this to a few seconds; the benchmark uses the full design.
    design = Design.from_unit_table(units.iloc[:24], 2011, 2018)
    models = {name: config["models"][name] for name in SMOKE_MODELS}
    seeds = range(config["study"]["seed"], config["study"]["seed"] + REPLICATIONS)
    return run_monte_carlo(design, seeds, models, config)


def test_every_replication_reports_every_true_coefficient(replications: pd.DataFrame) -> None:
    counts = replications.groupby("model").size()
    assert set(counts.index) == set(SMOKE_MODELS)
    assert (counts == REPLICATIONS * 5).all()
    truth = DemoParameters().coefficients()
    assert replications["truth"].to_dict() == replications["term"].map(truth).to_dict()
    assert set(replications["term"]) == set(truth)
    assert replications["seed"].nunique() == REPLICATIONS


def test_estimates_centre_on_the_truth_and_intervals_mostly_cover_it(
    replications: pd.DataFrame,
) -> None:
    summary = summarise(replications).set_index(["model", "term"])
    for model in SMOKE_MODELS:
        row = summary.loc[(model, "rd_intensity")]
        # Bias within 4 Monte Carlo standard errors of the mean estimate.
        assert abs(row["bias"]) < 4 * row["bias_mc_se"], (model, row["bias"])
        # Standard errors of the right size: neither half nor double the spread.
        assert 0.5 < row["mean_std_error"] / row["sd_estimate"] < 2.0, model
    # 100 nominal-95 % intervals: fewer than 80 covering has probability < 1e-6.
    assert replications["covered"].mean() >= 0.8


def test_summary_reports_coverage_with_its_monte_carlo_error(replications: pd.DataFrame) -> None:
    summary = summarise(replications)
    expected = np.sqrt(summary["coverage"] * (1 - summary["coverage"]) / REPLICATIONS)
    np.testing.assert_allclose(summary["coverage_mc_se"], expected)
    assert (summary["replications"] == REPLICATIONS).all()


def test_a_model_without_any_true_coefficient_is_refused_by_name(repo_root: Path) -> None:
    config = yaml.safe_load(
        (repo_root / "config" / "studies" / "demo_cities.yaml").read_text(encoding="utf-8")
    )
    units = pd.read_csv(repo_root / "config" / "cities.csv", dtype=str, keep_default_na=False)
    design = Design.from_unit_table(units.iloc[:5], 2011, 2013)
    # Lagged regressors only: none of them is a term of the DGP's mean equation.
    lagged = {"lags_only": {**config["models"]["twoway_fe_lag1"], "controls": []}}
    with pytest.raises(ValueError, match="'lags_only' estimates none of the DGP's true"):
        run_monte_carlo(design, [1], lagged, config)


def test_design_reads_tiers_from_the_unit_table_and_allows_none() -> None:
    units = pd.DataFrame({"unit_id": ["a", "b", "c"], "tier": ["1", "", "3"]})
    design = Design.from_unit_table(units, 2011, 2012)
    assert design.unit_ids == ("a", "b", "c")
    assert design.tiers == (1, None, 3)
    assert design.years == (2011, 2012)
    untiered = Design.from_unit_table(units[["unit_id"]], 2011, 2012)
    assert untiered.tiers == (None, None, None)
