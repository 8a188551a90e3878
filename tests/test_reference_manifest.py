"""The reference manifest and `make verify`: every output compared by its class, what may
be committed, and, end to end, a run in a fresh clone that leaves the checkout clean."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_bad_input import digest_tree
from test_workflow import make_project, snakemake

from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.reproducibility.environment import environment, environment_differences
from innopanel.reproducibility.policy import Policy
from innopanel.reproducibility.reference import (
    Difference,
    Manifest,
    ReferenceCheckError,
    check_committed,
    check_reference_files,
    check_unowned,
    classify,
    compare_outputs,
    copy_project,
    report,
)

ROOT = Path(__file__).resolve().parents[1]
DIGEST_A, DIGEST_B = "a" * 64, "b" * 64
#: A made-up study for the unit tests; the end-to-end test builds the default study.
TOY = StudyPaths("toy")
POLICY = Policy.for_study(TOY.study)
DEMO = StudyPaths(DEFAULT_STUDY)


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
    (tmp_path / "results/toy").mkdir(parents=True)
    (tmp_path / "results/toy/table.tex").write_text("x = 1\n", encoding="utf-8")
    digest = hashlib.sha256(b"x = 1\n").hexdigest()
    manifest = Manifest({"results/toy/table.tex": digest}, POLICY)
    text = manifest.render()
    assert Manifest.parse(text, TOY.manifest) == manifest
    assert f"{digest}  results/toy/table.tex" in text.splitlines()
    assert "# tolerance: numeric relative 1e-08 absolute 1e-15" in text.splitlines()
    assert any(line.startswith("# measured: estimates") for line in text.splitlines())
    if shutil.which("sha256sum"):
        (tmp_path / "MANIFEST.sha256").write_text(text, encoding="utf-8")
        check = subprocess.run(
            ["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_a_malformed_manifest_line_is_named() -> None:
    with pytest.raises(ReferenceCheckError, match=r"MANIFEST.sha256, line 2: expected"):
        Manifest.parse(f"# header\n{DIGEST_A} results/toy/one-space.csv\n", TOY.manifest)
    with pytest.raises(ReferenceCheckError, match="records no comparison policy"):
        Manifest.parse(f"{DIGEST_A}  results/toy/tables/t.tex\n", TOY.manifest)


def write(root: Path, files: dict[str, str]) -> dict[str, str]:
    """Write text files under ``root``; return their SHA256 by path."""
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return {path: hashlib.sha256(text.encode()).hexdigest() for path, text in files.items()}


def test_compare_outputs_names_every_kind_of_difference(tmp_path: Path) -> None:
    root, build = tmp_path / "root", tmp_path / "build"
    estimates = "term,estimate\nrd,0.414306408319\n"
    digests = write(
        root,
        {
            "reference/toy/estimates/estimates.csv": estimates,
            "results/toy/tables/t.tex": "0.41\n",
            "results/toy/tables/gone.tex": "x\n",
        },
    )
    digests["results/toy/estimates/estimates.csv"] = digests[
        "reference/toy/estimates/estimates.csv"
    ]
    reference = Manifest(digests, POLICY)
    write(
        build,
        {
            "results/toy/estimates/estimates.csv": "term,estimate\nrd,0.414306408320\n",
            "results/toy/tables/t.tex": "0.42\n",
            "results/toy/tables/new.tex": "y\n",
            "results/toy/provenance/retrieval_log.json": "{}\n",
            "results/toy/odd.bin": "?",
        },
    )
    rebuilt = [p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file()]
    differences, checked = compare_outputs(reference, root, build, rebuilt)
    found = {d.path: d.problem for d in differences}
    assert found == {
        "results/toy/odd.bin": found["results/toy/odd.bin"],
        "results/toy/tables/gone.tex": "in the manifest, but the workflow no longer makes it",
        "results/toy/tables/new.tex": "made by the workflow, but not in the manifest",
        "results/toy/tables/t.tex": found["results/toy/tables/t.tex"],
    }
    assert found["results/toy/odd.bin"].startswith("no comparison class matches this output")
    assert found["results/toy/tables/t.tex"].startswith("differs (exact class): manifest ")
    # Last-digit noise in a numeric output passes, and verify says how close it came.
    assert [(c.path, c.agreement.holds) for c in checked] == [
        ("results/toy/estimates/estimates.csv", True)
    ]
    moved = repr(0.414306408319 * (1 + 1e-6))
    write(build, {"results/toy/estimates/estimates.csv": f"term,estimate\nrd,{moved}\n"})
    differences, _ = compare_outputs(reference, root, build, rebuilt)
    assert (
        Difference(
            "results/toy/estimates/estimates.csv",
            f"differs (numeric class): line 2, column estimate: 0.414306408319 -> {moved} "
            "differs by 1e-06 (relative), beyond relative 1e-08 absolute 1e-15",
        )
        in differences
    )


def test_report_shows_the_diff_of_a_committed_table_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, build = tmp_path / "root", tmp_path / "build"
    reference = Manifest(write(root, {"results/toy/tables/t.tex": "0.41\n"}), POLICY)
    repository(root)
    write(build, {"results/toy/tables/t.tex": "0.42\n"})
    differences, checked = compare_outputs(reference, root, build, ["results/toy/tables/t.tex"])
    assert report("toy", differences, checked, ["numpy 2.4.6 -> 2.5.0"], root, build) == 1
    printed = capsys.readouterr().out
    assert "FAIL results/toy/tables/t.tex: differs (exact class)" in printed
    assert "+++ rebuilt t.tex" in printed and "     +0.42" in printed
    assert "note the environment differs from the reference's: numpy 2.4.6 -> 2.5.0" in printed
    assert report("toy", [], checked, [], root, build) == 0
    assert "verify toy: every output agrees" in capsys.readouterr().out


def test_provenance_that_differs_in_its_commit_alone_passes_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 23: a build in a git checkout failed `verify --reuse` because its provenance
    records its commit and the reference, built in a copy, records none."""
    root, build = tmp_path / "root", tmp_path / "build"
    path = TOY.result("provenance/provenance.json")
    outside = {"commit": None, "dirty": None, "note": "not a git checkout"}
    inside = {"commit": "c" * 40, "dirty": False, "dirty_files": {}, "note": None}

    def provenance(git: dict[str, object], numpy: str = "2.4.6") -> str:
        return json.dumps({"git": git, "software": {"packages": {"numpy": numpy}}}) + "\n"

    digests = write(root, {f"reference/{path.removeprefix('results/')}": provenance(outside)})
    reference = Manifest({**digests, path: next(iter(digests.values()))}, POLICY)
    write(build, {path: provenance(inside)})
    differences, checked = compare_outputs(reference, root, build, [path])
    assert differences == []
    assert report("toy", differences, checked, [], root, build) == 0
    assert (
        f"ok   {path}: within tolerance, the same but for the commit (reference: not a git "
        f"checkout; rebuilt: commit {'c' * 40})"
    ) in capsys.readouterr().out
    write(build, {path: provenance(inside, numpy="2.5.0")})
    differences, _ = compare_outputs(reference, root, build, [path])
    assert differences == [
        Difference(
            path,
            'differs (provenance class): software.packages.numpy: "2.4.6" -> "2.5.0" '
            f"(reference: not a git checkout; rebuilt: commit {'c' * 40})",
        )
    ]


def test_an_output_in_no_class_stops_make_reference() -> None:
    with pytest.raises(ReferenceCheckError, match=r"results/toy/a.bin: no comparison class"):
        classify(["results/toy/tables/t.tex", "results/toy/a.bin"], POLICY)


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
    (source / "results/toy/tables").mkdir(parents=True)
    (source / "results/toy/tables/t.tex").write_text("old\n", encoding="utf-8")
    (source / "results/README.md").write_text("about results\n", encoding="utf-8")
    (source / "reference").mkdir()
    (source / "reference/estimates.csv").write_text("term,estimate\n", encoding="utf-8")
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


def test_only_exact_outputs_are_committed_and_the_rest_is_ignored(tmp_path: Path) -> None:
    digests = write(
        tmp_path,
        {
            "results/toy/tables/t.tex": "1.23\n",
            "results/toy/tables/stale.tex": "old\n",
            "results/toy/estimates/estimates.csv": "term,estimate\nrd,0.4\n",
            ".gitignore": "/results/*/figures/\n",
        },
    )
    repository(tmp_path)
    manifest = Manifest(
        {
            "results/toy/tables/t.tex": digests["results/toy/tables/t.tex"],
            "results/toy/estimates/estimates.csv": DIGEST_A,
            "results/toy/figures/f.png": DIGEST_A,
            "results/toy/paper/paper.pdf": DIGEST_A,
        },
        POLICY,
    )
    found = {d.path: d.problem for d in check_committed(tmp_path, TOY, manifest)}
    assert found["results/toy/tables/stale.tex"] == (
        "committed under results/, but not an output in the manifest"
    )
    assert found["results/toy/estimates/estimates.csv"].startswith(
        "committed, but a numeric output may differ in its last bits on another machine"
    )
    # The figure's folder is ignored; the paper's PDF is not, so a run would leave it.
    assert found["results/toy/paper/paper.pdf"].startswith("a figure output not ignored")
    assert set(found) == {
        "results/toy/tables/stale.tex",
        "results/toy/estimates/estimates.csv",
        "results/toy/paper/paper.pdf",
    }
    (tmp_path / "results/toy/tables/t.tex").write_text("1.24\n", encoding="utf-8")
    moved = check_committed(tmp_path, TOY, manifest)
    assert {d.path: d.problem for d in moved}["results/toy/tables/t.tex"] == (
        "committed copy differs from the manifest"
    )


def test_a_reference_edited_by_hand_is_named(tmp_path: Path) -> None:
    digests = write(tmp_path, {"reference/toy/estimates/e.csv": "term,estimate\nrd,0.4\n"})
    repository(tmp_path)
    assert check_reference_files(tmp_path, TOY, Manifest(digests, POLICY)) == []
    (tmp_path / "reference/toy/estimates/e.csv").write_text("term,estimate\nrd,0.5\n")
    assert check_reference_files(tmp_path, TOY, Manifest(digests, POLICY)) == [
        Difference(
            "reference/toy/estimates/e.csv",
            "differs from the manifest: a reference edited by hand?",
        )
    ]


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


def git_output(workdir: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=workdir, capture_output=True, text=True, check=True
    ).stdout


def edit_csv_cell(path: Path, line: int, column: str, edit) -> tuple[str, str]:
    """Apply ``edit`` to one cell of a CSV file; return the cell before and after."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    before = frame.loc[line - 2, column]
    frame.loc[line - 2, column] = edit(before)
    frame.to_csv(path, index=False)
    return before, frame.loc[line - 2, column]


def test_files_committed_outside_every_bundled_study_are_named(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "results/README.md": "about results\n",
            "results/toy/tables/t.tex": "1\n",
            "reference/toy/estimates/e.csv": "term\n",
            "results/tables/t.tex": "left from the layout before studies\n",
            "reference/other/estimates/e.csv": "term\n",
        },
    )
    repository(tmp_path)
    assert [d.path for d in check_unowned(tmp_path, ["toy"])] == [
        "results/tables/t.tex",
        "reference/other/estimates/e.csv",
    ]


ONLY_DEMO = ("--study", "demo_cities")


@pytest.mark.workflow
def test_reference_verify_and_a_fresh_clone_that_stays_clean_when_another_study_is_built(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "project")
    # The copy holds only the demo's data, so only the demo is rebuilt and checked.
    for part in (".gitignore", "requirements.lock"):
        shutil.copy2(ROOT / part, project / part)
    repository(project)
    no_reference = reference_cli(project, "verify", "--cores", "2", *ONLY_DEMO)
    assert "study demo_cities has no reference yet" in no_reference.stderr

    build = tmp_path / "build"
    update = reference_cli(project, "update", "--cores", "2", "--workdir", str(build), *ONLY_DEMO)
    assert update.returncode == 0, update.stdout + update.stderr
    manifest = Manifest.parse((project / DEMO.manifest).read_text(encoding="utf-8"), "manifest")
    assert {
        DEMO.table("regressions", "tex"),
        DEMO.panel,
        DEMO.figure("coefficients", "pdf"),
        "reference/demo_cities/estimates/estimates.csv",
        "reference/demo_cities/figures/coefficients.pdf.raster.png",
    } <= set(manifest.digests)
    assert (project / DEMO.environment).is_file()
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "reference")
    committed = git_output(project, "ls-files", "results", "reference").split()
    assert DEMO.table("regressions", "tex") in committed
    assert "reference/demo_cities/estimates/estimates.csv" in committed
    assert not any(
        p.startswith((DEMO.result("estimates/"), DEMO.result("figures/"))) for p in committed
    )

    same = reference_cli(project, "verify", "--workdir", str(build), "--reuse", *ONLY_DEMO)
    assert same.returncode == 0, same.stdout + same.stderr
    assert f"ok   {DEMO.result('estimates/estimates.csv')}: within tolerance" in same.stdout

    # A coefficient moved by 1e-6 relative fails, naming the file and the cell.
    estimates = build / DEMO.result("estimates/estimates.csv")
    original = estimates.read_bytes()
    before, after = edit_csv_cell(
        estimates, 2, "estimate", lambda cell: repr(float(cell) * (1 + 1e-6))
    )
    moved = reference_cli(project, "verify", "--workdir", str(build), "--reuse", *ONLY_DEMO)
    assert moved.returncode == 1, moved.stdout + moved.stderr
    assert (
        f"FAIL {DEMO.result('estimates/estimates.csv')}: differs (numeric class): line 2, "
        f"column estimate: {float(before)!r} -> {float(after)!r} differs by 1e-06 (relative)"
    ) in moved.stdout
    # So does a changed label.
    estimates.write_bytes(original)
    edit_csv_cell(estimates, 2, "model_label", lambda cell: cell + " (renamed)")
    relabelled = reference_cli(project, "verify", "--workdir", str(build), "--reuse", *ONLY_DEMO)
    assert "line 2, column model_label: " in relabelled.stdout, relabelled.stdout
    assert "(compared exactly)" in relabelled.stdout

    # A fresh clone: run, and the checkout is clean; run again, and nothing is done.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    run = snakemake(clone)
    assert run.returncode == 0, run.stderr[-4000:]
    assert git_output(clone, "status", "--porcelain") == ""
    again = snakemake(clone, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]

    # Another study, failed and then built, changes no byte of the bundled study's files
    # (ignored outputs included) and leaves its folders clean in git.
    bundled = [DEMO.results, DEMO.reference, DEMO.processed, DEMO.staged]
    demo_before = {folder: digest_tree(clone / folder) for folder in bundled}
    own = StudyPaths("own_data")
    config = clone / own.config
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace('sha256: "5f37', 'sha256: "0f37', 1), encoding="utf-8")
    failed = snakemake(clone, "--config", "study=own_data")
    assert failed.returncode != 0
    assert {folder: digest_tree(clone / folder) for folder in bundled} == demo_before
    config.write_text(good, encoding="utf-8")
    built = snakemake(clone, "--config", "study=own_data")
    assert built.returncode == 0, built.stderr[-4000:]
    assert (clone / own.result("estimates/estimates.csv")).is_file()
    assert {folder: digest_tree(clone / folder) for folder in bundled} == demo_before
    assert git_output(clone, "status", "--porcelain", "--", *bundled) == ""
    # The run's scripts saw the own-data study's config, not a merge with the demo's.
    provenance = json.loads((clone / own.result("provenance/provenance.json")).read_text("utf-8"))
    content = provenance["config"]["content"]
    assert content["_run"]["study"] == "own_data"
    # Snakemake did not re-apply `--config study=own_data` over the loaded config.
    assert content["study"]["title"].startswith("Innovation output")
    assert content["data"]["sources"].keys() == {"city_panel"}
