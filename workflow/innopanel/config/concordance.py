"""A concordance must form a function from names to units, checked at start-up.

``data.harmonise.concordance`` maps older names and codes (and sub-units) to a unit of
the unit table. Each entry's names map to exactly one unit, so a name that already
names a unit (in the unit table or ``data.aliases``) may not be mapped: to another unit
it would move that unit's rows (two such entries swap two units' data), to its own unit
it would count the unit's row as one of its sub-units. The target must be a unit, or
its rows vanish from the panel; a name may map to one unit only; and one unit takes
one entry, so that its sub-units are merged together, never one entry replacing another.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from innopanel.config.data_specs import Concordance, harmonisation
from innopanel.config.specs import with_defaults
from innopanel.config.unit_keys import normalise_unit_name, unit_row_names

KEY = "data.harmonise.concordance"


def unit_names(rows: list[dict[str, str]], aliases: Mapping[str, str]) -> dict[str, str]:
    """Comparison key -> unit_id of every name the unit table's rows and ``data.aliases``
    give."""
    names = {
        normalise_unit_name(name): row["unit_id"] for row in rows for name in unit_row_names(row)
    }
    return names | {normalise_unit_name(name): unit_id for name, unit_id in aliases.items()}


def concordance_problems(data: Mapping[str, Any]) -> list[str]:
    """Every way the study's concordance fails to be a function into the unit table."""
    entries = harmonisation(data).concordance
    if not entries:
        return []
    aliases = with_defaults({"data": data})["data"]["aliases"]
    table = data["unit_table"]
    with Path(table).open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    owners = unit_names(rows, aliases)
    unit_ids = {row["unit_id"] for row in rows}
    problems: list[str] = []
    first_entry: dict[str, int] = {}
    mapped: dict[str, tuple[int, int]] = {}
    for index, entry in enumerate(entries):
        where = f"{KEY}[{index}] (to: {entry.unit_id})"
        if entry.unit_id not in unit_ids:
            close = difflib.get_close_matches(entry.unit_id, sorted(unit_ids), n=1)
            problems.append(
                f"{where}: '{entry.unit_id}' is not a unit_id in {table}, so the rows of "
                f"{list(entry.names)} would vanish from the panel. Map them to a unit_id"
                + (f" (did you mean '{close[0]}'?)" if close else "")
                + f", or add '{entry.unit_id}' as a row of {table}."
            )
        if entry.unit_id in first_entry:
            problems.append(_several_entries(entries, first_entry[entry.unit_id], index))
        first_entry.setdefault(entry.unit_id, index)
        if entry.partial == "allow" and entry.merge is None:
            problems.append(
                f"{where}: partial: allow applies to sub-units that are merged; set merge: "
                "sum (or weighted_mean), or remove partial."
            )
        problems += _name_problems(entries, index, owners, mapped, table)
    return problems


def _several_entries(entries: tuple[Concordance, ...], first: int, index: int) -> str:
    unit_id = entries[index].unit_id
    names = [list(s) if len(s) > 1 else s[0] for i in (first, index) for s in entries[i].sub_units]
    merges = {entries[first].merge, entries[index].merge}
    if merges == {None}:
        rule, meaning = "", "every name listed in one entry is an older name of the unit"
    else:
        rule = f", merge: {merges.pop()}" if len(merges) == 1 else ", merge: <one rule>"
        meaning = "the sub-units listed in one entry are merged together"
    return (
        f"{KEY}[{first}] and [{index}] both map to '{unit_id}'; one unit takes one entry, "
        "else one would replace the other. Combine them into one entry, "
        f"{{from: {names}, to: {unit_id}{rule}}}: {meaning}."
    )


def _name_problems(
    entries: tuple[Concordance, ...],
    index: int,
    owners: Mapping[str, str],
    mapped: dict[str, tuple[int, int]],
    table: str,
) -> list[str]:
    """Problems of one entry's names: a unit's own name, a name mapped twice."""
    entry = entries[index]
    where = f"{KEY}[{index}] (to: {entry.unit_id})"
    problems: list[str] = []
    for group, spellings in enumerate(entry.sub_units):
        for name in spellings:
            key = normalise_unit_name(name)
            owner = owners.get(key)
            if owner == entry.unit_id:
                problems.append(
                    f"{where}: '{name}' is both a name of '{owner}' ({table} or "
                    "data.aliases) and one of its older codes or sub-units here, so a "
                    "row under it would be counted as both. If it is an older code or a "
                    f"sub-unit, remove it from {owner}'s names; if it is the unit's own "
                    "name, remove it from from (a source-year with rows of both is "
                    "settled by prefer: newest or oldest)."
                )
            elif owner is not None:
                swaps = [
                    i
                    for i, other in enumerate(entries)
                    if other.unit_id == owner
                    and any(
                        owners.get(normalise_unit_name(n)) == entry.unit_id for n in other.names
                    )
                ]
                problems.append(
                    f"{where}: '{name}' is a name of the unit '{owner}' ({table} or "
                    f"data.aliases), so this would move {owner}'s rows to {entry.unit_id}"
                    + (f"; with {KEY}[{swaps[0]}] the two units' data would swap" if swaps else "")
                    + ". A concordance maps names that are no unit's own (old codes, "
                    f"sub-units): remove '{name}' from this entry, or, if it really is an "
                    f"old code of {entry.unit_id}, remove it from {owner}'s names."
                )
            if key not in mapped:
                mapped[key] = (index, group)
                continue
            other, other_group = mapped[key]
            if other != index:
                problems.append(
                    f"{KEY}[{other}] and [{index}] both map '{name}' (to "
                    f"'{entries[other].unit_id}' and '{entry.unit_id}'); a name means one "
                    "unit: keep it in the entry of the unit it belongs to."
                )
            elif other_group != group and entry.merge is not None:
                problems.append(
                    f"{where}: '{name}' is listed as two sub-units, so its rows would be "
                    "counted twice. List each sub-unit once; the spellings of one sub-unit "
                    "go in one list, e.g. from: [[成都, Chengdu], [重庆, Chongqing]]."
                )
    return problems
