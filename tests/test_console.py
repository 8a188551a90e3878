"""What a person reads on the console (issue 19, item 3): no config section in it, and
on failure the failed step's own message last, once."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from test_workflow import DEMO, ROOT, make_project, snakemake

from innopanel import runlog
from innopanel.config.rule_params import Digested
from innopanel.runlog import error_note

TYPO = "National-level incubatorz"


def test_a_digested_config_part_is_the_mapping_shown_as_its_sha256() -> None:
    models = {"fe": {"label": "FE", "regressors": ["x", "y"]}, "ols": {"label": "OLS"}}
    part = Digested("models", models)
    assert part == models and part["fe"]["regressors"] == ["x", "y"]
    shown = repr(part)
    assert shown.startswith("<models sha256 ") and len(shown) < 100
    assert "regressors" not in shown
    # Snakemake reruns a step when the repr of a param differs: any change must show.
    changed = Digested("models", {**models, "ols": {"label": "Pooled OLS"}})
    assert repr(changed) != shown
    assert repr(Digested("models", dict(reversed(models.items())))) == shown
    # Snakemake hands params to a script pickled.
    back = pickle.loads(pickle.dumps(part, protocol=4))
    assert back == models and repr(back) == shown


def run_step(log: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run a step's script that logs to ``log`` and then runs ``body``."""
    script = f"from innopanel.runlog import log_to_file\nlog_to_file({str(log)!r})\n{body}\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "workflow"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_a_failing_step_leaves_its_message_in_a_note_not_on_its_stderr(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "study" / "clean_panel" / "clean_panel.log"
    failed = run_step(log, "raise ValueError(\"column 'x' is missing; fix the mapping\")")
    assert failed.returncode == 1 and failed.stderr == ""
    assert error_note(log).read_text(encoding="utf-8") == (
        f"Error: ValueError: column 'x' is missing; fix the mapping\n(traceback in {log})\n"
    )
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")
    # The step's next run succeeds: its old note goes.
    assert run_step(log, "pass").returncode == 0
    assert not error_note(log).exists()


@pytest.mark.workflow
def test_a_failed_run_ends_with_the_steps_own_message_once(tmp_path: Path) -> None:
    """A wrong column name: the clean step's message is the run's last lines, printed
    once, after Snakemake's generic WorkflowError; an earlier run's note is not shown."""

    def misspell_a_column(config: dict) -> None:
        config["data"]["sources"]["open_platforms"]["columns"]["incubators"] = TYPO

    workdir = make_project(tmp_path, misspell_a_column)
    stale = error_note(workdir / DEMO.log("estimate_models"))
    stale.parent.mkdir(parents=True)
    stale.write_text("Error: StaleError: from an earlier run\n", encoding="utf-8")

    run = snakemake(workdir)

    assert run.returncode != 0
    console = run.stdout + run.stderr
    assert console.count(f"required column '{TYPO}'") == 1
    assert "StaleError" not in console
    last = run.stderr.rstrip("\n").splitlines()[-3:]
    assert last[0].startswith("The run failed, so study 'demo_cities' keeps its last good")
    assert last[0].endswith("Fix this and run again:")
    assert last[1].startswith("Error: DataError: source 'open_platforms'")
    assert f"required column '{TYPO}'" in last[1] and "Fix the mapping" in last[1]
    assert last[2] == f"(traceback in {DEMO.log('clean_panel')})"
    assert "WorkflowError" in console.split(last[1])[0]


def test_the_same_error_from_several_jobs_is_printed_once_with_every_log() -> None:
    same = "Error: DataError: no column's header contains 'X'.\n(traceback in logs/a.log)\n"
    also = "Error: DataError: no column's header contains 'X'.\n(traceback in logs/b.log)\n"
    other = "Error: ConfigError: another.\n(traceback in logs/c.log)\n"
    assert runlog.merged_notes([same, also, other, same]) == [
        "Error: DataError: no column's header contains 'X'.\n"
        "(traceback in logs/a.log, logs/b.log)\n",
        other,
    ]
