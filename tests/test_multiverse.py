"""The multiverse: its grid and ids, the fast engine against fit_model, the null draws."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from innopanel.config.multiverse import (
    CHOICES,
    FIXED_EFFECTS,
    MultiverseError,
    multiverse_spec,
    specification_id,
)
from innopanel.config.paths import StudyPaths
from innopanel.econometrics.curve_inference import (
    gather_null,
    joint_tests,
    null_chunk,
    null_operator,
    null_weights,
)
from innopanel.econometrics.models import fit_model, tidy
from innopanel.econometrics.multiverse import (
    Prepared,
    design,
    estimate_chunk,
    fit_linear_specification,
    model_for,
    prepare_panel,
)
from innopanel.econometrics.null_curve import NULL_CURVE_COLUMNS as NULL_COLUMNS
from innopanel.exhibits.joint_tests_table import joint_tests_table
from innopanel.exhibits.specification_curve import choice_medians, plot_specification_curve

ROOT = Path(__file__).resolve().parents[1]
UNITS = [f"u{i:02d}" for i in range(24)]
YEARS = list(range(2010, 2022))


def study_config(**multiverse) -> dict:
    """A small study: 24 units x 12 years, two controls, every kind of choice."""
    grid = {
        "outcomes": {
            "log_linear": {"outcome": "log_y", "estimator": "linear"},
            "count_ppml": {"outcome": "count", "estimator": "ppml"},
        },
        "focal": {"rd": {"variable": "rd"}, "log_rd": {"variable": "rd", "transform": "log"}},
        "controls": {"subsets_of": ["c1", "c2"]},
        "fixed_effects": ["none", "unit", "unit_and_year"],
        "lags": [0, 1],
        "covariances": ["clustered", "driscoll_kraay", "two_way_clustered"],
        "samples": {
            "full": {},
            "late": {"first_year": 2014, "last_year": 2021},
            "without_focal": {"drop_focal_and_peers": True},
            "without_top_3": {"drop_top": 3, "top_by": "count"},
            "balanced": {"balanced": True},
        },
        "exclude": [
            {"covariance": ["two_way_clustered"], "sample": ["late"]},
            {"outcome": ["count_ppml"], "fixed_effects": ["none", "unit"]},
            {"outcome": ["count_ppml"], "lag": [1]},
            {"outcome": ["count_ppml"], "covariance": ["driscoll_kraay", "two_way_clustered"]},
            {"outcome": ["count_ppml"], "sample": ["late", "without_top_3", "balanced"]},
        ],
        "focal_specification": {
            "outcome": "log_linear",
            "focal": "rd",
            "controls": "c1+c2",
            "fixed_effects": "unit_and_year",
            "lag": 0,
            "covariance": "clustered",
            "sample": "full",
        },
        "chunk_size": 40,
        "inference": {"draws": 60, "draws_per_chunk": 25},
    }
    grid.update(multiverse)
    return {
        "study": {
            "unit": "city",
            "focal_unit": "u00",
            "peer_units": ["u01", "u02"],
            "first_year": YEARS[0],
            "last_year": YEARS[-1],
            "seed": 7,
        },
        "variables": {name: {} for name in ("log_y", "count", "rd", "c1", "c2")},
        "multiverse": grid,
    }


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return small_panel()


def small_panel() -> pd.DataFrame:
    """24 units x 12 years with gaps: log_y, count, rd and two controls."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame([(u, y) for u in UNITS for y in YEARS], columns=["unit_id", "year"])
    unit_effect = rng.normal(size=len(UNITS))[frame.index // len(YEARS)]
    frame["rd"] = np.exp(rng.normal(size=len(frame)) * 0.5 + 0.3 * unit_effect)
    frame["c1"] = rng.normal(size=len(frame)) + 0.5 * frame["rd"]
    frame["c2"] = rng.normal(size=len(frame))
    frame["log_y"] = (
        0.3 * frame["rd"] + 0.2 * frame["c1"] + unit_effect + rng.normal(size=len(frame))
    )
    frame["count"] = rng.poisson(np.exp(1 + 0.2 * frame["rd"] + 0.5 * unit_effect))
    # Gaps, so that balanced and lagged samples differ from the full one.
    return frame.drop(index=[5, 40, 41, 100]).reset_index(drop=True)


@pytest.fixture(scope="module")
def multiverse():
    return multiverse_spec(study_config())


@pytest.fixture(scope="module")
def frame(panel, multiverse) -> Prepared:
    return prepare_panel(panel, multiverse)


def test_the_grid_is_every_combination_minus_the_exclusions(multiverse) -> None:
    specifications = multiverse.specifications
    assert multiverse.declared_size == 2 * 2 * 4 * 3 * 2 * 3 * 5
    linear = 2 * 4 * 3 * 2 * 3 * 5 - 2 * 4 * 3 * 2  # two-way clustering needs 10 years
    assert len(specifications) == linear + 2 * 4 * 2  # PPML: both definitions, 4 sets, 2 samples
    assert len({s.id for s in specifications}) == len(specifications)
    chunked = [s for i in range(multiverse.chunks) for s in multiverse.chunk(i)]
    assert chunked == list(specifications)
    assert "multiverse: 688 specifications (1440 declared, 752 excluded)" in multiverse.describe()


def test_a_specification_id_is_a_hash_of_its_sorted_choices() -> None:
    choices = dict(zip(CHOICES, ["a", "b", "c", "d", 1, "e", "f"], strict=True))
    expected = hashlib.sha256(json.dumps(choices, sort_keys=True).encode()).hexdigest()[:12]
    assert specification_id(dict(reversed(list(choices.items())))) == expected


def test_ids_do_not_depend_on_the_hash_seed() -> None:
    script = (
        "from tests.test_multiverse import study_config;"
        "from innopanel.config.multiverse import multiverse_spec;"
        "print(''.join(s.id for s in multiverse_spec(study_config()).specifications))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": f"{ROOT}/workflow:{ROOT}"},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"controls": {"subsets_of": ["c1", "c3"]}}, "'c3' is not a variable"),
        ({"exclude": [{"lag": [4]}]}, "exclude[0].lag: [4] are not declared values"),
        ({"samples": {"full": {}, "odd": {"first_year": 2030}}}, "samples.odd: years"),
        ({"samples": {"full": {}, "top": {"drop_top": 2}}}, "drop_top and top_by go together"),
        ({"exclude": [{"fixed_effects": ["unit_and_year"]}]}, "focal_specification"),
    ],
)
def test_a_senseless_multiverse_is_refused_naming_the_key(change, message) -> None:
    with pytest.raises(MultiverseError, match=re.escape(message)):
        multiverse_spec(study_config(**change))


def reference_fit(frame, multiverse, spec, study) -> pd.DataFrame:
    """The same specification through fit_model, the pipeline's reference path."""
    found = design(frame, multiverse, spec, study)
    estimator = multiverse.outcomes[spec.outcome].estimator
    if estimator == "linear":
        estimator = "fixed_effects" if found.entity_effects else "pooled_ols"
    model = model_for(found, estimator, spec.covariance, "reference")
    return tidy(fit_model(frame.frame.iloc[found.rows], model)).set_index("term")


def test_every_kind_of_linear_specification_equals_fit_model(frame, multiverse) -> None:
    study = study_config()["study"]
    seen = set()
    for spec in multiverse.specifications:
        kind = (spec.fixed_effects, spec.covariance, spec.lag, spec.sample, spec.focal)
        if spec.outcome != "log_linear" or kind in seen or spec.controls == "none":
            continue
        seen.add(kind)
        mine = estimate_chunk(frame, multiverse, [spec], study).set_index("term")
        reference = reference_fit(frame, multiverse, spec, study).loc[mine.index]
        for column in ("estimate", "std_error", "p_value", "ci_lower", "ci_upper", "nobs"):
            np.testing.assert_allclose(
                mine[column], reference[column], rtol=1e-8, err_msg=str(spec)
            )
    assert len(seen) == 3 * 3 * 2 * 5 * 2 - 3 * 2 * 2


def test_a_ppml_specification_is_fit_model_itself(frame, multiverse) -> None:
    study = study_config()["study"]
    spec = next(s for s in multiverse.specifications if s.outcome == "count_ppml")
    mine = estimate_chunk(frame, multiverse, [spec], study).set_index("term")
    reference = reference_fit(frame, multiverse, spec, study).loc[mine.index]
    np.testing.assert_allclose(mine["std_error"], reference["std_error"], rtol=1e-10)


def test_a_specification_that_cannot_be_estimated_is_kept_with_its_reason(panel) -> None:
    config = study_config(
        samples={"full": {}, "two_years": {"first_year": 2020, "last_year": 2021}}, exclude=[]
    )
    multiverse = multiverse_spec(config)
    frame = prepare_panel(panel, multiverse)
    spec = next(
        s
        for s in multiverse.specifications
        if s.sample == "two_years" and s.covariance == "two_way_clustered"
    )
    table = estimate_chunk(frame, multiverse, [spec], config["study"])
    assert table["estimate"].isna().all()
    assert table["note"].str.contains("not estimated: 2 year clusters are too few").all()


def test_weights_of_one_give_back_the_fit(frame, multiverse) -> None:
    study = study_config()["study"]
    n_units = frame.n_units
    for spec in multiverse.specifications[::7]:
        if spec.outcome != "log_linear":
            continue
        fit = fit_linear_specification(frame, spec, design(frame, multiverse, spec, study))
        estimate, statistic = null_operator(fit, spec.covariance).draws(np.ones((n_units, 1)))
        assert estimate[0] == pytest.approx(fit.params[0], rel=1e-9)
        assert estimate[0] / statistic[0] == pytest.approx(fit.std_errors[0], rel=1e-9)


def test_a_draw_refits_the_model_on_its_null_outcome(panel, multiverse) -> None:
    """Draw b is y* = restricted fit + v_g e0: refitting on y* gives the draw's numbers."""
    study = study_config()["study"]
    frame = prepare_panel(panel, multiverse)
    spec = multiverse.specifications[100]
    found = design(frame, multiverse, spec, study)
    fit = fit_linear_specification(frame, spec, found)
    weights = null_weights(11, [3], frame.n_units, "webb")
    estimate, statistic = null_operator(fit, spec.covariance).draws(weights)
    # The null outcome in levels: the restricted model's fitted values plus weighted residuals.
    outcome, x = fit.demeaned[:, 0], fit.demeaned[:, 1:]
    controls = x[:, 1:]
    beta = np.linalg.lstsq(controls, outcome, rcond=None)[0] if controls.shape[1] else []
    restricted = outcome - (controls @ beta if controls.shape[1] else 0)
    rows = frame.frame.iloc[found.rows]
    null_outcome = (
        rows[found.outcome].to_numpy()
        - restricted
        + weights[rows["unit_index"].to_numpy(), 0] * restricted
    )
    redrawn = frame.frame.copy()
    redrawn.loc[redrawn.index[found.rows], found.outcome] = null_outcome
    refit = fit_linear_specification(Prepared.of(redrawn), spec, found)
    assert estimate[0] == pytest.approx(refit.params[0], rel=1e-8)
    assert estimate[0] / statistic[0] == pytest.approx(refit.std_errors[0], rel=1e-8)


def test_draws_depend_on_the_seed_and_draw_index_only() -> None:
    together = null_weights(5, range(10), 30, "rademacher")
    apart = np.hstack([null_weights(5, [i], 30, "rademacher") for i in reversed(range(10))])
    np.testing.assert_array_equal(together, apart[:, ::-1])
    assert set(np.unique(together)) == {-1.0, 1.0}


def test_any_chunking_gives_the_same_null_statistics(frame, multiverse) -> None:
    study = study_config()["study"]
    specifications = multiverse.specifications
    whole = null_chunk(frame, multiverse, specifications, range(60), study)
    pieces = [
        null_chunk(frame, multiverse, specifications[start : start + 70], draws, study)
        for start in range(0, len(specifications), 70)
        for draws in (range(0, 25), range(25, 60))
    ]
    ids = list(whole.spec_ids)
    pd.testing.assert_frame_equal(gather_null([whole], ids), gather_null(pieces, ids))
    with pytest.raises(ValueError, match="null draws are missing"):
        gather_null(pieces[:-1], ids)


def test_joint_tests_count_draws_at_least_as_extreme() -> None:
    focal = pd.DataFrame(
        {"estimate": [0.5, 0.4, -0.1], "statistic": [3.0, 2.5, -0.5], "critical_value": 2.0}
    )
    null = pd.DataFrame(
        {
            "draw": range(4),
            "median_estimate": [0.0, 0.5, -0.6, 0.1],
            "share_positive": [0.0, 1 / 3, 2 / 3, 0.0],
            "share_negative": [0.0, 0.0, 0.0, 1 / 3],
            "mean_statistic": [0.1, -2.0, 0.3, 1.0],
        }
    )
    tests = joint_tests(focal, null).set_index("statistic")
    assert tests.loc["median_estimate", "observed"] == pytest.approx(0.4)
    assert tests.loc["median_estimate", "p_value"] == pytest.approx((1 + 2) / 5)
    assert tests.loc["share_positive", "p_value"] == pytest.approx((1 + 1) / 5)
    assert tests.loc["share_negative", "p_value"] == pytest.approx((1 + 4) / 5)
    assert tests.loc["mean_statistic", "p_value"] == pytest.approx((1 + 1) / 5)


def test_the_exhibits_are_drawn_from_the_specifications(frame, multiverse) -> None:
    study = study_config()["study"]
    table = estimate_chunk(frame, multiverse, multiverse.specifications, study)
    figure = plot_specification_curve(table, pd.DataFrame(columns=NULL_COLUMNS), multiverse)
    labels = [t.get_text() for t in figure.axes[1].get_yticklabels()]
    assert "Controls" in labels and "Without top 3 by count" in labels
    medians = choice_medians(table, multiverse)
    shown = medians.loc[
        (medians["choice"] == "fixed_effects") & (medians["outcome"] == "log_linear")
    ]
    assert list(dict.fromkeys(shown["label"])) == [
        multiverse.label("fixed_effects", value) for value in FIXED_EFFECTS
    ]
    tests = pd.DataFrame(
        {
            "statistic": ["median_estimate"],
            "observed": [0.2],
            "null_median": [0.0],
            "null_p95": [0.1],
            "p_value": [0.01],
            "alternative": ["two-sided (|median|)"],
            "specifications": [240],
            "draws": [60],
        }
    )
    assert "over 240 linear specifications" in joint_tests_table(tests).notes[0]


def test_the_bundled_study_declares_a_multiverse_of_at_least_5000() -> None:
    import yaml

    config = yaml.safe_load((ROOT / StudyPaths("demo_cities").config).read_text("utf-8"))
    multiverse = multiverse_spec(config)
    assert len(multiverse.specifications) >= 5000
    assert multiverse.null.draws >= 500
    assert replace(multiverse.null, draws=1).chunks == 1
