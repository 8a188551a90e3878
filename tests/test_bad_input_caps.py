"""Caps by design and messages that point at the real cause (issue 22, items 3 and 9).

Each case of the issue is reproduced here and must now be refused quickly, naming the
file or key and the fix, or (the null step) run in memory proportional to the data:
a 10-million-specification grid, 2.75 million planned jobs, a billion-laughs YAML, a
rows x units matrix of 20,000 units, an empty grid, a derivation cycle and a study
name that cannot name a study.
"""

from __future__ import annotations

import itertools
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_multiverse import study_config

from innopanel.config import multiverse as multiverse_module
from innopanel.config.checks import ConfigError
from innopanel.config.data_specs import variable_specs
from innopanel.config.dimensions import variable_quantities
from innopanel.config.multiverse import MultiverseError, multiverse_spec
from innopanel.config.paths import StudyNameError, study_paths
from innopanel.config.study import MAX_EXPANDED_NODES, load_study
from innopanel.econometrics.curve_inference import null_chunk, null_operator, null_weights
from innopanel.econometrics.multiverse import design, fit_linear_specification, prepare_panel
from innopanel.reproducibility.benchmarking import WORKFLOW_PARTS, copy_workflow

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = "config/studies/demo_cities.yaml"


def demo_config() -> dict:
    return yaml.safe_load((ROOT / DEMO_CONFIG).read_text(encoding="utf-8"))


def never_enumerate(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_multiverse):
        raise AssertionError("the grid was enumerated")

    monkeypatch.setattr(multiverse_module, "_grid", refuse)


# --- the multiverse: specifications, jobs, null cells, chunk sizes


def test_the_counted_grid_size_is_the_enumerated_one() -> None:
    """grid_size's arithmetic agrees with enumeration, for every subset of the rules."""
    config = study_config()
    rules = config["multiverse"]["exclude"] + [
        {"lag": [1], "sample": ["full", "balanced"]},
        {"controls": ["c1", "none"], "fixed_effects": ["unit"], "covariance": ["clustered"]},
    ]
    for size in range(len(rules) + 1):
        for chosen in itertools.combinations(rules, size):
            config["multiverse"]["exclude"] = list(chosen)
            multiverse = multiverse_spec(config)
            assert multiverse.size == len(multiverse_module._grid(multiverse))


def test_a_ten_million_grid_is_refused_by_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's 10,008,576-specification grid: refused in well under a second,
    without being enumerated, naming the count and max_specifications."""
    never_enumerate(monkeypatch)
    config = study_config()
    controls = [f"c{i}" for i in range(1, 9)]
    config["variables"].update({name: {} for name in controls})
    grid = config["multiverse"]
    # 2 outcomes x 2 focal x 256 control sets x 3 fixed effects x 6 lags x 3 covariances
    # x 181 samples: the 10,008,576 specifications.
    grid["controls"] = {"subsets_of": controls}
    grid["lags"] = [0, 1, 2, 3, 4, 5]
    grid["samples"] = {"full": {}, **{f"s{i}": {} for i in range(180)}}
    grid["exclude"] = []
    grid["chunk_size"] = 10000
    started = time.perf_counter()
    with pytest.raises(MultiverseError) as error:
        multiverse_spec(config)
    assert time.perf_counter() - started < 1.0
    message = str(error.value)
    count = 2 * 2 * 256 * 3 * 6 * 3 * 181
    assert count == 10_008_576
    assert f"the grid has {count:,} specifications" in message
    assert "multiverse.max_specifications = 20,000" in message
    assert "raise max_specifications" in message


def test_max_specifications_can_be_raised_and_exclusions_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    never_enumerate(monkeypatch)
    config = study_config(max_specifications=100)
    with pytest.raises(MultiverseError, match=r"more than multiverse\.max_specifications = 100"):
        multiverse_spec(config)
    # Exclusions that bring the grid under the cap make it acceptable.
    config["multiverse"]["exclude"].append({"sample": ["late", "without_focal", "balanced"]})
    config["multiverse"]["exclude"].append({"controls": ["c1", "c2", "none"]})
    config["multiverse"]["exclude"].append({"fixed_effects": ["none", "unit"]})
    assert multiverse_spec(config).size <= 100


def test_exclude_rules_too_intricate_to_count_are_refused() -> None:
    """Five rules per choice, each naming the values with one bit set, over four choices
    of 32 values: 2 ** 20 groups of partial specifications, more than counting keeps."""
    config = study_config(max_specifications=10**12, max_jobs=10**12, max_null_cells=10**15)
    grid = config["multiverse"]
    names = [f"v{i}" for i in range(32)]
    grid["outcomes"] = {n: {"outcome": "log_y", "estimator": "linear"} for n in names}
    grid["focal"] = {n: {"variable": "rd"} for n in names}
    grid["controls"] = {"sets": {n: ["c1"] for n in names}}
    grid["samples"] = {n: {} for n in names}
    grid["exclude"] = [
        {choice: [n for i, n in enumerate(names) if i >> bit & 1]}
        for choice in ("outcome", "focal", "controls", "sample")
        for bit in range(5)
    ]
    grid["focal_specification"].update(outcome="v0", focal="v0", controls="v0", sample="v0")
    started = time.perf_counter()
    with pytest.raises(MultiverseError, match=r"its 20 rules overlap in more than 100,000 ways"):
        multiverse_spec(config)
    assert time.perf_counter() - started < 10


def test_chunks_of_one_planning_millions_of_jobs_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's chunk_size: 1 with draws_per_chunk: 1 on the demo: 2.76 M jobs."""
    never_enumerate(monkeypatch)
    config = demo_config()
    config["multiverse"]["chunk_size"] = 1
    config["multiverse"]["inference"]["draws_per_chunk"] = 1
    started = time.perf_counter()
    with pytest.raises(MultiverseError) as error:
        multiverse_spec(config)
    assert time.perf_counter() - started < 1.0
    message = str(error.value)
    assert "plan 2,757,504 jobs (5504 x (1 + 500))" in message
    for key in ("multiverse.chunk_size = 1", "draws_per_chunk = 1", "multiverse.max_jobs = 2,000"):
        assert key in message
    assert "Raise chunk_size or inference.draws_per_chunk, or raise max_jobs" in message


def test_null_cells_above_their_cap_are_refused() -> None:
    config = study_config(max_null_cells=1000)
    with pytest.raises(MultiverseError) as error:
        multiverse_spec(config)
    multiverse = multiverse_spec(study_config())
    cells = multiverse.linear_size * multiverse.null.draws
    assert f"= {cells:,} cells, more than multiverse.max_null_cells = 1,000" in str(error.value)


def test_chunk_sizes_are_capped_by_the_schema(tmp_path: Path) -> None:
    for key, value, maximum in (
        ("chunk_size", 20000, 10000),
        ("draws_per_chunk", 5000, 1000),
    ):
        project = copy_workflow(ROOT, tmp_path / key, ("config",))
        config = demo_config()
        target = config["multiverse"]
        if key == "draws_per_chunk":
            target = target["inference"]
        target[key] = value
        (project / DEMO_CONFIG).write_text(
            yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8"
        )
        with pytest.raises(ConfigError) as error:
            load_study({}, [], project)
        assert DEMO_CONFIG in str(error.value)
        assert f"{key}: {value} is greater than the maximum of {maximum}" in str(error.value)


@pytest.mark.workflow
def test_snakemake_refuses_a_huge_plan_before_building_the_dag(tmp_path: Path) -> None:
    """`snakemake -n` took 504 s and died of MemoryError; now it stops at once."""
    import subprocess
    import sys

    project = copy_workflow(ROOT, tmp_path, WORKFLOW_PARTS)
    config = demo_config()
    config["multiverse"]["chunk_size"] = 1
    config["multiverse"]["inference"]["draws_per_chunk"] = 1
    (project / DEMO_CONFIG).write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8"
    )
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(project)],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "workflow")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert time.perf_counter() - started < 60
    assert "multiverse.max_jobs = 2,000" in run.stdout + run.stderr


# --- messages that point at the real cause


def test_an_empty_grid_says_so_and_names_what_each_rule_removes() -> None:
    config = study_config()
    config["multiverse"]["exclude"] = [
        {"fixed_effects": ["none", "unit"]},
        {"fixed_effects": ["unit_and_year"], "lag": [0, 1]},
    ]
    with pytest.raises(MultiverseError) as error:
        multiverse_spec(config)
    message = str(error.value)
    assert "the grid is empty: the exclude rules remove all 1440 declared combinations" in message
    assert "multiverse.exclude[0] {'fixed_effects': ['none', 'unit']} removes 960" in message
    assert "multiverse.exclude[1]" in message and "removes 480" in message
    assert "focal_specification" not in message


def test_an_excluded_focal_specification_names_the_rule() -> None:
    config = study_config()
    config["multiverse"]["exclude"].append({"controls": ["c1+c2"], "sample": ["full"]})
    with pytest.raises(MultiverseError, match=r"is removed by multiverse.exclude\[5\]"):
        multiverse_spec(config)


def test_a_derivation_cycle_is_named_once_with_one_fix() -> None:
    """Two derived variables computed from each other: one message, no "move above"."""
    units = {"元": {"dimension": "money", "factor": 1}}
    variables = {
        "gdp": {"kind": "source", "unit": "元", "label": "GDP"},
        "a_share": {
            "kind": "derived",
            "label": "a",
            "derive": {"share": {"part": "b_share", "whole": "gdp"}},
        },
        "b_share": {
            "kind": "derived",
            "label": "b",
            "derive": {"share": {"part": "a_share", "whole": "gdp"}},
        },
        "c_log": {"kind": "derived", "label": "c", "derive": {"log": {"of": "a_share"}}},
    }
    problems = variable_quantities(variable_specs(variables), units)[1]
    cycle = [p for p in problems if "a_share -> b_share -> a_share" in p]
    assert len(cycle) == 1
    assert "each is derived from the next" in cycle[0]
    assert "Break the cycle" in cycle[0]
    assert not [p for p in problems if "move" in p]
    assert [p for p in problems if p.startswith("variables.c_log") and "cycle" in p]
    assert len(problems) == 2


def test_an_input_listed_earlier_is_never_asked_to_move() -> None:
    """An input that comes first but has no quantity is not 'listed after': a derived
    one that failed points at its own problem, a source one at its missing unit."""
    units = {"元": {"dimension": "money", "factor": 1}, "人": {"dimension": "persons", "factor": 1}}
    variables = {
        "gdp": {"kind": "source", "unit": "元", "label": "GDP"},
        "workers": {"kind": "source", "label": "Workers"},
        "bad_share": {
            "kind": "derived",
            "label": "s",
            "derive": {"share": {"part": "gdp", "whole": "gdp"}},
            "unit": "元",
        },
        "log_share": {"kind": "derived", "label": "l", "derive": {"log": {"of": "bad_share"}}},
        "log_workers": {"kind": "derived", "label": "w", "derive": {"log": {"of": "workers"}}},
    }
    problems = variable_quantities(variable_specs(variables), units)[1]
    assert not [p for p in problems if "listed after" in p]
    (share,) = [p for p in problems if p.startswith("variables.log_share")]
    assert "could not be derived (their own problem is named); fix it first" in share
    (workers,) = [p for p in problems if p.startswith("variables.log_workers")]
    assert "does not have (or has without a unit)" in workers


@pytest.mark.parametrize("name", ["my study", "études_villes", "Demo"])
def test_a_study_name_that_cannot_name_a_study_says_why(tmp_path: Path, name: str) -> None:
    """The file exists: the message gives the rule and the new name, not "has no config"."""
    studies = tmp_path / "config/studies"
    studies.mkdir(parents=True)
    (studies / f"{name}.yaml").write_text("study: {}\n", encoding="utf-8")
    with pytest.raises(StudyNameError) as error:
        study_paths(name, tmp_path)
    message = str(error.value)
    assert "has no config" not in message
    assert "a study name must be a lower-case name of ASCII letters, digits and _" in message
    assert f"config/studies/{name}.yaml exists: rename it" in message
    assert "--config study=" in message


# --- YAML alias expansion


def billion_laughs(levels: int) -> str:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    lines.append(f"study: {{title: *lol{levels}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [billion_laughs(9), "study: &loop {title: [*loop]}\n"])
def test_yaml_aliases_that_expand_without_bound_are_refused_at_once(
    tmp_path: Path, text: str
) -> None:
    studies = copy_workflow(ROOT, tmp_path, ("config/schemas",)) / "config/studies"
    studies.mkdir(parents=True)
    (studies / "laughs.yaml").write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError) as error:
        load_study({"study": "laughs"}, [], tmp_path)
    assert time.perf_counter() - started < 1.0
    message = str(error.value)
    assert message.startswith("config/studies/laughs.yaml: its anchors and aliases")
    assert f"more than the {MAX_EXPANDED_NODES:,} a study config may hold" in message


def test_ordinary_anchors_are_still_read(tmp_path: Path) -> None:
    from innopanel.config.study import read_yaml

    path = tmp_path / "anchors.yaml"
    path.write_text("a: &x {k: 1}\nb: *x\nc: {<<: *x, k: 2}\n", encoding="utf-8")
    assert read_yaml(path, "anchors.yaml") == {"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 2}}


# --- the null step: no rows x units matrix


def wide_panel(n_units: int, years: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    units = [f"u{i:05d}" for i in range(n_units)]
    frame = pd.DataFrame(
        [(u, 2019 + t) for u in units for t in range(years)], columns=["unit_id", "year"]
    )
    frame["rd"] = rng.normal(size=len(frame))
    frame["c1"] = rng.normal(size=len(frame))
    frame["log_y"] = 0.2 * frame["rd"] + rng.normal(size=len(frame))
    return frame


def wide_config(n_units: int, draws: int) -> dict:
    config = study_config()
    config["study"].update(first_year=2019, last_year=2021, focal_unit="u00000", peer_units=[])
    grid = config["multiverse"]
    grid.update(
        outcomes={"log_linear": grid["outcomes"]["log_linear"]},
        focal={"rd": {"variable": "rd"}},
        controls={"subsets_of": ["c1"]},
        lags=[0],
        samples={"full": {}},
        exclude=[],
        inference={"draws": draws, "draws_per_chunk": draws},
    )
    grid["focal_specification"].update(controls="c1", fixed_effects="unit")
    return config


def test_the_null_step_of_20000_units_stays_proportional_to_the_rows() -> None:
    """The issue's 20,000 units x 3 years: the rows x units matrix would be 8.9 GiB;
    the null step's peak memory now stays under 2 KiB per row (117 MiB)."""
    panel = wide_panel(20000, 3)
    config = wide_config(20000, 20)
    multiverse = multiverse_spec(config)
    prepared = prepare_panel(panel, multiverse)
    tracemalloc.start()
    try:
        redrawn = null_chunk(
            prepared, multiverse, multiverse.specifications, range(20), config["study"]
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(redrawn.spec_ids) >= 6  # clustered, with and without effects and controls
    assert np.isfinite(redrawn.estimates).all()
    assert peak < 2048 * len(panel)


def test_redrawn_variances_equal_the_dense_ones() -> None:
    """Without Q, every draw's estimate and t-statistic agree to 1e-12 with the G x G
    meat, for every covariance and design of the test grid."""
    from test_multiverse import panel as panel_fixture

    panel = panel_fixture.__wrapped__()
    config = study_config()
    multiverse = multiverse_spec(config)
    frame = prepare_panel(panel, multiverse)
    weights = null_weights(5, range(70), frame.n_units, "webb")
    compared = set()
    for spec in multiverse.specifications[::3]:
        if spec.outcome != "log_linear":
            continue
        try:
            fit = fit_linear_specification(
                frame, spec, design(frame, multiverse, spec, config["study"])
            )
        except Exception:  # not estimable: test_multiverse.py covers why
            continue
        dense = null_operator(fit, spec.covariance).draws(weights)
        redrawn = null_operator(fit, spec.covariance, dense_cells=0).draws(weights)
        for a, b in zip(dense, redrawn, strict=True):
            finite = np.isfinite(a)
            assert (np.isfinite(b) == finite).all()
            np.testing.assert_allclose(b[finite], a[finite], rtol=1e-12, atol=0)
        compared.add((spec.fixed_effects, spec.covariance))
    assert len(compared) == 9


def test_the_caps_are_in_the_schema_with_their_defaults() -> None:
    schema = yaml.safe_load(
        (ROOT / "config/schemas/config.schema.yaml").read_text(encoding="utf-8")
    )
    grid = schema["properties"]["multiverse"]["properties"]
    assert grid["max_specifications"]["default"] == 20000
    assert grid["max_jobs"]["default"] == 2000
    assert grid["max_null_cells"]["default"] == 50_000_000
    assert grid["chunk_size"]["maximum"] == 10000
    assert grid["inference"]["properties"]["draws_per_chunk"]["maximum"] == 1000
