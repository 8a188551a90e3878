"""Units that fall out of a model are named with the variables and years they lack, and
the regression tables say how many of the panel's units each model uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_workflow import DEMO, make_project, snakemake

from innopanel.config.specs import model_spec
from innopanel.econometrics.coverage import coverage_markdown, model_coverage, year_ranges
from innopanel.econometrics.models import fit_model, tidy
from innopanel.exhibits.estimate_tables import coverage_note
from innopanel.vocabulary import unit_noun

YEARS = range(2011, 2021)
REGIONS = unit_noun("région", "régions")


def regional_panel() -> pd.DataFrame:
    """Five regions over ten years; Nord lacks x everywhere, Sud lacks y before 2014,
    Est has zero patents in two years (their log is missing)."""
    rng = np.random.default_rng(3)
    rows = []
    for unit_id, name in [
        ("nord", "Nord"),
        ("sud", "Sud"),
        ("est", "Est"),
        ("ouest", "Ouest"),
        ("centre", "Centre-Val de Loire et Île-de-France réunis"),
    ]:
        for year in YEARS:
            patents = (
                0.0 if (unit_id == "est" and year in (2012, 2013)) else float(rng.integers(1, 50))
            )
            rows.append(
                {
                    "unit_id": unit_id,
                    "name_en": name,
                    "year": year,
                    "x": np.nan if unit_id == "nord" else rng.normal(),
                    "y": np.nan if (unit_id == "sud" and year < 2014) else rng.normal(),
                    "patents": patents,
                    "log_patents": np.log(patents) if patents > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)


def spec(name: str = "fe", **changes):
    raw = {
        "label": "Région FE",
        "estimator": "fixed_effects",
        "entity_effects": True,
        "outcome": "log_patents",
        "regressors": ["x", "y"],
        "covariance": "clustered",
        **changes,
    }
    return model_spec(name, raw, {"first_year": 2011, "last_year": 2020})


def test_a_unit_in_no_model_is_named_with_the_variable_and_years_it_lacks():
    report = model_coverage(regional_panel(), {"fe": spec()}, {"log_patents": "patents"}, REGIONS)
    assert report["panel_units"] == 5 and report["units"] == "régions"
    entry = report["models"]["fe"]
    assert entry["units_used"] == 4
    assert entry["units_not_used"] == [
        {
            "unit_id": "nord",
            "name": "Nord",
            "missing": [{"variable": "x", "years": list(YEARS)}],
            "no_row_in_window": False,
            "no_consecutive_years": False,
        }
    ]
    assert report["units_in_no_model"] == [{"unit_id": "nord", "name": "Nord"}]
    # Zeros dropped from a logged variable are counted.
    assert entry["log_drops"] == {"log_patents": {"of": "patents", "zero": 2, "negative": 0}}
    text = coverage_markdown(report)
    assert "The panel has 5 régions." in text
    assert "**1 régions are in the panel but in no model's sample:** Nord (nord)" in text
    assert "- Nord (nord): x missing in 2011-2020." in text
    assert "log_patents: 2 unit-years where patents is zero" in text


def test_a_model_of_other_years_reports_only_its_own_years():
    late = spec("late", regressors=["y"], first_year=2012, last_year=2013)
    report = model_coverage(regional_panel(), {"late": late}, {}, REGIONS)
    missing = {u["unit_id"]: u["missing"] for u in report["models"]["late"]["units_not_used"]}
    assert missing == {
        "sud": [{"variable": "y", "years": [2012, 2013]}],
        # Est's patents are zero in both years, so their log is missing: named too.
        "est": [{"variable": "log_patents", "years": [2012, 2013]}],
    }


def test_each_model_reports_the_years_of_its_own_sample_not_the_window():
    """A variable every unit lacks before 2014 starts the sample in 2014: the report says
    so, beside the window it was given, and agrees with estimates.csv's sample years."""
    panel = regional_panel()
    panel.loc[panel["year"] < 2014, "y"] = np.nan
    models = {
        "fe": spec(covariance="robust"),
        "x_only": spec("x_only", label="Région FE, x only", regressors=["x"]),
    }
    report = model_coverage(panel, models, {}, REGIONS)
    assert report["models"]["fe"]["sample_years"] == "2014-2020"
    assert report["models"]["x_only"]["sample_years"] == "2011-2020"
    row = tidy(fit_model(panel, models["fe"], unit="région")).iloc[0]
    assert (row["sample_first_year"], row["sample_last_year"]) == (2014, 2020)
    text = coverage_markdown(report)
    assert "| Région FE | 2014-2020 (window 2011-2020) | 4 |" in text
    assert "| Région FE, x only | 2011-2020 | 4 |" in text


def test_a_model_that_cannot_be_estimated_is_reported_not_raised():
    report = model_coverage(
        regional_panel(), {"fe": spec(regressors=["x"], first_year=2011)}, {}, REGIONS
    )
    report["models"]["fe"]["not_estimable"] = report["models"]["fe"]["not_estimable"] or ""
    panel = regional_panel().assign(x=np.nan)
    broken = model_coverage(panel, {"fe": spec()}, {}, REGIONS)["models"]["fe"]
    assert "x has no value" in broken["not_estimable"] and broken["units_used"] == 0


def test_the_table_note_says_how_many_units_each_model_uses():
    assert coverage_note(46, [33.0, 46.0], "regions").startswith(
        "The panel has 46 regions; the models use (1) 33; (2) 46 "
    )
    assert coverage_note(64, [64, 64], "cities") == (
        "All 64 cities of the panel are in every model."
    )


def test_year_ranges_are_compact():
    assert year_ranges([2016, 2011, 2012, 2013]) == "2011-2013, 2016"
    assert year_ranges([2020]) == "2020"


# ---------------------------- dropped_units agrees with the report (issue 18, item 8)

ESTIMATOR_MODELS = {
    "pooled": {"estimator": "pooled_ols"},
    "between": {"estimator": "between"},
    "fe": {"estimator": "fixed_effects", "entity_effects": True},
    "re": {"estimator": "random_effects"},
    "fd": {"estimator": "first_differences"},
    "ppml": {
        "estimator": "ppml",
        "entity_effects": True,
        "time_effects": True,
        "outcome": "patents",
    },
}


def losing_panel() -> pd.DataFrame:
    """Eight units over ten years: Nord lacks x throughout (lost by every model), Sud
    lacks y before 2014 (loses three years), Isolé lacks x every other year (no two
    consecutive years: first differences lose it, the others lose five of its years),
    Zéro never has a patent (Poisson loses it)."""
    rng = np.random.default_rng(11)
    rows = []
    for unit_id in ["nord", "sud", "isole", "zero", "a", "b", "c", "d"]:
        for year in YEARS:
            rows.append(
                {
                    "unit_id": unit_id,
                    "name_en": unit_id.capitalize().replace("Isole", "Isolé"),
                    "year": year,
                    "x": np.nan
                    if unit_id == "nord" or (unit_id == "isole" and year % 2 == 0)
                    else rng.normal(),
                    "y": np.nan if (unit_id == "sud" and year < 2014) else rng.normal(),
                    "outcome": rng.normal(),
                    "patents": 0.0 if unit_id == "zero" else float(rng.integers(1, 50)),
                }
            )
    return pd.DataFrame(rows)


def estimator_models() -> dict:
    base = {"label": "", "outcome": "outcome", "regressors": ["x", "y"], "covariance": "robust"}
    return {
        name: model_spec(
            name, base | {"label": name} | raw, {"first_year": 2011, "last_year": 2020}
        )
        for name, raw in ESTIMATOR_MODELS.items()
    }


def test_dropped_units_of_every_estimator_are_the_units_the_report_lists():
    panel, models = losing_panel(), estimator_models()
    report = model_coverage(panel, models, {}, REGIONS)
    expected = {
        "pooled": ["nord"],
        "between": ["nord"],
        "fe": ["nord"],
        "re": ["nord"],
        "fd": ["isole", "nord"],
        "ppml": ["nord", "zero"],
    }
    for name, spec_ in models.items():
        fitted = fit_model(panel, spec_, unit="région")
        entry = report["models"][name]
        listed = sorted(
            [u["unit_id"] for u in entry["units_not_used"]] + entry["outcome_always_zero"]
        )
        assert list(fitted.lost_units) == listed == expected[name], name
        row = tidy(fitted).iloc[0]
        assert row["dropped_units"] == len(listed), name
        assert row["n_entities"] + row["dropped_units"] == report["panel_units"] == 8, name
        assert entry["units_used"] == row["n_entities"], name
    text = coverage_markdown(report)
    assert "| fd | 2011-2020 | 6 | 2 | 1 |" in text
    assert (
        "- Isolé (isole): x missing in 2012, 2014, 2016, 2018, 2020; no two consecutive years "
        "with every variable observed (first differences)." in text
    )
    assert "- Outcome always zero, so Poisson drops them: zero." in text


def test_a_unit_that_loses_some_years_is_itemised_with_the_years_and_why():
    report = model_coverage(losing_panel(), estimator_models(), {}, REGIONS)
    losing = {u["unit_id"]: u for u in report["models"]["fe"]["units_losing_years"]}
    assert sorted(losing) == ["isole", "sud"]
    assert losing["sud"]["years_lost"] == [2011, 2012, 2013]
    assert losing["sud"]["missing"] == [{"variable": "y", "years": [2011, 2012, 2013]}]
    assert losing["isole"]["years_lost"] == [2012, 2014, 2016, 2018, 2020]
    # First differences cannot use Isolé at all: it is lost, not losing years.
    assert [u["unit_id"] for u in report["models"]["fd"]["units_losing_years"]] == ["sud"]
    text = coverage_markdown(report)
    assert "Régions in the sample that lose some years:" in text
    assert "- Sud (sud) loses 3 year(s), 2011-2013: y missing in 2011-2013." in text
    assert "- Isolé (isole) loses 5 year(s), 2012, 2014, 2016, 2018, 2020: x missing in" in text


def test_a_loss_units_share_is_said_once_with_its_units():
    panel = losing_panel()
    panel.loc[panel["year"] == 2020, "y"] = np.nan
    report = model_coverage(panel, {"fe": estimator_models()["fe"]}, {}, REGIONS)
    assert len(report["models"]["fe"]["units_losing_years"]) == 7
    text = coverage_markdown(report)
    assert "- 5 régions (A, B, C, D, Zero) lose 1 year(s), 2020: y missing in 2020." in text
    assert "- Sud (sud) loses 4 year(s), 2011-2013, 2020: y missing in 2011-2013, 2020." in text
    # A year no unit has: one line for all of them.
    panel["y"] = np.where(panel["year"] == 2020, np.nan, 1.0 + panel["outcome"])
    only_y = model_spec(
        "y",
        {"label": "y", "estimator": "pooled_ols", "outcome": "outcome", "regressors": ["y"]}
        | {"covariance": "robust"},
        {"first_year": 2011, "last_year": 2020},
    )
    text = coverage_markdown(model_coverage(panel, {"y": only_y}, {}, REGIONS))
    assert "- All 8 régions of the sample lose 1 year(s), 2020: y missing in 2020." in text


def test_a_unit_without_a_row_in_the_model_years_is_said_to_have_none():
    panel = losing_panel()
    panel = panel[~((panel["unit_id"] == "d") & (panel["year"] > 2015))]
    raw = {"label": "late", "estimator": "pooled_ols", "outcome": "outcome", "regressors": ["y"]}
    late = model_spec(
        "late", raw | {"covariance": "robust"}, {"first_year": 2017, "last_year": 2020}
    )
    report = model_coverage(panel, {"late": late}, {}, REGIONS)
    assert [u["unit_id"] for u in report["models"]["late"]["units_not_used"]] == ["d"]
    assert "- D (d): no row in 2017-2020." in coverage_markdown(report)
    assert tidy(fit_model(panel, late)).iloc[0]["dropped_units"] == 1


@pytest.mark.workflow
def test_the_estimate_and_coverage_steps_count_the_same_lost_units(tmp_path: Path) -> None:
    """Through Snakemake on the small demo: a one-year model loses the cities missing a
    variable in that year; estimates.csv and model_coverage.json count the same units."""

    def add_one_year_model(config: dict) -> None:
        config["models"]["one_year"] = {
            "label": "Pooled OLS, 2016",
            "estimator": "pooled_ols",
            "outcome": "log_patents_granted",
            "regressors": ["rd_intensity", "log_talent", "open_platforms"],
            "covariance": "robust",
            "first_year": 2016,
            "last_year": 2016,
        }

    workdir = make_project(tmp_path, add_one_year_model)
    estimates_csv = DEMO.result("estimates/estimates.csv")
    coverage_json = DEMO.result("data_quality/model_coverage.json")
    run = snakemake(workdir, estimates_csv, coverage_json)
    assert run.returncode == 0, run.stderr[-4000:]
    estimates = pd.read_csv(workdir / estimates_csv).groupby("model", sort=False).first()
    report = json.loads((workdir / coverage_json).read_text(encoding="utf-8"))
    for name, entry in report["models"].items():
        lost = len(entry["units_not_used"]) + len(entry["outcome_always_zero"])
        assert estimates.loc[name, "dropped_units"] == lost, name
        assert estimates.loc[name, "n_entities"] + lost == report["panel_units"], name
    one_year = report["models"]["one_year"]
    assert one_year["units_not_used"], "the check needs a city the one-year model loses"
    # Cities with a gap in another model's years lose those years and are listed.
    assert any(entry["units_losing_years"] for entry in report["models"].values())
