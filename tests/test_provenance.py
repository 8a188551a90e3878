"""Provenance: commit (or none), software, config hash; nothing time-varying in it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from innopanel.config.paths import DEFAULT_STUDY
from innopanel.config.study import RUN_KEY, config_sha256, load_study
from innopanel.exhibits.paper import paper_source
from innopanel.io import sha256_file, sha256_json
from innopanel.reproducibility.provenance import (
    build_provenance,
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
CONFIG = {
    "data": {
        "synthetic": False,
        "data_note": "Real data.",
        "sources": {"economy": {"licence": "CC BY 4.0", "citation": "Statistical Yearbook 2023"}},
    },
    "study": {"seed": 1},
    RUN_KEY: {
        "study": "mine",
        "config_file": "config/studies/mine.yaml",
        "results": "results/mine",
    },
}
ROOT = Path(__file__).resolve().parents[1]


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
    assert git_revision(tmp_path) == {
        "commit": head,
        "dirty": False,
        "dirty_files": {},
        "note": None,
    }
    # An output the workflow rewrote is not a change to what the run is built from.
    (tmp_path / "results/table.tex").write_text("1.1\n")
    assert git_revision(tmp_path)["dirty"] is False
    (tmp_path / "Snakefile").write_text("# changed\n")
    assert git_revision(tmp_path)["dirty"] is True
    # A folder inside a checkout is not itself the checkout of the workflow.
    (tmp_path / "sub").mkdir()
    assert git_revision(tmp_path / "sub")["note"] == "not a git checkout"


def test_dirty_flag_covers_every_file_the_run_reads(tmp_path: Path) -> None:
    """A study config, unit table or raw file that is not as committed makes the run
    dirty, and provenance names each with why (issue 18)."""
    checkout = tmp_path / "project"
    (checkout / "config/studies").mkdir(parents=True)
    (checkout / "data/raw/own").mkdir(parents=True)
    (checkout / "workflow").mkdir()
    git(checkout, "init", "-q")
    (checkout / ".gitignore").write_text("data/raw/own/\n")
    (checkout / "Snakefile").write_text("# workflow\n")
    (checkout / "config/cities.csv").write_text("unit_id\nchengdu\n")
    (checkout / "config/studies/demo.yaml").write_text("study: {}\n")
    git(checkout, "add", ".gitignore", "Snakefile", "config")
    git(checkout, "commit", "-q", "-m", "start")
    read = ["config/studies/demo.yaml", "config/cities.csv"]
    assert git_revision(checkout, read)["dirty_files"] == {}

    (checkout / "config/studies/mine.yaml").write_text("study: {}\n")
    (checkout / "data/raw/own/economy.csv").write_text("unit_id,year\n")
    (checkout / "config/cities.csv").write_text("unit_id\nchengdu\nwuhan\n")
    (checkout / "workflow/helper.py").write_text("# new code\n")
    # A name git would take for a pattern or magic is still a file name.
    (checkout / ":odd[1].csv").write_text("unit_id\n")
    (checkout / "notes.txt").write_text("not read by the run\n")
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("unit_id,year\n")
    read = [
        "config/studies/mine.yaml",
        "config/cities.csv",
        "data/raw/own/economy.csv",
        ":odd[1].csv",
        str(outside),
    ]

    revision = git_revision(checkout, read)

    assert revision["dirty"] is True
    assert revision["dirty_files"] == {
        ":odd[1].csv": "untracked",
        "config/cities.csv": "changed since the commit",
        "config/studies/mine.yaml": "untracked",
        "data/raw/own/economy.csv": "ignored by git",
        str(outside): "outside the checkout",
        "workflow/helper.py": "untracked",
    }
    markdown = provenance_markdown(
        build_provenance([RECORD], CONFIG, revision, {"unit_table": outside})
    )
    assert "(with uncommitted changes)" in markdown
    assert "- `config/studies/mine.yaml`: untracked" in markdown
    assert "- `data/raw/own/economy.csv`: ignored by git" in markdown


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
        RUN_KEY: CONFIG[RUN_KEY],
    }
    (tmp_path / "panel.csv").write_text("unit_id,year\nchengdu,2020\n")
    files = {"panel": tmp_path / "panel.csv"}
    git = {"commit": "abc", "dirty": False, "note": None}
    first = build_provenance([RECORD], config, git, files)
    second = build_provenance([RECORD], config, git, files)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    text = json.dumps(first)
    assert "retrieved_at" not in text
    assert first["config"]["resolved_sha256"] == config_sha256(config)
    assert first["data_files"]["panel"]["bytes"] == (tmp_path / "panel.csv").stat().st_size
    assert first["software"] == software_versions()
    assert first["software"]["packages"]["pandas"] != "not installed"
    markdown = provenance_markdown(first)
    assert "Statistical Yearbook 2023" in markdown and "CC BY 4.0" in markdown
    log = retrieval_log([{"source": "economy", "retrieved_at": "2026-01-01T00:00:00+00:00"}])
    assert log["note"].startswith("NOT byte-stable")


def test_config_digest_changes_with_any_value_but_not_with_the_run_entry() -> None:
    assert config_sha256({"a": 1, "b": [1, 2]}) == config_sha256({"b": [1, 2], "a": 1})
    assert config_sha256({"a": 1}) != config_sha256({"a": 2})
    assert config_sha256({"a": 1, RUN_KEY: {"study": "x"}}) == config_sha256({"a": 1})


def test_the_paper_and_provenance_give_one_config_hash_named_for_what_it_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the paper gave the file's SHA256 and provenance the resolved config's,
    each labelled the config's. Both now give the resolved config's, so named, and it is
    recomputed from provenance.json as its resolved_sha256_of says."""
    monkeypatch.chdir(ROOT)
    run, config = load_study({"study": DEFAULT_STUDY}, [], ROOT)
    (tmp_path / "panel.csv").write_text("unit_id,year\nchengdu,2020\n")
    git = {"commit": None, "dirty": None, "note": "not a git checkout"}
    records = [
        {**RECORD, "name": name, "location": f"data/raw/demo/{name}.csv"}
        for name in config["data"]["sources"]
    ]
    provenance = build_provenance(records, config, git, {"panel": tmp_path / "panel.csv"})
    block = provenance["config"]
    content = {key: value for key, value in block["content"].items() if key != RUN_KEY}
    assert block["resolved_sha256"] == sha256_json(content) == run.config_sha256
    assert block["file"] == run.config_file
    assert block["resolved_sha256"] != sha256_file(ROOT / run.config_file)
    markdown = provenance_markdown(provenance)
    assert f"- Resolved config SHA256: `{run.config_sha256}`" in markdown
    paper = paper_source(config, [], [], ROOT)
    assert r"its resolved config SHA256 (the file with every default filled in" in paper
    assert rf"\texttt{{{run.config_sha256}}}" in paper
    hashes = {word for line in (markdown + paper).splitlines() for word in line.split()}
    assert not [w for w in hashes if sha256_file(ROOT / run.config_file) in w]


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


@pytest.mark.workflow
def test_workflow_provenance_is_dirty_when_the_study_config_is_not_committed(
    tmp_path: Path,
) -> None:
    """In a checkout whose study config is untracked and unit table edited, the run's
    provenance says it is dirty and names both (issue 18: it said ``dirty: false``)."""
    from test_workflow import DEMO, make_project, snakemake

    workdir = make_project(tmp_path)
    git(workdir, "init", "-q")
    git(workdir, "add", "-A")
    git(workdir, "rm", "-q", "--cached", DEMO.config)
    git(workdir, "commit", "-q", "-m", "all but the study's config")
    unit_table = workdir / "config/cities.csv"
    unit_table.write_text(unit_table.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    run = snakemake(workdir, DEMO.result("provenance/provenance.json"))

    assert run.returncode == 0, run.stderr[-4000:]
    provenance = json.loads((workdir / DEMO.result("provenance/provenance.json")).read_text())
    assert provenance["git"]["dirty"] is True
    assert provenance["git"]["dirty_files"] == {
        DEMO.config: "untracked",
        "config/cities.csv": "changed since the commit",
    }
    markdown = (workdir / DEMO.result("provenance/provenance.md")).read_text(encoding="utf-8")
    assert f"- `{DEMO.config}`: untracked" in markdown
