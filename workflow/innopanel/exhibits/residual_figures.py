"""Residual diagnostics of one fitted model: residuals against fitted values, and a
normal QQ plot of the standardised residuals.

The tidy estimates do not carry residuals, so :func:`model_residuals` refits the
configured model with :func:`innopanel.econometrics.models.fit_model` and first proves that the
refit is the reported model (its coefficients must equal ``estimates.csv``).
Residuals are the idiosyncratic errors: for a fixed-effects model the fitted value
includes the estimated unit and year effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.nonparametric.smoothers_lowess import lowess

from innopanel.econometrics.models import ENTITY, TIME, fit_model
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

#: Estimators whose residuals innopanel.econometrics.models can reproduce.
LINEAR_ESTIMATORS = ("pooled_ols", "fixed_effects", "random_effects")
#: Coefficients of the refit must match estimates.csv to this relative tolerance.
COEFFICIENT_TOLERANCE = 1e-6
LOWESS_FRACTION = 0.3


def model_residuals(
    panel: pd.DataFrame,
    name: str,
    spec: Mapping[str, Any],
    estimates: pd.DataFrame | None = None,
    unit: str = "city",
) -> pd.DataFrame:
    """Return ``unit_id, year, fitted, residual`` of model ``name`` on ``panel``.

    With ``estimates``, the refit's coefficients are checked against the model's rows
    there, so the figure can only show the residuals of the reported model.
    """
    if spec["estimator"] not in LINEAR_ESTIMATORS:
        raise ValueError(
            f"model '{name}' has estimator '{spec['estimator']}'; residual plots need one of "
            f"{list(LINEAR_ESTIMATORS)}. Set exhibits.residual_plot.model to such a model."
        )
    # The covariance does not change residuals; classical avoids cluster-count checks.
    result = fit_model(panel, name, spec, covariance="unadjusted", unit=unit).result
    if estimates is not None:
        reported = estimates[estimates["model"].astype(str) == name].set_index("term")["estimate"]
        if reported.empty:
            raise ValueError(f"model '{name}' is not in the estimates; rerun estimate_models.")
        refit = result.params.reindex(reported.index.astype(str))
        if refit.isna().any() or not np.allclose(
            refit.to_numpy(dtype=float),
            reported.to_numpy(dtype=float),
            rtol=COEFFICIENT_TOLERANCE,
            atol=1e-10,
        ):
            raise ValueError(
                f"model '{name}': refitting on the panel does not reproduce the coefficients "
                "in estimates.csv; the estimates are stale. Rerun estimate_models."
            )
    # Idiosyncratic residuals (after the estimated effects), as linearmodels and
    # innopanel.econometrics.within both report them; fitted values include the effects.
    residual = result.resids
    if isinstance(residual, pd.DataFrame):
        residual = residual.iloc[:, 0]
    dependent = panel.set_index([ENTITY, TIME])[spec["outcome"]].reindex(residual.index)
    fitted = dependent - residual
    frame = pd.DataFrame({"fitted": fitted, "residual": residual}).reset_index()
    return frame.rename(columns={frame.columns[0]: ENTITY, frame.columns[1]: TIME})


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
    data = residuals.assign(unit_id=residuals[ENTITY].astype(str))
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
