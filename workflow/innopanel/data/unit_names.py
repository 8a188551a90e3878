"""Unit names: the unit table, every accepted name of a unit, and raw names made ids.

Yearbooks name a city '成都', '成都市', 'Chengdu City' or 'Chéngdū'; all reduce to one
comparison key (:func:`normalise_unit_name`) that maps to the unit table's ``unit_id``
through its names and aliases and ``data.aliases`` (the key is defined in
:mod:`innopanel.config.unit_keys`, which the config checks share). An ambiguous alias
is a config error. Which rows are units at all, and how sub-units merge, is
:mod:`innopanel.data.harmonise`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from innopanel.config.checks import ConfigError
from innopanel.config.unit_keys import normalise_unit_name, unit_row_names


def read_unit_table(path: str | Path) -> pd.DataFrame:
    """Read the unit table (one row per city or country) as strings, tier as integer."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if "unit_id" not in table.columns:
        raise ConfigError(f"{path}: no unit_id column; the first header cell should be unit_id.")
    for column in ("unit_id", "tier"):
        if column not in table.columns:
            continue
        cells = table[column].str.strip()
        bad = cells.eq("") if column == "unit_id" else ~cells.str.fullmatch(r"\d+")
        if bad.any():
            line = int(bad.to_numpy().argmax()) + 2  # the header is line 1
            raise ConfigError(
                f"{path}, line {line}, column '{column}': "
                + (
                    "blank; every unit needs an id."
                    if column == "unit_id"
                    else f"'{table[column].iloc[line - 2]}' is not a whole number; give every "
                    "unit its tier (or remove the column)."
                )
            )
    if "tier" in table.columns:
        table["tier"] = table["tier"].astype(int)
    if table["unit_id"].duplicated().any():
        duplicated = table.loc[table["unit_id"].duplicated(), "unit_id"].tolist()
        raise ConfigError(f"{path}: duplicated unit_id {duplicated}; each unit needs one row.")
    return table


def unit_alias_map(
    units: pd.DataFrame,
    path: str | Path = "unit table",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Map every accepted name form (id, English, Chinese, aliases) to its unit_id.

    ``extra`` is ``data.aliases`` from the config: more names, name -> unit_id.
    """
    aliases: dict[str, str] = {}
    known = set(units["unit_id"])
    for name, unit_id in (extra or {}).items():
        if unit_id not in known:
            raise ConfigError(
                f"data.aliases: '{name}' points to '{unit_id}', which is not a unit_id in "
                f"{path}. Use one of its ids."
            )
    for row in units.to_dict("records"):
        for name in unit_row_names(row):
            key = normalise_unit_name(name)
            if aliases.get(key, row["unit_id"]) != row["unit_id"]:
                raise ConfigError(
                    f"{path}: the name '{name}' would mean both '{aliases[key]}' and "
                    f"'{row['unit_id']}'; make the aliases unambiguous."
                )
            aliases[key] = row["unit_id"]
    for name, unit_id in (extra or {}).items():
        key = normalise_unit_name(name)
        if aliases.get(key, unit_id) != unit_id:
            raise ConfigError(
                f"data.aliases: '{name}' already means '{aliases[key]}' in {path}; "
                "remove or correct the alias."
            )
        aliases[key] = unit_id
    return aliases
