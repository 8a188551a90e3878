"""What a declared source is: its kind, where it lives, its staged name, its checks.

A source under ``data.sources`` is one of four kinds:

- ``bundled``: a file shipped in this repository (the synthetic demo panel);
- ``local``: a researcher's own file on disk (CSV, Excel, parquet or JSON);
- ``url``: a file on an HTTP(S) server, e.g. an archive deposit;
- ``api``: a public statistics API (the World Bank indicators API), fetched page by page.

Files and URLs are pinned by SHA256 in the config; an API response is checksummed when
it is fetched, and may be pinned too. Functions here take a
:class:`innopanel.config.specs.SourceSpec`. Only the standard library and the config
specs are imported, so the Snakefile can check sources at start-up without pandas.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from innopanel.config.paths import StudyPaths
from innopanel.config.specs import SourceSpec

FILE_KINDS = ("bundled", "local")
# The staged copy keeps the format's usual extension, so people can open it.
EXTENSIONS = {"csv": "csv", "excel": "xlsx", "xls": "xls", "parquet": "parquet", "json": "json"}
# Leading bytes of an HTML page; a server's error or login page is the usual cause.
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


def staged_path(spec: SourceSpec, paths: StudyPaths) -> str:
    """Return where the fetch step puts a study's verified copy of a source.

    Each study has its own folder (two studies may name a source alike); the copy keeps
    its data format's extension, not the archive's.
    """
    return paths.staged_file(f"{spec.name}.{EXTENSIONS[spec.format]}")


def origin(spec: SourceSpec) -> str:
    """Return the file or URL a file or URL source is read from (an archive's, if archived)."""
    where = spec.path if spec.kind in FILE_KINDS else spec.url
    if where is None:
        raise ValueError(f"source '{spec.name}' ({spec.kind}) has no file or URL.")
    return where


def describe_location(spec: SourceSpec) -> str:
    """Return a one-line human description of where a source comes from."""
    if spec.api is not None:
        where = f"{spec.api.provider} API at {spec.api.base_url}"
    else:
        where = origin(spec)
    if spec.archive:
        where += f" ({spec.archive} archive, member {spec.member})"
    return where


def display_location(spec: SourceSpec, staged: str | Path) -> str:
    """Where messages say a source's rows come from: the file or URL the user knows.

    The staged copy is byte-identical to it (the fetch step checked), so row numbers
    agree; an API answer is only known by its staged copy.
    """
    if spec.kind == "api":
        return str(staged)
    return f"{origin(spec)}, member {spec.member}" if spec.archive else origin(spec)


def looks_like_html(head: bytes) -> bool:
    """True if bytes start like an HTML document (after whitespace and a BOM)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    return text.startswith(HTML_MARKERS)


def check_sources(sources: Mapping[str, SourceSpec], units: Mapping[str, Any]) -> list[str]:
    """Return problems with ``data.sources`` that the schema cannot see (empty if none)."""
    problems: list[str] = []
    for name, spec in sources.items():
        key = f"data.sources.{name}"
        if spec.kind in FILE_KINDS and not Path(origin(spec)).is_file():
            problems.append(
                f"{key}.path: file {spec.path} not found. Put the file there, or correct "
                "the path (it is relative to the directory snakemake runs in)."
            )
        if spec.kind == "api" and spec.format != "json":
            problems.append(f"{key}.format: an api source is read as json; set format: json.")
        if bool(spec.archive) != bool(spec.member):
            problems.append(
                f"{key}: archive and member go together: name the archive type "
                "(zip or tar) and the member file to read from it."
            )
        for column in spec.columns:
            if column.unit is not None and column.unit not in units:
                problems.append(
                    f"{key}.columns.{column.variable}.unit = '{column.unit}' is not listed "
                    "under units; add it there with its dimension and factor."
                )
        if spec.table is not None:
            problems += _check_table(key, spec)
        problems += [
            f"{key}.columns.{column.variable}.sub_column: only a single-year yearbook table "
            "(table.year) has sub-columns under a spanning header. Map the column's own "
            "header instead."
            for column in spec.columns
            if column.sub_column is not None and (spec.table is None or spec.table.wide_years)
        ]
        if spec.api is not None:
            indicators = set(spec.api.indicators)
            for column in spec.columns:
                if column.header not in indicators:
                    problems.append(
                        f"{key}.columns.{column.variable}: '{column.header}' is not one "
                        f"of {key}.api.indicators {sorted(indicators)}."
                    )
        problems += _columns_mapped_twice(key, spec)
    return problems + _variables_from_two_sources(sources)


def _columns_mapped_twice(key: str, spec: SourceSpec) -> list[str]:
    """One header mapped to two variables: one of them would be a silent copy."""
    by_header: dict[str, list[str]] = {}
    for column in spec.columns:
        header = unicodedata.normalize("NFKC", column.header).strip()
        if column.sub_column is not None:
            header += " / " + unicodedata.normalize("NFKC", column.sub_column).strip()
        by_header.setdefault(header, []).append(column.variable)
    return [
        f"{key}.columns: {variables} all map the column '{header}'; one column is one "
        "variable. Map each variable to its own column."
        for header, variables in by_header.items()
        if len(variables) > 1
    ]


def _variables_from_two_sources(sources: Mapping[str, SourceSpec]) -> list[str]:
    """A variable mapped by two sources, which would collide when the sources are merged.

    Yearbook tables (``table``) are editions of one series and are meant to overlap:
    the latest edition wins, and its revisions are reported.
    """
    providers: dict[str, list[str]] = {}
    for name, spec in sources.items():
        if spec.table is None:
            for column in spec.columns:
                providers.setdefault(column.variable, []).append(name)
    return [
        f"variables.{variable} is mapped by data.sources {names}; a variable comes from one "
        "source. Remove the mapping from all but one (or rename one into its own variable)."
        for variable, names in providers.items()
        if len(names) > 1
    ]


def _check_table(key: str, spec: SourceSpec) -> list[str]:
    """Problems with a yearbook table's settings: its years, and one variable if wide."""
    table = spec.table
    assert table is not None
    if spec.format not in ("excel", "xls"):
        return [f"{key}.format: a yearbook table is a workbook; set format: xls or excel."]
    if table.wide_years == (table.year is not None):
        return [
            f"{key}.table: give the data year of a single-year table (year: 2020) or "
            "wide_years: true for a table whose columns are years, not both."
        ]
    if table.wide_years and len(spec.columns) != 1:
        return [
            f"{key}.columns: a wide-year table holds one variable under its year columns; "
            f"map exactly one (it maps {len(spec.columns)})."
        ]
    return []
