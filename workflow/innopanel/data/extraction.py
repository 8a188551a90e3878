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

from innopanel.config.data_specs import DataLimits, VariableSpec
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
from innopanel.data.staging import Quoting

HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[（(](?P<unit>[^()（）]+)[)）]\s*$")
# A plain decimal number: digits, one optional decimal point, an optional exponent. No
# underscores ("20_20"), no "inf" or "nan", no inner spaces: Python's float() takes those.
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# A year: four digits, or a float that is whole ("2020.0" from a numeric cell's text).
PLAIN_YEAR = re.compile(r"^\d{4}(\.0+)?$")
# Larger magnitudes are refused whatever the unit: their squares and sums in estimation
# would overflow or lose every digit (1e308 passed cleaning and broke the tables).
ABSURD_MAGNITUDE = 1e150


def split_header(header: str) -> tuple[str, str | None]:
    """Split ``"地区生产总值(亿元)"`` into ``("地区生产总值", "亿元")``; no unit gives None."""
    text = unicodedata.normalize("NFKC", header).strip()
    match = HEADER_UNIT.match(text)
    if match is None:
        return text, None
    return match.group("name").strip(), match.group("unit").strip()


class CellError(ValueError):
    """Why a cell is not a usable number, and the fix; the caller says where the cell is."""


def _grouped(separator: str) -> re.Pattern[str]:
    """Digits in groups of three separated by ``separator``, with an optional fraction."""
    mark = re.escape(separator)
    return re.compile(rf"^[+-]?\d{{1,3}}({mark}\d{{3}})+(?P<fraction>[.,]\d+)?$")


def parse_number(
    cell: str | None,
    missing_markers: frozenset[str],
    decimal_separator: str = ".",
    thousands_separator: str | None = None,
) -> float:
    """Parse one cell; empty or a missing marker gives NaN.

    Raises :class:`CellError` for text that is not a plain number, a number whose digit
    groups are ambiguous ("159,790" with no separator declared), and a non-finite or
    absurdly large number.
    """
    if cell is None:
        return math.nan
    text = cell.strip()
    if text in missing_markers:
        return math.nan
    text = _ungroup(text, decimal_separator, thousands_separator)
    if not PLAIN_NUMBER.match(text):
        raise CellError(
            "is not a number. Correct the cell, or add it to data.missing_markers in the "
            "config if it means 'missing'."
        )
    value = float(text)
    if not math.isfinite(value) or abs(value) >= ABSURD_MAGNITUDE:
        raise CellError(
            f"is not a usable number (its magnitude is at least {ABSURD_MAGNITUDE:g}). "
            "Correct the cell, or mark it missing."
        )
    return value


def _ungroup(text: str, decimal_separator: str, thousands_separator: str | None) -> str:
    """``text`` with its digit-group marks removed and a decimal comma made a point."""
    if thousands_separator is not None:
        match = _grouped(thousands_separator).match(text)
        if match and (match["fraction"] or "")[:1] in ("", decimal_separator):
            text = text.replace(thousands_separator, "")
    elif decimal_separator == ".":
        match = _grouped(",").match(text)
        if match and match["fraction"] is None and text.count(",") == 1:
            raise CellError(
                "is ambiguous: it reads as a thousands-separated whole number or as a "
                "decimal with a comma. Declare the source's thousands_separator: ',' (or "
                "decimal_separator: ',') under data.sources in the config."
            )
        if match and (match["fraction"] or ".")[:1] == ".":
            text = text.replace(",", "")
    elif "." in text or " " in text:
        raise CellError(
            "has a '.' or space, but the source's decimal separator is ','. Declare its "
            "thousands_separator under data.sources in the config."
        )
    return text.replace(",", ".") if decimal_separator == "," else text


def parse_year(cell: str | None) -> int:
    """Parse a year cell strictly (four digits); raises :class:`CellError` otherwise."""
    text = (cell or "").strip()
    if not PLAIN_YEAR.match(text):
        raise CellError(
            "is not a year (four digits, e.g. 2020). Fix the cell in a copy of the file."
        )
    return int(float(text))


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
    quoting: Quoting


def read_source(
    path: str | Path,
    spec: SourceSpec,
    variables: Mapping[str, VariableSpec],
    units: Mapping[str, Mapping[str, Any]],
    missing_markers: frozenset[str],
    shown_as: str | None = None,
    *,
    limits: DataLimits,
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
    reading = _Reading(
        spec,
        variables,
        units,
        missing_markers,
        source_label(source, shown),
        Quoting.of(spec, path),
    )
    records: list[dict[str, Any]] = []
    for sheet in read_sheets(path, spec, limits, shown):
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
        try:
            record["year"] = parse_year(year_cell)
        except CellError as error:
            raise DataError(
                f"{where}, row {number}, column '{spec.year_column}': year "
                f"{reading.quoting.cell(year_cell)} {error}"
            ) from None
        for variable, (column, unit) in layout.columns.items():
            cell = row[column] if column < len(row) else None
            try:
                value = parse_number(
                    cell, reading.missing_markers, spec.decimal_separator, spec.thousands_separator
                )
            except CellError as error:
                raise DataError(
                    f"{where}, row {number}, column '{headers[variable]}': value "
                    f"{reading.quoting.cell(cell)} {error}"
                ) from None
            if (number, column) in sheet.merged_copies and not math.isnan(value):
                raise DataError(
                    f"{where}, row {number}, column '{headers[variable]}': the value "
                    f"{reading.quoting.cell(cell)} comes from a merged cell above, so it would "
                    "count for several rows. Unmerge the cells in a copy of the file and "
                    "enter each row's own value (or leave it empty if it is missing)."
                )
            value *= unit_factor(unit, variables[variable].unit, reading.units)
            minimum = variables[variable].minimum
            if minimum is not None and value < minimum:
                raise DataError(
                    f"{where}, row {number}, column '{headers[variable]}': value "
                    f"{reading.quoting.cell(cell)} is below the minimum {minimum} allowed for "
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
        for candidates in (names, full):  # full: brackets that are part of the name
            found = [index for index, name in enumerate(candidates) if name == base]
            if len(found) > 1:
                raise DataError(
                    f"{where}, row {line_number}: column '{wanted}' (data.sources.{source}."
                    f"{key}) appears {len(found)} times in the header (columns "
                    f"{', '.join(str(i + 1) for i in found)}); which one is meant is not "
                    "known. Rename or delete the extra column in a copy of the file."
                )
            if found:
                return found[0]
        raise DataError(
            f"{where}, row {line_number}: required column '{wanted}' (data.sources.{source}."
            f"{key}) is missing; "
            + (
                f"the header has {names}"
                if reading.quoting.header
                else "the header is not quoted, as the file is private or outside the project"
            )
            + ". Fix the mapping in the config, or the header in a copy of the file."
            + header_hint(header, spec)
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


def header_hint(header: Sequence[str], spec: SourceSpec) -> str:
    """A likely cause of a header that lacks a column: a byte-order mark or the delimiter."""
    hints = []
    if header and header[0].startswith("\ufeff"):
        hints.append(
            f" The file starts with a byte-order mark: set data.sources.{spec.name}.encoding: "
            "utf-8-sig."
        )
    if spec.format == "csv":
        cells = [cell for cell in header if cell]
        # Each delimiter as it is written in YAML.
        for delimiter, written in ((";", '";"'), ("\t", '"\\t"'), ("|", '"|"')):
            if (
                delimiter != spec.delimiter
                and len(cells) <= 2
                and any(delimiter in c for c in cells)
            ):
                hints.append(
                    f" The header looks {written}-delimited: set "
                    f"data.sources.{spec.name}.delimiter: {written}."
                )
                break
    return "".join(hints)


def unit_factor(
    unit: str | None, target: str | None, units: Mapping[str, Mapping[str, Any]]
) -> float:
    """Return the factor converting a value in ``unit`` to ``target``."""
    if unit is None or unit == target:
        return 1.0
    return float(units[unit]["factor"]) / float(units[target]["factor"])
