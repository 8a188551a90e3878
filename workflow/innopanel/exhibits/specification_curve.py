"""The multiverse's figures: the specification curve and the estimate by choice.

The curve (Simonsohn, Simmons and Nelson 2020; drawn as R's specr draws it) ranks the
focal estimates over a dashboard marking each one's choices. A specification's
covariance changes its interval, not its estimate, so the curve ranks *designs* (every
choice but the covariance): one point per design, with the 95 % interval of each
covariance as a band around it. Estimates are comparable only within one outcome and
one definition of the focal regressor (levels and logs are different units), so each
such pair has its own panel, ranked on its own, beside the band 95 % of curves fall in
when the focal effect is zero (``null_curve.parquet``, from the joint tests' draws).
Every choice value prints under its label (:meth:`Multiverse.label`).

The choice figure shows, per panel, the median estimate (and interquartile range) of
the designs sharing each value of each choice. The joint tests' table is
:mod:`innopanel.exhibits.joint_tests_table`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from innopanel.config.multiverse import (
    CONTROL_SEPARATOR,
    DESIGN_CHOICES,
    NO_CONTROLS,
    PANEL_CHOICES,
    Multiverse,
)
from innopanel.exhibits.canvas import PAPER_FIGURE_HEIGHT
from innopanel.exhibits.frames import check_columns
from innopanel.exhibits.style import (
    FOCAL_COLOUR,
    FOOTER_FONT_SIZE,
    OTHER_COLOUR,
    REFERENCE_COLOUR,
    legend_columns,
    legend_entry,
    new_figure,
    style,
)

POSITIVE_COLOUR, NEGATIVE_COLOUR = "#0072B2", "#E69F00"
#: One colour per covariance band, in the config's order (Okabe–Ito, no vermillion:
#: it marks the focal specification).
BAND_COLOURS = ("#56B4E9", "#009E73", "#CC79A7")
NULL_COLOUR = "#D9D9D9"
CHOICE_TITLES = {
    "controls": "Controls",
    "fixed_effects": "Fixed effects",
    "lag": "Lag",
    "sample": "Sample",
}
CURVE_COLUMNS = ("spec_id", *DESIGN_CHOICES, "covariance", "role", "estimate")
CURVE_COLUMNS += ("ci_lower", "ci_upper", "p_value")
NULL_CURVE_COLUMNS = (*PANEL_CHOICES, "rank", "draws", "lower", "upper")
#: Significance level of the colouring.
ALPHA = 0.05
#: Estimates of one design agree to this relative tolerance under every covariance.
SAME_ESTIMATE = 1e-9
#: Figure width (inches) and the smallest text (points): scaled into the paper
#: (:func:`innopanel.exhibits.canvas.paper_scale`: 88 % at this width, as long as the
#: figure is at most 9.1 in tall) no text is under 7 pt, the 8 pt footer included.
FIGURE_WIDTH = 7.4
SMALL_TEXT = 8.2
#: Characters of a choice label per line (two lines at most) on the curve's dashboard
#: (the first of these that keeps the curve within MAX_HEIGHT) and on the choice figure.
LABEL_WIDTHS, CHOICE_LABEL_WIDTHS = (44, 52, 60), (30, 44, 60)
#: The tallest the curve's content may be (inches) for the paper to print the footer's
#: 8 pt at 7 pt, once a footer of two lines is added.
MAX_HEIGHT = PAPER_FIGURE_HEIGHT * FOOTER_FONT_SIZE / 7.0 - 0.45
#: The width of an average character, in ems (DejaVu Sans, with room for wide ones).
CHARACTER_WIDTH = 0.6
#: Inches per line of a dashboard label, and a curve's height (fewer designs: shorter).
LINE_HEIGHT, CURVE_HEIGHT, SHORT_CURVE_HEIGHT = 0.145, 1.25, 0.8
#: Inches per line of a label on the choice figure (its rows are spaced out).
CHOICE_LINE_HEIGHT = 0.2
#: Characters of a legend entry (a covariance's label) before it is cut with "…".
LEGEND_WIDTH = 50
#: Designs up to which a panel's curve is short.
FEW_DESIGNS = 20
#: Inches around each row of panels (tick labels, axis label) besides its title's lines,
#: and around the figure (its title, the choice figure's panel titles) besides the
#: legend's rows; inches per line of a panel title and per row of the legend.
PANEL_MARGIN, FIGURE_MARGIN, TITLE_LINE, LEGEND_ROW = 0.35, 0.3, 0.14, 0.15


@dataclass(frozen=True)
class Row:
    """One row of a dashboard or of the choice figure: a choice's heading, or one of its
    values (its label, and which designs have it)."""

    choice: str
    value: object  # the value (controls: a control variable); None for a heading
    label: str
    has: np.ndarray  # over the panel's ranked designs; none for a heading


def _focal(specifications: pd.DataFrame) -> pd.DataFrame:
    check_columns(specifications, CURVE_COLUMNS, "specification curve")
    focal = specifications[(specifications["role"] == "focal") & specifications["estimate"].notna()]
    if focal.empty:
        raise ValueError("specification curve: no specification was estimated; see their notes.")
    return focal.reset_index(drop=True)


def designs(specifications: pd.DataFrame) -> pd.DataFrame:
    """One row per design (a specification but its covariance), in grid order: its
    estimate, first specification id, covariances, and whether every covariance finds it
    significant at 5 %. The estimate must not depend on the covariance."""
    focal = _focal(specifications)
    groups = focal.groupby(list(DESIGN_CHOICES), sort=False, dropna=False)
    low, high = groups["estimate"].transform("min"), groups["estimate"].transform("max")
    apart = np.abs(high - low) > SAME_ESTIMATE * np.maximum(1.0, np.abs(high))
    if apart.any():
        first = focal[apart].iloc[0]
        twins = focal.loc[groups.ngroup() == groups.ngroup()[first.name], "spec_id"].tolist()
        raise ValueError(
            f"specifications.parquet: specifications {twins} differ only in their covariance "
            f"but their focal estimates differ ({low[first.name]:.6g} to "
            f"{high[first.name]:.6g}); the covariance must not move the estimate. Rerun "
            "the multiverse_estimate rule."
        )
    return groups.agg(
        spec_id=("spec_id", "first"),
        estimate=("estimate", "first"),
        covariances=("covariance", "nunique"),
        significant=("p_value", lambda p: bool((p < ALPHA).all())),
    ).reset_index()


def panels(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The (outcome, focal definition) pairs estimated, in grid order."""
    return list(dict.fromkeys(zip(table["outcome"], table["focal"], strict=True)))


def ranked(table: pd.DataFrame, panel: tuple[str, str]) -> pd.DataFrame:
    """A panel's designs, ranked by estimate (ties by specification id: a stable order)."""
    members = table[(table["outcome"] == panel[0]) & (table["focal"] == panel[1])]
    return members.sort_values(["estimate", "spec_id"], kind="mergesort").reset_index(drop=True)


def varying_choices(table: pd.DataFrame) -> list[str]:
    """The dashboard's choices: those (but the panel's) with more than one value."""
    return [
        c for c in DESIGN_CHOICES if c not in PANEL_CHOICES and table[c].nunique(dropna=False) > 1
    ]


def _label(text: str, width: int, lines: int = 2) -> str:
    return "\n".join(textwrap.wrap(text, width=width, max_lines=lines, placeholder="…"))


def _value_rows(
    multiverse: Multiverse, choice: str, designs: pd.DataFrame, width: int
) -> list[Row]:
    """The rows of one choice over ``designs``: one per declared value; for controls,
    one per control variable (a design without controls has no mark)."""
    values = designs[choice]
    if choice != "controls":
        return [
            Row(choice, v, _label(multiverse.label(choice, v), width), (values == v).to_numpy())
            for v in multiverse.values(choice)
        ]
    members = [set() if v == NO_CONTROLS else set(str(v).split(CONTROL_SEPARATOR)) for v in values]
    controls = dict.fromkeys(c for members in multiverse.control_sets.values() for c in members)
    return [
        Row(
            choice,
            c,
            _label(multiverse.label(choice, c), width),
            np.array([c in m for m in members]),
        )
        for c in controls
    ]


def dashboard_rows(
    multiverse: Multiverse,
    choices: Sequence[str],
    designs: pd.DataFrame,
    width: int = LABEL_WIDTHS[0],
) -> list[Row]:
    """Each choice's heading, then its value rows (labels wrapped at ``width``)."""
    rows = []
    for choice in choices:
        rows.append(Row(choice, None, CHOICE_TITLES[choice], np.zeros(len(designs), bool)))
        rows += _value_rows(multiverse, choice, designs, width)
    return rows


def _lines(rows: Sequence[Row]) -> np.ndarray:
    """Each row's height in lines (its label's)."""
    return np.array([row.label.count("\n") + 1 for row in rows], dtype=float)


def _centres(rows: Sequence[Row]) -> np.ndarray:
    lines = _lines(rows)
    return np.cumsum(lines) - lines / 2


def _row_axis(ax, rows: Sequence[Row], first_column: bool) -> None:
    """Rows top to bottom, labelled (headings in bold) in the first column only, with a
    rule above each heading but the first."""
    centres = _centres(rows)
    ax.set_ylim(_lines(rows).sum(), 0)
    ax.set_yticks(centres, [row.label for row in rows] if first_column else [])
    ax.tick_params(axis="y", length=0)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=False):
        if row.value is None:
            tick.set_fontweight("bold")
    for centre, row in zip(centres[1:], rows[1:], strict=True):
        if row.value is None:
            ax.axhline(centre - 0.5, color=OTHER_COLOUR, lw=0.6)
    ax.grid(False)


def count_text(table: pd.DataFrame, specifications: int) -> str:
    """How many estimates and specifications: "400 estimates × 3 covariances" when every
    design has each covariance, else the range ("× 1–3"), and the specifications."""
    low, high = int(table["covariances"].min()), int(table["covariances"].max())
    per = f"{low}" if low == high else f"{low}–{high}"
    noun = "covariance" if high == 1 else "covariances"
    return f"{len(table):,} estimates × {per} {noun} ({specifications:,} specifications)"


def _colours(panel: pd.DataFrame) -> np.ndarray:
    return np.where(
        panel["significant"],
        np.where(panel["estimate"] > 0, POSITIVE_COLOUR, NEGATIVE_COLOUR),
        OTHER_COLOUR,
    )


def _intervals(
    focal: pd.DataFrame, panel: pd.DataFrame, covariance: str
) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ``covariance`` for each ranked design (NaN where not estimated)."""
    rows = focal[focal["covariance"] == covariance].set_index(list(DESIGN_CHOICES))
    found = rows.reindex(pd.MultiIndex.from_frame(panel[list(DESIGN_CHOICES)]))
    return found["ci_lower"].to_numpy(float), found["ci_upper"].to_numpy(float)


def null_band(null_curve: pd.DataFrame, key: tuple[str, str], size: int) -> pd.DataFrame:
    """A panel's null band by rank (empty for a panel not redrawn: PPML); its ranks must
    be the panel's designs."""
    band = null_curve[(null_curve["outcome"] == key[0]) & (null_curve["focal"] == key[1])]
    if not band.empty and len(band) != size:
        raise ValueError(
            f"null_curve.parquet: panel {key} has {len(band)} ranks but "
            f"specifications.parquet has {size} estimates; rerun multiverse_null_curve."
        )
    return band.sort_values("rank")


def _curve(ax, focal, panel, band, multiverse, marked_ids) -> None:
    """One panel's curve: the null band, the covariance bands, the ranked estimates."""
    rank = np.arange(len(panel))
    if not band.empty:
        ax.fill_between(rank, band["lower"], band["upper"], color=NULL_COLOUR, lw=0, step="mid")
    for covariance, colour in zip(multiverse.covariances, BAND_COLOURS, strict=False):
        lower, upper = _intervals(focal, panel, covariance)
        ax.fill_between(
            rank, lower, upper, color=colour, alpha=0.35, lw=0, step="mid", where=~np.isnan(lower)
        )
    ax.scatter(rank, panel["estimate"], c=_colours(panel), s=4 if len(rank) > 100 else 14, lw=0)
    ax.axhline(0, color=REFERENCE_COLOUR, lw=0.8, ls="--")
    marked = np.flatnonzero(panel["spec_id"].isin(marked_ids))
    if marked.size:
        ax.axvline(marked[0], color=FOCAL_COLOUR, lw=0.9)
        ax.scatter(marked[:1], panel["estimate"].to_numpy()[marked[:1]], color=FOCAL_COLOUR, s=28)
    pad = 0.5 + 0.01 * len(rank)
    ax.set_xlim(-pad, len(rank) - 1 + pad)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
    ax.tick_params(labelsize=SMALL_TEXT, labelbottom=False)


def _dashboard(ax, rows: Sequence[Row], colours: np.ndarray, first_column: bool) -> None:
    rank = np.arange(len(colours))
    for centre, row in zip(_centres(rows), rows, strict=True):
        ax.scatter(
            rank[row.has],
            np.full(row.has.sum(), centre),
            c=colours[row.has],
            marker="|",
            s=30,
            lw=0.6 if len(rank) > 100 else 1.2,
        )
    _row_axis(ax, rows, first_column)
    ax.tick_params(labelsize=SMALL_TEXT)
    ax.set_xlabel("Rank of the estimate", fontsize=SMALL_TEXT)


def title_width(label_width: int, columns: int) -> int:
    """Characters a line of a panel title may hold: a column's width, once the labels
    (``label_width`` characters) have theirs. A centred title wider than its panel would
    reach past the figure's edge in the last column."""
    inch = 72 / (SMALL_TEXT * CHARACTER_WIDTH)  # characters an inch
    columns_inches = FIGURE_WIDTH - label_width / inch - 0.6
    return max(12, int(columns_inches / columns * inch) - 2)


def _panel_title(multiverse: Multiverse, key: tuple[str, str], width: int) -> str:
    return (
        f"{_label(multiverse.label('outcome', key[0]), width)}\n"
        f"on {_label(multiverse.label('focal', key[1]), width)}"
    )


def plot_specification_curve(
    specifications: pd.DataFrame,
    null_curve: pd.DataFrame,
    multiverse: Multiverse,
    footer: str = "",
) -> Figure:
    """The ranked estimates of each panel (rows: outcomes; columns: focal definitions),
    with covariance bands and the null band, over a dashboard of their choices."""
    check_columns(null_curve, NULL_CURVE_COLUMNS, "specification curve's null band")
    focal = _focal(specifications)
    table = designs(specifications)
    outcomes = list(dict.fromkeys(table["outcome"]))
    definitions = list(dict.fromkeys(table["focal"]))
    estimated = set(panels(table))
    # The headline specification's design is marked, whichever covariance it has.
    headline = focal[focal["spec_id"] == multiverse.focal_id][list(DESIGN_CHOICES)]
    marked_ids = table.merge(headline)["spec_id"].tolist()
    handles = _legend_handles(multiverse, null_curve)
    columns = legend_columns([h.get_label() for h in handles], 3, row_width=110)
    legend = (1 + math.ceil(len(handles) / columns)) * LEGEND_ROW
    # Labels wrap at the narrowest width that keeps the figure short enough (wrapped
    # lines make it taller, and the paper would shrink its text), else at the width
    # that makes it shortest.
    plans = []
    for width in LABEL_WIDTHS:
        titles = [
            max(
                _panel_title(multiverse, key, title_width(width, len(definitions))).count("\n")
                for key in estimated
                if key[0] == outcome
            )
            + 1
            for outcome in outcomes
        ]
        layout = []  # per outcome: its dashboard choices, curve height, dashboard lines
        for outcome in outcomes:
            members = table[table["outcome"] == outcome]
            choices = varying_choices(members)
            most = max(len(ranked(table, key)) for key in estimated if key[0] == outcome)
            lines = _lines(dashboard_rows(multiverse, choices, members, width)).sum()
            curve = CURVE_HEIGHT if most > FEW_DESIGNS else SHORT_CURVE_HEIGHT
            layout.append((choices, curve, lines))
        heights = [h for _, curve, lines in layout for h in (curve, max(lines, 1) * LINE_HEIGHT)]
        height = (
            sum(heights)
            + sum(PANEL_MARGIN + lines * TITLE_LINE for lines in titles)
            + FIGURE_MARGIN
            + legend
        )
        plans.append((height, width, layout, heights))
    fitting = [plan for plan in plans if plan[0] <= MAX_HEIGHT]
    height, width, layout, heights = fitting[0] if fitting else min(plans, key=lambda p: p[0])
    with matplotlib.rc_context(style()):
        figure, content = new_figure(FIGURE_WIDTH, height, footer)
        grid = content.add_gridspec(len(heights), len(definitions), height_ratios=heights)
        for index, (outcome, (choices, _, _)) in enumerate(zip(outcomes, layout, strict=True)):
            for column, definition in enumerate(definitions):
                key = (outcome, definition)
                if key not in estimated:
                    continue
                panel = ranked(table, key)
                curve_ax = content.add_subplot(grid[2 * index, column])
                band = null_band(null_curve, key, len(panel))
                _curve(curve_ax, focal, panel, band, multiverse, marked_ids)
                curve_ax.set_title(
                    _panel_title(multiverse, key, title_width(width, len(definitions))),
                    fontsize=SMALL_TEXT,
                    fontweight="normal",
                )
                # Ranked upwards, the curve leaves its upper left corner free.
                curve_ax.text(
                    0.02,
                    0.96,
                    f"{len(panel):,} estimates\n{panel['significant'].mean():.0%} significant*",
                    transform=curve_ax.transAxes,
                    ha="left",
                    va="top",
                    fontsize=SMALL_TEXT,
                    bbox={
                        "boxstyle": "square,pad=0.2",
                        "facecolor": "white",
                        "alpha": 0.8,
                        "lw": 0,
                    },
                )
                if column == 0:
                    curve_ax.set_ylabel("Estimate", fontsize=SMALL_TEXT)
                rows = dashboard_rows(multiverse, choices, panel, width)
                ax = content.add_subplot(grid[2 * index + 1, column], sharex=curve_ax)
                _dashboard(ax, rows, _colours(panel), column == 0)
        content.suptitle(
            f"Specification curve: {count_text(table, len(focal))}",
            fontsize=10.5,
            fontweight="bold",
        )
        content.legend(
            handles=handles,
            loc="outside lower center",
            ncols=columns,
            fontsize=SMALL_TEXT,
            title="* at 5% under every covariance",
            title_fontsize=SMALL_TEXT,
        )
    return figure


def _legend_handles(multiverse: Multiverse, null_curve: pd.DataFrame) -> list:
    handles = [
        Line2D([], [], ls="", marker="o", color=POSITIVE_COLOUR, label="Positive, significant*"),
        Line2D([], [], ls="", marker="o", color=NEGATIVE_COLOUR, label="Negative, significant*"),
        Line2D([], [], ls="", marker="o", color=OTHER_COLOUR, label="Not significant*"),
        Line2D([], [], color=FOCAL_COLOUR, marker="o", label="Headline specification"),
    ]
    handles += [
        Patch(
            color=colour,
            alpha=0.35,
            lw=0,
            label=legend_entry(f"95% CI: {multiverse.label('covariance', c)}", LEGEND_WIDTH),
        )
        for c, colour in zip(multiverse.covariances, BAND_COLOURS, strict=False)
    ]
    if not null_curve.empty:
        draws = int(null_curve["draws"].iloc[0])
        handles.append(
            Patch(color=NULL_COLOUR, lw=0, label=f"95% of curves with no effect ({draws} draws)")
        )
    return handles


def choice_medians(specifications: pd.DataFrame, multiverse: Multiverse) -> pd.DataFrame:
    """Per panel, the median and quartiles of the designs' estimates for each value row
    of each varying choice."""
    table = designs(specifications)
    choices = varying_choices(table)
    rows = []
    for key in panels(table):
        panel = ranked(table, key)
        for row in dashboard_rows(multiverse, choices, panel):
            estimates = panel["estimate"].to_numpy()[row.has]
            if row.value is None or not estimates.size:
                continue
            rows.append(
                {
                    "outcome": key[0],
                    "focal": key[1],
                    "choice": row.choice,
                    "value": row.value,
                    "label": multiverse.label(row.choice, row.value),
                    "estimates": int(estimates.size),
                    "median": float(np.median(estimates)),
                    "q25": float(np.quantile(estimates, 0.25)),
                    "q75": float(np.quantile(estimates, 0.75)),
                }
            )
    return pd.DataFrame(rows)


def plot_choice_medians(
    specifications: pd.DataFrame, multiverse: Multiverse, footer: str = ""
) -> Figure:
    """How the estimate moves with each choice: per panel (columns), the median and
    interquartile range of the designs sharing each value (rows)."""
    table = designs(specifications)
    medians = choice_medians(specifications, multiverse)
    keys = panels(table)
    plans = []  # as on the curve: the narrowest width that fits, else the shortest
    for width in CHOICE_LABEL_WIDTHS:
        rows = dashboard_rows(multiverse, varying_choices(table), table, width)
        titles = max(
            _panel_title(multiverse, key, title_width(width, len(keys))).count("\n") + 1
            for key in keys
        )
        height = (
            _lines(rows).sum() * CHOICE_LINE_HEIGHT
            + PANEL_MARGIN
            + titles * TITLE_LINE
            + FIGURE_MARGIN
            + 2 * TITLE_LINE  # the figure's title
        )
        plans.append((height, width, rows))
    fitting = [plan for plan in plans if plan[0] <= MAX_HEIGHT]
    height, width, rows = fitting[0] if fitting else min(plans, key=lambda p: p[0])
    with matplotlib.rc_context(style()):
        figure, content = new_figure(FIGURE_WIDTH, height, footer)
        axes = content.subplots(1, len(keys), squeeze=False)[0]
        for column, (ax, key) in enumerate(zip(axes, keys, strict=True)):
            shown = medians[(medians["outcome"] == key[0]) & (medians["focal"] == key[1])]
            shown = shown.set_index(["choice", "value"])
            for centre, row in zip(_centres(rows), rows, strict=True):
                if (row.choice, row.value) not in shown.index:
                    continue
                entry = shown.loc[(row.choice, row.value)]
                ax.hlines(centre, entry["q25"], entry["q75"], color=POSITIVE_COLOUR, lw=2.5)
                ax.scatter(entry["median"], centre, color="#000000", s=14, zorder=3)
            ax.axvline(
                float(np.median(ranked(table, key)["estimate"])), color="#000000", lw=0.8, ls=":"
            )
            ax.axvline(0, color=REFERENCE_COLOUR, lw=0.8, ls="--")
            _row_axis(ax, rows, column == 0)
            ax.tick_params(labelsize=SMALL_TEXT)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
            ax.set_title(
                _panel_title(multiverse, key, title_width(width, len(keys))),
                fontsize=SMALL_TEXT,
                fontweight="normal",
            )
            ax.set_xlabel("Estimate", fontsize=SMALL_TEXT)
        content.suptitle(
            "Median estimate (dot) and interquartile range (bar) of the designs sharing\n"
            "each choice, per outcome and focal definition; dotted: the panel's median",
            fontsize=10.5,
            fontweight="bold",
        )
    return figure
