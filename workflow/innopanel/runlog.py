"""Send a workflow step's log records and stderr to the rule's ``log:`` file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO


def log_to_file(path: str | Path) -> TextIO:
    """Route logging and stderr to ``path`` (created fresh) and return the stream."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("w", encoding="utf-8")
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        force=True,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return stream
