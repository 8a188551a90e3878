"""Publication tables: one table model, four renderings (LaTeX, Markdown, CSV, HTML).

A :class:`Table` is built once from results (``innopanel.exhibits.estimate_tables``,
``innopanel.exhibits.summary_tables``) and rendered by :func:`render_latex`,
:func:`render_markdown`, :func:`render_csv` and :func:`render_html`, so the paper, the
README and the report show the same numbers, stars and notes.

The LaTeX is a bare ``threeparttable`` (no float, no caption), so a paper wraps it in
its own ``table`` environment::

    \\begin{table}\\centering
      \\caption{...}\\label{...}
      \\input{regressions.tex}
    \\end{table}

It uses booktabs rules, siunitx ``S`` columns (numbers align on the decimal marker;
stars and parentheses hang outside the number, in space reserved for the widest, so
they never push a number off the axis), multi-panel headings (Panel A, Panel B) and
notes in ``tablenotes``. It compiles in a plain ``\\documentclass{article}`` that loads
only :data:`REQUIRED_LATEX_PACKAGES`. Every string is escaped (:func:`latex_escape`,
:func:`markdown_escape`, :func:`html.escape`); outputs depend only on the inputs.
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from innopanel.io import write_text

#: LaTeX packages a table needs, in the order to load them: booktabs for the rules,
#: threeparttable for the notes, siunitx for decimal alignment, array for the
#: wrapping (``p``) columns.
REQUIRED_LATEX_PACKAGES: tuple[str, ...] = ("booktabs", "threeparttable", "siunitx", "array")
#: The renderings :func:`write_table` writes, by output key.
FORMATS: tuple[str, ...] = ("tex", "md", "csv", "html")

# Layout: tables are set in \small with narrower column gaps so that a five-model
# table fits the text width of a plain article (both settings stay local to the
# threeparttable environment, as does \sisetup).
FONT_SIZE_COMMAND = r"\small"
TABCOLSEP = "3pt"
# Column titles are wrapped at spaces to about this many characters, or to the width
# of the column's widest entry if that is wider.
HEADER_WRAP_CHARS = 9
# Thousands are grouped from this many integer digits on (siunitx's
# group-minimum-digits), the same in every rendering.
GROUP_MINIMUM_DIGITS = 4
SISETUP = (
    r"\sisetup{group-digits=integer, group-separator={,}, "
    rf"group-minimum-digits={GROUP_MINIMUM_DIGITS}, "
    # Parentheses are text around a number, not siunitx's "uncertainty" syntax.
    r"input-open-uncertainty={}, input-close-uncertainty={}, "
    r"table-align-text-pre=false, table-align-text-post=false}"
)
PANEL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # Typographic characters mapped to plain LaTeX, so the output does not depend on
    # the engine's UTF-8 support for them.
    "\u2014": "---",  # em dash
    "\u2013": "--",  # en dash
    "\u2212": "$-$",  # minus sign
    "\u2018": "`",
    "\u2019": "'",
    "\u201c": "``",
    "\u201d": "''",
    "\u00a0": "~",  # no-break space
    "\u00b2": r"\textsuperscript{2}",
    "\u00d7": r"$\times$",
    "\u03c7": r"$\chi$",
    "\u2264": r"$\leq$",
    "\u2265": r"$\geq$",
    "\u2248": r"$\approx$",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_MARKDOWN_SPECIALS = set("\\`*_{}[]<>|#")


def latex_escape(text: object) -> str:
    """Return ``text`` with every LaTeX special character escaped.

    Handles ``\\ & % $ # _ { } ~ ^`` (and ``< >``, which OT1 fonts misprint), and maps
    dashes, curly quotes, the minus sign, ``²``, ``×``, ``χ`` and ``≤ ≥ ≈`` to LaTeX.
    """
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


def markdown_escape(text: object) -> str:
    """Return ``text`` with Markdown's emphasis, code, link and table characters escaped."""
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in str(text))


# --- cells, rows, panels, tables ----------------------------------------------------


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
    other renderings join the two parts on the first row.
    """

    label: str
    cells: tuple[Cell, ...]
    rule_above: bool = False
    label_continues: bool = False


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
    return "*" * sum(1 for threshold in thresholds if float(p_value) < float(threshold))


def plain_number(value: float | None, digits: int) -> str:
    """Format with ``digits`` decimals, ASCII minus, no grouping; "" when missing.

    A value that rounds to zero is shown without a sign.
    """
    if value is None or not _is_finite(value):
        return ""
    text = f"{float(value):.{digits}f}"
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


def _ordered_stars(thresholds: Sequence[float]) -> list[tuple[str, str]]:
    ordered = sorted((float(t) for t in thresholds), reverse=True)
    return [("*" * count, format_threshold(t)) for count, t in enumerate(ordered, start=1)]


def _number_text(cell: Number, style: str) -> str:
    """Render a number cell as text for Markdown ("md"), HTML ("html") or CSV ("csv")."""
    number = plain_number(cell.value, cell.digits) if style == "csv" else None
    if number is None:
        number = display_number(cell.value, cell.digits)
    if not number:
        return ""
    number = cell.comparator + number
    if cell.parentheses:
        number = f"({number})"
    if style == "html":
        number = html.escape(number)
        return number + (f"<sup>{cell.stars}</sup>" if cell.stars else "")
    if style == "md":
        return number + markdown_escape(cell.stars)
    return number + cell.stars


def _joined_labels(rows: Sequence[Row]) -> list[str]:
    """Row labels with continued labels joined onto the row they continue."""
    labels = [row.label for row in rows]
    for index, row in enumerate(rows):
        if row.label_continues and index > 0 and row.label:
            labels[index - 1] = f"{labels[index - 1]} {row.label}"
            labels[index] = ""
    return labels


def _cell_text(cell: Cell, style: str) -> str:
    if isinstance(cell, Number):
        return _number_text(cell, style)
    if style == "md":
        return markdown_escape(cell.text)
    if style == "html":
        return html.escape(cell.text)
    return cell.text


# --- LaTeX --------------------------------------------------------------------------


def _column_numbers(table: Table, index: int) -> list[Number]:
    return [
        cell
        for row in table.body_rows
        if isinstance(cell := row.cells[index], Number) and plain_number(cell.value, cell.digits)
    ]


def _siunitx_column(numbers: Sequence[Number], max_stars: int) -> str:
    """Return an ``S`` column whose table-format fits every number in it."""
    texts = [plain_number(n.value, n.digits) for n in numbers]
    negative = any(t.startswith("-") for t in texts)
    integers = max(len(t.lstrip("-").partition(".")[0]) for t in texts)
    decimals = max(len(t.partition(".")[2]) for t in texts)
    comparator = "<" if any(n.comparator for n in numbers) else ""
    options = [f"table-format={comparator}{'-' if negative else ''}{integers}.{decimals}"]
    if any(n.parentheses for n in numbers):
        options.append("table-space-text-pre={(}")
    if max_stars and any(n.stars for n in numbers):
        options.append(rf"table-space-text-post={{\textsuperscript{{{'*' * max_stars}}}}}")
    elif any(n.parentheses for n in numbers):
        options.append("table-space-text-post={)}")
    return "S[" + ", ".join(options) + "]"


def _wrap_words(text: str, width: int) -> list[str]:
    """Greedy word wrap; words are never split."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _column_chars(table: Table, index: int) -> int:
    """Width in characters of a column's widest body entry (to wrap its title to)."""
    widths = [len(_cell_text(row.cells[index], "csv")) for row in table.body_rows]
    return max(widths, default=0)


def _latex_header_cell(text: str, width: int, align: str = "c") -> str:
    lines = [latex_escape(line) for line in _wrap_words(text, width)]
    if len(lines) == 1:
        return rf"\multicolumn{{1}}{{{align}}}{{{lines[0]}}}"
    # A nested tabular stacks the lines, bottom-aligned, without needing any package.
    stacked = rf"\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}" + r"\\ ".join(lines) + r"\end{tabular}"
    return rf"\multicolumn{{1}}{{{align}}}{{{stacked}}}"


def _latex_cell(cell: Cell, numeric: bool) -> str:
    if isinstance(cell, Text):
        text = latex_escape(cell.text)
        if not text:
            return "{}" if numeric else ""
        return f"{{{text}}}" if numeric else text
    # Only a column without any number to show is not numeric, so this is "" there.
    number = plain_number(cell.value, cell.digits)
    if not number:
        return "{}" if numeric else ""
    number = cell.comparator + number
    if cell.parentheses:
        number = f"({number})"
    if cell.stars:
        number += rf"\textsuperscript{{{cell.stars}}}"
    return number


def _latex_row(label: str, cells: Sequence[str]) -> str:
    return " & ".join([label, *cells]) + r" \\"


def _latex_star_legend(stars: Sequence[float]) -> str:
    return ", ".join(rf"\textsuperscript{{{s}}}\,$p<{t}$" for s, t in _ordered_stars(stars)) + "."


def render_latex(table: Table) -> str:
    """Return the table as a bare ``threeparttable`` (booktabs, siunitx, tablenotes)."""
    n_columns = len(table.columns)
    max_stars = len(table.stars)
    numeric = [bool(_column_numbers(table, i)) for i in range(n_columns)]
    specs = []
    for index, column in enumerate(table.columns):
        if numeric[index]:
            specs.append(_siunitx_column(_column_numbers(table, index), max_stars))
        elif column.width:
            specs.append(rf">{{\raggedright\arraybackslash}}p{{{column.width}}}")
        else:
            specs.append("c")
    stub = rf">{{\raggedright\arraybackslash}}p{{{table.stub_width}}}" if table.stub_width else "l"

    lines = [
        f"% Table '{table.name}' generated by innopanel.exhibits.tables; do not edit by hand.",
        "% Needs: " + ", ".join(REQUIRED_LATEX_PACKAGES) + ".",
        r"\begin{threeparttable}",
        FONT_SIZE_COMMAND,
        rf"\setlength{{\tabcolsep}}{{{TABCOLSEP}}}",
        SISETUP,
        r"\begin{tabular}{@{}" + stub + "".join(specs) + "@{}}",
        r"\toprule",
    ]
    # A wrapping (p) column wraps its title itself; others are wrapped here.
    wraps = [
        10**6 if column.width else max(HEADER_WRAP_CHARS, _column_chars(table, i))
        for i, column in enumerate(table.columns)
    ]
    aligns = ["l" if column.width else "c" for column in table.columns]
    for label, texts in [
        (table.stub_header, [c.title for c in table.columns]),
        *((row.label, [_cell_text(c, "csv") for c in row.cells]) for row in table.header_rows),
    ]:
        cells = [
            _latex_header_cell(text, wrap, align) if text else ""
            for text, wrap, align in zip(texts, wraps, aligns, strict=True)
        ]
        lines.append(_latex_row(latex_escape(label), cells))
    lines.append(r"\midrule")
    for index, panel in enumerate(table.panels):
        heading = table.panel_heading(index)
        if index > 0:
            lines.append(r"\midrule")
        if heading:
            lines.append(
                rf"\multicolumn{{{n_columns + 1}}}{{@{{}}l}}"
                rf"{{\textit{{{latex_escape(heading)}}}}} \\"
            )
            lines.append(r"\addlinespace[2pt]")
        for row in panel.rows:
            if row.rule_above:
                lines.append(r"\midrule")
            cells = [_latex_cell(cell, numeric[i]) for i, cell in enumerate(row.cells)]
            lines.append(_latex_row(latex_escape(row.label), cells))
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    paragraphs = [latex_escape(" ".join(str(note).split())) for note in table.notes]
    if max_stars:
        legend = _latex_star_legend(table.stars)
        paragraphs = [f"{paragraphs[0]} {legend}" if paragraphs else legend, *paragraphs[1:]]
    if paragraphs:
        lines.append(r"\begin{tablenotes}[flushleft]")
        # Ragged right: justified notes under a narrow table leave wide gaps.
        lines.append(r"\footnotesize\raggedright")
        lines.append(r"\item \textit{Notes:} " + paragraphs[0])
        lines.extend(r"\item " + paragraph for paragraph in paragraphs[1:])
        lines.append(r"\end{tablenotes}")
    lines.append(r"\end{threeparttable}")
    return "\n".join(lines) + "\n"


# --- Markdown, CSV, HTML ------------------------------------------------------------


def _plain_star_legend(stars: Sequence[float], style: str) -> str:
    parts = []
    for symbol, threshold in _ordered_stars(stars):
        if style == "md":
            symbol = markdown_escape(symbol)
        elif style == "html":
            symbol = f"<sup>{symbol}</sup>"
        parts.append(f"{symbol} p < {threshold}")
    return ", ".join(parts) + "."


def _note_paragraphs(table: Table, style: str) -> list[str]:
    escape = {"md": markdown_escape, "html": html.escape}.get(style, str)
    paragraphs = [escape(" ".join(str(note).split())) for note in table.notes]
    if table.stars:
        legend = _plain_star_legend(table.stars, style)
        paragraphs = [f"{paragraphs[0]} {legend}" if paragraphs else legend, *paragraphs[1:]]
    if paragraphs:
        paragraphs[0] = ("*Notes:* " if style == "md" else "Notes: ") + paragraphs[0]
        if style == "html":
            paragraphs[0] = "<em>Notes:</em> " + paragraphs[0][len("Notes: ") :]
    return paragraphs


def render_markdown(table: Table) -> str:
    """Return the table as a GitHub-flavoured Markdown table followed by its notes."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    numeric = [bool(_column_numbers(table, i)) for i in range(len(table.columns))]
    lines = [
        line(
            [markdown_escape(table.stub_header), *(markdown_escape(c.title) for c in table.columns)]
        ),
        line(["---", *("---:" if n else ":---:" for n in numeric)]),
    ]
    for row in table.header_rows:
        lines.append(
            line(
                [
                    markdown_escape(row.label),
                    *(f"*{_cell_text(c, 'md')}*" if _cell_text(c, "md") else "" for c in row.cells),
                ]
            )
        )
    for index, panel in enumerate(table.panels):
        heading = table.panel_heading(index)
        if heading:
            lines.append(line([f"**{markdown_escape(heading)}**", *([""] * len(table.columns))]))
        for row, label in zip(panel.rows, _joined_labels(panel.rows), strict=True):
            lines.append(line([markdown_escape(label), *(_cell_text(c, "md") for c in row.cells)]))
    notes = _note_paragraphs(table, "md")
    return "\n".join(lines) + "\n" + "".join(f"\n{note}\n" for note in notes)


def render_csv(table: Table) -> str:
    """Return the table as CSV: the displayed cells, then one "Note" row per note.

    Numbers keep their displayed decimals, stars and parentheses but use an ASCII
    minus and no thousands separators; a ``panel`` column is added when the table has
    panel headings.
    """
    with_panel = any(table.panel_heading(i) for i in range(len(table.panels)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    prefix = ["panel"] if with_panel else []
    writer.writerow([*prefix, table.stub_header or "row", *(c.title for c in table.columns)])
    for row in table.header_rows:
        writer.writerow(
            [*([""] if with_panel else []), row.label, *(_cell_text(c, "csv") for c in row.cells)]
        )
    for index, panel in enumerate(table.panels):
        heading = [table.panel_heading(index)] if with_panel else []
        for row, label in zip(panel.rows, _joined_labels(panel.rows), strict=True):
            writer.writerow([*heading, label, *(_cell_text(c, "csv") for c in row.cells)])
    for note in _note_paragraphs(table, "csv"):
        writer.writerow([*([""] if with_panel else []), "Note", note])
    return buffer.getvalue()


HTML_STYLE = (
    "body{font-family:Georgia,serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;border-top:2px solid #222;border-bottom:2px solid #222}"
    "th,td{padding:2px 10px;white-space:nowrap}"
    "thead tr:last-child th{border-bottom:1px solid #222}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}td.t{text-align:center}"
    "th.stub,td.stub{text-align:left}tr.rule td{border-top:1px solid #222}"
    "tr.panel td{font-style:italic;padding-top:8px}"
    ".notes{max-width:48em;font-size:90%}"
)


def render_html(table: Table, title: str = "") -> str:
    """Return a self-contained HTML page holding the table and its notes."""
    numeric = [bool(_column_numbers(table, i)) for i in range(len(table.columns))]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title or table.name)}</title>",
        f"<style>{HTML_STYLE}</style></head><body>",
        "<table>",
        "<thead>",
        '<tr><th class="stub">'
        + html.escape(table.stub_header)
        + "</th>"
        + "".join(f"<th>{html.escape(c.title)}</th>" for c in table.columns)
        + "</tr>",
    ]
    for row in table.header_rows:
        out.append(
            f'<tr><th class="stub">{html.escape(row.label)}</th>'
            + "".join(f"<th>{_cell_text(c, 'html')}</th>" for c in row.cells)
            + "</tr>"
        )
    out.append("</thead>")
    for index, panel in enumerate(table.panels):
        out.append("<tbody>")
        heading = table.panel_heading(index)
        if heading:
            css = ' class="panel rule"' if index > 0 else ' class="panel"'
            out.append(
                f'<tr{css}><td class="stub" colspan="{len(table.columns) + 1}">'
                f"{html.escape(heading)}</td></tr>"
            )
        for row, label in zip(panel.rows, _joined_labels(panel.rows), strict=True):
            css = ' class="rule"' if row.rule_above else ""
            cells = "".join(
                f'<td class="{"n" if numeric[i] and isinstance(c, Number) else "t"}">'
                f"{_cell_text(c, 'html')}</td>"
                for i, c in enumerate(row.cells)
            )
            out.append(f'<tr{css}><td class="stub">{html.escape(label)}</td>{cells}</tr>')
        out.append("</tbody>")
    out.append("</table>")
    notes = _note_paragraphs(table, "html")
    if notes:
        out.append('<div class="notes">' + "".join(f"<p>{n}</p>" for n in notes) + "</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


RENDERERS = {"tex": render_latex, "md": render_markdown, "csv": render_csv, "html": render_html}


def write_table(table: Table, destinations: Mapping[str, str | os.PathLike[str]]) -> None:
    """Write ``table`` atomically in each format named in ``destinations`` (tex, md, csv, html)."""
    unknown = sorted(set(destinations) - set(RENDERERS))
    if unknown:
        raise ValueError(f"unknown table format(s) {unknown}; use {list(FORMATS)}.")
    for key, destination in destinations.items():
        write_text(destination, RENDERERS[key](table))
