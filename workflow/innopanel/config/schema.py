"""Explain config errors against the JSON schema in one line each, with the fix.

Snakemake's own validation prints the failing schema fragment; a researcher needs the
key, what is wrong with it and what to write instead. This check runs first at
start-up; Snakemake's validation then fills in the schema's defaults.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from innopanel.config.checks import ConfigError
from innopanel.config.specs import load_schema


def _key(path: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "".join(parts).lstrip(".") or "(top level)"


def explain(error: Any) -> list[str]:
    """Turn one jsonschema error into messages naming the key and the fix."""
    where = _key(error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and expected is False and isinstance(value, dict):
        allowed = list(error.schema.get("properties", {}))
        problems = []
        for key in value:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(
                f"{where}.{key}: unknown key (misspelled?).{hint} Allowed here: {allowed}."
            )
        return problems
    if kind == "required":
        return [f"{where}: {error.message}; add it (see the schema for its meaning)."]
    if kind == "type":
        return [f"{where} = {value!r} has the wrong type: write a value of type {expected}."]
    if kind in ("enum", "const"):
        options = expected if kind == "enum" else [expected]
        return [f"{where} = {value!r} is not allowed: use one of {options}."]
    return [f"{where}: {error.message}."]


def check_schema(
    config: Mapping[str, Any],
    schema_path: str | Path,
    config_path: str = "config/studies/demo_cities.yaml",
) -> None:
    """Raise :class:`ConfigError` listing every schema violation with its key and fix."""
    import jsonschema

    schema = load_schema(Path(schema_path).resolve())
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        problems += explain(error)
    if problems:
        shown = Path(schema_path)
        if shown.is_absolute() and shown.is_relative_to(Path.cwd()):
            shown = shown.relative_to(Path.cwd())
        raise ConfigError(
            f"{config_path} does not match {shown} ({len(problems)} problem(s)):\n  - "
            + "\n  - ".join(problems)
        )
