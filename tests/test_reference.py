"""Reference outputs: the manifest, its comparison rules, and `verify` end to end."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_workflow import make_project

from innopanel.reproducibility.reference import (
    ENVIRONMENT,
    MANIFEST,
    Difference,
    Manifest,
    ReferenceCheckError,
    check_committed,
    compare,
    copy_project,
    environment,
    environment_differences,
    numeric_agreement,
)

ROOT = Path(__file__).resolve().parents[1]
DIGEST_A, DIGEST_B = "a" * 64, "b" * 64


def git(workdir: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *arguments],
        cwd=workdir,
        check=True,
        capture_output=True,
    )


def repository(workdir: Path) -> Path:
    git(workdir, "init", "-q")
    git(workdir, "add", "-A")
    git(workdir, "commit", "-q", "-m", "snapshot")
    return workdir


def test_manifest_round_trips_and_sha256sum_reads_it(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results/table.tex").write_text("x = 1\n", encoding="utf-8")
    digest = hashlib.sha256(b"x = 1\n").hexdigest()
    manifest = Manifest({"results/table.tex": digest}, ("results/provenance/*",))
    text = manifest.render()
    assert Manifest.parse(text) == manifest
    assert f"{digest}  results/table.tex" in text.splitlines()
    if shutil.which("sha256sum"):
        (tmp_path / "MANIFEST.sha256").write_text(text, encoding="utf-8")
        check = subprocess.run(
            ["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_a_malformed_manifest_line_is_named() -> None:
    with pytest.raises(ReferenceCheckError, match=r"MANIFEST.sha256, line 2: expected"):
        Manifest.parse(f"# header\n{DIGEST_A} results/one-space.csv\n")


def test_compare_names_every_kind_of_difference() -> None:
    reference = Manifest(
        {"results/a.csv": DIGEST_A, "results/gone.csv": DIGEST_A, "results/f.png": DIGEST_A}
    )
    rebuilt = Manifest(
        {"results/a.csv": DIGEST_B, "results/new.csv": DIGEST_A, "results/f.png": DIGEST_B}
    )
    found = {d.path: d for d in compare(reference, rebuilt, figures_comparable=True)}
    assert found["results/a.csv"].problem.startswith("differs")
    assert "no longer makes it" in found["results/gone.csv"].problem
    assert "not in the manifest" in found["results/new.csv"].problem
    assert all(d.fatal for d in found.values())


def test_figures_fail_only_in_the_reference_environment() -> None:
    reference, rebuilt = (
        Manifest({"results/f.pdf": DIGEST_A}),
        Manifest({"results/f.pdf": DIGEST_B}),
    )
    assert compare(reference, rebuilt, figures_comparable=True)[0].fatal
    elsewhere = compare(reference, rebuilt, figures_comparable=False, why_not="zlib 1 -> 2")
    assert elsewhere == [
        Difference(
            "results/f.pdf",
            "differs (figure; not failed: the environment is not the reference's)",
            fatal=False,
            detail="zlib 1 -> 2",
        )
    ]
    # Tables are compared everywhere.
    table = compare(Manifest({"t.tex": DIGEST_A}), Manifest({"t.tex": DIGEST_B}), False)
    assert table[0].fatal


def test_environment_records_what_bytes_depend_on() -> None:
    current = environment(ROOT)
    assert current["packages"]["matplotlib"] and current["packages"]["pandas"]
    assert {"python", "zlib", "freetype", "machine", "fingerprint"} <= set(current)
    assert environment(ROOT)["fingerprint"] == current["fingerprint"]
    changed = {**current, "packages": {**current["packages"], "matplotlib": "0.0"}}
    assert environment_differences(changed, current) == [
        f"matplotlib 0.0 -> {current['packages']['matplotlib']}"
    ]


def test_copy_project_takes_sources_and_no_outputs(tmp_path: Path) -> None:
    source = tmp_path / "project"
    (source / "results/tables").mkdir(parents=True)
    (source / "results/tables/t.tex").write_text("old\n", encoding="utf-8")
    (source / "results/README.md").write_text("about results\n", encoding="utf-8")
    (source / "Snakefile").write_text("rule all:\n", encoding="utf-8")
    (source / ".gitignore").write_text("ignored.txt\n", encoding="utf-8")
    repository(source)
    (source / "untracked.py").write_text("x = 1\n", encoding="utf-8")  # not committed yet
    (source / "ignored.txt").write_text("scratch\n", encoding="utf-8")
    (source / "Snakefile").write_text("rule all:  # edited\n", encoding="utf-8")
    target = tmp_path / "copy"
    copy_project(source, target)
    copied = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert copied == [".gitignore", "Snakefile", "results/README.md", "untracked.py"]
    assert (target / "Snakefile").read_text(encoding="utf-8") == "rule all:  # edited\n"


def test_copy_project_needs_git(tmp_path: Path) -> None:
    with pytest.raises(ReferenceCheckError, match="not a git checkout"):
        copy_project(tmp_path, tmp_path / "copy")


def test_committed_copies_must_match_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "results/tables").mkdir(parents=True)
    (tmp_path / "results/tables/t.tex").write_text("1.23\n", encoding="utf-8")
    (tmp_path / "results/tables/stale.tex").write_text("old\n", encoding="utf-8")
    repository(tmp_path)
    digest = hashlib.sha256(b"1.23\n").hexdigest()
    assert [
        d.path for d in check_committed(tmp_path, Manifest({"results/tables/t.tex": digest}))
    ] == ["results/tables/stale.tex"]
    moved = check_committed(tmp_path, Manifest({"results/tables/t.tex": DIGEST_A}))
    assert {d.path: d.problem for d in moved}["results/tables/t.tex"] == (
        "committed copy differs from the manifest"
    )


def test_numeric_agreement_tells_last_digits_from_real_moves(tmp_path: Path) -> None:
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    before.write_text("term,estimate\nx,9.20328330936\n", encoding="utf-8")
    after.write_text("term,estimate\nx,9.20328330937\n", encoding="utf-8")
    assert numeric_agreement(before, after) == "largest relative difference of its numbers: 1.1e-12"
    after.write_text("term,estimate\ny,9.5\n", encoding="utf-8")
    assert numeric_agreement(before, after) == (
        "largest relative difference of its numbers: 0.031; text cells changed too"
    )
    assert numeric_agreement(before, tmp_path / "missing.csv") == ""


def reference_cli(workdir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment_variables = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "innopanel.reproducibility.reference",
            *arguments,
            "--root",
            str(workdir),
        ],
        cwd=workdir,
        env=environment_variables,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.workflow
def test_update_then_verify_then_a_moved_number_fails(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    for part in (".gitignore", "requirements.lock"):
        shutil.copy2(ROOT / part, project / part)
    repository(project)
    assert "there is no reference yet" in reference_cli(project, "verify", "--cores", "2").stderr

    build = tmp_path / "build"
    update = reference_cli(project, "update", "--cores", "2", "--workdir", str(build))
    assert update.returncode == 0, update.stdout + update.stderr
    manifest = Manifest.parse((project / MANIFEST).read_text(encoding="utf-8"))
    assert "results/tables/regressions.tex" in manifest.digests
    assert "data/processed/panel.csv" in manifest.digests
    assert {"results/figures/coefficients.png", "results/figures/coefficients.pdf"} <= set(
        manifest.digests
    )
    assert (project / ENVIRONMENT).is_file()
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "reference")
    tracked = subprocess.run(
        ["git", "ls-files", "results"], cwd=project, capture_output=True, text=True
    ).stdout.split()
    assert "results/estimates/estimates.csv" in tracked
    assert not any(path.startswith("results/figures/") for path in tracked)

    same = reference_cli(project, "verify", "--workdir", str(build), "--reuse")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "every output is identical" in same.stdout

    # A change that moves a number: the table's rounding. Verify rebuilds from scratch.
    config_path = project / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["exhibits"]["regression_table"]["digits"] = 2
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    moved = reference_cli(project, "verify", "--cores", "2")
    assert moved.returncode == 1, moved.stdout + moved.stderr
    failures = [line for line in moved.stdout.splitlines() if line.startswith("FAIL ")]
    failed = [line.split()[1].rstrip(":") for line in failures]
    assert "FAIL results/tables/regressions.tex: differs: manifest" in moved.stdout
    # Only what the rounding reaches moves: the regression tables (which share their
    # digits with the robustness table) in every format, the paper that inputs them,
    # and the provenance that hashes the config; no estimate or panel moves.
    reached = (
        "results/tables/regressions.",
        "results/tables/robustness.",
        "results/paper/",
        "results/provenance/",
    )
    assert failed and all(path.startswith(reached) for path in failed), moved.stdout
    assert "+++ rebuilt regressions.tex" in moved.stdout  # the diff shows what moved
    assert "run `make reference`" in moved.stdout

    # A committed copy edited by hand is named too.
    estimates = project / "results/estimates/estimates.csv"
    estimates.write_text(estimates.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    edited = reference_cli(project, "verify", "--workdir", str(build), "--reuse")
    assert edited.returncode == 1
    assert (
        "FAIL results/estimates/estimates.csv: committed copy differs from the manifest"
        in edited.stdout
    )
