"""Send a workflow step's log records and stderr to the rule's ``log:`` file, and its
error's sentence to the console too.

Snakemake shows a failing job's log only by its path ("check log file(s)"), so a step
that stops on bad input would tell the console nothing of what to fix. An uncaught
error therefore goes twice: its full traceback to the log, and its message (the package
raises errors as sentences naming the file, row, column or model, with the fix) to the
console's stderr, which Snakemake prints with the failing rule.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import TextIO


def console_message(error: BaseException, log: Path) -> str:
    """The lines a failing step prints to the console: its error and where the log is."""
    message = str(error).strip() or "(no message)"
    return f"Error: {type(error).__name__}: {message}\n(traceback in {log})\n"


def log_to_file(path: str | Path) -> TextIO:
    """Route logging and stderr to ``path`` (created fresh) and return the stream; an
    uncaught error is written in full to ``path`` and as its message to the console."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("w", encoding="utf-8")
    console = sys.stderr
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
        console.write(console_message(error, path))
        console.flush()

    sys.excepthook = report
    return stream
