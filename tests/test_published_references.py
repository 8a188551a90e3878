"""Estimators, covariances and tests reproduce published reference results.

Every reference value below is copied from, or read at test time out of, a file
that ships with an installed package (so the check runs offline on a fresh clone)
and its source is cited next to it. Data are the packages' own: the Grunfeld
investment panel (statsmodels.datasets.grunfeld; its first 200 rows are plm's
Grunfeld data: 10 firms, 1935-1954), the Vella-Verbeek wage panel
(linearmodels.datasets.wage_panel), the ships accident data shipped with
statsmodels' tests and the simulated panel shipped with linearmodels' tests.

Values printed with many digits must match to a relative 1e-6 (6 significant
digits) or better. Values published rounded (R's summary printouts) are matched to
every digit printed: ``printed`` is the rounding of ours. A few of those printouts
carry only 5 significant digits; they are marked ``# 5 s.d. printed``.
"""

from __future__ import annotations

import math
from io import StringIO
from pathlib import Path

import linearmodels
import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.datasets.grunfeld as grunfeld_dataset
from linearmodels.datasets import wage_panel

from innopanel.config.specs import model_spec
from innopanel.econometrics.covariance import CovarianceSpec
from innopanel.econometrics.diagnostics import (
    breusch_pagan_lm,
    effects_f_statistic,
    hausman_test,
    pesaran_cd,
)
from innopanel.econometrics.estimators import FitResult, fit_linear, fit_ppml

STATSMODELS = Path(statsmodels.__file__).parent
LINEARMODELS_RESULTS = Path(linearmodels.__file__).parent / "tests" / "panel" / "results"
SIX_DIGITS = 1e-6


def matches_printed(value: float, printed: str) -> bool:
    """True if ``value`` rounds to ``printed`` at the number of decimals printed."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10.0 ** (-decimals) * (1 + 1e-9)


@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    """plm's Grunfeld data: the first 200 rows (10 firms) of statsmodels' copy."""
    data = grunfeld_dataset.load_pandas().data.iloc[:200].copy()
    data["year"] = data["year"].astype(int)
    assert data["firm"].nunique() == 10 and data.iloc[0]["invest"] == 317.6
    return data.set_index(["firm", "year"])


def _exog(frame: pd.DataFrame, constant: bool = True) -> pd.DataFrame:
    exog = frame[["value", "capital"]].astype(float)
    return exog.assign(const=1.0) if constant else exog


def grunfeld_within(grunfeld: pd.DataFrame, time_effects: bool = False) -> FitResult:
    """plm's within model of inv on value and capital (firm, and maybe year, effects)."""
    return fit_linear(
        grunfeld["invest"],
        _exog(grunfeld, constant=False),
        "fixed_effects",
        CovarianceSpec("unadjusted"),
        entity_effects=True,
        time_effects=time_effects,
    )


# ----------------------------------------------------------------------------
# R's plm on Grunfeld, as printed in plm's own regression tests:
# tests/test_Estimators.Rout.save of the CRAN package plm (the script states that it
# replicates Baltagi (2013), Econometric Analysis of Panel Data, 5th ed., Table 2.1).
# summary(plm(inv ~ value + capital, data = Grunfeld, model = ...)); "swar" is plm's
# default random.method (Swamy-Arora). (estimate, std. error) as printed.
PLM_GRUNFELD = {
    "pooled_ols": {
        "const": ("-42.7143694", "9.5116760"),
        "value": ("0.1155622", "0.0058357"),  # 5 s.d. printed (SE)
        "capital": ("0.2306785", "0.0254758"),
    },
    "between": {
        "const": ("-8.527114", "47.515308"),
        "value": ("0.134646", "0.028745"),  # 5 s.d. printed (SE)
        "capital": ("0.032031", "0.190938"),  # 5 s.d. printed (estimate)
    },
    "fixed_effects": {
        "value": ("0.110124", "0.011857"),  # 5 s.d. printed (SE)
        "capital": ("0.310065", "0.017355"),  # 5 s.d. printed (SE)
    },
    "random_effects": {
        "const": ("-57.834415", "28.898935"),
        "value": ("0.109781", "0.010493"),  # 5 s.d. printed (SE)
        "capital": ("0.308113", "0.017180"),  # 5 s.d. printed (SE)
    },
}


@pytest.mark.parametrize("estimator", list(PLM_GRUNFELD))
def test_grunfeld_estimates_match_plm(grunfeld: pd.DataFrame, estimator: str) -> None:
    fit = fit_linear(
        grunfeld["invest"],
        _exog(grunfeld, constant=estimator != "fixed_effects"),
        estimator,
        CovarianceSpec("unadjusted"),
        entity_effects=estimator == "fixed_effects",
    )
    for term, (estimate, std_error) in PLM_GRUNFELD[estimator].items():
        assert matches_printed(fit.params[term], estimate), (term, fit.params[term], estimate)
        assert matches_printed(fit.std_errors[term], std_error), (term, std_error)


def test_grunfeld_random_effects_components_match_plm(grunfeld: pd.DataFrame) -> None:
    # Same source: "Effects: idiosyncratic 2784.46, individual 7089.80; theta: 0.8612".
    fit = fit_linear(grunfeld["invest"], _exog(grunfeld), "random_effects", CovarianceSpec())
    components = fit.library_result.variance_decomposition
    assert matches_printed(components["Residual"], "2784.46")
    assert matches_printed(components["Effects"], "7089.80")
    assert matches_printed(float(fit.library_result.theta.iloc[0, 0]), "0.8612")


# ----------------------------------------------------------------------------
# Stata on Grunfeld, as shipped in statsmodels' tests:
# statsmodels/regression/tests/results/results_grunfeld_ols_robust_cluster.py
# (14 significant digits). Pooled OLS of invest on mvalue, kstock and a constant.
STATA_GRUNFELD_ESTIMATES = [0.11556215606596, 0.23067848754982, -42.714369016733]
STATA_GRUNFELD_SE = {
    # results_cluster: regress invest mvalue kstock, vce(cluster company)
    "clustered": [0.01589433647768, 0.08496711097464, 20.425202580078],
    # results_nw_groupsum4: xtscc invest mvalue kstock, lag(4) (no small-sample factor)
    "driscoll_kraay_xtscc": [0.0134360177573, 0.04930800664089, 12.190347184209],
    # results_nw_groupsum4_ivreg_small: ivreg2 invest mvalue kstock, dkraay(5) small
    # (ivreg2's bw=5 is Bartlett lags 0-4, i.e. bandwidth 4 here)
    "driscoll_kraay": [0.0138548615926, 0.0508450956047, 12.570359466158],
    # results_cluster_2groups_small: ivreg2 invest mvalue kstock, cluster(company time) small
    "two_way_clustered": [0.01635175387097, 0.07847391274682, 19.505607409785],
}
STATA_GRUNFELD_COVARIANCE = {
    "clustered": CovarianceSpec("clustered"),
    "driscoll_kraay_xtscc": CovarianceSpec("driscoll_kraay", bandwidth=4, small_sample=False),
    "driscoll_kraay": CovarianceSpec("driscoll_kraay", bandwidth=4),
    "two_way_clustered": CovarianceSpec("two_way_clustered"),
}
# Degrees of freedom Stata uses for t: G-1 = 9 (cluster, two-way small), T-1 = 19 (dkraay small).
STATA_GRUNFELD_DF = {"clustered": 9, "driscoll_kraay": 19, "two_way_clustered": 9}


@pytest.mark.parametrize("case", list(STATA_GRUNFELD_SE))
def test_grunfeld_robust_standard_errors_match_stata(grunfeld: pd.DataFrame, case: str) -> None:
    fit = fit_linear(
        grunfeld["invest"], _exog(grunfeld), "pooled_ols", STATA_GRUNFELD_COVARIANCE[case]
    )
    terms = ["value", "capital", "const"]
    # Agreement is ~1e-8: the data statsmodels ships are Stata's up to float rounding.
    np.testing.assert_allclose(fit.params[terms], STATA_GRUNFELD_ESTIMATES, rtol=1e-7)
    np.testing.assert_allclose(fit.std_errors[terms], STATA_GRUNFELD_SE[case], rtol=1e-7)
    if case in STATA_GRUNFELD_DF:
        assert fit.correction.df == STATA_GRUNFELD_DF[case]


def test_grunfeld_clustered_covariance_matrix_matches_stata(grunfeld: pd.DataFrame) -> None:
    # results_cluster.cov, same file: the full e(V) of regress, vce(cluster company).
    stata = np.array(
        [
            [0.00025262993207, -0.00065043385106, 0.20961897960949],
            [-0.00065043385106, 0.00721940994738, -1.2171040967615],
            [0.20961897960949, -1.2171040967615, 417.18890043724],
        ]
    )
    fit = fit_linear(grunfeld["invest"], _exog(grunfeld), "pooled_ols", CovarianceSpec())
    terms = ["value", "capital", "const"]
    np.testing.assert_allclose(fit.cov.loc[terms, terms].to_numpy(), stata, rtol=1e-7)


# ----------------------------------------------------------------------------
# plm's specification tests on Grunfeld, as printed in plm's example outputs:
# tests/Examples/plm-Ex.Rout.save of the CRAN package plm.


def test_grunfeld_f_test_of_firm_effects_matches_plm(grunfeld: pd.DataFrame) -> None:
    # pFtest(gi, gp): "F = 49.177, df1 = 9, df2 = 188"
    within = grunfeld_within(grunfeld)
    pooled = fit_linear(
        grunfeld["invest"], _exog(grunfeld), "pooled_ols", CovarianceSpec("unadjusted")
    )
    statistic, _ = effects_f_statistic(
        float((pooled.residuals**2).sum()), float((within.residuals**2).sum()), 9, 188
    )
    assert within.correction.df == 188
    assert matches_printed(statistic, "49.177")


def test_grunfeld_breusch_pagan_matches_plm(grunfeld: pd.DataFrame) -> None:
    # plmtest(inv ~ value + capital, data = Grunfeld, type = "bp"): "chisq = 798.16"
    pooled = fit_linear(grunfeld["invest"], _exog(grunfeld), "pooled_ols", CovarianceSpec())
    lm, honda = breusch_pagan_lm(pooled.residuals)
    assert matches_printed(lm, "798.16")
    # plmtest(g) (Honda): "normal = 28.252"
    assert matches_printed(honda, "28.252")
    # The Baltagi-Li unbalanced form: plmtest(g_unbal) on Grunfeld[1:199, ]:
    # "Lagrange Multiplier Test - (Honda) for unbalanced panels ... normal = 28.225"
    unbalanced = grunfeld.iloc[:199]
    pooled = fit_linear(unbalanced["invest"], _exog(unbalanced), "pooled_ols", CovarianceSpec())
    assert matches_printed(breusch_pagan_lm(pooled.residuals)[1], "28.225")


def test_grunfeld_pesaran_cd_matches_plm(grunfeld: pd.DataFrame) -> None:
    # pcdtest(g), g = plm(inv ~ value + capital, data = Grunfeld) (within, firm effects):
    # "z = 4.6612, p-value = 3.144e-06"
    within = grunfeld_within(grunfeld)
    statistic, pairs = pesaran_cd(within.residuals)
    assert pairs == 45
    assert matches_printed(statistic, "4.6612")
    assert math.isclose(2 * (1 - _normal_cdf(abs(statistic))), 3.144e-06, rel_tol=5e-4)
    # pcdtest(inv ~ value + capital, model = "within", effect = "twoways"): "z = 0.1162"
    twoway = grunfeld_within(grunfeld, time_effects=True)
    assert matches_printed(pesaran_cd(twoway.residuals)[0], "0.1162")


def _normal_cdf(value: float) -> float:
    return 0.5 * (1 + math.erf(value / math.sqrt(2)))


def test_grunfeld_hausman_matches_plm(grunfeld: pd.DataFrame) -> None:
    # phtest(gw, gr) in plm's vignette "Panel data econometrics in R: the plm package"
    # (section "Hausman test"; gw within, gr random on Grunfeld):
    # "chisq = 2.3304, df = 2, p-value = 0.3119"
    panel = grunfeld.reset_index().rename(columns={"firm": "unit_id"})
    row = hausman_test(panel, *_grunfeld_models(), variance="own", unit="firm")
    assert row["df"] == 2
    assert matches_printed(row["statistic"], "2.3304")
    assert matches_printed(row["p_value"], "0.3119")


def _grunfeld_models() -> tuple:
    common = {"outcome": "invest", "regressors": ["value", "capital"], "covariance": "unadjusted"}
    # Parsed without a study, so no year window applies: Grunfeld's 1935-1954 all count.
    within = {"label": "FE", "estimator": "fixed_effects", "entity_effects": True, **common}
    random = {"label": "RE", "estimator": "random_effects", **common}
    return model_spec("within", within), model_spec("random", random)


def _sigmamore_by_hand(grunfeld: pd.DataFrame) -> float:
    """Stata's ``hausman fe re, sigmamore`` from the textbook formulas in numpy alone.

    Balanced panel, N firms, T years, K slopes. Within: demeaned OLS. Swamy-Arora RE:
    sigma_e^2 = SSR_within/(NT-N-K), sigma_1^2 = T SSR_between/(N-K-1), theta =
    1 - sqrt(sigma_e^2/sigma_1^2), OLS of y - theta ybar_i on [x - theta xbar_i,
    1 - theta]. sigmamore: both covariances at the RE regression's s^2 = SSR/(NT-K-1).
    """
    y = grunfeld["invest"].to_numpy(dtype=float)
    x = grunfeld[["value", "capital"]].to_numpy(dtype=float)
    firms = grunfeld.index.get_level_values("firm").to_numpy()
    n_firms, n, k = len(np.unique(firms)), len(y), x.shape[1]
    periods = n // n_firms

    def firm_mean(values: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(values).groupby(firms).transform("mean")
        return frame.to_numpy().reshape(values.shape)

    x_w, y_w = x - firm_mean(x), y - firm_mean(y)
    b_fe = np.linalg.lstsq(x_w, y_w, rcond=None)[0]
    sigma_e2 = np.sum((y_w - x_w @ b_fe) ** 2) / (n - n_firms - k)
    means = pd.DataFrame(np.column_stack([y, x])).groupby(firms).mean().to_numpy()
    between = np.column_stack([means[:, 1:], np.ones(n_firms)])
    b_be = np.linalg.lstsq(between, means[:, 0], rcond=None)[0]
    sigma_12 = periods * np.sum((means[:, 0] - between @ b_be) ** 2) / (n_firms - k - 1)
    theta = 1.0 - np.sqrt(sigma_e2 / sigma_12)
    x_re = np.column_stack([x - theta * firm_mean(x), np.full(n, 1.0 - theta)])
    y_re = y - theta * firm_mean(y)
    b_re = np.linalg.lstsq(x_re, y_re, rcond=None)[0]
    s2 = np.sum((y_re - x_re @ b_re) ** 2) / (n - k - 1)
    v_fe = s2 * np.linalg.inv(x_w.T @ x_w)
    v_re = (s2 * np.linalg.inv(x_re.T @ x_re))[:k, :k]
    difference = b_fe - b_re[:k]
    return float(difference @ np.linalg.solve(v_fe - v_re, difference))


def test_grunfeld_hausman_sigmamore_matches_the_textbook_formula(grunfeld: pd.DataFrame) -> None:
    # No printed Stata value is at hand, so the reference is computed independently of
    # linearmodels and of innopanel, from the definition (see _sigmamore_by_hand).
    panel = grunfeld.reset_index().rename(columns={"firm": "unit_id"})
    row = hausman_test(panel, *_grunfeld_models(), variance="sigmamore", unit="firm")
    expected = _sigmamore_by_hand(grunfeld)
    assert row["df"] == 2
    assert row["statistic"] == pytest.approx(expected, rel=1e-8)
    # The default own-variance statistic differs: the option changes the number.
    own = hausman_test(panel, *_grunfeld_models(), variance="own", unit="firm")
    assert abs(own["statistic"] - expected) > 0.01


# ----------------------------------------------------------------------------
# R's plm on the wage panel at 15 significant digits, shipped with linearmodels:
# linearmodels/tests/panel/results/re-variance-components-reference.csv, written by
# re-variance-components-reference.R (plm 2.6.7, R 4.6.1): plm(..., model = "random"),
# Swamy-Arora, with Baltagi-Chang degrees of freedom in the unbalanced case.
WAGE_FORMULAS = {
    "balanced-time-varying": ["expersq", "married", "union"],
    "balanced-time-invariant": ["black", "hisp", "exper", "expersq", "married", "educ", "union"],
    "unbalanced-time-invariant": [
        "black",
        "hisp",
        "exper",
        "expersq",
        "married",
        "educ",
        "union",
    ],
}


@pytest.mark.parametrize("case", list(WAGE_FORMULAS))
def test_random_effects_match_plm_on_the_wage_panel(case: str) -> None:
    reference = pd.read_csv(LINEARMODELS_RESULTS / "re-variance-components-reference.csv")
    values = reference[reference["case"] == case].set_index("quantity")["value"]
    wages = wage_panel.load()
    if case.startswith("unbalanced"):
        # The R script's rule for the observations the unbalanced cases drop.
        drop = ((wages["nr"] * 7 + wages["year"] * 13) % 5 == 0) & (
            (wages["nr"] + wages["year"]) % 3 != 0
        )
        wages = wages[~drop]
    wages = wages.set_index(["nr", "year"])
    regressors = WAGE_FORMULAS[case]
    exog = wages[regressors].astype(float).assign(const=1.0)
    fit = fit_linear(wages["lwage"], exog, "random_effects", CovarianceSpec("unadjusted"))
    terms = ["const", *regressors]  # plm's coef0 is the intercept
    estimates = [values[f"coef{i}"] for i in range(len(terms))]
    std_errors = [values[f"se{i}"] for i in range(len(terms))]
    assert fit.nobs == values["nobs"]
    np.testing.assert_allclose(fit.params[terms], estimates, rtol=SIX_DIGITS)
    np.testing.assert_allclose(fit.std_errors[terms], std_errors, rtol=SIX_DIGITS)
    components = fit.library_result.variance_decomposition
    np.testing.assert_allclose(components["Residual"], values["sigma2_idios"], rtol=SIX_DIGITS)
    np.testing.assert_allclose(components["Effects"], values["sigma2_id"], rtol=SIX_DIGITS)


# ----------------------------------------------------------------------------
# Stata 13 on a simulated panel (1,000 firms x 3 periods), shipped with linearmodels:
# data linearmodels/tests/panel/results/simulated-panel.dta, results
# stata-panel-simulated-results.txt written by execute-stata-simulated-data.py with
# `estout ... b(fmt(%13.12g))` and `matrix V = e(V)` at 12 significant digits. Each
# block is one Stata command; the suffix "_light" is an unbalanced version.
STATA_COMMANDS = {
    # block: (estimator, covariance, Stata command)
    "pooled-conventional-": ("pooled_ols", "unadjusted", "regress y x1-x5, vce(ols)"),
    "pooled-robust-": ("pooled_ols", "robust", "regress y x1-x5, vce(robust)"),
    "pooled-cluster-": ("pooled_ols", "clustered", "regress y x1-x5, vce(cluster firm_id)"),
    "between-conventional-": ("between", "unadjusted", "xtreg y x1-x5, be"),
    "fixed_effect-conventional-": ("fixed_effects", "unadjusted", "xtreg y x1-x5, fe"),
    "fixed_effect-cluster-": ("fixed_effects", "clustered", "xtreg y x1-x5, fe vce(cluster)"),
    "random_effect-conventional-": ("random_effects", "unadjusted", "xtreg y x1-x5, re"),
    "random_effect-cluster-": ("random_effects", "clustered", "xtreg y x1-x5, re vce(cluster)"),
}


def stata_block(name: str) -> tuple[pd.Series, pd.DataFrame]:
    """Coefficients and e(V) of one block of stata-panel-simulated-results.txt."""
    text = (LINEARMODELS_RESULTS / "stata-panel-simulated-results.txt").read_text()
    marker = f"!{name}!"
    block = text[text.index(marker) :].split("\n", 1)[1]
    block = block[: block.index("#################")] if "######" in block else block
    lines = [line for line in block.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "b/t" in line) + 1
    stop = next(i for i, line in enumerate(lines) if line.startswith("rss"))
    # Each coefficient takes three lines: "name<TAB>b", "<TAB>t", "<TAB>p".
    estimates = {
        lines[i].split("\t")[0]: float(lines[i].split("\t")[1]) for i in range(start, stop, 3)
    }
    variance_at = next(i for i, line in enumerate(lines) if "** Variance **" in line) + 2
    table = "\n".join(lines[variance_at:])
    variance = pd.read_csv(StringIO("name" + table.replace("\t", ",")), index_col=0)
    variance.columns = [c.strip() for c in variance.columns]
    return pd.Series(estimates), variance


# Unbalanced RE is left out on purpose: innopanel uses the Baltagi-Chang variance
# components (plm's swar, Stata's xtreg, re sa), not Stata's default; the wage-panel test
# checks it against plm.
STATA_CASES = [
    (block, suffix)
    for block in STATA_COMMANDS
    for suffix in ("", "_light")
    if not (suffix and STATA_COMMANDS[block][0] == "random_effects")
]


@pytest.mark.parametrize(("block", "suffix"), STATA_CASES)
def test_simulated_panel_matches_stata(block: str, suffix: str) -> None:
    estimator, covariance, _command = STATA_COMMANDS[block]
    data = pd.read_stata(LINEARMODELS_RESULTS / "simulated-panel.dta").set_index(["firm", "time"])
    names = [f"x{i}{suffix}" for i in range(1, 6)]
    data = data[[f"y{suffix}", *names]].dropna()
    exog = data[names].assign(const=1.0)
    fit = fit_linear(
        data[f"y{suffix}"],
        exog,
        estimator,
        CovarianceSpec(covariance),
        entity_effects=estimator == "fixed_effects",
    )
    # Block names are "<model>-<vce>-<weights>-<suffix>"; these are unweighted.
    estimates, variance = stata_block(f"{block}-{suffix}")
    terms = [*names, "_cons"]
    ours = fit.params.rename({"const": "_cons"})
    ours_se = fit.std_errors.rename({"const": "_cons"})
    np.testing.assert_allclose(ours[terms], estimates[terms], rtol=SIX_DIGITS)
    stata_se = np.sqrt(np.diag(variance.loc[terms, terms].to_numpy()))
    np.testing.assert_allclose(ours_se[terms], stata_se, rtol=SIX_DIGITS)


# ----------------------------------------------------------------------------
# Pesaran's CD by R's plm at 15 significant digits, shipped with linearmodels:
# linearmodels/tests/panel/results/pesaran-cd-fd-reference.csv (pesaran-cd-fd-reference.R,
# plm 2.6.7: pcdtest(test = "cd") on the residuals of the first-difference regression
# dy ~ dx - 1) for the simulated panels in pesaran-cd-fd-panels.csv.


def test_pesaran_cd_matches_plm_on_balanced_and_unbalanced_panels() -> None:
    reference = pd.read_csv(LINEARMODELS_RESULTS / "pesaran-cd-fd-reference.csv")
    panels = pd.read_csv(LINEARMODELS_RESULTS / "pesaran-cd-fd-panels.csv")
    for row in reference.itertuples():
        panel = panels[panels["case"] == row.case].set_index(["entity", "time"])
        fit = fit_linear(
            panel["y"], panel[["x"]], "first_differences", CovarianceSpec("unadjusted")
        )
        assert fit.nobs == row.nobs, row.case
        np.testing.assert_allclose(fit.params["x"], row.coef, rtol=1e-9, err_msg=row.case)
        statistic, pairs = pesaran_cd(fit.residuals)
        assert pairs == row.npairs, row.case
        np.testing.assert_allclose(statistic, row.cd_stat, rtol=1e-8, err_msg=row.case)


# ----------------------------------------------------------------------------
# Stata's poisson on the ships data, shipped with statsmodels' tests:
# statsmodels/discrete/tests/results/results_count_robust_cluster.py (14 significant
# digits); data statsmodels/discrete/tests/results/ships.csv (rows with missing values
# dropped, as statsmodels' test does).
SHIPS_ESTIMATES = [-0.02172061893549, 0.22148585072024, 2.2697077143215]
SHIPS_SE = {
    # results_poisson_clu: poisson accident yr_con op_75_79, vce(cluster ship)
    "clustered": [0.19933709357097, 0.11093628220713, 1.1048569901548],
    # results_poisson_hc1: poisson accident yr_con op_75_79, vce(robust)
    "robust": [0.19233713248134, 0.55301404772037, 0.66532523368388],
}


@pytest.mark.parametrize("covariance", list(SHIPS_SE))
def test_poisson_matches_stata(covariance: str) -> None:
    ships = pd.read_csv(STATSMODELS / "discrete" / "tests" / "results" / "ships.csv").dropna()
    ships = ships.assign(row=np.arange(len(ships))).set_index(["ship", "row"])
    exog = ships[["yr_con", "op_75_79"]].astype(float).assign(const=1.0)
    fit = fit_ppml(ships["accident"], exog, CovarianceSpec(covariance), False, False, unit="ship")
    terms = ["yr_con", "op_75_79", "const"]
    np.testing.assert_allclose(fit.params[terms], SHIPS_ESTIMATES, rtol=1e-8)
    np.testing.assert_allclose(fit.std_errors[terms], SHIPS_SE[covariance], rtol=1e-7)
    # Same file: e(ll) = -354.2436413025559, e(r2_p) = .0055004288638308
    np.testing.assert_allclose(fit.statistics["log_likelihood"], -354.2436413025559, rtol=1e-10)
    np.testing.assert_allclose(fit.statistics["pseudo_r2"], 0.0055004288638308, rtol=1e-8)
