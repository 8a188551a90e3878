"""The table model: a publication table independent of its rendering, and how its
numbers are shown.

A :class:`Table` is built once from results (``innopanel.exhibits.estimate_tables``,
``innopanel.exhibits.summary_tables``) and rendered by
:func:`innopanel.exhibits.latex_tables.render_latex` and the Markdown, CSV and HTML
renderings of :mod:`innopanel.exhibits.text_tables`, so the paper, the README and the
report show the same numbers, stars and notes. The number formats here are the ones
every rendering shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Thousands are grouped from this many integer digits on (siunitx's
# group-minimum-digits), the same in every rendering.
GROUP_MINIMUM_DIGITS = 4
PANEL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Text:
    """A text cell: centred in a numeric column, as is everywhere else."""

    text: str


@dataclass(frozen=True)
class Number:
    """A number shown with ``digits`` decimals, optional stars and parentheses.

    A missing (``None`` or NaN) value is an empty cell.
    """

    value: float | None
    digits: int
    stars: str = ""
    parentheses: bool = False
    #: "<" shows a bound, e.g. p < 0.001 (siunitx aligns it as a comparator).
    comparator: str = ""


Cell = Text | Number


@dataclass(frozen=True)
class Row:
    """A labelled row; ``rule_above`` draws a ``\\midrule`` before it.

    ``label_continues`` marks a label that continues the previous row's (a long
    variable label split over its coefficient and standard-error rows in LaTeX); the
    other renderings join the two parts on the first row. In a ``span`` row, adjacent
    equal cells are one cell across their columns in LaTeX and HTML (a dependent
    variable shared by several models is named once); Markdown and CSV, which cannot
    span, repeat it in each column.
    """

    label: str
    cells: tuple[Cell, ...]
    rule_above: bool = False
    label_continues: bool = False
    span: bool = False

    def runs(self) -> list[tuple[Cell, int]]:
        """Return (cell, number of columns) pairs: equal neighbours merged in a span row."""
        runs: list[tuple[Cell, int]] = []
        for cell in self.cells:
            if self.span and runs and runs[-1][0] == cell:
                runs[-1] = (cell, runs[-1][1] + 1)
            else:
                runs.append((cell, 1))
        return runs


@dataclass(frozen=True)
class Panel:
    """A block of rows; in a multi-panel table it is headed "Panel A: <title>"."""

    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Column:
    """A column title; ``width`` (a LaTeX length) makes a text column wrap."""

    title: str
    width: str | None = None


@dataclass(frozen=True)
class Table:
    """A publication table, independent of its rendering.

    ``header_rows`` are further header lines under the column titles (column numbers,
    the standard-error type); ``notes`` are plain-text paragraphs, the first of which
    is headed "Notes:" and gets the star legend when ``stars`` are given.
    """

    name: str
    columns: tuple[Column, ...]
    panels: tuple[Panel, ...]
    header_rows: tuple[Row, ...] = ()
    notes: tuple[str, ...] = ()
    stars: tuple[float, ...] = ()
    stub_header: str = ""
    stub_width: str | None = None

    def __post_init__(self) -> None:
        n_columns = len(self.columns)
        for row in (*self.header_rows, *(r for p in self.panels for r in p.rows)):
            if len(row.cells) != n_columns:
                raise ValueError(
                    f"table '{self.name}': row '{row.label}' has {len(row.cells)} cells "
                    f"for {n_columns} columns."
                )

    @property
    def body_rows(self) -> list[Row]:
        return [row for panel in self.panels for row in panel.rows]

    def panel_heading(self, index: int) -> str:
        """Return "Panel A: <title>" in a multi-panel table, else the title (maybe "")."""
        title = self.panels[index].title
        if len(self.panels) == 1:
            return title
        return (
            f"Panel {PANEL_LETTERS[index]}: {title}" if title else f"Panel {PANEL_LETTERS[index]}"
        )


def table_notes(sentences: Sequence[str], data_note: str | None) -> tuple[str, ...]:
    """Return a table's note paragraphs: the sentences, then the data note if any."""
    paragraphs = [" ".join(sentences)]
    if data_note and str(data_note).strip():
        paragraphs.append(str(data_note))
    return tuple(paragraphs)


# --- numbers ------------------------------------------------------------------------


# Values are rounded to this many significant digits before display rounding or a star
# threshold, so that floating-point noise between processors (about 1e-10 relative,
# see the README's reproducibility policy) cannot flip a displayed digit or a star.
STABLE_SIGNIFICANT_DIGITS = 10


def stable(value: Any) -> float:
    """Return ``value`` rounded to :data:`STABLE_SIGNIFICANT_DIGITS` significant digits."""
    return float(f"{float(value):.{STABLE_SIGNIFICANT_DIGITS}g}")


def _is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def significance_stars(p_value: float | None, thresholds: Sequence[float]) -> str:
    """Return one star per threshold that ``p_value`` is strictly below.

    With ``thresholds = [0.10, 0.05, 0.01]``: p < 0.01 → ``***``, p < 0.05 → ``**``,
    p < 0.10 → ``*``; a p-value exactly at a threshold does not earn its star.
    A missing p-value earns none.
    """
    if p_value is None or not _is_finite(p_value):
        return ""
    return "*" * sum(1 for threshold in thresholds if stable(p_value) < float(threshold))


def plain_number(value: float | None, digits: int) -> str:
    """Format with ``digits`` decimals, ASCII minus, no grouping; "" when missing.

    A value that rounds to zero is shown without a sign.
    """
    if value is None or not _is_finite(value):
        return ""
    text = f"{stable(value):.{digits}f}"
    if text.startswith("-") and set(text[1:]) <= {"0", "."}:
        return text[1:]
    return text


def display_number(value: float | None, digits: int) -> str:
    """Format for reading: :func:`plain_number` with thousands grouped and a true minus."""
    text = plain_number(value, digits)
    if not text:
        return ""
    sign, text = ("\u2212", text[1:]) if text.startswith("-") else ("", text)
    integer, _, decimals = text.partition(".")
    if len(integer) >= GROUP_MINIMUM_DIGITS:
        integer = f"{int(integer):,}"
    return sign + integer + ("." + decimals if decimals else "")


def format_count(value: float | None) -> str:
    """Format a count (observations, units) with thousands separators; "" when missing."""
    if value is None or not _is_finite(value):
        return ""
    return display_number(round(float(value)), 0)


def format_threshold(threshold: float) -> str:
    """Format a p-value threshold with at least two decimals (0.10, 0.05, 0.001)."""
    text = f"{float(threshold):.10f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return f"{float(threshold):.{max(2, decimals)}f}"


def ordered_stars(thresholds: Sequence[float]) -> list[tuple[str, str]]:
    """Return (stars, threshold text) pairs, one star for the largest threshold."""
    ordered = sorted((float(t) for t in thresholds), reverse=True)
    return [("*" * count, format_threshold(t)) for count, t in enumerate(ordered, start=1)]


def decorated_number(cell: Number, display: bool) -> str:
    """Return the cell's number with its comparator and parentheses, without stars;
    "" when missing. ``display`` groups thousands and uses a true minus
    (:func:`display_number`), else the number is :func:`plain_number`."""
    number = (
        display_number(cell.value, cell.digits)
        if display
        else plain_number(cell.value, cell.digits)
    )
    if not number:
        return ""
    number = cell.comparator + number
    if cell.parentheses:
        number = f"({number})"
    return number


def plain_cell_text(cell: Cell) -> str:
    """Return a cell as plain text: numbers with an ASCII minus, no grouping, stars appended."""
    if isinstance(cell, Number):
        number = decorated_number(cell, display=False)
        return number + cell.stars if number else ""
    return cell.text


def column_numbers(table: Table, index: int) -> list[Number]:
    """Return the body cells of column ``index`` that show a number."""
    return [
        cell
        for row in table.body_rows
        if isinstance(cell := row.cells[index], Number) and plain_number(cell.value, cell.digits)
    ]


def numeric_columns(table: Table) -> list[bool]:
    """Return, per column, whether it shows any number (and so aligns numbers)."""
    return [bool(column_numbers(table, index)) for index in range(len(table.columns))]
