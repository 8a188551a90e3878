"""Declared derivations and their dimensions: what each derived variable is, and in what unit.

A derived variable declares one operation under ``derive`` (ratio, share, per_capita,
log, sum, difference, growth, lag, lead). Each variable has a :class:`Quantity`: the
dimension and factor of its canonical unit (from the study's ``units`` table). A
derivation is checked against its inputs' dimensions before anything is computed, and
carries the one scale that converts its inputs, so changing a canonical unit (say
population from 万人 to 人) converts correctly or is refused with a message saying why.

Only the standard library and the config wing are imported (the config check calls this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from innopanel.config.data_specs import Derivation, VariableSpec

# The dimension of a pure number (a ratio, a log); percentages are pure numbers x 100.
PURE_NUMBER = "1"
PERCENT = "percent"
# Operations whose result is a pure number: a declared unit would be a mistake.
DIMENSIONLESS_OPERATIONS = ("ratio", "share", "log", "growth")


@dataclass(frozen=True)
class Quantity:
    """A variable's dimension and the factor of its unit to the dimension's base unit."""

    dimension: str
    factor: float


def _unit_quantity(unit: str | None, units: Mapping[str, Mapping[str, Any]]) -> Quantity | None:
    """The quantity of a unit listed under ``units``; None if none is declared or listed."""
    if unit is None or unit not in units:
        return None
    return Quantity(str(units[unit]["dimension"]), float(units[unit]["factor"]))


def _result_quantity(
    name: str,
    spec: Derivation,
    inputs: list[Quantity],
    declared: Quantity | None,
) -> tuple[Quantity, str | None]:
    """Return the quantity a derivation yields, or a problem saying why it has none."""
    where = f"variables.{name}.derive.{spec.operation}"
    op = spec.operation
    if op in ("ratio", "share", "sum", "difference"):
        dimensions = sorted({q.dimension for q in inputs})
        if len(dimensions) > 1:
            return Quantity(PURE_NUMBER, 1.0), (
                f"{where}: its inputs {list(spec.inputs)} have different dimensions "
                f"{dimensions}; a {op} needs one dimension. Use per_capita for "
                "'x per person', or correct the inputs' units."
            )
    if op in DIMENSIONLESS_OPERATIONS:
        return Quantity(PERCENT if op in ("share", "growth") else PURE_NUMBER, 1.0), None
    if op == "per_capita":
        per = f"{spec.per:g}"
        dimension = f"{inputs[0].dimension} per {per} {inputs[1].dimension}"
        if declared is not None and declared.dimension != inputs[0].dimension:
            return Quantity(dimension, 1.0), (
                f"variables.{name}.unit has dimension '{declared.dimension}', but "
                f"{spec.inputs[0]} is in '{inputs[0].dimension}'; a per_capita figure is in "
                f"the unit of what it counts: declare a '{inputs[0].dimension}' unit."
            )
        return Quantity(dimension, declared.factor if declared else 1.0), None
    # sum, difference, lag, lead: the first input's quantity, or the declared unit's.
    if declared is not None and declared.dimension != inputs[0].dimension:
        return inputs[0], (
            f"variables.{name}.unit has dimension '{declared.dimension}', but its input "
            f"{spec.inputs[0]} is in '{inputs[0].dimension}'; declare a unit of that dimension."
        )
    return declared or inputs[0], None


def variable_quantities(
    variables: Mapping[str, VariableSpec], units: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Quantity], list[str]]:
    """Return each variable's quantity, in config order, and every derivation problem.

    A derived variable may use only variables listed before it; a problem names the key,
    what is wrong and the fix (a missing input names the way out: declare it, or drop the
    derived variable and the model terms that use it).
    """
    quantities: dict[str, Quantity] = {}
    problems: list[str] = []
    for name, variable in variables.items():
        unit = variable.unit
        declared = _unit_quantity(unit, units)
        if variable.kind == "source":
            if variable.derivation is not None:
                problems.append(
                    f"variables.{name}: a source variable is read, not derived; remove its "
                    "`derive`, or make it kind: derived."
                )
            if declared is not None:
                quantities[name] = declared
            continue
        spec = variable.derivation
        if spec is None:
            problems.append(
                f"variables.{name} is derived but declares no `derive`; declare how it is "
                "computed, e.g. derive: {share: {part: rd_expenditure, whole: gdp}} "
                "(README, 'Derived variables: declared, with dimensions')."
            )
            continue
        absent = [i for i in spec.inputs if i not in quantities]
        if absent:
            listed_later = [i for i in absent if i in variables]
            problems.append(
                f"variables.{name}.derive.{spec.operation} needs {absent}, "
                + (
                    f"listed after {name}; move {listed_later} above it."
                    if listed_later == absent
                    else "which this study does not have (or has without a unit). Declare "
                    f"them as variables before {name} (a source variable needs a source "
                    f"column), or remove {name} and every model term and exhibit using it."
                )
            )
            continue
        if unit is not None and spec.operation in DIMENSIONLESS_OPERATIONS:
            problems.append(
                f"variables.{name}.unit: a {spec.operation} is a pure number"
                + (" (a percentage)" if spec.operation in ("share", "growth") else "")
                + "; remove its unit."
            )
            continue
        if unit is not None and declared is None:
            continue  # the unit check in config.checks names the unlisted unit
        quantity, problem = _result_quantity(
            name, spec, [quantities[i] for i in spec.inputs], declared
        )
        if problem is not None:
            problems.append(problem)
            continue
        quantities[name] = quantity
    return quantities, problems


def derivation_scale(
    spec: Derivation, inputs: list[Quantity], result: Quantity
) -> tuple[float, ...]:
    """Return the factor each input is multiplied by (ratio-like: one factor overall).

    ratio, share, per_capita: one number applied to numerator / denominator; sum and
    difference: one factor per input, converting it to the result's unit.
    """
    op = spec.operation
    if op in ("ratio", "share"):
        hundred = 100.0 if op == "share" else 1.0
        return (hundred * inputs[0].factor / inputs[1].factor,)
    if op == "per_capita":
        assert spec.per is not None
        return (inputs[0].factor * spec.per / inputs[1].factor / result.factor,)
    if op in ("sum", "difference", "lag", "lead"):
        return tuple(q.factor / result.factor for q in inputs)
    return ()
