"""Yearbook tables: one statistical-yearbook table in, one row per region-year out.

A yearbook table is laid out for print, not for reading: a title row and an English
subtitle, a "单位：…" units row, a header of several rows (merged cells, line breaks,
spacer rows), a Chinese and an English region column, total rows (全国, 东部地区) among
the regions, and footnotes. Everything that differs between tables is configured
(``data.sources.<name>.table``, :class:`innopanel.config.specs.TableSpec`); this module
finds the header by its region cell (``unit_column``, e.g. 地区), the unit in the units
row, each variable's column by text its joined header contains, and, in a wide-year
table, the year columns. Total rows are dropped and reported with their values. Every
problem is an error naming file, row and column, and the fix.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.data_specs import DataLimits, Harmonisation, VariableSpec
from innopanel.config.specs import ColumnSpec, SourceSpec, TableSpec
from innopanel.data.editions import DECIMALS_SUFFIX, printed_decimals
from innopanel.data.extraction import CellError, parse_number, unit_factor
from innopanel.data.harmonise import rows_not_units
from innopanel.data.quality import SourceReport
from innopanel.data.readers import Cell, DataError, Sheet, place, read_sheets, source_label
from innopanel.data.staging import Quoting
from innopanel.data.unit_names import normalise_unit_name

UNITS_ROW_PREFIX = "单位"
TITLE_YEAR = re.compile(r"[(](?P<year>\d{4})年[)]")
YEAR_HEADER = re.compile(r"^(?P<year>(19|20)\d{2})$")


@dataclass(frozen=True)
class _Where:
    """Where a message points (file, sheet), and what it may quote of that file."""

    place: str
    quoting: Quoting

    def __str__(self) -> str:
        return self.place


def compact(cell: Cell) -> str:
    """A cell as comparison text: NFKC (full-width forms), every space and line break removed."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", cell or ""))


@dataclass(frozen=True)
class TableLayout:
    """Where one table's parts sit: row indexes (0-based in the sheet) and column indexes."""

    first_header_row: int
    first_body_row: int
    region_column: int
    # variable -> (column, unit) of a single-year table; empty in a wide-year table.
    columns: dict[str, tuple[int, str]]
    # year -> column of a wide-year table; empty in a single-year table.
    year_columns: dict[int, int]
    # The unit of a wide-year table's one variable.
    wide_unit: str | None


def read_yearbook_table(
    path: str | Path,
    spec: SourceSpec,
    variables: Mapping[str, VariableSpec],
    units: Mapping[str, Mapping[str, Any]],
    missing_markers: frozenset[str],
    shown_as: str | None = None,
    *,
    limits: DataLimits,
    harmonise: Harmonisation,
) -> tuple[pd.DataFrame, SourceReport]:
    """Read one yearbook table source into canonical units.

    Returns the frame :func:`innopanel.data.extraction.read_source` returns
    (``source_sheet``, ``source_row``, ``name_raw``, ``year``, one column per variable),
    with each variable's printed decimals beside it (``<variable>.decimals``, for
    telling an edition's rounding from its revision),
    and the source's report, whose ``totals_dropped`` lists, with their printed values,
    the rows that ``harmonise`` says are no unit (its totals and dropped units, the one
    list every source is read by).
    The first sheet is read unless ``sheets`` names others.
    """
    if spec.table is None:
        raise ValueError(f"source '{spec.name}' is not a yearbook table (no table settings).")
    path = Path(path)
    shown = shown_as or str(path)
    report = SourceReport(name=spec.name, path=shown, edition=spec.table.edition)
    not_units = rows_not_units(harmonise)
    label = source_label(spec.name, shown)
    quoting = Quoting.of(spec, path)
    sheets = read_sheets(path, spec, limits, shown)
    records: list[dict[str, Any]] = []
    for sheet in sheets if spec.sheets else sheets[:1]:
        where = _Where(place(label, sheet.name), quoting)
        layout = locate_layout(sheet, spec, spec.table, units, variables, where)
        report.header_blocks.append(
            {
                "line": sheet.rows[layout.first_header_row][0],
                "units": {v: u for v, (_, u) in layout.columns.items()}
                or {spec.columns[0].variable: layout.wide_unit},
            }
            | ({"sheet": sheet.name} if spec.sheets else {})
        )
        records += _read_body(
            sheet, spec, layout, variables, units, missing_markers, not_units, where, report
        )
    if not records:
        raise DataError(
            f"{label}: the table has a header but no region rows. Check the file and "
            f"data.sources.{spec.name}.table."
        )
    columns = ["source_sheet", "source_row", "name_raw", "year"]
    for column in spec.columns:
        columns += [column.variable, column.variable + DECIMALS_SUFFIX]
    return pd.DataFrame.from_records(records, columns=columns), report


def units_row_unit(rows: Sequence[tuple[int, list[Cell]]], before: int) -> str | None:
    """The unit a "单位：人年" row above row index ``before`` states (None if no such row)."""
    for _, cells in rows[:before]:
        for cell in cells:
            text = compact(cell)
            if text.startswith(UNITS_ROW_PREFIX):
                return text[len(UNITS_ROW_PREFIX) :].lstrip(":") or None
    return None


def _is_banner(cells: Sequence[Cell]) -> bool:
    """A units row, an English units row "(man-year)", or blank: not part of the header."""
    texts = [compact(cell) for cell in cells if compact(cell)]
    return (
        not texts
        or any(t.startswith(UNITS_ROW_PREFIX) for t in texts)
        or all(t.startswith("(") and t.endswith(")") for t in texts)
    )


def locate_layout(
    sheet: Sheet,
    spec: SourceSpec,
    table: TableSpec,
    units: Mapping[str, Mapping[str, Any]],
    variables: Mapping[str, VariableSpec],
    where: _Where,
) -> TableLayout:
    """Find the header (by its region cell), the units, and each variable's column(s)."""
    rows = sheet.rows
    marker = compact(spec.unit_column)
    found = next(
        (
            (index, column)
            for index, (_, cells) in enumerate(rows)
            for column, cell in enumerate(cells)
            if compact(cell) == marker
        ),
        None,
    )
    if found is None:
        raise DataError(
            f"{where}: no header cell '{spec.unit_column}' (data.sources.{spec.name}."
            "unit_column, spaces ignored) was found. Set unit_column to the region "
            "header the table uses."
        )
    marker_row, region_column = found
    title = next(
        ("".join(compact(cell) for cell in cells) for _, cells in rows if any(map(compact, cells))),
        "",
    )
    _check_title(title, spec, table, where)
    stated_unit = units_row_unit(rows, marker_row)
    first = marker_row
    # The header may start above the region cell (合计 over 地区), but only below a units
    # row: without one, the rows above the region cell are the title.
    if stated_unit is not None:
        while first > 0 and not _is_banner(rows[first - 1][1]):
            first -= 1
    body = marker_row + 1
    while body < len(rows) and not compact(_cell(rows[body][1], region_column)):
        body += 1
    parts = _header_parts([cells for _, cells in rows[first:body]])
    header = ["".join(texts) for texts in parts]
    line = rows[marker_row][0]
    if table.wide_years:
        year_columns = _year_columns(parts, f"{rows[first][0]}-{rows[body - 1][0]}", where)
        if not year_columns:
            raise DataError(
                f"{where}, row {line}: table.wide_years is set but no header is a year; "
                f"the header has {where.quoting.header_text(header)}. Set table.year for a "
                "single-year table."
            )
        column_spec = spec.columns[0]
        unit = _unit(column_spec, stated_unit, spec, units, variables, where)
        return TableLayout(first, body, region_column, {}, year_columns, unit)
    located: dict[str, tuple[int, str]] = {}
    for column_spec in spec.columns:
        wanted = compact(column_spec.header)
        matches = [
            column
            for column, text in enumerate(header)
            if column != region_column and wanted in text
        ]
        if len(matches) != 1:
            problem = "no column's header contains" if not matches else "several headers contain"
            raise DataError(
                f"{where}, rows {rows[first][0]}-{rows[body - 1][0]}: {problem} "
                f"'{column_spec.header}' (data.sources.{spec.name}.columns."
                f"{column_spec.variable}); the joined headers are "
                f"{where.quoting.header_text([text for text in header if text])}. Use text of "
                "exactly one of them."
            )
        column = _sub_column(sheet, first, body, matches[0], column_spec, spec.name, where)
        unit = _unit(column_spec, stated_unit, spec, units, variables, where)
        located[column_spec.variable] = (column, unit)
    return TableLayout(first, body, region_column, located, {}, None)


def column_letter(index: int) -> str:
    """The spreadsheet letters of a 0-based column index: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _spanned_columns(sheet: Sheet, row: int, column: int, body: int) -> tuple[int, list[int]]:
    """The last row and the columns of the header cell at (row, column): its merged range,
    else itself and the empty cells to its right that, like itself, have labels below."""
    for (top, left), (bottom, right) in sheet.merged_ranges:
        if (top, left) == (row, column):
            return bottom, list(range(left, right + 1))
    rows = sheet.rows
    span = [column]
    if _label_below(sheet, row, column, body):
        while (
            not compact(_cell(rows[row][1], span[-1] + 1))
            and _label_below(sheet, row, span[-1] + 1, body)
            and not any(
                top <= row <= bottom and left <= span[-1] + 1 <= right
                for (top, left), (bottom, right) in sheet.merged_ranges
            )
        ):
            span.append(span[-1] + 1)
    return row, span


def _label_below(sheet: Sheet, row: int, column: int, body: int) -> str:
    """The joined header text of ``column`` in the header rows below ``row``."""
    return "".join(compact(_cell(cells, column)) for _, cells in sheet.rows[row + 1 : body])


def _sub_column(
    sheet: Sheet, first: int, body: int, column: int, spec: ColumnSpec, source: str, where: _Where
) -> int:
    """The column of ``spec``: ``column`` itself, or, when the header cell it matched spans
    several sub-columns (发明 over 数量 and 占比(%)), the declared ``sub_column`` of them."""
    wanted = compact(spec.header)
    key = f"data.sources.{source}.columns.{spec.variable}"
    row = next(
        (r for r in range(first, body) if wanted in compact(_cell(sheet.rows[r][1], column))),
        None,
    )
    if row is None:  # the text runs over several header rows: no one cell spans
        return column
    last_row, span = _spanned_columns(sheet, row, column, body)
    labels = {c: _label_below(sheet, last_row, c, body) for c in span}
    named = ", ".join(f"{where.quoting.header_text(labels[c])} ({column_letter(c)})" for c in span)
    cells = (
        f"row {sheet.rows[row][0]}, column(s) {column_letter(span[0])}-{column_letter(span[-1])}"
    )
    if spec.sub_column is None:
        if len(span) == 1:
            return column
        raise DataError(
            f"{where}, {cells}: the header '{spec.header}' ({key}) spans the "
            f"sub-columns {named}; which one holds '{spec.variable}' is not known. "
            f"Declare it: {key}: {{column: {spec.header}, sub_column: <one of them>}}."
        )
    chosen = [c for c in span if compact(spec.sub_column) in labels[c]]
    if len(chosen) != 1:
        found = "none" if not chosen else "several"
        raise DataError(
            f"{where}, {cells}: {key}.sub_column '{spec.sub_column}' matches {found} of "
            f"the sub-columns under '{spec.header}': {named}. Use text of exactly one "
            "of them (or drop sub_column if the header spans no sub-columns)."
        )
    return chosen[0]


def _check_title(title: str, spec: SourceSpec, table: TableSpec, where: _Where) -> None:
    """A single-year title's "(2010年)" must be table.year; a wide table's names its variable."""
    match = TITLE_YEAR.search(title)
    if table.year is not None and match and int(match.group("year")) != table.year:
        raise DataError(
            f"{where}, row 1: the title says {match.group('year')} but data.sources."
            f"{spec.name}.table.year is {table.year}. Is this the right file?"
        )
    if table.wide_years and compact(spec.columns[0].header) not in title:
        raise DataError(
            f"{where}, row 1: the title {where.quoting.header_text(title)} does not contain "
            f"'{spec.columns[0].header}' (data.sources.{spec.name}.columns."
            f"{spec.columns[0].variable}), which names a wide-year table's variable. "
            "Is this the right file?"
        )


def _unit(
    column: ColumnSpec,
    units_row: str | None,
    spec: SourceSpec,
    units: Mapping[str, Mapping[str, Any]],
    variables: Mapping[str, VariableSpec],
    where: _Where,
) -> str:
    """The unit of a column: stated in the config or by the units row, and convertible."""
    variable, stated = column.variable, column.unit
    key = f"data.sources.{spec.name}.columns.{variable}"
    if stated is not None and units_row is not None and stated != units_row:
        raise DataError(
            f"{where}: the units row says {where.quoting.header_text(units_row)} but "
            f"{key}.unit says '{stated}'. Correct whichever is wrong."
        )
    unit = stated or units_row
    if unit is None:
        raise DataError(
            f"{where}: the table has no 单位 units row; state the unit as "
            f"{key}: {{column: ..., unit: ...}}."
        )
    target = variables[variable].unit
    # A unit the config states is the project's text; one read from the units row is not.
    quoted_unit = f"'{unit}'" if stated is not None else where.quoting.header_text(unit)
    if unit not in units:
        raise DataError(
            f"{where}: unit {quoted_unit} of '{variable}' is not listed under units "
            "in the config; add it with its dimension and factor."
        )
    if target is None or units[unit]["dimension"] != units[target]["dimension"]:
        raise DataError(
            f"{where}: unit {quoted_unit} of '{variable}' cannot be converted to "
            f"'{target}'. Check the column mapping and the variable's unit."
        )
    return unit


def _cell(cells: Sequence[Cell], column: int) -> Cell:
    return cells[column] if column < len(cells) else None


def _refuse_values_without_region(
    cells: Sequence[Cell],
    cells_of: Sequence[tuple[int, str, int, str]],
    missing_markers: frozenset[str],
    layout: TableLayout,
    number: int,
    where: _Where,
) -> None:
    """A row whose region cell is blank is a spacer only if the cells read hold nothing;
    with values it would be skipped silently (whose values are they?)."""
    filled = [
        f"{column_letter(column)}{number} {where.quoting.cell(text)}"
        for _, _, column, _ in cells_of
        if (text := (_cell(cells, column) or "").strip()) and text not in missing_markers
    ]
    if filled:
        raise DataError(
            f"{where}, row {number}: the region cell ({column_letter(layout.region_column)}"
            f"{number}) is blank but the row holds values ({', '.join(filled[:3])}); whose "
            "they are is not known. Enter the region's name in the source file (or fetch a "
            "correct copy and update its sha256)."
        )


def _header_parts(block: Sequence[Sequence[Cell]]) -> list[list[str]]:
    """Per column, the compact texts of the header rows, top to bottom (a merged cell's
    text, repeated down the rows it spans, once)."""
    width = max((len(cells) for cells in block), default=0)
    columns = []
    for column in range(width):
        parts: list[str] = []
        for cells in block:
            text = compact(_cell(cells, column))
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        columns.append(parts)
    return columns


def _year_columns(parts: Sequence[Sequence[str]], rows: str, where: _Where) -> dict[int, int]:
    """A wide-year table's year columns: those whose lowest header text is a year. Years
    under a label (合计 over 2019 2020) are read only when every year is under the same
    label; a year under a label of its own (其中 over 2020) may be a part, not the whole,
    so it is refused rather than read or dropped."""
    year_columns: dict[int, int] = {}
    labels: dict[int, str] = {}
    for column, texts in enumerate(parts):
        if not texts or not (match := YEAR_HEADER.match(texts[-1])):
            continue
        year = int(match.group("year"))
        if year in year_columns:
            raise DataError(
                f"{where}, rows {rows}: the year {year} heads two columns, "
                f"{column_letter(year_columns[year])} and {column_letter(column)}; which one "
                f"holds {year} is not known (a mistyped year?). Correct the header in the "
                "source file, or fetch a correct copy (and update its sha256)."
            )
        year_columns[year] = column
        labels[column] = "".join(texts[:-1])
    if len(set(labels.values())) > 1:
        shown = ", ".join(
            f"{column_letter(column)} {where.quoting.header_text(label) if label else '(none)'}"
            for column, label in labels.items()
        )
        raise DataError(
            f"{where}, rows {rows}: the year columns stand under different labels ({shown}); "
            "a year under a label of its own may be a part of the series, not the whole, "
            "so which columns hold the variable is not known. Fetch a table whose years "
            "share one header, or read the years apart as single-year tables (table.year)."
        )
    return year_columns


def _read_body(
    sheet: Sheet,
    spec: SourceSpec,
    layout: TableLayout,
    variables: Mapping[str, VariableSpec],
    units: Mapping[str, Mapping[str, Any]],
    missing_markers: frozenset[str],
    not_units: Mapping[str, str],
    where: _Where,
    report: SourceReport,
) -> list[dict[str, Any]]:
    """One record per region (single-year) or region-year (wide); rows that are no unit
    (``not_units``: name key -> reason) reported with their values, not kept."""
    table = spec.table
    assert table is not None
    notes = tuple(compact(marker) for marker in table.note_markers)
    if table.wide_years:
        variable = spec.columns[0].variable
        assert layout.wide_unit is not None
        cells_of = [
            (year, variable, column, layout.wide_unit)
            for year, column in sorted(layout.year_columns.items())
        ]
    else:
        assert table.year is not None
        cells_of = [
            (table.year, variable, column, unit)
            for variable, (column, unit) in layout.columns.items()
        ]
    records: list[dict[str, Any]] = []
    for number, cells in sheet.rows[layout.first_body_row :]:
        region = (_cell(cells, layout.region_column) or "").strip()
        key = compact(region)
        if not key:
            _refuse_values_without_region(cells, cells_of, missing_markers, layout, number, where)
            continue  # a spacer row
        if key.startswith(notes):
            break  # footnotes follow the table
        values: dict[tuple[int, str], float] = {}
        places: dict[str, int] = {}
        for year, variable, column, unit in cells_of:
            cell = _cell(cells, column)
            try:
                value = parse_number(
                    cell, missing_markers, spec.decimal_separator, spec.thousands_separator
                )
            except CellError as error:
                raise DataError(
                    f"{where}, row {number}, column {column + 1} ('{variable}', {year}): "
                    f"value {where.quoting.cell(cell)} {error}"
                ) from None
            value *= unit_factor(unit, variables[variable].unit, units)
            minimum = variables[variable].minimum
            if minimum is not None and value < minimum:
                raise DataError(
                    f"{where}, row {number}, column {column + 1} ('{variable}', {year}): "
                    f"value {value} is below the minimum {minimum} allowed for "
                    f"'{variable}'. Correct the source value."
                )
            values[(year, variable)] = value
            places[f"{year} {variable}"] = printed_decimals(cell)
        reason = not_units.get(normalise_unit_name(region))
        if reason is not None:
            report.totals_dropped.append(
                {
                    "row": number,
                    "region": region,
                    "reason": reason,
                    "values": {
                        f"{variable} {year}": None if math.isnan(value) else value
                        for (year, variable), value in values.items()
                    },
                }
            )
            continue
        report.rows_read += 1
        for year in sorted({year for year, _ in values}):
            record: dict[str, Any] = {
                "source_sheet": sheet.name if spec.sheets else "",
                "source_row": number,
                "name_raw": region,
                "year": year,
            }
            for (y, variable), value in values.items():
                if y == year:
                    record[variable] = value
                    record[variable + DECIMALS_SUFFIX] = places[f"{year} {variable}"]
            records.append(record)
    return records
