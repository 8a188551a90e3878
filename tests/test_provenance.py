"""Provenance: commit (or none), software, config hash; nothing time-varying in it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from innopanel.reproducibility.provenance import (
    build_provenance,
    config_digest,
    git_revision,
    provenance_markdown,
    retrieval_log,
    software_versions,
)

RECORD = {
    "name": "economy",
    "kind": "local",
    "location": "data/raw/mine/economy.csv",
    "sha256": "a" * 64,
    "bytes": 10,
}


def git(directory: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-C", str(directory), *arguments],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "HOME": str(directory),
            "PATH": "/usr/bin:/bin",
        },
    )


def test_not_a_git_checkout(tmp_path: Path) -> None:
    assert git_revision(tmp_path) == {"commit": None, "dirty": None, "note": "not a git checkout"}


def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "Snakefile").write_text("# workflow\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results/table.tex").write_text("1.0\n")
    git(tmp_path, "add", "Snakefile", "results/table.tex")
    git(tmp_path, "commit", "-q", "-m", "start")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert git_revision(tmp_path) == {"commit": head, "dirty": False, "note": None}
    # An output the workflow rewrote is not a change to what the run is built from.
    (tmp_path / "results/table.tex").write_text("1.1\n")
    assert git_revision(tmp_path)["dirty"] is False
    (tmp_path / "Snakefile").write_text("# changed\n")
    assert git_revision(tmp_path)["dirty"] is True
    # A folder inside a checkout is not itself the checkout of the workflow.
    (tmp_path / "sub").mkdir()
    assert git_revision(tmp_path / "sub")["note"] == "not a git checkout"


def test_provenance_is_byte_stable_and_keeps_time_out(tmp_path: Path) -> None:
    config = {
        "data": {
            "synthetic": False,
            "data_note": "Real data.",
            "sources": {
                "economy": {"licence": "CC BY 4.0", "citation": "Statistical Yearbook 2023"}
            },
        },
        "study": {"seed": 1},
    }
    (tmp_path / "panel.csv").write_text("unit_id,year\nchengdu,2020\n")
    files = {"panel": tmp_path / "panel.csv"}
    git = {"commit": "abc", "dirty": False, "note": None}
    first = build_provenance([RECORD], config, git, files)
    second = build_provenance([RECORD], config, git, files)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    text = json.dumps(first)
    assert "retrieved_at" not in text
    assert first["config"]["sha256"] == config_digest(config)
    assert first["data_files"]["panel"]["bytes"] == (tmp_path / "panel.csv").stat().st_size
    assert first["software"] == software_versions()
    assert first["software"]["packages"]["pandas"] != "not installed"
    markdown = provenance_markdown(first)
    assert "Statistical Yearbook 2023" in markdown and "CC BY 4.0" in markdown
    log = retrieval_log([{"source": "economy", "retrieved_at": "2026-01-01T00:00:00+00:00"}])
    assert log["note"].startswith("NOT byte-stable")


def test_config_digest_changes_with_any_value() -> None:
    assert config_digest({"a": 1, "b": [1, 2]}) == config_digest({"b": [1, 2], "a": 1})
    assert config_digest({"a": 1}) != config_digest({"a": 2})


@pytest.mark.workflow
def test_workflow_provenance_names_every_source(tmp_path: Path) -> None:
    from test_workflow import DEMO, make_project, snakemake

    workdir = make_project(tmp_path)
    run = snakemake(workdir, DEMO.result("provenance/provenance.json"))
    assert run.returncode == 0, run.stderr[-4000:]
    provenance_path = workdir / DEMO.result("provenance/provenance.json")
    provenance = json.loads(provenance_path.read_text("utf-8"))
    names = [source["name"] for source in provenance["sources"]]
    assert names == ["economy", "open_platforms", "science_technology"]
    for source in provenance["sources"]:
        raw = workdir / source["location"]
        assert source["bytes"] == raw.stat().st_size
        assert source["licence"] and source["citation"]
    assert provenance["git"]["note"] == "not a git checkout"
    assert provenance["synthetic_data"] is True
    log = json.loads((workdir / DEMO.result("provenance/retrieval_log.json")).read_text("utf-8"))
    assert {entry["source"] for entry in log["retrievals"]} == set(names)
