"""Figures: the focal city against its peers, the within-city relationship, and
coefficients across models, saved with fixed metadata so bytes are reproducible.

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` built without
pyplot's global figure registry (nothing to close, nothing leaks between calls);
:func:`save_figure` writes it as PDF and PNG atomically and deterministically.
Every figure carries a footer (the caller's data note) along its bottom edge.

Text is drawn with DejaVu Sans, so city names come from the panel's English
``name_en`` column (no CJK font is assumed). Any ``$`` in labels or footers is
escaped, so it is printed and never starts matplotlib mathtext.
"""

from __future__ import annotations

import logging
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from innopanel.config import base_variable
from innopanel.io import atomic_path

#: Resolution of every PNG, in dots per inch.
DPI = 200
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

#: Okabe–Ito colours (colour-blind safe), without black (the focal city's colour)
#: and without yellow (too faint on white). Beyond six peers the colours repeat
#: with another line style.
PEER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
PEER_LINESTYLES = ("-", "-.", ":")
FOCAL_COLOUR = "#000000"
FOCAL_POINT_COLOUR = "#D55E00"
REFERENCE_COLOUR = "#8C8C8C"
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
MODEL_MARKERS = ("o", "s", "D", "^", "v", "P", "X")

FOOTER_FONT_SIZE = 8.0
DEFAULT_FOCAL_VS_PEERS_VARIABLES = ("rd_intensity", "talent", "open_platforms", "patents_per_10k")


def _style() -> dict[str, Any]:
    """Return the rc settings every figure is drawn and saved with."""
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper", font_scale=1.15))
    rc.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans"],
            "axes.titleweight": "bold",
            "axes.titlesize": 10.5,
            "legend.frameon": False,
            "svg.hashsalt": SVG_HASH_SALT,
            "pdf.fonttype": 42,
            "savefig.dpi": DPI,
            "figure.dpi": 100,
        }
    )
    return rc


def _plain(text: object) -> str:
    """Escape ``$`` so a label is printed literally, never parsed as mathtext."""
    return str(text).replace("$", r"\$")


def _wrap(text: object, width: int) -> str:
    return "\n".join(textwrap.wrap(_plain(text), width=width)) or ""


def _new_figure(width: float, height: float, footer: str) -> tuple[Figure, SubFigure]:
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
        _plain(wrapped),
        ha="left",
        va="center",
        fontsize=FOOTER_FONT_SIZE,
        color="#404040",
        gid="footer",
    )
    return figure, content


def _all_texts(figure: Figure | SubFigure) -> list[Text]:
    texts = list(figure.texts)
    for sub in figure.subfigs:
        texts += _all_texts(sub)
    return texts


def footer_text(figure: Figure) -> str:
    """Return the footer drawn on ``figure`` with its line breaks undone (for checks)."""
    for text in _all_texts(figure):
        if text.get_gid() == "footer":
            return " ".join(text.get_text().replace(r"\$", "$").split())
    return ""


def focal_label(figure: Figure) -> str | None:
    """Return the legend label of the focal city's artist (gid ``focal``), if drawn."""
    for ax in figure.get_axes():
        for artist in [*ax.lines, *ax.collections]:
            if artist.get_gid() == "focal":
                return artist.get_label()
    return None


def _city_names(panel: pd.DataFrame) -> dict[str, str]:
    if "name_en" not in panel.columns:
        return {}
    names = panel.dropna(subset=["name_en"]).drop_duplicates("unit_id")
    return dict(zip(names["unit_id"].astype(str), names["name_en"].astype(str), strict=True))


def _check_columns(panel: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise ValueError(f"{what}: the panel has no column(s) {missing}.")


def plot_focal_vs_peers(
    panel: pd.DataFrame,
    focal_unit: str,
    peer_units: Sequence[str],
    variables: Sequence[str] = DEFAULT_FOCAL_VS_PEERS_VARIABLES,
    labels: Mapping[str, str] | None = None,
    footer: str = "",
) -> Figure:
    """Draw the focal city against its peers over the years, one panel per variable.

    The focal city is a thick black line on top; each peer has its own colour-blind
    safe colour; the median of all other cities (neither focal nor peer) is a dashed
    grey reference line. Panels are laid out two per row (a 2×2 grid for the default
    four variables) and share one legend of English city names below them.
    """
    labels = labels or {}
    variables = list(variables)
    if not variables:
        raise ValueError("plot_focal_vs_peers: no variables to draw.")
    _check_columns(panel, ["unit_id", "year", *variables], "plot_focal_vs_peers")
    cities = set(panel["unit_id"].astype(str))
    if focal_unit not in cities:
        raise ValueError(f"focal city '{focal_unit}' is not in the panel.")
    missing_peers = [c for c in peer_units if c not in cities]
    if missing_peers:
        raise ValueError(f"peer cities {missing_peers} are not in the panel.")
    peer_units = [c for c in dict.fromkeys(peer_units) if c != focal_unit]
    names = _city_names(panel)
    frame = panel.assign(unit_id=panel["unit_id"].astype(str)).sort_values(["unit_id", "year"])
    others = frame[~frame["unit_id"].isin([focal_unit, *peer_units])]
    n_others = others["unit_id"].nunique()

    n_columns = 2 if len(variables) > 1 else 1
    n_rows = math.ceil(len(variables) / n_columns)
    with matplotlib.rc_context(_style()):
        figure, content = _new_figure(10.0, 3.4 * n_rows + 1.6, footer)
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
                    label=f"Median of {n_others} other cities",
                    zorder=2,
                )
                if index == 0:
                    median_handle = line
            for peer_index, city in enumerate(peer_units):
                series = frame[frame["unit_id"] == city]
                (line,) = ax.plot(
                    series["year"],
                    series[variable],
                    color=PEER_COLOURS[peer_index % len(PEER_COLOURS)],
                    linestyle=PEER_LINESTYLES[
                        (peer_index // len(PEER_COLOURS)) % len(PEER_LINESTYLES)
                    ],
                    linewidth=1.3,
                    alpha=0.9,
                    label=_plain(names.get(city, city)),
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
                label=_plain(names.get(focal_unit, focal_unit)),
                zorder=4,
                gid="focal",
            )
            if index == 0:
                focal_handle = line
            ax.set_ylabel(_wrap(labels.get(variable, variable), 30))
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
            ncols=min(len(legend_handles), 5),
            fontsize=9,
            handlelength=2.6,
            columnspacing=1.4,
        )
        focal_name = _plain(names.get(focal_unit, focal_unit))
        content.suptitle(f"{focal_name} against its peers", fontsize=12, fontweight="bold")
    return figure


def within_city_demeaned(panel: pd.DataFrame, outcome: str, regressor: str) -> pd.DataFrame:
    """Return city-year rows with both variables demeaned by city.

    Only rows where both variables are present are used, and the means are taken
    over exactly those rows, so the slope of ``outcome_within`` on
    ``regressor_within`` is the one-way (city) fixed-effects estimate without
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
        raise ValueError("the regressor does not vary within cities; no slope to fit.")
    slope = float(np.dot(x_centred, y - y.mean())) / denominator
    return float(y.mean() - slope * x.mean()), slope


def plot_within_relationship(
    panel: pd.DataFrame,
    outcome: str,
    regressor: str,
    labels: Mapping[str, str] | None = None,
    focal_unit: str | None = None,
    footer: str = "",
) -> Figure:
    """Scatter the within-city variation of ``outcome`` against ``regressor``.

    Both variables are demeaned by city; the OLS line through all city-years is
    drawn and its slope printed; the focal city's points are highlighted.
    """
    labels = labels or {}
    _check_columns(panel, ["unit_id", "year", outcome, regressor], "plot_within_relationship")
    data = within_city_demeaned(panel, outcome, regressor)
    if len(data) < 3:
        raise ValueError(
            f"plot_within_relationship: only {len(data)} city-years have both "
            f"'{outcome}' and '{regressor}'."
        )
    x_name, y_name = f"{regressor}_within", f"{outcome}_within"
    intercept, slope = within_slope(data[x_name].to_numpy(), data[y_name].to_numpy())
    names = _city_names(panel)
    is_focal = data["unit_id"] == focal_unit if focal_unit else pd.Series(False, index=data.index)
    if focal_unit and not is_focal.any():
        raise ValueError(f"focal city '{focal_unit}' has no city-years with both variables.")

    with matplotlib.rc_context(_style()):
        figure, content = _new_figure(7.5, 6.0, footer)
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
            label="Other city-years",
            zorder=2,
        )
        if focal_unit:
            focal_name = _plain(names.get(focal_unit, focal_unit))
            sns.scatterplot(
                data=data[is_focal],
                x=x_name,
                y=y_name,
                ax=ax,
                color=FOCAL_POINT_COLOUR,
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
            color="black",
            linewidth=1.8,
            label="OLS fit",
            zorder=3,
        )
        ax.axhline(0.0, color="#BBBBBB", linewidth=0.8, zorder=1)
        ax.axvline(0.0, color="#BBBBBB", linewidth=0.8, zorder=1)
        ax.text(
            0.03,
            0.97,
            f"Within-city OLS slope = {slope:.3f}\n"
            f"{len(data):,} city-years, {data['unit_id'].nunique()} cities, no controls",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=9.5,
            bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": "#BBBBBB"},
            gid="slope",
        )
        ax.set_xlabel(_wrap(labels.get(regressor, regressor), 60) + "\n(deviation from city mean)")
        ax.set_ylabel(_wrap(labels.get(outcome, outcome), 50) + "\n(deviation from city mean)")
        ax.legend(loc="lower right", frameon=True, framealpha=0.9, edgecolor="#BBBBBB")
        ax.set_title("Within-city relationship (both variables demeaned by city)")
    return figure


def coefficient_table(
    estimates: pd.DataFrame, terms: Sequence[str], models: Sequence[str]
) -> pd.DataFrame:
    """Return one row per (term, model) present: the estimate and its 95 % CI.

    A lagged term ``<v>_lag1`` is matched to ``<v>``; column ``lagged`` records it.
    """
    rows = []
    frame = estimates.assign(
        model=estimates["model"].astype(str), term=estimates["term"].astype(str)
    )
    for term in terms:
        for model in models:
            match = frame[(frame["model"] == model) & (frame["term"].map(base_variable) == term)]
            if match.empty:
                continue
            if len(match) > 1:
                raise ValueError(
                    f"model '{model}' has several terms for '{term}': "
                    f"{sorted(match['term'])}; the coefficient plot shows one per model."
                )
            row = match.iloc[0]
            rows.append(
                {
                    "term": term,
                    "model": model,
                    "estimate": float(row["estimate"]),
                    "ci_lower": float(row["ci_lower"]),
                    "ci_upper": float(row["ci_upper"]),
                    "lagged": row["term"] != term,
                }
            )
    return pd.DataFrame(
        rows, columns=["term", "model", "estimate", "ci_lower", "ci_upper", "lagged"]
    )


def plot_coefficients(
    estimates: pd.DataFrame,
    terms: Sequence[str],
    models: Sequence[str],
    model_labels: Mapping[str, str] | None = None,
    term_labels: Mapping[str, str] | None = None,
    footer: str = "",
) -> Figure:
    """Plot each term's coefficient with its 95 % CI across models.

    One panel per term (their scales differ), one row per model (top to bottom in
    ``models`` order), a dashed zero line; lagged terms are drawn in the row of the
    model that holds them, with a hollow marker.
    """
    model_labels = model_labels or {}
    term_labels = term_labels or {}
    terms, models = list(terms), list(models)
    if not terms or not models:
        raise ValueError("plot_coefficients: need at least one term and one model.")
    _check_columns(
        estimates, ["model", "term", "estimate", "ci_lower", "ci_upper"], "plot_coefficients"
    )
    table = coefficient_table(estimates, terms, models)
    absent = [t for t in terms if t not in set(table["term"])]
    if absent:
        raise ValueError(f"plot_coefficients: no model in {models} has term(s) {absent}.")

    positions = {model: len(models) - 1 - i for i, model in enumerate(models)}
    with matplotlib.rc_context(_style()):
        figure, content = _new_figure(
            max(7.5, 3.3 * len(terms) + 1.8), 0.5 * len(models) + 2.6, footer
        )
        axes = content.subplots(1, len(terms), sharey=True, squeeze=False)[0]
        for ax, term in zip(axes, terms, strict=True):
            ax.axvline(0.0, color=REFERENCE_COLOUR, linestyle="--", linewidth=1.2, zorder=1)
            for _, row in table[table["term"] == term].iterrows():
                index = models.index(row["model"])
                colour = MODEL_COLOURS[index % len(MODEL_COLOURS)]
                y = positions[row["model"]]
                if np.isfinite(row["ci_lower"]) and np.isfinite(row["ci_upper"]):
                    ax.plot(
                        [row["ci_lower"], row["ci_upper"]],
                        [y, y],
                        color=colour,
                        linewidth=2.0,
                        solid_capstyle="butt",
                        zorder=2,
                    )
                ax.plot(
                    [row["estimate"]],
                    [y],
                    marker=MODEL_MARKERS[index % len(MODEL_MARKERS)],
                    markersize=7,
                    color=colour,
                    markerfacecolor="white" if row["lagged"] else colour,
                    markeredgewidth=1.6,
                    linestyle="none",
                    zorder=3,
                )
            ax.set_title(_wrap(term_labels.get(term, term), 32))
            ax.set_xlabel("Coefficient (95% CI)")
            ax.set_ylim(-0.6, len(models) - 0.4)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            # Keep zero inside the axes (with room to spare) so the reference line shows.
            rows = table[table["term"] == term]
            values = np.concatenate(
                [rows[["estimate", "ci_lower", "ci_upper"]].to_numpy(dtype=float).ravel(), [0.0]]
            )
            values = values[np.isfinite(values)]
            low, high = float(values.min()), float(values.max())
            pad = 0.08 * (high - low) if high > low else 1.0
            ax.set_xlim(low - pad, high + pad)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(
            [positions[m] for m in models],
            [_wrap(model_labels.get(m, m), 22) for m in models],
        )
        if table["lagged"].any():
            content.legend(
                handles=[
                    Line2D(
                        [],
                        [],
                        marker="o",
                        color="#404040",
                        linestyle="none",
                        label="Contemporaneous regressor",
                    ),
                    Line2D(
                        [],
                        [],
                        marker="o",
                        color="#404040",
                        markerfacecolor="white",
                        markeredgewidth=1.6,
                        linestyle="none",
                        label="Regressor lagged one year",
                    ),
                ],
                loc="outside lower center",
                ncols=2,
                fontsize=9,
            )
    return figure


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
    resolution is fixed.
    """
    # Font subsetting logs every glyph at INFO; keep it out of the rule's log.
    font_logger = logging.getLogger("fontTools")
    level = font_logger.level
    font_logger.setLevel(max(level, logging.WARNING))
    try:
        with matplotlib.rc_context(_style()):
            with atomic_path(pdf_path) as temporary:
                figure.savefig(temporary, format="pdf", metadata=PDF_METADATA)
            with atomic_path(png_path) as temporary:
                figure.savefig(temporary, format="png", dpi=dpi, metadata=PNG_METADATA)
    finally:
        font_logger.setLevel(level)
