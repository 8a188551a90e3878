"""The study's report: one self-contained HTML page a reader opens offline.

It opens as the paper does, on the study's text (the question, the data, the headline
and its reading, the limits), then shows every table and figure in the paper's order,
each numbered, titled and captioned, then the data-quality report, the model coverage
and the provenance. Tables are inlined from their ``.html`` outputs, figures embedded as
``data:`` URIs of their PNGs, and the page loads nothing else, so it works as one file
anywhere. Every word from the config or a data file is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.study import run_of, study_unit
from innopanel.exhibits.frames import unit_names
from innopanel.exhibits.markdown_html import TABLE_BOX, inline, markdown_html
from innopanel.exhibits.narrative import Narrative
from innopanel.exhibits.paper import read_caption
from innopanel.io import write_text

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL)

#: The page's only style: a reading column, tables that wrap their labels and scroll
#: inside their own box when still too wide, figures scaled to the column.
STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f6f6f4;color:#222;font-size:16px;line-height:1.55;
  font-family:Georgia,'Times New Roman','Noto Serif CJK SC','Source Han Serif SC','SimSun',serif}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:1.9em;line-height:1.25;margin:0.4em 0 0.3em}
h2{font-size:1.35em;margin:1.8em 0 0.4em;border-bottom:1px solid #ccc;padding-bottom:0.15em}
h3{font-size:1.12em;margin:1.4em 0 0.3em}
h4,h5,h6{font-size:1em;margin:1.2em 0 0.3em}
p,li{max-width:48em}
code{font-family:Menlo,Consolas,monospace;font-size:0.85em;overflow-wrap:anywhere}
.meta{color:#555;font-size:0.9em}
.synthetic{border:2px solid #b00;background:#fff4f4;padding:0.6em 0.9em;font-weight:bold}
.headline{border-left:5px solid #0072b2;background:#f1f6fb;padding:0.7em 1em;margin:1em 0}
.headline p{margin:0.2em 0}
nav ol{columns:2;column-gap:2em;padding-left:1.4em}
section.exhibit{margin-top:2.4em}
.caption{color:#333;font-size:0.95em}
figure{margin:0.6em 0}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
.table-box{max-width:100%;overflow-x:auto;margin:0.6em 0}
table{border-collapse:collapse;border-top:2px solid #222;border-bottom:2px solid #222;
  font-size:0.9em;line-height:1.35}
th,td{padding:3px 9px;vertical-align:baseline;text-align:center}
thead tr:last-child th{border-bottom:1px solid #222}
th{font-weight:bold;min-width:5em}
td{text-align:left}
td.n,td.r,th.r{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.t,td.c,th.c{text-align:center}
th.stub,td.stub{text-align:left;min-width:12em}
tr.rule td{border-top:1px solid #222}
tr.panel td{font-style:italic;padding-top:8px}
.notes{font-size:0.88em;max-width:60em}
.document th{text-align:left}
.document table td{overflow-wrap:break-word}
footer{margin-top:3em;color:#555;font-size:0.85em}
"""


@dataclass(frozen=True)
class ReportInputs:
    """The files the report is made of, each path as the workflow names it."""

    tables: Mapping[str, str]  # table name -> its .html, in the paper's order
    figures: Mapping[str, str]  # figure name -> its .png, in the paper's order
    data_quality: str
    model_coverage: str
    provenance: str
    unit_table: str


def _table_fragment(path: str) -> str:
    text = Path(path).read_text(encoding="utf-8")
    body = _BODY.search(text)
    if body is None:
        raise ValueError(
            f"{path}: no <body> element, so the table cannot be inlined; rebuild it "
            "(innopanel.exhibits.text_tables.render_html writes whole pages)."
        )
    # The table itself scrolls in its own box; its notes stay in the column.
    fragment = body.group(1).strip()
    return fragment.replace("<table", TABLE_BOX + "<table", 1).replace(
        "</table>", "</table></div>", 1
    )


def _image(path: str, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _exhibit(kind: str, number: int, name: str, title: str, description: str, body: str) -> str:
    label = "Table" if kind == "table" else "Figure"
    return (
        f'<section class="exhibit {kind}" id="{kind}-{name}">\n'
        f"<h2>{label} {number}. {html.escape(title)}</h2>\n"
        f'<p class="caption">{html.escape(description)}</p>\n{body}\n</section>'
    )


def _document(anchor: str, text: str) -> str:
    return f'<section class="document" id="{anchor}">\n{markdown_html(text, 1)}\n</section>'


def _heading_of(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def report_html(
    config: Mapping[str, Any],
    inputs: ReportInputs,
    narrative: Narrative | None,
    root: str | os.PathLike[str] = ".",
) -> str:
    """Return the report page. ``config`` is the run's (with ``_run``); captions are read
    from ``root`` as the paper reads them."""
    run = run_of(config)
    study, data = config["study"], config["data"]
    unit = study_unit(config)
    names = unit_names(pd.read_csv(inputs.unit_table, dtype=str, keep_default_na=False))
    focal = names.get(study["focal_unit"], study["focal_unit"])
    peers = [names.get(peer, peer) for peer in study["peer_units"]]
    e = html.escape

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(study['title'])}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        "<header>",
        f"<h1>{e(study['title'])}</h1>",
    ]
    note = " ".join(str(data["data_note"]).split())
    parts.append(
        f'<p class="synthetic">{e(note)}</p>' if data["synthetic"] else f"<p>{e(note)}</p>"
    )
    parts.append(
        f'<p class="meta">The {e(unit.singular)} in focus is {e(focal)}; its peers are '
        f"{e(', '.join(peers))}.</p>"
    )
    parts.append("</header>")
    if narrative is not None:
        parts.append(
            '<section class="headline" id="headline"><p><strong>Headline.</strong> '
            f"{e(narrative.headline)}</p></section>"
        )
        for heading, paragraphs in narrative.sections:
            parts.append(f"<h2>{e(heading)}</h2>")
            parts += [f"<p>{e(paragraph)}</p>" for paragraph in paragraphs]

    exhibits = []
    contents = []
    for kind, files in (("table", inputs.tables), ("figure", inputs.figures)):
        for number, (name, path) in enumerate(files.items(), start=1):
            title, description = read_caption(name, config, root)
            title = title.rstrip(".")
            body = (
                _table_fragment(path)
                if kind == "table"
                else f"<figure>{_image(path, title)}</figure>"
            )
            exhibits.append(_exhibit(kind, number, name, title, description, body))
            label = "Table" if kind == "table" else "Figure"
            contents.append(f'<li><a href="#{kind}-{name}">{label} {number}. {e(title)}</a></li>')
    documents = [
        (anchor, Path(path).read_text(encoding="utf-8"), fallback)
        for anchor, path, fallback in (
            ("data-quality", inputs.data_quality, "Data-quality report"),
            ("model-coverage", inputs.model_coverage, "Model coverage"),
            ("provenance", inputs.provenance, "Provenance"),
        )
    ]
    for anchor, text, fallback in documents:
        heading = inline(_heading_of(text, fallback))
        contents.append(f'<li><a href="#{anchor}">{heading}</a></li>')
    parts += ["<nav><h2>Contents</h2><ol>", *contents, "</ol></nav>", *exhibits]
    parts += [_document(anchor, text) for anchor, text, _ in documents]
    parts += [
        "<footer>",
        f"<p>Built by the innopanel workflow for the study <code>{e(run.study)}</code> from "
        f"the config file <code>{e(run.config_file)}</code>; its resolved config SHA256 (the "
        f"file with every default filled in, as the provenance gives it) is "
        f"<code>{e(run.config_sha256)}</code>. The same text and exhibits as a PDF, where "
        f"a LaTeX engine is installed: <code>{e(run.paths.paper_pdf)}</code>.</p>",
        "</footer></main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(
    destination: str | os.PathLike[str],
    config: Mapping[str, Any],
    inputs: ReportInputs,
    narrative: Narrative | None,
    root: str | os.PathLike[str] = ".",
) -> None:
    """Write the report page atomically."""
    write_text(destination, report_html(config, inputs, narrative, root))
