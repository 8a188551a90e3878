"""Figures of the focal unit among the other units: against each peer in one year
(the source study's own comparison), every unit ranked on one variable, and the
focal unit, its peers and the median other unit over the years.

They share the theme, palette, footer and saving of :mod:`innopanel.exhibits.style`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from innopanel.exhibits.frames import check_columns, unit_names
from innopanel.exhibits.style import (
    FIT_COLOUR,
    FOCAL_COLOUR,
    MAX_WIDTH,
    OTHER_COLOUR,
    PEER_COLOURS,
    PEER_GROUP_COLOUR,
    PEER_LINESTYLES,
    REFERENCE_COLOUR,
    axis_name,
    corner_note,
    legend_columns,
    legend_entry,
    lower_first,
    new_figure,
    plain_numbers,
    style,
    wrap,
)
from innopanel.vocabulary import UnitNoun, capitalised, unit_words

_TRAILING_UNIT = re.compile(r"\s*\([^()]*\)\s*$")


def label_without_unit(label: str) -> str:
    """Drop a trailing parenthesised unit: "GDP (CNY 100 million)" -> "GDP"."""
    return _TRAILING_UNIT.sub("", label) or label


def focal_and_peers(
    panel: pd.DataFrame, focal_unit: str, peer_units: Sequence[str], unit: UnitNoun | str
) -> list[str]:
    """Check that the focal unit and its peers are in the panel; return the peers in order.

    The focal unit is dropped from the peers, and duplicates are dropped.
    """
    singular, plural = unit_words(unit)
    present = set(panel["unit_id"].astype(str))
    if focal_unit not in present:
        raise ValueError(
            f"focal {singular} '{focal_unit}' is not in the panel; check study.focal_unit."
        )
    missing = [u for u in peer_units if u not in present]
    if missing:
        raise ValueError(f"peer {plural} {missing} are not in the panel; check study.peer_units.")
    return [u for u in dict.fromkeys(peer_units) if u != focal_unit]


def comparison_year(
    panel: pd.DataFrame,
    focal_unit: str,
    variables: Sequence[str],
    year: int | None = None,
    unit: UnitNoun | str = "unit",
) -> int:
    """Return ``year`` if given (checking it is in the panel), else the latest year in
    which the focal unit has every one of ``variables`` observed."""
    singular, _ = unit_words(unit)
    years = pd.to_numeric(panel["year"], errors="coerce")
    if year is not None:
        if not (years == int(year)).any():
            raise ValueError(
                f"year {year} is not in the panel (it covers {int(years.min())}–"
                f"{int(years.max())}); change the exhibit's year in the study config."
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
    texts = [f"{value:,.{decimals}f}" for value in values]
    for position, value, text in zip(positions, values, texts, strict=True):
        ax.text(
            value + 0.01 * span,
            position,
            text,
            va="center",
            ha="left",
            fontsize=fontsize,
            # A white box keeps the value legible where a reference line crosses it.
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85},
            zorder=4,
            color="#303030",
        )
    # Room right of the longest bar for its value (about 3 % of a panel a character).
    ax.set_xlim(0, span * (1.06 + 0.028 * max(map(len, texts), default=4)))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    plain_numbers(ax.xaxis)
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
    unit: UnitNoun | str = "unit",
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
    focal_name = legend_entry(names.get(focal_unit, focal_unit))

    def value(unit_id: str, variable: str) -> float:
        if unit_id not in values.index:
            return float("nan")
        return float(pd.to_numeric(values.at[unit_id, variable], errors="coerce"))

    n_panels = len(everything)
    n_columns = 2 if n_panels > 1 else 1
    n_rows = math.ceil(n_panels / n_columns)
    # Names wrap onto a second line where they are long: give those bars the room.
    name_lines = max(axis_name(names.get(u, u)).count("\n") + 1 for u in [focal_unit, *peers])
    row_height = (0.3 + 0.12 * (name_lines - 1)) * (len(peers) + 1) + 1.0
    # Titles and axis labels wrap to the width of their panel: constrained layout
    # makes room for them only vertically, so one wider than its panel would be cut.
    title_width = 44 if n_columns == 1 else 22
    with matplotlib.rc_context(style()):
        figure, content = new_figure(MAX_WIDTH, row_height * n_rows + 1.0, footer)
        # A centred title may reach past its axes; a wider side pad keeps it whole.
        figure.get_layout_engine().set(w_pad=0.15)
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
            missing = [names.get(u, u) for u, v in rows if not math.isfinite(v)]
            rows = sorted([(u, v) for u, v in rows if math.isfinite(v)], key=lambda pair: -pair[1])
            _bar_panel(
                ax,
                [axis_name(names.get(u, u)) for u, _ in rows],
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
            ax.set_title(wrap(title, title_width))
            # Centred on its axes: wider than them it would pass the figure's edge.
            ax.set_xlabel(wrap(x_label, title_width - 2))
            if missing:
                ax.text(
                    1.0,
                    0.02,
                    wrap("no data: " + ", ".join(missing), title_width),
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
        content.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], len(handles)),
            fontsize=9,
        )
        content.suptitle(
            wrap(f"{focal_name} against its peers in {year}", 70), fontsize=12, fontweight="bold"
        )
    return figure


def ranking_rows(ids: Sequence[str], keep: set[str], top_and_bottom: int) -> list[int]:
    """The ranks (0-based) a long ranking shows: the top and bottom ``top_and_bottom``
    units and every unit in ``keep`` (the focal unit and its peers), in rank order."""
    return [
        index
        for index, unit_id in enumerate(ids)
        if index < top_and_bottom or index >= len(ids) - top_and_bottom or unit_id in keep
    ]


def not_ranked_note(names: Sequence[str], year: int, plural: str, most: int = 12) -> str:
    """The note of a ranking on the units it leaves out for want of a value, e.g.
    "Not ranked (no value in 2023): Tibet, Xinjiang." (at most ``most`` names, then a
    count), so that no unit drops out of it silently. Not escaped."""
    shown = ", ".join(names[:most])
    if len(names) > most:
        shown += f" and {len(names) - most} other {plural}"
    return f"Not ranked (no value in {year}): {shown}."


def plot_ranking(
    panel: pd.DataFrame,
    variable: str,
    focal_unit: str,
    peer_units: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: UnitNoun | str = "unit",
    year: int | None = None,
    max_units: int = 40,
    top_and_bottom: int = 15,
) -> Figure:
    """Rank every unit on ``variable`` in one year (the latest by default).

    Bars run from the highest value at the top; the focal unit is vermillion, its
    peers blue, the others grey; the focal unit's rank is printed. Beyond
    ``max_units`` units one bar each would be slivers: the figure then shows the top
    and bottom ``top_and_bottom`` units plus the focal unit and its peers, each name
    led by its rank, and says so in its title. Units of the panel without a value in
    the year are named below the axis (:func:`not_ranked_note`), never left out silently.
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
    ranked = list(frame["unit_id"])
    if focal_unit not in ranked:
        raise ValueError(
            f"plot_ranking: focal {singular} '{focal_unit}' has no {variable} in {year}; "
            "set exhibits.ranking.year to a year it has, or leave it out (the latest)."
        )
    rank = ranked.index(focal_unit) + 1
    unranked = sorted(names.get(u, u) for u in set(panel["unit_id"].astype(str)) - set(ranked))
    shown = (
        ranking_rows(ranked, {focal_unit, *peers}, top_and_bottom)
        if len(ranked) > max_units
        else list(range(len(ranked)))
    )
    ids = [ranked[index] for index in shown]
    values = [float(frame[variable].iloc[index]) for index in shown]
    label = str(labels.get(variable, variable))
    partial = len(shown) < len(ranked)

    def colour(unit_id: str) -> str:
        if unit_id == focal_unit:
            return FOCAL_COLOUR
        return PEER_GROUP_COLOUR if unit_id in peers else OTHER_COLOUR

    def tick(index: int) -> str:
        name = names.get(ranked[index], ranked[index])
        # A partial ranking leads each name with its rank, so the gaps can be read.
        return axis_name(f"{index + 1}. {name}" if partial else name)

    tick_names = [tick(index) for index in shown]
    name_lines = max(name.count("\n") + 1 for name in tick_names)
    with matplotlib.rc_context(style()):
        figure, content = new_figure(7.0, (0.16 + 0.1 * (name_lines - 1)) * len(ids) + 2.1, footer)
        ax = content.subplots()
        _bar_panel(
            ax,
            tick_names,
            values,
            [colour(u) for u in ids],
            ["focal" if u == focal_unit else ("peer" if u in peers else "other") for u in ids],
            fontsize=7.5,
        )
        ax.tick_params(axis="y", labelsize=7.5)
        for tick_label, unit_id in zip(ax.get_yticklabels(), ids, strict=True):
            if unit_id == focal_unit:
                tick_label.set_fontweight("bold")
                tick_label.set_color(FOCAL_COLOUR)
        ax.set_ylim(-0.7, len(ids) - 0.3)
        # Centred under an axes narrowed by long names: wrapped to stay inside the figure.
        x_label = wrap(f"{label}, {year}", 56)
        if unranked:
            x_label += "\n" + wrap(not_ranked_note(unranked, year, plural), 56)
        ax.set_xlabel(x_label)
        focal_name = legend_entry(names.get(focal_unit, focal_unit))
        corner_note(ax, f"{focal_name}: rank {rank} of {len(ranked)}", "lower right", gid="rank")
        # The title names exactly what is ranked: the variable's label and the year.
        title = f"{capitalised(plural)} ranked by {lower_first(label)} in {year}"
        if partial:
            title += (
                f": the top and bottom {top_and_bottom} of {len(ranked)}, the focal "
                f"{singular} and its peers ({len(ranked) - len(ids)} others not shown)"
            )
        ax.set_title(wrap(title, 60))
        handles = [
            Patch(color=FOCAL_COLOUR, label=f"{focal_name} (focal {singular})"),
            Patch(color=PEER_GROUP_COLOUR, label=f"Peer {plural}"),
            Patch(color=OTHER_COLOUR, label=f"Other {plural}"),
        ]
        content.legend(
            handles=handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in handles], 3, row_width=84),
            fontsize=9,
        )
    return figure


def year_span(frame: pd.DataFrame, variable: str) -> str:
    """The first and last year ``variable`` has a value in ``frame``, e.g. "2012–2023"
    (empty when it has none)."""
    years = pd.to_numeric(frame.loc[frame[variable].notna(), "year"]).dropna()
    return f"{int(years.min())}–{int(years.max())}" if len(years) else ""


def plot_trends(
    panel: pd.DataFrame,
    focal_unit: str,
    peer_units: Sequence[str],
    variables: Sequence[str],
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: UnitNoun | str = "unit",
) -> Figure:
    """Draw the focal unit against its peers over the years, one panel per variable.

    The focal unit is a thick vermillion line on top; each peer has its own
    colour-blind-safe colour; the median of all other units (neither focal nor peer)
    is a dashed grey reference line. Panels are laid out two per row and share one
    legend of English names below them.
    """
    labels = labels or {}
    variables = list(variables)
    if not variables:
        raise ValueError("plot_trends: no variables to draw.")
    check_columns(panel, ["unit_id", "year", *variables], "plot_trends")
    peer_units = focal_and_peers(panel, focal_unit, peer_units, unit)
    _, plural = unit_words(unit)
    names = unit_names(panel)
    frame = panel.assign(unit_id=panel["unit_id"].astype(str)).sort_values(["unit_id", "year"])
    others = frame[~frame["unit_id"].isin([focal_unit, *peer_units])]
    n_others = others["unit_id"].nunique()
    # Each variable's years are those with a value drawn, not the panel's window.
    spans = {variable: year_span(frame, variable) for variable in variables}

    n_columns = 2 if len(variables) > 1 else 1
    n_rows = math.ceil(len(variables) / n_columns)
    with matplotlib.rc_context(style()):
        figure, content = new_figure(MAX_WIDTH, 2.9 * n_rows + 1.5, footer)
        axes = content.subplots(n_rows, n_columns, squeeze=False, sharex=True)
        handles: list[Line2D] = []
        for index, variable in enumerate(variables):
            ax = axes[index // n_columns][index % n_columns]
            if n_others:
                median = others.groupby("year")[variable].median().dropna()
                (line,) = ax.plot(
                    median.index,
                    median.to_numpy(),
                    color=REFERENCE_COLOUR,
                    linestyle="--",
                    linewidth=1.6,
                    label=f"Median of {n_others} other {plural}",
                    zorder=2,
                )
                if index == 0:
                    median_handle = line
            for peer_index, peer in enumerate(peer_units):
                series = frame[frame["unit_id"] == peer]
                (line,) = ax.plot(
                    series["year"],
                    series[variable],
                    color=PEER_COLOURS[peer_index % len(PEER_COLOURS)],
                    linestyle=PEER_LINESTYLES[
                        (peer_index // len(PEER_COLOURS)) % len(PEER_LINESTYLES)
                    ],
                    linewidth=1.3,
                    alpha=0.9,
                    label=legend_entry(names.get(peer, peer)),
                    zorder=3,
                )
                if index == 0:
                    handles.append(line)
            series = frame[frame["unit_id"] == focal_unit]
            (line,) = ax.plot(
                series["year"],
                series[variable],
                color=FOCAL_COLOUR,
                linewidth=3.2,
                marker="o",
                markersize=3.5,
                label=legend_entry(names.get(focal_unit, focal_unit)),
                zorder=4,
                gid="focal",
            )
            if index == 0:
                focal_handle = line
            ax.set_ylabel(wrap(labels.get(variable, variable), 30))
            plain_numbers(ax.yaxis)
            if len(set(spans.values())) > 1:
                ax.set_title(spans[variable], loc="left", fontsize=9, fontweight="normal")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=7))
            ax.margins(x=0.02)
            if index // n_columns == n_rows - 1 or index + n_columns >= len(variables):
                ax.set_xlabel("Year")
                ax.tick_params(axis="x", labelbottom=True)
        for index in range(len(variables), n_rows * n_columns):
            axes[index // n_columns][index % n_columns].set_visible(False)
        legend_handles = [focal_handle, *handles]
        if n_others:
            legend_handles.append(median_handle)
        content.legend(
            handles=legend_handles,
            loc="outside lower center",
            ncols=legend_columns([h.get_label() for h in legend_handles], 4),
            fontsize=9,
            handlelength=2.6,
            columnspacing=1.4,
        )
        focal_name = legend_entry(names.get(focal_unit, focal_unit))
        # One span for all panels goes in the title; else each panel states its own.
        span = next(iter(spans.values())) if len(set(spans.values())) == 1 else ""
        content.suptitle(
            wrap(" ".join(f"Trends {span}".split()) + f": {focal_name} against its peers", 70),
            fontsize=12,
            fontweight="bold",
        )
    return figure
