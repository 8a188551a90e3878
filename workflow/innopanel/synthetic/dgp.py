"""The demo's data-generating process (DGP): parameters, simulation and publication.

Everything here is SYNTHETIC. The DGP has the features that make the study's
estimators disagree on real data:

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

:func:`simulate_panel` runs the DGP for any synthetic unit ids; the calibrated demo
panel (:mod:`innopanel.synthetic.calibration`) draws its latent covariates with
:func:`simulate_latent` and finishes them with :func:`draw_panel`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The pipeline's own derivations, so the DGP's regressors are the cleaning step's.
from innopanel.data.derivations import derive_variables

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

# The derived variables the mean equation needs. The DGP computes them from the
# published source variables as the demo study config declares them (its ``derive``
# entries and canonical units), with the pipeline's own code (derive_variables), never a
# copy of the formulas.
DEMO_STUDY_CONFIG = Path(__file__).resolve().parents[3] / "config" / "studies" / "demo_cities.yaml"
REGRESSOR_DERIVATIONS: tuple[str, ...] = (
    "rd_intensity",
    "talent",
    "log_talent",
    "open_platforms",
    "gdp_per_capita",
    "log_gdp_per_capita",
)


@functools.cache
def demo_declarations() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The demo config's source variables and regressor derivations (no lags), and units."""
    import yaml

    config = yaml.safe_load(DEMO_STUDY_CONFIG.read_text(encoding="utf-8"))
    variables = {
        name: {**spec, "lag": False}
        for name, spec in config["variables"].items()
        if spec["kind"] == "source" or name in REGRESSOR_DERIVATIONS
    }
    return variables, config["units"]


def derive_regressors(published: pd.DataFrame) -> pd.DataFrame:
    """``published`` with the mean equation's derived variables, as the clean step derives them."""
    variables, units = demo_declarations()
    return derive_variables(published, variables, units)


# The synthetic S&T extract switches R&D expenditure from 万元 to 亿元 in 2016, as real
# yearbook series sometimes change units between editions.
LAST_YEAR_IN_WAN_YUAN = 2015

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
    # City effect alpha_i ~ Normal(tier shift, city_effect_sd). The name stays "city":
    # dgp_truth.json records these fields by name, and the demo's units are cities.
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


DEFAULT_PARAMETERS = DemoParameters()


@dataclass(frozen=True)
class SimulatedPanel:
    """A clean panel together with the latent effects and log means behind it."""

    panel: pd.DataFrame
    unit_effects: pd.Series
    year_effects: pd.Series
    log_mean: pd.Series


@dataclass
class LatentPanel:
    """Latent (unrounded) covariates as (city, year) arrays, before publication.

    Mutable on purpose: calibration moves a few cities' series in place before the
    outcome is drawn.
    """

    unit_ids: list[str]
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


def random_streams(seed: int) -> dict[str, np.random.Generator]:
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


def tier_array(
    unit_ids: Sequence[str], tiers: Mapping[str, int] | Sequence[int | None] | None
) -> list[int | None]:
    """One tier (1, 2, 3 or None) per unit; accepts a mapping or a parallel sequence."""
    if tiers is None:
        return [None] * len(unit_ids)
    if isinstance(tiers, Mapping):
        tier_list = [tiers.get(unit) for unit in unit_ids]
    else:
        tier_list = list(tiers)
        if len(tier_list) != len(unit_ids):
            raise ValueError("tiers must be a mapping or have one entry per unit")
    # Tiers read from a CSV arrive as strings ("1") or blanks.
    return [None if tier is None or str(tier).strip() == "" else int(tier) for tier in tier_list]


def simulate_latent(
    unit_ids: Sequence[str],
    years: Sequence[int],
    rng: np.random.Generator,
    parameters: DemoParameters,
    tiers: list[int | None],
) -> LatentPanel:
    """Draw the city and year effects and the latent covariates."""
    n_units, n_years = len(unit_ids), len(years)
    shape = (n_units, n_years)
    elapsed = np.asarray(years, dtype=float) - min(years)

    shifts = {1: parameters.tier1_shift, 2: parameters.tier2_shift, 3: parameters.tier3_shift}
    tier_shift = np.array([shifts.get(tier, parameters.untiered_shift) for tier in tiers])
    alpha = tier_shift + rng.normal(0.0, parameters.city_effect_sd, n_units)
    gamma = parameters.year_trend * elapsed + rng.normal(0.0, parameters.year_noise_sd, n_years)
    a = alpha[:, None]

    c = parameters.covariates

    # Every level loads on alpha: this is what makes pooled OLS and RE inconsistent.
    rd_level = c.rd_level + c.rd_alpha * alpha + rng.normal(0.0, c.rd_level_sd, n_units)
    rd_intensity = np.clip(
        rd_level[:, None] + c.rd_trend * elapsed + _ar1(rng, shape, c.rd_within_sd, c.within_ar1),
        *c.rd_bounds,
    )

    talent_level = (
        c.log_talent_level
        + c.log_talent_alpha * alpha
        + rng.normal(0.0, c.log_talent_level_sd, n_units)
    )
    log_talent = (
        talent_level[:, None]
        + c.log_talent_trend * elapsed
        + _ar1(rng, shape, c.log_talent_within_sd, c.within_ar1)
    )

    gdppc_level = (
        math.log(c.gdp_per_capita_level)
        + c.log_gdp_per_capita_alpha * alpha
        + rng.normal(0.0, c.log_gdp_per_capita_level_sd, n_units)
    )
    gdppc_growth = c.gdp_per_capita_growth + rng.normal(0.0, c.gdp_per_capita_growth_sd, n_units)
    log_gdppc = (
        gdppc_level[:, None]
        + gdppc_growth[:, None] * elapsed
        + _ar1(rng, shape, c.log_gdp_per_capita_within_sd, c.log_gdp_per_capita_ar1)
    )

    secondary_level = (
        c.secondary_level
        + c.secondary_alpha * alpha
        + rng.normal(0.0, c.secondary_level_sd, n_units)
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
    ) + rng.normal(0.0, c.log_population_level_sd, n_units)
    population_growth = c.population_growth + rng.normal(0.0, c.population_growth_sd, n_units)
    population = np.exp(
        log_population_level[:, None]
        + population_growth[:, None] * elapsed
        + rng.normal(0.0, c.log_population_within_sd, shape)
    )

    college_level = (
        math.log(c.college_per_10k_level)
        + c.log_college_alpha * alpha
        + rng.normal(0.0, c.log_college_level_sd, n_units)
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

    return LatentPanel(
        unit_ids=list(unit_ids),
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


def round_to(values: np.ndarray, decimals: int | np.ndarray) -> np.ndarray:
    scale = np.power(10.0, decimals)
    return np.rint(values * scale) / scale


def _publish(latent: LatentPanel) -> pd.DataFrame:
    """Turn latent covariates into source variables at their published precision.

    Returns the panel without the outcome columns.
    """
    years = np.asarray(latent.years)
    population = round_to(latent.population, 2)
    # gdp (亿元) = GDP per capita (CNY) * population (万人) * 1e4 persons / 1e8 CNY.
    gdp = round_to(latent.gdp_per_capita * population / 1e4, 1)
    rd_decimals = np.array([rd_expenditure_decimals(int(year)) for year in years])[None, :]
    rd_expenditure = round_to(latent.rd_intensity / 100.0 * gdp, rd_decimals)
    # Population is in 万人 (units of 10,000), so persons per 10k = persons / population.
    rd_personnel = np.rint(latent.talent * population).astype(np.int64)
    # Published in 万人 with 2 decimals, i.e. in hundreds of persons.
    college_students = (np.rint(latent.college_per_10k * population / 100.0) * 100).astype(np.int64)
    columns: dict[str, np.ndarray] = {
        "gdp": gdp,
        "population": population,
        "college_students": college_students,
        "secondary_share": round_to(latent.secondary_share, 2),
        "rd_expenditure": rd_expenditure,
        "rd_personnel": rd_personnel,
        **{name: latent.platforms[name].astype(np.int64) for name in PLATFORM_COMPONENTS},
    }
    n_units, n_years = len(latent.unit_ids), len(latent.years)
    frame = pd.DataFrame(
        {
            "unit_id": np.repeat(np.asarray(latent.unit_ids, dtype=object), n_years),
            "year": np.tile(years.astype(np.int64), n_units),
        }
    )
    for name, values in columns.items():
        frame[name] = values.reshape(-1)
    frame["unit_id"] = frame["unit_id"].astype(str)
    return frame


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
        + published["unit_id"].map(alpha).to_numpy()
        + published["year"].map(gamma).to_numpy()
    )
    for term, coefficient in parameters.coefficients().items():
        log_mean = log_mean + coefficient * regressors[term].to_numpy()
    mean = np.exp(log_mean)
    theta = parameters.theta
    granted = rng.negative_binomial(theta, theta / (theta + mean)).astype(np.int64)

    # Grant rates differ by city (examination backlogs, field mix) and drift a little.
    units = pd.unique(published["unit_id"])
    c = parameters.covariates
    unit_rate = pd.Series(rng.uniform(*c.grant_rate_range, len(units)), index=units)
    grant_rate = np.clip(
        published["unit_id"].map(unit_rate).to_numpy()
        + rng.normal(0.0, c.grant_rate_within_sd, len(published)),
        *c.grant_rate_bounds,
    )
    applications = np.maximum(granted, np.rint(granted / grant_rate).astype(np.int64))

    panel = published.copy()
    panel["invention_patent_applications"] = applications
    panel["invention_patents_granted"] = granted
    panel = panel[["unit_id", "year", *SOURCE_VARIABLES]]
    return panel, pd.Series(log_mean, index=panel.index, name="log_mean")


def simulate_panel_with_truth(
    unit_ids: Sequence[str],
    years: Iterable[int],
    seed: int,
    parameters: DemoParameters = DEFAULT_PARAMETERS,
    tiers: Mapping[str, int] | Sequence[int | None] | None = None,
) -> SimulatedPanel:
    """Run the DGP and also return alpha_i, gamma_t and log mu_it (for checks)."""
    unit_ids = [str(unit) for unit in unit_ids]
    years = sorted(int(year) for year in years)
    if not unit_ids or not years:
        raise ValueError("simulate_panel needs at least one unit and one year")
    if len(set(unit_ids)) != len(unit_ids):
        raise ValueError("unit_ids must be unique")
    streams = random_streams(seed)
    latent = simulate_latent(
        unit_ids, years, streams["covariates"], parameters, tier_array(unit_ids, tiers)
    )
    return draw_panel(latent, streams["outcome"], parameters)


def draw_panel(
    latent: LatentPanel, outcome_rng: np.random.Generator, parameters: DemoParameters
) -> SimulatedPanel:
    """Publish latent covariates and draw the outcome from them: the finished panel."""
    alpha = pd.Series(latent.alpha, index=latent.unit_ids, name="alpha")
    gamma = pd.Series(latent.gamma, index=latent.years, name="gamma")
    panel, log_mean = _draw_outcomes(_publish(latent), alpha, gamma, outcome_rng, parameters)
    return SimulatedPanel(panel=panel, unit_effects=alpha, year_effects=gamma, log_mean=log_mean)


def simulate_panel(
    unit_ids: Sequence[str],
    years: Iterable[int],
    seed: int,
    parameters: DemoParameters = DEFAULT_PARAMETERS,
    tiers: Mapping[str, int] | Sequence[int | None] | None = None,
) -> pd.DataFrame:
    """Simulate a clean unit-year panel of the 11 source variables (canonical units).

    ``tiers`` (mapping unit_id -> 1/2/3, or one entry per unit) shifts the unit
    effect; values are at the precision the raw files publish them.
    """
    return simulate_panel_with_truth(unit_ids, years, seed, parameters, tiers).panel
