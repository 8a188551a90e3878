"""Atomic, deterministic file writing, and the data note every machine table carries.

Every output goes through :func:`atomic_path`: it is written to a temporary file in
the destination's directory and renamed into place only when complete, so a
failed step never leaves a partial file behind (rename is atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``destination``; move it into place on success.

    The file gets the usual umask-based mode, narrowed to ``mode`` if given (a copy of
    a file only its owner may read stays readable only by its owner).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        # mkstemp creates owner-only files; give outputs the usual umask-based mode.
        usual = 0o666 & ~_current_umask()
        os.chmod(temporary_path, usual if mode is None else usual & mode)
        os.replace(temporary_path, destination)
    finally:
        temporary_path.unlink(missing_ok=True)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permission bits an output always keeps, however private its inputs: the owner's
#: read and write (the workflow must read and replace its own files).
OWNER_BITS = 0o600


def world_readable(path: str | os.PathLike[str]) -> bool:
    """Whether anyone may read ``path``; a symlink is judged by the file it points to."""
    return bool(os.stat(path).st_mode & 0o004)


def inherited_mode(paths: Iterable[str | os.PathLike[str]]) -> int | None:
    """The permission bits of files made from ``paths``: None when every one is
    world-readable, else the bits every one grants (plus :data:`OWNER_BITS`), e.g. 0o600
    from a source only its owner may read, 0o640 from one its group may read too."""
    modes = [os.stat(path).st_mode & 0o777 for path in paths]
    if all(mode & 0o004 for mode in modes):
        return None
    granted = 0o777
    for mode in modes:
        granted &= mode
    return (granted | OWNER_BITS) & 0o666


def keep_outputs_private(mode: int | None) -> None:
    """Make every file this process (and the processes it starts) creates from now on
    at most as readable as ``mode`` (None: unchanged), through the umask, so that
    files written by any library (logs, figures) are covered, not only ours.
    Directories keep the search bit wherever ``mode`` lets read, so they stay usable."""
    if mode is not None:
        searchable = mode | (mode & 0o444) >> 2
        os.umask(_current_umask() | (0o777 & ~searchable))


def write_text(destination: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text with Unix newlines atomically."""
    with atomic_path(destination) as temporary:
        temporary.write_text(text, encoding="utf-8", newline="\n")


def write_bytes(destination: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes atomically."""
    with atomic_path(destination) as temporary:
        temporary.write_bytes(data)


def write_json(destination: str | os.PathLike[str], payload: Any) -> None:
    """Write JSON with sorted keys and a trailing newline, so bytes are stable."""
    write_text(
        destination, json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... unless the cell is a number, possibly with significance stars: "-0.12", "+3", "-1.5e-3**".
NUMBER_CELL = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?\**")


def spreadsheet_safe(cell: Any) -> Any:
    """Return a CSV cell a spreadsheet will show as text, never run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (say a
    label "=HYPERLINK(...)") gets a leading apostrophe, which spreadsheets hide; numbers,
    negative ones included, and every other value are returned unchanged.
    """
    if (
        isinstance(cell, str)
        and cell.startswith(FORMULA_STARTS)
        and not NUMBER_CELL.fullmatch(cell)
    ):
        return "'" + cell
    return cell


def write_csv(destination: str | os.PathLike[str], frame: Any) -> None:
    """Write a pandas DataFrame as CSV with a fixed float format and Unix newlines.

    Twelve significant digits keep full statistical precision while absorbing
    last-bit differences between BLAS builds. Text cells and headers that a spreadsheet
    would run as formulas are neutralised (:func:`spreadsheet_safe`).
    """
    # Every column that is not numbers, booleans or dates may hold text.
    text_columns = [name for name in frame.columns if frame[name].dtype.kind not in "biufcmM"]
    safe = frame.assign(**{name: frame[name].map(spreadsheet_safe) for name in text_columns})
    safe.columns = [spreadsheet_safe(str(name)) for name in frame.columns]
    with atomic_path(destination) as temporary:
        safe.to_csv(temporary, index=False, float_format="%.12g", lineterminator="\n")


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(value: Any) -> str:
    """Return the hex SHA256 digest of ``value`` as canonical JSON (sorted keys, no
    spaces, UTF-8), so equal values have equal digests whatever their key order."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def with_data_note(frame: Any, note: str) -> Any:
    """Return a copy of a data frame with a last column ``data_note`` holding ``note``.

    Machine-readable outputs (the panel, estimates, diagnostics) carry the data note
    on every row, so a file read on its own still says whether its data are synthetic.
    """
    return frame.assign(data_note=note)
