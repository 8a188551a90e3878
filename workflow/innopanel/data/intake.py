"""Intake checks: what a source may make the pipeline read, checked before it is loaded.

The ``data.limits`` caps (a file's size, an archive member's size and inflation ratio,
a worksheet's span) and an .xlsx workbook's package. Readers allocate a sheet's whole
span, so a 63 KB file with one cell at XFD1048576 fills the memory, and a zip member
that inflates to gigabytes does too; a formula cell saved without its value reads as an
empty cell, i.e. a silently missing number. :func:`check_workbook` streams each sheet's
XML once (after the archive caps are checked) and refuses all three with the sheet,
the cell and the fix; a part with a DTD (an entity-expansion bomb) or malformed XML is
refused naming the part (:mod:`innopanel.data.sheet_xml`). Only the standard library is
imported (the fetch step uses this).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from innopanel.config.data_specs import DataLimits
from innopanel.data.sheet_xml import XmlRefused, refuse_dtd, scan_sheet

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class WorkbookRefused(ValueError):
    """The workbook must not be loaded; the message names the source, sheet and fix.

    The reader raises it again as its DataError (this module is imported by it).
    """


@dataclass(frozen=True)
class SheetExtent:
    """How far one worksheet reaches, and its formula cells saved without a value."""

    name: str
    rows: int
    columns: int
    # The first few formula cells without a value, and how many there are.
    formulas_without_values: tuple[str, ...]
    formulas_missing: int


def file_size_problem(source: str, path: Path, shown: str, limits: DataLimits) -> str | None:
    """Why a file is too big to read (``data.limits.max_file_bytes``), or None."""
    size = path.stat().st_size
    if size <= limits.max_file_bytes:
        return None
    return (
        f"source '{source}': {shown} is {size} bytes, over the cap of {limits.max_file_bytes} "
        "(data.limits.max_file_bytes). Raise the cap if this size is expected."
    )


def member_size_problem(
    member: str, inflated: int, compressed: int, shown: str, source: str, limits: DataLimits
) -> str | None:
    """Why an archive member must not be inflated (over the size or ratio cap), or None."""
    if inflated > limits.archive_max_member_bytes:
        return (
            f"source '{source}': {shown} member '{member}' inflates to {inflated} bytes, over "
            f"the cap of {limits.archive_max_member_bytes} (data.limits.archive_max_member_bytes)"
            ". Raise the cap if this size is expected."
        )
    ratio = inflated / max(compressed, 1)
    # Small members may compress far (a sheet of blanks); only big ones can exhaust memory.
    if inflated > 1 << 20 and ratio > limits.archive_max_ratio:
        return (
            f"source '{source}': {shown} member '{member}' inflates {ratio:.0f}-fold, over the "
            f"cap of {limits.archive_max_ratio:g} (data.limits.archive_max_ratio): a zip bomb, "
            "or a very repetitive file. Raise the cap if this is expected."
        )
    return None


def _sheet_paths(bundle: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet name -> its XML member, from the workbook and its relationships."""
    workbook = ElementTree.fromstring(bundle.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(bundle.read("xl/_rels/workbook.xml.rels"))
    targets = {
        r.get("Id"): r.get("Target", "")
        for r in relations.iter(f"{PACKAGE_RELATIONSHIPS}Relationship")
    }
    paths = {}
    for sheet in workbook.iter(f"{MAIN}sheet"):
        target = targets.get(sheet.get(f"{RELATIONSHIPS}id"), "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl", target))
        paths[sheet.get("name", "")] = member
    return paths


def _extent(bundle: zipfile.ZipFile, name: str, member: str) -> SheetExtent:
    with bundle.open(member) as stream:
        scan = scan_sheet(stream)
    return SheetExtent(
        name, scan.rows, scan.columns, scan.formulas_without_values, scan.formulas_missing
    )


def check_workbook(raw: bytes, shown: str, source: str, limits: DataLimits) -> None:
    """Refuse an .xlsx whose package, span or formulas would mislead or exhaust a reader.

    Not an .xlsx (a legacy .xls, or not a zip): nothing to check here; the reader says
    what it is.
    """
    try:
        bundle = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        return
    with bundle:
        for info in bundle.infolist():
            problem = member_size_problem(
                info.filename, info.file_size, info.compress_size, shown, source, limits
            )
            if problem is not None:
                raise WorkbookRefused(problem)
        for info in bundle.infolist():
            if info.filename.endswith((".xml", ".rels")):
                with bundle.open(info) as stream, _xml_refused(info.filename, shown, source):
                    refuse_dtd(stream)
        try:
            paths = _sheet_paths(bundle)
        except (KeyError, ElementTree.ParseError):
            return  # not a workbook package; the reader names the problem
        for name, member in paths.items():
            if member not in bundle.namelist():
                continue
            with _xml_refused(member, shown, source):
                extent = _extent(bundle, name, member)
            check_extent(extent, shown, source, limits)


@contextmanager
def _xml_refused(member: str, shown: str, source: str) -> Iterator[None]:
    """Turn a DTD or malformed XML met in a part into a refusal naming the part and fix."""
    try:
        yield
    except XmlRefused as error:
        raise WorkbookRefused(
            f"source '{source}': {shown} part '{member}' {error}. Open the file in Excel or "
            "LibreOffice and save it again (and update its sha256), or fetch it again."
        ) from None


def check_extent(extent: SheetExtent, shown: str, source: str, limits: DataLimits) -> None:
    """Refuse a sheet over the ``data.limits`` Excel caps, or with formulas saved
    without values, naming the sheet and the fix."""
    where = f"source '{source}': {shown}, sheet '{extent.name}'"
    cells = extent.rows * extent.columns
    for size, cap, key in (
        (extent.rows, limits.excel_max_rows, "excel_max_rows"),
        (extent.columns, limits.excel_max_columns, "excel_max_columns"),
        (cells, limits.excel_max_cells, "excel_max_cells"),
    ):
        if size > cap:
            raise WorkbookRefused(
                f"{where} spans {extent.rows} rows x {extent.columns} columns ({cells} "
                f"cells), over data.limits.{key} = {cap}. A stray far cell? Delete the "
                "empty rows and columns after the table in a copy of the file, or raise the cap."
            )
    if extent.formulas_missing:
        shown_cells = ", ".join(extent.formulas_without_values)
        raise WorkbookRefused(
            f"{where}: {extent.formulas_missing} formula cell(s) ({shown_cells}) "
            "have no saved value, so they would read as empty. Open the file in Excel or "
            "LibreOffice, let it calculate, and save it (and update its sha256); or save "
            "the sheet as values."
        )
