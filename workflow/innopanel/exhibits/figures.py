"""Figure machinery and the figures over time: trends, the within-unit relationship
and coefficients across models, saved with fixed metadata so bytes are reproducible.

This module holds what every figure shares: one seaborn theme (:func:`style`), the
colour-blind-safe Okabe–Ito palette with the focal unit always in vermillion, a
footer strip carrying the data note (:func:`new_figure`), and :func:`save_figure`,
which writes PDF and PNG atomically and deterministically. The other figures live in
``innopanel.exhibits.panel_figures`` (the latest-year comparison, the ranking, the
correlation heatmap) and ``innopanel.exhibits.residual_figures``.

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` built without
pyplot's global figure registry (nothing to close, nothing leaks between calls).
Text is drawn with DejaVu Sans, so unit names come from the panel's English
``name_en`` column (no CJK font is assumed). Any ``$`` in labels or footers is
escaped, so it is printed and never starts matplotlib mathtext. Labels come from the
config's variable labels, which carry their units.
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

from innopanel.io import atomic_path
from innopanel.vocabulary import base_variable, unit_words

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

#: The focal unit is vermillion in every figure (Okabe–Ito); peers take the other
#: Okabe–Ito colours, without yellow (too faint on white) and black (kept for text
#: and fitted lines). Beyond five peers the colours repeat with another line style.
FOCAL_COLOUR = "#D55E00"
PEER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")
PEER_LINESTYLES = ("-", "-.", ":")
#: One colour for "the peers" where they are drawn as a group (bars, ranking).
PEER_GROUP_COLOUR = "#0072B2"
REFERENCE_COLOUR = "#8C8C8C"
OTHER_COLOUR = "#BBBBBB"
FIT_COLOUR = "#000000"
# Vermillion comes last: it marks the focal unit elsewhere.
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#D55E00")
MODEL_MARKERS = ("o", "s", "D", "^", "v", "P", "X")

FOOTER_FONT_SIZE = 8.0
DEFAULT_TREND_VARIABLES = ("rd_intensity", "talent", "open_platforms", "patents_per_10k")


def style() -> dict[str, Any]:
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


def plain(text: object) -> str:
    """Escape ``$`` so a label is printed literally, never parsed as mathtext."""
    return str(text).replace("$", r"\$")


def lower_first(label: str) -> str:
    """Lower-case a label's first letter for use mid-sentence, unless it starts an
    acronym: "Log patents" -> "log patents", "R&D intensity" and "GDP" unchanged."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def wrap(text: object, width: int) -> str:
    return "\n".join(textwrap.wrap(plain(text), width=width)) or ""


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
        plain(wrapped),
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
    """Return the legend label of the focal unit's artist (gid ``focal``), if drawn."""
    for ax in figure.get_axes():
        for artist in [*ax.lines, *ax.collections, *ax.patches]:
            if artist.get_gid() == "focal":
                return artist.get_label()
    return None


def unit_names(panel: pd.DataFrame) -> dict[str, str]:
    """Return unit id -> English name (``name_en``), where the panel has one."""
    if "name_en" not in panel.columns:
        return {}
    names = panel.dropna(subset=["name_en"]).drop_duplicates("unit_id")
    return dict(zip(names["unit_id"].astype(str), names["name_en"].astype(str), strict=True))


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


def check_columns(panel: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise ValueError(f"{what}: the panel has no column(s) {missing}.")


def focal_and_peers(
    panel: pd.DataFrame, focal_unit: str, peer_units: Sequence[str], unit: str = "city"
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


def plot_trends(
    panel: pd.DataFrame,
    focal_unit: str,
    peer_units: Sequence[str],
    variables: Sequence[str] = DEFAULT_TREND_VARIABLES,
    labels: Mapping[str, str] | None = None,
    footer: str = "",
    unit: str = "city",
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
    years = pd.to_numeric(frame["year"]).dropna()

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
                    label=plain(names.get(peer, peer)),
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
                label=plain(names.get(focal_unit, focal_unit)),
                zorder=4,
                gid="focal",
            )
            if index == 0:
                focal_handle = line
            ax.set_ylabel(wrap(labels.get(variable, variable), 30))
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
        focal_name = plain(names.get(focal_unit, focal_unit))
        span = f"{int(years.min())}–{int(years.max())}" if len(years) else ""
        content.suptitle(
            f"Trends {span}: {focal_name} against its peers", fontsize=12, fontweight="bold"
        )
    return figure


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
    unit: str = "city",
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
            focal_name = plain(names.get(focal_unit, focal_unit))
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
    check_columns(
        estimates, ["model", "term", "estimate", "ci_lower", "ci_upper"], "plot_coefficients"
    )
    table = coefficient_table(estimates, terms, models)
    absent = [t for t in terms if t not in set(table["term"])]
    if absent:
        raise ValueError(f"plot_coefficients: no model in {models} has term(s) {absent}.")

    # The coefficients' unit is the outcome's per unit of the regressor: say which
    # outcome when the models share one.
    outcomes = (
        set(estimates.loc[estimates["model"].astype(str).isin(models), "outcome"].astype(str))
        if "outcome" in estimates.columns
        else set()
    )
    title = "Coefficients across models, with 95% confidence intervals"
    if len(outcomes) == 1:
        outcome = outcomes.pop()
        title = (
            f"Effect on {lower_first(term_labels.get(outcome, outcome))} across models, "
            "with 95% confidence intervals"
        )

    positions = {model: len(models) - 1 - i for i, model in enumerate(models)}
    with matplotlib.rc_context(style()):
        figure, content = new_figure(
            min(MAX_WIDTH, 2.1 * len(terms) + 1.7), 0.45 * len(models) + 2.4, footer
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
            ax.set_title(wrap(term_labels.get(term, term), 24))
            ax.set_xlabel("Coefficient (95% CI)")
            ax.set_ylim(-0.6, len(models) - 0.4)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
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
            [wrap(model_labels.get(m, m), 16) for m in models],
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
        content.suptitle(
            wrap(title, 70),
            fontsize=12,
            fontweight="bold",
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
        with matplotlib.rc_context(style()):
            with atomic_path(pdf_path) as temporary:
                figure.savefig(temporary, format="pdf", metadata=PDF_METADATA)
            with atomic_path(png_path) as temporary:
                figure.savefig(temporary, format="png", dpi=dpi, metadata=PNG_METADATA)
    finally:
        font_logger.setLevel(level)
