"""Residual diagnostics of one fitted model: residuals against fitted values, and a
normal QQ plot of the standardised residuals.

The estimate step writes every linear model's residuals to
``results/estimates/residuals.parquet`` (``model, unit_id, year, fitted, residual,
data_note``); :func:`model_residuals` selects one model's rows, so the figure shows the
residuals of exactly the reported fit and never refits. Residuals are the idiosyncratic
errors: for a fixed-effects model the fitted value includes the estimated unit and year
effects.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.nonparametric.smoothers_lowess import lowess

from innopanel.config.exhibits import RESIDUAL_ESTIMATORS
from innopanel.exhibits.figures import (
    FIT_COLOUR,
    FOCAL_COLOUR,
    MAX_WIDTH,
    PEER_GROUP_COLOUR,
    REFERENCE_COLOUR,
    lower_first,
    new_figure,
    plain,
    style,
    wrap,
)
from innopanel.vocabulary import unit_words

#: The columns of results/estimates/residuals.parquet this figure reads.
RESIDUAL_COLUMNS = ("model", "unit_id", "year", "fitted", "residual")
LOWESS_FRACTION = 0.3


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
    return stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)


def plot_residuals(
    residuals: pd.DataFrame,
    outcome_label: str,
    model_label: str,
    focal_unit: str | None = None,
    names: Mapping[str, str] | None = None,
    footer: str = "",
    unit: str = "city",
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
    focal_name = plain(names.get(focal_unit, focal_unit)) if focal_unit else ""
    outcome = plain(outcome_label)

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
        smooth = lowess(
            data["residual"].to_numpy(), data["fitted"].to_numpy(), frac=LOWESS_FRACTION
        )
        left.plot(
            smooth[:, 0],
            smooth[:, 1],
            color=PEER_GROUP_COLOUR,
            linewidth=2.0,
            label="LOWESS smoother",
            zorder=3,
        )
        left.axhline(0.0, color=FIT_COLOUR, linewidth=1.0, linestyle="--", zorder=1)
        left.set_xlabel(wrap(f"Fitted {lower_first(outcome)}", 50))
        left.set_ylabel(wrap(f"Residual of {lower_first(outcome)} (observed − fitted)", 44))
        left.set_title("Residuals against fitted values")
        # Below the panels, so the legend never hides a residual.
        handles, labels = left.get_legend_handles_labels()
        content.legend(handles, labels, loc="outside lower center", ncols=len(handles), fontsize=9)

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
            f"{len(data):,} {singular}-years, {data['unit_id'].nunique()} {plural}",
            transform=right.transAxes,
            ha="left",
            va="top",
            fontsize=9,
        )
        content.suptitle(
            wrap(f"Residual diagnostics: {plain(model_label)}", 90),
            fontsize=12,
            fontweight="bold",
        )
    return figure
