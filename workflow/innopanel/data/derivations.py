"""Derived variables: THE one table of how each is computed from the panel, and lags.

Every derived variable the study may configure (``kind: derived``) is computed here,
from columns already in the panel, in config order; ``log_of`` takes the natural log
of an earlier variable. Units follow the yearbooks: GDP in 亿元 (1e8 CNY), population in
万人 (1e4 persons). A variable marked ``lag`` gets a ``_lag1`` column, lagged by
calendar year so that a gap year gives a missing lag. The synthetic wing derives with
this table too, so that it and the pipeline cannot compute a variable two ways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from innopanel.config.checks import ConfigError
from innopanel.config.data_specs import variable_specs
from innopanel.vocabulary import LAG_SUFFIX


def _safe_log(values: pd.Series) -> pd.Series:
    """Natural log where positive, NaN elsewhere (log of zero is undefined, not -inf)."""
    return np.log(values.where(values > 0))


def _open_platforms(panel: pd.DataFrame) -> pd.Series:
    parts = panel[["key_laboratories", "engineering_research_centres", "incubators"]]
    return parts.sum(axis=1, min_count=3)


# Each derived variable: the inputs it needs and how it is computed. Population is
# in 万人 (10,000 persons), so "x per 10,000 residents" is x / population.
DERIVATIONS: dict[str, tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]] = {
    "rd_intensity": (("rd_expenditure", "gdp"), lambda p: 100 * p["rd_expenditure"] / p["gdp"]),
    "talent": (("rd_personnel", "population"), lambda p: p["rd_personnel"] / p["population"]),
    "log_talent": (("talent",), lambda p: _safe_log(p["talent"])),
    "college_students_per_10k": (
        ("college_students", "population"),
        lambda p: p["college_students"] / p["population"],
    ),
    "open_platforms": (
        ("key_laboratories", "engineering_research_centres", "incubators"),
        _open_platforms,
    ),
    # GDP in 亿元 (1e8 CNY) over population in 万人 (1e4 persons) gives CNY per person / 1e4.
    "gdp_per_capita": (("gdp", "population"), lambda p: 1e4 * p["gdp"] / p["population"]),
    "log_gdp_per_capita": (("gdp_per_capita",), lambda p: _safe_log(p["gdp_per_capita"])),
    "log_patents_granted": (
        ("invention_patents_granted",),
        lambda p: _safe_log(p["invention_patents_granted"]),
    ),
    "patents_per_10k": (
        ("invention_patents_granted", "population"),
        lambda p: p["invention_patents_granted"] / p["population"],
    ),
}


def derive_variables(
    panel: pd.DataFrame, variables: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Add the configured derived variables and the `_lag1` of those marked ``lag``.

    ``variables`` is the config's ``variables`` section; derived ones are computed in
    its order, so each may use those listed before it.
    """
    panel = panel.copy()
    specs = variable_specs(variables)
    for name, spec in specs.items():
        if spec.kind != "derived":
            continue
        if spec.log_of is not None:
            if spec.log_of not in panel.columns:
                raise ConfigError(
                    f"variables.{name}.log_of = '{spec.log_of}' is not a variable computed "
                    f"before {name}; list it under variables first."
                )
            panel[name] = _safe_log(panel[spec.log_of]).astype("float64")
            continue
        if name not in DERIVATIONS:
            raise ConfigError(
                f"variables.{name} is 'derived' but innopanel knows no derivation for it; "
                f"known: {sorted(DERIVATIONS)}."
            )
        inputs, compute = DERIVATIONS[name]
        absent = [i for i in inputs if i not in panel.columns]
        if absent:
            raise ConfigError(
                f"variables.{name} needs {absent}; list them under variables (before {name})."
            )
        panel[name] = compute(panel).astype("float64")
    lagged = [name for name, spec in specs.items() if spec.lag]
    # Lag by calendar year, not by row position, so a gap year gives a missing lag.
    previous = panel[["unit_id", "year", *lagged]].copy()
    previous["year"] = previous["year"] + 1
    previous = previous.rename(columns={name: name + LAG_SUFFIX for name in lagged})
    return panel.merge(previous, on=["unit_id", "year"], how="left")
