"""The LaTeX rendering of a table: a bare ``threeparttable`` (no float, no caption), so a
paper wraps it in its own ``table`` environment::

    \\begin{table}\\centering
      \\caption{...}\\label{...}
      \\input{regressions.tex}
    \\end{table}

It uses booktabs rules, siunitx ``S`` columns (numbers align on the decimal marker;
stars and parentheses hang outside the number, in space reserved for the widest, so
they never push a number off the axis), multi-panel headings (Panel A, Panel B) and
notes in ``tablenotes``. It compiles in a plain ``\\documentclass{article}`` that loads
only :data:`REQUIRED_LATEX_PACKAGES`. Every string is escaped (:func:`latex_escape`);
the output depends only on the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from innopanel.exhibits.table_model import (
    GROUP_MINIMUM_DIGITS,
    Cell,
    Number,
    Row,
    Table,
    Text,
    column_numbers,
    decorated_number,
    numeric_columns,
    ordered_stars,
    plain_cell_text,
    plain_number,
)

#: LaTeX packages a table needs, in the order to load them: booktabs for the rules,
#: threeparttable for the notes, siunitx for decimal alignment, array for the
#: wrapping (``p``) columns.
REQUIRED_LATEX_PACKAGES: tuple[str, ...] = ("booktabs", "threeparttable", "siunitx", "array")

# Layout: tables are set in \small with narrower column gaps so that a five-model
# table fits the text width of a plain article (both settings stay local to the
# threeparttable environment, as does \sisetup).
FONT_SIZE_COMMAND = r"\small"
TABCOLSEP = "3pt"
# Column titles are wrapped at spaces to about this many characters, or to the width
# of the column's widest entry if that is wider.
HEADER_WRAP_CHARS = 9
SISETUP = (
    r"\sisetup{group-digits=integer, group-separator={,}, "
    rf"group-minimum-digits={GROUP_MINIMUM_DIGITS}, "
    # Parentheses are text around a number, not siunitx's "uncertainty" syntax.
    r"input-open-uncertainty={}, input-close-uncertainty={}, "
    r"table-align-text-pre=false, table-align-text-post=false}"
)

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
    # OT1 fonts print "|" as an em dash: the bar is set in math.
    "|": r"$|$",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: object) -> str:
    """Return ``text`` with every LaTeX special character escaped.

    Handles ``\\ & % $ # _ { } ~ ^`` (and ``< > |``, which OT1 fonts misprint), and maps
    dashes, curly quotes, the minus sign, ``²``, ``×``, ``χ`` and ``≤ ≥ ≈`` to LaTeX.
    """
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


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
    """Width in characters of a column's widest body entry (to wrap its title to); a
    span row's text wraps to the columns, so it does not count."""
    widths = [len(plain_cell_text(row.cells[index])) for row in table.body_rows if not row.span]
    return max(widths, default=0)


def _latex_header_cell(
    text: str, width: int, align: str = "c", columns: int = 1, anchor: str = "b"
) -> str:
    """A cell across ``columns`` columns, wrapped at ``width`` characters; its lines
    stack bottom-aligned in a header (``anchor`` "b") and top-aligned in the body ("t")."""
    lines = [latex_escape(line) for line in _wrap_words(text, width)]
    if len(lines) == 1:
        return rf"\multicolumn{{{columns}}}{{{align}}}{{{lines[0]}}}"
    # A nested tabular stacks the lines without needing any package.
    stacked = (
        rf"\begin{{tabular}}[{anchor}]{{@{{}}{align}@{{}}}}" + r"\\ ".join(lines) + r"\end{tabular}"
    )
    return rf"\multicolumn{{{columns}}}{{{align}}}{{{stacked}}}"


def _latex_span_cells(
    row: Row, wraps: Sequence[int], numeric: Sequence[bool], anchor: str
) -> tuple[list[str], list[str]]:
    """The cells of a span row (equal neighbours as one ``\\multicolumn``) and the
    ``\\cmidrule`` under each non-empty cell."""
    cells, rules, start = [], [], 0
    for cell, count in row.runs():
        text = plain_cell_text(cell)
        if count == 1 and isinstance(cell, Number):
            cells.append(_latex_cell(cell, numeric[start]))
        elif text:
            # A spanned cell may use its columns' widths and the gaps between them.
            width = sum(wraps[start : start + count]) + count - 1
            cells.append(_latex_header_cell(text, width, "c", count, anchor))
            # Columns are numbered from 1, the stub being column 1.
            rules.append(rf"\cmidrule(lr){{{start + 2}-{start + count + 1}}}")
        else:
            cells.append(rf"\multicolumn{{{count}}}{{c}}{{}}")
        start += count
    return cells, rules


def _latex_cell(cell: Cell, numeric: bool) -> str:
    if isinstance(cell, Text):
        text = latex_escape(cell.text)
        if not text:
            return "{}" if numeric else ""
        return f"{{{text}}}" if numeric else text
    # Only a column without any number to show is not numeric, so this is "" there.
    number = decorated_number(cell, display=False)
    if not number:
        return "{}" if numeric else ""
    if cell.stars:
        number += rf"\textsuperscript{{{cell.stars}}}"
    return number


def _latex_row(label: str, cells: Sequence[str]) -> str:
    return " & ".join([label, *cells]) + r" \\"


def _latex_star_legend(stars: Sequence[float]) -> str:
    return ", ".join(rf"\textsuperscript{{{s}}}\,$p<{t}$" for s, t in ordered_stars(stars)) + "."


def render_latex(table: Table) -> str:
    """Return the table as a bare ``threeparttable`` (booktabs, siunitx, tablenotes)."""
    n_columns = len(table.columns)
    max_stars = len(table.stars)
    numeric = numeric_columns(table)
    specs = []
    for index, column in enumerate(table.columns):
        if numeric[index]:
            specs.append(_siunitx_column(column_numbers(table, index), max_stars))
        elif column.width:
            specs.append(rf">{{\raggedright\arraybackslash}}p{{{column.width}}}")
        else:
            specs.append("c")
    stub = rf">{{\raggedright\arraybackslash}}p{{{table.stub_width}}}" if table.stub_width else "l"

    # The comment names write_table's module, the entry point that writes table files.
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
    titles = [
        _latex_header_cell(column.title, wrap, align) if column.title else ""
        for column, wrap, align in zip(table.columns, wraps, aligns, strict=True)
    ]
    lines.append(_latex_row(latex_escape(table.stub_header), titles))
    for index, row in enumerate(table.header_rows):
        if row.span:
            cells, rules = _latex_span_cells(row, wraps, numeric, "b")
            lines.append(_latex_row(latex_escape(row.label), cells))
            # Under the last header row the \midrule already separates the body.
            if rules and index < len(table.header_rows) - 1:
                lines.append(" ".join(rules))
            continue
        texts = [plain_cell_text(c) for c in row.cells]
        cells = [
            _latex_header_cell(text, wrap, align) if text else ""
            for text, wrap, align in zip(texts, wraps, aligns, strict=True)
        ]
        lines.append(_latex_row(latex_escape(row.label), cells))
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
            if row.span:
                cells = _latex_span_cells(row, wraps, numeric, "t")[0]
            else:
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
