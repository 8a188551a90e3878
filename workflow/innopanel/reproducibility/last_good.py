"""A study's last good outputs, kept while a run rebuilds them and put back if it fails.

Snakemake deletes a job's outputs before the job runs and again when it fails, so a
failed run would lose the study's previous panel, data-quality report and paper
(committed files among them), and the steps that did succeed would leave a mix of new
and old outputs (a paper naming a config whose panel could not be built). A run is
therefore all or nothing for the study's final outputs: when it starts, :func:`keep`
hard-links each one that exists into a folder under ``.snakemake/`` (no bytes are
copied: deleting an output removes only its name, and every step writes a new file and
renames it into place, so the kept link keeps the old bytes and time). When the run
fails, :func:`roll_back` puts every kept output back and removes the ones the run
created; when it succeeds, :func:`discard` drops the folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Where a run keeps its study's last good outputs, relative to the working directory.
KEEP_ROOT = Path(".snakemake") / "innopanel-last-good"


@dataclass(frozen=True)
class Kept:
    """The final outputs of a run, and those of them that existed when it started."""

    folder: Path
    outputs: tuple[Path, ...]
    existing: frozenset[Path]


@dataclass(frozen=True)
class RollBack:
    """What :func:`roll_back` did: outputs put back, and outputs of the failed run removed."""

    restored: tuple[Path, ...]
    removed: tuple[Path, ...]


def keep_folder(study: str) -> Path:
    """The folder that holds ``study``'s last good outputs during a run."""
    return KEEP_ROOT / study


def keep(outputs: Iterable[str | os.PathLike[str]], folder: Path) -> Kept:
    """Link every existing output into ``folder`` (replacing what an interrupted run
    left there) and return what was kept."""
    shutil.rmtree(folder, ignore_errors=True)
    paths = tuple(dict.fromkeys(Path(output) for output in outputs))
    existing = frozenset(path for path in paths if path.is_file())
    for path in sorted(existing):
        _link(path, _kept_copy(folder, path))
    return Kept(folder, paths, existing)


def roll_back(kept: Kept) -> RollBack:
    """Return every output to its state when the run started, then drop the folder.

    A kept output goes back with its old bytes and modification time, even where a step
    of the failed run had rewritten it; an output the run created is removed. Each
    replacement is a rename, so no output is ever half there.
    """
    restored, removed = [], []
    for path in kept.outputs:
        if path in kept.existing:
            _link(_kept_copy(kept.folder, path), path)
            restored.append(path)
        elif path.exists():
            path.unlink()
            removed.append(path)
    discard(kept)
    return RollBack(tuple(restored), tuple(removed))


def discard(kept: Kept) -> None:
    """Drop the kept copies (the run succeeded: its outputs are the last good ones)."""
    shutil.rmtree(kept.folder, ignore_errors=True)


def _kept_copy(folder: Path, path: Path) -> Path:
    return folder / (path.relative_to(path.anchor) if path.is_absolute() else path)


def _link(source: Path, destination: Path) -> None:
    """Make ``destination`` the file ``source`` is, by one rename (a copy where the file
    system has no hard links)."""
    if destination.exists() and os.path.samefile(source, destination):
        return  # untouched by the run (and a rename onto the same file does nothing)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.last-good")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copy2(source, temporary)
    os.replace(temporary, destination)
