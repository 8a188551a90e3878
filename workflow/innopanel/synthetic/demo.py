"""The synthetic demo panel: a documented, seeded data-generating process (DGP).

The demo panel lets the whole workflow run (and be tested) without real
statistics. Everything here is SYNTHETIC. The DGP has the features that make the
study's estimators disagree on real data:

* a city effect ``alpha_i`` (bigger for tier-1 cities) and year effects ``gamma_t``;
* regressors whose levels load on ``alpha_i`` (so pooled OLS and random effects are
  biased while fixed effects are not), each with enough within-city variation for
  two-way fixed effects to identify its slope;
* an over-dispersed count outcome (negative binomial, NB2)::

      log mu_it = intercept + alpha_i + gamma_t
                  + b_rd * rd_intensity_it + b_talent * log_talent_it
                  + b_platforms * open_platforms_it
                  + b_gdppc * log_gdp_per_capita_it + b_secondary * secondary_share_it
      invention_patents_granted_it ~ NB2(mean mu_it, variance mu_it + mu_it**2 / theta)

The regressors in the mean equation are computed from the source variables *as
published* (rounded to the precision of the raw files), exactly as the cleaning step
derives them, so the true coefficients hold for the parsed data, not only for a
latent version of it.

:func:`simulate_panel` is the generic DGP (any synthetic city ids);
:func:`build_demo_panel` runs it for ``config/cities.csv`` and calibrates a few 2020
values to figures quoted by the source study; :func:`write_demo_files` writes the
deliberately messy "yearbook extracts" in ``data/raw/demo``; ``python -m
innopanel.synthetic.demo --config config/config.yaml --out data/raw/demo`` regenerates them.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from innopanel.io import sha256_file, write_bytes, write_json, write_text

SOURCE_VARIABLES: tuple[str, ...] = (
    "gdp",
    "population",
    "college_students",
    "secondary_share",
    "rd_expenditure",
    "rd_personnel",
    "invention_patent_applications",
    "invention_patents_granted",
    "key_laboratories",
    "engineering_research_centres",
    "incubators",
)
PLATFORM_COMPONENTS: tuple[str, ...] = (
    "key_laboratories",
    "engineering_research_centres",
    "incubators",
)
MEAN_EQUATION_TERMS: tuple[str, ...] = (
    "rd_intensity",
    "log_talent",
    "open_platforms",
    "log_gdp_per_capita",
    "secondary_share",
)

ECONOMY_FILE = "economy_yearbook.csv"
SCIENCE_TECHNOLOGY_FILE = "science_technology_yearbook_gbk.csv"
OPEN_PLATFORMS_FILE = "open_platforms_registry.csv"
TRUTH_FILE = "dgp_truth.json"
README_FILE = "README.md"
MANIFEST_FILE = "MANIFEST.sha256"

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

MISSING_SHARE = 0.01
ECONOMY_MISSING_MARKER = "—"  # U+2014 EM DASH
SCIENCE_TECHNOLOGY_MISSING_MARKER = ".."
OPEN_PLATFORMS_MISSING_MARKER = ".."
ECONOMY_DUPLICATES = 2
OPEN_PLATFORMS_DUPLICATES = 5
# The synthetic S&T extract switches R&D expenditure from 万元 to 亿元 in 2016, as real
# yearbook series sometimes change units between editions.
LAST_YEAR_IN_WAN_YUAN = 2015
# Share of rows whose English name is written with an alias, where the city has one.
ALIAS_SHARE = 0.35
CITY_SUFFIX_SHARE = 0.5

ECONOMY_HEADER: tuple[str, ...] = (
    "城市",
    "年份",
    "地区生产总值(亿元)",
    "常住人口(万人)",
    "普通高等学校在校学生数(万人)",
    "第二产业增加值占GDP比重(%)",
)
OPEN_PLATFORMS_HEADER: tuple[str, ...] = (
    "City",
    "Year",
    "National key laboratories (count)",
    "National engineering research centres (count)",
    "National-level incubators (count)",
)

PLATFORM_SHARES: Mapping[str, float] = {
    "key_laboratories": 0.3,
    "engineering_research_centres": 0.3,
    "incubators": 0.4,
}

# Independent random streams, so that e.g. calibrating covariates cannot shift the
# outcome draws and the file formatting cannot shift either.
_STREAMS: tuple[str, ...] = ("covariates", "outcome", "formatting")


@dataclass(frozen=True)
class CovariateProcess:
    """How the regressors and the other source variables are generated.

    ``*_alpha`` fields are loadings of a city's level on its effect alpha_i (what makes
    pooled OLS and random effects inconsistent); ``*_level_sd`` are between-city
    noise, ``*_within_sd`` within-city noise; trends are per year since the first year.
    """

    rd_level: float = 2.2
    rd_alpha: float = 0.9
    rd_level_sd: float = 0.35
    rd_trend: float = 0.06
    rd_within_sd: float = 0.35
    rd_bounds: tuple[float, float] = (0.4, 7.5)
    log_talent_level: float = 4.25
    log_talent_alpha: float = 0.45
    log_talent_level_sd: float = 0.25
    log_talent_trend: float = 0.04
    log_talent_within_sd: float = 0.15
    # AR(1) coefficient of the within-city noise of rd_intensity and log talent.
    within_ar1: float = 0.5
    gdp_per_capita_level: float = 60_000.0
    log_gdp_per_capita_alpha: float = 0.35
    log_gdp_per_capita_level_sd: float = 0.15
    gdp_per_capita_growth: float = 0.055
    gdp_per_capita_growth_sd: float = 0.012
    log_gdp_per_capita_within_sd: float = 0.03
    log_gdp_per_capita_ar1: float = 0.6
    secondary_level: float = 43.0
    secondary_alpha: float = -2.5
    secondary_level_sd: float = 4.0
    secondary_trend: float = -0.5
    secondary_within_sd: float = 1.0
    secondary_bounds: tuple[float, float] = (25.0, 55.0)
    # Median population (万人) of tier 1, 2 and 3 cities and of cities without a tier.
    population_medians: tuple[float, float, float, float] = (2000.0, 1000.0, 500.0, 700.0)
    log_population_level_sd: float = 0.35
    population_growth: float = 0.012
    population_growth_sd: float = 0.008
    log_population_within_sd: float = 0.005
    college_per_10k_level: float = 450.0
    log_college_alpha: float = 0.35
    log_college_level_sd: float = 0.35
    log_college_trend: float = 0.02
    log_college_within_sd: float = 0.03
    college_per_10k_bounds: tuple[float, float] = (150.0, 2000.0)
    # Platform stock of a component with share s: Poisson(s * exp(a0 + a1 * alpha_i))
    # initially plus Poisson(s * exp(b0 + b1 * alpha_i)) accessions a year.
    platform_initial_log_level: float = 1.0
    platform_initial_alpha: float = 1.0
    platform_accession_log_level: float = -0.6
    platform_accession_alpha: float = 0.7
    platform_total_cap: int = 40
    grant_rate_range: tuple[float, float] = (0.32, 0.48)
    grant_rate_within_sd: float = 0.02
    grant_rate_bounds: tuple[float, float] = (0.28, 0.52)


@dataclass(frozen=True)
class DemoParameters:
    """True coefficients and nuisance parameters of the demo DGP."""

    # True coefficients of the log mean of invention_patents_granted.
    rd_intensity: float = 0.15
    log_talent: float = 0.40
    open_platforms: float = 0.02
    log_gdp_per_capita: float = 0.30
    secondary_share: float = -0.005
    intercept: float = 0.6
    # NB2 dispersion: variance = mu + mu**2 / theta.
    theta: float = 30.0
    # City effect alpha_i ~ Normal(tier shift, city_effect_sd).
    city_effect_sd: float = 0.4
    tier1_shift: float = 1.0
    tier2_shift: float = 0.4
    tier3_shift: float = -0.3
    untiered_shift: float = 0.0
    # Year effect gamma_t = year_trend * (t - first year) + Normal(0, year_noise_sd).
    year_trend: float = 0.08
    year_noise_sd: float = 0.03
    covariates: CovariateProcess = CovariateProcess()

    def coefficients(self) -> dict[str, float]:
        """Return the true mean-equation coefficients keyed by model term."""
        return {term: getattr(self, term) for term in MEAN_EQUATION_TERMS}


@dataclass(frozen=True)
class SimulatedPanel:
    """A clean panel together with the latent effects and log means behind it."""

    panel: pd.DataFrame
    city_effects: pd.Series
    year_effects: pd.Series
    log_mean: pd.Series


@dataclass
class _Latent:
    """Latent (unrounded) covariates as (city, year) arrays, before publication."""

    city_ids: list[str]
    years: list[int]
    alpha: np.ndarray
    gamma: np.ndarray
    rd_intensity: np.ndarray
    talent: np.ndarray
    gdp_per_capita: np.ndarray
    population: np.ndarray
    college_per_10k: np.ndarray
    secondary_share: np.ndarray
    platforms: dict[str, np.ndarray]


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Return the named, independent generators spawned from ``default_rng(seed)``."""
    children = np.random.default_rng(seed).spawn(len(_STREAMS))
    return dict(zip(_STREAMS, children, strict=True))


def _ar1(rng: np.random.Generator, shape: tuple[int, int], sd: float, rho: float) -> np.ndarray:
    """Stationary AR(1) noise along axis 1 with marginal standard deviation ``sd``."""
    noise = np.empty(shape)
    noise[:, 0] = rng.normal(0.0, sd, shape[0])
    innovation_sd = sd * math.sqrt(1.0 - rho**2)
    for t in range(1, shape[1]):
        noise[:, t] = rho * noise[:, t - 1] + rng.normal(0.0, innovation_sd, shape[0])
    return noise


def _tier_array(
    city_ids: Sequence[str], tiers: Mapping[str, int] | Sequence[int | None] | None
) -> list[int | None]:
    """One tier (1, 2, 3 or None) per city; accepts a mapping or a parallel sequence."""
    if tiers is None:
        return [None] * len(city_ids)
    if isinstance(tiers, Mapping):
        tier_list = [tiers.get(city) for city in city_ids]
    else:
        tier_list = list(tiers)
        if len(tier_list) != len(city_ids):
            raise ValueError("tiers must be a mapping or have one entry per city")
    # Tiers read from a CSV arrive as strings ("1") or blanks.
    return [None if tier is None or str(tier).strip() == "" else int(tier) for tier in tier_list]


def _simulate_latent(
    city_ids: Sequence[str],
    years: Sequence[int],
    rng: np.random.Generator,
    parameters: DemoParameters,
    tiers: list[int | None],
) -> _Latent:
    """Draw the city and year effects and the latent covariates."""
    n_cities, n_years = len(city_ids), len(years)
    shape = (n_cities, n_years)
    elapsed = np.asarray(years, dtype=float) - min(years)

    shifts = {1: parameters.tier1_shift, 2: parameters.tier2_shift, 3: parameters.tier3_shift}
    tier_shift = np.array([shifts.get(tier, parameters.untiered_shift) for tier in tiers])
    alpha = tier_shift + rng.normal(0.0, parameters.city_effect_sd, n_cities)
    gamma = parameters.year_trend * elapsed + rng.normal(0.0, parameters.year_noise_sd, n_years)
    a = alpha[:, None]

    c = parameters.covariates

    # Every level loads on alpha: this is what makes pooled OLS and RE inconsistent.
    rd_level = c.rd_level + c.rd_alpha * alpha + rng.normal(0.0, c.rd_level_sd, n_cities)
    rd_intensity = np.clip(
        rd_level[:, None] + c.rd_trend * elapsed + _ar1(rng, shape, c.rd_within_sd, c.within_ar1),
        *c.rd_bounds,
    )

    talent_level = (
        c.log_talent_level
        + c.log_talent_alpha * alpha
        + rng.normal(0.0, c.log_talent_level_sd, n_cities)
    )
    log_talent = (
        talent_level[:, None]
        + c.log_talent_trend * elapsed
        + _ar1(rng, shape, c.log_talent_within_sd, c.within_ar1)
    )

    gdppc_level = (
        math.log(c.gdp_per_capita_level)
        + c.log_gdp_per_capita_alpha * alpha
        + rng.normal(0.0, c.log_gdp_per_capita_level_sd, n_cities)
    )
    gdppc_growth = c.gdp_per_capita_growth + rng.normal(0.0, c.gdp_per_capita_growth_sd, n_cities)
    log_gdppc = (
        gdppc_level[:, None]
        + gdppc_growth[:, None] * elapsed
        + _ar1(rng, shape, c.log_gdp_per_capita_within_sd, c.log_gdp_per_capita_ar1)
    )

    secondary_level = (
        c.secondary_level
        + c.secondary_alpha * alpha
        + rng.normal(0.0, c.secondary_level_sd, n_cities)
    )
    secondary_share = np.clip(
        secondary_level[:, None]
        + c.secondary_trend * elapsed
        + rng.normal(0.0, c.secondary_within_sd, shape),
        *c.secondary_bounds,
    )

    medians = dict(zip((1, 2, 3), c.population_medians[:3], strict=True))
    log_population_level = np.log(
        [medians.get(tier, c.population_medians[3]) for tier in tiers]
    ) + rng.normal(0.0, c.log_population_level_sd, n_cities)
    population_growth = c.population_growth + rng.normal(0.0, c.population_growth_sd, n_cities)
    population = np.exp(
        log_population_level[:, None]
        + population_growth[:, None] * elapsed
        + rng.normal(0.0, c.log_population_within_sd, shape)
    )

    college_level = (
        math.log(c.college_per_10k_level)
        + c.log_college_alpha * alpha
        + rng.normal(0.0, c.log_college_level_sd, n_cities)
    )
    college_per_10k = np.clip(
        np.exp(
            college_level[:, None]
            + c.log_college_trend * elapsed
            + rng.normal(0.0, c.log_college_within_sd, shape)
        ),
        *c.college_per_10k_bounds,
    )

    # Platform stocks: an initial stock plus Poisson accessions, never dismantled; the
    # cap (a running minimum keeps stocks non-decreasing) keeps totals within ~0-40.
    platforms: dict[str, np.ndarray] = {}
    for component, share in PLATFORM_SHARES.items():
        initial = rng.poisson(
            share * np.exp(c.platform_initial_log_level + c.platform_initial_alpha * alpha)
        )
        accessions = rng.poisson(
            share * np.exp(c.platform_accession_log_level + c.platform_accession_alpha * a),
            shape,
        )
        accessions[:, 0] = 0
        stock = initial[:, None] + np.cumsum(accessions, axis=1)
        platforms[component] = np.minimum(stock, round(share * c.platform_total_cap))

    return _Latent(
        city_ids=list(city_ids),
        years=list(years),
        alpha=alpha,
        gamma=gamma,
        rd_intensity=rd_intensity,
        talent=np.exp(log_talent),
        gdp_per_capita=np.exp(log_gdppc),
        population=population,
        college_per_10k=college_per_10k,
        secondary_share=secondary_share,
        platforms=platforms,
    )


def rd_expenditure_decimals(year: int) -> int:
    """Decimals (in 亿元) at which R&D expenditure is published for ``year``.

    Up to 2015 the yearbook reports whole 万元 (= 4 decimals of 亿元), from 2016 on
    亿元 with 2 decimals.
    """
    return 4 if year <= LAST_YEAR_IN_WAN_YUAN else 2


def _round_to(values: np.ndarray, decimals: int | np.ndarray) -> np.ndarray:
    scale = np.power(10.0, decimals)
    return np.rint(values * scale) / scale


def _publish(latent: _Latent) -> pd.DataFrame:
    """Turn latent covariates into source variables at their published precision.

    Returns the panel without the outcome columns.
    """
    years = np.asarray(latent.years)
    population = _round_to(latent.population, 2)
    # gdp (亿元) = GDP per capita (CNY) * population (万人) * 1e4 persons / 1e8 CNY.
    gdp = _round_to(latent.gdp_per_capita * population / 1e4, 1)
    rd_decimals = np.array([rd_expenditure_decimals(int(year)) for year in years])[None, :]
    rd_expenditure = _round_to(latent.rd_intensity / 100.0 * gdp, rd_decimals)
    # Population is in 万人 (units of 10,000), so persons per 10k = persons / population.
    rd_personnel = np.rint(latent.talent * population).astype(np.int64)
    # Published in 万人 with 2 decimals, i.e. in hundreds of persons.
    college_students = (np.rint(latent.college_per_10k * population / 100.0) * 100).astype(np.int64)
    columns: dict[str, np.ndarray] = {
        "gdp": gdp,
        "population": population,
        "college_students": college_students,
        "secondary_share": _round_to(latent.secondary_share, 2),
        "rd_expenditure": rd_expenditure,
        "rd_personnel": rd_personnel,
        **{name: latent.platforms[name].astype(np.int64) for name in PLATFORM_COMPONENTS},
    }
    n_cities, n_years = len(latent.city_ids), len(latent.years)
    frame = pd.DataFrame(
        {
            "city_id": np.repeat(np.asarray(latent.city_ids, dtype=object), n_years),
            "year": np.tile(years.astype(np.int64), n_cities),
        }
    )
    for name, values in columns.items():
        frame[name] = values.reshape(-1)
    frame["city_id"] = frame["city_id"].astype(str)
    return frame


def derive_regressors(panel: pd.DataFrame) -> pd.DataFrame:
    """Compute the mean-equation regressors from source variables in canonical units.

    rd_intensity = 100 * rd_expenditure / gdp (% of GDP); talent = rd_personnel /
    population (R&D personnel per 10,000 residents, population in 万人);
    open_platforms = key_laboratories + engineering_research_centres + incubators;
    gdp_per_capita = gdp * 1e8 / (population * 1e4) (CNY).
    """
    talent = panel["rd_personnel"] / panel["population"]
    gdp_per_capita = panel["gdp"] * 1e8 / (panel["population"] * 1e4)
    return pd.DataFrame(
        {
            "rd_intensity": 100.0 * panel["rd_expenditure"] / panel["gdp"],
            "talent": talent,
            "log_talent": np.log(talent),
            "open_platforms": panel[list(PLATFORM_COMPONENTS)].sum(axis=1),
            "gdp_per_capita": gdp_per_capita,
            "log_gdp_per_capita": np.log(gdp_per_capita),
            "secondary_share": panel["secondary_share"],
        },
        index=panel.index,
    )


def _draw_outcomes(
    published: pd.DataFrame,
    alpha: pd.Series,
    gamma: pd.Series,
    rng: np.random.Generator,
    parameters: DemoParameters,
) -> tuple[pd.DataFrame, pd.Series]:
    """Draw granted invention patents (NB2) and applications for a published panel."""
    regressors = derive_regressors(published)
    log_mean = (
        parameters.intercept
        + published["city_id"].map(alpha).to_numpy()
        + published["year"].map(gamma).to_numpy()
    )
    for term, coefficient in parameters.coefficients().items():
        log_mean = log_mean + coefficient * regressors[term].to_numpy()
    mean = np.exp(log_mean)
    theta = parameters.theta
    granted = rng.negative_binomial(theta, theta / (theta + mean)).astype(np.int64)

    # Grant rates differ by city (examination backlogs, field mix) and drift a little.
    cities = pd.unique(published["city_id"])
    c = parameters.covariates
    city_rate = pd.Series(rng.uniform(*c.grant_rate_range, len(cities)), index=cities)
    grant_rate = np.clip(
        published["city_id"].map(city_rate).to_numpy()
        + rng.normal(0.0, c.grant_rate_within_sd, len(published)),
        *c.grant_rate_bounds,
    )
    applications = np.maximum(granted, np.rint(granted / grant_rate).astype(np.int64))

    panel = published.copy()
    panel["invention_patent_applications"] = applications
    panel["invention_patents_granted"] = granted
    panel = panel[["city_id", "year", *SOURCE_VARIABLES]]
    return panel, pd.Series(log_mean, index=panel.index, name="log_mean")


def simulate_panel_with_truth(
    city_ids: Sequence[str],
    years: Iterable[int],
    seed: int,
    parameters: DemoParameters = DemoParameters(),
    tiers: Mapping[str, int] | Sequence[int | None] | None = None,
) -> SimulatedPanel:
    """Run the DGP and also return alpha_i, gamma_t and log mu_it (for checks)."""
    city_ids = [str(city) for city in city_ids]
    years = sorted(int(year) for year in years)
    if not city_ids or not years:
        raise ValueError("simulate_panel needs at least one city and one year")
    if len(set(city_ids)) != len(city_ids):
        raise ValueError("city_ids must be unique")
    streams = _streams(seed)
    latent = _simulate_latent(
        city_ids, years, streams["covariates"], parameters, _tier_array(city_ids, tiers)
    )
    return _finish(latent, streams["outcome"], parameters)


def _finish(
    latent: _Latent, outcome_rng: np.random.Generator, parameters: DemoParameters
) -> SimulatedPanel:
    alpha = pd.Series(latent.alpha, index=latent.city_ids, name="alpha")
    gamma = pd.Series(latent.gamma, index=latent.years, name="gamma")
    panel, log_mean = _draw_outcomes(_publish(latent), alpha, gamma, outcome_rng, parameters)
    return SimulatedPanel(panel=panel, city_effects=alpha, year_effects=gamma, log_mean=log_mean)


def simulate_panel(
    city_ids: Sequence[str],
    years: Iterable[int],
    seed: int,
    parameters: DemoParameters = DemoParameters(),
    tiers: Mapping[str, int] | Sequence[int | None] | None = None,
) -> pd.DataFrame:
    """Simulate a clean city-year panel of the 11 source variables (canonical units).

    ``tiers`` (mapping city_id -> 1/2/3, or one entry per city) shifts the city
    effect; values are at the precision the raw files publish them.
    """
    return simulate_panel_with_truth(city_ids, years, seed, parameters, tiers).panel


def _calibrate(latent: _Latent, parameters: DemoParameters) -> None:
    """Move the named cities' whole series so their 2020 values hit the quoted figures.

    GDP is rescaled (through GDP per capita), R&D intensity shifted and platform
    stocks rescaled, so each series keeps its shape and stocks stay non-decreasing.
    """
    row = {city: i for i, city in enumerate(latent.city_ids)}
    needed = {
        GDP_REFERENCE_CITY,
        *RD_INTENSITY_TARGETS,
        *OPEN_PLATFORM_TARGETS,
        *GDP_SHARE_OF_CHENGDU_TARGETS,
    }
    missing = sorted(needed - row.keys())
    if missing:
        raise ValueError(f"calibration cities missing from the city table: {missing}")
    if CALIBRATION_YEAR not in latent.years:
        raise ValueError(f"the demo panel must include {CALIBRATION_YEAR} for calibration")
    col = latent.years.index(CALIBRATION_YEAR)

    population_2020 = _round_to(latent.population[:, col], 2)
    reference_gdp = _round_to(
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
    year = panel[panel["year"] == CALIBRATION_YEAR].set_index("city_id")
    regressors = derive_regressors(year)
    return {
        "rd_intensity_percent": {
            city: float(regressors.loc[city, "rd_intensity"]) for city in RD_INTENSITY_TARGETS
        },
        "open_platforms": {
            city: float(regressors.loc[city, "open_platforms"]) for city in OPEN_PLATFORM_TARGETS
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


def _build_demo(
    cities: pd.DataFrame, first_year: int, last_year: int, seed: int, parameters: DemoParameters
) -> SimulatedPanel:
    city_ids = cities["city_id"].astype(str).tolist()
    tiers = dict(zip(city_ids, cities["tier"], strict=True))
    years = list(range(int(first_year), int(last_year) + 1))
    streams = _streams(seed)
    latent = _simulate_latent(
        city_ids, years, streams["covariates"], parameters, _tier_array(city_ids, tiers)
    )
    _calibrate(latent, parameters)
    # The outcome is drawn only now, from the calibrated regressors, so the recorded
    # true coefficients hold exactly for the calibrated cities too.
    simulated = _finish(latent, streams["outcome"], parameters)
    _check_calibration(simulated.panel)
    return simulated


def build_demo_panel(
    cities: pd.DataFrame,
    first_year: int,
    last_year: int,
    seed: int,
    parameters: DemoParameters = DemoParameters(),
) -> pd.DataFrame:
    """Simulate the panel for the city table and calibrate 2020 to the source study.

    ``cities`` needs ``city_id`` and ``tier`` columns (config/cities.csv). Raises
    ``RuntimeError`` if the calibration targets do not hold at published precision.
    """
    return _build_demo(cities, first_year, last_year, seed, parameters).panel


# ---------------------------------------------------------------------------
# Messy raw files
# ---------------------------------------------------------------------------


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def _blank_cells(
    rows: list[list[str]],
    numeric_columns: Sequence[int],
    protected: Sequence[bool],
    marker: str,
    rng: np.random.Generator,
) -> None:
    """Replace about MISSING_SHARE of the unprotected numeric cells by ``marker``."""
    cells = [
        (r, c)
        for r, row in enumerate(rows)
        if not protected[r]
        for c in numeric_columns
        if row[c] != marker
    ]
    n_missing = round(MISSING_SHARE * len(rows) * len(numeric_columns))
    for index in np.sort(rng.choice(len(cells), size=n_missing, replace=False)):
        r, c = cells[index]
        rows[r][c] = marker


def _insert_duplicates(rows: list[list[str]], count: int, rng: np.random.Generator) -> None:
    """Insert exact copies of ``count`` distinct rows at random positions."""
    originals = rng.choice(len(rows), size=count, replace=False)
    copies = [list(rows[i]) for i in originals]
    for copy in copies:
        rows.insert(int(rng.integers(0, len(rows) + 1)), copy)


def _is_protected(panel: pd.DataFrame) -> np.ndarray:
    return (
        panel["city_id"].isin(PROTECTED_CITIES) & (panel["year"] == CALIBRATION_YEAR)
    ).to_numpy()


def _economy_rows(
    panel: pd.DataFrame, cities: pd.DataFrame, rng: np.random.Generator
) -> list[list[str]]:
    names = cities.set_index("city_id")["name_zh"]
    order = {city: k for k, city in enumerate(cities["city_id"])}
    ordered = panel.assign(_order=panel["city_id"].map(order)).sort_values(
        ["_order", "year"], kind="stable"
    )
    with_suffix = rng.random(len(ordered)) < CITY_SUFFIX_SHARE
    rows = [
        [
            names[record.city_id] + ("市" if suffix else ""),
            str(record.year),
            f"{record.gdp:,.1f}",
            f"{record.population:.2f}",
            f"{record.college_students / 1e4:.2f}",
            f"{record.secondary_share:.2f}",
        ]
        for record, suffix in zip(ordered.itertuples(index=False), with_suffix, strict=True)
    ]
    _blank_cells(rows, range(2, 6), _is_protected(ordered), ECONOMY_MISSING_MARKER, rng)
    _insert_duplicates(rows, ECONOMY_DUPLICATES, rng)
    return rows


def _format_rd_expenditure(value_yi: float, year: int) -> str:
    if year <= LAST_YEAR_IN_WAN_YUAN:
        return str(round(value_yi * 1e4))
    return f"{value_yi:.2f}"


def science_technology_header(year: int) -> list[str]:
    """Header line of one year's block in the science & technology extract."""
    unit = "万元" if year <= LAST_YEAR_IN_WAN_YUAN else "亿元"
    return [
        "地区",
        "年份",
        f"R&D经费内部支出({unit})",
        "R&D人员(人)",
        "发明专利申请量(件)",
        "发明专利授权量(件)",
    ]


def _science_technology_text(
    panel: pd.DataFrame, cities: pd.DataFrame, rng: np.random.Generator
) -> str:
    names = cities.set_index("city_id")["name_zh"]
    order = {city: k for k, city in enumerate(cities["city_id"])}
    ordered = panel.assign(_order=panel["city_id"].map(order)).sort_values(
        ["year", "_order"], kind="stable"
    )
    rows = [
        [
            names[record.city_id],
            str(record.year),
            _format_rd_expenditure(record.rd_expenditure, record.year),
            str(record.rd_personnel),
            str(record.invention_patent_applications),
            str(record.invention_patents_granted),
        ]
        for record in ordered.itertuples(index=False)
    ]
    _blank_cells(rows, range(2, 6), _is_protected(ordered), SCIENCE_TECHNOLOGY_MISSING_MARKER, rng)
    # One block per yearly extract, each with its own header (and unit).
    blocks = []
    years = ordered["year"].to_numpy()
    for year in sorted(set(years.tolist())):
        block_rows = [row for row, row_year in zip(rows, years, strict=True) if row_year == year]
        blocks.append(_csv_text([science_technology_header(year), *block_rows]))
    return "".join(blocks)


def _english_name(record: pd.Series, rng: np.random.Generator) -> str:
    aliases = [alias for alias in str(record["aliases"] or "").split("|") if alias]
    if aliases and rng.random() < ALIAS_SHARE:
        return aliases[int(rng.integers(0, len(aliases)))]
    return record["name_en"] + (" City" if rng.random() < CITY_SUFFIX_SHARE else "")


def _open_platform_rows(
    panel: pd.DataFrame, cities: pd.DataFrame, rng: np.random.Generator
) -> list[list[str]]:
    table = cities.set_index("city_id").fillna({"aliases": ""})
    ordered = panel.assign(_name=panel["city_id"].map(table["name_en"])).sort_values(
        ["_name", "year"], kind="stable"
    )
    rows = [
        [
            _english_name(table.loc[record.city_id], rng),
            str(record.year),
            str(record.key_laboratories),
            str(record.engineering_research_centres),
            str(record.incubators),
        ]
        for record in ordered.itertuples(index=False)
    ]
    _blank_cells(rows, range(2, 5), _is_protected(ordered), OPEN_PLATFORMS_MISSING_MARKER, rng)
    _insert_duplicates(rows, OPEN_PLATFORMS_DUPLICATES, rng)
    return rows


def _grant_rate_text(c: CovariateProcess) -> str:
    low, high = c.grant_rate_range
    floor, ceiling = c.grant_rate_bounds
    return (
        "invention_patent_applications = max(granted, round(granted / grant_rate)), "
        f"grant_rate = Uniform({low:g}, {high:g}) by city + Normal(0, {c.grant_rate_within_sd:g})"
        f" by year, clipped to [{floor:g}, {ceiling:g}]"
    )


def _truth_payload(panel: pd.DataFrame, seed: int, parameters: DemoParameters) -> dict[str, object]:
    achieved = calibration_values(panel)
    return {
        "synthetic": True,
        "statement": (
            "SYNTHETIC demo data generated by innopanel.synthetic.demo; not real statistics. "
            "Only a few 2020 values are calibrated to figures quoted by the source study."
        ),
        "seed": int(seed),
        "generator": "innopanel.synthetic.demo",
        "mean_equation": mean_equation_text(parameters),
        "distribution": (
            "invention_patents_granted ~ NB2(mean mu, variance mu + mu^2/theta); "
            + _grant_rate_text(parameters.covariates)
        ),
        "regressor_definitions": {
            "rd_intensity": "100 * rd_expenditure / gdp (percent of GDP)",
            "log_talent": "log(rd_personnel / population), population in 10,000 persons",
            "open_platforms": "key_laboratories + engineering_research_centres + incubators",
            "log_gdp_per_capita": "log(gdp * 1e8 / (population * 1e4)), CNY",
            "secondary_share": "secondary industry share of GDP (percent)",
        },
        "true_coefficients": parameters.coefficients(),
        "intercept": parameters.intercept,
        "theta": parameters.theta,
        "parameters": dataclasses.asdict(parameters),
        "years": [int(panel["year"].min()), int(panel["year"].max())],
        "calibration": {
            "year": CALIBRATION_YEAR,
            "source": SOURCE_STUDY,
            "targets": {
                "rd_intensity_percent": dict(RD_INTENSITY_TARGETS),
                "open_platforms": dict(OPEN_PLATFORM_TARGETS),
                "chengdu_gdp_percent_of": dict(GDP_SHARE_OF_CHENGDU_TARGETS),
            },
            "achieved_at_published_precision": {
                quantity: {city: round(value, 4) for city, value in values.items()}
                for quantity, values in achieved.items()
            },
        },
    }


def mean_equation_text(parameters: DemoParameters = DemoParameters()) -> str:
    """The mean equation with the true coefficients, as plain text."""
    terms = " ".join(
        f"{'-' if value < 0 else '+'} {abs(value):g}*{term}"
        for term, value in parameters.coefficients().items()
    )
    return (
        f"log E[invention_patents_granted_it] = {parameters.intercept:g} + alpha_i + gamma_t "
        f"{terms}"
    )


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _readme_files_section(first: int, last: int) -> str:
    wan_header = ",".join(science_technology_header(first))
    yi_header = ",".join(science_technology_header(last))
    economy_columns = _markdown_table(
        ["column", "meaning → variable", "unit", "format"],
        [
            [
                "`城市`",
                "city (Chinese name)",
                "—",
                "randomly with or without the `市` suffix (`成都市` / `成都`)",
            ],
            ["`年份`", "year", "—", "integer"],
            [
                "`地区生产总值(亿元)`",
                "GDP → `gdp`",
                "亿元 (CNY 100 million)",
                '1 decimal **with thousands separators**, e.g. `"17,716.7"` (quoted)',
            ],
            [
                "`常住人口(万人)`",
                "resident population → `population`",
                "万人 (10,000 persons)",
                "2 decimals",
            ],
            [
                "`普通高等学校在校学生数(万人)`",
                "college students → `college_students`",
                "**万人** (canonical unit: persons, × 10,000)",
                "2 decimals",
            ],
            [
                "`第二产业增加值占GDP比重(%)`",
                "secondary industry share → `secondary_share`",
                "%",
                "2 decimals",
            ],
        ],
    )
    science_columns = _markdown_table(
        ["column", "meaning → variable", "unit", "format"],
        [
            ["`地区`", "city (Chinese name, never with `市`)", "—", ""],
            ["`年份`", "year", "—", "integer"],
            [
                "`R&D经费内部支出(万元)` / `(亿元)`",
                "R&D expenditure → `rd_expenditure`",
                "as in the block's header (canonical 亿元; 1 亿元 = 10,000 万元)",
                "integer (万元) / 2 decimals (亿元)",
            ],
            ["`R&D人员(人)`", "R&D personnel → `rd_personnel`", "persons", "integer"],
            ["`发明专利申请量(件)`", "→ `invention_patent_applications`", "count", "integer"],
            [
                "`发明专利授权量(件)`",
                "→ `invention_patents_granted` (the outcome)",
                "count",
                "integer",
            ],
        ],
    )
    platform_columns = _markdown_table(
        ["column", "variable", "unit"],
        [
            ["`City`", "city (English name)", "—"],
            ["`Year`", "year", "—"],
            ["`National key laboratories (count)`", "`key_laboratories`", "count"],
            [
                "`National engineering research centres (count)`",
                "`engineering_research_centres`",
                "count",
            ],
            ["`National-level incubators (count)`", "`incubators`", "count"],
        ],
    )
    return f"""## Files

### `{ECONOMY_FILE}` — economy yearbook extract

- Encoding **UTF-8 with BOM** (`utf-8-sig`), comma-separated, LF line endings;
  fields containing a comma are double-quoted.
- One header line: `{",".join(ECONOMY_HEADER)}`
- Rows ordered by city (order of `config/cities.csv`), then year.

{economy_columns}

- Missing marker: `{ECONOMY_MISSING_MARKER}` (U+2014 EM DASH) in about 1 % of the
  numeric cells.
- Quirk: **{ECONOMY_DUPLICATES} exact duplicate rows** inserted at random positions.

### `{SCIENCE_TECHNOLOGY_FILE}` — science & technology yearbook extract

- Encoding **GBK**, comma-separated, LF line endings.
- A concatenation of one block per year ({first}–{last}); rows ordered by year, then
  city. **Every block starts with its own header line**, so the header appears
  {last - first + 1} times, and **the R&D expenditure unit changes between blocks**:
  - {first}–{LAST_YEAR_IN_WAN_YUAN}: expenditure in 万元 as integers, header
    `{wan_header}`
  - {LAST_YEAR_IN_WAN_YUAN + 1}–{last}: expenditure in 亿元 with 2 decimals, header
    `{yi_header}`

{science_columns}

- Missing marker: `{SCIENCE_TECHNOLOGY_MISSING_MARKER}` in about 1 % of the numeric
  cells.
- No duplicate rows.

### `{OPEN_PLATFORMS_FILE}` — national open innovation platform registry

- Encoding **UTF-8** (no BOM), comma-separated, LF line endings.
- Header: `{",".join(OPEN_PLATFORMS_HEADER)}`
- Rows ordered by English city name, then year (apart from the duplicates).

{platform_columns}

- City names vary: `Chengdu` or `Chengdu City`, and for cities with aliases in
  `config/cities.csv` sometimes an alias (`Xian`, `Xi’an`, `Peking`, `Canton`,
  `Tsingtao`, `Amoy`, `Suzhou (Jiangsu)`, `Fuzhou (Fujian)`, `Huhehaote`, `Ürümqi`,
  `Wulumuqi`). Match on `name_en`, `name_en + " City"` and the aliases.
- Missing marker: `{OPEN_PLATFORMS_MISSING_MARKER}` in about 1 % of the count cells.
- Quirk: **{OPEN_PLATFORMS_DUPLICATES} exact duplicate rows** scattered through the
  file.
- The three counts are stocks: they never decrease within a city.

No missing marker is ever placed in the {CALIBRATION_YEAR} rows of
{", ".join(PROTECTED_CITIES)} (the calibration targets). Apart from the markers, every
city appears in every file for every year {first}–{last}.
"""


def _signed(value: float) -> str:
    return f"{'-' if value < 0 else '+'} {abs(value):g}"


def _readme_dgp_section(first: int, seed: int, parameters: DemoParameters) -> str:
    p, c = parameters, parameters.covariates
    coefficients = _markdown_table(
        ["term", "true coefficient"],
        [[f"`{term}`", f"{value:g}"] for term, value in p.coefficients().items()],
    )
    mean_equation = "\n".join(
        [
            f"log mu_it = {p.intercept:g} + alpha_i + gamma_t",
            f"            + {p.rd_intensity:g} rd_intensity_it + {p.log_talent:g} log_talent_it",
            f"            + {p.open_platforms:g} open_platforms_it"
            f" + {p.log_gdp_per_capita:g} log_gdp_per_capita_it",
            f"            {_signed(p.secondary_share)} secondary_share_it",
            "invention_patents_granted_it ~ NB2(mean mu_it, variance mu_it + mu_it^2 / theta),"
            f" theta = {p.theta:g}",
        ]
    )
    tiers = ", ".join(
        f"tier {k}: {v:g}" for k, v in ((1, p.tier1_shift), (2, p.tier2_shift), (3, p.tier3_shift))
    )
    shares = " / ".join(f"{share:g}" for share in PLATFORM_SHARES.values())
    return f"""## Data-generating process

All values are published at the precision shown above, and the regressors are
computed from the published values (as the cleaning step derives them), so the true
coefficients hold for the parsed data:

- `rd_intensity = 100 * rd_expenditure / gdp` (% of GDP)
- `talent = rd_personnel / population` (R&D personnel per 10,000 residents),
  `log_talent = log(talent)`
- `open_platforms = key_laboratories + engineering_research_centres + incubators`
- `gdp_per_capita = gdp * 1e8 / (population * 1e4)` (CNY),
  `log_gdp_per_capita = log(gdp_per_capita)`

Effects, for city *i* and year *t* (t counts years since {first}):

- city effect `alpha_i ~ Normal(shift(tier_i), {p.city_effect_sd:g})`, shifts {tiers}
  (no tier: {p.untiered_shift:g});
- year effect `gamma_t = {p.year_trend:g} t + Normal(0, {p.year_noise_sd:g})`.

Regressors load on `alpha_i` (so pooled OLS and random effects are biased and
disagree with fixed effects) and vary within cities (so two-way fixed effects
identify the slopes). `N_i(s)` is a city-level normal draw, `AR_it(s, rho)` a
stationary within-city AR(1) with standard deviation `s`:

- `rd_intensity_it = {c.rd_level:g} + {c.rd_alpha:g} alpha_i + N_i({c.rd_level_sd:g})
  + {c.rd_trend:g} t + AR_it({c.rd_within_sd:g}, {c.within_ar1:g})`, clipped to
  [{c.rd_bounds[0]:g}, {c.rd_bounds[1]:g}];
- `log talent_it = {c.log_talent_level:g} + {c.log_talent_alpha:g} alpha_i
  + N_i({c.log_talent_level_sd:g}) + {c.log_talent_trend:g} t
  + AR_it({c.log_talent_within_sd:g}, {c.within_ar1:g})`;
- `log gdp_per_capita_it = log({c.gdp_per_capita_level:g})
  + {c.log_gdp_per_capita_alpha:g} alpha_i + N_i({c.log_gdp_per_capita_level_sd:g})
  + g_i t + AR_it({c.log_gdp_per_capita_within_sd:g}, {c.log_gdp_per_capita_ar1:g})`,
  `g_i ~ Normal({c.gdp_per_capita_growth:g}, {c.gdp_per_capita_growth_sd:g})`;
- `secondary_share_it = {c.secondary_level:g} {_signed(c.secondary_alpha)} alpha_i
  + N_i({c.secondary_level_sd:g}) {_signed(c.secondary_trend)} t
  + Normal(0, {c.secondary_within_sd:g})`, clipped to
  [{c.secondary_bounds[0]:g}, {c.secondary_bounds[1]:g}];
- population (万人) lognormal, median {" / ".join(f"{m:g}" for m in c.population_medians)}
  for tier 1 / 2 / 3 / no tier, log-sd {c.log_population_level_sd:g}, growing
  `Normal({c.population_growth:g}, {c.population_growth_sd:g})` a year (log);
- college students per 10,000 residents `exp(log {c.college_per_10k_level:g}
  + {c.log_college_alpha:g} alpha_i + N_i({c.log_college_level_sd:g})
  + {c.log_college_trend:g} t + Normal(0, {c.log_college_within_sd:g}))`, clipped to
  [{c.college_per_10k_bounds[0]:g}, {c.college_per_10k_bounds[1]:g}];
- platform stocks, component shares {shares} (key laboratories / engineering research
  centres / incubators): an initial stock
  `Poisson(share exp({c.platform_initial_log_level:g} + {c.platform_initial_alpha:g} alpha_i))`
  plus yearly accessions
  `Poisson(share exp({c.platform_accession_log_level:g} + {c.platform_accession_alpha:g} alpha_i))`,
  each component capped at `share × {c.platform_total_cap}`; never decreasing.

Outcome (negative binomial, NB2):

```
{mean_equation}
```

{_grant_rate_text(c)}.

{coefficients}

A regression of `log(invention_patents_granted)` on these regressors estimates the
slopes up to a small bias of order `1/(2 mu)` (mu is in the hundreds to tens of
thousands); the constant `1/(2 theta)` part of `E[log y] - log mu` is absorbed by the
intercept.

Random numbers come only from `numpy.random.default_rng({seed})`, split (`spawn`) into
independent streams for the covariates, the outcome and the file formatting.
"""


def _readme_calibration_section(panel: pd.DataFrame) -> str:
    achieved = calibration_values(panel)
    rows = [
        [city, "R&D intensity (% of GDP)", target, f"{achieved['rd_intensity_percent'][city]:.4f}"]
        for city, target in RD_INTENSITY_TARGETS.items()
    ]
    rows += [
        [
            city,
            "national open platforms (sum of the three counts)",
            target,
            f"{achieved['open_platforms'][city]:.0f}",
        ]
        for city, target in OPEN_PLATFORM_TARGETS.items()
    ]
    rows += [
        [
            f"chengdu vs {city}",
            f"100 × GDP(chengdu) / GDP({city})",
            target,
            f"{achieved['chengdu_gdp_percent_of'][city]:.4f}",
        ]
        for city, target in GDP_SHARE_OF_CHENGDU_TARGETS.items()
    ]
    table = _markdown_table(["city", "quantity", "target", "achieved"], rows)
    return f"""## Calibration (year {CALIBRATION_YEAR})

Targets are figures quoted by the source study: {SOURCE_STUDY}. Each calibrated
city's whole series is moved (GDP rescaled, R&D intensity shifted, platform stocks
rescaled so they stay non-decreasing) and the outcome is drawn afterwards from the
DGP, so the true coefficients hold for these cities too. Values achieved at published
precision (what a parser of these files obtains):

{table}
"""


def _readme_text(panel: pd.DataFrame, seed: int, parameters: DemoParameters) -> str:
    first, last = int(panel["year"].min()), int(panel["year"].max())
    n_cities = panel["city_id"].nunique()
    header = f"""# Demo raw data — SYNTHETIC, NOT REAL STATISTICS

> **Every number in this folder is synthetic.** The files were generated by a seeded
> data-generating process (`workflow/innopanel/synthetic/demo.py`) so that the workflow can run
> end to end without licensed yearbooks. They look like yearbook extracts (Chinese
> headers, mixed units, missing markers, duplicates) but they are **not** official
> statistics and must not be cited as such. Only a handful of {CALIBRATION_YEAR}
> values are calibrated to figures quoted in the source study (see *Calibration*).

- Cities: {n_cities} (all of `config/cities.csv`), years {first}–{last}.
- Seed: `demo.seed = {seed}` in `config/config.yaml`.
- Ground truth (coefficients, theta, seed, calibration): `{TRUTH_FILE}`.
- Integrity: `{MANIFEST_FILE}` (SHA256 of every other file here).
"""
    footer = f"""## Regenerating and checking

```
PYTHONPATH=workflow python -m innopanel.synthetic.demo \\
  --config config/config.yaml --out data/raw/demo
cd data/raw/demo && sha256sum -c {MANIFEST_FILE}
```

Regeneration is byte-for-byte deterministic for a given seed and numpy version; the
SHA256 digests of the three raw files are also recorded under `data.sources` in
`config/config.yaml`.
"""
    sections = [
        header,
        _readme_files_section(first, last),
        _readme_dgp_section(first, seed, parameters),
        _readme_calibration_section(panel),
        footer,
    ]
    return "\n".join(sections)


def write_demo_files(
    panel: pd.DataFrame,
    cities: pd.DataFrame,
    out_dir: str | Path,
    seed: int,
    parameters: DemoParameters = DemoParameters(),
) -> dict[str, str]:
    """Write the messy raw files, ``dgp_truth.json``, ``README.md`` and the manifest.

    ``parameters`` must be the ones the panel was built with (they are recorded as
    the truth). Returns ``{filename: sha256}`` for every file written.
    """
    out_dir = Path(out_dir)
    cities = cities.copy()
    cities["city_id"] = cities["city_id"].astype(str)
    unknown = sorted(set(panel["city_id"]) - set(cities["city_id"]))
    if unknown:
        raise ValueError(f"panel cities missing from the city table: {unknown}")
    cities = cities[cities["city_id"].isin(set(panel["city_id"]))]
    formatting = _streams(seed)["formatting"]

    economy = _csv_text([list(ECONOMY_HEADER), *_economy_rows(panel, cities, formatting)])
    write_bytes(out_dir / ECONOMY_FILE, economy.encode("utf-8-sig"))
    science = _science_technology_text(panel, cities, formatting)
    write_bytes(out_dir / SCIENCE_TECHNOLOGY_FILE, science.encode("gbk"))
    platforms = _csv_text(
        [list(OPEN_PLATFORMS_HEADER), *_open_platform_rows(panel, cities, formatting)]
    )
    write_bytes(out_dir / OPEN_PLATFORMS_FILE, platforms.encode("utf-8"))
    write_json(out_dir / TRUTH_FILE, _truth_payload(panel, seed, parameters))
    write_text(out_dir / README_FILE, _readme_text(panel, seed, parameters))

    written = [ECONOMY_FILE, SCIENCE_TECHNOLOGY_FILE, OPEN_PLATFORMS_FILE, TRUTH_FILE, README_FILE]
    digests = {name: sha256_file(out_dir / name) for name in sorted(written)}
    write_text(
        out_dir / MANIFEST_FILE,
        "".join(f"{digest}  {name}\n" for name, digest in digests.items()),
    )
    digests[MANIFEST_FILE] = sha256_file(out_dir / MANIFEST_FILE)
    return digests


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate data/raw/demo from the study configuration."""
    import yaml  # only the command line needs it

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml", type=Path)
    parser.add_argument("--out", default="data/raw/demo", type=Path)
    arguments = parser.parse_args(argv)

    config = yaml.safe_load(arguments.config.read_text(encoding="utf-8"))
    seed = int(config["demo"]["seed"])
    # The demo is a city panel: the generic unit table's ids are its city ids.
    cities = pd.read_csv(config["data"]["unit_table"], dtype=str, keep_default_na=False)
    cities = cities.rename(columns={"unit_id": "city_id"})
    parameters = DemoParameters()
    panel = build_demo_panel(
        cities, config["study"]["first_year"], config["study"]["last_year"], seed, parameters
    )
    digests = write_demo_files(panel, cities, arguments.out, seed, parameters)
    for name, digest in digests.items():
        print(f"{digest}  {arguments.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
