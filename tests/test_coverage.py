"""Units that fall out of a model are named with the variables and years they lack, and
the regression tables say how many of the panel's units each model uses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from innopanel.config.specs import model_spec
from innopanel.econometrics.coverage import coverage_markdown, model_coverage, year_ranges
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
        {"unit_id": "nord", "name": "Nord", "missing": [{"variable": "x", "years": list(YEARS)}]}
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
