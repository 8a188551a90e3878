"""Figures of how the variables move together: the within-unit relationship of a
fixed-effects model's outcome and one regressor (its partial regression, whose slope is
the model's coefficient) and the correlation heatmap, which draws the same numbers as
the correlation table (:func:`innopanel.exhibits.summary_tables.correlation_matrix`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from innopanel.exhibits.frames import check_columns
from innopanel.exhibits.style import (
    FIT_COLOUR,
    FOCAL_COLOUR,
    MAX_WIDTH,
    OTHER_COLOUR,
    REFERENCE_COLOUR,
    characters_across,
    legend_columns,
    legend_entry,
    lower_first,
    new_figure,
    style,
    wrap,
)
from innopanel.exhibits.summary_tables import correlation_matrix
from innopanel.exhibits.table_model import display_number
from innopanel.vocabulary import UnitNoun, unit_words

#: The columns of results/estimates/within_relationship.parquet this figure reads.
PARTIAL_COLUMNS = ("unit_id", "year", "regressor_partial", "outcome_partial")
#: The drawn slope may differ from the reported coefficient by this relative amount
#: (estimates.csv keeps 12 significant digits); more means the files do not match.
SLOPE_TOLERANCE = 1e-9


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


def coefficient_row(estimates: pd.DataFrame, model: str, regressor: str) -> pd.Series:
    """The row of results/estimates/estimates.csv of ``model``'s coefficient on
    ``regressor``, refused naming the fix when absent."""
    rows = estimates[
        (estimates["model"].astype(str) == model) & (estimates["term"].astype(str) == regressor)
    ]
    if rows.empty:
        raise ValueError(
            f"results/estimates/estimates.csv has no coefficient of model '{model}' on "
            f"'{regressor}'; check exhibits.within_relationship or rerun estimate_models."
        )
    return rows.iloc[0]


def _net_of(row: pd.Series, others: list[str], singular: str) -> str:
    """What the partial regression holds fixed, e.g. "province and year effects and
    log R&D personnel (FTE)"."""
    effects = [
        name
        for name, flag in ((singular, row["entity_effects"]), ("year", row["time_effects"]))
        if str(flag).lower() == "true"
    ]
    held = [" and ".join(effects) + " effects"] if effects else []
    held += others
    if len(held) <= 2:
        return " and ".join(held)
    return ", ".join(held[:-1]) + " and " + held[-1]


def plot_within_relationship(
    partial: pd.DataFrame,
    estimates: pd.DataFrame,
    model: str,
    regressor: str,
    labels: Mapping[str, str] | None = None,
    focal_unit: str | None = None,
    names: Mapping[str, str] | None = None,
    footer: str = "",
    unit: UnitNoun | str = "unit",
) -> Figure:
    """Scatter the partial regression of ``model``'s outcome on ``regressor``.

    ``partial`` is results/estimates/within_relationship.parquet: both variables net
    of the model's unit and year effects and of its other terms (Frisch-Waugh-Lovell),
    so the OLS slope through the points is the model's coefficient; a mismatch with
    ``estimates`` beyond rounding is refused. The line is drawn with the 95 % band of
    the coefficient under the model's own covariance (the line passes through the
    origin: the effects absorb the intercept), and the slope is printed with that SE.
    """
    labels = labels or {}
    names = names or {}
    singular, plural = unit_words(unit)
    check_columns(partial, list(PARTIAL_COLUMNS), "plot_within_relationship")
    if len(partial) < 3:
        raise ValueError(
            f"plot_within_relationship: only {len(partial)} {singular}-years in model "
            f"'{model}''s sample."
        )
    row = coefficient_row(estimates, model, regressor)
    estimate, std_error = float(row["estimate"]), float(row["std_error"])
    critical = (float(row["ci_upper"]) - estimate) / std_error
    data = partial.assign(unit_id=partial["unit_id"].astype(str))
    x, y = data["regressor_partial"].to_numpy(float), data["outcome_partial"].to_numpy(float)
    intercept, slope = within_slope(x, y)
    if abs(slope - estimate) > SLOPE_TOLERANCE * max(1.0, abs(estimate)):
        raise ValueError(
            f"plot_within_relationship: the partial regression's slope {slope:.10g} is not "
            f"model '{model}''s coefficient on '{regressor}' in estimates.csv "
            f"({estimate:.10g}); the two files come from different runs: rerun "
            "estimate_models and partial_regression."
        )
    outcome = str(row["outcome"])
    rows = estimates[
        (estimates["model"].astype(str) == model) & (estimates["term_kind"] == "coefficient")
    ]
    others = [
        lower_first(labels.get(term, term))
        for term in rows["term"].astype(str)
        if term != regressor
    ]
    net_of = _net_of(row, list(dict.fromkeys(others)), singular)
    is_focal = data["unit_id"] == focal_unit if focal_unit else pd.Series(False, index=data.index)
    width = 7.0

    with matplotlib.rc_context(style()):
        figure, content = new_figure(width, 5.8, footer)
        ax = content.subplots()
        ax.scatter(
            x[~is_focal],
            y[~is_focal],
            color=REFERENCE_COLOUR,
            alpha=0.45,
            s=16,
            edgecolor="none",
            label=f"Other {singular}-years",
            zorder=2,
        )
        if is_focal.any():
            ax.scatter(
                x[is_focal],
                y[is_focal],
                color=FOCAL_COLOUR,
                s=60,
                edgecolor="black",
                linewidth=0.8,
                label=legend_entry(names.get(focal_unit, focal_unit)),
                zorder=4,
                gid="focal",
            )
        grid = np.linspace(x.min(), x.max(), 201)
        fitted = intercept + slope * grid
        spread = critical * std_error * np.abs(grid)
        ax.fill_between(
            grid,
            fitted - spread,
            fitted + spread,
            color=FIT_COLOUR,
            alpha=0.15,
            linewidth=0,
            label="95% confidence band",
            zorder=1.5,
            gid="band",
        )
        ax.plot(
            grid,
            fitted,
            color=FIT_COLOUR,
            linewidth=1.8,
            label=f"Slope: the coefficient of {row['model_label']}",
            zorder=3,
            gid="fit",
        )
        ax.axhline(0.0, color=OTHER_COLOUR, linewidth=0.8, zorder=1)
        ax.axvline(0.0, color=OTHER_COLOUR, linewidth=0.8, zorder=1)
        # Above the axes, left-aligned, so it hides no point.
        low, high = (display_number(float(row[c]), 3) for c in ("ci_lower", "ci_upper"))
        ax.set_title(
            wrap(
                f"Slope {display_number(estimate, 3)}, SE {std_error:.3f} "
                f"({lower_first(str(row['cov_label']))}), 95% CI {low} to {high}",
                80,
            )
            + "\n"
            + wrap(f"{len(data):,} {singular}-years, {data['unit_id'].nunique()} {plural}", 80),
            loc="left",
            fontsize=9,
            fontweight="normal",
            gid="slope",
        )
        ax.set_xlabel(
            wrap(labels.get(regressor, regressor), 60) + "\n" + wrap(f"net of {net_of}", 70)
        )
        ax.set_ylabel(
            wrap(labels.get(outcome, outcome), 45) + "\n(net of the same effects and terms)"
        )
        handles, legend_labels = ax.get_legend_handles_labels()
        content.legend(
            handles,
            legend_labels,
            loc="outside lower center",
            ncols=legend_columns(legend_labels, 4, row_width=int(width * 11)),
            fontsize=9,
        )
        content.suptitle(
            wrap(
                f"Within-{singular} relationship in the {row['model_label']} model: "
                f"{lower_first(labels.get(outcome, outcome))} against "
                f"{lower_first(labels.get(regressor, regressor))}",
                characters_across(width, 12),
            ),
            fontsize=12,
            fontweight="bold",
        )
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
