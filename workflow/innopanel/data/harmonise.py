"""Unit harmonisation: raw names and codes made unit ids, by the rules the config declares.

A source's rows name units in its own way: old codes, sub-units that together are one
unit, total rows (a country, a region group), codes that are no unit at all
(extra-regio). ``data.harmonise`` says what each is: total rows and named units are
dropped; concordance names map to a unit (old code -> new id), and sub-units are merged
by sum or weighted mean; an unknown name is an error, or dropped if the config says so.
Every row a rule touches is in the data-quality report, never lost in silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from innopanel.config.data_specs import Concordance, Harmonisation
from innopanel.data.quality import SourceReport
from innopanel.data.readers import DataError, place
from innopanel.data.unit_names import normalise_unit_name

ROW_COLUMNS = ("source_sheet", "source_row")
TOTAL_ROW = "a total row (data.harmonise.totals)"
DROPPED_UNIT = "dropped by data.harmonise.drop_units"


def rows_not_units(rules: Harmonisation) -> dict[str, str]:
    """Comparison key (:func:`normalise_unit_name`) -> why rows of that name are no unit:
    the totals (unless the concordance maps the name to a unit) and the dropped units.
    Every reader of every source drops by this one list."""
    mapped = {normalise_unit_name(n) for entry in rules.concordance for n in entry.names}
    reasons = {
        key: TOTAL_ROW for key in map(normalise_unit_name, rules.totals) if key not in mapped
    }
    return reasons | {normalise_unit_name(name): DROPPED_UNIT for name in rules.drop_units}


def harmonise_units(
    frame: pd.DataFrame,
    aliases: Mapping[str, str],
    rules: Harmonisation,
    report: SourceReport,
    *,
    path: str | Path,
    unit_column: str,
    unit_table: str | Path,
    unit: str,
) -> pd.DataFrame:
    """Replace raw names with unit ids: drop totals and named units, map and merge.

    ``frame`` has ``name_raw`` (and ``source_sheet``, ``source_row``, ``year`` and the
    variables); the result has ``unit_id`` instead. Dropped and merged rows go to
    ``report.harmonised``.
    """
    keys = frame["name_raw"].map(normalise_unit_name)
    mapped = {normalise_unit_name(n): entry for entry in rules.concordance for n in entry.names}
    unit_ids = keys.map(lambda key: mapped[key].unit_id if key in mapped else aliases.get(key))
    not_units = rows_not_units(rules)
    reasons = pd.Series(keys.map(not_units.get), index=frame.index, dtype=object)
    unknown = unit_ids.isna() & reasons.isna()
    if unknown.any() and rules.unknown_units == "error":
        _refuse_unknown(frame.loc[unknown], path, unit_column, unit_table, unit)
    reasons[unknown] = "unknown unit (data.harmonise.unknown_units: drop)"
    dropped = reasons.notna()
    _report_dropped(frame.loc[dropped, "name_raw"], reasons[dropped], report)
    kept = frame.loc[~dropped].drop(columns="name_raw")
    kept.insert(1, "unit_id", unit_ids[~dropped].astype(str))
    merges = {entry.unit_id: entry for entry in rules.concordance if entry.merge is not None}
    if not merges:
        return kept
    names = frame.loc[~dropped, "name_raw"]
    return _merge_sub_units(kept, names, keys[~dropped], merges, report, path)


def _refuse_unknown(
    unknown: pd.DataFrame, path: str | Path, unit_column: str, unit_table: str | Path, unit: str
) -> None:
    first = unknown.iloc[0]
    names = sorted(set(unknown["name_raw"]))
    raise DataError(
        f"{place(path, first['source_sheet'])}, row {first['source_row']}, column "
        f"'{unit_column}': unknown {unit} '{first['name_raw']}' ({len(unknown)} row(s), names "
        f"{names[:5]}). Add the name to the aliases column of {unit_table} (or under "
        f"data.aliases in the config), or add the {unit} as a new row there. If it is a "
        "total, list it under data.harmonise.totals; if it is no unit of the study, under "
        "data.harmonise.drop_units (or set data.harmonise.unknown_units: drop); if it is "
        "an old code or a sub-unit, map it under data.harmonise.concordance."
    )


def _report_dropped(names: pd.Series, reasons: pd.Series, report: SourceReport) -> None:
    counts = pd.DataFrame({"name": names, "reason": reasons}).value_counts(sort=False)
    for (name, reason), rows in sorted(counts.items()):
        report.harmonised.append({"name": name, "rule": reason, "rows": int(rows)})


def _merge_sub_units(
    frame: pd.DataFrame,
    names: pd.Series,
    keys: pd.Series,
    merges: Mapping[str, Concordance],
    report: SourceReport,
    path: str | Path,
) -> pd.DataFrame:
    """Sum (or weight-average) the rows of sub-units that together are one unit.

    Only rows named as the concordance's sub-units merge: a row of the unit itself
    stays apart, so that it and the merged sub-units meet as a conflicting duplicate
    instead of being added together. ``names`` (raw) and ``keys`` (normalised) are the
    rows' names.
    """
    variables = [c for c in frame.columns if c not in (*ROW_COLUMNS, "unit_id", "year")]
    sub_unit = {normalise_unit_name(n): e.unit_id for e in merges.values() for n in e.names}
    merging = keys.map(sub_unit).notna()
    parts = [frame.loc[~merging]]
    for unit_id, entry in merges.items():
        rows = frame.loc[merging & (frame["unit_id"] == unit_id)]
        if rows.empty:
            continue
        weight = entry.weight
        if entry.merge == "weighted_mean" and weight not in variables:
            raise DataError(
                f"{path}: data.harmonise.concordance merges into '{unit_id}' by weighted "
                + (
                    "mean without a weight; add weight: <variable>"
                    if weight is None
                    else f"mean weighted by '{weight}', which this source does not provide. "
                    "Weight by a variable of this source"
                )
                + ", or merge: sum."
            )
        merged = pd.DataFrame(
            [
                {
                    "source_sheet": group["source_sheet"].iloc[0],
                    "source_row": group["source_row"].min(),
                    "unit_id": unit_id,
                    "year": year,
                    **_combine(group, variables, entry),
                }
                for year, group in rows.groupby("year", sort=True)
            ]
        )
        parts.append(merged[list(frame.columns)])
        for name, count in sorted(names.loc[rows.index].value_counts().items()):
            rule = f"merged into {unit_id} ({entry.merge})"
            report.harmonised.append({"name": name, "rule": rule, "rows": int(count)})
    return pd.concat(parts, ignore_index=True)


def _combine(group: pd.DataFrame, variables: list[str], entry: Concordance) -> dict[str, Any]:
    """One unit-year from its sub-units' rows: missing if any sub-unit's value is."""
    values: dict[str, Any] = {}
    weights = group[entry.weight] if entry.merge == "weighted_mean" else None
    for variable in variables:
        column = group[variable]
        if column.isna().any():
            values[variable] = np.nan
        elif weights is None or variable == entry.weight:
            values[variable] = float(column.sum())
        elif weights.isna().any() or weights.sum() == 0:
            values[variable] = np.nan
        else:
            values[variable] = float((column * weights).sum() / weights.sum())
    return values
