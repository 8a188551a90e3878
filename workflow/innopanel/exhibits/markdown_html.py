"""The project's own Markdown documents as HTML, for the report.

The data-quality report, the model-coverage report and provenance are written by this
project in a small subset of Markdown: ATX headings, paragraphs, ``-`` lists, ``>``
quotes and pipe tables with alignment, with inline code, bold, italics and backslash
escapes. This renders exactly that subset (the environment has no Markdown package, and
one would render far more than these files use); anything else is shown as text. Every
character of the source is HTML-escaped, so no text from a data file can become markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_INLINE = re.compile(
    r"\\([!-/:-@\[-`{-~])"  # a backslash-escaped ASCII punctuation character
    r"|`([^`]+)`"  # inline code
    r"|\*\*(.+?)\*\*"  # bold
    r"|(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"  # italics
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
#: The wrapper every table is put in, so that a wide one scrolls inside its own box.
TABLE_BOX = '<div class="table-box">'


def inline(text: str) -> str:
    """Return one line of Markdown as HTML: code, bold, italics and escapes."""
    parts, position = [], 0
    for match in _INLINE.finditer(text):
        parts.append(html.escape(text[position : match.start()], quote=False))
        escaped, code, bold, italic = match.groups()
        if escaped is not None:
            parts.append(html.escape(escaped, quote=False))
        elif code is not None:
            parts.append(f"<code>{html.escape(code, quote=False)}</code>")
        elif bold is not None:
            parts.append(f"<strong>{inline(bold)}</strong>")
        else:
            parts.append(f"<em>{inline(italic)}</em>")
        position = match.end()
    parts.append(html.escape(text[position:], quote=False))
    return "".join(parts)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.strip() for cell in _CELL_SPLIT.split(body)]


def _alignment(cell: str) -> str:
    if cell.endswith(":"):
        return ' class="r"' if not cell.startswith(":") else ' class="c"'
    return ""


def _table(lines: list[str]) -> str:
    header, aligns = _cells(lines[0]), [_alignment(c) for c in _cells(lines[1])]
    aligns += [""] * (len(header) - len(aligns))
    head = "".join(f"<th{a}>{inline(c)}</th>" for c, a in zip(header, aligns, strict=False))
    rows = []
    for line in lines[2:]:
        cells = _cells(line)
        rows.append(
            "<tr>"
            + "".join(f"<td{a}>{inline(c)}</td>" for c, a in zip(cells, aligns, strict=False))
            + "</tr>"
        )
    return (
        f"{TABLE_BOX}<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _take(lines: list[str], start: int, keep: Callable[[str], bool]) -> int:
    end = start
    while end < len(lines) and keep(lines[end]):
        end += 1
    return end


def markdown_html(text: str, heading_offset: int = 0) -> str:
    """Return the Markdown ``text`` as an HTML fragment; headings are demoted by
    ``heading_offset`` levels (at most to ``h6``), to sit under the page's own."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            index += 1
            continue
        heading = _HEADING.match(stripped)
        if heading:
            level = min(6, len(heading.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            index += 1
        elif (
            stripped.startswith("|")
            and index + 1 < len(lines)
            and _SEPARATOR.match(lines[index + 1].strip())
        ):
            end = _take(lines, index + 2, lambda s: s.strip().startswith("|"))
            out.append(_table(lines[index:end]))
            index = end
        elif stripped.startswith(("- ", "* ")):
            end = _take(lines, index, lambda s: s.strip().startswith(("- ", "* ")))
            items = "".join(f"<li>{inline(item.strip()[2:])}</li>" for item in lines[index:end])
            out.append(f"<ul>{items}</ul>")
            index = end
        elif stripped.startswith(">"):
            end = _take(lines, index, lambda s: s.strip().startswith(">"))
            quoted = "\n".join(item.strip()[1:].lstrip() for item in lines[index:end])
            out.append(f"<blockquote>{markdown_html(quoted, heading_offset)}</blockquote>")
            index = end
        else:

            def paragraph(s: str) -> bool:
                t = s.strip()
                return bool(t) and not t.startswith(("#", "|", "- ", "* ", ">"))

            end = _take(lines, index + 1, paragraph)
            words = " ".join(item.strip() for item in lines[index:end])
            out.append(f"<p>{inline(words)}</p>")
            index = end
    return "\n".join(out)
