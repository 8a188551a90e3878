"""The plain renderings of a table: GitHub-flavoured Markdown, CSV and a self-contained
HTML page, each with the table's notes and star legend. Every string is escaped
(:func:`markdown_escape`, :func:`html.escape`); outputs depend only on the table.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from typing import Any

from innopanel.exhibits.table_model import (
    Cell,
    Number,
    Row,
    Table,
    decorated_number,
    numeric_columns,
    ordered_stars,
    plain_cell_text,
)
from innopanel.io import spreadsheet_safe

_MARKDOWN_SPECIALS = set("\\`*_{}[]<>|#")


def markdown_escape(text: object) -> str:
    """Return ``text`` with Markdown's emphasis, code, link and table characters escaped."""
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in str(text))


def _joined_labels(rows: Sequence[Row]) -> list[str]:
    """Row labels with continued labels joined onto the row they continue."""
    labels = [row.label for row in rows]
    for index, row in enumerate(rows):
        if row.label_continues and index > 0 and row.label:
            labels[index - 1] = f"{labels[index - 1]} {row.label}"
            labels[index] = ""
    return labels


def _cell_text(cell: Cell, style: str) -> str:
    """Render a cell for Markdown ("md"), HTML ("html") or CSV ("csv")."""
    if style == "csv":
        return plain_cell_text(cell)
    if isinstance(cell, Number):
        number = decorated_number(cell, display=True)
        if not number:
            return ""
        if style == "html":
            return html.escape(number) + (f"<sup>{cell.stars}</sup>" if cell.stars else "")
        return number + markdown_escape(cell.stars)
    return markdown_escape(cell.text) if style == "md" else html.escape(cell.text)


def _plain_star_legend(stars: Sequence[float], style: str) -> str:
    parts = []
    for symbol, threshold in ordered_stars(stars):
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

    numeric = numeric_columns(table)
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


class SafeWriter:
    """A CSV writer whose cells a spreadsheet shows as text: labels and notes come from
    the config, and one starting with "=" or "@" must not run as a formula."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def writerow(self, row: Sequence[Any]) -> None:
        self.writer.writerow([spreadsheet_safe(cell) for cell in row])


def render_csv(table: Table) -> str:
    """Return the table as CSV: the displayed cells, then one "Note" row per note.

    Numbers keep their displayed decimals, stars and parentheses but use an ASCII
    minus and no thousands separators; a ``panel`` column is added when the table has
    panel headings.
    """
    with_panel = any(table.panel_heading(i) for i in range(len(table.panels)))
    buffer = io.StringIO()
    writer = SafeWriter(csv.writer(buffer, lineterminator="\n"))
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


def _colspan(count: int) -> str:
    return f' colspan="{count}"' if count > 1 else ""


def render_html(table: Table, title: str = "") -> str:
    """Return a self-contained HTML page holding the table and its notes."""
    numeric = numeric_columns(table)
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
            + "".join(
                f"<th{_colspan(count)}>{_cell_text(c, 'html')}</th>" for c, count in row.runs()
            )
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
            cells, start = [], 0
            for cell, count in row.runs():
                align = "n" if numeric[start] and isinstance(cell, Number) else "t"
                cells.append(
                    f'<td class="{align}"{_colspan(count)}>{_cell_text(cell, "html")}</td>'
                )
                start += count
            out.append(f'<tr{css}><td class="stub">{html.escape(label)}</td>{"".join(cells)}</tr>')
        out.append("</tbody>")
    out.append("</table>")
    notes = _note_paragraphs(table, "html")
    if notes:
        out.append('<div class="notes">' + "".join(f"<p>{n}</p>" for n in notes) + "</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
