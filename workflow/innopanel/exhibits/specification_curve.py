"""The multiverse's figures: the specification curve and the estimate by choice.

The curve (Simonsohn, Simmons and Nelson 2020) ranks every estimated focal coefficient
with its 95 % interval, coloured by sign and significance, the focal specification
marked; under it a dashboard marks each specification's choices (one row per value,
one per control variable). The choice figure shows the median estimate (and the
interquartile range) of the specifications sharing each value of each choice. The
joint tests' table is :mod:`innopanel.exhibits.joint_tests_table`.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from innopanel.config.multiverse import CHOICES, CONTROL_SEPARATOR, NO_CONTROLS
from innopanel.exhibits.frames import check_columns
from innopanel.exhibits.style import (
    FOCAL_COLOUR,
    OTHER_COLOUR,
    REFERENCE_COLOUR,
    new_figure,
    style,
)

POSITIVE_COLOUR, NEGATIVE_COLOUR = "#0072B2", "#E69F00"
CHOICE_TITLES = {
    "outcome": "Outcome",
    "focal": "Focal definition",
    "controls": "Controls",
    "fixed_effects": "Fixed effects",
    "lag": "Lag (years)",
    "covariance": "Covariance",
    "sample": "Sample",
}
CURVE_COLUMNS = ("spec_id", *CHOICES, "role", "estimate", "ci_lower", "ci_upper", "p_value")


def curve(specifications: pd.DataFrame) -> pd.DataFrame:
    """The estimated focal rows, ranked by estimate (ties by id, so the order is stable)."""
    check_columns(specifications, CURVE_COLUMNS, "specification curve")
    focal = specifications[(specifications["role"] == "focal") & specifications["estimate"].notna()]
    if focal.empty:
        raise ValueError("specification curve: no specification was estimated; see their notes.")
    ranked = focal.sort_values(["estimate", "spec_id"], kind="mergesort")
    return ranked.reset_index(drop=True)


def _dashboard_rows(ranked: pd.DataFrame, order: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    """(choice title, value label, which ranked specifications have it), top to bottom;
    values in grid order (the order of ``order``'s rows)."""
    rows = []
    for choice in CHOICES:
        values = ranked[choice]
        if choice == "controls":
            members = [
                set() if v == NO_CONTROLS else set(str(v).split(CONTROL_SEPARATOR)) for v in values
            ]
            for control in dict.fromkeys(
                c
                for v in order[choice]
                if v != NO_CONTROLS
                for c in str(v).split(CONTROL_SEPARATOR)
            ):
                rows.append(
                    (CHOICE_TITLES[choice], control, np.array([control in m for m in members]))
                )
            continue
        for value in dict.fromkeys(order[choice]):
            rows.append((CHOICE_TITLES[choice], str(value), (values == value).to_numpy()))
    return rows


def plot_specification_curve(
    specifications: pd.DataFrame, focal_id: str, footer: str = ""
) -> Figure:
    """Ranked focal estimates with 95 % intervals over a dashboard of their choices."""
    ranked = curve(specifications)
    rank = np.arange(len(ranked))
    significant = ranked["p_value"].to_numpy() < 0.05
    positive = ranked["estimate"].to_numpy() > 0
    colours = np.where(
        significant, np.where(positive, POSITIVE_COLOUR, NEGATIVE_COLOUR), OTHER_COLOUR
    )
    grid_order = specifications[specifications["role"] == "focal"]
    rows = _dashboard_rows(ranked, grid_order)
    with matplotlib.rc_context(style()):
        figure, content = new_figure(8.0, 3.0 + 0.16 * len(rows), footer)
        top, bottom = content.subplots(
            2, 1, sharex=True, height_ratios=[3.0, 0.16 * len(rows)], gridspec_kw={"hspace": 0.02}
        )
        top.vlines(rank, ranked["ci_lower"], ranked["ci_upper"], colors=colours, lw=0.4, alpha=0.35)
        top.scatter(rank, ranked["estimate"], c=colours, s=2, lw=0)
        top.axhline(0, color=REFERENCE_COLOUR, lw=0.8, ls="--")
        top.axhline(float(np.median(ranked["estimate"])), color="#000000", lw=0.8, ls=":")
        marked = np.flatnonzero(ranked["spec_id"].to_numpy() == focal_id)
        if marked.size:
            top.axvline(marked[0], color=FOCAL_COLOUR, lw=0.9)
            top.scatter(
                marked, ranked["estimate"].to_numpy()[marked], color=FOCAL_COLOUR, s=30, zorder=3
            )
        top.set_ylabel("Focal estimate (95% CI)")
        top.set_title(
            f"Specification curve: {len(ranked)} specifications, ranked; "
            f"{significant.mean():.0%} significant at 5%\n"
            "blue: positive, orange: negative, grey: not significant; dotted: median; "
            "vermilion: focal",
            fontsize=9,
        )
        for position, (_, _, has) in enumerate(rows):
            bottom.scatter(
                rank[has], np.full(has.sum(), position), s=1.2, marker="|", lw=0.5, color="#404040"
            )
        if marked.size:
            bottom.axvline(marked[0], color=FOCAL_COLOUR, lw=0.9)
        bottom.set_yticks(
            range(len(rows)), [f"{title}: {value}" for title, value, _ in rows], fontsize=6
        )
        bottom.set_ylim(len(rows) - 0.5, -0.5)
        bottom.set_xlabel("Specification, ranked by estimate")
        bottom.grid(False)
    return figure


def choice_medians(specifications: pd.DataFrame) -> pd.DataFrame:
    """Median and quartiles of the focal estimate for each value of each choice."""
    ranked = curve(specifications)
    rows = []
    for choice in CHOICES:
        # Values in grid order (the order the specifications were declared in).
        for value in dict.fromkeys(specifications[choice]):
            group = ranked[ranked[choice] == value]
            if group.empty:
                continue
            estimates = group["estimate"].to_numpy()
            rows.append(
                {
                    "choice": choice,
                    "value": str(value),
                    "specifications": len(group),
                    "median": float(np.median(estimates)),
                    "q25": float(np.quantile(estimates, 0.25)),
                    "q75": float(np.quantile(estimates, 0.75)),
                }
            )
    return pd.DataFrame(rows)


def plot_choice_medians(specifications: pd.DataFrame, footer: str = "") -> Figure:
    """How the focal estimate moves with each choice: median and interquartile range of
    the specifications sharing a value, one panel per choice."""
    table = choice_medians(specifications)
    overall = float(np.median(curve(specifications)["estimate"]))
    choices = list(dict.fromkeys(table["choice"]))
    heights = [max(1, (table["choice"] == c).sum()) for c in choices]
    with matplotlib.rc_context(style()):
        figure, content = new_figure(7.0, 0.32 * sum(heights) + 0.5 * len(choices), footer)
        axes = content.subplots(len(choices), 1, sharex=True, height_ratios=heights)
        for ax, choice in zip(np.atleast_1d(axes), choices, strict=True):
            rows = table[table["choice"] == choice].reset_index(drop=True)
            y = np.arange(len(rows))
            ax.hlines(y, rows["q25"], rows["q75"], color=POSITIVE_COLOUR, lw=2)
            ax.scatter(rows["median"], y, color="#000000", s=14, zorder=3)
            ax.axvline(overall, color="#000000", lw=0.8, ls=":")
            ax.axvline(0, color=REFERENCE_COLOUR, lw=0.8, ls="--")
            ax.set_yticks(
                y,
                [f"{v} ({n})" for v, n in zip(rows["value"], rows["specifications"], strict=True)],
                fontsize=7,
            )
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.set_title(CHOICE_TITLES[choice], loc="left", fontsize=9)
        np.atleast_1d(axes)[-1].set_xlabel(
            "Focal estimate: median (dot) and interquartile range by value"
        )
    return figure
