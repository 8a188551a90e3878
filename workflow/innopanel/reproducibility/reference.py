"""Reference outputs: a manifest of every workflow output, rebuilt and checked by policy.

``python -m innopanel.reproducibility.reference update`` (``make reference``) rebuilds the
whole workflow from scratch in a temporary copy of the project, sorts every output into a
comparison class (``policy.py``; an output in no class is an error), and writes:

- ``results/MANIFEST.sha256``: the policy and its tolerances as comment lines, then the
  SHA256 of every output and every reference file (``sha256sum -c`` format);
- ``results/MANIFEST.environment.json``: the environment the reference was made in;
- the exact-class outputs under results/ (committed; they rebuild byte for byte);
- under reference/, copies of the numeric outputs and renderings of the figures.

The workflow never writes under reference/, and every output it writes under results/
is either exact (rewritten with the same bytes) or ignored by git, so running it never
dirties the checkout.

``python -m innopanel.reproducibility.reference verify`` (``make verify``) rebuilds the
same way and fails, naming file and cell or pixels, if an exact output's bytes differ, a
numeric output leaves the tolerance, a figure's rendering moves, an output is missing,
new or unclassified, a reference file was edited, or a committed copy under results/
differs or is of a class that must not be committed. ``compare A B`` prints how far the
numeric outputs and figures of two builds are apart (how the tolerances were measured).
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
from dataclasses import dataclass, field
from pathlib import Path

from innopanel.io import sha256_file, write_json, write_text
from innopanel.reproducibility.comparison import (
    Agreement,
    compare_renderings,
    compare_tables,
    load_rendering,
    render,
    save_rendering,
)
from innopanel.reproducibility.environment import environment, environment_differences
from innopanel.reproducibility.policy import (
    ENVIRONMENT,
    MANIFEST,
    MEASURED,
    REFERENCE,
    RESULTS,
    RESULTS_README,
    Policy,
    PolicyError,
    reference_copy,
)

#: Files under results/ that are not outputs and are kept as they are.
RESULTS_KEPT = (RESULTS_README, MANIFEST, ENVIRONMENT)
TEXT_SUFFIXES = (".csv", ".tex", ".md", ".json", ".txt", ".tsv", ".yaml", ".html")
DIFF_LINES = 30


class ReferenceCheckError(RuntimeError):
    """The reference outputs cannot be rebuilt or read; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """SHA256 digests by path (outputs and reference/ files) and the comparison policy."""

    digests: Mapping[str, str]
    policy: Policy = field(default_factory=Policy)

    def render(self) -> str:
        """The manifest file: comment lines, then ``<sha256>  <path>`` sorted by path."""
        lines = [
            "# SHA256 of every output of the default run and of every file under reference/:",
            "# `make reference` writes it, `make verify` rebuilds everything from scratch and",
            "# compares each output by the policy below (first matching pattern decides).",
            *self.policy.render(),
            *[f"# measured: {line}" for line in MEASURED],
            *[f"{self.digests[path]}  {path}" for path in sorted(self.digests)],
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str, source: str = MANIFEST) -> Manifest:
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
    """A numeric output or figure within tolerance, and how close it came."""

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


def workflow_outputs(workdir: Path) -> dict[str, str]:
    """Every output file of the workflow in ``workdir`` and the rule that makes it."""
    run = run_snakemake(workdir, "--summary", "--quiet", "all")
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


def rebuild(root: Path, workdir: Path, cores: str = "all", skip: Iterable[str] = ()) -> None:
    """Copy the project into ``workdir`` and build every output there from scratch."""
    copy_project(root, workdir, skip)
    log = workdir / "reference-build.log"
    run = run_snakemake(workdir, "--cores", cores, log=log)
    if run.returncode != 0:
        raise ReferenceCheckError(
            f"the workflow failed in the rebuild copy {workdir} (full log: {log}):\n"
            + (run.stdout + run.stderr)[-4000:]
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
    """Compare a numeric output or a figure with its reference.

    ``stored``: the reference of a figure is a stored rendering (under reference/), not
    the figure itself.
    """
    if kind == "numeric":
        return compare_tables(reference, rebuilt, policy.numeric)
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


def write_reference(root: Path, workdir: Path, kinds: Mapping[str, str], policy: Policy) -> None:
    """Put the exact outputs under results/ and numeric copies and renderings under
    reference/; remove what is no longer an output or a reference."""
    keep = set(RESULTS_KEPT)
    for path, kind in kinds.items():
        copy = reference_copy(path, kind)
        if kind == "exact" and path.startswith(RESULTS + "/"):
            keep.add(path)
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workdir / path, target)
        elif kind == "numeric" and copy is not None:
            keep.add(copy)
            (root / copy).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workdir / path, root / copy)
        elif kind == "figure" and copy is not None:
            keep.add(copy)
            save_rendering(render(workdir / path, policy.figure), root / copy)
    for stale in [*tracked(root, RESULTS), *tracked(root, REFERENCE)]:
        if stale not in keep and not (root / stale).is_dir():
            (root / stale).unlink(missing_ok=True)
            print(f"removed {stale}: no longer a committed output or reference")


def update(root: Path, workdir: Path, cores: str = "all") -> Manifest:
    """Rebuild in ``workdir``; write the manifest, results/ and reference/ into ``root``."""
    rebuild(root, workdir, cores)
    policy = Policy()
    kinds = classify(workflow_outputs(workdir), policy)
    write_reference(root, workdir, kinds, policy)
    digests = {p: sha256_file(workdir / p) for p, kind in kinds.items() if kind != "skip"}
    for path, kind in kinds.items():
        copy = reference_copy(path, kind)
        if copy is not None:
            digests[copy] = sha256_file(root / copy)
    manifest = Manifest(digests, policy)
    write_text(root / MANIFEST, manifest.render())
    write_json(root / ENVIRONMENT, environment(root))
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


def check_reference_files(root: Path, reference: Manifest) -> list[Difference]:
    """Every file under reference/ must be listed in the manifest with its digest."""
    listed = {p: d for p, d in reference.digests.items() if p.startswith(REFERENCE + "/")}
    differences = []
    for path in sorted(set(listed) | set(tracked(root, REFERENCE))):
        if path not in listed:
            differences.append(Difference(path, "under reference/, but not in the manifest"))
        elif not (root / path).is_file():
            differences.append(Difference(path, "in the manifest, but missing from reference/"))
        elif sha256_file(root / path) != listed[path]:
            differences.append(
                Difference(path, "differs from the manifest: a reference edited by hand?")
            )
    return differences


def check_committed(root: Path, reference: Manifest) -> list[Difference]:
    """Only exact outputs may be committed under results/, and they must equal the
    manifest; every other output under results/ must be ignored by git, or a run on
    another machine leaves the checkout dirty."""
    expected, policy = reference.outputs(), reference.policy
    differences = []
    for path in tracked(root, RESULTS):
        if path in RESULTS_KEPT:
            continue
        kind = policy.kind(path) if path in expected else None
        if kind is None:
            differences.append(
                Difference(path, "committed under results/, but not an output in the manifest")
            )
        elif kind != "exact":
            differences.append(
                Difference(
                    path,
                    f"committed, but a {kind} output may differ in its last bits on another "
                    f"machine, so a run would dirty the checkout; `git rm --cached {path}` "
                    "(its reference is under reference/)",
                )
            )
        elif not (root / path).is_file():
            differences.append(Difference(path, "committed, but missing from the working tree"))
        elif sha256_file(root / path) != expected[path]:
            differences.append(Difference(path, "committed copy differs from the manifest"))
    inside = [p for p in expected if p.startswith(RESULTS + "/")]
    loose = set(inside) - set(tracked(root, RESULTS))
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


def read_reference(root: Path) -> tuple[Manifest, dict[str, object]]:
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise ReferenceCheckError(
            f"{manifest_path} not found: there is no reference yet. Run `make reference` "
            "and commit results/ and reference/."
        )
    manifest = Manifest.parse(manifest_path.read_text(encoding="utf-8"), MANIFEST)
    environment_path = root / ENVIRONMENT
    recorded = (
        json.loads(environment_path.read_text(encoding="utf-8"))
        if environment_path.is_file()
        else {}
    )
    return manifest, recorded


def verify(
    root: Path, workdir: Path, cores: str = "all", reuse: bool = False
) -> tuple[list[Difference], list[Checked], list[str]]:
    """Rebuild in ``workdir`` (unless ``reuse``) and return every difference found, the
    numeric outputs and figures within tolerance, and how the environment differs."""
    reference, recorded = read_reference(root)
    if not reuse:
        rebuild(root, workdir, cores, skip=reference.digests)
    differences, checked = compare_outputs(reference, root, workdir, workflow_outputs(workdir))
    differences += check_reference_files(root, reference)
    differences += check_committed(root, reference)
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
    """How close a numeric output or figure came to its reference."""
    agreement = checked.agreement
    if checked.kind == "numeric":
        return f"largest relative difference {agreement.largest:.2g} ({agreement.where})"
    return f"largest pixel change {agreement.largest:.2g} ({agreement.where})"


def report(
    differences: Sequence[Difference],
    checked: Sequence[Checked],
    changed: Sequence[str],
    root: Path,
    workdir: Path,
) -> int:
    """Print the differences and return the exit status (1 if there is any).

    Exact text outputs with a committed copy get the first lines of their diff.
    """
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
            f"verify: {len(differences)} output(s) differ from {MANIFEST}. If the change is "
            "meant, run `make reference` and commit results/ and reference/ in the same "
            "commit, so the diff shows what moved."
        )
        return 1
    print(
        f"verify: every output agrees with {MANIFEST} (exact byte for byte, numeric and "
        "figures within the manifest's tolerances)."
    )
    return 0


def compare_builds(first: Path, second: Path) -> list[Checked]:
    """How far the numeric outputs and figures of two builds are apart."""
    policy = Policy()
    kinds = classify(workflow_outputs(first), policy)
    return [
        Checked(path, kind, agreement_of(kind, first / path, second / path, policy, False))
        for path, kind in kinds.items()
        if kind in ("numeric", "figure")
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m innopanel.reproducibility.reference", description=__doc__
    )
    parser.add_argument("command", choices=["verify", "update", "compare"])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    parser.add_argument("--cores", default="all", help="snakemake --cores for the rebuild")
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
    if arguments.reuse and arguments.workdir is None:
        parser.error("--reuse needs --workdir")
    if (arguments.command == "compare") != (len(arguments.builds) == 2):
        parser.error("compare takes exactly two build folders; verify and update take none")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="innopanel-reference-") as temporary:
        workdir = (arguments.workdir or Path(temporary)).resolve()
        try:
            if arguments.command == "compare":
                for item in compare_builds(*arguments.builds):
                    print(f"{item.path}: {describe(item)}")
                return 0
            if arguments.command == "update":
                manifest = update(root, workdir, arguments.cores)
                print(
                    f"wrote {MANIFEST} ({len(manifest.digests)} files), {ENVIRONMENT}, "
                    f"results/ and {REFERENCE}/"
                )
                return 0
            differences, checked, changed = verify(root, workdir, arguments.cores, arguments.reuse)
            status = report(differences, checked, changed, root, workdir)
            print(f"verify took {time.monotonic() - started:.0f} s")
            return status
        except ReferenceCheckError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
