"""Derived variables: computed from the panel as the study config declares them, and lags.

Each derived variable declares one operation (``derive``: ratio, share, per_capita, log,
sum, difference, growth, lag, lead; see :mod:`innopanel.config.derivation_specs`),
computed in config order from canonical units: the inputs' unit factors are folded into
one scale, so "per 10,000 residents" means that whatever unit population is kept in.
A variable marked ``lag`` also gets a ``_lag1`` column. Lags, leads and growth shift by
calendar year, so a gap year gives a missing value. Rows where every input is observed
but the result is not (log of zero, division by zero, growth from zero) are counted for
the data-quality report. The synthetic wing derives with this module too, so that it and
the pipeline cannot compute a variable two ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innopanel.config.checks import ConfigError
from innopanel.config.data_specs import Derivation, variable_specs
from innopanel.config.dimensions import derivation_scale, variable_quantities
from innopanel.vocabulary import LAG_SUFFIX


@dataclass(frozen=True)
class DerivationDrop:
    """Rows of one derived variable left missing although every input was observed."""

    variable: str
    operation: str
    inputs: tuple[str, ...]
    # Why: "zero" / "negative" (log), "zero denominator", "not positive earlier value".
    reason: str
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "operation": self.operation,
            "inputs": list(self.inputs),
            "reason": self.reason,
            "rows": self.rows,
        }


def _shift_years(panel: pd.DataFrame, column: str, years: int) -> pd.Series:
    """The unit's value of ``column`` ``years`` calendar years earlier (later if negative)."""
    moved = panel[["unit_id", "year", column]].copy()
    moved["year"] = moved["year"] + years
    keys = panel[["unit_id", "year"]]
    return keys.merge(moved, on=["unit_id", "year"], how="left")[column].set_axis(panel.index)


def _log(name: str, spec: Derivation, values: pd.Series, panel: pd.DataFrame) -> pd.Series:
    for policy, bad, what in (
        (spec.zero, values == 0, "zero"),
        (spec.negative, values < 0, "negative"),
    ):
        if policy == "error" and bad.any():
            rows = panel.loc[bad, ["unit_id", "year"]].head(5).to_dict("records")
            raise ConfigError(
                f"variables.{name}: log of {spec.inputs[0]} meets {int(bad.sum())} {what} "
                f"value(s), e.g. {rows}; log.{what} is 'error'. Set "
                f"variables.{name}.derive.log.{what}: drop to leave them missing (counted), "
                "or correct the data."
            )
    return np.log(values.where(values > 0))


def _compute(
    name: str, spec: Derivation, scale: tuple[float, ...], panel: pd.DataFrame
) -> tuple[pd.Series, list[tuple[str, pd.Series]]]:
    """Return the derived values and, per reason, the rows a defined input left missing."""
    first = panel[spec.inputs[0]]
    op = spec.operation
    if op in ("ratio", "share", "per_capita"):
        denominator = panel[spec.inputs[1]]
        zero = denominator == 0
        values = scale[0] * first / denominator.where(~zero)
        return values, [("zero denominator", zero & first.notna())]
    if op == "log":
        observed = first.notna()
        return _log(name, spec, first, panel), [
            ("zero", observed & (first == 0)),
            ("negative", observed & (first < 0)),
        ]
    if op == "sum":
        parts = pd.concat(
            [panel[i] * s if s != 1 else panel[i] for i, s in zip(spec.inputs, scale, strict=True)],
            axis=1,
        )
        return parts.sum(axis=1, min_count=len(spec.inputs)), []
    if op == "difference":
        return first * scale[0] - panel[spec.inputs[1]] * scale[1], []
    if op == "growth":
        earlier = _shift_years(panel, spec.inputs[0], spec.years)
        positive = earlier > 0
        values = 100 * (first / earlier.where(positive) - 1)
        return values, [("not positive earlier value", first.notna() & earlier.notna() & ~positive)]
    shifted = _shift_years(panel, spec.inputs[0], spec.years if op == "lag" else -spec.years)
    return shifted * scale[0] if scale[0] != 1 else shifted, []


def derive_panel(
    panel: pd.DataFrame,
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
) -> tuple[pd.DataFrame, list[DerivationDrop]]:
    """Add the declared derived variables and the ``_lag1`` of those marked ``lag``.

    ``variables`` and ``units`` are the config's sections; derived variables are
    computed in config order, so each may use those listed before it. Returns the panel
    and the rows each derivation left missing although its inputs were observed.
    """
    specs = variable_specs(variables)
    quantities, problems = variable_quantities(specs, units)
    if problems:
        raise ConfigError("Derived variables cannot be computed:\n  - " + "\n  - ".join(problems))
    panel = panel.copy()
    drops: list[DerivationDrop] = []
    for name, variable in specs.items():
        spec = variable.derivation
        if variable.kind != "derived" or spec is None:
            continue
        scale = derivation_scale(spec, [quantities[i] for i in spec.inputs], quantities[name])
        values, missing = _compute(name, spec, scale, panel)
        panel[name] = values.astype("float64")
        drops += [
            DerivationDrop(name, spec.operation, spec.inputs, reason, int(rows.sum()))
            for reason, rows in missing
            if rows.any()
        ]
    lagged = [name for name, variable in specs.items() if variable.lag]
    # Lag by calendar year, not by row position, so a gap year gives a missing lag.
    previous = panel[["unit_id", "year", *lagged]].copy()
    previous["year"] = previous["year"] + 1
    previous = previous.rename(columns={name: name + LAG_SUFFIX for name in lagged})
    return panel.merge(previous, on=["unit_id", "year"], how="left"), drops


def derive_variables(
    panel: pd.DataFrame,
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """The panel with the declared derived variables (see :func:`derive_panel`)."""
    return derive_panel(panel, variables, units)[0]
