"""A table written in every format: the LaTeX of :mod:`innopanel.exhibits.latex_tables`
and the Markdown, CSV and HTML of :mod:`innopanel.exhibits.text_tables`, each file
written atomically. The table itself is :class:`innopanel.exhibits.table_model.Table`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from innopanel.exhibits.latex_tables import render_latex
from innopanel.exhibits.table_model import Table
from innopanel.exhibits.text_tables import render_csv, render_html, render_markdown
from innopanel.io import write_text

#: The renderings :func:`write_table` writes, by output key.
FORMATS: tuple[str, ...] = ("tex", "md", "csv", "html")

RENDERERS = {"tex": render_latex, "md": render_markdown, "csv": render_csv, "html": render_html}


def write_table(table: Table, destinations: Mapping[str, str | os.PathLike[str]]) -> None:
    """Write ``table`` atomically in each format named in ``destinations`` (tex, md, csv, html)."""
    unknown = sorted(set(destinations) - set(RENDERERS))
    if unknown:
        raise ValueError(f"unknown table format(s) {unknown}; use {list(FORMATS)}.")
    for key, destination in destinations.items():
        write_text(destination, RENDERERS[key](table))
