"""Read a staged source of any format into sheets of text rows for the cleaning step.

CSV, Excel (.xlsx: several sheets, merged cells filled in; legacy .xls, decrypted in
memory when protected with Excel's default read-only key), parquet and JSON (a list of
records, or a World Bank API document) all become the same thing: per sheet, numbered
rows of cells, each cell text or None (empty). Numbers from binary formats are written
back as the shortest text that reads as the same float, so nothing is rounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innopanel.config.data_specs import DataLimits
from innopanel.config.sources import EXTENSIONS, looks_like_html
from innopanel.config.specs import SourceSpec
from innopanel.data.intake import (
    SheetExtent,
    WorkbookRefused,
    check_extent,
    check_workbook,
    file_size_problem,
)
from innopanel.data.json_bounds import JsonTooLarge, loads_bounded
from innopanel.data.worldbank import ApiError, document_table

Cell = str | None
# The key Excel itself uses for a workbook "protected" without a password of its own:
# opening such a file needs no secret, only this published default.
EXCEL_DEFAULT_KEY = "VelvetSweatshop"
UNIT_ONLY = re.compile(r"^[（(]?\s*(?P<unit>[^()（）\s][^()（）]*?)\s*[)）]?$")


class DataError(ValueError):
    """The input data cannot be used as it is; the message says where and how to fix it."""


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook (name None for single-table formats) as numbered rows."""

    name: str | None
    rows: list[tuple[int, list[Cell]]]
    # (row number, column index) of cells holding a copy of a merged range's value (not
    # its top-left cell): a header may span cells, a number must not count twice.
    merged_copies: frozenset[tuple[int, int]] = frozenset()
    # Merged ranges of a sheet read as printed, each ((top, left), (bottom, right)) as
    # 0-based row and column indexes: a header spanning sub-columns must not pick one.
    merged_ranges: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()


def source_label(source: str, shown: str | Path) -> str:
    """How messages name a source: its name and where it came from."""
    return f"source '{source}' ({shown})"


def place(label: str | Path, sheet: str | None) -> str:
    """Return how messages name a file (or source), and its sheet if it has one."""
    return str(label) if not sheet else f"{label}, sheet '{sheet}'"


def cell_text(value: Any) -> Cell:
    """Turn a cell from a binary format into text; empty and NaN become None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def check_raw_bytes(
    path: Path, source: str, file_format: str, limits: DataLimits, shown: str | None = None
) -> bytes:
    """Return a file's bytes, refusing a missing, oversized, empty or HTML file with the fix."""
    shown = shown or str(path)
    if not path.is_file():
        raise DataError(f"source '{source}': file {shown} not found. Run the fetch rule first.")
    oversized = file_size_problem(source, path, shown, limits)
    if oversized is not None:
        raise DataError(oversized)
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(
            f"source '{source}': {shown} is empty. Replace it with the real extract (and "
            f"update data.sources.{source}.sha256), or remove the source from data.sources."
        )
    if looks_like_html(raw[:512]):
        raise DataError(
            f"source '{source}': {shown} is an HTML page, not {file_format} data (a saved "
            "error or login page?). Download the data file itself, check it, and set "
            f"data.sources.{source}.sha256 to its SHA256."
        )
    return raw


def decode(raw: bytes, path: Path | str, encoding: str, source: str) -> str:
    """Decode bytes, turning a wrong encoding into an error naming the config key."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise DataError(
            f"source '{source}': {path} is not valid {encoding} (byte "
            f"0x{raw[error.start]:02x} at offset {error.start}). Set "
            f"data.sources.{source}.encoding to the file's real encoding (e.g. gbk, utf-8-sig)."
        ) from None
    except LookupError:
        raise DataError(
            f"source '{source}': unknown encoding '{encoding}' in data.sources.{source}.encoding."
        ) from None


def read_sheets(
    path: str | Path, spec: SourceSpec, limits: DataLimits, shown: str | None = None
) -> list[Sheet]:
    """Read a staged source into sheets of numbered text rows (messages name ``shown``).

    A file over ``limits.max_file_bytes``, and an .xlsx workbook over the Excel or
    archive caps or with formulas saved without values, is refused before it is loaded.
    """
    path = Path(path)
    shown = shown or str(path)
    raw = check_raw_bytes(path, spec.name, spec.format, limits, shown)
    if spec.format in ("excel", "xls"):
        try:
            check_workbook(raw, shown, spec.name, limits)
        except WorkbookRefused as error:
            raise DataError(str(error)) from None
    if spec.format == "csv":
        return [_read_csv(decode(raw, shown, spec.encoding, spec.name), shown, spec, limits)]
    if spec.format == "xls" or (spec.format == "excel" and spec.table is not None):
        # A yearbook table's cells are read as printed (merged cells not filled in, so
        # a header spanning columns names one), and calamine reads every yearbook .xlsx.
        return _read_printed(raw, shown, spec, limits)
    if spec.format == "excel":
        return _read_excel(path, shown, spec.name, spec.sheets)
    if spec.format == "parquet":
        return [_read_parquet(path, shown, spec.name, limits)]
    return [_read_json(raw, shown, spec, limits)]


def _check_cells(cells: int, shown: str, source: str, limits: DataLimits) -> None:
    """Refuse a source holding more cells than ``data.limits.max_cells`` (memory)."""
    if cells > limits.max_cells:
        raise DataError(
            f"source '{source}': {shown} holds more than {limits.max_cells} cells "
            f"(data.limits.max_cells; reading takes about 250 bytes per cell). Check that "
            "it is the data file meant, cut it to the rows and columns the study uses, "
            "or raise the cap."
        )


def _read_csv(text: str, shown: str, spec: SourceSpec, limits: DataLimits) -> Sheet:
    # Cells the row being read may have (its lines' delimiters, plus one a line): a row
    # is refused before csv builds it, so one line of 100 million commas takes no memory.
    pending = [0]

    def lines() -> Iterator[str]:
        for number, line in enumerate(io.StringIO(text), start=1):
            pending[0] += line.count(spec.delimiter) + 1
            if pending[0] > limits.max_cells:
                raise DataError(
                    f"source '{spec.name}': {shown}, line {number}: a row of more than "
                    f"{limits.max_cells} cells (data.limits.max_cells). Check "
                    f"data.sources.{spec.name}.delimiter and that it is the file meant."
                )
            yield line

    reader = csv.reader(lines(), delimiter=spec.delimiter)
    rows: list[tuple[int, list[str]]] = []
    cells = 0
    try:
        for number, row in enumerate(reader, start=1):
            pending[0] = 0
            cells += len(row)
            _check_cells(cells, shown, spec.name, limits)
            rows.append((number, row))
    except csv.Error as error:
        raise DataError(
            f"source '{spec.name}': {shown}, row {reader.line_num}: {error} (a field longer "
            f"than {csv.field_size_limit()} characters is not a value: a quote left open, "
            "or a different delimiter?). Fix the row in a copy of the file, or set "
            f"data.sources.{spec.name}.delimiter."
        ) from None
    return Sheet(None, rows)


def _sheet_names(
    available: list[str], wanted: Sequence[str] | None, shown: str, source: str
) -> list[str]:
    """The sheets to read: those configured (each must exist), else every sheet."""
    names = list(wanted) if wanted else available
    missing = [name for name in names if name not in available]
    if missing:
        raise DataError(
            f"source '{source}': {shown} has no sheet(s) {missing}; it has "
            f"{available}. Fix data.sources.{source}.sheets."
        )
    return names


def _read_excel(path: Path, shown: str, source: str, wanted: Sequence[str] | None) -> list[Sheet]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not read-only: merged ranges are only known to a fully loaded workbook.
        workbook = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise DataError(
            f"source '{source}': {shown} is not a readable .xlsx workbook ({error}). An old "
            ".xls file must be saved as .xlsx first (or set format: xls), a password-"
            "protected one saved unprotected, a truncated one fetched again (check its "
            f"SHA256 against data.sources.{source}.sha256); a CSV needs format: csv."
        ) from None
    except (SyntaxError, ValueError) as error:  # ElementTree's ParseError is a SyntaxError
        raise DataError(
            f"source '{source}': {shown} holds a part that is not valid workbook XML "
            f"({type(error).__name__}: {error}). Open it in Excel or LibreOffice and save "
            "it again (and update its sha256), or fetch it again."
        ) from None
    names = _sheet_names(list(workbook.sheetnames), wanted, shown, source)
    sheets = []
    for name in names:
        worksheet = workbook[name]
        grid = [list(row) for row in worksheet.iter_rows(values_only=True)]
        # A merged cell's value sits in its top-left cell; a reader sees it everywhere
        # (a header spanning columns names each), and each copy is remembered, so that a
        # number copied into rows it was never entered for is refused, not counted twice.
        copies: set[tuple[int, int]] = set()
        for merged in worksheet.merged_cells.ranges:
            value = grid[merged.min_row - 1][merged.min_col - 1]
            for r in range(merged.min_row - 1, merged.max_row):
                for c in range(merged.min_col - 1, merged.max_col):
                    grid[r][c] = value
                    if (r, c) != (merged.min_row - 1, merged.min_col - 1):
                        copies.add((r + 1, c))
        rows = [(n, [cell_text(v) for v in row]) for n, row in enumerate(grid, start=1)]
        sheets.append(Sheet(name, rows, frozenset(copies)))
    return sheets


def decrypt_default_key(raw: bytes, shown: str, source: str) -> bytes:
    """Return an .xls file's bytes, decrypted in memory if Excel's default key protects it.

    Yearbook downloads are often "read-only protected" with the key Excel uses when no
    password is set; the file on disk is never changed.
    """
    import msoffcrypto
    from msoffcrypto.exceptions import (
        DecryptionError,
        FileFormatError,
        InvalidKeyError,
        ParseError,
    )

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(raw))
        if not office.is_encrypted():
            return raw
        office.load_key(password=EXCEL_DEFAULT_KEY)
        plain = io.BytesIO()
        office.decrypt(plain)
    except FileFormatError:
        return raw  # not an OLE workbook; the reader says what it is
    except InvalidKeyError:
        raise DataError(
            f"source '{source}': {shown} is encrypted with a password of its own, not "
            "Excel's default key. Open it in Excel with the password and save an "
            "unprotected copy (and update its sha256)."
        ) from None
    except DecryptionError as error:
        raise DataError(
            f"source '{source}': {shown} is encrypted in a way this reader cannot open "
            f"({error}). Open it in Excel and save an unencrypted copy (and update its "
            "sha256)."
        ) from None
    except (OSError, ParseError, ValueError, IndexError, KeyError) as error:
        # olefile's errors are OSErrors ("incomplete OLE sector": a cut-off download).
        raise DataError(damaged_workbook(shown, source, error)) from None
    return plain.getvalue()


def damaged_workbook(shown: str, source: str, error: Exception) -> str:
    """The message for a workbook whose container is truncated or corrupt."""
    return (
        f"source '{source}': {shown} is truncated or damaged and cannot be read as a "
        f"workbook ({type(error).__name__}: {error}). Fetch it again and check that its "
        f"SHA256 matches data.sources.{source}.sha256."
    )


def _read_printed(raw: bytes, shown: str, spec: SourceSpec, limits: DataLimits) -> list[Sheet]:
    """Read a workbook's cells as printed (every sheet, or those configured) with calamine.

    Legacy .xls (decrypted in memory if protected with Excel's default key) and .xlsx.
    A legacy sheet's span is checked against the Excel caps once calamine has read it
    (the .xls format bounds that at 65,536 x 256 cells) and before Python copies a cell.
    """
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError

    source, wanted, kind = spec.name, spec.sheets, "." + EXTENSIONS[spec.format]

    try:
        workbook = CalamineWorkbook.from_filelike(
            io.BytesIO(decrypt_default_key(raw, shown, source))
        )
    except PasswordError:
        raise DataError(
            f"source '{source}': {shown} is protected with a password. Open it in Excel "
            "and save an unprotected copy (and update its sha256)."
        ) from None
    except CalamineError as error:
        raise DataError(
            f"source '{source}': {shown} is not a readable {kind} workbook ({error}): not an "
            "Excel file, or a truncated one. Check data.sources."
            f"{source}.format (xls for .xls, excel for .xlsx), and that the file's SHA256 "
            f"matches data.sources.{source}.sha256 (else fetch it again)."
        ) from None
    names = _sheet_names(list(workbook.sheet_names), wanted, shown, source)
    sheets = []
    for name in names:
        try:
            sheet = workbook.get_sheet_by_name(name)
        except CalamineError as error:
            raise DataError(damaged_workbook(f"{shown}, sheet '{name}'", source, error)) from None
        last_row, last_column = sheet.end or (-1, -1)
        try:
            check_extent(
                SheetExtent(name, last_row + 1, last_column + 1, (), 0), shown, source, limits
            )
        except WorkbookRefused as error:
            raise DataError(str(error)) from None
        grid = sheet.to_python(skip_empty_area=False)
        rows = [(n, [cell_text(v) for v in row]) for n, row in enumerate(grid, start=1)]
        sheets.append(Sheet(name, rows, merged_ranges=tuple(sheet.merged_cell_ranges or ())))
    return sheets


def _read_parquet(path: Path, shown: str, source: str, limits: DataLimits) -> Sheet:
    import pyarrow.parquet as pq
    from pyarrow import ArrowException

    try:
        metadata = pq.ParquetFile(path).metadata
        _check_cells(metadata.num_rows * metadata.num_columns, shown, source, limits)
        table = pq.read_table(path)
    except (ArrowException, OSError) as error:
        raise DataError(
            f"source '{source}': {shown} is not a readable parquet file ({error}). Check "
            f"data.sources.{source}.format."
        ) from None
    columns = table.column_names
    values = table.to_pydict()
    rows = [(1, list(columns))]
    rows += [
        (n, [cell_text(values[c][i]) for c in columns])
        for n, i in enumerate(range(table.num_rows), start=2)
    ]
    return Sheet(None, rows)


def _read_json(raw: bytes, shown: str, spec: SourceSpec, limits: DataLimits) -> Sheet:
    source = spec.name
    text = decode(raw, shown, spec.encoding, source)
    try:
        document = loads_bounded(text, limits.json_depth, limits.max_cells)
    except JsonTooLarge as error:
        raise DataError(
            f"source '{source}': {shown} {error}. Check that it is the data file meant "
            "(and its sha256), or raise the cap."
        ) from None
    except json.JSONDecodeError as error:
        raise DataError(
            f"source '{source}': {shown} is not valid JSON (line {error.lineno}, column "
            f"{error.colno}: {error.msg}). Check data.sources.{source}.format."
        ) from None
    if spec.kind == "api":
        try:
            header, body = document_table(document)
        except ApiError as error:
            raise DataError(f"source '{source}': {shown}: {error}") from None
        except (KeyError, TypeError, IndexError):
            raise DataError(
                f"source '{source}': {shown} is not an api document written by the fetch "
                "step. Delete it and run the fetch rule again."
            ) from None
        rows = [(1, list(header))] + [(n, row) for n, row in enumerate(body, start=2)]
        return Sheet(None, rows)
    if not (isinstance(document, list) and all(isinstance(r, dict) for r in document)):
        raise DataError(
            f"source '{source}': {shown} must be a JSON list of records (objects), one per "
            'unit-year, e.g. [{"city": "成都", "year": 2020, ...}].'
        )
    columns = list(dict.fromkeys(key for record in document for key in record))
    _check_cells(len(document) * len(columns), shown, source, limits)
    rows = [(1, list(columns))]
    rows += [
        (n, [cell_text(record.get(c)) for c in columns]) for n, record in enumerate(document, 2)
    ]
    return Sheet(None, rows)


def normalise_header_cell(cell: Cell) -> str:
    """Normalise one header cell: NFKC (full-width brackets), trimmed, inner spaces kept."""
    return "" if cell is None else unicodedata.normalize("NFKC", cell).strip()


def combine_header(rows: Sequence[Sequence[Cell]], units: Mapping[str, Any]) -> list[str]:
    """Join a header made of several rows into one header text per column.

    Per column, the non-empty texts from top to bottom are joined with a space
    (a text repeated from a vertically merged cell counts once). A last part that is
    only a known unit, ``亿元`` or ``(亿元)``, becomes the header's unit: ``name(亿元)``.
    """
    width = max((len(row) for row in rows), default=0)
    headers = []
    for column in range(width):
        parts: list[str] = []
        for row in rows:
            text = normalise_header_cell(row[column] if column < len(row) else None)
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        if len(parts) > 1:
            match = UNIT_ONLY.match(parts[-1])
            if match and match.group("unit") in units:
                parts = [" ".join(parts[:-1]) + f"({match.group('unit')})"]
        headers.append(" ".join(parts))
    return headers
