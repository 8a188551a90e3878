"""Refusals the config and the panel's shape settle come at planning (issue 23, item 2).

The jackknife cap is held against the unit table at start-up; the other shape checks
refuse at start-up only what the estimate step would refuse on any sample the unit
table and the model's years allow; the multiverse caps stop `snakemake` before its plan.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import model_entry, simulate_panel

from innopanel.config.checks import ConfigError
from innopanel.config.planning import check_plan, plan_problems
from innopanel.config.specs import model_spec
from innopanel.config.study import load_study
from innopanel.econometrics.models import EstimationError, fit_model
from innopanel.reproducibility.benchmarking import WORKFLOW_PARTS, copy_workflow
from innopanel.vocabulary import unit_noun

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = "config/studies/demo_cities.yaml"
CITY = unit_noun("city")
FIRST_YEAR = 2011


TWOWAY = {"entity_effects": True, "time_effects": True}
PPML_JACKKNIFE = model_entry("ppml", "clustered_jackknife", jackknife_max_clusters=11, **TWOWAY)


def planned(raw: dict, units: int, years: int) -> list[str]:
    """What the start-up check refuses for one model, a table of ``units`` units and a
    window of ``years`` years."""
    window = {"first_year": FIRST_YEAR, "last_year": FIRST_YEAR + years - 1}
    return plan_problems([model_spec("m", raw, window)], units, "units.csv", CITY)


def estimated(raw: dict, units: int, years: int) -> str | None:
    """What the estimate step refuses on the largest sample the plan allows: every unit
    of the table in every year, nothing missing (None: it fits)."""
    panel = simulate_panel(n_units=units, n_years=years, first_year=FIRST_YEAR)
    if raw["estimator"] == "ppml":
        panel["y"] = np.exp(panel["y"])  # a positive outcome: PPML drops no unit
    try:
        fit_model(panel, model_spec("m", raw), unit=CITY)
    except EstimationError as error:
        return str(error)
    return None


# Each case on both sides of its boundary: the refusal and the key it names.
CASES = [
    (PPML_JACKKNIFE, 12, 6, "models.m.jackknife_max_clusters = 11"),
    ({**PPML_JACKKNIFE, "jackknife_max_clusters": 12}, 12, 6, None),
    (model_entry("fixed_effects", "two_way_clustered", **TWOWAY), 12, 9, "9 year clusters"),
    (model_entry("fixed_effects", "two_way_clustered", **TWOWAY), 12, 10, None),
    (model_entry("fixed_effects", entity_effects=True), 9, 6, "9 city clusters"),
    (model_entry("fixed_effects", entity_effects=True), 10, 6, None),
    (model_entry("fixed_effects", "driscoll_kraay", bandwidth=4, **TWOWAY), 12, 5, "bandwidth 4"),
    (model_entry("fixed_effects", "driscoll_kraay", bandwidth=4, **TWOWAY), 12, 6, None),
    (model_entry("fixed_effects", "robust", entity_effects=True), 12, 1, "unit effects need"),
    (model_entry("fixed_effects", "robust", entity_effects=True), 12, 2, None),
    (model_entry("pooled_ols", "robust"), 1, 6, "every model needs at least 2 cities"),
]


@pytest.mark.parametrize(("raw", "units", "years", "refusal"), CASES)
def test_the_plan_refuses_what_the_largest_sample_is_refused_for(
    raw: dict, units: int, years: int, refusal: str | None
) -> None:
    """A plan refusal is certain: the estimate step refuses the largest sample the unit
    table and the model's years allow (so every smaller one); at the boundary both pass."""
    problems = planned(raw, units, years)
    if refusal is None:
        assert problems == []
        assert estimated(raw, units, years) is None
        return
    assert len(problems) == 1 and refusal in problems[0]
    assert problems[0].startswith("models.m") or units < 2
    assert estimated(raw, units, years) is not None


def test_the_jackknife_cap_is_held_against_the_unit_table_for_refits_only() -> None:
    message = planned({**PPML_JACKKNIFE, "jackknife_max_clusters": 5000}, 10_000, 12)[0]
    assert "models.m: covariance clustered_jackknife refits the ppml model" in message
    assert "unit table units.csv lists 10,000 cities" in message
    assert "models.m.jackknife_max_clusters = 5,000" in message
    assert "set models.m.covariance: clustered" in message
    assert "raise the cap to 10000" in message
    # The same table passes the exact one-pass jackknifes, CV1 and a cap it fits under.
    assert planned({**PPML_JACKKNIFE, "estimator": "fixed_effects"}, 10_000, 12) == []
    assert planned({**PPML_JACKKNIFE, "covariance": "clustered"}, 10_000, 12) == []
    assert planned({**PPML_JACKKNIFE, "jackknife_max_clusters": 10_000}, 10_000, 12) == []


def test_an_automatic_bandwidth_is_checked_with_the_fewest_periods_any_gets() -> None:
    """Without a bandwidth the plan asks for 2 periods (bandwidth 0's), fewer than the
    plug-in rule ever asks for: one year is refused, two are left to the estimate step."""
    driscoll_kraay = model_entry("pooled_ols", "driscoll_kraay")
    assert "with bandwidth 0 needs at least 2 periods" in planned(driscoll_kraay, 12, 1)[0]
    assert planned(driscoll_kraay, 12, 2) == []


def write_unit_table(path: Path, count: int) -> str:
    ids = [f"u{i:05d}" for i in range(count)] + ["chengdu"]  # the demo's focal unit
    pd.DataFrame({"unit_id": ids, "name_en": ids}).to_csv(path, index=False)
    return str(path)


def test_check_plan_counts_the_unit_table_and_names_the_config(tmp_path: Path) -> None:
    _, config = load_study({}, [], ROOT)
    check_plan(config, DEMO_CONFIG)  # the bundled demo plans
    config["data"]["unit_table"] = write_unit_table(tmp_path / "units.csv", 4999)
    check_plan(config, DEMO_CONFIG)  # 5,000 units: at the cap
    config["data"]["unit_table"] = write_unit_table(tmp_path / "more.csv", 5000)
    with pytest.raises(ConfigError) as error:
        check_plan(config, DEMO_CONFIG)
    message = str(error.value)
    assert message.startswith(f"{DEMO_CONFIG} has 1 problem(s)")
    assert "models.ppml_twoway.jackknife_max_clusters = 5,000" in message
    assert "lists 5,001 cities" in message


# --- end to end: `snakemake` refuses before its plan


def snakemake(project: Path, *arguments: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run snakemake in ``project`` with this checkout's package; return it and its time."""
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--directory", str(project), *arguments],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "workflow")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return run, time.perf_counter() - started


def growth_benchmark():
    spec = importlib.util.spec_from_file_location("growth", ROOT / "workflow/benchmarks/growth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["growth"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.workflow
def test_a_10000_unit_ppml_jackknife_is_refused_at_planning(tmp_path: Path) -> None:
    """The issue's case: the estimate step refused PPML's jackknife 3 min 54 s into the
    run, after the earlier models; now `snakemake` (dry or real) stops at start-up."""
    growth = growth_benchmark()
    project = copy_workflow(ROOT, tmp_path, WORKFLOW_PARTS)
    # The demo study on 10,000 cities x 12 years of synthetic yearbooks, as `make bench`.
    options = growth.install_study(project, 10_000, range(2011, 2023), growth.NAME_SEED)
    for mode in (["-n"], []):
        run, seconds = snakemake(project, *mode, "--cores", "1", *options)
        output = run.stdout + run.stderr
        assert run.returncode != 0, output[-2000:]
        assert seconds < 10, (mode, seconds)
        assert "models.ppml_twoway: covariance clustered_jackknife" in output
        assert "models.ppml_twoway.jackknife_max_clusters = 5,000" in output
        assert "lists 10,000 cities" in output
    assert not (project / "results").exists()  # no job ran
    assert not (project / "data/processed").exists()


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("key", "cap", "message"),
    [
        ("max_specifications", 100, "more than multiverse.max_specifications = 100"),
        ("max_jobs", 10, "more than multiverse.max_jobs = 10"),
        ("max_null_cells", 1000, "more than multiverse.max_null_cells = 1,000"),
    ],
)
def test_the_multiverse_caps_refuse_at_planning(
    tmp_path: Path, key: str, cap: int, message: str
) -> None:
    project = copy_workflow(ROOT, tmp_path, WORKFLOW_PARTS)
    config = yaml.safe_load((project / DEMO_CONFIG).read_text(encoding="utf-8"))
    config["multiverse"][key] = cap
    (project / DEMO_CONFIG).write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8"
    )
    run, seconds = snakemake(project, "-n", "--cores", "1")
    assert run.returncode != 0
    assert seconds < 10
    assert message in run.stdout + run.stderr
