"""The benchmark helpers read what Snakemake writes, and the one-process lower bound
does the same computation as the workflow (same output bytes)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_workflow import make_project, snakemake

from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.reproducibility.benchmarking import (
    current_rss_bytes,
    format_table,
    job_scripts,
    peak_rss_bytes,
    read_benchmarks,
    reset_peak_rss,
    script_imports,
    script_rule,
    synthetic_panel,
)
from innopanel.reproducibility.policy import Policy
from innopanel.reproducibility.reference import workflow_outputs

DEMO = StudyPaths(DEFAULT_STUDY)

ROOT = Path(__file__).resolve().parents[1]
LOWER_BOUND = ROOT / "workflow" / "benchmarks" / "lower_bound.py"
WITHIN_SPEC = importlib.util.spec_from_file_location(
    "within_benchmark", ROOT / "workflow" / "benchmarks" / "within.py"
)
assert WITHIN_SPEC is not None and WITHIN_SPEC.loader is not None
within = importlib.util.module_from_spec(WITHIN_SPEC)
WITHIN_SPEC.loader.exec_module(within)


def test_every_rule_times_itself() -> None:
    """`make bench` reads per-rule timings from the rules' own ``benchmark:`` files."""
    untimed = []
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        blocks = re.split(r"^rule (\w+):\n", path.read_text(encoding="utf-8"), flags=re.M)
        for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
            if "    benchmark:\n" not in body.split("\n\n\n")[0]:
                untimed.append(f"{path.name}: rule {name}")
    assert not untimed, f"rules without a benchmark: directive: {untimed}"


def test_read_benchmarks_takes_rule_and_job_from_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "benchmarks" / "demo_cities" / "fetch_source"
    folder.mkdir(parents=True)
    (folder / "economy.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "0.25\t0:00:00\t6.87\t10.1\t1.2\t2.3\t0.00\t0.01\t0.00\tNA\n",
        encoding="utf-8",
    )
    assert read_benchmarks(tmp_path / "benchmarks" / "demo_cities") == [
        {
            "rule": "fetch_source",
            "job": "fetch_source/economy",
            "s": 0.25,
            "max_rss": 6.87,
            "cpu_time": None,
            "mean_load": 0.0,
        }
    ]


def test_format_table_aligns_columns() -> None:
    table = format_table([{"rule": "a", "s": 1.5}, {"rule": "long_rule", "s": None}], ["rule", "s"])
    assert table.splitlines() == [
        "rule       s    ",
        "---------  -----",
        "a          1.500",
        "long_rule      -",
    ]


def test_peak_memory_sees_an_allocation() -> None:
    if not reset_peak_rss():
        pytest.skip("no /proc/self/clear_refs here")
    before = current_rss_bytes()
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    assert peak_rss_bytes() - before >= 60 * 2**20
    del block


def test_synthetic_panel_is_seeded_and_unbalanced() -> None:
    frame, terms = synthetic_panel(50, 10, seed=3)
    again, _ = synthetic_panel(50, 10, seed=3)
    assert frame.equals(again)
    assert 450 <= len(frame) < 500 and not frame.duplicated(["unit_id", "year"]).any()
    assert list(frame.columns) == ["unit_id", "year", "y", *terms]


def test_within_ratio_lines_name_each_panel_size() -> None:
    """`make bench` prints innopanel's time over pyfixest's labelled with the panel size."""
    row = {"size": "1M rows", "units x years": "41,250 x 25", "rows": 1_000_349}
    rows = [
        {**row, "engine": "innopanel", "best_s": 0.2, "vs_pyfixest": 0.4},
        {**row, "engine": "pyfixest", "best_s": 0.5, "vs_pyfixest": 1.0},
        {**row, "size": "demo", "engine": "innopanel", "best_s": 0.1, "vs_pyfixest": None},
    ]
    assert within.ratio_lines(rows) == [
        "1M rows, 41,250 x 25 units x years (1,000,349 rows): innopanel 0.2000 s, "
        "pyfixest 0.5000 s, innopanel / pyfixest 0.40x"
    ]


@pytest.mark.workflow
def test_timed_run_and_one_process_lower_bound_give_the_same_bytes(tmp_path: Path) -> None:
    workdir = make_project(tmp_path)
    run = snakemake(workdir, "--skip-script-cleanup")
    assert run.returncode == 0, run.stderr[-4000:]

    timed = {row["job"]: row for row in read_benchmarks(workdir / DEMO.benchmarks)}
    assert set(timed) >= {"estimate_models/estimate_models", "fetch_source/economy.csv"}
    assert all(row["s"] is not None and row["s"] > 0 for row in timed.values())

    scripts = job_scripts(workdir)
    rules = [script_rule(script) for script in scripts]
    assert rules.index("clean_panel") < rules.index("estimate_models")
    assert rules.index("estimate_models") < rules.index("make_regression_table")
    assert (
        "from innopanel.econometrics.models import estimate_models, write_estimates"
        in script_imports(scripts[rules.index("estimate_models")])
    )

    outputs = workflow_outputs(workdir, DEMO.study)
    digests = {p: hashlib.sha256((workdir / p).read_bytes()).hexdigest() for p in outputs}
    for path in outputs:
        (workdir / path).unlink()
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    lower = subprocess.run(
        [sys.executable, str(LOWER_BOUND), str(workdir)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert lower.returncode == 0, lower.stderr[-4000:]
    assert [line.split("\t")[1] for line in lower.stdout.splitlines()] == rules
    for path, digest in digests.items():
        if Policy.for_study(DEMO.study).kind(path) == "skip":  # records retrieval times by design
            continue
        assert hashlib.sha256((workdir / path).read_bytes()).hexdigest() == digest, path
