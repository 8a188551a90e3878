"""The multiverse benchmark's set-up: it reads the demo study and edits a copy of it.

The benchmark itself runs in .venv-bench (pyfixest, specification_curve); these are the
pieces that must follow the project's layout, checked here so that a moved config
breaks a test, not `make bench`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from innopanel.config.multiverse import multiverse_spec
from innopanel.config.paths import StudyPaths

ROOT = Path(__file__).resolve().parents[1]
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
