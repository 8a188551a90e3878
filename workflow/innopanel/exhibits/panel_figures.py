"""Figures that describe the panel in one year or as a whole: the focal unit against
its peers in the latest year (the source study's own comparison), the ranking of all
units on one variable, and the correlation heatmap.

They share the theme, palette, footer and saving of :mod:`innopanel.exhibits.figures`; the
correlation heatmap draws the same numbers as the correlation table
(:func:`innopanel.exhibits.summary_tables.correlation_matrix`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from innopanel.exhibits.figures import (
    FIT_COLOUR,
    FOCAL_COLOUR,
    MAX_WIDTH,
    OTHER_COLOUR,
    PEER_GROUP_COLOUR,
    REFERENCE_COLOUR,
    check_columns,
    corner_note,
    focal_and_peers,
    lower_first,
    new_figure,
    plain,
    style,
    unit_names,
    wrap,
)
from innopanel.exhibits.summary_tables import correlation_matrix
from innopanel.vocabulary import unit_words

_TRAILING_UNIT = re.compile(r"\s*\([^()]*\)\s*$")


def label_without_unit(label: str) -> str:
    """Drop a trailing parenthesised unit: "GDP (CNY 100 million)" -> "GDP"."""
    return _TRAILING_UNIT.sub("", label) or label


def comparison_year(
    panel: pd.DataFrame,
    focal_unit: str,
    variables: Sequence[str],
    year: int | None = None,
    unit: str = "city",
) -> int:
    """Return ``year`` if given (checking it is in the panel), else the latest year in
    which the focal unit has every one of ``variables`` observed."""
    singular, _ = unit_words(unit)
    years = pd.to_numeric(panel["year"], errors="coerce")
    if year is not None:
        if not (years == int(year)).any():
            raise ValueError(
                f"year {year} is not in the panel (it covers {int(years.min())}–"
                f"{int(years.max())}); change the exhibit's year in config/config.yaml."
            )
        return int(year)
    focal = panel[panel["unit_id"].astype(str) == focal_unit].dropna(subset=list(variables))
    if focal.empty:
        raise ValueError(
            f"focal {singular} '{focal_unit}' has no year with all of {list(variables)} "
            "observed; set the exhibit's year or choose other variables."
        )
    return int(pd.to_numeric(focal["year"]).max())


def bar_decimals(values: Sequence[float]) -> int:
    """Decimals for one panel's value labels: none for counts, else about three
    significant digits at the panel's median, the same for every bar."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite or all(v.is_integer() for v in finite):
        return 0
    typical = float(np.median(np.abs(finite)))
    return 0 if typical >= 100 else 1 if typical >= 10 else 2


def _bar_panel(
    ax,
    names: list[str],
    values: list[float],
    colours: list[str],
    gids: list[str],
    fontsize: float = 8.5,
):
    """Horizontal bars, largest on top, each labelled with its value."""
    decimals = bar_decimals(values)
    positions = np.arange(len(names))[::-1]
    bars = ax.barh(positions, values, color=colours, height=0.7, zorder=2)
    for bar, gid in zip(bars, gids, strict=True):
        bar.set_gid(gid)
    ax.set_yticks(positions, names)
    finite = [v for v in values if math.isfinite(v)]
    span = max(finite, default=1.0) or 1.0
    for position, value in zip(positions, values, strict=True):
        ax.text(
            value + 0.01 * span,
            position,
            f"{value:,.{decimals}f}",
            va="center",
            ha="left",
            fontsize=fontsize,
            # A white box keeps the value legible where a reference line crosses it.
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85},
            zorder=4,
            color="#303030",
        )
    ax.set_xlim(0, span * 1.18)
    ax.grid(axis="y", visible=False)
    return bars


def plot_focal_vs_peers(
    panel: pd.DataFrame,
    focal_unit: str,
    peer_units: Sequence[str],
    variables: Sequence[str],
    relative_to_peers: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: str = "city",
    year: int | None = None,
) -> Figure:
    """Compare the focal unit with each peer in one year (the latest by default).

    One panel per variable in ``variables``: the focal unit and its peers as bars,
    largest on top, the focal unit in vermillion and a dashed line at the peers'
    median. One panel per variable in ``relative_to_peers``: the focal unit's value
    as a percentage of each peer's (the source study's "GDP was 45.8 % of
    Shanghai's"), with a line at 100 %. Peers without data that year are named in
    the panel ("no data").
    """
    labels = labels or {}
    variables, relative_to_peers = list(variables), list(relative_to_peers)
    everything = [*variables, *relative_to_peers]
    if not everything:
        raise ValueError("plot_focal_vs_peers: no variables to compare.")
    check_columns(panel, ["unit_id", "year", *everything], "plot_focal_vs_peers")
    peers = focal_and_peers(panel, focal_unit, peer_units, unit)
    if not peers:
        raise ValueError("plot_focal_vs_peers: no peers besides the focal unit.")
    year = comparison_year(panel, focal_unit, everything, year, unit)
    names = unit_names(panel)
    frame = panel[pd.to_numeric(panel["year"], errors="coerce") == year].assign(
        unit_id=lambda f: f["unit_id"].astype(str)
    )
    values = frame.drop_duplicates("unit_id").set_index("unit_id")
    focal_name = plain(names.get(focal_unit, focal_unit))

    def value(unit_id: str, variable: str) -> float:
        if unit_id not in values.index:
            return float("nan")
        return float(pd.to_numeric(values.at[unit_id, variable], errors="coerce"))

    n_panels = len(everything)
    n_columns = 2 if n_panels > 1 else 1
    n_rows = math.ceil(n_panels / n_columns)
    row_height = 0.3 * (len(peers) + 1) + 1.0
    with matplotlib.rc_context(style()):
        figure, content = new_figure(MAX_WIDTH, row_height * n_rows + 1.0, footer)
        axes = content.subplots(n_rows, n_columns, squeeze=False)
        for index, variable in enumerate(everything):
            ax = axes[index // n_columns][index % n_columns]
            relative = variable in relative_to_peers and index >= len(variables)
            label = str(labels.get(variable, variable))
            if relative:
                focal_value = value(focal_unit, variable)
                rows = [(p, 100.0 * focal_value / value(p, variable)) for p in peers]
                short = label_without_unit(label)
                title = f"{short}: {focal_name} relative to each peer"
                x_label = f"{focal_name}'s {lower_first(short)} as % of the peer's"
            else:
                rows = [(u, value(u, variable)) for u in [focal_unit, *peers]]
                title = label
                x_label = label
            missing = [plain(names.get(u, u)) for u, v in rows if not math.isfinite(v)]
            rows = sorted([(u, v) for u, v in rows if math.isfinite(v)], key=lambda pair: -pair[1])
            _bar_panel(
                ax,
                [plain(names.get(u, u)) for u, _ in rows],
                [v for _, v in rows],
                [FOCAL_COLOUR if u == focal_unit else PEER_GROUP_COLOUR for u, _ in rows],
                ["focal" if u == focal_unit else "peer" for u, _ in rows],
            )
            if relative:
                ax.axvline(
                    100.0, color=FIT_COLOUR, linestyle="--", linewidth=1.2, zorder=1, gid="parity"
                )
                ax.set_xlim(0, max(ax.get_xlim()[1], 115.0))
            else:
                peer_values = [v for u, v in rows if u != focal_unit]
                if peer_values:
                    ax.axvline(
                        float(np.median(peer_values)),
                        color=REFERENCE_COLOUR,
                        linestyle="--",
                        linewidth=1.2,
                        zorder=1,
                        gid="peer_median",
                    )
            ax.set_title(wrap(title, 44))
            ax.set_xlabel(wrap(x_label, 50))
            if missing:
                ax.text(
                    1.0,
                    0.02,
                    "no data: " + ", ".join(missing),
                    transform=ax.transAxes,
                    ha="right",
                    va="bottom",
                    fontsize=7.5,
                    color="#404040",
                )
        for index in range(n_panels, n_rows * n_columns):
            axes[index // n_columns][index % n_columns].set_visible(False)
        singular, plural = unit_words(unit)
        handles = [
            Patch(color=FOCAL_COLOUR, label=f"{focal_name} (focal {singular})"),
            Patch(color=PEER_GROUP_COLOUR, label=f"Peer {plural}"),
        ]
        if variables:
            handles.append(
                Line2D([], [], color=REFERENCE_COLOUR, linestyle="--", label="Median of the peers")
            )
        if n_panels > len(variables):
            handles.append(Line2D([], [], color=FIT_COLOUR, linestyle="--", label="Parity (100%)"))
        content.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
        content.suptitle(
            f"{focal_name} against its peers in {year}", fontsize=12, fontweight="bold"
        )
    return figure


def plot_ranking(
    panel: pd.DataFrame,
    variable: str,
    focal_unit: str,
    peer_units: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: str = "city",
    year: int | None = None,
) -> Figure:
    """Rank every unit on ``variable`` in one year (the latest by default).

    Bars run from the highest value at the top; the focal unit is vermillion, its
    peers blue, the others grey; the focal unit's rank is printed.
    """
    labels = labels or {}
    check_columns(panel, ["unit_id", "year", variable], "plot_ranking")
    peers = set(focal_and_peers(panel, focal_unit, peer_units, unit))
    year = comparison_year(panel, focal_unit, [variable], year, unit)
    singular, plural = unit_words(unit)
    names = unit_names(panel)
    frame = panel[pd.to_numeric(panel["year"], errors="coerce") == year]
    frame = (
        frame.assign(unit_id=frame["unit_id"].astype(str))
        .dropna(subset=[variable])
        .drop_duplicates("unit_id")
    )
    # Ties are broken by name, so the order never depends on the input's row order.
    frame = frame.assign(name=[names.get(u, u) for u in frame["unit_id"]]).sort_values(
        [variable, "name"], ascending=[False, True]
    )
    ids = list(frame["unit_id"])
    values = [float(v) for v in frame[variable]]
    rank = ids.index(focal_unit) + 1
    label = str(labels.get(variable, variable))

    def colour(unit_id: str) -> str:
        if unit_id == focal_unit:
            return FOCAL_COLOUR
        return PEER_GROUP_COLOUR if unit_id in peers else OTHER_COLOUR

    with matplotlib.rc_context(style()):
        figure, content = new_figure(7.0, 0.16 * len(ids) + 1.9, footer)
        ax = content.subplots()
        _bar_panel(
            ax,
            [plain(names.get(u, u)) for u in ids],
            values,
            [colour(u) for u in ids],
            ["focal" if u == focal_unit else ("peer" if u in peers else "other") for u in ids],
            fontsize=7.5,
        )
        ax.tick_params(axis="y", labelsize=7.5)
        for tick, unit_id in zip(ax.get_yticklabels(), ids, strict=True):
            if unit_id == focal_unit:
                tick.set_fontweight("bold")
                tick.set_color(FOCAL_COLOUR)
        ax.set_ylim(-0.7, len(ids) - 0.3)
        ax.set_xlabel(wrap(f"{label}, {year}", 60))
        focal_name = plain(names.get(focal_unit, focal_unit))
        corner_note(ax, f"{focal_name}: rank {rank} of {len(ids)}", "lower right", gid="rank")
        ax.set_title(
            wrap(f"{plural.capitalize()} ranked by {lower_first(label_without_unit(label))}", 60)
        )
        content.legend(
            handles=[
                Patch(color=FOCAL_COLOUR, label=f"{focal_name} (focal {singular})"),
                Patch(color=PEER_GROUP_COLOUR, label=f"Peer {plural}"),
                Patch(color=OTHER_COLOUR, label=f"Other {plural}"),
            ],
            loc="outside lower center",
            ncols=3,
            fontsize=9,
        )
    return figure


def plot_correlation_heatmap(
    panel: pd.DataFrame,
    variables: Sequence[str],
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: str = "city",
) -> Figure:
    """Draw the lower triangle of the pairwise Pearson correlation matrix.

    Cells are numbered like the correlation table, coloured on a diverging
    colour-blind-safe scale fixed at −1 to 1 and annotated with two decimals.
    """
    labels = labels or {}
    variables = list(variables)
    correlations, _ = correlation_matrix(panel, variables)
    singular, _ = unit_words(unit)
    years = pd.to_numeric(panel["year"], errors="coerce").dropna()
    k = len(variables)
    mask = np.triu(np.ones((k, k), dtype=bool), k=1)
    row_labels = [wrap(f"({i + 1}) {labels.get(v, v)}", 26) for i, v in enumerate(variables)]
    values = correlations.to_numpy()
    # Annotations with a true minus sign, like the tick labels.
    annotations = [[f"{r:.2f}".replace("-", "\u2212") for r in row] for row in values]
    with matplotlib.rc_context(style()):
        figure, content = new_figure(min(MAX_WIDTH, 0.75 * k + 4.2), 0.65 * k + 1.6, footer)
        ax = content.subplots()
        sns.heatmap(
            values,
            mask=mask,
            vmin=-1.0,
            vmax=1.0,
            center=0.0,
            cmap=sns.color_palette("RdBu_r", as_cmap=True),
            annot=np.array(annotations),
            fmt="",
            annot_kws={"fontsize": 9},
            linewidths=0.8,
            linecolor="white",
            cbar_kws={"label": "Pearson correlation coefficient", "shrink": 0.8},
            xticklabels=[f"({i + 1})" for i in range(k)],
            yticklabels=row_labels,
            ax=ax,
        )
        ax.tick_params(axis="y", rotation=0)
        ax.tick_params(axis="x", rotation=0)
        ax.set_xlabel("Variable, numbered as in the rows")
        ax.grid(False)
        span = f", {int(years.min())}–{int(years.max())}" if len(years) else ""
        ax.set_title(wrap(f"Pairwise correlations ({singular}-years{span})", 60))
    return figure
