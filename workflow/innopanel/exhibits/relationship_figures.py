"""Figures of how the variables move together: the within-unit relationship of an
outcome and a regressor (the one-way fixed-effects slope, drawn) and the correlation
heatmap, which draws the same numbers as the correlation table
(:func:`innopanel.exhibits.summary_tables.correlation_matrix`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from innopanel.exhibits.frames import check_columns, unit_names
from innopanel.exhibits.style import (
    FIT_COLOUR,
    FOCAL_COLOUR,
    MAX_WIDTH,
    OTHER_COLOUR,
    REFERENCE_COLOUR,
    corner_note,
    legend_entry,
    new_figure,
    style,
    wrap,
)
from innopanel.exhibits.summary_tables import correlation_matrix
from innopanel.vocabulary import UnitNoun, unit_words


def within_unit_demeaned(panel: pd.DataFrame, outcome: str, regressor: str) -> pd.DataFrame:
    """Return unit-year rows with both variables demeaned by unit.

    Only rows where both variables are present are used, and the means are taken
    over exactly those rows, so the slope of ``outcome_within`` on
    ``regressor_within`` is the one-way (unit) fixed-effects estimate without
    controls.
    """
    columns = ["unit_id", "year", outcome, regressor]
    frame = panel[columns].dropna().copy()
    frame["unit_id"] = frame["unit_id"].astype(str)
    means = frame.groupby("unit_id")[[outcome, regressor]].transform("mean")
    frame[f"{outcome}_within"] = frame[outcome] - means[outcome]
    frame[f"{regressor}_within"] = frame[regressor] - means[regressor]
    return frame.reset_index(drop=True)


def within_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return (intercept, slope) of the OLS line of ``y`` on ``x``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x_centred = x - x.mean()
    denominator = float(np.dot(x_centred, x_centred))
    if denominator == 0.0:
        raise ValueError("the regressor does not vary within units; no slope to fit.")
    slope = float(np.dot(x_centred, y - y.mean())) / denominator
    return float(y.mean() - slope * x.mean()), slope


def plot_within_relationship(
    panel: pd.DataFrame,
    outcome: str,
    regressor: str,
    labels: Mapping[str, str] | None = None,
    focal_unit: str | None = None,
    footer: str = "",
    unit: UnitNoun | str = "unit",
) -> Figure:
    """Scatter the within-unit variation of ``outcome`` against ``regressor``.

    Both variables are demeaned by unit; the OLS line through all unit-years is
    drawn and its slope printed; the focal unit's points are highlighted.
    """
    labels = labels or {}
    singular, plural = unit_words(unit)
    check_columns(panel, ["unit_id", "year", outcome, regressor], "plot_within_relationship")
    data = within_unit_demeaned(panel, outcome, regressor)
    if len(data) < 3:
        raise ValueError(
            f"plot_within_relationship: only {len(data)} {singular}-years have both "
            f"'{outcome}' and '{regressor}'."
        )
    x_name, y_name = f"{regressor}_within", f"{outcome}_within"
    intercept, slope = within_slope(data[x_name].to_numpy(), data[y_name].to_numpy())
    names = unit_names(panel)
    is_focal = data["unit_id"] == focal_unit if focal_unit else pd.Series(False, index=data.index)
    if focal_unit and not is_focal.any():
        raise ValueError(
            f"focal {singular} '{focal_unit}' has no {singular}-years with both variables."
        )

    with matplotlib.rc_context(style()):
        figure, content = new_figure(7.0, 5.6, footer)
        ax = content.subplots()
        sns.scatterplot(
            data=data[~is_focal],
            x=x_name,
            y=y_name,
            ax=ax,
            color=REFERENCE_COLOUR,
            alpha=0.45,
            s=16,
            edgecolor="none",
            label=f"Other {singular}-years",
            zorder=2,
        )
        if focal_unit:
            focal_name = legend_entry(names.get(focal_unit, focal_unit))
            sns.scatterplot(
                data=data[is_focal],
                x=x_name,
                y=y_name,
                ax=ax,
                color=FOCAL_COLOUR,
                s=60,
                edgecolor="black",
                linewidth=0.8,
                label=focal_name,
                zorder=4,
                gid="focal",
            )
        x_range = np.array([data[x_name].min(), data[x_name].max()])
        ax.plot(
            x_range,
            intercept + slope * x_range,
            color=FIT_COLOUR,
            linewidth=1.8,
            label="OLS fit",
            zorder=3,
        )
        ax.axhline(0.0, color=OTHER_COLOUR, linewidth=0.8, zorder=1)
        ax.axvline(0.0, color=OTHER_COLOUR, linewidth=0.8, zorder=1)
        corner_note(
            ax,
            f"Within-{singular} OLS slope = {slope:.3f}\n"
            f"{len(data):,} {singular}-years, {data['unit_id'].nunique()} {plural}, no controls",
            "upper left",
            gid="slope",
        )
        ax.set_xlabel(
            wrap(labels.get(regressor, regressor), 60) + f"\n(deviation from {singular} mean)"
        )
        ax.set_ylabel(
            wrap(labels.get(outcome, outcome), 50) + f"\n(deviation from {singular} mean)"
        )
        ax.legend(loc="lower right", frameon=True, framealpha=0.9, edgecolor=OTHER_COLOUR)
        ax.set_title(f"Within-{singular} relationship (both variables demeaned by {singular})")
    return figure


def plot_correlation_heatmap(
    panel: pd.DataFrame,
    variables: Sequence[str],
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: UnitNoun | str = "unit",
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
