"""The multiverse benchmark's set-up: it reads the demo study and edits a copy of it.

The benchmark itself runs in .venv-bench (pyfixest, specification_curve); these are the
pieces that must follow the project's layout, checked here so that a moved config
breaks a test, not `make bench`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from innopanel.config.multiverse import multiverse_spec
from innopanel.config.paths import StudyPaths
from innopanel.econometrics.multiverse import prepare_panel

ROOT = Path(__file__).resolve().parents[1]
# The benchmark imports growth.py beside it, as a script run from its folder does.
sys.path.insert(0, str(ROOT / "workflow" / "benchmarks"))
SPEC = importlib.util.spec_from_file_location(
    "multiverse_benchmark", ROOT / "workflow/benchmarks/multiverse.py"
)
assert SPEC is not None and SPEC.loader is not None
benchmark = importlib.util.module_from_spec(SPEC)
sys.modules["multiverse_benchmark"] = benchmark
SPEC.loader.exec_module(benchmark)
DEMO = StudyPaths("demo_cities")


def test_it_reads_the_demo_studys_multiverse() -> None:
    multiverse = multiverse_spec(benchmark.demo_config())
    assert len(multiverse.specifications) >= 5000
    assert multiverse.null.draws >= 500
    assert all(target.startswith(DEMO.results + "/") for target in benchmark.TARGETS)


def test_project_sets_the_chunking_in_the_demo_studys_config(tmp_path: Path) -> None:
    benchmark.project(tmp_path, chunk_size=7, draws_per_chunk=9)
    assert (tmp_path / "Snakefile").is_file()
    config = yaml.safe_load((tmp_path / DEMO.config).read_text("utf-8"))
    assert config["multiverse"]["chunk_size"] == 7
    assert config["multiverse"]["inference"]["draws_per_chunk"] == 9
    assert multiverse_spec(config).chunks == -(-len(multiverse_spec(config).specifications) // 7)


def test_ratio_lines_give_each_panels_rates_and_ratio() -> None:
    rows = [
        {"panel": "64 x 12 (768 rows)", "engine": "innopanel", "per second": 1500.0},
        {
            "panel": "64 x 12 (768 rows)",
            "engine": "pyfixest (multiple estimation)",
            "per second": 60.0,
            "innopanel x": 25.0,
        },
        {"panel": "64 x 12 (768 rows)", "engine": "specification_curve 0.3.9", "per second": 1.0},
        {"panel": "3,000 x 12 (36,000 rows)", "engine": "innopanel", "per second": 200.0},
        {
            "panel": "3,000 x 12 (36,000 rows)",
            "engine": "pyfixest (multiple estimation)",
            "per second": 25.0,
            "innopanel x": 8.0,
        },
    ]
    assert benchmark.ratio_lines(rows) == [
        "innopanel vs pyfixest multiple estimation at 64 x 12 (768 rows): 1,500 vs 60.0 "
        "specifications per second, innopanel 25.0x",
        "innopanel vs pyfixest multiple estimation at 3,000 x 12 (36,000 rows): 200 vs 25.0 "
        "specifications per second, innopanel 8.0x",
    ]


@pytest.mark.workflow
def test_generated_panel_has_the_demos_variables_and_samples_on_more_units(
    tmp_path: Path,
) -> None:
    config = benchmark.demo_config()
    multiverse = multiverse_spec(config)
    panel = benchmark.generated_panel(tmp_path, 70)
    assert benchmark.panel_size(panel) == "70 x 12 (840 rows)"
    years = range(config["study"]["first_year"], config["study"]["last_year"] + 1)
    assert sorted(panel["year"].unique()) == list(years)
    demo_ids = pd.read_csv(ROOT / config["data"]["unit_table"], dtype=str)["unit_id"]
    assert set(demo_ids) < set(panel["unit_id"])
    # The same common grid at every size: every sample but the balanced one, with rows.
    frames = benchmark.sample_frames(prepare_panel(panel, multiverse), multiverse, config["study"])
    assert sorted(frames) == sorted(set(multiverse.samples) - {"balanced"})
    assert all(len(frame) > 0 for frame in frames.values())
