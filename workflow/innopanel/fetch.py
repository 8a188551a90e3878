"""Staging raw sources: copy each declared file and prove it is the one config names.

Raw files are only ever read. A staged copy is written to a temporary file, its
SHA256 checked, and only then renamed into place, so a mismatch leaves nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from innopanel.io import atomic_path


class SourceError(RuntimeError):
    """A raw source is missing or is not the file the configuration pins."""


def stage_source(
    name: str,
    source_path: str | os.PathLike[str],
    expected_sha256: str,
    destination: str | os.PathLike[str],
) -> str:
    """Copy ``source_path`` to ``destination`` if its SHA256 matches; return the digest."""
    source_path = Path(source_path)
    if not source_path.is_file():
        raise SourceError(
            f"source '{name}': file {source_path} not found. Check data.sources.{name}.path "
            "in config/config.yaml, or restore the file (git checkout -- data/raw)."
        )
    with atomic_path(destination) as temporary:
        digest = hashlib.sha256()
        with source_path.open("rb") as reader, temporary.open("wb") as writer:
            for chunk in iter(lambda: reader.read(1 << 20), b""):
                digest.update(chunk)
                writer.write(chunk)
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise SourceError(
                f"source '{name}': SHA256 mismatch for {source_path}: config pins "
                f"{expected_sha256} but the file has {actual}. If the file changed on purpose, "
                f"review it and set data.sources.{name}.sha256 to {actual}; otherwise restore "
                "the original file."
            )
        shutil.copymode(source_path, temporary)
    return actual
