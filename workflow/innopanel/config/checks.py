"""Checks of the study configuration that a JSON schema cannot express.

The schema (config/schemas/config.schema.yaml) fixes keys and types; this module
checks meaning: that every model term names a known variable, that the focal and
peer units exist, that the years make a window. Config never executes code: a model is a
list of variable names, each checked here against the known set.

Only the standard library is imported, so the Snakefile can call this at
start-up without paying for pandas.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from innopanel.config.concordance import concordance_problems
from innopanel.config.covariances import ESTIMATORS, LINEAR_ESTIMATORS, covariance_problems
from innopanel.config.data_specs import accepted_scale_breaks, cleaning_rules, variable_specs
from innopanel.config.diagnostics import diagnostics_spec
from innopanel.config.dimensions import variable_quantities
from innopanel.config.exhibits import exhibit_problems
from innopanel.config.narrative import narrative_problems
from innopanel.config.sources import check_sources
from innopanel.config.specs import ModelSpec, model_spec, source_specs
from innopanel.config.unit_labels import label_unit_problems
from innopanel.vocabulary import LAG_SUFFIX

# The unit table needs these; further columns (Chinese name, province, tier, aliases) are optional.
UNIT_TABLE_COLUMNS = ("unit_id", "name_en")


class ConfigError(ValueError):
    """The configuration is well-formed but does not make sense."""


def _suggest(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def known_variables(variables: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return every variable a model may use: configured ones plus `_lag1` versions."""
    names = list(variables)
    names += [name + LAG_SUFFIX for name, spec in variables.items() if spec.get("lag", False)]
    return names


def read_unit_ids(unit_table: str | Path) -> list[str]:
    """Return the ids of the unit table, checking its header."""
    path = Path(unit_table)
    if not path.is_file():
        raise ConfigError(
            f"{path}: unit table not found. Set data.unit_table in the study config "
            "to a CSV with columns " + ", ".join(UNIT_TABLE_COLUMNS) + "."
        )
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [c for c in UNIT_TABLE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {missing}; add them to the header.")
        return [row["unit_id"] for row in reader]


def unit_noun_problems(study: Mapping[str, Any]) -> list[str]:
    """Problems of study.unit and study.unit_plural: each must be one line of text
    without surrounding spaces, since it is printed inside labels and sentences."""
    problems = []
    for key in ("unit", "unit_plural"):
        noun = study[key] if key in study else None
        if noun is None:
            continue
        if noun != noun.strip() or not noun.isprintable():
            problems.append(
                f"study.{key} = {noun!r}: write the noun on one line without surrounding "
                "spaces, e.g. unit: région."
            )
    return problems


# Snakemake's report embeds every rule's params (labels included) in a <script> element
# unescaped: these sequences would end it early and let the rest run as markup.
SCRIPT_BREAKING = re.compile(r"</script|<!--", re.IGNORECASE)


def script_breaking_problems(node: Any, key: str = "") -> list[str]:
    """Problems of config text that would break out of the report's script element:
    every string anywhere in the config containing ``</script`` or ``<!--``."""
    if isinstance(node, str):
        if SCRIPT_BREAKING.search(node):
            return [
                f"{key} = {node!r}: remove '</script' and '<!--'; the HTML report embeds "
                "the config in a script element, which they would end early."
            ]
        return []
    if isinstance(node, Mapping):
        items = node.items()
        return [p for k, v in items for p in script_breaking_problems(v, f"{key}.{k}".lstrip("."))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in script_breaking_problems(v, f"{key}[{i}]")]
    return []


def _check_data_rules(
    data: Mapping[str, Any], variables: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Check the variables named by cleaning rules and derivations exist."""
    problems: list[str] = []
    source_variables = [name for name, spec in variables.items() if spec["kind"] == "source"]
    rules = cleaning_rules(data)
    named = [
        ("data.cleaning.balance_on", rules.balance_on or (), source_variables),
        (
            "data.cleaning.interpolate.variables",
            rules.interpolate.variables if rules.interpolate else (),
            source_variables,
        ),
        ("data.cleaning.outliers.variables", rules.outliers.variables or (), list(variables)),
    ]
    for key, names, allowed in named:
        for index, name in enumerate(names):
            if name not in allowed:
                problems.append(
                    f"{key}[{index}] = '{name}' is not a "
                    + ("source " if allowed is source_variables else "")
                    + "variable."
                    + _suggest(name, allowed)
                )
    for index, (source, variable) in enumerate(accepted_scale_breaks(data)):
        columns = data["sources"].get(source, {}).get("columns", {})
        if variable not in columns:
            problems.append(
                f"data.accept_scale_breaks[{index}] = {{source: {source}, variable: "
                f"{variable}}}: "
                + (
                    f"no source '{source}' under data.sources." + _suggest(source, data["sources"])
                    if source not in data["sources"]
                    else f"source '{source}' provides no '{variable}'."
                    + _suggest(variable, columns)
                )
                + " Name a source and a variable it provides."
            )
    return problems


def check_config(
    config: Mapping[str, Any], config_path: str = "config/studies/demo_cities.yaml"
) -> None:
    """Raise :class:`ConfigError` naming the first key whose value makes no sense."""
    problems: list[str] = []
    study, data, variables = config["study"], config["data"], config["variables"]
    known = known_variables(variables)

    if study["first_year"] > study["last_year"]:
        problems.append(
            f"study.first_year ({study['first_year']}) is after study.last_year "
            f"({study['last_year']}); swap them."
        )

    problems += unit_noun_problems(study)
    problems += script_breaking_problems(config)
    unit_ids = read_unit_ids(data["unit_table"])
    for key, unit in [("study.focal_unit", study["focal_unit"])] + [
        (f"study.peer_units[{i}]", c) for i, c in enumerate(study["peer_units"])
    ]:
        if unit not in unit_ids:
            problems.append(
                f"{key} = '{unit}' is not a unit_id in {data['unit_table']}."
                + _suggest(unit, unit_ids)
            )

    for name, variable in variable_specs(variables).items():
        if variable.kind == "source" and variable.unit is None:
            problems.append(f"variables.{name}: a source variable needs a unit.")
        if variable.unit is not None and variable.unit not in config["units"]:
            problems.append(
                f"variables.{name}.unit = '{variable.unit}' is not listed under units; "
                "add it there."
            )

    provided: set[str] = set()
    for source_name, source in data["sources"].items():
        for variable in source["columns"]:
            key = f"data.sources.{source_name}.columns.{variable}"
            if variable not in variables:
                problems.append(
                    f"{key}: '{variable}' is not a variable." + _suggest(variable, variables)
                )
            elif variables[variable]["kind"] != "source":
                problems.append(f"{key}: '{variable}' is derived, so no source may provide it.")
            provided.add(variable)
    for name, spec in variables.items():
        if spec["kind"] == "source" and name not in provided:
            problems.append(
                f"variables.{name} is a source variable but no entry under data.sources "
                "provides it; map a column to it or remove it."
            )

    problems += variable_quantities(variable_specs(variables), config["units"])[1]
    problems += label_unit_problems(variables, config["units"])
    problems += check_sources(source_specs(config), config["units"])
    problems += _check_data_rules(data, variables)
    problems += concordance_problems(data)
    problems += check_models(config["models"], known, study)
    problems += check_diagnostics(config["diagnostics"], config["models"])

    problems.extend(exhibit_problems(config))
    problems.extend(narrative_problems(config))

    if problems:
        raise ConfigError(
            f"{config_path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )


# Estimators that absorb fixed effects as such; FD differences unit effects out, and
# pooled OLS, between and RE models have none.
ABSORBING_ESTIMATORS = ("fixed_effects", "ppml")


def effects_problems(where: str, estimator: str, entity: bool, time: bool) -> list[str]:
    """Problems of a model's effects keys: effects its estimator cannot take, or a fixed
    effects model without any. ``where`` names the model (``models.<name>``). Used by the
    start-up check and by :func:`innopanel.econometrics.models.fit_model` alike."""
    if estimator == "fixed_effects" and not (entity or time):
        return [
            f"{where}: a fixed_effects model needs entity_effects or time_effects set to "
            "true (use estimator: pooled_ols for neither)."
        ]
    if estimator in ("pooled_ols", "between", "random_effects") and (entity or time):
        return [
            f"{where}: a {estimator} model takes no entity_effects or time_effects; use "
            "estimator: fixed_effects (or ppml) to absorb effects."
        ]
    if estimator == "first_differences" and entity:
        return [
            f"{where}: first differences remove unit effects already; set entity_effects "
            "to false (time_effects adds year dummies to the differenced equation)."
        ]
    return []


def _check_dynamics(spec: ModelSpec, study: Mapping[str, Any]) -> list[str]:
    where = f"models.{spec.name}"
    terms = list(spec.terms)
    problems = []
    for variable, max_lag in spec.distributed_lags:
        if variable not in terms:
            problems.append(
                f"{where}.distributed_lags: '{variable}' must also be a regressor or control "
                "of the model (its current value is lag 0)." + _suggest(variable, terms)
            )
        clashes = [
            f"{variable}_lag{k}" for k in range(1, max_lag + 1) if f"{variable}_lag{k}" in terms
        ]
        if clashes:
            problems.append(
                f"{where}: {clashes} are built by distributed_lags; remove them from the terms."
            )
    for index, pair in enumerate(spec.interactions):
        if pair[0] == pair[1]:
            problems.append(f"{where}.interactions[{index}] interacts '{pair[0]}' with itself.")
        for term in pair:
            if term not in terms:
                problems.append(
                    f"{where}.interactions[{index}]: '{term}' must also be a regressor or control "
                    "(an interaction needs its main effects)." + _suggest(term, terms)
                )
    first, last = spec.first_year, spec.last_year
    if first > last:
        problems.append(f"{where}: first_year ({first}) is after last_year ({last}).")
    elif first > study["last_year"] or last < study["first_year"]:
        problems.append(
            f"{where}: the years {first}-{last} lie outside the study window "
            f"{study['first_year']}-{study['last_year']}."
        )
    return problems


def check_models(
    models: Mapping[str, Mapping[str, Any]], known: list[str], study: Mapping[str, Any]
) -> list[str]:
    """Problems with the configured models: unknown terms, effects that the estimator
    cannot take, covariance keys that do not apply, lags, interactions and years."""
    problems: list[str] = []
    for model_name, model in models.items():
        spec = model_spec(model_name, model, study)
        where = f"models.{model_name}"
        roles = [("outcome", spec.outcome)]
        roles += [(f"regressors[{i}]", term) for i, term in enumerate(spec.regressors)]
        roles += [(f"controls[{i}]", term) for i, term in enumerate(spec.controls)]
        seen: dict[str, str] = {}
        for role, term in roles:
            if term not in known:
                problems.append(
                    f"{where}.{role} = '{term}' is not a known variable." + _suggest(term, known)
                )
            if term in seen:
                # A repeated column makes the design matrix singular; name both places.
                problems.append(
                    f"{where}.{role} = '{term}' repeats {where}.{seen[term]}; a variable "
                    "enters a model once: remove one of them."
                )
            else:
                seen[term] = role
        problems += effects_problems(where, spec.estimator, spec.entity_effects, spec.time_effects)
        problems += covariance_problems(
            where, spec.estimator, spec.covariance, spec.kernel, spec.bandwidth
        )
        problems += _check_dynamics(spec, study)
    return problems


# Which models each diagnostic accepts: (estimators allowed, needs unit effects).
DIAGNOSTIC_MODELS: dict[str, tuple[tuple[str, ...], bool]] = {
    "effects_f_test": (("fixed_effects",), True),
    "breusch_pagan": (LINEAR_ESTIMATORS, False),
    "serial_correlation": (LINEAR_ESTIMATORS, False),
    "cross_sectional_dependence": (ESTIMATORS, False),
    "vif": (ESTIMATORS, False),
}


def check_diagnostics(
    diagnostics: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Problems with the diagnostics section: unknown models or the wrong estimator."""
    problems: list[str] = []
    spec = diagnostics_spec(diagnostics)
    specs = {name: model_spec(name, model) for name, model in models.items()}
    hausman = spec.hausman
    for role, name in (
        ("fixed_effects", hausman.fixed_effects),
        ("random_effects", hausman.random_effects),
    ):
        if name not in specs:
            problems.append(
                f"diagnostics.hausman.{role} = '{name}' is not a model." + _suggest(name, models)
            )
        elif specs[name].estimator != role:
            problems.append(f"diagnostics.hausman.{role} = '{name}' must be a {role} model.")
        elif role == "fixed_effects" and not specs[name].entity_effects:
            problems.append(
                f"diagnostics.hausman.fixed_effects = '{name}' must have entity_effects: true."
            )
    for test, names in spec.model_tests:
        estimators, needs_unit_effects = DIAGNOSTIC_MODELS[test]
        for index, name in enumerate(names):
            where = f"diagnostics.{test}[{index}] = '{name}'"
            if name not in specs:
                problems.append(f"{where} is not a model." + _suggest(name, models))
            elif specs[name].estimator not in estimators:
                problems.append(f"{where}: the test needs a {' or '.join(estimators)} model.")
            elif needs_unit_effects and not specs[name].entity_effects:
                problems.append(f"{where}: the test needs a model with entity_effects: true.")
    return problems
