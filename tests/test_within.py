"""The fast within estimator equals linearmodels' PanelOLS to 1e-8 (params, SEs, R²)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import simulate_panel
from linearmodels.panel import PanelOLS

from innopanel.config.specs import model_specs
from innopanel.econometrics import within
from innopanel.econometrics.models import fit_model, tidy
from innopanel.econometrics.within import WithinError, WithinResult, fit_within, fit_within_frame

SLOPES = {"x_rd": 0.5, "x_talent": -0.3, "x_platforms": 0.1}
TERMS = list(SLOPES)
TOLERANCE = 1e-8


def panel(
    n_units: int = 40,
    n_years: int = 12,
    seed: int = 5,
    drop_share: float = 0.0,
    missing_share: float = 0.0,
    offset: float = 0.0,
) -> pd.DataFrame:
    """The tests' synthetic panel (conftest.simulate_panel; x_rd correlated with the unit
    effects), then unbalanced by dropping ``drop_share`` of its rows, with
    ``missing_share`` of y and x_talent missing, and x_rd's mean shifted by ``offset``."""
    frame = simulate_panel(n_units, n_years, seed, slopes=SLOPES, first_year=1990)
    frame["x_rd"] += offset
    if drop_share:
        frame = frame.sample(frac=1 - drop_share, random_state=seed).sort_index()
    if missing_share:
        for column in ("y", "x_talent"):
            rows = frame.sample(frac=missing_share, random_state=seed + 1).index
            frame.loc[rows, column] = np.nan
    return frame


def indexed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(["unit_id", "year"])


def linearmodels_fit(frame: pd.DataFrame, effects: dict, options: dict):
    data = indexed(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # linearmodels warns about the missing rows it drops
        return PanelOLS(data["y"], data[TERMS], **effects).fit(**options)


def assert_same_as_linearmodels(ours, reference) -> None:
    def same(a, b) -> None:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=TOLERANCE, atol=0)

    same(ours.params, reference.params)
    same(ours.std_errors, reference.std_errors)
    same(ours.cov, reference.cov)
    same(ours.tstats, reference.tstats)
    same(ours.pvalues, reference.pvalues)
    same(ours.conf_int(), reference.conf_int())
    for name in ("rsquared", "rsquared_within", "rsquared_overall", "rsquared_between", "s2"):
        same(getattr(ours, name), getattr(reference, name))
    assert ours.nobs == reference.nobs
    assert ours.df_resid == reference.df_resid
    assert ours.entity_info["total"] == reference.entity_info["total"]
    assert ours.time_info["total"] == reference.time_info["total"]
    assert list(ours.params.index) == list(reference.params.index)
    same(ours.resids, reference.resids.reindex(ours.resids.index))
    assert ours.resids.index.sort_values().equals(reference.resids.index.sort_values())


PANELS = {
    "balanced": {},
    "unbalanced": {"drop_share": 0.25},
    "missing_rows": {"drop_share": 0.1, "missing_share": 0.05},
    "more_periods_than_entities": {"n_units": 12, "n_years": 40, "drop_share": 0.2},
    "large_means": {"offset": 1e3, "drop_share": 0.1},
}
EFFECTS = {
    "two_way": {"entity_effects": True, "time_effects": True},
    "entity": {"entity_effects": True, "time_effects": False},
    "time": {"entity_effects": False, "time_effects": True},
}
# What innopanel.econometrics.models asks linearmodels for: Stata's cluster correction.
CLUSTERED = dict(
    cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True, auto_df=False
)
OPTIONS = {
    "clustered_counted": {**CLUSTERED, "count_effects": True},
    "clustered_not_counted": {**CLUSTERED, "count_effects": False},
    "clustered_auto_df": dict(cov_type="clustered", cluster_entity=True),
    "robust": dict(cov_type="robust", debiased=True, auto_df=False, count_effects=True),
    "unadjusted_defaults": {},
    "unadjusted_not_debiased": dict(debiased=False),
}


@pytest.mark.parametrize("panel_name", list(PANELS))
@pytest.mark.parametrize("effects_name", list(EFFECTS))
@pytest.mark.parametrize("options_name", list(OPTIONS))
def test_equals_linearmodels(panel_name: str, effects_name: str, options_name: str) -> None:
    frame = panel(**PANELS[panel_name])
    effects, options = EFFECTS[effects_name], OPTIONS[options_name]
    data = indexed(frame)
    ours = fit_within(data["y"], data[TERMS], **effects, **options)
    assert_same_as_linearmodels(ours, linearmodels_fit(frame, effects, options))


def test_flat_frame_entry_point_equals_the_indexed_one() -> None:
    frame = panel(drop_share=0.2, missing_share=0.05).sample(frac=1, random_state=1)
    options = OPTIONS["clustered_counted"]
    flat = fit_within_frame(frame, "y", TERMS, "unit_id", "year", **EFFECTS["two_way"], **options)
    # The flat entry point labels residuals by the frame's rows: relabel by (unit, year).
    rows = frame.loc[flat.resids.index, ["unit_id", "year"]]
    relabelled = pd.Series(flat.resids.to_numpy(), index=pd.MultiIndex.from_frame(rows))
    reference = linearmodels_fit(frame, EFFECTS["two_way"], options)
    assert_same_as_linearmodels(replace(flat, resids=relabelled), reference)


def test_sparse_incidence_path_equals_linearmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    # Very unbalanced panels build the entity x period incidence sparse: force that path.
    monkeypatch.setattr(within, "DENSE_INCIDENCE_CELLS_PER_OBSERVATION", 0)
    frame = panel(n_units=60, n_years=25, drop_share=0.6)
    options = OPTIONS["clustered_counted"]
    data = indexed(frame)
    ours = fit_within(data["y"], data[TERMS], **EFFECTS["two_way"], **options)
    assert_same_as_linearmodels(ours, linearmodels_fit(frame, EFFECTS["two_way"], options))


def test_disconnected_panel_equals_linearmodels() -> None:
    # Two groups of entities observed in disjoint years: the dummies lose one more rank.
    early = panel(n_units=20, n_years=6, seed=1)
    late = panel(n_units=20, n_years=6, seed=2)
    late["unit_id"] = late["unit_id"] + "_late"
    late["year"] += 10
    frame = pd.concat([early, late], ignore_index=True)
    options = OPTIONS["clustered_counted"]
    data = indexed(frame)
    ours = fit_within(data["y"], data[TERMS], **EFFECTS["two_way"], **options)
    assert_same_as_linearmodels(ours, linearmodels_fit(frame, EFFECTS["two_way"], options))


@pytest.mark.parametrize("model", ["twoway_fe", "city_fe", "twoway_fe_lag1"])
def test_drop_in_for_the_configured_models(
    study_config: dict, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routing fixed-effects fits through fit_within changes no number."""
    from innopanel.data.derivations import derive_variables
    from innopanel.econometrics import estimators
    from innopanel.synthetic.dgp import simulate_panel as simulate_demo_panel

    # The demo's DGP, so that the configured models find their variables.
    raw = simulate_demo_panel([f"c{i:03d}" for i in range(60)], range(2011, 2023), seed=3)
    data = derive_variables(raw, study_config["variables"], study_config["units"])
    spec = model_specs(study_config)[model]
    routed = fit_model(data, spec)
    assert isinstance(routed.result, WithinResult)
    monkeypatch.setattr(estimators, "within_supports", lambda options: False)
    reference = fit_model(data, spec)
    assert not isinstance(reference.result, WithinResult)
    ours, theirs = tidy(routed), tidy(reference)
    numeric = theirs.select_dtypes("number").columns
    np.testing.assert_allclose(ours[numeric], theirs[numeric], rtol=TOLERANCE, atol=1e-14)
    pd.testing.assert_frame_equal(ours.drop(columns=numeric), theirs.drop(columns=numeric))


def test_absorbed_regressor_is_named() -> None:
    frame = panel()
    frame["x_platforms"] = frame["unit_id"].str[1:].astype(float)  # constant within entity
    data = indexed(frame)
    with pytest.raises(WithinError, match=r"\['x_platforms'\] do not vary once the fixed"):
        fit_within(data["y"], data[TERMS], entity_effects=True)


def test_collinear_regressors_are_an_error() -> None:
    frame = panel()
    frame["x_platforms"] = 2 * frame["x_rd"] - frame["x_talent"]
    data = indexed(frame)
    with pytest.raises(WithinError, match="collinear"):
        fit_within(data["y"], data[TERMS], entity_effects=True, time_effects=True)


def test_needs_an_entity_time_index_and_effects() -> None:
    frame = panel()
    with pytest.raises(WithinError, match="set_index"):
        fit_within(frame["y"], frame[TERMS], entity_effects=True)
    data = indexed(frame)
    with pytest.raises(WithinError, match="entity_effects or time_effects"):
        fit_within(data["y"], data[TERMS])
    with pytest.raises(WithinError, match="cluster_entity=True"):
        fit_within(data["y"], data[TERMS], entity_effects=True, cov_type="clustered")


def test_too_few_observations_is_an_error() -> None:
    data = indexed(panel(n_units=3, n_years=2))
    with pytest.raises(WithinError, match="too few"):
        fit_within(data["y"], data[TERMS], entity_effects=True, time_effects=True)
