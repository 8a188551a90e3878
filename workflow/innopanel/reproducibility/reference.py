"""Reference outputs: a SHA256 manifest of every workflow output, rebuilt and checked.

``python -m innopanel.reproducibility.reference update`` (``make reference``) rebuilds the whole
workflow from scratch in a temporary copy of the project, writes
``results/MANIFEST.sha256`` (``sha256sum -c`` format: one line per output, with
every output of every rule, as ``snakemake --summary`` lists them) and
``results/MANIFEST.environment.json`` (the environment the reference was made in),
and copies the rebuilt ``results/`` into the project; ``.gitignore`` decides which
of them are committed.

``python -m innopanel.reproducibility.reference verify`` (``make verify``) rebuilds the same way
and fails, naming each file, if an output differs from the manifest, is missing
from it or is no longer made, or if a committed copy under ``results/`` differs
from the manifest. Figures (PDF, PNG, SVG) depend on font rendering and zlib, so
they are compared only in the environment the reference was made in (the same
fingerprint of Python, platform, zlib, FreeType and the versions of the packages
pinned in requirements.lock); elsewhere their differences are reported, not failed.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from innopanel.io import sha256_file, write_json, write_text

MANIFEST = "results/MANIFEST.sha256"
ENVIRONMENT = "results/MANIFEST.environment.json"
RESULTS = "results"
RESULTS_README = "results/README.md"
#: Files under results/ that are not outputs and are kept as they are.
RESULTS_KEPT = (RESULTS_README, MANIFEST, ENVIRONMENT)
FIGURE_SUFFIXES = (".pdf", ".png", ".svg", ".eps")
TEXT_SUFFIXES = (".csv", ".tex", ".md", ".json", ".txt", ".tsv", ".yaml")
LOCK_FILE = "requirements.lock"
EXCLUDE_PREFIX = "# exclude: "
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==")
DIFF_LINES = 30
#: Outputs that record when and how sources were obtained: rebuilt, never compared.
TIME_VARYING = ("results/provenance/retrieval_log.json", "data/staged/*.retrieval.json")


class ReferenceCheckError(RuntimeError):
    """The reference outputs cannot be rebuilt or read; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """SHA256 digests of outputs by path, and glob patterns left out of the check."""

    digests: Mapping[str, str]
    excluded: tuple[str, ...] = ()

    def render(self) -> str:
        """The manifest file: comment lines, then ``<sha256>  <path>`` sorted by path."""
        lines = [
            "# SHA256 of every output of the default run: `make reference` writes it,",
            "# `make verify` rebuilds everything from scratch and compares (sha256sum -c works).",
            *[EXCLUDE_PREFIX + pattern for pattern in self.excluded],
            *[f"{self.digests[path]}  {path}" for path in sorted(self.digests)],
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str, source: str = MANIFEST) -> Manifest:
        digests: dict[str, str] = {}
        excluded: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith(EXCLUDE_PREFIX):
                excluded.append(line.removeprefix(EXCLUDE_PREFIX).strip())
            elif line.startswith("#") or not line.strip():
                continue
            else:
                match = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
                if match is None:
                    raise ReferenceCheckError(
                        f"{source}, line {number}: expected '<sha256>  <path>', got {line!r}. "
                        "Regenerate it with `make reference`."
                    )
                digests[match.group(2)] = match.group(1)
        return cls(digests, tuple(excluded))


@dataclass(frozen=True)
class Difference:
    """One way the rebuilt outputs disagree with the reference."""

    path: str
    problem: str
    fatal: bool = True
    detail: str = ""


def is_figure(path: str) -> bool:
    return path.lower().endswith(FIGURE_SUFFIXES)


def is_excluded(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def environment(root: Path) -> dict[str, object]:
    """What output bytes may depend on: Python, platform, zlib, FreeType, pinned packages."""
    names: list[str] = []
    lock = root / LOCK_FILE
    if lock.is_file():
        for line in lock.read_text(encoding="utf-8").splitlines():
            if match := PIN.match(line):
                names.append(match.group(1).lower().replace("_", "-"))
    packages = {}
    for name in sorted(names):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    try:
        from matplotlib import ft2font

        freetype = ft2font.__freetype_version__
    except ImportError:
        freetype = None
    components: dict[str, object] = {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "implementation": platform.python_implementation(),
        "system": platform.system(),
        "machine": platform.machine(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "freetype": freetype,
        "packages": packages,
    }
    fingerprint = hashlib.sha256(json.dumps(components, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": fingerprint, **components}


def environment_differences(
    reference: Mapping[str, object], current: Mapping[str, object]
) -> list[str]:
    """Name each component of the environment that differs from the reference's."""
    differences = []
    for key in sorted(set(reference) | set(current)):
        if key == "fingerprint":
            continue
        if key == "packages":
            ours = current.get(key) or {}
            theirs = reference.get(key) or {}
            assert isinstance(ours, Mapping) and isinstance(theirs, Mapping)
            for name in sorted(set(ours) | set(theirs)):
                if ours.get(name) != theirs.get(name):
                    differences.append(f"{name} {theirs.get(name)} -> {ours.get(name)}")
        elif reference.get(key) != current.get(key):
            differences.append(f"{key} {reference.get(key)} -> {current.get(key)}")
    return differences


def copy_project(root: Path, destination: Path, skip: Iterable[str] = ()) -> list[str]:
    """Copy the files git tracks (and untracked, unignored ones) without any output.

    Uncommitted edits are included, so a change can be verified before it is committed.
    Nothing under results/ is copied (except its README), nor any path in ``skip``.
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
        inside_results = path.startswith(RESULTS + "/") and path != RESULTS_README
        if path in skipped or inside_results or not source.is_file():
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


def manifest_of(workdir: Path, outputs: Iterable[str], excluded: Sequence[str]) -> Manifest:
    digests = {
        path: sha256_file(workdir / path)
        for path in sorted(outputs)
        if not is_excluded(path, excluded)
    }
    return Manifest(digests, tuple(excluded))


def compare(
    reference: Manifest, rebuilt: Manifest, figures_comparable: bool, why_not: str = ""
) -> list[Difference]:
    """List every disagreement between the reference and the rebuilt outputs."""
    differences = []
    for path in sorted(set(reference.digests) | set(rebuilt.digests)):
        expected, actual = reference.digests.get(path), rebuilt.digests.get(path)
        if expected == actual:
            continue
        if actual is None:
            differences.append(
                Difference(path, "in the manifest, but the workflow no longer makes it")
            )
        elif expected is None:
            differences.append(Difference(path, "made by the workflow, but not in the manifest"))
        elif is_figure(path) and not figures_comparable:
            differences.append(
                Difference(
                    path,
                    "differs (figure; not failed: the environment is not the reference's)",
                    fatal=False,
                    detail=why_not,
                )
            )
        else:
            differences.append(
                Difference(path, f"differs: manifest {expected[:12]}…, rebuilt {actual[:12]}…")
            )
    return differences


def tracked_results(root: Path) -> list[str]:
    """Files under results/ that git tracks (the committed reference copies)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--", RESULTS],
        cwd=root,
        capture_output=True,
        check=False,
    )
    return sorted(set(listing.stdout.decode().split("\0")) - {""} - set(RESULTS_KEPT))


def check_committed(root: Path, reference: Manifest) -> list[Difference]:
    """Committed copies under results/ must equal the manifest and be outputs."""
    differences = []
    for path in tracked_results(root):
        if is_excluded(path, reference.excluded):
            continue
        if path not in reference.digests:
            differences.append(
                Difference(path, "committed under results/, but not an output in the manifest")
            )
        elif not (root / path).is_file():
            differences.append(Difference(path, "committed, but missing from the working tree"))
        elif sha256_file(root / path) != reference.digests[path]:
            differences.append(Difference(path, "committed copy differs from the manifest"))
    return differences


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


def numeric_agreement(before: Path, after: Path) -> str:
    """For two CSV files of the same shape, the largest relative difference of their
    numbers (so a reviewer sees whether only last digits moved); '' otherwise."""
    if not (str(before).endswith(".csv") and before.is_file() and after.is_file()):
        return ""
    import numpy as np
    import pandas as pd

    old, new = pd.read_csv(before), pd.read_csv(after)
    if old.shape != new.shape or list(old.columns) != list(new.columns):
        return f"the table's shape or columns changed: {old.shape} -> {new.shape}"
    numeric = old.select_dtypes("number").columns.intersection(new.select_dtypes("number").columns)
    a, b = old[numeric].to_numpy(dtype=float), new[numeric].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    relative = np.where(a == b, 0.0, relative)
    text_changed = not old.drop(columns=numeric).equals(new.drop(columns=numeric))
    return f"largest relative difference of its numbers: {np.nanmax(relative, initial=0.0):.2g}" + (
        "; text cells changed too" if text_changed else ""
    )


def read_reference(root: Path) -> tuple[Manifest, dict[str, object]]:
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise ReferenceCheckError(
            f"{manifest_path} not found: there is no reference yet. Run `make reference` "
            "and commit results/."
        )
    manifest = Manifest.parse(manifest_path.read_text(encoding="utf-8"), MANIFEST)
    environment_path = root / ENVIRONMENT
    recorded = (
        json.loads(environment_path.read_text(encoding="utf-8"))
        if environment_path.is_file()
        else {}
    )
    return manifest, recorded


def verify(root: Path, workdir: Path, cores: str = "all", reuse: bool = False) -> list[Difference]:
    """Rebuild in ``workdir`` (unless ``reuse``) and return every difference found."""
    reference, recorded = read_reference(root)
    if not reuse:
        rebuild(root, workdir, cores, skip=reference.digests)
    rebuilt = manifest_of(workdir, workflow_outputs(workdir), reference.excluded)
    current = environment(root)
    changed = environment_differences(recorded, current)
    figures_comparable = bool(recorded) and not changed
    why_not = "; ".join(changed) if recorded else f"{ENVIRONMENT} is missing"
    differences = compare(reference, rebuilt, figures_comparable, why_not)
    differences += check_committed(root, reference)
    return differences


def update(root: Path, workdir: Path, cores: str = "all", excluded: Sequence[str] = ()) -> Manifest:
    """Rebuild in ``workdir``, write the manifest and copy the rebuilt results/ into ``root``."""
    rebuild(root, workdir, cores)
    outputs = workflow_outputs(workdir)
    manifest = manifest_of(workdir, outputs, (*TIME_VARYING, *excluded))
    for stale in tracked_results(root):
        if stale not in outputs:
            (root / stale).unlink(missing_ok=True)
            print(f"removed {stale}: no longer an output of the workflow")
    for path in sorted(outputs):
        if path.startswith(RESULTS + "/"):
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workdir / path, target)
    write_text(root / MANIFEST, manifest.render())
    write_json(root / ENVIRONMENT, environment(root))
    return manifest


def report(differences: Sequence[Difference], root: Path, workdir: Path) -> int:
    """Print the differences and return the exit status (1 if any is fatal).

    Text outputs with a committed copy get the first lines of their diff, so the
    report shows what moved.
    """
    committed = set(tracked_results(root))
    for difference in differences:
        marker = "FAIL" if difference.fatal else "note"
        print(f"{marker} {difference.path}: {difference.problem}")
        if difference.detail:
            print(f"     environment: {difference.detail}")
        committed_copy = difference.path in committed
        diff = (
            text_diff(root / difference.path, workdir / difference.path) if committed_copy else ""
        )
        if diff and difference.fatal:
            print("     " + diff.replace("\n", "\n     "))
            agreement = numeric_agreement(root / difference.path, workdir / difference.path)
            if agreement:
                print(f"     {agreement}")
    fatal = [d for d in differences if d.fatal]
    if fatal:
        print(
            f"verify: {len(fatal)} output(s) differ from {MANIFEST}. If the change is meant, "
            "run `make reference` and commit results/ in the same commit, so the diff shows "
            "what moved."
        )
        return 1
    print(f"verify: every output is identical to {MANIFEST}.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m innopanel.reproducibility.reference", description=__doc__
    )
    parser.add_argument("command", choices=["verify", "update"])
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
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="update: leave outputs matching GLOB out of the manifest (e.g. files that "
        "record the time or the git commit); repeatable",
    )
    arguments = parser.parse_args(argv)
    root = arguments.root.resolve()
    if arguments.reuse and arguments.workdir is None:
        parser.error("--reuse needs --workdir")
    with tempfile.TemporaryDirectory(prefix="innopanel-reference-") as temporary:
        workdir = (arguments.workdir or Path(temporary)).resolve()
        try:
            if arguments.command == "update":
                manifest = update(root, workdir, arguments.cores, arguments.exclude)
                print(f"wrote {MANIFEST} ({len(manifest.digests)} outputs) and {ENVIRONMENT}")
                return 0
            differences = verify(root, workdir, arguments.cores, arguments.reuse)
            return report(differences, root, workdir)
        except ReferenceCheckError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
