"""Checks of the study configuration that a JSON schema cannot express.

The schema (config/schemas/config.schema.yaml) fixes keys and types; this module
checks meaning: that every model term names a known variable, that the cities
exist, that the years make a window. Config never executes code: a model is a
list of variable names, each checked here against the known set.

Only the standard library is imported, so the Snakefile can call this at
start-up without paying for pandas.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from innopanel.exhibits import exhibit_problems

LAG_SUFFIX = "_lag1"
# The unit table needs these; further columns (Chinese name, province, tier, aliases) are optional.
UNIT_TABLE_COLUMNS = ("unit_id", "name_en")
UNIT_LABELS = {"city": ("city", "cities"), "country": ("country", "countries")}


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


def base_variable(term: str) -> str:
    """Return the variable a (possibly lagged) term is made from."""
    return term.removesuffix(LAG_SUFFIX)


def unit_words(unit: str) -> tuple[str, str]:
    """Return the (singular, plural) words for the panel unit, e.g. ("city", "cities")."""
    if unit not in UNIT_LABELS:
        raise ValueError(f"unknown panel unit '{unit}'; use one of {sorted(UNIT_LABELS)}.")
    return UNIT_LABELS[unit]


def model_terms(model: Mapping[str, Any]) -> list[str]:
    """Return a model's right-hand-side terms in order: regressors, then controls."""
    return list(model["regressors"]) + list(model.get("controls") or [])


def read_unit_ids(unit_table: str | Path) -> list[str]:
    """Return the ids of the unit table (cities by default), checking its header."""
    path = Path(unit_table)
    if not path.is_file():
        raise ConfigError(
            f"{path}: unit table not found. Set data.unit_table in config/config.yaml "
            "to a CSV with columns " + ", ".join(UNIT_TABLE_COLUMNS) + "."
        )
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [c for c in UNIT_TABLE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {missing}; add them to the header.")
        return [row["unit_id"] for row in reader]


def check_config(config: Mapping[str, Any], config_path: str = "config/config.yaml") -> None:
    """Raise :class:`ConfigError` naming the first key whose value makes no sense."""
    problems: list[str] = []
    study, data, variables = config["study"], config["data"], config["variables"]
    known = known_variables(variables)

    if study["first_year"] > study["last_year"]:
        problems.append(
            f"study.first_year ({study['first_year']}) is after study.last_year "
            f"({study['last_year']}); swap them."
        )

    unit_ids = read_unit_ids(data["unit_table"])
    for key, unit in [("study.focal_unit", study["focal_unit"])] + [
        (f"study.peer_units[{i}]", c) for i, c in enumerate(study["peer_units"])
    ]:
        if unit not in unit_ids:
            problems.append(
                f"{key} = '{unit}' is not a unit_id in {data['unit_table']}."
                + _suggest(unit, unit_ids)
            )

    for name, spec in variables.items():
        unit = spec.get("unit")
        if spec["kind"] == "source" and unit is None:
            problems.append(f"variables.{name}: a source variable needs a unit.")
        if unit is not None and unit not in config["units"]:
            problems.append(
                f"variables.{name}.unit = '{unit}' is not listed under units; add it there."
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

    for model_name, model in config["models"].items():
        for role in ("outcome", "regressors", "controls"):
            value = model.get(role) or []
            terms = [value] if isinstance(value, str) else value
            for index, term in enumerate(terms):
                if term not in known:
                    where = f"models.{model_name}.{role}" + (
                        "" if role == "outcome" else f"[{index}]"
                    )
                    problems.append(
                        f"{where} = '{term}' is not a known variable." + _suggest(term, known)
                    )
        if model["estimator"] == "fixed_effects" and not (
            model.get("entity_effects") or model.get("time_effects")
        ):
            problems.append(
                f"models.{model_name}: a fixed_effects model needs entity_effects or "
                "time_effects set to true (use estimator: pooled_ols for neither)."
            )

    hausman = config["hausman"]
    for role, estimator in (
        ("fixed_effects", "fixed_effects"),
        ("random_effects", "random_effects"),
    ):
        name = hausman[role]
        if name not in config["models"]:
            problems.append(
                f"hausman.{role} = '{name}' is not a model." + _suggest(name, config["models"])
            )
        elif config["models"][name]["estimator"] != estimator:
            problems.append(f"hausman.{role} = '{name}' must be a {estimator} model.")

    problems.extend(exhibit_problems(config))

    if problems:
        raise ConfigError(
            f"{config_path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
