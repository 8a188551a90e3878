"""Provenance of a run: which data, which software, which config, which commit.

``results/provenance/provenance.json`` is byte-stable: the same sources, config, code
and environment give the same bytes. Retrieval times and how each source was obtained
(file, cache, mirror, network) change from run to run, so they go to
``retrieval_log.json`` instead, which is documented as not byte-stable.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from innopanel.config.paths import RESULTS
from innopanel.config.study import config_sha256, run_of
from innopanel.io import sha256_file

# The packages whose versions decide the results (pinned in requirements.lock).
PACKAGES = (
    "snakemake",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "linearmodels",
    "pandera",
    "pyarrow",
    "openpyxl",
    "matplotlib",
    "seaborn",
)
# The code a run imports: an untracked file here is part of the run but of no commit.
CODE_FOLDER = "workflow"
# Why a file git lists is not as in the commit (any other status: changed since it).
GIT_STATUS = {"??": "untracked", "!!": "ignored by git"}
# The field of provenance.json that records where the run was built (the checkout's
# commit and the files not as in it), not what from: a build in a checkout and the
# reference, built in a copy that is no checkout, may differ here alone.
SITE_FIELD = "git"
# provenance.md says the same in its commit item, with the files not as in the commit
# nested under it, so the lines about where the run was built are one block.
COMMIT_ITEM = "- Commit: "
DEPARTURE_ITEM = "  - "
# What the one config hash of a run (in the paper and here) is of.
RESOLVED_SHA256_OF = (
    "SHA256 of config.content without its _run entry, as canonical JSON: sorted keys, "
    "separators ',' and ':', UTF-8 (innopanel.config.study.config_sha256)"
)
RETRIEVAL_NOTE = (
    "NOT byte-stable: how and when each source was last obtained (from a file, the cache, "
    "the mirror folder or the network). Everything that must be identical across reruns "
    "is in provenance.json."
)


def git_revision(directory: str | Path = ".", read: Iterable[str | Path] = ()) -> dict[str, Any]:
    """Return the commit of ``directory`` if it is the top of a git checkout, and whether
    the run departs from it.

    A folder inside someone else's repository, or no git at all, is "not a git checkout":
    a commit that does not contain the workflow would mislead. ``dirty`` says whether
    the run is built from anything but that commit, and ``dirty_files`` names each such
    file with why: a tracked file outside results/ with uncommitted changes, a file
    under workflow/ git does not track (code the run may import), or a file in ``read``
    (the files the run reads and does not build: the study's config, its unit table,
    its raw files) that is changed, untracked, ignored by git or outside the checkout.
    The workflow's own outputs under results/ are not what the run is built from, and
    counting them would make every run that rewrites one a reason to rerun the
    provenance rule (its parameter).
    """
    directory = Path(directory).resolve()

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *arguments],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    try:
        top = Path(git("rev-parse", "--show-toplevel").strip()).resolve()
        if top != directory:
            raise ValueError("inside another checkout")
        commit = git("rev-parse", "HEAD").strip()
        inside, outside = _inside_checkout(read, directory)
        status = ["status", "--porcelain=v1", "-z"]
        departures = {
            **_departures(git(*status, "--untracked-files=no", "--", ".", f":!{RESULTS}")),
            **_departures(git(*status, "--untracked-files=all", "--", CODE_FOLDER)),
            # Literal: a file name is no pattern (a raw file may be called "data[1].csv").
            **(
                _departures(
                    git(
                        *status,
                        "--untracked-files=all",
                        "--ignored",
                        "--",
                        *[f":(literal){path}" for path in inside],
                    )
                )
                if inside
                else {}
            ),
            **{path: "outside the checkout" for path in outside},
        }
    except (OSError, subprocess.SubprocessError, ValueError):
        return {"commit": None, "dirty": None, "note": "not a git checkout"}
    return {
        "commit": commit,
        "dirty": bool(departures),
        "dirty_files": dict(sorted(departures.items())),
        "note": None,
    }


def _inside_checkout(paths: Iterable[str | Path], top: Path) -> tuple[list[str], list[str]]:
    """Split ``paths`` into those inside the checkout at ``top`` (relative to it) and
    those outside it."""
    inside, outside = [], []
    for path in dict.fromkeys(str(path) for path in paths):
        resolved = (top / path).resolve()
        if resolved.is_relative_to(top):
            inside.append(resolved.relative_to(top).as_posix())
        else:
            outside.append(path)
    return inside, outside


def _departures(porcelain: str) -> dict[str, str]:
    """Each path ``git status --porcelain=v1 -z`` lists, with why it is not the commit."""
    entries = iter(porcelain.split("\0"))
    departures = {}
    for entry in entries:
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":
            next(entries, None)  # a rename or copy lists its old path next
        departures[path] = GIT_STATUS.get(code, "changed since the commit")
    return departures


def software_versions(packages: Sequence[str] = PACKAGES) -> dict[str, Any]:
    """Return the Python version and the version of each package that shapes results."""
    versions = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": versions,
    }


def file_entry(path: str | Path) -> dict[str, Any]:
    """Path, SHA256 and size of one file."""
    path = Path(path)
    return {"path": str(path), "sha256": sha256_file(path), "bytes": path.stat().st_size}


def build_provenance(
    records: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    git: Mapping[str, Any],
    files: Mapping[str, str | Path],
) -> dict[str, Any]:
    """Assemble the byte-stable provenance document of a run."""
    return {
        "note": (
            "Provenance of the outputs under results/: every source with its origin, "
            "SHA256, size, licence and citation; the software; the config; the commit. "
            "Byte-stable; retrieval times are in retrieval_log.json."
        ),
        "synthetic_data": bool(config["data"]["synthetic"]),
        "data_note": config["data"]["data_note"],
        "sources": [
            {**record, **_terms(config, record["name"])}
            for record in sorted(records, key=lambda record: record["name"])
        ],
        "data_files": {name: file_entry(path) for name, path in sorted(files.items())},
        "software": software_versions(),
        "git": dict(git),
        "config": {
            "file": run_of(config).config_file,
            "resolved_sha256": config_sha256(config),
            "resolved_sha256_of": RESOLVED_SHA256_OF,
            "content": config,
        },
    }


def _terms(config: Mapping[str, Any], name: str) -> dict[str, str]:
    """A source's licence and citation, as the config states them now."""
    spec = config["data"]["sources"][name]
    return {"licence": spec["licence"], "citation": spec["citation"]}


def retrieval_log(retrievals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The time-varying companion of provenance.json."""
    return {
        "note": RETRIEVAL_NOTE,
        "retrievals": sorted(retrievals, key=lambda entry: entry["source"]),
    }


def provenance_markdown(provenance: Mapping[str, Any]) -> str:
    """A short human summary of provenance.json."""
    lines = ["# Provenance", ""]
    if provenance["synthetic_data"]:
        lines += [f"> **{provenance['data_note']}**", ""]
    lines += [
        "| source | kind | from | SHA256 | bytes | licence | citation |",
        "|---|---|---|---|---:|---|---|",
    ]
    for source in provenance["sources"]:
        cells = [
            source["name"],
            source["kind"],
            source["location"],
            f"`{source['sha256']}`",
            source["bytes"],
            source["licence"],
            source["citation"],
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    software = provenance["software"]
    git = provenance[SITE_FIELD]
    commit = git["commit"] or git["note"]
    if git["dirty"]:
        commit += " (with uncommitted changes)"
    departures = git.get("dirty_files") or {}
    lines += [
        "",
        f"- Resolved config SHA256: `{provenance['config']['resolved_sha256']}` "
        f"(`{provenance['config']['file']}` with every default filled in; "
        "recompute it from provenance.json: config.resolved_sha256_of)",
        f"{COMMIT_ITEM}{commit}",
        *[f"{DEPARTURE_ITEM}`{path}`: {why}" for path, why in departures.items()],
        f"- Python {software['python']} ({software['implementation']}); "
        + ", ".join(f"{name} {version}" for name, version in software["packages"].items()),
        "",
        "Data files:",
        "",
    ]
    for name, entry in provenance["data_files"].items():
        lines.append(
            f"- {name}: `{entry['path']}` sha256 `{entry['sha256']}` ({entry['bytes']} bytes)"
        )
    lines += ["", "Retrieval times (not byte-stable) are in `retrieval_log.json`."]
    return "\n".join(lines) + "\n"


def site(git: Mapping[str, Any]) -> str:
    """Where a run was built, from provenance.json's git block: its commit and whether it
    departs from it, or why there is none."""
    if git.get("commit") is None:
        return str(git.get("note") or "no commit recorded")
    if not git.get("dirty"):
        return f"commit {git['commit']}"
    departures = len(git.get("dirty_files") or {})
    return f"commit {git['commit']} with uncommitted changes ({departures} file(s))"


def markdown_site(text: str) -> tuple[list[tuple[int, str]], str]:
    """provenance.md's lines, numbered, but for its commit item and the files nested
    under it; and that commit, as the item states it."""
    kept, commit, in_site = [], "no commit line", False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(COMMIT_ITEM):
            commit, in_site = line.removeprefix(COMMIT_ITEM), True
        elif not (in_site and line.startswith(DEPARTURE_ITEM)):
            kept.append((number, line))
            in_site = False
    return kept, commit
