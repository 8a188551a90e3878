"""Send a workflow step's log records and stderr to the rule's ``log:`` file, and its
error's sentence to the end of the run's console.

Snakemake shows a failing job's log only by its path ("check log file(s)"), so a step
that stops on bad input would tell the console nothing of what to fix. An uncaught
error therefore goes twice: its full traceback to the log, and its message (the package
raises errors as sentences naming the file, row, column or model, with the fix) to a
note beside the log (``<log>.error``). The run prints each note once, as the last thing
on its console (:func:`print_last`, from the workflow's ``onerror``): printed with the
failing job, it would scroll away under Snakemake's own lines about the failure. The
notes are files, not the job's stderr, so they reach the run's console from a cluster
node too.
"""

from __future__ import annotations

import atexit
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO


def console_message(error: BaseException, log: Path) -> str:
    """The lines a failing step prints to the console: its error and where the log is."""
    message = str(error).strip() or "(no message)"
    return f"Error: {type(error).__name__}: {message}\n(traceback in {log})\n"


def error_note(log: str | Path) -> Path:
    """The file beside a step's log that holds its error's console lines, if it failed."""
    log = Path(log)
    return log.with_name(f"{log.name}.error")


def error_notes(folder: str | Path) -> list[Path]:
    """The error notes under ``folder`` (a study's logs), oldest first."""
    notes = Path(folder).rglob("*.log.error")
    return sorted(notes, key=lambda note: (note.stat().st_mtime_ns, str(note)))


def merged_notes(notes: Sequence[str]) -> list[str]:
    """Each distinct error once, naming every log it came from: jobs that read the same
    bad input (a panel cleaned under several vintage policies) fail with one message."""
    logs_by_message: dict[str, list[str]] = {}
    for note in notes:
        message, _, where = note.rstrip().rpartition("\n(traceback in ")
        if not message:
            message, where = note.rstrip(), ""
        logs = logs_by_message.setdefault(message, [])
        if where and where.rstrip(")") not in logs:
            logs.append(where.rstrip(")"))
    return [
        f"{message}\n(traceback in {', '.join(logs)})\n" if logs else f"{message}\n"
        for message, logs in logs_by_message.items()
    ]


def print_last(lines: Sequence[str], stream: TextIO | None = None) -> None:
    """Print ``lines`` when the process exits, after everything Snakemake prints on a
    failed run (its log's path, the elapsed time, its generic WorkflowError)."""

    def show() -> None:
        out = stream or sys.stderr
        out.write("".join(f"{line.rstrip()}\n" for line in lines))
        out.flush()

    atexit.register(show)


def log_to_file(path: str | Path) -> TextIO:
    """Route logging and stderr to ``path`` (created fresh) and return the stream; an
    uncaught error is written in full to ``path`` and its console lines to its note
    (:func:`error_note`), which a successful step removes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    error_note(path).unlink(missing_ok=True)
    stream = path.open("w", encoding="utf-8")
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        force=True,
        format="%(levelname)s %(name)s: %(message)s",
    )

    def report(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        traceback.print_exception(kind, error, trace, file=stream)
        stream.flush()
        error_note(path).write_text(console_message(error, path), encoding="utf-8")

    sys.excepthook = report
    return stream
