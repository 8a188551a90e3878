"""A second run of a study that a live run is writing stops, saying so (issue 22)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from innopanel.reproducibility.running import (
    AnotherRunError,
    mark,
    mark_path,
    refuse_if_running,
    unmark,
)


@pytest.fixture
def other_run() -> Iterator[subprocess.Popen]:
    """A live process whose command line names snakemake, as a run's does."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "snakemake", "--cores", "1"]
    )
    wait_for_command_line(process.pid, b"snakemake")
    yield process
    process.kill()
    process.wait()


def wait_for_command_line(pid: int, word: bytes) -> None:
    """Right after exec the kernel may not have set the command line /proc shows yet."""
    command = Path(f"/proc/{pid}/cmdline")
    deadline = time.monotonic() + 10
    while command.is_file() and word not in command.read_bytes():
        assert time.monotonic() < deadline, f"process {pid} did not start"
        time.sleep(0.01)


def write_mark(study: str, pid: int, host: str | None = None) -> Path:
    path = mark_path(study)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01T00:00:00"}
    path.write_text(json.dumps(entry), encoding="utf-8")
    return path


def test_a_live_run_is_named_with_how_to_tell_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_run: subprocess.Popen
) -> None:
    monkeypatch.chdir(tmp_path)
    write_mark("demo", other_run.pid)
    with pytest.raises(AnotherRunError) as refused:
        refuse_if_running("demo")
    message = str(refused.value)
    assert "another run appears to be writing study 'demo'" in message
    assert f"process {other_run.pid}" in message and f"`ps -p {other_run.pid}`" in message
    assert "Wait for it to finish" in message
    assert "Only if no other run is alive" in message and "--rerun-incomplete" in message
    # Another study in the same folder is not held up.
    refuse_if_running("other")


def test_a_mark_on_another_host_may_be_alive(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_mark("demo", 1, host="another-host.invalid")
    with pytest.raises(AnotherRunError, match=r"on host another-host\.invalid"):
        refuse_if_running("demo")


def test_a_mark_whose_process_is_gone_is_stale(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    write_mark("demo", int(ended.stdout))
    refuse_if_running("demo")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc tells the command")
def test_a_process_that_is_no_run_is_not_taken_for_one(tmp_path: Path, monkeypatch) -> None:
    """After a reboot the id of a killed run may belong to an unrelated process."""
    monkeypatch.chdir(tmp_path)
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    wait_for_command_line(unrelated.pid, b"sleep")
    try:
        write_mark("demo", unrelated.pid)
        refuse_if_running("demo")
    finally:
        unrelated.kill()
        unrelated.wait()


def test_a_run_unmarks_only_its_own_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_run: subprocess.Popen
) -> None:
    monkeypatch.chdir(tmp_path)
    path = mark("demo")
    refuse_if_running("demo")  # this process's own mark holds nothing up
    unmark("demo")
    assert not path.exists()
    write_mark("demo", other_run.pid)
    unmark("demo")
    assert path.exists()


@pytest.mark.workflow
def test_snakemake_stops_before_touching_a_study_another_run_writes(
    tmp_path: Path, other_run: subprocess.Popen
) -> None:
    from test_workflow import DEMO, make_project, snakemake

    workdir = make_project(tmp_path)
    path = workdir / mark_path(DEMO.study)
    path.parent.mkdir(parents=True)
    entry = {"pid": other_run.pid, "host": socket.gethostname(), "started": "2026-01-01"}
    path.write_text(json.dumps(entry), encoding="utf-8")
    run = snakemake(workdir, "--dry-run")
    assert run.returncode != 0
    said = run.stdout + run.stderr
    assert "another run appears to be writing study 'demo_cities'" in said
    assert "IncompleteFilesException" not in said
    other_run.kill()
    other_run.wait()
    assert snakemake(workdir, "--dry-run").returncode == 0
