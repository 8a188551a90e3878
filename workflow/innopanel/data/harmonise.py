"""Unit harmonisation: raw names and codes made unit ids, by the rules the config declares.

A source's rows name units in its own way: old codes, sub-units that together are one
unit, total rows (a country, a region group), codes that are no unit at all
(extra-regio). ``data.harmonise`` says what each is: total rows and named units are
dropped; concordance names map to a unit (old code -> new id), and sub-units are merged
by sum or weighted mean; an unknown name is an error, or dropped if the config says so.
A merge never counts an area twice: a source-year with the unit's own row and its older
codes stops unless the entry says which generation to keep (``prefer``), and a year
with a sub-unit's row absent is missing unless the entry allows a partial merge.
Every row a rule touches (dropped, renamed, merged) and every partial merge is in the
data-quality report, never lost in silence.
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
    study_aliases: Mapping[str, str],
) -> pd.DataFrame:
    """Replace raw names with unit ids: drop totals and named units, map and merge.

    ``frame`` has ``name_raw`` (and ``source_sheet``, ``source_row``, ``year`` and the
    variables); the result has ``unit_id`` instead. ``aliases`` maps every name key to
    its unit; ``study_aliases`` are the study's own fixes (``data.aliases``). Dropped,
    renamed and merged rows go to ``report.harmonised``, partial merges to
    ``report.partial_merges``.
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
    _report_rows(frame.loc[dropped, "name_raw"], reasons[dropped], report)
    kept = frame.loc[~dropped].drop(columns="name_raw")
    kept.insert(1, "unit_id", unit_ids[~dropped].astype(str))
    names = frame.loc[~dropped, "name_raw"]
    kept = _settle_generations(kept, names, keys, mapped, report, path)
    _report_renamed(
        kept, names, keys, mapped, {normalise_unit_name(n) for n in study_aliases}, report
    )
    merges = {entry.unit_id: entry for entry in rules.concordance if entry.merge is not None}
    if not merges:
        return kept
    return _merge_sub_units(kept, names, keys, merges, report, path)


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


def _report_rows(names: pd.Series, reasons: pd.Series, report: SourceReport) -> None:
    """List rows in ``report.harmonised``: one entry per raw name and rule, with its rows."""
    counts = pd.DataFrame({"name": names, "reason": reasons}).value_counts(sort=False)
    for (name, reason), rows in sorted(counts.items()):
        report.harmonised.append({"name": name, "rule": reason, "rows": int(rows)})


def _report_renamed(
    frame: pd.DataFrame,
    names: pd.Series,
    keys: pd.Series,
    mapped: Mapping[str, Concordance],
    study_alias_keys: set[str],
    report: SourceReport,
) -> None:
    """List the rows renamed by a concordance entry without merge or by data.aliases."""
    rules = {}
    for index in frame.index:
        key = keys[index]
        if key in mapped and mapped[key].merge is None:
            rules[index] = f"mapped to {mapped[key].unit_id} (data.harmonise.concordance)"
        elif key not in mapped and key in study_alias_keys:
            rules[index] = f"renamed to {frame.at[index, 'unit_id']} (data.aliases)"
    if rules:
        renamed = pd.Series(rules, dtype=object)
        _report_rows(names.loc[renamed.index], renamed, report)


def _settle_generations(
    frame: pd.DataFrame,
    names: pd.Series,
    keys: pd.Series,
    mapped: Mapping[str, Concordance],
    report: SourceReport,
    path: str | Path,
) -> pd.DataFrame:
    """Keep one generation of codes per unit-year: the unit's own or the older ones.

    A row under the unit's own name (the newest code) and rows under its older codes
    (its concordance entry's names) in one source-year are two generations of the same
    area: added or merged they would count it twice. The entry's ``prefer`` picks one
    (the other's rows are dropped and reported); without it, stop.
    """
    older = keys.loc[frame.index].isin(mapped)
    own = ~older & frame["unit_id"].isin({entry.unit_id for entry in mapped.values()})
    pairs = pd.MultiIndex.from_frame(frame[["unit_id", "year"]])
    own_clash = own & pairs.isin(pairs[older.to_numpy()])
    older_clash = older & pairs.isin(pairs[own.to_numpy()])
    if not own_clash.any():
        return frame
    entries = {entry.unit_id: entry for entry in mapped.values()}
    drop = pd.Series(False, index=frame.index)
    for unit_id in sorted(set(frame.loc[own_clash, "unit_id"])):
        entry = entries[unit_id]
        in_unit = frame["unit_id"] == unit_id
        if entry.prefer is None:
            _refuse_generations(frame, names, own_clash & in_unit, older_clash & in_unit, path)
        losing = (older_clash if entry.prefer == "newest" else own_clash) & in_unit
        drop |= losing
        years = ", ".join(str(y) for y in sorted(set(frame.loc[losing, "year"])))
        rule = (
            f"dropped: an older code of {unit_id} in {years}, which also have its own row"
            if entry.prefer == "newest"
            else f"dropped: {unit_id}'s own row in {years}, which also have its older codes"
        ) + f" (data.harmonise.concordance prefer: {entry.prefer})"
        _report_rows(
            names.loc[losing[losing].index], pd.Series(rule, index=losing[losing].index), report
        )
    return frame.loc[~drop]


def _refuse_generations(
    frame: pd.DataFrame,
    names: pd.Series,
    own: pd.Series,
    older: pd.Series,
    path: str | Path,
) -> None:
    first = frame.loc[own].sort_values(["year", "source_row"]).iloc[0]
    year = first["year"]
    old_rows = frame.loc[older & (frame["year"] == year)].sort_values("source_row")
    old_names = sorted(set(names.loc[old_rows.index]))
    raise DataError(
        f"{place(path, first['source_sheet'])}: '{first['unit_id']}' year {year} appears "
        f"under its own name '{names[first.name]}' (row {first['source_row']}) and under "
        f"its older code(s) {old_names} (row(s) {old_rows['source_row'].tolist()}) of "
        f"data.harmonise.concordance (to: {first['unit_id']}): two generations of codes "
        "for one area, which would be counted twice. Set prefer: newest on that entry to "
        f"keep '{names[first.name]}' (the unit's own code) and drop the older rows, or "
        "prefer: oldest to keep the older codes; the dropped rows are listed in the "
        "data-quality report."
    )


def _merge_sub_units(
    frame: pd.DataFrame,
    names: pd.Series,
    keys: pd.Series,
    merges: Mapping[str, Concordance],
    report: SourceReport,
    path: str | Path,
) -> pd.DataFrame:
    """Sum (or weight-average) the rows of sub-units that together are one unit.

    Only rows named as the concordance's sub-units merge (a row of the unit itself was
    settled by :func:`_settle_generations`). A year with some sub-units' rows absent
    is missing unless the entry sets ``partial: allow``; either way it is listed in
    ``report.partial_merges``. ``names`` (raw) and ``keys`` (normalised) are the rows'
    names.
    """
    variables = [c for c in frame.columns if c not in (*ROW_COLUMNS, "unit_id", "year")]
    sub_unit = {
        normalise_unit_name(name): position
        for entry in merges.values()
        for position, spellings in enumerate(entry.sub_units)
        for name in spellings
    }
    positions = keys.loc[frame.index].map(sub_unit)
    merging = positions.notna()
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
        rows = _one_row_per_sub_unit(rows, names, positions, variables, report, path)
        merged = []
        for year, group in rows.groupby("year", sort=True):
            present = set(positions.loc[group.index].astype(int))
            absent = [s[0] for i, s in enumerate(entry.sub_units) if i not in present]
            if absent:
                report.partial_merges.append(
                    {
                        "unit_id": unit_id,
                        "year": int(year),
                        "present": sorted(names.loc[group.index]),
                        "absent": absent,
                        "result": f"partial {entry.merge} (partial: allow)"
                        if entry.partial == "allow"
                        else "missing (partial: missing)",
                    }
                )
            values = (
                dict.fromkeys(variables, np.nan)
                if absent and entry.partial != "allow"
                else _combine(group, variables, entry)
            )
            merged.append(
                {
                    "source_sheet": group["source_sheet"].iloc[0],
                    "source_row": group["source_row"].min(),
                    "unit_id": unit_id,
                    "year": year,
                    **values,
                }
            )
        parts.append(pd.DataFrame(merged)[list(frame.columns)])
        for name, count in sorted(names.loc[rows.index].value_counts().items()):
            rule = f"merged into {unit_id} ({entry.merge})"
            report.harmonised.append({"name": name, "rule": rule, "rows": int(count)})
    return pd.concat(parts, ignore_index=True)


def _one_row_per_sub_unit(
    rows: pd.DataFrame,
    names: pd.Series,
    positions: pd.Series,
    variables: list[str],
    report: SourceReport,
    path: str | Path,
) -> pd.DataFrame:
    """Drop exact repeats of a sub-unit-year (reported); refuse differing ones, which
    merged would both be added."""
    keyed = rows.assign(_sub_unit=positions.loc[rows.index])
    repeated = keyed.duplicated(subset=["_sub_unit", "year", *variables])
    for index in keyed.index[repeated]:
        rule = f"exact repeat of another row of this sub-unit of {rows.at[index, 'unit_id']}"
        report.harmonised.append({"name": names[index], "rule": rule, "rows": 1})
    keyed = keyed.loc[~repeated]
    clash = keyed.duplicated(subset=["_sub_unit", "year"], keep=False)
    if clash.any():
        first, second = (
            keyed.loc[clash].sort_values(["_sub_unit", "year", "source_row"]).iloc[:2].itertuples()
        )
        raise DataError(
            f"{place(path, first.source_sheet)}, rows {first.source_row} and "
            f"{second.source_row}: '{names[first.Index]}' and '{names[second.Index]}' are "
            f"one sub-unit of '{first.unit_id}' (data.harmonise.concordance) with two "
            f"different rows for year {first.year}; merged, both would be added. Keep the "
            "correct row and delete the other in a copy of the file, or, if they are two "
            "sub-units, list them as separate items of from."
        )
    return keyed.drop(columns="_sub_unit")


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
