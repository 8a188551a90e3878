"""The demo panel's 2020 calibration to figures quoted by the source study.

:func:`build_demo_panel` runs the DGP for the unit table, moves the named cities'
whole series so their 2020 values hit the quoted R&D intensities, platform counts and
GDP ratios, draws the outcome only afterwards (so the true coefficients hold for the
calibrated cities too), and checks the targets at published precision.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from innopanel.synthetic.dgp import (
    DEFAULT_PARAMETERS,
    PLATFORM_COMPONENTS,
    DemoParameters,
    LatentPanel,
    derive_regressors,
    draw_panel,
    random_streams,
    round_to,
    simulate_latent,
    tier_array,
)

CALIBRATION_YEAR = 2020
# Figures quoted by the source study for 2020 (Jia, Wen, Pang, Qiu and Yuan).
RD_INTENSITY_TARGETS: Mapping[str, float] = {"chengdu": 2.8, "shanghai": 4.1, "shenzhen": 4.9}
OPEN_PLATFORM_TARGETS: Mapping[str, int] = {"chengdu": 9, "shanghai": 22, "shenzhen": 18}
# Chengdu's GDP as a percentage of each peer's GDP.
GDP_SHARE_OF_CHENGDU_TARGETS: Mapping[str, float] = {
    "shanghai": 45.8,
    "shenzhen": 64.0,
    "guangzhou": 70.8,
}
GDP_REFERENCE_CITY = "chengdu"
PROTECTED_CITIES: tuple[str, ...] = ("chengdu", "shanghai", "shenzhen", "guangzhou")
SOURCE_STUDY = (
    'Jia, Wen, Pang, Qiu and Yuan, "Research on Strategies of Scientific and '
    'Technological Innovation Promotion in Chengdu"'
)


def _calibrate(latent: LatentPanel, parameters: DemoParameters) -> None:
    """Move the named cities' whole series so their 2020 values hit the quoted figures.

    GDP is rescaled (through GDP per capita), R&D intensity shifted and platform
    stocks rescaled, so each series keeps its shape and stocks stay non-decreasing.
    """
    row = {unit: i for i, unit in enumerate(latent.unit_ids)}
    needed = {
        GDP_REFERENCE_CITY,
        *RD_INTENSITY_TARGETS,
        *OPEN_PLATFORM_TARGETS,
        *GDP_SHARE_OF_CHENGDU_TARGETS,
    }
    missing = sorted(needed - row.keys())
    if missing:
        raise ValueError(f"calibration cities missing from the unit table: {missing}")
    if CALIBRATION_YEAR not in latent.years:
        raise ValueError(f"the demo panel must include {CALIBRATION_YEAR} for calibration")
    col = latent.years.index(CALIBRATION_YEAR)

    population_2020 = round_to(latent.population[:, col], 2)
    reference_gdp = round_to(
        latent.gdp_per_capita[row[GDP_REFERENCE_CITY], col]
        * population_2020[row[GDP_REFERENCE_CITY]]
        / 1e4,
        1,
    )
    for city, percent in GDP_SHARE_OF_CHENGDU_TARGETS.items():
        i = row[city]
        target_gdp = reference_gdp / (percent / 100.0)
        current_gdp = latent.gdp_per_capita[i, col] * population_2020[i] / 1e4
        latent.gdp_per_capita[i, :] *= target_gdp / current_gdp

    for city, intensity in RD_INTENSITY_TARGETS.items():
        i = row[city]
        shifted = latent.rd_intensity[i, :] + (intensity - latent.rd_intensity[i, col])
        latent.rd_intensity[i, :] = np.clip(shifted, *parameters.covariates.rd_bounds)

    for city, total in OPEN_PLATFORM_TARGETS.items():
        i = row[city]
        stocks = np.array(
            [latent.platforms[name][i, :] for name in PLATFORM_COMPONENTS], dtype=float
        )
        component_targets = _apportion(total, stocks[:, col])
        for k, name in enumerate(PLATFORM_COMPONENTS):
            latent.platforms[name][i, :] = _rescale_stock(stocks[k], col, component_targets[k])


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[: total - parts.sum()]] += 1
    return parts


def _rescale_stock(stock: np.ndarray, col: int, target: int) -> np.ndarray:
    """Rescale a non-decreasing stock so it equals ``target`` at ``col``, keeping its shape."""
    if stock[col] > 0:
        # Floor of a non-decreasing series is non-decreasing, and equals target at col.
        scaled = np.floor(target * stock / stock[col] + 1e-9)
    else:
        scaled = np.where(np.arange(stock.size) < col, 0.0, target + stock - stock[col])
    return scaled.astype(np.int64)


def calibration_values(panel: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Return the calibrated 2020 quantities as computed from a (parsed) panel."""
    rows = panel[panel["year"] == CALIBRATION_YEAR]
    year = derive_regressors(rows).set_index("unit_id")
    return {
        "rd_intensity_percent": {
            city: float(year.loc[city, "rd_intensity"]) for city in RD_INTENSITY_TARGETS
        },
        "open_platforms": {
            city: float(year.loc[city, "open_platforms"]) for city in OPEN_PLATFORM_TARGETS
        },
        "chengdu_gdp_percent_of": {
            city: float(100.0 * year.loc[GDP_REFERENCE_CITY, "gdp"] / year.loc[city, "gdp"])
            for city in GDP_SHARE_OF_CHENGDU_TARGETS
        },
    }


def _check_calibration(panel: pd.DataFrame) -> None:
    achieved = calibration_values(panel)
    problems = []
    for city, target in RD_INTENSITY_TARGETS.items():
        if round(achieved["rd_intensity_percent"][city], 1) != target:
            problems.append(f"rd_intensity {city}")
    for city, target in OPEN_PLATFORM_TARGETS.items():
        if achieved["open_platforms"][city] != target:
            problems.append(f"open_platforms {city}")
    for city, target in GDP_SHARE_OF_CHENGDU_TARGETS.items():
        if round(achieved["chengdu_gdp_percent_of"][city], 1) != target:
            problems.append(f"gdp share {city}")
    if problems:
        raise RuntimeError(f"demo calibration failed: {problems}")


def build_demo_panel(
    units: pd.DataFrame,
    first_year: int,
    last_year: int,
    seed: int,
    parameters: DemoParameters = DEFAULT_PARAMETERS,
) -> pd.DataFrame:
    """Simulate the panel for the city table and calibrate 2020 to the source study.

    ``units`` is the unit table (config/cities.csv), with ``unit_id`` and ``tier``. Raises
    ``RuntimeError`` if the calibration targets do not hold at published precision.
    """
    unit_ids = units["unit_id"].astype(str).tolist()
    tiers = dict(zip(unit_ids, units["tier"], strict=True))
    years = list(range(int(first_year), int(last_year) + 1))
    streams = random_streams(seed)
    latent = simulate_latent(
        unit_ids, years, streams["covariates"], parameters, tier_array(unit_ids, tiers)
    )
    _calibrate(latent, parameters)
    # The outcome is drawn only now, from the calibrated regressors, so the recorded
    # true coefficients hold exactly for the calibrated cities too.
    panel = draw_panel(latent, streams["outcome"], parameters).panel
    _check_calibration(panel)
    return panel
