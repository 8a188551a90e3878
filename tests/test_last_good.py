"""A failed run leaves the study's last good outputs: the keep/roll-back logic, then
end to end (a clean step that fails after a good build) in a git-initialised copy."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from innopanel.reproducibility.last_good import discard, keep, keep_folder, roll_back


def write(path: Path, text: str, mtime: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def step_rewrites(path: Path, text: str) -> None:
    """What a workflow step does: write a new file and rename it into place."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def test_roll_back_returns_every_output_to_its_state_at_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    panel = write(Path("data/processed/s/panel.csv"), "old panel\n", 1_000_000)
    report = write(Path("results/s/data_quality/report.md"), "old report\n", 1_000_100)
    paper = write(Path("results/s/paper/paper.tex"), "old paper\n", 1_000_200)
    untouched = write(Path("results/s/tables/t.tex"), "table\n", 1_000_300)
    created = Path("results/s/figures/new.png")

    kept = keep([panel, report, paper, untouched, created], keep_folder("s"))
    assert kept.existing == {panel, report, paper, untouched}
    # The run: Snakemake deletes the failing step's outputs, a step that succeeded
    # rewrites the paper, another creates a figure that did not exist.
    panel.unlink()
    report.unlink()
    step_rewrites(paper, "paper of the failed run\n")
    write(created, "new figure\n", 2_000_000)

    rolled = roll_back(kept)

    assert panel.read_text(encoding="utf-8") == "old panel\n"
    assert report.read_text(encoding="utf-8") == "old report\n"
    assert paper.read_text(encoding="utf-8") == "old paper\n"
    assert untouched.read_text(encoding="utf-8") == "table\n"
    # Old times too, so Snakemake sees the outputs exactly as before the run.
    assert [p.stat().st_mtime for p in (panel, report, paper, untouched)] == [
        1_000_000,
        1_000_100,
        1_000_200,
        1_000_300,
    ]
    assert not created.exists()
    assert set(rolled.restored) == {panel, report, paper, untouched}
    assert rolled.removed == (created,)
    # Nothing of the roll-back is left behind: no kept folder, no temporary names.
    assert not kept.folder.exists()
    leftovers = [p for p in Path(".").rglob("*") if p.is_file() and p.name.startswith(".")]
    assert leftovers == []


def test_a_kept_output_keeps_its_bytes_while_the_run_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept outputs are hard links: a rewrite (new file, rename) leaves the kept one."""
    monkeypatch.chdir(tmp_path)
    report = write(Path("results/s/report.json"), "{}\n", 1_000_000)
    kept = keep([report], keep_folder("s"))
    step_rewrites(report, '{"new": true}\n')
    assert (kept.folder / report).read_text(encoding="utf-8") == "{}\n"
    discard(kept)
    assert report.read_text(encoding="utf-8") == '{"new": true}\n'
    assert not kept.folder.exists()


def test_keep_replaces_what_an_interrupted_run_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stale = write(keep_folder("s") / "results/s/old.csv", "stale\n", 1)
    report = write(Path("results/s/report.json"), "{}\n", 1_000_000)
    kept = keep([report], keep_folder("s"))
    assert not stale.exists()
    assert roll_back(kept).restored == (report,)


# End to end: build, then a clean step that fails, in a git-initialised copy.

BROKEN = "out_of_window: error"


def git(workdir: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(workdir), *arguments],
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
            "HOME": str(workdir),
            "PATH": "/usr/bin:/bin",
        },
    ).stdout


def output_files(workdir: Path, study_paths) -> dict[str, tuple[str, int]]:
    """Every file under the study's results and processed folders: digest and mtime."""
    return {
        str(p.relative_to(workdir)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for folder in (study_paths.results, study_paths.processed)
        for p in sorted((workdir / folder).rglob("*"))
        if p.is_file()
    }


def break_cleaning(workdir: Path, config_file: str) -> None:
    """Years outside the study window become an error: clean_panel fails."""
    path = workdir / config_file
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["data"].setdefault("cleaning", {})["out_of_window"] = "error"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


@pytest.mark.workflow
def test_a_failed_clean_step_leaves_the_last_good_state(tmp_path: Path) -> None:
    from test_workflow import DEMO, make_project, snakemake

    workdir = make_project(tmp_path)
    git(workdir, "init", "-q")
    git(workdir, "add", "-A")
    git(workdir, "commit", "-q", "-m", "the project")
    built = snakemake(workdir)
    assert built.returncode == 0, built.stderr[-4000:]
    git(workdir, "add", "-A")
    git(workdir, "commit", "-q", "-m", "the committed outputs")
    # Provenance names the new commit (it is ignored by git, as in the repository).
    assert snakemake(workdir).returncode == 0
    assert git(workdir, "status", "--porcelain") == ""
    before = output_files(workdir, DEMO)
    assert DEMO.panel in before and DEMO.paper_tex in before
    assert DEMO.result("data_quality/report.md") in before

    break_cleaning(workdir, DEMO.config)
    failed = snakemake(workdir)

    assert failed.returncode != 0
    said = failed.stdout + failed.stderr
    assert "year 2011 is outside the study window 2015-2020" in said
    assert "study 'demo_cities' keeps its last good outputs" in said
    # The panel, the data-quality report and the paper (built or not by steps that
    # succeeded) are as they were, bytes and times; nothing half-written remains.
    assert output_files(workdir, DEMO) == before
    assert git(workdir, "status", "--porcelain") == f" M {DEMO.config}\n"
    assert not list((workdir / ".snakemake").glob("innopanel-last-good/*"))

    # Snakemake sees the state before the failed run: the broken config still needs
    # the clean step (the restored panel is not taken as built from it) ...
    planned = snakemake(workdir, "--dry-run", "--quiet", "rules")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert "clean_panel" in planned.stdout + planned.stderr
    # ... and with the config put back there is nothing to do.
    git(workdir, "checkout", "-q", "--", DEMO.config)
    again = snakemake(workdir, "--dry-run")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.workflow
def test_a_first_run_that_fails_leaves_no_output(tmp_path: Path) -> None:
    """No paper.tex (nor any other output) of a study whose panel could not be built."""
    from test_workflow import DEMO, make_project, snakemake

    workdir = make_project(tmp_path)
    break_cleaning(workdir, DEMO.config)
    failed = snakemake(workdir)
    assert failed.returncode != 0
    assert output_files(workdir, DEMO) == {}
