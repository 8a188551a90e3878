"""Numbers quoted in the README and docs/, tied to the output file they come from.

A quoted number is written between two HTML comments, which Markdown renderers hide::

    a slope of <!--q reference/china_provinces/estimates/estimates.csv;
    model=twoway_fe,term=rd_intensity:estimate; .3f-->0.080<!--/q-->

The opening comment names, separated by ``;`` (a ``|`` would split a table's cell),
the file (relative to the repository root), what to read in it and how to print it. In
a CSV, ``column=value,...`` picks exactly one row and ``:column`` the cell; in a JSON
file a dotted path picks the value, and a last key ``#`` counts a list's items. The format is a
Python format specification; a leading minus prints as "−". :func:`check` lists every
quote whose text no longer matches its source, so prose cannot drift from the outputs;
:func:`update` rewrites the quoted texts from their sources.

Usage: ``python -m innopanel.reproducibility.quotes [--write] FILE...``
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

QUOTE = re.compile(
    r"<!--q\s+(?P<file>[^;]+?)\s*;\s*(?P<selector>[^;]+?)\s*;\s*(?P<spec>[^;]*?)\s*-->"
    r"(?P<shown>.*?)<!--/q-->",
    flags=re.S,
)
MINUS = "\N{MINUS SIGN}"


class QuoteError(ValueError):
    """A quote names a file, row or value that does not exist."""


@dataclass(frozen=True)
class Quote:
    """One quoted number: where it stands, what it shows and where it comes from."""

    document: Path
    line: int
    file: str
    selector: str
    spec: str
    shown: str

    def where(self) -> str:
        return f"{self.document}:{self.line}"


def quotes_in(document: Path) -> list[Quote]:
    """Every quote of ``document``, in order."""
    text = document.read_text(encoding="utf-8")
    return [
        Quote(
            document,
            text.count("\n", 0, match.start()) + 1,
            match["file"],
            match["selector"],
            match["spec"],
            match["shown"],
        )
        for match in QUOTE.finditer(text)
    ]


@cache
def _csv_rows(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@cache
def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def source_value(root: Path, file: str, selector: str) -> Any:
    """The value ``selector`` picks in ``root / file``."""
    path = root / file
    if not path.is_file():
        raise QuoteError(f"{file}: no such file (regenerate it, or fix the quote)")
    if path.suffix == ".json":
        value = _json(path)
        for key in selector.split("."):
            if key == "#" and isinstance(value, list):
                value = len(value)
                continue
            try:
                value = value[int(key)] if isinstance(value, list) else value[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise QuoteError(f"{file}: no value at {selector!r} (no {key!r})") from None
        return value
    if path.suffix == ".csv":
        conditions, _, column = selector.rpartition(":")
        wanted = dict(pair.split("=", 1) for pair in conditions.split(",") if pair)
        rows = [
            row
            for row in _csv_rows(path)
            if all(row.get(key) == value for key, value in wanted.items())
        ]
        if len(rows) != 1:
            raise QuoteError(f"{file}: {len(rows)} rows match {conditions!r}, not exactly one")
        if column not in rows[0]:
            raise QuoteError(f"{file}: no column {column!r}")
        return rows[0][column]
    raise QuoteError(f"{file}: quotes read .csv or .json files only")


def render(value: Any, spec: str) -> str:
    """``value`` printed by the format ``spec``, with a typographic minus."""
    if isinstance(value, str) and spec:
        value = float(value)
    if spec.endswith("d") and isinstance(value, float):
        if not value.is_integer():
            raise QuoteError(f"{value!r} is not a whole number, but the format is {spec!r}")
        value = int(value)
    text = format(value, spec)
    return MINUS + text[1:] if text.startswith("-") else text


def expected(quote: Quote, root: Path) -> str:
    return render(source_value(root, quote.file, quote.selector), quote.spec)


def check(documents: Iterable[Path], root: Path) -> list[str]:
    """One line per quote whose text differs from its source, or whose source is gone."""
    problems = []
    for document in documents:
        for quote in quotes_in(document):
            try:
                value = expected(quote, root)
            except QuoteError as error:
                problems.append(f"{quote.where()}: {error}")
                continue
            if value != quote.shown:
                problems.append(
                    f"{quote.where()}: says {quote.shown!r}, {quote.file} gives {value!r}"
                )
    return problems


def update(document: Path, root: Path) -> int:
    """Rewrite every quote of ``document`` from its source; the number changed."""
    text = document.read_text(encoding="utf-8")
    changed = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal changed
        value = render(source_value(root, match["file"], match["selector"]), match["spec"])
        changed += value != match["shown"]
        return match.group(0).replace(f"-->{match['shown']}<!--/q-->", f"-->{value}<!--/q-->")

    text = QUOTE.sub(replace, text)
    if changed:
        document.write_text(text, encoding="utf-8")
    return changed


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", nargs="+", type=Path)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--write", action="store_true", help="rewrite quotes from sources")
    options = parser.parse_args(arguments)
    if options.write:
        for document in options.documents:
            print(f"{document}: {update(document, options.root)} quotes rewritten")
        return 0
    problems = check(options.documents, options.root)
    print("\n".join(problems) or "every quoted number matches its source")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
