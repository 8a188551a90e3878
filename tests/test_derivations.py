"""Declared derivations: computed from canonical units, dimension-checked, drops counted."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from innopanel.config.checks import ConfigError
from innopanel.data.derivations import derive_panel, derive_variables

UNITS: dict[str, dict[str, Any]] = {
    "元": {"dimension": "money", "factor": 1},
    "万元": {"dimension": "money", "factor": 10000},
    "亿元": {"dimension": "money", "factor": 100000000},
    "人": {"dimension": "persons", "factor": 1},
    "万人": {"dimension": "persons", "factor": 10000},
    "count": {"dimension": "count", "factor": 1},
}


def _variables(population_unit: str, gdp_unit: str) -> dict[str, dict[str, Any]]:
    return {
        "gdp": {"kind": "source", "unit": gdp_unit, "label": "GDP"},
        "population": {"kind": "source", "unit": population_unit, "label": "Population"},
        "rd_personnel": {"kind": "source", "unit": "人", "label": "R&D personnel"},
        "rd_expenditure": {"kind": "source", "unit": "万元", "label": "R&D expenditure"},
        "talent": {
            "kind": "derived",
            "label": "R&D personnel per 10,000 residents",
            "derive": {
                "per_capita": {"of": "rd_personnel", "population": "population", "per": 10000}
            },
        },
        "gdp_per_capita": {
            "kind": "derived",
            "label": "GDP per capita (CNY)",
            "derive": {"per_capita": {"of": "gdp", "population": "population", "per": 1}},
        },
        "rd_intensity": {
            "kind": "derived",
            "label": "R&D intensity (% of GDP)",
            "derive": {"share": {"part": "rd_expenditure", "whole": "gdp"}},
        },
    }


def _panel(**columns: list[float]) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    frame = pd.DataFrame({"unit_id": ["a"] * rows, "year": list(range(2010, 2010 + rows))})
    for name, values in columns.items():
        frame[name] = np.asarray(values, dtype="float64")
    return frame


def test_per_capita_and_share_do_not_depend_on_the_canonical_units() -> None:
    """1,000 researchers in 1.2 million residents is 8.33 per 10,000, in 万人 or in 人."""
    in_wan = _panel(gdp=[1.0], population=[120.0], rd_personnel=[1000.0], rd_expenditure=[2000.0])
    in_persons = _panel(
        gdp=[1e8], population=[1_200_000.0], rd_personnel=[1000.0], rd_expenditure=[2000.0]
    )
    first = derive_variables(in_wan, _variables("万人", "亿元"), UNITS)
    second = derive_variables(in_persons, _variables("人", "元"), UNITS)
    for name, expected in [
        ("talent", 1000 / 120),
        ("gdp_per_capita", 1e8 / 1.2e6),
        ("rd_intensity", 100 * 2000 * 1e4 / 1e8),
    ]:
        assert first[name].iloc[0] == pytest.approx(expected, rel=1e-12)
        assert second[name].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_a_declared_result_unit_converts_and_a_wrong_dimension_is_refused() -> None:
    variables = _variables("人", "元")
    variables["gdp_per_capita"]["unit"] = "万元"
    derived = derive_variables(
        _panel(gdp=[5e8], population=[1e4], rd_personnel=[1.0], rd_expenditure=[1.0]),
        variables,
        UNITS,
    )
    assert derived["gdp_per_capita"].iloc[0] == pytest.approx(5.0)  # 50,000 元 = 5 万元
    variables["gdp_per_capita"]["unit"] = "万人"
    with pytest.raises(ConfigError, match=r"gdp_per_capita\.unit has dimension 'persons'.*'money'"):
        derive_variables(
            _panel(gdp=[1.0], population=[1.0], rd_personnel=[1.0], rd_expenditure=[1.0]),
            variables,
            UNITS,
        )


def test_a_share_of_two_dimensions_is_refused_with_the_fix() -> None:
    variables = _variables("人", "元")
    variables["rd_intensity"]["derive"] = {"share": {"part": "rd_personnel", "whole": "gdp"}}
    with pytest.raises(
        ConfigError, match=r"rd_intensity\.derive\.share.*different dimensions.*per_capita"
    ):
        derive_variables(
            _panel(gdp=[1.0], population=[1.0], rd_personnel=[1.0], rd_expenditure=[1.0]),
            variables,
            UNITS,
        )


def test_a_derivation_without_its_input_names_the_way_out() -> None:
    variables = _variables("人", "元")
    del variables["population"]
    with pytest.raises(ConfigError) as error:
        derive_variables(
            _panel(gdp=[1.0], rd_personnel=[1.0], rd_expenditure=[1.0]), variables, UNITS
        )
    message = str(error.value)
    assert "variables.talent.derive.per_capita needs ['population']" in message
    assert "or remove talent and every model term and exhibit using it" in message


def test_an_input_listed_after_its_derivation_is_named() -> None:
    variables = _variables("人", "元")
    variables = {"talent": variables.pop("talent"), **variables}
    with pytest.raises(
        ConfigError, match=r"listed after talent; move \['rd_personnel', 'population'\] above it"
    ):
        derive_variables(
            _panel(gdp=[1.0], population=[1.0], rd_personnel=[1.0], rd_expenditure=[1.0]),
            variables,
            UNITS,
        )


def test_a_derived_variable_must_declare_how() -> None:
    variables = _variables("人", "元")
    del variables["talent"]["derive"]
    with pytest.raises(ConfigError, match=r"variables\.talent is derived but declares no `derive`"):
        derive_variables(
            _panel(gdp=[1.0], population=[1.0], rd_personnel=[1.0], rd_expenditure=[1.0]),
            variables,
            UNITS,
        )


def test_log_zeros_and_negatives_are_counted_or_refused() -> None:
    variables = {
        "patents": {"kind": "source", "unit": "count", "label": "Patents"},
        "log_patents": {
            "kind": "derived",
            "label": "Log patents",
            "derive": {"log": {"of": "patents"}},
        },
    }
    panel = _panel(patents=[0.0, -1.0, 0.0, math.e, float("nan")])
    derived, drops = derive_panel(panel, variables, UNITS)
    assert derived["log_patents"].iloc[3] == pytest.approx(1.0)
    assert derived["log_patents"].iloc[[0, 1, 2, 4]].isna().all()
    assert [(d.reason, d.rows) for d in drops] == [("zero", 2), ("negative", 1)]
    variables["log_patents"]["derive"] = {"log": {"of": "patents", "zero": "error"}}
    with pytest.raises(
        ConfigError, match=r"log of patents meets 2 zero value\(s\).*'year': 2010.*log\.zero: drop"
    ):
        derive_panel(panel, variables, UNITS)


def test_a_log_with_a_unit_is_refused() -> None:
    variables = {
        "patents": {"kind": "source", "unit": "count", "label": "Patents"},
        "log_patents": {
            "kind": "derived",
            "unit": "count",
            "label": "Log patents",
            "derive": {"log": {"of": "patents"}},
        },
    }
    with pytest.raises(
        ConfigError, match=r"log_patents\.unit: a log is a pure number; remove its unit"
    ):
        derive_panel(_panel(patents=[1.0]), variables, UNITS)


def test_a_zero_denominator_is_missing_and_counted_not_infinite() -> None:
    variables = _variables("人", "元")
    panel = _panel(
        gdp=[0.0, 1.0], population=[1.0, 1.0], rd_personnel=[1.0, 1.0], rd_expenditure=[1.0, 1.0]
    )
    derived, drops = derive_panel(panel, variables, UNITS)
    assert np.isnan(derived["rd_intensity"].iloc[0])
    assert np.isfinite(derived["rd_intensity"].iloc[1])
    assert [(d.variable, d.reason, d.rows) for d in drops] == [
        ("rd_intensity", "zero denominator", 1)
    ]


def test_sum_difference_growth_lag_and_lead_by_calendar_year() -> None:
    variables: dict[str, dict[str, Any]] = {
        "a": {"kind": "source", "unit": "万元", "label": "A"},
        "b": {"kind": "source", "unit": "元", "label": "B"},
        "total": {"kind": "derived", "label": "A + B", "derive": {"sum": {"of": ["a", "b"]}}},
        "gap": {
            "kind": "derived",
            "label": "A - B",
            "derive": {"difference": {"of": "a", "minus": "b"}},
        },
        "growth": {"kind": "derived", "label": "Growth of A", "derive": {"growth": {"of": "a"}}},
        "a_lag2": {
            "kind": "derived",
            "label": "A two years earlier",
            "derive": {"lag": {"of": "a", "years": 2}},
        },
        "a_lead": {"kind": "derived", "label": "A next year", "derive": {"lead": {"of": "a"}}},
    }
    # 2012 is missing: growth and lags must follow the calendar, not row order.
    panel = pd.DataFrame(
        {
            "unit_id": ["u"] * 3,
            "year": [2010, 2011, 2013],
            "a": [1.0, 2.0, 4.0],
            "b": [10000.0, 0.0, 1.0],
        }
    )
    derived = derive_variables(panel, variables, UNITS)
    # The sum and difference are in the first input's unit (万元).
    assert derived["total"].tolist() == [2.0, 2.0, pytest.approx(4.0001)]
    assert derived["gap"].tolist() == [0.0, 2.0, pytest.approx(3.9999)]
    assert derived["growth"].iloc[1] == pytest.approx(100.0)
    assert np.isnan(derived["growth"].iloc[2])
    assert derived["a_lag2"].isna().tolist() == [True, True, False]
    assert derived["a_lag2"].iloc[2] == 2.0
    assert derived["a_lead"].tolist()[0] == 2.0 and derived["a_lead"].isna().tolist()[1:] == [
        True,
        True,
    ]
