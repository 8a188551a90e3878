"""What the clean step trusts about a staged file: its bytes, its privacy, its text.

The fetch step checks a source's SHA256 when it stages it and records the staged
copy's own SHA256 beside it (``<staged>.provenance.json``). A file changed or planted in
``data/staged/`` afterwards would be read as if it were the source, so the clean step
checks each staged file against that record, and against the config's pinned SHA256
where the staged file is the pinned file itself, before reading it
(:func:`verify_staged`).

A staged copy keeps its source's mode. A source that not everyone may read makes
everything derived from it as private (the workflow sets the run's umask,
:func:`innopanel.io.keep_outputs_private`), the data-quality report says so
(:func:`privacy_entry`), and error messages do not quote its content
(:func:`may_quote`); nor do they quote the header of a file from outside the project
(:func:`may_quote_header`). Readers quote through :class:`Quoting`, which knows both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innopanel.config.sources import FILE_KINDS, origin
from innopanel.config.specs import SourceSpec
from innopanel.data.readers import DataError
from innopanel.io import inherited_mode, sha256_file, world_readable

#: The fetch step's record of a staged file sits beside it, with this suffix.
PROVENANCE_SUFFIX = ".provenance.json"


def provenance_path(staged: str | os.PathLike[str]) -> Path:
    """Where the fetch step recorded the staged file ``staged`` (its SHA256 included)."""
    return Path(f"{staged}{PROVENANCE_SUFFIX}")


def expected_hashes(spec: SourceSpec, record: Mapping[str, Any]) -> dict[str, str]:
    """What the staged file's SHA256 must be, by who says so: the fetch step's record
    and, where the staged file is the pinned file itself (no archive member, no API
    answer), the config."""
    expected = {"its fetch record": str(record["staged"]["sha256"])}
    if spec.sha256 is not None and spec.archive is None and spec.kind != "api":
        expected[f"data.sources.{spec.name}.sha256"] = spec.sha256
    return expected


def verify_staged(spec: SourceSpec, staged: str | os.PathLike[str]) -> None:
    """Refuse a staged file whose SHA256 is not the one it was staged with, naming the
    file, both hashes and the fix (delete it, so the next run stages it again)."""
    staged = Path(staged)
    fix = f"Delete {staged} and {provenance_path(staged)} and rerun: the source is staged again."
    try:
        record = json.loads(provenance_path(staged).read_text(encoding="utf-8"))
        expected = expected_hashes(spec, record)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"source '{spec.name}': the staged file {staged} has no readable fetch record "
            f"({provenance_path(staged)}: {type(error).__name__}), so it cannot be "
            f"checked. {fix}"
        ) from None
    actual = sha256_file(staged)
    for who, sha256 in expected.items():
        if actual != sha256:
            raise DataError(
                f"source '{spec.name}': the staged file {staged} has SHA256 {actual}, but "
                f"{who} says {sha256}: it changed after it was staged, and is not read. "
                f"{fix}"
            )


def privacy_entry(
    staged: Mapping[str, str | os.PathLike[str]], unit_table: str | os.PathLike[str]
) -> dict[str, Any] | None:
    """The data-quality report's note on private inputs (None when everyone may read
    every staged source and the unit table): which ones, and the outputs' mode."""
    inputs = {f"source '{name}'": Path(path) for name, path in staged.items()}
    inputs["the unit table"] = Path(unit_table)
    mode = inherited_mode(inputs.values())
    if mode is None:
        return None
    private = [
        {"input": what, "mode": f"{os.stat(path).st_mode & 0o777:04o}"}
        for what, path in inputs.items()
        if not world_readable(path)
    ]
    return {"inputs": private, "outputs_mode": f"{mode:04o}"}


def privacy_markdown(entry: Mapping[str, Any] | None) -> list[str]:
    """The report's lines on private inputs (none when there are none)."""
    if entry is None:
        return []
    inputs = ", ".join(f"{item['input']} (mode {item['mode']})" for item in entry["inputs"])
    return [
        f"- Private inputs: {inputs} may not be read by everyone, so the panel, this "
        f"report, the logs and every later output of the run are written with mode "
        f"{entry['outputs_mode']}."
    ]


def may_quote(path: str | os.PathLike[str]) -> bool:
    """Whether an error message may quote a cell of ``path``: only if everyone may read
    the file (a symlink is judged by its target)."""
    return world_readable(path)


def may_quote_header(spec: SourceSpec, path: str | os.PathLike[str]) -> bool:
    """Whether an error message may quote the header (a whole line) of ``path``, read
    for source ``spec``: only if everyone may read it and both it and the file the
    source names are in the project (the working directory), so that a source pointed
    at a file elsewhere (``/etc/passwd``) never has its first line printed."""
    if not may_quote(path):
        return False
    files = [Path(path)]
    if spec.kind in FILE_KINDS and spec.path is not None:
        files.append(Path(spec.path))
    project = Path.cwd().resolve()
    return all(file.resolve().is_relative_to(project) for file in files)


@dataclass(frozen=True)
class Quoting:
    """What an error message may quote of one source file: its cells, its header."""

    cells: bool
    header: bool

    @classmethod
    def of(cls, spec: SourceSpec, path: str | os.PathLike[str]) -> Quoting:
        """The quoting allowed for ``path``, read for source ``spec``."""
        return cls(may_quote(path), may_quote_header(spec, path))

    def cell(self, text: str | None) -> str:
        """A cell as messages quote it: as written, or withheld for a private file."""
        if self.cells:
            return f"'{(text or '').strip()}'"
        return "(not quoted: the file is private)"

    def header_text(self, text: object) -> str:
        """Header text (a title, a label, a units row) as messages quote it: as written,
        or withheld for a private file or one outside the project."""
        if self.header:
            return f"'{text}'" if isinstance(text, str) else str(text)
        return "(not quoted: the file is private or outside the project)"


def study_input_files(
    sources: Iterable[SourceSpec], unit_table: str | os.PathLike[str]
) -> list[Path]:
    """The files on this machine a study's panel is made from: each file source's file
    (an archive's, if archived) and the unit table, those that exist (a missing one is
    the fetch step's error to report)."""
    paths = [Path(origin(spec)) for spec in sources if spec.kind in FILE_KINDS]
    return [path for path in [*paths, Path(unit_table)] if path.exists()]
