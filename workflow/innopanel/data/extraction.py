"""Extraction: one staged source's sheets in, one row per unit-year of its variables out.

Header blocks are found on each sheet (title rows skipped, multi-row headers joined, a
repeated header starting a new block whose units may differ, as yearbooks change units
between years); each mapped column is located, its unit read from the header or stated
in the config, and every cell parsed (missing markers, thousands separators) and
converted to the variable's canonical unit. A cell that is not a number, a year that is
not whole, a value below the variable's minimum or an unknown unit is an error naming
file, sheet, row and column, and the fix.
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

from innopanel.config.data_specs import VariableSpec
from innopanel.config.specs import SourceSpec
from innopanel.data.quality import SourceReport
from innopanel.data.readers import (
    DataError,
    Sheet,
    combine_header,
    place,
    read_sheets,
    source_label,
)

HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[（(](?P<unit>[^()（）]+)[)）]\s*$")
THOUSANDS_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


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


@dataclass(frozen=True)
class _Reading:
    """What reading one source needs: its spec, the variables and units it converts to."""

    spec: SourceSpec
    variables: Mapping[str, VariableSpec]
    units: Mapping[str, Mapping[str, Any]]
    missing_markers: frozenset[str]
    label: str


def read_source(
    path: str | Path,
    spec: SourceSpec,
    variables: Mapping[str, VariableSpec],
    units: Mapping[str, Mapping[str, Any]],
    missing_markers: frozenset[str],
    shown_as: str | None = None,
) -> tuple[pd.DataFrame, SourceReport]:
    """Read one source into canonical units.

    Messages name the source and ``shown_as`` (where it came from; default ``path``).
    ``units`` is the config's unit table (name -> dimension, factor); cells equal to a
    missing marker (after trimming) are missing.

    Returns a frame with ``source_sheet`` (empty for single-table formats),
    ``source_row`` (1-based row in the file or sheet), ``name_raw``, ``year`` and one
    column per mapped variable, plus the source's report. On each sheet ``skip_rows``
    title rows are skipped, then ``header_rows`` rows form the header; a later row
    repeating the header's first cell starts a new block whose units may differ
    (yearbooks change units between years).
    """
    path = Path(path)
    shown = shown_as or str(path)
    source = spec.name
    report = SourceReport(name=source, path=shown)
    reading = _Reading(spec, variables, units, missing_markers, source_label(source, shown))
    records: list[dict[str, Any]] = []
    for sheet in read_sheets(path, spec, shown):
        records += _read_sheet(sheet, reading, report)
    if not records:
        raise DataError(
            f"source '{source}': {shown} has a header but no data rows. Check the file, and "
            f"data.sources.{source}.skip_rows / header_rows / sheets."
        )
    columns = ["source_sheet", "source_row", "name_raw", "year"]
    columns += [column.variable for column in spec.columns]
    return pd.DataFrame.from_records(records, columns=columns), report


def _read_sheet(sheet: Sheet, reading: _Reading, report: SourceReport) -> list[dict[str, Any]]:
    spec, variables = reading.spec, reading.variables
    where = place(reading.label, sheet.name)
    header_rows = spec.header_rows
    rows = [
        (number, cells)
        for number, cells in sheet.rows[spec.skip_rows :]
        if any(cell is not None and cell.strip() for cell in cells)
    ]
    headers = {column.variable: column.header for column in spec.columns}
    records: list[dict[str, Any]] = []
    layout: _Layout | None = None
    marker = ""
    index = 0
    while index < len(rows):
        number, row = rows[index]
        first = unicodedata.normalize("NFKC", row[0] or "").strip() if row else ""
        if layout is None or (marker and first == marker):
            block = [cells for _, cells in rows[index : index + header_rows]]
            header = combine_header(block, reading.units)
            layout = _read_header_row(header, number, where, reading)
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
                f"{where}, row {number}, column '{spec.year_column}': year "
                f"'{(year_cell or '').strip()}' is not a whole number. Fix the cell in a "
                "copy of the file."
            )
        record["year"] = int(year)
        for variable, (column, unit) in layout.columns.items():
            cell = row[column] if column < len(row) else None
            value = parse_number(cell, reading.missing_markers)
            if value is None:
                raise DataError(
                    f"{where}, row {number}, column '{headers[variable]}': value "
                    f"'{(cell or '').strip()}' is not a number. Correct the cell, or add it "
                    "to data.missing_markers in the config if it means 'missing'."
                )
            value *= unit_factor(unit, variables[variable].unit, reading.units)
            minimum = variables[variable].minimum
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
    header: Sequence[str], line_number: int, where: str, reading: _Reading
) -> _Layout:
    """Locate the id columns and each mapped variable (with its unit) in a header."""
    spec, units, source = reading.spec, reading.units, reading.spec.name
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
    for column in spec.columns:
        variable, wanted, stated = column.variable, column.header, column.unit
        index = locate(wanted, f"columns.{variable}")
        unit = (
            parsed[index][1]
            if names[index] == unicodedata.normalize("NFKC", wanted).strip()
            else None
        )
        target = reading.variables[variable].unit
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
        locate(spec.unit_column, "unit_column"),
        locate(spec.year_column, "year_column"),
    )


def unit_factor(
    unit: str | None, target: str | None, units: Mapping[str, Mapping[str, Any]]
) -> float:
    """Return the factor converting a value in ``unit`` to ``target``."""
    if unit is None or unit == target:
        return 1.0
    return float(units[unit]["factor"]) / float(units[target]["factor"])
