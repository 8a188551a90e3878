"""Figures of the estimates: each term's coefficient with its 95 % CI across models,
and residual diagnostics of one fitted model (residuals against fitted values, and a
normal QQ plot of the standardised residuals).

The estimate step writes every linear model's residuals to
``results/estimates/residuals.parquet`` (``model, unit_id, year, fitted, residual,
data_note``); :func:`model_residuals` selects one model's rows, so the residual figure
shows exactly the reported fit and never refits. Residuals are the idiosyncratic
errors: for a fixed-effects model the fitted value includes the estimated unit and year
effects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from innopanel.config.exhibits import RESIDUAL_ESTIMATORS
from innopanel.exhibits.frames import check_columns
from innopanel.exhibits.style import (
    FIT_COLOUR,
    FOCAL_COLOUR,
    MAX_WIDTH,
    MODEL_COLOURS,
    MODEL_MARKERS,
    PEER_GROUP_COLOUR,
    REFERENCE_COLOUR,
    characters_across,
    legend_columns,
    legend_entry,
    lower_first,
    new_figure,
    style,
    wrap,
)
from innopanel.vocabulary import UnitNoun, base_variable, unit_words

#: The columns of results/estimates/residuals.parquet this figure reads.
RESIDUAL_COLUMNS = ("model", "unit_id", "year", "fitted", "residual")
LOWESS_FRACTION = 0.3
# LOWESS fits one local regression per point, each over a fraction of all points, so its
# cost grows as n^2. Above this many points it fits local regressions only at points at
# least 1 % of the fitted range apart and interpolates between them (statsmodels'
# ``delta``), which keeps the cost linear; the legend then says so.
EXACT_LOWESS_POINTS = 5_000


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
    true_values: Mapping[str, float] | None = None,
) -> Figure:
    """Plot each term's coefficient with its 95 % CI across models.

    One panel per term (their scales differ), one row per model (top to bottom in
    ``models`` order), a dashed zero line; lagged terms are drawn in the row of the
    model that holds them, with a hollow marker. ``true_values`` (a synthetic study's
    true coefficients, by term) are drawn as a solid black line in their term's panel.
    """
    model_labels = model_labels or {}
    term_labels = term_labels or {}
    true_values = {term: float(value) for term, value in (true_values or {}).items()}
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
    # The designs estimate associations, not effects: the title says so.
    title = "Estimated coefficients across models, with 95% confidence intervals"
    if len(outcomes) == 1:
        outcome = outcomes.pop()
        title = (
            f"Associations with {lower_first(term_labels.get(outcome, outcome))}: "
            "estimated coefficients across models, with 95% confidence intervals"
        )

    positions = {model: len(models) - 1 - i for i, model in enumerate(models)}
    width = min(MAX_WIDTH, 2.1 * len(terms) + 1.7)
    with matplotlib.rc_context(style()):
        figure, content = new_figure(width, 0.45 * len(models) + 2.4, footer)
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
            if term in true_values:
                ax.axvline(
                    true_values[term], color=FIT_COLOUR, linewidth=1.4, zorder=1.5, gid="truth"
                )
            ax.set_title(wrap(term_labels.get(term, term), 24))
            ax.set_xlabel("Coefficient (95% CI)")
            ax.set_ylim(-0.6, len(models) - 0.4)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            # Keep zero and the true value inside the axes (with room to spare).
            rows = table[table["term"] == term]
            marked = [0.0, *([true_values[term]] if term in true_values else [])]
            values = np.concatenate(
                [rows[["estimate", "ci_lower", "ci_upper"]].to_numpy(dtype=float).ravel(), marked]
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
        handles = []
        if table["lagged"].any():
            handles += [
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
            ]
        if true_values.keys() & set(terms):
            handles.append(
                Line2D(
                    [],
                    [],
                    color=FIT_COLOUR,
                    linewidth=1.4,
                    label="True value (synthetic data-generating process)",
                )
            )
        if handles:
            content.legend(
                handles=handles,
                loc="outside lower center",
                ncols=legend_columns(
                    [h.get_label() for h in handles], 2, row_width=int(width * 11)
                ),
                fontsize=9,
            )
        content.suptitle(wrap(title, characters_across(width, 12)), fontsize=12, fontweight="bold")
    return figure


def model_residuals(residuals: pd.DataFrame, model: str) -> pd.DataFrame:
    """Return ``unit_id, year, fitted, residual`` of ``model`` from the estimate step's
    residuals (``results/estimates/residuals.parquet``).

    A model without rows there is an error that names the fix: the estimate step writes
    residuals of linear models only.
    """
    missing = [column for column in RESIDUAL_COLUMNS if column not in residuals.columns]
    if missing:
        raise ValueError(
            f"results/estimates/residuals.parquet has no column(s) {missing}; "
            "rerun estimate_models."
        )
    rows = residuals[residuals["model"].astype(str) == model]
    if rows.empty:
        written = sorted(set(residuals["model"].astype(str)))
        raise ValueError(
            f"model '{model}' has no residuals in results/estimates/residuals.parquet "
            f"(it holds {written}). Set exhibits.residual_plot.model to a linear model "
            f"({', '.join(RESIDUAL_ESTIMATORS)}) of the study, or rerun estimate_models "
            "if the file predates the model."
        )
    return rows[["unit_id", "year", "fitted", "residual"]].reset_index(drop=True)


def normal_quantiles(n: int) -> np.ndarray:
    """Return the standard normal quantiles at plotting positions (i − 0.5)/n."""
    from scipy import stats  # here, not at the top: the coefficient figure's job needs none

    return stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)


def plot_residuals(
    residuals: pd.DataFrame,
    outcome_label: str,
    model_label: str,
    focal_unit: str | None = None,
    names: Mapping[str, str] | None = None,
    footer: str = "",
    unit: UnitNoun | str = "unit",
) -> Figure:
    """Draw residuals against fitted values (with a LOWESS smoother) and a normal QQ plot.

    The QQ plot standardises residuals by their standard deviation; points on the
    45-degree line mean normal tails. The focal unit's points are vermillion.
    """
    names = names or {}
    singular, plural = unit_words(unit)
    if len(residuals) < 3:
        raise ValueError(f"plot_residuals: only {len(residuals)} residuals to plot.")
    data = residuals.assign(unit_id=residuals["unit_id"].astype(str))
    is_focal = data["unit_id"] == focal_unit if focal_unit else pd.Series(False, index=data.index)
    focal_name = legend_entry(names.get(focal_unit, focal_unit)) if focal_unit else ""

    with matplotlib.rc_context(style()):
        figure, content = new_figure(MAX_WIDTH, 4.2, footer)
        left, right = content.subplots(1, 2)
        left.scatter(
            data.loc[~is_focal, "fitted"],
            data.loc[~is_focal, "residual"],
            s=14,
            color=REFERENCE_COLOUR,
            alpha=0.5,
            edgecolor="none",
            label=f"Other {singular}-years",
            zorder=2,
        )
        if is_focal.any():
            left.scatter(
                data.loc[is_focal, "fitted"],
                data.loc[is_focal, "residual"],
                s=40,
                color=FOCAL_COLOUR,
                edgecolor="black",
                linewidth=0.7,
                label=focal_name,
                zorder=4,
                gid="focal",
            )
        fitted = data["fitted"].to_numpy()
        interpolated = len(fitted) > EXACT_LOWESS_POINTS
        delta = 0.01 * float(np.ptp(fitted)) if interpolated else 0.0
        from statsmodels.nonparametric.smoothers_lowess import lowess

        smooth = lowess(data["residual"].to_numpy(), fitted, frac=LOWESS_FRACTION, delta=delta)
        left.plot(
            smooth[:, 0],
            smooth[:, 1],
            color=PEER_GROUP_COLOUR,
            linewidth=2.0,
            label="LOWESS smoother" + (" (fitted every 1 % of the range)" if interpolated else ""),
            zorder=3,
        )
        left.axhline(0.0, color=FIT_COLOUR, linewidth=1.0, linestyle="--", zorder=1)
        left.set_xlabel(wrap(f"Fitted {lower_first(outcome_label)}", 50))
        left.set_ylabel(wrap(f"Residual of {lower_first(outcome_label)} (observed − fitted)", 44))
        left.set_title("Residuals against fitted values")
        # Below the panels, so the legend never hides a residual.
        handles, labels = left.get_legend_handles_labels()
        content.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=legend_columns(labels, len(handles)),
            fontsize=9,
        )

        standardised = data["residual"] / data["residual"].std(ddof=1)
        order = np.argsort(standardised.to_numpy(), kind="stable")
        sample = standardised.to_numpy()[order]
        theoretical = normal_quantiles(len(sample))
        focal_sorted = is_focal.to_numpy()[order]
        right.scatter(
            theoretical[~focal_sorted],
            sample[~focal_sorted],
            s=14,
            color=REFERENCE_COLOUR,
            alpha=0.6,
            edgecolor="none",
            zorder=2,
        )
        if focal_sorted.any():
            right.scatter(
                theoretical[focal_sorted],
                sample[focal_sorted],
                s=40,
                color=FOCAL_COLOUR,
                edgecolor="black",
                linewidth=0.7,
                zorder=4,
            )
        limit = float(np.nanmax(np.abs([*theoretical, *sample]))) * 1.05
        right.plot([-limit, limit], [-limit, limit], color=FIT_COLOUR, linewidth=1.2, zorder=3)
        right.set_xlim(-limit, limit)
        right.set_ylim(-limit, limit)
        right.set_aspect("equal", adjustable="box")
        right.set_xlabel("Standard normal quantile")
        right.set_ylabel("Standardised residual (residual / SD)")
        right.set_title("Normal QQ plot of the residuals")
        right.text(
            0.03,
            0.97,
            # Wrapped to the panel: the unit noun comes from the config, of any length.
            wrap(f"{len(data):,} {singular}-years, {data['unit_id'].nunique()} {plural}", 36),
            transform=right.transAxes,
            ha="left",
            va="top",
            fontsize=9,
        )
        content.suptitle(
            wrap(f"Residual diagnostics: {model_label}", 90),
            fontsize=12,
            fontweight="bold",
        )
    return figure
