"""Reference outputs: a manifest of every output of each bundled study, rebuilt and
checked by policy.

``python -m innopanel.reproducibility.reference update`` (``make reference``) copies the
project into a temporary folder, builds each bundled study there from scratch (or the
studies named with ``--study``), sorts every output into a comparison class
(``policy.py``; an output in no class is an error), and writes for each study:

- ``results/<study>/MANIFEST.sha256``: the policy and its tolerances as comment lines,
  then the SHA256 of every output and every reference file (``sha256sum -c`` format);
- ``results/<study>/MANIFEST.environment.json``: the environment it was made in;
- the exact-class outputs under results/<study>/ (committed; they rebuild byte for byte);
- under reference/<study>/, copies of the numeric and provenance outputs and renderings
  of the figures.

The workflow never writes under reference/, and every output it writes under
results/<study>/ is either exact (rewritten with the same bytes) or ignored by git, so
running it never dirties the checkout; a study writes only under its own folders.

``python -m innopanel.reproducibility.reference verify`` (``make verify``) rebuilds the
same way and fails, naming study, file and cell, pixels or field, if an exact output's
bytes differ, a numeric output leaves the tolerance, a figure's rendering moves,
provenance records anything but its commit otherwise than the reference, an output is
missing, new or unclassified, a reference file was edited, a committed copy under
results/ differs or is of a class that must not be committed, or a file is committed
under results/ or reference/ outside every bundled study's folder. ``compare A B``
prints how far the numeric outputs, figures and provenance of two builds are apart (how
the tolerances were measured).

This is one idea, a study's reference, and stays one module of about 650 lines: the
manifest's format, the code that writes it and the checks that read it change together.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from innopanel.config.paths import (
    REFERENCE,
    RESULTS,
    StudyNameError,
    StudyPaths,
    bundled_studies,
    study_paths,
)
from innopanel.io import sha256_file, write_json, write_text
from innopanel.reproducibility.comparison import (
    Agreement,
    compare_provenance,
    compare_renderings,
    compare_tables,
    load_rendering,
    render,
    save_rendering,
)
from innopanel.reproducibility.environment import environment, environment_differences
from innopanel.reproducibility.policy import (
    MEASURED,
    RESULTS_README,
    Policy,
    PolicyError,
    reference_copy,
)

TEXT_SUFFIXES = (".csv", ".tex", ".md", ".json", ".txt", ".tsv", ".yaml", ".html")
DIFF_LINES = 30


class ReferenceCheckError(RuntimeError):
    """The reference outputs cannot be rebuilt or read; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """SHA256 digests by path (outputs and reference/ files) and the comparison policy."""

    digests: Mapping[str, str]
    policy: Policy

    def render(self) -> str:
        """The manifest file: comment lines, then ``<sha256>  <path>`` sorted by path."""
        lines = [
            "# SHA256 of every output of one study and of every file of its reference:",
            "# `make reference` writes it, `make verify` rebuilds the study from scratch and",
            "# compares each output by the policy below (first matching pattern decides).",
            *self.policy.render(),
            *[f"# measured: {line}" for line in MEASURED],
            *[f"{self.digests[path]}  {path}" for path in sorted(self.digests)],
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str, source: str) -> Manifest:
        digests: dict[str, str] = {}
        comments: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith("#"):
                comments.append(line)
            elif line.strip():
                match = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
                if match is None:
                    raise ReferenceCheckError(
                        f"{source}, line {number}: expected '<sha256>  <path>', got {line!r}. "
                        "Regenerate it with `make reference`."
                    )
                digests[match.group(2)] = match.group(1)
        try:
            policy = Policy.parse(comments, source)
        except PolicyError as error:
            raise ReferenceCheckError(str(error)) from error
        return cls(digests, policy)

    def outputs(self) -> dict[str, str]:
        """The digests of workflow outputs (not of the files under reference/)."""
        return {p: d for p, d in self.digests.items() if not p.startswith(REFERENCE + "/")}


@dataclass(frozen=True)
class Difference:
    """One way the rebuilt outputs disagree with the reference."""

    path: str
    problem: str


@dataclass(frozen=True)
class Checked:
    """A numeric output, figure or provenance record within tolerance, and how close it
    came."""

    path: str
    kind: str
    agreement: Agreement


def copy_project(root: Path, destination: Path, skip: Iterable[str] = ()) -> list[str]:
    """Copy the files git tracks (and untracked, unignored ones) without any output.

    Uncommitted edits are included, so a change can be verified before it is committed.
    Nothing under results/ (except its README) or reference/ is copied, nor any path in
    ``skip``: the rebuild must make every output itself.
    """
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if listing.returncode != 0:
        raise ReferenceCheckError(
            f"{root} is not a git checkout ({listing.stderr.decode().strip()}); the reference "
            "check copies the files git tracks, so run it in a clone of the repository."
        )
    skipped = set(skip)
    copied = []
    for path in sorted(set(listing.stdout.decode().split("\0")) - {""}):
        source = root / path
        an_output = path.startswith((RESULTS + "/", REFERENCE + "/")) and path != RESULTS_README
        if path in skipped or an_output or not source.is_file():
            continue
        target = destination / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(path)
    return copied


def snakemake_command(workdir: Path, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--directory", str(workdir), *arguments]


def run_snakemake(
    workdir: Path, *arguments: str, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run snakemake in ``workdir`` with the copy's own package on the import path."""
    environment_variables = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(workdir / "workflow"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    run = subprocess.run(
        snakemake_command(workdir, *arguments),
        cwd=workdir,
        env=environment_variables,
        capture_output=True,
        text=True,
        check=False,
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(run.stdout + run.stderr, encoding="utf-8")
    return run


def workflow_outputs(workdir: Path, study: str) -> dict[str, str]:
    """Every output file of a study's workflow in ``workdir`` and the rule that makes it."""
    run = run_snakemake(workdir, "--summary", "--quiet", "all", "--config", f"study={study}")
    if run.returncode != 0:
        raise ReferenceCheckError(f"snakemake --summary failed in {workdir}:\n{run.stderr[-3000:]}")
    outputs: dict[str, str] = {}
    lines = run.stdout.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("output_file\t")), None)
    if header is None:
        raise ReferenceCheckError(f"snakemake --summary printed no table in {workdir}.")
    for line in lines[header + 1 :]:
        fields = line.split("\t")
        if len(fields) >= 3:
            outputs[fields[0]] = fields[2]
    return outputs


def build(workdir: Path, study: str, cores: str = "all") -> None:
    """Build every output of ``study`` from scratch in the project copy ``workdir``."""
    log = workdir / f"reference-build-{study}.log"
    run = run_snakemake(workdir, "--cores", cores, "--config", f"study={study}", log=log)
    if run.returncode != 0:
        raise ReferenceCheckError(
            f"study {study}: the workflow failed in the rebuild copy {workdir} (full log: "
            f"{log}):\n" + (run.stdout + run.stderr)[-4000:]
        )


def classify(outputs: Iterable[str], policy: Policy) -> dict[str, str]:
    """The comparison class of every output; every unclassified one is named at once."""
    kinds, unclassified = {}, []
    for path in sorted(outputs):
        try:
            kinds[path] = policy.kind(path)
        except PolicyError as error:
            unclassified.append(str(error))
    if unclassified:
        raise ReferenceCheckError("\n".join(unclassified))
    return kinds


def agreement_of(
    kind: str, reference: Path, rebuilt: Path, policy: Policy, stored: bool
) -> Agreement:
    """Compare a numeric output, a figure or a provenance record with its reference.

    ``stored``: the reference of a figure is a stored rendering (under reference/), not
    the figure itself.
    """
    if kind == "numeric":
        return compare_tables(reference, rebuilt, policy.numeric)
    if kind == "provenance":
        return compare_provenance(reference, rebuilt)
    expected = load_rendering(reference) if stored else render(reference, policy.figure)
    return compare_renderings(expected, render(rebuilt, policy.figure), policy.figure)


def git_lines(root: Path, *arguments: str, stdin: str = "") -> list[str]:
    """The NUL-separated paths a git command prints (``-z``), sorted."""
    listing = subprocess.run(
        ["git", *arguments], cwd=root, input=stdin.encode(), capture_output=True, check=False
    )
    return sorted(set(listing.stdout.decode().split("\0")) - {""})


def tracked(root: Path, folder: str) -> list[str]:
    """Files under ``folder`` that git tracks."""
    return git_lines(root, "ls-files", "-z", "--", folder)


def kept(paths: StudyPaths) -> set[str]:
    """Files under a study's results/ folder that are not outputs: its manifest."""
    return {paths.manifest, paths.environment}


def write_reference(
    root: Path, workdir: Path, paths: StudyPaths, kinds: Mapping[str, str], policy: Policy
) -> None:
    """Put a study's exact outputs under results/<study>/ and numeric and provenance
    copies and renderings under reference/<study>/; remove what is no longer an output or a
    reference there."""
    keep = kept(paths)
    for path, kind in kinds.items():
        copy = reference_copy(path, kind)
        if kind == "exact" and path.startswith(RESULTS + "/"):
            keep.add(path)
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workdir / path, target)
        elif kind in ("numeric", "provenance") and copy is not None:
            keep.add(copy)
            (root / copy).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workdir / path, root / copy)
        elif kind == "figure" and copy is not None:
            keep.add(copy)
            save_rendering(render(workdir / path, policy.figure), root / copy)
    for stale in [*tracked(root, paths.results), *tracked(root, paths.reference)]:
        if stale not in keep and not (root / stale).is_dir():
            (root / stale).unlink(missing_ok=True)
            print(f"removed {stale}: no longer a committed output or reference")


def update(root: Path, workdir: Path, study: str, cores: str = "all") -> Manifest:
    """Build ``study`` in the project copy ``workdir``; write its manifest, results/<study>/
    and reference/<study>/ into ``root``."""
    paths = StudyPaths(study)
    build(workdir, study, cores)
    policy = Policy.for_study(study)
    kinds = classify(workflow_outputs(workdir, study), policy)
    write_reference(root, workdir, paths, kinds, policy)
    digests = {p: sha256_file(workdir / p) for p, kind in kinds.items() if kind != "skip"}
    for path, kind in kinds.items():
        copy = reference_copy(path, kind)
        if copy is not None:
            digests[copy] = sha256_file(root / copy)
    manifest = Manifest(digests, policy)
    write_text(root / paths.manifest, manifest.render())
    write_json(root / paths.environment, environment(root))
    return manifest


def compare_outputs(
    reference: Manifest, root: Path, workdir: Path, rebuilt: Iterable[str]
) -> tuple[list[Difference], list[Checked]]:
    """Compare every rebuilt output with the reference by its class."""
    policy, expected = reference.policy, reference.outputs()
    differences, checked = [], []
    for path in sorted(set(expected) | set(rebuilt)):
        try:
            kind = policy.kind(path)
        except PolicyError as error:
            differences.append(Difference(path, str(error).removeprefix(f"{path}: ")))
            continue
        if kind == "skip":
            continue
        if path not in rebuilt:
            differences.append(
                Difference(path, "in the manifest, but the workflow no longer makes it")
            )
        elif path not in expected:
            differences.append(Difference(path, "made by the workflow, but not in the manifest"))
        elif kind == "exact":
            actual = sha256_file(workdir / path)
            if actual != expected[path]:
                differences.append(
                    Difference(
                        path,
                        f"differs (exact class): manifest {expected[path][:12]}…, "
                        f"rebuilt {actual[:12]}…",
                    )
                )
        else:
            copy = reference_copy(path, kind)
            assert copy is not None
            if not (root / copy).is_file():
                differences.append(
                    Difference(path, f"its reference {copy} is missing; run `make reference`")
                )
                continue
            agreement = agreement_of(kind, root / copy, workdir / path, policy, stored=True)
            if agreement.holds:
                checked.append(Checked(path, kind, agreement))
            else:
                differences.append(Difference(path, f"differs ({kind} class): {agreement.problem}"))
    return differences, checked


def check_reference_files(root: Path, paths: StudyPaths, reference: Manifest) -> list[Difference]:
    """Every file under reference/<study>/ must be listed in the manifest with its digest."""
    listed = {p: d for p, d in reference.digests.items() if p.startswith(REFERENCE + "/")}
    differences = []
    for path in sorted(set(listed) | set(tracked(root, paths.reference))):
        if path not in listed:
            differences.append(
                Difference(path, f"under {paths.reference}/, but not in {paths.manifest}")
            )
        elif not (root / path).is_file():
            differences.append(Difference(path, "in the manifest, but missing from reference/"))
        elif sha256_file(root / path) != listed[path]:
            differences.append(
                Difference(path, "differs from the manifest: a reference edited by hand?")
            )
    return differences


def check_committed(root: Path, paths: StudyPaths, reference: Manifest) -> list[Difference]:
    """Only exact outputs may be committed under results/<study>/, and they must equal
    the manifest; every other output there must be ignored by git, or a run on another
    machine leaves the checkout dirty."""
    expected, policy = reference.outputs(), reference.policy
    differences = []
    for path in tracked(root, paths.results):
        if path in kept(paths):
            continue
        kind = policy.kind(path) if path in expected else None
        if kind is None:
            differences.append(
                Difference(path, "committed under results/, but not an output in the manifest")
            )
        elif kind != "exact":
            why = (
                "records the commit it is built from"
                if kind == "provenance"
                else "may differ in its last bits on another machine"
            )
            differences.append(
                Difference(
                    path,
                    f"committed, but a {kind} output {why}, so a run would dirty the "
                    f"checkout; `git rm --cached {path}` (its reference is under reference/)",
                )
            )
        elif not (root / path).is_file():
            differences.append(Difference(path, "committed, but missing from the working tree"))
        elif sha256_file(root / path) != expected[path]:
            differences.append(Difference(path, "committed copy differs from the manifest"))
    inside = [p for p in expected if p.startswith(paths.results + "/")]
    loose = set(inside) - set(tracked(root, paths.results))
    ignored = set(
        git_lines(root, "check-ignore", "-z", "--stdin", "--no-index", stdin="\0".join(loose))
    )
    for path in sorted(loose - ignored):
        if policy.kind(path) != "exact":
            differences.append(
                Difference(
                    path,
                    f"a {policy.kind(path)} output not ignored by .gitignore; a run would "
                    "leave it as an untracked file. Add its folder or name to .gitignore.",
                )
            )
    return differences


def check_unowned(root: Path, studies: Sequence[str]) -> list[Difference]:
    """Files committed under results/ or reference/ outside every bundled study's folder
    (a study's leftovers, or the layout before studies) are named: nothing checks them."""
    owned = tuple(
        f"{folder}/"
        for paths in map(StudyPaths, studies)
        for folder in (paths.results, paths.reference)
    )
    return [
        Difference(
            path,
            "committed outside every bundled study's folder (config/studies/bundled.txt); "
            "`git rm` it, or list its study as bundled",
        )
        for path in [*tracked(root, RESULTS), *tracked(root, REFERENCE)]
        if path != RESULTS_README and not path.startswith(owned)
    ]


def read_reference(root: Path, paths: StudyPaths) -> tuple[Manifest, dict[str, object]]:
    manifest_path = root / paths.manifest
    if not manifest_path.is_file():
        raise ReferenceCheckError(
            f"{manifest_path} not found: study {paths.study} has no reference yet. Run "
            f"`make reference STUDY={paths.study}` and commit {paths.results}/ and "
            f"{paths.reference}/."
        )
    manifest = Manifest.parse(manifest_path.read_text(encoding="utf-8"), paths.manifest)
    environment_path = root / paths.environment
    recorded = (
        json.loads(environment_path.read_text(encoding="utf-8"))
        if environment_path.is_file()
        else {}
    )
    return manifest, recorded


def verify(
    root: Path, workdir: Path, study: str, cores: str = "all", reuse: bool = False
) -> tuple[list[Difference], list[Checked], list[str]]:
    """Build ``study`` in the project copy ``workdir`` (unless ``reuse``) and return every
    difference from its reference, the numeric outputs, figures and provenance within
    tolerance, and how the environment differs."""
    paths = StudyPaths(study)
    reference, recorded = read_reference(root, paths)
    if not reuse:
        build(workdir, study, cores)
    outputs = workflow_outputs(workdir, study)
    differences, checked = compare_outputs(reference, root, workdir, outputs)
    differences += check_reference_files(root, paths, reference)
    differences += check_committed(root, paths, reference)
    changed = environment_differences(recorded, environment(root)) if recorded else []
    return differences, checked, changed


def text_diff(before: Path, after: Path) -> str:
    """The first lines of a unified diff between two text files, or '' for binaries."""
    if not before.is_file() or not after.is_file() or not str(after).endswith(TEXT_SUFFIXES):
        return ""
    lines = list(
        difflib.unified_diff(
            before.read_text(encoding="utf-8", errors="replace").splitlines(),
            after.read_text(encoding="utf-8", errors="replace").splitlines(),
            fromfile=f"committed {before.name}",
            tofile=f"rebuilt {after.name}",
            lineterm="",
            n=0,
        )
    )
    shown = lines[:DIFF_LINES]
    if len(lines) > DIFF_LINES:
        shown.append(f"... ({len(lines) - DIFF_LINES} more diff lines)")
    return "\n".join(shown)


def describe(checked: Checked) -> str:
    """How close a numeric output, figure or provenance record came to its reference."""
    agreement = checked.agreement
    if checked.kind == "numeric":
        return f"largest relative difference {agreement.largest:.2g} ({agreement.where})"
    if checked.kind == "provenance":
        if agreement.holds:
            return f"the same but for the commit ({agreement.where})"
        return agreement.problem
    return f"largest pixel change {agreement.largest:.2g} ({agreement.where})"


def report(
    study: str,
    differences: Sequence[Difference],
    checked: Sequence[Checked],
    changed: Sequence[str],
    root: Path,
    workdir: Path,
) -> int:
    """Print a study's differences and return the exit status (1 if there is any).

    Exact text outputs with a committed copy get the first lines of their diff.
    """
    paths = StudyPaths(study)
    committed = set(tracked(root, RESULTS))
    for item in checked:
        print(f"ok   {item.path}: within tolerance, {describe(item)}")
    for difference in differences:
        print(f"FAIL {difference.path}: {difference.problem}")
        exact = difference.problem.startswith("differs (exact")
        if exact and difference.path in committed:
            diff = text_diff(root / difference.path, workdir / difference.path)
            if diff:
                print("     " + diff.replace("\n", "\n     "))
    if changed:
        print("note the environment differs from the reference's: " + "; ".join(changed))
    if differences:
        print(
            f"verify {study}: {len(differences)} file(s) differ from {paths.manifest}. If "
            f"the change is meant, run `make reference STUDY={study}` and commit "
            f"{paths.results}/ and {paths.reference}/ in the same commit, so the diff "
            "shows what moved."
        )
        return 1
    print(
        f"verify {study}: every output agrees with {paths.manifest} (exact byte for byte, "
        "numeric and figures within the manifest's tolerances, provenance but for the "
        "commit)."
    )
    return 0


def compare_builds(first: Path, second: Path, study: str) -> list[Checked]:
    """How far the numeric outputs, figures and provenance of two builds of a study are
    apart."""
    policy = Policy.for_study(study)
    kinds = classify(workflow_outputs(first, study), policy)
    return [
        Checked(path, kind, agreement_of(kind, first / path, second / path, policy, False))
        for path, kind in kinds.items()
        if kind in ("numeric", "figure", "provenance")
    ]


def studies_of(root: Path, named: Sequence[str]) -> list[str]:
    """The studies named with ``--study``, each checked, or else every bundled one."""
    try:
        return [study_paths(study, root).study for study in named] or bundled_studies(root)
    except StudyNameError as error:
        raise ReferenceCheckError(str(error)) from error


def run_command(command: str, root: Path, workdir: Path, arguments: argparse.Namespace) -> int:
    """Run ``update``, ``verify`` or ``compare`` for each chosen study; the exit status."""
    studies = studies_of(root, arguments.study)
    if command == "compare":
        for study in studies:
            for item in compare_builds(*arguments.builds, study):
                print(f"{item.path}: {describe(item)}")
        return 0
    expected: set[str] = set()
    if command == "verify":
        # Every reference is read before the long builds, so a missing one fails at once.
        expected = {p for s in studies for p in read_reference(root, StudyPaths(s))[0].digests}
    if not arguments.reuse:
        copy_project(root, workdir, skip=expected)
    if command == "update":
        for study in studies:
            manifest = update(root, workdir, study, arguments.cores)
            paths = StudyPaths(study)
            print(
                f"wrote {paths.manifest} ({len(manifest.digests)} files), "
                f"{paths.environment}, {paths.results}/ and {paths.reference}/"
            )
        return 0
    status = 0
    for study in studies:
        started = time.monotonic()
        differences, checked, changed = verify(
            root, workdir, study, arguments.cores, arguments.reuse
        )
        status |= report(study, differences, checked, changed, root, workdir)
        print(f"verify {study} took {time.monotonic() - started:.0f} s")
    if not arguments.study:
        for difference in check_unowned(root, studies):
            print(f"FAIL {difference.path}: {difference.problem}")
            status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m innopanel.reproducibility.reference", description=__doc__
    )
    parser.add_argument("command", choices=["verify", "update", "compare"])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    parser.add_argument("--cores", default="all", help="snakemake --cores for the rebuild")
    parser.add_argument(
        "--study",
        action="append",
        default=[],
        help="a study to check or update (repeatable); default: every bundled study",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="build here instead of a temporary directory (kept afterwards)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="verify: compare the outputs already built in --workdir, without rebuilding",
    )
    parser.add_argument(
        "builds",
        nargs="*",
        type=Path,
        help="compare: two build folders (e.g. two verify --workdir builds)",
    )
    arguments = parser.parse_args(argv)
    root = arguments.root.resolve()
    if arguments.reuse and (arguments.workdir is None or arguments.command != "verify"):
        parser.error("--reuse is for verify, and needs --workdir")
    if (arguments.command == "compare") != (len(arguments.builds) == 2):
        parser.error("compare takes exactly two build folders; verify and update take none")
    with tempfile.TemporaryDirectory(prefix="innopanel-reference-") as temporary:
        workdir = (arguments.workdir or Path(temporary)).resolve()
        try:
            return run_command(arguments.command, root, workdir, arguments)
        except ReferenceCheckError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
