"""What a declared source is: its kind, where it lives, its staged name, its column mapping.

A source under ``data.sources`` is one of four kinds:

- ``bundled``: a file shipped in this repository (the synthetic demo panel);
- ``local``: a researcher's own file on disk (CSV, Excel, parquet or JSON);
- ``url``: a file on an HTTP(S) server, e.g. an archive deposit;
- ``api``: a public statistics API (the World Bank indicators API), fetched page by page.

Files and URLs are pinned by SHA256 in the config; an API response is checksummed when
it is fetched, and may be pinned too. Only the standard library is imported here, so
the Snakefile can check sources at start-up without paying for pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_KINDS = ("bundled", "local")
# The staged copy keeps the format's usual extension, so people can open it.
EXTENSIONS = {"csv": "csv", "excel": "xlsx", "parquet": "parquet", "json": "json"}
# Leading bytes of an HTML page; a server's error or login page is the usual cause.
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


def staged_extension(spec: Mapping[str, Any]) -> str:
    """Return the extension of a source's staged copy (its data format's, not the archive's)."""
    return EXTENSIONS[spec["format"]]


def staged_path(name: str, spec: Mapping[str, Any]) -> str:
    """Return where the fetch step puts the verified copy of source ``name``."""
    return f"data/staged/{name}.{staged_extension(spec)}"


def column_header(mapping: str | Mapping[str, str]) -> str:
    """Return the header a variable is read from: a string, or ``{column: ..., unit: ...}``."""
    return mapping if isinstance(mapping, str) else mapping["column"]


def column_unit(mapping: str | Mapping[str, str]) -> str | None:
    """Return the unit the config states for a column, or None if the header carries it."""
    return None if isinstance(mapping, str) else mapping.get("unit")


def describe_location(spec: Mapping[str, Any]) -> str:
    """Return a one-line human description of where a source comes from."""
    if spec["kind"] in FILE_KINDS:
        where = spec["path"]
    elif spec["kind"] == "url":
        where = spec["url"]
    else:
        api = spec["api"]
        where = f"{api['provider']} API at {api['base_url']}"
    if spec.get("archive"):
        where += f" ({spec['archive']} archive, member {spec['member']})"
    return where


def display_location(spec: Mapping[str, Any], staged: str | Path) -> str:
    """Where messages say a source's rows come from: the file or URL the user knows.

    The staged copy is byte-identical to it (the fetch step checked), so row numbers
    agree; an API answer is only known by its staged copy.
    """
    if spec["kind"] == "api":
        return str(staged)
    where = spec["path"] if spec["kind"] in FILE_KINDS else spec["url"]
    return f"{where}, member {spec['member']}" if spec.get("archive") else where


def looks_like_html(head: bytes) -> bool:
    """True if bytes start like an HTML document (after whitespace and a BOM)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    return text.startswith(HTML_MARKERS)


def check_sources(data: Mapping[str, Any], units: Mapping[str, Any]) -> list[str]:
    """Return problems with ``data.sources`` that the schema cannot see (empty if none)."""
    problems: list[str] = []
    for name, spec in data["sources"].items():
        key = f"data.sources.{name}"
        if spec["kind"] in FILE_KINDS and not Path(spec["path"]).is_file():
            problems.append(
                f"{key}.path: file {spec['path']} not found. Put the file there, or correct "
                "the path (it is relative to the directory snakemake runs in)."
            )
        if spec["kind"] == "api" and spec["format"] != "json":
            problems.append(f"{key}.format: an api source is read as json; set format: json.")
        if bool(spec.get("archive")) != bool(spec.get("member")):
            problems.append(
                f"{key}: archive and member go together: name the archive type "
                "(zip or tar) and the member file to read from it."
            )
        for variable, mapping in spec["columns"].items():
            unit = column_unit(mapping)
            if unit is not None and unit not in units:
                problems.append(
                    f"{key}.columns.{variable}.unit = '{unit}' is not listed under units; "
                    "add it there with its dimension and factor."
                )
        if spec["kind"] == "api":
            indicators = set(spec["api"]["indicators"])
            for variable, mapping in spec["columns"].items():
                if column_header(mapping) not in indicators:
                    problems.append(
                        f"{key}.columns.{variable}: '{column_header(mapping)}' is not one "
                        f"of {key}.api.indicators {sorted(indicators)}."
                    )
    return problems
