"""What every figure shares: one theme (:func:`style`), the colour-blind-safe
Okabe–Ito palette with the focal unit always in vermillion, text helpers, a footer
strip carrying the data note (:func:`new_figure`), and :func:`save_figure`, which
writes PDF and PNG atomically and deterministically.

Every ``plot_*`` function of the figure modules returns a
:class:`matplotlib.figure.Figure` built without pyplot's global figure registry
(nothing to close, nothing leaks between calls). Text is drawn with DejaVu Sans, so
unit names come from the panel's English ``name_en`` column (no CJK font is assumed).
No text is ever parsed as matplotlib mathtext (``text.parse_math`` is off in
:func:`style`, and every figure is built and saved under it), so config text (the unit
noun, labels, footers, unit names) is printed exactly as written, ``$`` and ``\\``
included. Labels come from the config's variable labels, which carry their units.
"""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter

from innopanel.exhibits.canvas import check_canvas
from innopanel.io import atomic_path

#: Resolution of every PNG, in dots per inch.
DPI = 200
#: Figures are at most this wide (inches), so that scaled to a paper's text width
#: (about 6.5 in) their 9-10 pt text stays above 7 pt.
MAX_WIDTH = 8.0
#: Fixed metadata: no dates, no library versions.
PDF_METADATA: dict[str, str | None] = {
    "Creator": "innopanel",
    "Producer": "innopanel",
    "CreationDate": None,
    "ModDate": None,
}
PNG_METADATA: dict[str, str] = {"Software": "innopanel"}
#: Salt for SVG element ids (matplotlib otherwise draws it at random).
SVG_HASH_SALT = "innopanel"

#: The focal unit is vermillion in every figure (Okabe–Ito). Peers drawn one by one
#: take Paul Tol's colour-blind-safe "muted" palette without its rose (the nearest to
#: vermillion): eight distinct colours, so the eight peers of a bundled study never
#: share one. Beyond eight peers the colours repeat with another line style.
FOCAL_COLOUR = "#D55E00"
PEER_COLOURS = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#882255",
    "#AA4499",
)
PEER_LINESTYLES = ("-", "--", ":")
#: One colour for "the peers" where they are drawn as a group (bars, ranking).
PEER_GROUP_COLOUR = "#0072B2"
REFERENCE_COLOUR = "#8C8C8C"
OTHER_COLOUR = "#BBBBBB"
FIT_COLOUR = "#000000"
# Vermillion comes last: it marks the focal unit elsewhere.
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#D55E00")
MODEL_MARKERS = ("o", "s", "D", "^", "v", "P", "X")

FOOTER_FONT_SIZE = 8.0


# seaborn's "whitegrid" style at its "paper" context with font_scale 1.15, written out
# (and scaled as seaborn scales it, so every value is the same float): importing seaborn
# costs each figure job about a second, for scipy.stats it never uses here. Its
# "image.cmap" (rocket, a colormap seaborn registers on import) is left out: no figure
# draws with the default colormap. tests/test_figures.py holds this to seaborn's.
_WHITEGRID = {
    "figure.facecolor": "white",
    "axes.labelcolor": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "axes.axisbelow": True,
    "grid.linestyle": "-",
    "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "xtick.top": False,
    "ytick.right": False,
    "axes.grid": True,
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "grid.color": ".8",
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "xtick.bottom": False,
    "ytick.left": False,
}
_NOTEBOOK_SIZES = {
    "axes.linewidth": 1.25,
    "grid.linewidth": 1,
    "lines.linewidth": 1.5,
    "lines.markersize": 6,
    "patch.linewidth": 1,
    "xtick.major.width": 1.25,
    "ytick.major.width": 1.25,
    "xtick.minor.width": 1,
    "ytick.minor.width": 1,
    "xtick.major.size": 6,
    "ytick.major.size": 6,
    "xtick.minor.size": 4,
    "ytick.minor.size": 4,
}
_NOTEBOOK_FONT_SIZES = {
    "font.size": 12,
    "axes.labelsize": 12,
    "axes.titlesize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 12,
}
_PAPER_SCALE = 0.8
_FONT_SCALE = 1.15


def base_theme() -> dict[str, Any]:
    """seaborn's whitegrid style at the paper context, font scale 1.15, as rc settings."""
    sizes = {key: value * _PAPER_SCALE for key, value in _NOTEBOOK_SIZES.items()}
    fonts = {key: value * _PAPER_SCALE * _FONT_SCALE for key, value in _NOTEBOOK_FONT_SIZES.items()}
    return {**_WHITEGRID, **sizes, **fonts}


def style() -> dict[str, Any]:
    """Return the rc settings every figure is drawn and saved with."""
    rc = base_theme()
    rc.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans"],
            "axes.titleweight": "bold",
            "axes.titlesize": 10.5,
            "legend.frameon": False,
            "svg.hashsalt": SVG_HASH_SALT,
            # Every text is config or data text, printed as written: a "$" in a unit
            # noun or label must never start mathtext (unbalanced, it kills the figure).
            "text.parse_math": False,
            "pdf.fonttype": 42,
            "savefig.dpi": DPI,
            "figure.dpi": 100,
        }
    )
    return rc


def plain_numbers(axis) -> None:
    """Label ``axis`` with plain numbers: thousands separators, as many decimals as
    the tick step needs and a true minus sign, never a "1e6" offset or scientific
    notation, which a reader of a bar of counts would have to multiply out."""

    def label(value: float, _position: int) -> str:
        # The fewest decimals that print every tick of the axis exactly (0.25 needs 2).
        locations = np.asarray(axis.get_majorticklocs(), dtype=float)
        scale = max(float(np.max(np.abs(locations), initial=0.0)), 1.0)
        decimals = next(
            (
                d
                for d in range(7)
                if np.allclose(np.round(locations, d), locations, rtol=0, atol=1e-9 * scale)
            ),
            6,
        )
        return f"{value:,.{decimals}f}".replace("-", "\u2212")

    axis.set_major_formatter(FuncFormatter(label))


def lower_first(label: str) -> str:
    """Lower-case a label's first letter for use mid-sentence, unless it starts an
    acronym: "Log patents" -> "log patents", "R&D intensity" and "GDP" unchanged."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def wrap(text: object, width: int) -> str:
    """Return ``text`` broken into lines of at most ``width`` characters."""
    return "\n".join(textwrap.wrap(str(text), width=width))


#: The average width of a character of English text in DejaVu Sans Bold, as a share
#: of the font size (measured: 0.60 to 0.63 on this project's titles).
_BOLD_CHARACTER_WIDTH = 0.64


def characters_across(width: float, fontsize: float, margin: float = 0.3) -> int:
    """Characters of ``fontsize``-point bold text a line may hold across ``width`` inches
    less ``margin`` inches, to :func:`wrap` a title to (the canvas check makes sure)."""
    return max(20, int((width - margin) * 72 / (fontsize * _BOLD_CHARACTER_WIDTH)))


def new_figure(width: float, height: float, footer: str) -> tuple[Figure, SubFigure]:
    """Return a figure and the sub-figure to draw in, with ``footer`` below it.

    The figure is split into a content sub-figure (constrained layout, so axes,
    titles and outside legends fit inside it) and a footer strip sized to the
    wrapped footer text, so the footer can neither be clipped nor overlap anything.
    ``height`` is the height of the content; the footer strip is added to it.
    """
    # About 15 characters of 8 pt DejaVu Sans fit in an inch.
    wrapped = "\n".join(
        textwrap.wrap(" ".join(str(footer).split()), width=max(20, int(width * 15)))
    )
    lines = wrapped.count("\n") + 1 if wrapped else 0
    footer_height = (lines * FOOTER_FONT_SIZE * 1.3 + 10) / 72 if lines else 0.0
    figure = Figure(figsize=(width, height + footer_height), layout="constrained")
    if not lines:
        content = figure.subfigures(1, 1)
        return figure, content
    content, strip = figure.subfigures(2, 1, height_ratios=[height, footer_height], hspace=0.0)
    strip.text(
        0.01,
        0.45,
        wrapped,
        ha="left",
        va="center",
        fontsize=FOOTER_FONT_SIZE,
        color="#404040",
        gid="footer",
    )
    return figure, content


#: Characters of a unit's name per line on an axis, and lines at most (then "…").
NAME_WIDTH, NAME_LINES = 22, 2
#: Characters of a legend entry before it is cut with "…".
LEGEND_ENTRY_WIDTH = 34
#: Characters a row of legend entries may take across a full-width figure.
LEGEND_ROW_WIDTH = 96


def axis_name(name: object, width: int = NAME_WIDTH, lines: int = NAME_LINES) -> str:
    """A unit's name as an axis label: wrapped to ``width`` characters a line
    and cut with "…" after ``lines`` lines, so 40-character names do not squeeze bars."""
    return "\n".join(textwrap.wrap(str(name), width=width, max_lines=lines, placeholder="…"))


def legend_entry(name: object, width: int = LEGEND_ENTRY_WIDTH) -> str:
    """A legend entry on one line, cut with "…" after ``width`` characters."""
    return textwrap.wrap(str(name), width=width, max_lines=1, placeholder="…")[0]


def legend_columns(labels: Sequence[str], most: int, row_width: int = LEGEND_ROW_WIDTH) -> int:
    """The columns of a legend below a full-width figure: at most ``most``, and few
    enough that a row of the longest labels (plus the handles) fits, so none is cut."""
    longest = sorted((len(label) + 6 for label in labels), reverse=True)
    columns = max(1, min(most, len(labels)))
    while columns > 1 and sum(longest[:columns]) > row_width:
        columns -= 1
    return columns


def corner_note(ax, text: str, corner: str, gid: str, fontsize: float = 9.5) -> None:
    """Write ``text`` in a white box in the ``"upper left"`` or ``"lower right"`` corner."""
    upper_left = corner == "upper left"
    ax.text(
        0.03 if upper_left else 0.97,
        0.97 if upper_left else 0.03,
        text,
        transform=ax.transAxes,
        ha="left" if upper_left else "right",
        va="top" if upper_left else "bottom",
        fontsize=fontsize,
        bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": OTHER_COLOUR},
        gid=gid,
    )


def save_figure(
    figure: Figure,
    pdf_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    dpi: int = DPI,
) -> None:
    """Write ``figure`` as PDF and PNG atomically with byte-reproducible output.

    The PDF carries no ``CreationDate``/``ModDate`` (so ``SOURCE_DATE_EPOCH`` has
    nothing to set) and fixed ``Creator``/``Producer``; the PNG has no date and a
    fixed ``Software`` entry; SVG ids would be salted with a fixed salt; the
    resolution is fixed. A figure with a text past its canvas at any size it is used
    at is refused (:func:`innopanel.exhibits.canvas.check_canvas`), never written cut off.
    """
    # Font subsetting logs every glyph at INFO; keep it out of the rule's log.
    font_logger = logging.getLogger("fontTools")
    level = font_logger.level
    font_logger.setLevel(max(level, logging.WARNING))
    try:
        with matplotlib.rc_context(style()):
            check_canvas(figure, os.fspath(pdf_path).removesuffix(".pdf"), dpi)
            with atomic_path(pdf_path) as temporary:
                figure.savefig(temporary, format="pdf", metadata=PDF_METADATA)
            with atomic_path(png_path) as temporary:
                figure.savefig(temporary, format="png", dpi=dpi, metadata=PNG_METADATA)
    finally:
        font_logger.setLevel(level)
