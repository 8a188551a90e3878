"""Does every text of a figure fit its canvas, at every size the figure is used?

A figure is used at three sizes: the PDF (72 points an inch), the PNG (``style.DPI``)
and the PDF scaled into the paper (``\\includegraphics`` at the text width, at most
0.8 of the text height, keeping the aspect ratio: see :mod:`innopanel.exhibits.paper`).
:func:`texts_off_canvas` draws the figure at each size's resolution and measures every
text that is drawn (titles, axis labels, the tick labels inside the axis limits, legend
entries, annotations with their boxes, footers) against the canvas; :func:`check_canvas`
raises naming each text that reaches past an edge. ``style.save_figure`` calls it, so
no figure is ever written with a text cut off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

#: The paper's page (a4paper, geometry margin=2.2cm) and the box \includegraphics
#: fits a figure into (width=\textwidth, height=0.8\textheight, keepaspectratio), in
#: inches. tests/test_canvas.py holds these to the paper's LaTeX source.
PAPER_TEXT_WIDTH = (21.0 - 2 * 2.2) / 2.54
PAPER_FIGURE_HEIGHT = 0.8 * (29.7 - 2 * 2.2) / 2.54
#: A text may reach this many pixels past an edge (anti-aliasing, not clipping).
TOLERANCE_PIXELS = 0.5


class CanvasError(ValueError):
    """A figure has text outside its canvas; the message names the figure and the text."""


@dataclass(frozen=True)
class OffCanvas:
    """One text that reaches past the canvas at one size: by how many points per edge."""

    text: str
    size: str
    left: float
    right: float
    bottom: float
    top: float

    def describe(self) -> str:
        edges = [
            f"{name} edge by {points:.1f} pt"
            for name, points in (
                ("left", self.left),
                ("right", self.right),
                ("bottom", self.bottom),
                ("top", self.top),
            )
            if points > 0
        ]
        shown = " ".join(self.text.split())
        shown = shown if len(shown) <= 70 else shown[:67] + "..."
        return f"'{shown}' ({self.size}) passes the {' and the '.join(edges)}"


def paper_scale(width: float, height: float) -> float:
    """The factor the paper scales a ``width`` x ``height`` inch figure by."""
    return min(PAPER_TEXT_WIDTH / width, PAPER_FIGURE_HEIGHT / height)


def sizes(figure: Figure, png_dpi: float) -> dict[str, float]:
    """The sizes a figure is used at, as the resolution (dots per inch) of each."""
    width, height = figure.get_size_inches()
    scale = paper_scale(width, height)
    return {
        "PDF": 72.0,
        f"PNG at {png_dpi:g} dpi": float(png_dpi),
        f"in the paper at {scale:.0%}": 72.0 * scale,
    }


def _drawn_tick_labels(figure: Figure) -> Iterator[Text]:
    """The tick labels of every axis that are drawn: within the axis limits, visible."""
    for ax in figure.get_axes():
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            margin = 1e-10 * max(abs(low), abs(high), 1.0)
            for getter, locs in (
                (axis.get_major_ticks, axis.get_majorticklocs()),
                (axis.get_minor_ticks, axis.get_minorticklocs()),
            ):
                for tick, loc in zip(getter(len(locs)), locs, strict=True):
                    if low - margin <= loc <= high + margin:
                        yield from (tick.label1, tick.label2)


def _tick_label_ids(figure: Figure) -> set[int]:
    return {
        id(label)
        for ax in figure.get_axes()
        for axis in (ax.xaxis, ax.yaxis)
        for tick in [*axis.majorTicks, *axis.minorTicks]
        for label in (tick.label1, tick.label2)
    }


def drawn_texts(figure: Figure) -> list[Text]:
    """Every text the figure draws, after a draw: its own and its sub-figures' texts,
    titles, axis labels, legends and annotations, and the tick labels it draws."""
    ticks = _tick_label_ids(figure)
    texts = [text for text in figure.findobj(Text) if id(text) not in ticks]
    texts += list(_drawn_tick_labels(figure))
    seen: set[int] = set()
    unique = []
    for text in texts:
        if id(text) in seen or not text.get_text().strip() or not text.get_visible():
            continue
        # A text of a hidden axes (an empty grid cell) is not drawn either.
        if text.axes is not None and not text.axes.get_visible():
            continue
        seen.add(id(text))
        unique.append(text)
    return unique


def _box(text: Text, renderer) -> Bbox:
    box = text.get_window_extent(renderer)
    patch = text.get_bbox_patch()
    if patch is not None:
        box = Bbox.union([box, patch.get_window_extent(renderer)])
    return box


def texts_off_canvas(figure: Figure, png_dpi: float) -> list[OffCanvas]:
    """Every drawn text that reaches past the canvas at any size the figure is used at.

    The figure is drawn at each size's resolution (constrained layout is redone at
    each, as when it is saved); its resolution is restored afterwards.
    """
    canvas = FigureCanvasAgg(figure)
    original = figure.get_dpi()
    found: list[OffCanvas] = []
    try:
        for size, dpi in sizes(figure, png_dpi).items():
            figure.set_dpi(dpi)
            canvas.draw()
            renderer = canvas.get_renderer()
            width, height = figure.bbox.width, figure.bbox.height
            points = 72.0 / dpi
            for text in drawn_texts(figure):
                box = _box(text, renderer)
                excess = (-box.x0, box.x1 - width, -box.y0, box.y1 - height)
                if max(excess) > TOLERANCE_PIXELS:
                    found.append(
                        OffCanvas(text.get_text(), size, *(max(e, 0.0) * points for e in excess))
                    )
    finally:
        figure.set_dpi(original)
    return found


def check_canvas(figure: Figure, name: str, png_dpi: float) -> None:
    """Raise :class:`CanvasError` naming the figure ``name`` and every text of it that
    reaches past the canvas at any size it is used at."""
    found = texts_off_canvas(figure, png_dpi)
    if found:
        raise CanvasError(
            f"{name}: {len(found)} text(s) reach past the figure's canvas, so they would be "
            "cut off: "
            + "; ".join(item.describe() for item in found[:8])
            + (f"; and {len(found) - 8} more" if len(found) > 8 else "")
            + ". Wrap or shorten the text (innopanel.exhibits.style.wrap) or give the "
            "figure room; if the text comes from the config (a label, a unit name, the "
            "footer), shorten it there."
        )


def smallest_text(figure: Figure) -> float:
    """The smallest font size (points) of any drawn text at the paper's scale."""
    FigureCanvasAgg(figure).draw()
    width, height = figure.get_size_inches()
    drawn = [text.get_fontsize() for text in drawn_texts(figure)]
    return min(drawn, default=0.0) * paper_scale(width, height)
