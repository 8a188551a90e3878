"""The multiverse end to end: any chunking gives the same results, and a SLURM cluster
gives the local run's results (within the reproducibility policy).

The SLURM test runs only where a cluster was started for it: .ci/slurm/run_test.sh adds the
SLURM executor plugin (make setup-slurm), starts one, sets INNOPANEL_SLURM=1, runs it and
stops the cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from innopanel.config.multiverse import multiverse_path
from innopanel.config.paths import StudyPaths
from innopanel.reproducibility.benchmarking import copy_workflow
from innopanel.reproducibility.comparison import compare_tables
from innopanel.reproducibility.policy import NUMERIC_TOLERANCE

ROOT = Path(__file__).resolve().parents[1]
DEMO = StudyPaths("demo_cities")
RESULTS = [
    multiverse_path(DEMO.results, name)
    for name in ("specifications.parquet", "joint_tests.csv", "null_draws.parquet")
]


def project(target: Path, edit=None) -> Path:
    """The workflow and the demo study in ``target``, its multiverse edited by ``edit``."""
    copy_workflow(ROOT, target)
    if edit is not None:
        path = target / DEMO.config
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(config["multiverse"])
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def run(workdir: Path, *arguments: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "snakemake", "--directory", str(workdir), *arguments]
    if shutil.which("timeout"):
        # SIGTERM does not stop snakemake while it waits on a cluster; SIGINT does.
        command = ["timeout", "-s", "INT", str(timeout), *command]
    return subprocess.run(
        [*command, *RESULTS],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")},
        capture_output=True,
        text=True,
    )


def assert_same_results(first: Path, second: Path) -> None:
    for path in RESULTS:
        agreement = compare_tables(first / path, second / path, NUMERIC_TOLERANCE)
        assert agreement.holds, f"{path}: {agreement.problem} (largest {agreement.largest:g})"


def small(multiverse: dict) -> None:
    """384 linear specifications (PPML's path is tests/test_multiverse.py's), 60 draws."""
    multiverse["outcomes"] = {"log_linear": multiverse["outcomes"]["log_linear"]}
    multiverse["samples"] = {"full": {}, "early": {"first_year": 2011, "last_year": 2016}}
    multiverse["lags"] = [0]
    multiverse["covariances"] = ["clustered", "driscoll_kraay"]
    multiverse["exclude"] = []
    multiverse["inference"] = {"draws": 60, "draws_per_chunk": 60}
    multiverse["chunk_size"] = 400


@pytest.mark.workflow
def test_any_chunking_gives_the_same_results(tmp_path: Path) -> None:
    one = project(tmp_path / "one", small)

    def many_chunks(multiverse: dict) -> None:
        small(multiverse)
        multiverse["chunk_size"] = 150
        multiverse["inference"]["draws_per_chunk"] = 25

    many = project(tmp_path / "many", many_chunks)
    for workdir in (one, many):
        done = run(workdir, "--cores", "2")
        assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "384 specifications (384 declared, 0 excluded) in 3 chunks of 150; 60 null draws in 3"
        in (done.stderr)
    )
    assert_same_results(one, many)


@pytest.mark.slurm
@pytest.mark.skipif(
    os.environ.get("INNOPANEL_SLURM") != "1" or shutil.which("sbatch") is None,
    reason="needs a SLURM cluster started for it (.ci/slurm/run_test.sh)",
)
def test_the_slurm_profile_gives_the_local_results(tmp_path: Path) -> None:
    """The demo study's whole multiverse through profiles/slurm against the local run
    committed as its reference (which ``make verify``, run before this in CI, has just
    rebuilt locally and matched within the same policy)."""
    cluster = project(tmp_path / "cluster")
    started = time.monotonic()
    done = run(cluster, "--profile", "profiles/slurm")
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"multiverse on SLURM: {time.monotonic() - started:.0f} s")
    submitted = done.stderr.count("has been submitted with SLURM jobid")
    print(f"jobs submitted to SLURM: {submitted}")
    assert submitted > 0
    # Steps that only copy local files run where Snakemake runs (Snakefile's localrules).
    assert "localrule fetch_source:" in done.stderr
    assert re.search(r"^rule fetch_source:", done.stderr, re.MULTILINE) is None
    for path in RESULTS:
        reference = path.replace(DEMO.results, DEMO.reference, 1)
        agreement = compare_tables(ROOT / reference, cluster / path, NUMERIC_TOLERANCE)
        assert agreement.holds, f"{path}: {agreement.problem} (largest {agreement.largest:g})"
