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
# Operations whose result is a pure number: a declared unit would be a mistake (but for
# a ratio of two dimensions, which needs one).
DIMENSIONLESS_OPERATIONS = ("ratio", "share", "log", "growth")
# The dimensions a per_capita denominator may have: a number of people.
POPULATION_DIMENSIONS = ("persons", "person", "people", "population", "inhabitants", "residents")


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
    dimensions = sorted({q.dimension for q in inputs})
    if op == "ratio" and len(dimensions) > 1:
        if declared is None:
            return Quantity(PURE_NUMBER, 1.0), (
                f"{where}: its inputs {list(spec.inputs)} have different dimensions "
                f"{dimensions}, so the ratio has a unit: declare it as variables.{name}.unit "
                "and list it under units, e.g. 'EUR per PPS': {dimension: eur_per_pps, "
                "factor: 1} (README, 'Derived variables: declared, with dimensions')."
            )
        if declared.dimension in dimensions:
            return declared, (
                f"variables.{name}.unit is in '{declared.dimension}', a dimension of one of "
                f"its inputs {list(spec.inputs)}; a ratio of {dimensions} is in neither: "
                "declare a unit of its own dimension (e.g. eur_per_pps)."
            )
        return declared, None
    if op in ("ratio", "share", "sum", "difference") and len(dimensions) > 1:
        return Quantity(PURE_NUMBER, 1.0), (
            f"{where}: its inputs {list(spec.inputs)} have different dimensions "
            f"{dimensions}; a {op} needs one dimension. For a quotient of two dimensions "
            f"use ratio with its unit declared (variables.{name}.unit), or per_capita when "
            "the denominator is a population; or correct the inputs' units."
        )
    if op in DIMENSIONLESS_OPERATIONS:
        return Quantity(PERCENT if op in ("share", "growth") else PURE_NUMBER, 1.0), None
    if op == "per_capita" and inputs[1].dimension not in POPULATION_DIMENSIONS:
        return Quantity(PURE_NUMBER, 1.0), (
            f"{where}: its population {spec.inputs[1]} is in '{inputs[1].dimension}', not "
            f"a number of people (a dimension among {list(POPULATION_DIMENSIONS)}). For "
            f"{spec.inputs[0]} per {spec.inputs[1]} use ratio: {{numerator: "
            f"{spec.inputs[0]}, denominator: {spec.inputs[1]}}} with the result's unit "
            f"declared as variables.{name}.unit."
        )
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


def derivation_cycles(variables: Mapping[str, VariableSpec]) -> list[tuple[str, ...]]:
    """Each cycle of derived variables computed from one another, once, in config order
    (``("a", "b", "a")``: a is derived from b, b from a)."""
    inputs = {
        name: [i for i in variable.derivation.inputs if i in variables]
        for name, variable in variables.items()
        if variable.kind == "derived" and variable.derivation is not None
    }
    cycles: list[tuple[str, ...]] = []
    seen: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = (*path[path.index(name) :], name)
            if frozenset(cycle) not in seen:
                seen.add(frozenset(cycle))
                cycles.append(cycle)
            return
        if name in done:
            return
        for used in inputs.get(name, ()):
            visit(used, [*path, name])
        done.add(name)

    for name in inputs:
        visit(name, [])
    return cycles


def _absent_inputs(
    name: str,
    spec: Derivation,
    absent: list[str],
    variables: Mapping[str, VariableSpec],
    in_cycles: set[str],
) -> str:
    """Why the inputs ``absent`` have no quantity yet, and the one fix that applies."""
    needs = f"variables.{name}.derive.{spec.operation} needs {absent}, "
    order = list(variables)
    listed_later = [i for i in absent if i in variables and order.index(i) > order.index(name)]
    if set(absent) & in_cycles:
        return needs + "which cannot be computed until their cycle, named above, is broken."
    if listed_later == absent:
        return needs + f"listed after {name}; move {listed_later} above it."
    if all(i in variables and variables[i].kind == "derived" for i in absent):
        return needs + "which could not be derived (their own problem is named); fix it first."
    return needs + (
        "which this study does not have (or has without a unit). Declare them as variables "
        f"before {name} (a source variable needs a source column), or remove {name} and "
        "every model term and exhibit using it."
    )


def variable_quantities(
    variables: Mapping[str, VariableSpec], units: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Quantity], list[str]]:
    """Return each variable's quantity, in config order, and every derivation problem.

    A derived variable may use only variables listed before it; a problem names the key,
    what is wrong and the fix (a missing input names the way out: declare it, or drop the
    derived variable and the model terms that use it).
    """
    quantities: dict[str, Quantity] = {}
    cycles = derivation_cycles(variables)
    problems = [
        f"variables {' -> '.join(cycle)}: each is derived from the next, so none can be "
        f"computed, whatever their order. Break the cycle: derive {cycle[0]} from variables "
        "outside it, or make it a source variable (kind: source) read from a column."
        for cycle in cycles
    ]
    in_cycles = {name for cycle in cycles for name in cycle}
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
        if name in in_cycles:
            continue  # named once, with its cycle, above
        if spec is None:
            problems.append(
                f"variables.{name} is derived but declares no `derive`; declare how it is "
                "computed, e.g. derive: {share: {part: rd_expenditure, whole: gdp}} "
                "(README, 'Derived variables: declared, with dimensions')."
            )
            continue
        absent = [i for i in spec.inputs if i not in quantities]
        if absent:
            problems.append(_absent_inputs(name, spec, absent, variables, in_cycles))
            continue
        inputs = [quantities[i] for i in spec.inputs]
        two_dimensions = len({q.dimension for q in inputs}) > 1
        if (
            unit is not None
            and spec.operation in DIMENSIONLESS_OPERATIONS
            and not (spec.operation == "ratio" and two_dimensions)
        ):
            problems.append(
                f"variables.{name}.unit: a {spec.operation} is a pure number"
                + (" (a percentage)" if spec.operation in ("share", "growth") else "")
                + "; remove its unit."
            )
            continue
        if unit is not None and declared is None:
            continue  # the unit check in config.checks names the unlisted unit
        quantity, problem = _result_quantity(name, spec, inputs, declared)
        if problem is not None:
            problems.append(problem)
            continue
        quantities[name] = quantity
    return quantities, problems


def derivation_scale(
    spec: Derivation, inputs: list[Quantity], result: Quantity
) -> tuple[float, ...]:
    """Return the factor each input is multiplied by (ratio-like: one factor overall).

    ratio, share, per_capita: one number applied to numerator / denominator (a ratio of
    two dimensions in its declared unit; a pure number's factor is 1); sum and
    difference: one factor per input, converting it to the result's unit.
    """
    op = spec.operation
    if op == "ratio":
        return (inputs[0].factor / inputs[1].factor / result.factor,)
    if op == "share":
        return (100.0 * inputs[0].factor / inputs[1].factor,)
    if op == "per_capita":
        assert spec.per is not None
        return (inputs[0].factor * spec.per / inputs[1].factor / result.factor,)
    if op in ("sum", "difference", "lag", "lead"):
        return tuple(q.factor / result.factor for q in inputs)
    return ()
