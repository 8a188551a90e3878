"""Shared fixtures: the study config, the repository root and the one synthetic panel."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def study_config(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A fresh deep copy of the demo study's config (config/studies/demo_cities.yaml),
    with the working directory at the root."""
    monkeypatch.chdir(ROOT)
    with open(ROOT / "config" / "studies" / "demo_cities.yaml", encoding="utf-8") as stream:
        return copy.deepcopy(yaml.safe_load(stream))


def model_entry(estimator: str, covariance: str = "clustered", **extra: object) -> dict:
    """A model's config entry on the synthetic panel: y on x1, controlling for x2."""
    return {
        "label": estimator,
        "estimator": estimator,
        "outcome": "y",
        "regressors": ["x1"],
        "controls": ["x2"],
        "covariance": covariance,
        **extra,
    }


def simulate_panel(
    n_units: int = 80,
    n_years: int = 10,
    seed: int = 7,
    *,
    slopes: Mapping[str, float] | None = None,
    outcome: str = "linear",
    unit_effect_sd: float = 1.0,
    year_effect_sd: float = 0.5,
    effect_loading: float = 0.8,
    error_sd: float = 0.3,
    ar: float = 0.0,
    factor_loading: float = 0.0,
    theta: float = 5.0,
    first_year: int = 2011,
    unit_prefix: str = "u",
) -> pd.DataFrame:
    """The tests' one synthetic panel: ``unit_id, year, y`` and one column per slope.

    y_it = a_i + g_t + sum_k b_k x_kit + u_it (``outcome="linear"``), or a count drawn
    from NB2 with mean exp(a_i + g_t + sum_k b_k x_kit) and dispersion ``theta``
    (``outcome="poisson"``). The first regressor loads on a_i by ``effect_loading``, so
    pooled estimates are biased and fixed effects are not. u_it is AR(``ar``) with sd
    ``error_sd``, plus an optional common factor with unit loadings ``factor_loading``
    (cross-sectional dependence). Units are ``u000``, ``u001``... (``unit_prefix``).
    """
    slopes = dict(slopes or {"x1": 0.5, "x2": -0.3})
    rng = np.random.default_rng(seed)
    unit_effect = rng.normal(0.0, unit_effect_sd, n_units)
    year_effect = rng.normal(0.0, year_effect_sd, n_years)
    index = unit_effect[:, None] + year_effect[None, :]
    regressors = {}
    for position, name in enumerate(slopes):
        loading = effect_loading if position == 0 else 0.0
        regressors[name] = loading * unit_effect[:, None] + rng.normal(0, 1, (n_units, n_years))
        index = index + slopes[name] * regressors[name]
    if outcome == "linear":
        innovations = rng.normal(0.0, error_sd, (n_units, n_years))
        errors = innovations.copy()
        for t in range(1, n_years):
            errors[:, t] = ar * errors[:, t - 1] + innovations[:, t]
        factor = rng.normal(0.0, 1.0, n_years)
        errors += factor_loading * rng.normal(1.0, 0.3, n_units)[:, None] * factor[None, :]
        y = index + errors
    elif outcome == "poisson":
        mean = np.exp(index)
        y = rng.negative_binomial(theta, theta / (theta + mean)).astype(float)
    else:
        raise ValueError(f"outcome must be 'linear' or 'poisson', not {outcome!r}")
    return pd.DataFrame(
        {
            "unit_id": np.repeat([f"{unit_prefix}{i:03d}" for i in range(n_units)], n_years),
            "year": np.tile(np.arange(first_year, first_year + n_years), n_units),
            "y": y.ravel(),
            **{name: values.ravel() for name, values in regressors.items()},
        }
    )


@pytest.fixture
def make_panel() -> Callable[..., pd.DataFrame]:
    """The synthetic-panel generator, as a fixture (see :func:`simulate_panel`)."""
    return simulate_panel


def stage_source(name: str, spec: dict, destination: Path, settings: dict, **options):
    """Stage source ``name`` (config entry ``spec``, data.fetch ``settings``) for 2011-2022."""
    from innopanel.config.data_specs import fetch_settings
    from innopanel.config.specs import source_spec
    from innopanel.data.fetch import stage

    return stage(
        source_spec(name, spec),
        destination,
        fetch_settings({"fetch": settings}),
        first_year=2011,
        last_year=2022,
        **options,
    )


def run_pdflatex(folder: Path, document: str) -> str:
    """Write ``document`` as document.tex in ``folder``, compile it with pdflatex and
    return its log; fails the test, quoting LaTeX, if it does not compile."""
    (folder / "document.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "document.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"pdflatex failed:\n{result.stdout[-3000:]}"
    return (folder / "document.log").read_text(encoding="utf-8", errors="replace")
