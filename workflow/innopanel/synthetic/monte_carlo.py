"""Monte Carlo check of estimators against the known demo data-generating process.

Each replication draws a fresh panel from :func:`innopanel.synthetic.dgp.simulate_panel`
(same units, tiers and years as the demo, a new seed), derives the analysis
variables exactly as the clean step does, fits the configured models and records
whether each 95 % interval covers the true coefficient
(:meth:`innopanel.synthetic.dgp.DemoParameters.coefficients`). Coverage near 95 % says the
point estimates are centred on the truth *and* the standard errors are right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innopanel.config.specs import model_spec
from innopanel.data.derivations import derive_variables
from innopanel.econometrics.models import fit_model, tidy
from innopanel.synthetic.dgp import DEFAULT_PARAMETERS, DemoParameters, simulate_panel, tier_array


@dataclass(frozen=True)
class Design:
    """What one replication simulates: units (with tiers), years and the DGP."""

    unit_ids: tuple[str, ...]
    years: tuple[int, ...]
    tiers: tuple[int | None, ...]
    parameters: DemoParameters = DEFAULT_PARAMETERS

    @classmethod
    def from_unit_table(cls, units: pd.DataFrame, first_year: int, last_year: int) -> Design:
        """The demo's design: every unit of the unit table with its tier (if it has tiers)."""
        unit_ids = tuple(units["unit_id"].astype(str))
        tiers = units["tier"].tolist() if "tier" in units.columns else None
        return cls(
            unit_ids=unit_ids,
            years=tuple(range(int(first_year), int(last_year) + 1)),
            tiers=tuple(tier_array(unit_ids, tiers)),
        )


def simulate_analysis_panel(design: Design, seed: int, study: Mapping[str, Any]) -> pd.DataFrame:
    """One draw of the DGP with the study's derived variables, as the clean step makes them.

    ``study`` is the study config; its ``variables`` and ``units`` are read.
    """
    raw = simulate_panel(
        list(design.unit_ids),
        design.years,
        seed=seed,
        parameters=design.parameters,
        tiers=list(design.tiers),
    )
    return derive_variables(raw, study["variables"], study["units"])


def run_replication(
    design: Design,
    seed: int,
    models: Mapping[str, Mapping[str, Any]],
    study: Mapping[str, Any],
) -> pd.DataFrame:
    """Tidy estimates of ``models`` on one draw of ``study``'s variables, with the truth and
    a coverage flag."""
    truth = design.parameters.coefficients()
    for name, raw in models.items():
        terms = model_spec(name, raw).terms
        if not set(terms) & set(truth):
            raise ValueError(
                f"Monte Carlo model {name!r} estimates none of the DGP's true coefficients "
                f"{sorted(truth)} (its terms: {list(terms)}); choose a model whose "
                "regressors or controls include them."
            )
    panel = simulate_analysis_panel(design, seed, study)
    frames = []
    for name, raw in models.items():
        estimates = tidy(fit_model(panel, model_spec(name, raw)))
        estimates = estimates[estimates["term"].isin(list(truth))]
        frames.append(estimates[["model", "term", "estimate", "std_error", "ci_lower", "ci_upper"]])
    result = pd.concat(frames, ignore_index=True)
    result["truth"] = result["term"].map(truth)
    result["covered"] = (result["ci_lower"] <= result["truth"]) & (
        result["truth"] <= result["ci_upper"]
    )
    result.insert(0, "seed", seed)
    return result


def run_monte_carlo(
    design: Design,
    seeds: Sequence[int],
    models: Mapping[str, Mapping[str, Any]],
    study: Mapping[str, Any],
) -> pd.DataFrame:
    """Stack :func:`run_replication` over ``seeds``."""
    return pd.concat(
        [run_replication(design, seed, models, study) for seed in seeds], ignore_index=True
    )


def summarise(replications: pd.DataFrame) -> pd.DataFrame:
    """Per model and term: bias, spread of estimates vs mean SE, and coverage with its
    Monte Carlo standard error sqrt(p(1-p)/R)."""
    grouped = replications.groupby(["model", "term"], sort=False)
    summary = grouped.agg(
        replications=("estimate", "size"),
        truth=("truth", "first"),
        mean_estimate=("estimate", "mean"),
        sd_estimate=("estimate", "std"),
        mean_std_error=("std_error", "mean"),
        coverage=("covered", "mean"),
    ).reset_index()
    summary["bias"] = summary["mean_estimate"] - summary["truth"]
    summary["bias_mc_se"] = summary["sd_estimate"] / np.sqrt(summary["replications"])
    summary["coverage_mc_se"] = np.sqrt(
        summary["coverage"] * (1 - summary["coverage"]) / summary["replications"]
    )
    return summary
