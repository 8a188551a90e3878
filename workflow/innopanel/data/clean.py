"""Cleaning: raw yearbook extracts in, one validated unit-year (city-year) panel out.

Steps, each a function: read a source (any format via innopanel.data.readers; encoding,
title rows, multi-row and repeated header blocks, units in headers or in the config,
missing markers, thousands separators) -> harmonise unit names to one id -> drop exact
duplicates (reported), refuse conflicting ones -> apply the study window -> merge
sources on (unit, year) -> shape the panel (unbalanced or balanced) -> interpolate only
if config asks -> derive analysis variables -> validate -> flag outliers -> check the
panel can carry every model. Every problem in the input is an error naming the file,
row and column, and the fix; whatever is dropped or filled is in the data-quality report.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from innopanel.config.checks import ConfigError
from innopanel.config.sources import column_header, column_unit, display_location
from innopanel.data.derivations import derive_variables
from innopanel.data.readers import (
    DataError,
    Sheet,
    combine_header,
    place,
    read_sheets,
    source_label,
)
from innopanel.vocabulary import LAG_SUFFIX

HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[（(](?P<unit>[^()（）]+)[)）]\s*$")
THOUSANDS_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
CITY_SUFFIXES = ("市", " city", " shi")
PANEL_ID_COLUMNS = ["unit_id", "year"]
# Unit-table columns that are matching aids, not descriptions to carry into the panel.
UNIT_TABLE_MATCHING_COLUMNS = ("unit_id", "aliases")
# The schema's defaults for data.cleaning, applied here too.
CLEANING_DEFAULTS: dict[str, Any] = {
    "panel": "unbalanced",
    "out_of_window": "drop",
    "outliers": {"threshold": 3.5},
}
# Iglewicz and Hoaglin's modified z-score: 0.6745 makes the MAD consistent for a normal SD.
MAD_CONSISTENCY = 0.6745


@dataclass
class SourceReport:
    """What cleaning did to one source, for the data-quality report."""

    name: str
    path: str
    rows_read: int = 0
    header_blocks: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)


def cleaning_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data.cleaning`` with the defaults filled in."""
    return {**CLEANING_DEFAULTS, **(data.get("cleaning") or {})}


# ---------------------------------------------------------------- reading


def split_header(header: str) -> tuple[str, str | None]:
    """Split ``"地区生产总值(亿元)"`` into ``("地区生产总值", "亿元")``; no unit gives None."""
    text = unicodedata.normalize("NFKC", header).strip()
    match = HEADER_UNIT.match(text)
    if match is None:
        return text, None
    return match.group("name").strip(), match.group("unit").strip()


def parse_number(cell: str | None, missing_markers: frozenset[str]) -> float | None:
    """Parse one cell: empty or a missing marker gives NaN, an unparsable cell gives None."""
    if cell is None:
        return math.nan
    text = cell.strip()
    if text in missing_markers:
        return math.nan
    if THOUSANDS_NUMBER.match(text):
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class _Layout:
    """Where the id columns and each variable (with its unit) sit in one header block."""

    columns: dict[str, tuple[int, str | None]]
    unit_index: int
    year_index: int


def read_source(
    path: str | Path,
    source: str,
    spec: Mapping[str, Any],
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
    missing_markers: Sequence[str],
    shown_as: str | None = None,
) -> tuple[pd.DataFrame, SourceReport]:
    """Read one source into canonical units.

    Messages name the source and ``shown_as`` (where it came from; default ``path``).

    Returns a frame with ``source_sheet`` (empty for single-table formats),
    ``source_row`` (1-based row in the file or sheet), ``name_raw``, ``year`` and one
    column per mapped variable, plus the source's report. On each sheet ``skip_rows``
    title rows are skipped, then ``header_rows`` rows form the header; a later row
    repeating the header's first cell starts a new block whose units may differ
    (yearbooks change units between years).
    """
    path = Path(path)
    shown = shown_as or str(path)
    report = SourceReport(name=source, path=shown)
    markers = frozenset(m.strip() for m in missing_markers)
    records: list[dict[str, Any]] = []
    label = source_label(source, shown)
    for sheet in read_sheets(path, source, spec, shown):
        records += _read_sheet(sheet, label, source, spec, variables, units, markers, report)
    if not records:
        raise DataError(
            f"source '{source}': {shown} has a header but no data rows. Check the file, and "
            f"data.sources.{source}.skip_rows / header_rows / sheets."
        )
    columns = ["source_sheet", "source_row", "name_raw", "year", *spec["columns"]]
    return pd.DataFrame.from_records(records, columns=columns), report


def _read_sheet(
    sheet: Sheet,
    label: str,
    source: str,
    spec: Mapping[str, Any],
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
    markers: frozenset[str],
    report: SourceReport,
) -> list[dict[str, Any]]:
    where = place(label, sheet.name)
    header_rows = int(spec.get("header_rows", 1))
    rows = [
        (number, cells)
        for number, cells in sheet.rows[int(spec.get("skip_rows", 0)) :]
        if any(cell is not None and cell.strip() for cell in cells)
    ]
    headers = {key: column_header(value) for key, value in spec["columns"].items()}
    records: list[dict[str, Any]] = []
    layout: _Layout | None = None
    marker = ""
    index = 0
    while index < len(rows):
        number, row = rows[index]
        first = unicodedata.normalize("NFKC", row[0] or "").strip() if row else ""
        if layout is None or (marker and first == marker):
            block = [cells for _, cells in rows[index : index + header_rows]]
            header = combine_header(block, units)
            layout = _read_header_row(header, number, where, source, spec, variables, units)
            marker = next(
                (
                    unicodedata.normalize("NFKC", cells[0]).strip()
                    for cells in block
                    if cells and cells[0] and cells[0].strip()
                ),
                "",
            )
            entry: dict[str, Any] = {
                "line": number,
                "units": {v: u for v, (_, u) in layout.columns.items()},
            }
            if sheet.name:
                entry["sheet"] = sheet.name
            report.header_blocks.append(entry)
            index += header_rows
            continue
        index += 1
        report.rows_read += 1
        record: dict[str, Any] = {"source_sheet": sheet.name or "", "source_row": number}
        name_cell = row[layout.unit_index] if layout.unit_index < len(row) else None
        record["name_raw"] = (name_cell or "").strip()
        year_cell = row[layout.year_index] if layout.year_index < len(row) else None
        year = parse_number(year_cell, frozenset())
        if year is None or math.isnan(year) or year != int(year):
            raise DataError(
                f"{where}, row {number}, column '{spec['year_column']}': year "
                f"'{(year_cell or '').strip()}' is not a whole number. Fix the cell in a "
                "copy of the file."
            )
        record["year"] = int(year)
        for variable, (column, unit) in layout.columns.items():
            cell = row[column] if column < len(row) else None
            value = parse_number(cell, markers)
            if value is None:
                raise DataError(
                    f"{where}, row {number}, column '{headers[variable]}': value "
                    f"'{(cell or '').strip()}' is not a number. Correct the cell, or add it "
                    "to data.missing_markers in the config if it means 'missing'."
                )
            value *= unit_factor(unit, variables[variable]["unit"], units)
            minimum = variables[variable].get("min")
            if minimum is not None and value < minimum:
                raise DataError(
                    f"{where}, row {number}, column '{headers[variable]}': value "
                    f"'{(cell or '').strip()}' is below the minimum {minimum} allowed for "
                    f"'{variable}'. Correct the source value (a negative count or amount "
                    "is a data-entry error)."
                )
            record[variable] = value
        records.append(record)
    return records


def _read_header_row(
    header: Sequence[str],
    line_number: int,
    where: str,
    source: str,
    spec: Mapping[str, Any],
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
) -> _Layout:
    """Locate the id columns and each mapped variable (with its unit) in a header."""
    parsed = [split_header(cell) for cell in header]
    names = [name for name, _ in parsed]
    full = [unicodedata.normalize("NFKC", cell).strip() for cell in header]

    def locate(wanted: str, key: str) -> int:
        base = unicodedata.normalize("NFKC", wanted).strip()
        if base in names:
            return names.index(base)
        if base in full:  # a header whose brackets are part of the name, not a unit
            return full.index(base)
        raise DataError(
            f"{where}, row {line_number}: required column '{wanted}' (data.sources.{source}."
            f"{key}) is missing; the header has {names}. Fix the mapping in the config, "
            "or the header in a copy of the file."
        )

    columns: dict[str, tuple[int, str | None]] = {}
    for variable, mapping in spec["columns"].items():
        wanted = column_header(mapping)
        index = locate(wanted, f"columns.{variable}")
        stated = column_unit(mapping)
        unit = (
            parsed[index][1]
            if names[index] == unicodedata.normalize("NFKC", wanted).strip()
            else None
        )
        target = variables[variable]["unit"]
        if stated is not None:
            if unit is not None and unit != stated:
                raise DataError(
                    f"{where}, row {line_number}, column '{header[index]}': the header says "
                    f"the unit is '{unit}' but data.sources.{source}.columns.{variable}.unit "
                    f"says '{stated}'. Correct whichever is wrong."
                )
            unit = stated
        if unit is None:
            raise DataError(
                f"{where}, row {line_number}, column '{header[index]}': no unit in the header; "
                f"expected e.g. '{wanted}({target})'. Add the unit to the header, or state it "
                f"as data.sources.{source}.columns.{variable}: {{column: ..., unit: ...}}."
            )
        if unit not in units:
            raise DataError(
                f"{where}, row {line_number}, column '{header[index]}': unit '{unit}' is not "
                "listed under units in the config; add it with its dimension and factor."
            )
        if units[unit]["dimension"] != units[target]["dimension"]:
            raise DataError(
                f"{where}, row {line_number}, column '{header[index]}': unit '{unit}' "
                f"({units[unit]['dimension']}) cannot be converted to '{target}' "
                f"({units[target]['dimension']}) for '{variable}'. Check the column mapping."
            )
        columns[variable] = (index, unit)
    return _Layout(
        columns,
        locate(spec["unit_column"], "unit_column"),
        locate(spec["year_column"], "year_column"),
    )


def unit_factor(unit: str | None, target: str, units: Mapping[str, Mapping[str, Any]]) -> float:
    """Return the factor converting a value in ``unit`` to ``target``."""
    if unit is None or unit == target:
        return 1.0
    return float(units[unit]["factor"]) / float(units[target]["factor"])


# ---------------------------------------------------------------- cities


def normalise_unit_name(name: str) -> str:
    """Reduce a unit name to a comparison key: 'Chengdu City', '成都市', 'chengdu' agree."""
    key = unicodedata.normalize("NFKC", name).strip().casefold()
    key = key.replace("’", "'").replace("‘", "'")
    # Pinyin with tone marks and names with accents match their plain forms (Chéngdū, Ürümqi).
    decomposed = unicodedata.normalize("NFD", key)
    key = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    for suffix in CITY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return re.sub(r"[\s'\-]", "", key)


def read_unit_table(path: str | Path) -> pd.DataFrame:
    """Read the unit table (one row per city or country) as strings, tier as integer."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
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
    name_columns = [c for c in ("unit_id", "name_en", "name_zh") if c in units.columns]
    for row in units.to_dict("records"):
        names = [row[c] for c in name_columns if row[c]]
        names += [alias for alias in str(row.get("aliases", "")).split("|") if alias.strip()]
        for name in names:
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


def harmonise_units(
    frame: pd.DataFrame,
    aliases: Mapping[str, str],
    path: str | Path,
    unit_column: str,
    unit_table: str | Path,
    unit: str = "city",
) -> pd.DataFrame:
    """Replace raw unit names with canonical ids; an unknown name is an error."""
    keys = frame["name_raw"].map(normalise_unit_name)
    unit_ids = keys.map(aliases)
    unknown = frame.loc[unit_ids.isna(), ["source_sheet", "source_row", "name_raw"]]
    if not unknown.empty:
        first = unknown.iloc[0]
        names = sorted(set(unknown["name_raw"]))
        raise DataError(
            f"{place(path, first['source_sheet'])}, row {first['source_row']}, column "
            f"'{unit_column}': unknown {unit} '{first['name_raw']}' ({len(unknown)} row(s), "
            f"names {names[:5]}). Add the name to the aliases column of {unit_table} (or "
            f"under data.aliases in the config), or add the {unit} as a new row there."
        )
    out = frame.drop(columns="name_raw")
    out.insert(1, "unit_id", unit_ids.astype(str))
    return out


def drop_duplicates(frame: pd.DataFrame, path: str | Path, report: SourceReport) -> pd.DataFrame:
    """Drop exact duplicate unit-years (reported); refuse conflicting ones."""
    values = [c for c in frame.columns if c not in ("source_sheet", "source_row")]
    exact = frame.duplicated(subset=values, keep="first")
    for row in frame.loc[exact].itertuples(index=False):
        report.dropped.append(_drop_entry(row, "exact duplicate of an earlier row"))
    kept = frame.loc[~exact]
    clash = kept.duplicated(subset=["unit_id", "year"], keep=False)
    if clash.any():
        rows = kept.loc[clash].sort_values(["unit_id", "year", "source_sheet", "source_row"])
        first, second = rows.iloc[0], rows.iloc[1]
        differing = [
            c
            for c in values
            if c not in ("unit_id", "year")
            and not (pd.isna(first[c]) and pd.isna(second[c]))
            and first[c] != second[c]
        ]
        if first["source_sheet"] == second["source_sheet"]:
            where = (
                f"{place(path, first['source_sheet'])}, rows {first['source_row']} and "
                f"{second['source_row']}"
            )
        else:
            where = (
                f"{path}, sheet '{first['source_sheet']}' row {first['source_row']} and sheet "
                f"'{second['source_sheet']}' row {second['source_row']}"
            )
        raise DataError(
            f"{where}: '{first['unit_id']}' year {first['year']} appears twice with different "
            f"values in {differing}. Keep the correct row and delete the other in a copy of "
            "the file."
        )
    return kept


def _drop_entry(row: Any, reason: str) -> dict[str, Any]:
    """One dropped row for the data-quality report (its sheet only if it has one)."""
    entry: dict[str, Any] = {
        "row": int(row.source_row),
        "unit_id": row.unit_id,
        "year": int(row.year),
        "reason": reason,
    }
    if row.source_sheet:
        entry["sheet"] = row.source_sheet
    return entry


# ---------------------------------------------------------------- validation


def panel_schema(
    variables: Mapping[str, Mapping[str, Any]],
    unit_ids: Sequence[str],
    first_year: int,
    last_year: int,
) -> pa.DataFrameSchema:
    """The analysis panel's contract: unique unit-years, known ids, types and ranges."""
    columns: dict[str, pa.Column] = {
        "unit_id": pa.Column(str, pa.Check.isin(list(unit_ids))),
        "year": pa.Column("int64", pa.Check.in_range(first_year, last_year)),
    }
    for name, spec in variables.items():
        checks = []
        if "min" in spec:
            checks.append(pa.Check.ge(spec["min"]))
        if "max" in spec:
            checks.append(pa.Check.le(spec["max"]))
        columns[name] = pa.Column("float64", checks, nullable=True)
        if spec.get("lag", False):
            columns[name + LAG_SUFFIX] = pa.Column("float64", checks, nullable=True)
    return pa.DataFrameSchema(columns, unique=["unit_id", "year"], strict=False, coerce=False)


def validate_panel(panel: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate lazily and report every failing check with its unit-year."""
    try:
        return schema.validate(panel, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.head(10)
        lines = []
        for case in cases.itertuples(index=False):
            where = ""
            if case.index is not None and not pd.isna(case.index) and case.index in panel.index:
                row = panel.loc[case.index]
                where = f"'{row['unit_id']}' year {row['year']}, "
            lines.append(
                f"{where}column '{case.column}': {case.check} failed (value {case.failure_case})"
            )
        raise DataError(
            f"the cleaned panel fails {len(errors.failure_cases)} check(s):\n  - "
            + "\n  - ".join(lines)
            + "\nCorrect the source values, or adjust min/max under variables in "
            "config/config.yaml."
        ) from None


# ---------------------------------------------------------------- panel shape and gaps


def apply_window(
    frame: pd.DataFrame,
    path: str | Path,
    spec: Mapping[str, Any],
    first_year: int,
    last_year: int,
    policy: str,
    report: SourceReport,
) -> pd.DataFrame:
    """Drop (and report) or refuse rows whose year is outside the study window."""
    outside = ~frame["year"].between(first_year, last_year)
    if outside.any() and policy == "error":
        row = frame.loc[outside].iloc[0]
        raise DataError(
            f"{place(path, row['source_sheet'])}, row {row['source_row']}, column "
            f"'{spec['year_column']}': year {row['year']} is outside the study window "
            f"{first_year}-{last_year} ({int(outside.sum())} row(s); "
            "data.cleaning.out_of_window: error). Widen study.first_year/study.last_year, "
            "or set data.cleaning.out_of_window: drop to drop such rows and list them in "
            "the data-quality report."
        )
    for row in frame.loc[outside].itertuples(index=False):
        report.dropped.append(
            _drop_entry(row, f"year outside the study window {first_year}-{last_year}")
        )
    return frame.loc[~outside]


def interpolate_gaps(
    panel: pd.DataFrame, variables: Sequence[str], max_gap: int
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Fill interior gaps of at most ``max_gap`` years linearly within each unit.

    ``panel`` holds every unit-year of the window. Gaps at either end, and longer
    gaps, stay missing. Returns the panel and one report entry per filled cell.
    """
    panel = panel.sort_values(["unit_id", "year"]).reset_index(drop=True)
    filled_cells: list[dict[str, Any]] = []
    for variable in variables:
        before = panel[variable]
        filled = pd.Series(np.nan, index=panel.index)
        for _, rows in panel.groupby("unit_id", sort=True):
            series = rows.set_index("year")[variable]
            missing = series.isna()
            run = (missing != missing.shift()).cumsum()
            run_length = missing.groupby(run).transform("sum")
            line = series.interpolate(method="index", limit_area="inside")
            allowed = missing & (run_length <= max_gap) & line.notna()
            filled.loc[rows.index[allowed.to_numpy()]] = line[allowed].to_numpy()
        mask = before.isna() & filled.notna()
        panel.loc[mask, variable] = filled[mask]
        for row in panel.loc[mask, ["unit_id", "year", variable]].itertuples(index=False):
            filled_cells.append(
                {"unit_id": row[0], "year": int(row[1]), "variable": variable, "value": row[2]}
            )
    filled_cells.sort(key=lambda c: (c["unit_id"], c["year"], c["variable"]))
    return panel, filled_cells


def shape_panel(
    panel: pd.DataFrame,
    source_variables: Sequence[str],
    settings: Mapping[str, Any],
    first_year: int,
    last_year: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Keep the unit-years the panel type asks for; return them and what was dropped.

    unbalanced: every unit-year with a value in some source. balanced: only units with
    every ``balance_on`` variable present in every year of the window.
    """
    empty = panel[list(source_variables)].isna().all(axis=1)
    shape: dict[str, Any] = {
        "type": settings["panel"],
        "unit_years_dropped_without_any_value": [
            {"unit_id": u, "year": int(y)}
            for u, y in panel.loc[empty, ["unit_id", "year"]].itertuples(index=False)
        ],
    }
    panel = panel.loc[~empty]
    if settings["panel"] == "balanced":
        needed = list(settings.get("balance_on") or source_variables)
        years = set(range(first_year, last_year + 1))
        complete = panel.loc[panel[needed].notna().all(axis=1), ["unit_id", "year"]]
        observed = complete.groupby("unit_id")["year"].apply(set)
        dropped = []
        for unit_id in sorted(set(panel["unit_id"])):
            missing_years = sorted(years - observed.get(unit_id, set()))
            if missing_years:
                dropped.append({"unit_id": unit_id, "years_incomplete": missing_years})
        keep = {unit_id for unit_id, seen in observed.items() if seen >= years}
        panel = panel.loc[panel["unit_id"].isin(keep)]
        shape["balance_on"] = needed
        shape["units_dropped_to_balance"] = dropped
    return panel.reset_index(drop=True), shape


def flag_outliers(
    panel: pd.DataFrame, variables: Sequence[str], threshold: float
) -> list[dict[str, Any]]:
    """Flag values far from their unit's median (modified z-score); change nothing."""
    flags: list[dict[str, Any]] = []
    for variable in variables:
        values = panel[["unit_id", "year", variable]].dropna()
        grouped = values.groupby("unit_id")[variable]
        median = grouped.transform("median")
        mad = (values[variable] - median).abs().groupby(values["unit_id"]).transform("median")
        score = MAD_CONSISTENCY * (values[variable] - median) / mad.where(mad > 0)
        flagged = values.loc[score.abs() > threshold]
        for index, row in flagged.iterrows():
            flags.append(
                {
                    "unit_id": row["unit_id"],
                    "year": int(row["year"]),
                    "variable": variable,
                    "value": float(row[variable]),
                    "unit_median": float(median[index]),
                    "modified_z": round(float(score[index]), 3),
                }
            )
    flags.sort(key=lambda f: (f["unit_id"], f["year"], f["variable"]))
    return flags


def check_model_sizes(
    panel: pd.DataFrame, models: Mapping[str, Mapping[str, Any]], unit: str = "city"
) -> None:
    """Refuse a panel too small to estimate a configured model, before estimation runs.

    Each model needs positive residual degrees of freedom after its coefficients and
    absorbed effects, at least two units, and (with unit effects) two years.
    """
    units_word = {"city": "cities", "country": "countries"}.get(unit, "units")
    for name, model in models.items():
        terms = list(model["regressors"]) + list(model.get("controls") or [])
        needed = [model["outcome"], *terms]
        if any(column not in panel.columns for column in needed):
            continue
        usable = panel.loc[panel[needed].notna().all(axis=1)]
        rows, groups, years = len(usable), usable["unit_id"].nunique(), usable["year"].nunique()
        coefficients = len(terms) + (model["estimator"] != "fixed_effects")
        absorbed = 0
        if model["estimator"] == "fixed_effects":
            absorbed = groups * bool(model.get("entity_effects")) + years * bool(
                model.get("time_effects")
            )
            absorbed -= bool(model.get("entity_effects")) and bool(model.get("time_effects"))
        residual = rows - coefficients - absorbed
        problem = ""
        if groups < 2:
            problem = f"it needs at least 2 {units_word}"
        elif model.get("entity_effects") and years < 2:
            problem = "unit effects need at least 2 years"
        elif residual < 1:
            problem = (
                f"{coefficients} coefficient(s) and {absorbed} absorbed effect(s) leave "
                f"{residual} residual degrees of freedom"
            )
        if problem:
            raise DataError(
                f"the cleaned panel is too small for model '{name}': {rows} usable row(s) "
                f"({groups} {units_word}, {years} year(s)) with every variable of the model "
                f"present; {problem}. Widen study.first_year..study.last_year, add "
                f"{units_word} or sources, use data.cleaning.panel: unbalanced, or drop "
                f"terms from models.{name}."
            )


# ---------------------------------------------------------------- the whole step


def clean_panel(
    staged: Mapping[str, str | Path],
    config: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read every staged source, harmonise, merge, shape, derive and validate.

    ``staged`` maps source name to its staged file; ``config`` holds study, data, units,
    variables and, optionally, models (whose sizes are then checked). Returns the panel
    and the data-quality report (a JSON-ready dict).
    """
    study, data, variables = config["study"], config["data"], config["variables"]
    settings = cleaning_settings(data)
    first_year, last_year = int(study["first_year"]), int(study["last_year"])
    units = read_unit_table(data["unit_table"])
    aliases = unit_alias_map(units, data["unit_table"], data.get("aliases"))
    reports: list[SourceReport] = []
    frames: list[pd.DataFrame] = []

    for source, spec in data["sources"].items():
        shown = display_location(spec, staged[source])
        frame, report = read_source(
            staged[source],
            source,
            spec,
            variables,
            config["units"],
            data["missing_markers"],
            shown,
        )
        path = source_label(source, shown)
        frame = harmonise_units(
            frame, aliases, path, spec["unit_column"], data["unit_table"], study["unit"]
        )
        frame = drop_duplicates(frame, path, report)
        frame = apply_window(
            frame, path, spec, first_year, last_year, settings["out_of_window"], report
        )
        frames.append(frame.drop(columns=["source_sheet", "source_row"]))
        reports.append(report)

    grid = pd.MultiIndex.from_product(
        [units["unit_id"].tolist(), range(first_year, last_year + 1)], names=["unit_id", "year"]
    ).to_frame(index=False)
    grid["year"] = grid["year"].astype("int64")
    panel = grid
    for frame in frames:
        panel = panel.merge(frame, on=["unit_id", "year"], how="left", validate="one_to_one")
    source_variables = [v for v, s in variables.items() if s["kind"] == "source"]
    panel[source_variables] = panel[source_variables].astype("float64")

    interpolated: list[dict[str, Any]] = []
    if settings.get("interpolate"):
        interpolation = settings["interpolate"]
        panel, interpolated = interpolate_gaps(
            panel, interpolation["variables"], int(interpolation.get("max_gap", 1))
        )
    panel, shape = shape_panel(panel, source_variables, settings, first_year, last_year)

    panel = derive_variables(panel, variables)
    descriptive = [c for c in units.columns if c not in UNIT_TABLE_MATCHING_COLUMNS]
    value_columns = [c for c in panel.columns if c not in PANEL_ID_COLUMNS]
    panel = panel.merge(units[["unit_id", *descriptive]], on="unit_id", how="left")
    panel = panel[PANEL_ID_COLUMNS + descriptive + value_columns].sort_values(["unit_id", "year"])
    panel = panel.reset_index(drop=True)
    panel = validate_panel(
        panel, panel_schema(variables, units["unit_id"].tolist(), first_year, last_year)
    )
    if config.get("models"):
        check_model_sizes(panel, config["models"], study["unit"])

    outlier_settings = settings.get("outliers") or {}
    threshold = float(outlier_settings.get("threshold", 3.5))
    screened = list(outlier_settings.get("variables") or source_variables)
    missing = {
        column: {
            "missing": int(panel[column].isna().sum()),
            "share": round(float(panel[column].isna().mean()), 6) if len(panel) else 0.0,
        }
        for column in value_columns
    }
    missing_source_cells = [
        {"unit_id": u, "year": int(y), "variable": v}
        for v in source_variables
        for u, y in panel.loc[panel[v].isna(), ["unit_id", "year"]].itertuples(index=False)
    ]
    missing_source_cells.sort(key=lambda c: (c["unit_id"], c["year"], c["variable"]))
    zero_outcomes = int((panel.get("invention_patents_granted", pd.Series(dtype=float)) == 0).sum())
    quality = {
        "synthetic": bool(data["synthetic"]),
        "data_note": data["data_note"],
        "panel": {
            "unit": study["unit"],
            "units": int(panel["unit_id"].nunique()),
            "years": [first_year, last_year],
            "rows": len(panel),
            **shape,
            "zero_patent_counts_excluded_from_logs": zero_outcomes,
        },
        "sources": [
            {
                "name": r.name,
                "path": r.path,
                "rows_read": r.rows_read,
                "header_blocks": r.header_blocks,
                "rows_dropped": r.dropped,
            }
            for r in reports
        ],
        "missing_values": {
            "treatment": (
                "kept missing; rows missing a model variable are dropped by the models "
                "(listwise) and counted in their N"
                + ("; interpolated cells listed under interpolated" if interpolated else "")
            ),
            "source_cells_missing": missing_source_cells,
        },
        "missing_cells": missing,
        "interpolated": {
            "method": (
                f"linear within unit, interior gaps of at most "
                f"{settings['interpolate'].get('max_gap', 1)} year(s)"
                if settings.get("interpolate")
                else "none (data.cleaning.interpolate not set)"
            ),
            "cells": interpolated,
        },
        "outliers": {
            "method": (
                f"modified z-score {MAD_CONSISTENCY}·(x − unit median) / unit MAD; "
                f"|z| > {threshold} flagged, values unchanged"
            ),
            "variables": screened,
            "flags": flag_outliers(panel, screened, threshold),
        },
    }
    return panel, quality


def _markdown_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def quality_markdown(quality: Mapping[str, Any]) -> str:
    """Render the data-quality report as Markdown for people."""
    lines = ["# Data-quality report", ""]
    if quality["synthetic"]:
        lines += [f"> **{quality['data_note']}**", ""]
    panel = quality["panel"]
    lines += [
        f"- Units ({panel['unit']}): {panel['units']}; years "
        f"{panel['years'][0]}–{panel['years'][1]}; rows: {panel['rows']}; "
        f"panel: {panel['type']}.",
        "- Unit-years dropped for having no value in any source: "
        f"{len(panel['unit_years_dropped_without_any_value'])}.",
    ]
    if panel["type"] == "balanced":
        dropped = panel["units_dropped_to_balance"]
        lines.append(
            f"- Units dropped to balance the panel on {', '.join(panel['balance_on'])}: "
            f"{len(dropped)}"
            + (f" ({', '.join(d['unit_id'] for d in dropped)})." if dropped else ".")
        )
    lines += [
        "- Zero patent counts excluded from logs: "
        f"{panel['zero_patent_counts_excluded_from_logs']}.",
        f"- Missing values: {quality['missing_values']['treatment']}.",
        f"- Interpolation: {quality['interpolated']['method']}; cells filled: "
        f"{len(quality['interpolated']['cells'])}.",
        "",
        "## Sources",
        "",
        "| source | rows read | header blocks (units) | rows dropped |",
        "|---|---:|---|---:|",
    ]
    for source in quality["sources"]:
        units = "; ".join(
            (f"sheet {b['sheet']} " if "sheet" in b else "")
            + f"line {b['line']}: "
            + ", ".join(f"{v} [{u}]" for v, u in b["units"].items())
            for b in source["header_blocks"][:2]
        )
        more = len(source["header_blocks"]) - 2
        if more > 0:
            units += f"; … {more} more"
        lines.append(
            _markdown_row([source["name"], source["rows_read"], units, len(source["rows_dropped"])])
        )
    lines += [
        "",
        "## Rows dropped",
        "",
        "| source | row | unit | year | reason |",
        "|---|---:|---|---:|---|",
    ]
    for source in quality["sources"]:
        for drop in source["rows_dropped"]:
            row = f"{drop['row']} ({drop['sheet']})" if "sheet" in drop else drop["row"]
            lines.append(
                _markdown_row([source["name"], row, drop["unit_id"], drop["year"], drop["reason"]])
            )
    lines += [
        "",
        "## Missing cells per variable",
        "",
        "| variable | missing | share |",
        "|---|---:|---:|",
    ]
    for variable, count in quality["missing_cells"].items():
        lines.append(f"| {variable} | {count['missing']} | {count['share']:.2%} |")
    outliers = quality["outliers"]
    lines += [
        "",
        "## Outlier flags",
        "",
        f"{outliers['method']}. Flags: {len(outliers['flags'])}.",
        "",
        "| unit | year | variable | value | unit median | modified z |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for flag in outliers["flags"]:
        lines.append(
            _markdown_row(
                [
                    flag["unit_id"],
                    flag["year"],
                    flag["variable"],
                    f"{flag['value']:.6g}",
                    f"{flag['unit_median']:.6g}",
                    flag["modified_z"],
                ]
            )
        )
    return "\n".join(lines) + "\n"
