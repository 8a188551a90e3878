"""A marker that a run is writing a study, so that a second run of the same study says so.

Started while another run writes the study's outputs, Snakemake stops with its own
advice (``--rerun-incomplete``, ``--unlock``), which is wrong while that run is alive:
it would rebuild, or unlock, files another process is writing. A run therefore marks
the study when it starts writing (:func:`mark`) and unmarks it when it ends
(:func:`unmark`); a run that finds the mark of a live process stops before Snakemake
looks at any file (:func:`refuse_if_running`). A mark whose process is gone is stale
(a killed run): it is ignored, and Snakemake's advice is then the right one.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from innopanel.io import write_json

#: Where runs mark the studies they are writing, relative to the working directory.
MARK_ROOT = Path(".snakemake") / "innopanel-running"


class AnotherRunError(RuntimeError):
    """Another live run is writing the study; the message says how to tell and what to do."""


@dataclass(frozen=True)
class Mark:
    """Who is writing a study: process id, host and start time (UTC, ISO 8601)."""

    pid: int
    host: str
    started: str


def mark_path(study: str) -> Path:
    """The mark of ``study``'s run in progress."""
    return MARK_ROOT / f"{study}.json"


def mark(study: str) -> Path:
    """Mark ``study`` as being written by this process; return the mark's path."""
    path = mark_path(study)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(path, {"pid": os.getpid(), "host": socket.gethostname(), "started": started})
    return path


def unmark(study: str) -> None:
    """Remove this process's mark of ``study`` (another process's mark stays)."""
    found = read_mark(mark_path(study))
    if found is not None and found.pid == os.getpid() and found.host == socket.gethostname():
        mark_path(study).unlink(missing_ok=True)


def read_mark(path: Path) -> Mark | None:
    """The mark at ``path``, or None if there is none (or it cannot be read)."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        return Mark(int(entry["pid"]), str(entry["host"]), str(entry["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_alive(found: Mark) -> bool:
    """Whether the marking process may still run: on another host it cannot be told, so
    it may; here, only if a process with its id exists (and, where /proc tells, is a
    Python process, not an unrelated one that got the id after a reboot)."""
    if found.host != socket.gethostname():
        return True
    if found.pid == os.getpid():
        return False
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    command = Path(f"/proc/{found.pid}/cmdline")
    if sys.platform.startswith("linux") and command.is_file():
        return b"snakemake" in command.read_bytes()
    return True


def refuse_if_running(study: str) -> None:
    """Stop with what to do if a live run is writing ``study`` in this folder."""
    path = mark_path(study)
    found = read_mark(path)
    if found is None or not is_alive(found):
        return
    raise AnotherRunError(
        f"another run appears to be writing study '{study}' in this folder: process "
        f"{found.pid} on host {found.host}, started {found.started} (its mark: {path}). "
        f"Wait for it to finish; `ps -p {found.pid}` on {found.host} shows whether it is "
        "still alive. Only if no other run is alive: delete that mark, run "
        "`snakemake --unlock --config study=" + study + "`, then rerun with "
        "--rerun-incomplete."
    )
