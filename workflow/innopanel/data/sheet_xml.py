"""Stream the XML parts of an .xlsx workbook in bounded memory, before any reader loads it.

Expat is fed fixed-size chunks and answers through handlers, so memory stays the same
whatever a part's size. A DTD (the only place entities are declared, hence the only way
to an entity-expansion bomb) is refused before anything expands. A sheet's span is
measured from every cell, as Excel places them: a ``<c>`` without ``r=`` is the column
after the previous cell, a ``<row>`` without ``r=`` the row after the previous row, so a
far cell is measured whether or not it says where it is. Only the standard library is
imported (the fetch step uses this, through :mod:`innopanel.data.intake`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# Readers take a lower-case or $-anchored reference as well, so the scan must too.
CELL_REFERENCE = re.compile(r"^\$?(?P<column>[A-Za-z]{1,3})\$?(?P<row>\d+)$")
CHUNK_BYTES = 1 << 16
# Formula cells kept for a message, at most (all are counted).
KEPT_CELLS = 5


class XmlRefused(ValueError):
    """A part holds a DTD or is not well-formed XML; the message says which and where."""


class _RootReached(Exception):
    """The prolog is over: no DTD can follow."""


@dataclass(frozen=True)
class SheetScan:
    """How far a worksheet reaches, and its formula cells saved without a value."""

    rows: int
    columns: int
    # The first few such cells (e.g. "B7"), and how many there are.
    formulas_without_values: tuple[str, ...]
    formulas_missing: int


def column_number(letters: str) -> int:
    """The 1-based number of a column's letters: A -> 1, AB -> 28."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    """The letters of a 1-based column number: 1 -> A, 28 -> AB."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _refuse_doctype(name: str, *_: object) -> None:
    raise XmlRefused(
        f"declares a DTD (<!DOCTYPE {name}>), which can define entities that expand "
        "without bound; a workbook part never needs one"
    )


def _new_parser() -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    return parser


def _feed(parser: expat.XMLParserType, stream: IO[bytes]) -> None:
    """Parse a whole stream chunk by chunk; malformed XML becomes :class:`XmlRefused`."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        raise XmlRefused(
            f"is not well-formed XML (line {error.lineno}, column {error.offset}: "
            f"{expat.ErrorString(error.code)})"
        ) from None


def refuse_dtd(stream: IO[bytes]) -> None:
    """Read a part's prolog (up to its root element) and refuse a DTD in it."""
    parser = _new_parser()

    def root_reached(*_: object) -> None:
        raise _RootReached

    parser.StartElementHandler = root_reached
    try:
        _feed(parser, stream)
    except _RootReached:
        return


def scan_sheet(stream: IO[bytes]) -> SheetScan:
    """Measure a worksheet part: its last row and column, and formulas without a value."""
    parser = _new_parser()
    state = {"row": 0, "column": 0, "rows": 0, "columns": 0, "missing": 0}
    cell: dict[str, object] = {}
    kept: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == MAIN + "row":
            given = attributes.get("r", "")
            state["row"] = int(given) if given.isdigit() else state["row"] + 1
            state["column"] = 0
        elif name == MAIN + "c":
            match = CELL_REFERENCE.match(attributes.get("r", ""))
            if match:
                state["column"] = column_number(match["column"].upper())
                row = int(match["row"])
            else:
                state["column"] += 1
                row = state["row"]
            state["rows"] = max(state["rows"], row)
            state["columns"] = max(state["columns"], state["column"])
            cell.update(ref=f"{column_letters(state['column'])}{row}", formula=False, value=False)
        elif name == MAIN + "f" and cell:
            cell["formula"] = True
        elif name == MAIN + "v" and cell:
            cell["in_value"] = True

    def text(data: str) -> None:
        if cell.get("in_value") and data.strip():
            cell["value"] = True

    def end(name: str) -> None:
        if name == MAIN + "v":
            cell["in_value"] = False
        elif name == MAIN + "c":
            if cell.get("formula") and not cell.get("value"):
                state["missing"] += 1
                if len(kept) < KEPT_CELLS:
                    kept.append(str(cell["ref"]))
            cell.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    _feed(parser, stream)
    return SheetScan(state["rows"], state["columns"], tuple(kept), state["missing"])
