"""Cleaning: raw yearbook extracts in, one validated unit-year (city-year) panel out.

Steps, each a function: read a source (encoding, repeated header blocks, units in
headers, missing markers, thousands separators) -> harmonise unit names to one id
-> drop exact duplicates (reported), refuse conflicting ones -> convert units ->
merge sources on (unit, year) -> derive analysis variables -> validate.
Every problem in the input is an error naming the file, row and column, and the fix.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from innopanel.config import LAG_SUFFIX, ConfigError

HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[（(](?P<unit>[^()（）]+)[)）]\s*$")
THOUSANDS_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
CITY_SUFFIXES = ("市", " city", " shi")
PANEL_ID_COLUMNS = ["unit_id", "year"]
# Unit-table columns that are matching aids, not descriptions to carry into the panel.
UNIT_TABLE_MATCHING_COLUMNS = ("unit_id", "aliases")


class DataError(ValueError):
    """The input data cannot be used as it is; the message says where and how to fix it."""


@dataclass
class SourceReport:
    """What cleaning did to one source, for the data-quality report."""

    name: str
    path: str
    rows_read: int = 0
    header_blocks: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def split_header(header: str) -> tuple[str, str | None]:
    """Split ``"地区生产总值(亿元)"`` into ``("地区生产总值", "亿元")``; no unit gives None."""
    text = unicodedata.normalize("NFKC", header).strip()
    match = HEADER_UNIT.match(text)
    if match is None:
        return text, None
    return match.group("name").strip(), match.group("unit").strip()


def decode_source(path: Path, encoding: str, source: str) -> str:
    """Read a whole file as text, turning decoding failures into a clear error."""
    if not path.is_file():
        raise DataError(f"source '{source}': file {path} not found. Run the fetch rule first.")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(
            f"source '{source}': {path} is empty. Replace it with the real extract, "
            "or remove the source from data.sources in config/config.yaml."
        )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise DataError(
            f"source '{source}': {path} is not valid {encoding} (byte "
            f"0x{raw[error.start]:02x} at offset {error.start}). Set "
            f"data.sources.{source}.encoding to the file's real encoding (e.g. gbk, utf-8-sig)."
        ) from None
    except LookupError:
        raise DataError(
            f"source '{source}': unknown encoding '{encoding}' in data.sources.{source}.encoding."
        ) from None


def parse_number(cell: str, missing_markers: frozenset[str]) -> float | None:
    """Parse one cell: a missing marker gives NaN, an unparsable cell gives None."""
    text = cell.strip()
    if text in missing_markers:
        return math.nan
    if THOUSANDS_NUMBER.match(text):
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def read_source(
    path: str | Path,
    source: str,
    spec: Mapping[str, Any],
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
    missing_markers: Sequence[str],
) -> tuple[pd.DataFrame, SourceReport]:
    """Read one source into canonical units.

    Returns a frame with ``source_row`` (1-based line in the file), ``name_raw``,
    ``year`` and one column per mapped variable, plus the source's report. A line
    repeating the header starts a new block whose units may differ (yearbooks
    change units between years).
    """
    path = Path(path)
    report = SourceReport(name=source, path=str(path))
    text = decode_source(path, spec["encoding"], source)
    markers = frozenset(m.strip() for m in missing_markers)
    wanted: dict[str, str] = dict(spec["columns"])
    records: list[dict[str, Any]] = []
    layout: dict[str, tuple[int, str | None]] | None = None
    unit_index = year_index = -1

    for line_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not any(cell.strip() for cell in row):
            continue
        first = unicodedata.normalize("NFKC", row[0]).strip()
        if layout is None or first == unicodedata.normalize("NFKC", spec["unit_column"]):
            layout, unit_index, year_index = _read_header_row(
                row, line_number, path, source, spec, variables, units
            )
            report.header_blocks.append(
                {"line": line_number, "units": {v: u for v, (_, u) in layout.items()}}
            )
            continue
        report.rows_read += 1
        record: dict[str, Any] = {"source_row": line_number}
        record["name_raw"] = row[unit_index].strip() if unit_index < len(row) else ""
        year_cell = row[year_index].strip() if year_index < len(row) else ""
        year = parse_number(year_cell, frozenset())
        if year is None or math.isnan(year) or year != int(year):
            raise DataError(
                f"{path}, row {line_number}, column '{spec['year_column']}': year "
                f"'{year_cell}' is not a whole number. Fix the cell in a copy of the file."
            )
        record["year"] = int(year)
        for variable, (index, unit) in layout.items():
            cell = row[index] if index < len(row) else ""
            value = parse_number(cell, markers)
            if value is None:
                raise DataError(
                    f"{path}, row {line_number}, column '{wanted[variable]}': value "
                    f"'{cell.strip()}' is not a number. Correct the cell, or add it to "
                    "data.missing_markers in config/config.yaml if it means 'missing'."
                )
            value *= unit_factor(unit, variables[variable]["unit"], units)
            minimum = variables[variable].get("min")
            if minimum is not None and value < minimum:
                raise DataError(
                    f"{path}, row {line_number}, column '{wanted[variable]}': value "
                    f"'{cell.strip()}' is below the minimum {minimum} allowed for "
                    f"'{variable}'. Correct the source value."
                )
            record[variable] = value
        records.append(record)

    if layout is None or not records:
        raise DataError(f"source '{source}': {path} has a header but no data rows.")
    columns = ["source_row", "name_raw", "year", *wanted]
    return pd.DataFrame.from_records(records, columns=columns), report


def _read_header_row(
    row: Sequence[str],
    line_number: int,
    path: Path,
    source: str,
    spec: Mapping[str, Any],
    variables: Mapping[str, Mapping[str, Any]],
    units: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, tuple[int, str | None]], int, int]:
    """Locate the id columns and each mapped variable (with its unit) in a header row."""
    parsed = [split_header(cell) for cell in row]
    names = [name for name, _ in parsed]

    def locate(header: str, key: str) -> int:
        base = unicodedata.normalize("NFKC", header).strip()
        if base in names:
            return names.index(base)
        raise DataError(
            f"{path}, row {line_number}: required column '{header}' (data.sources.{source}."
            f"{key}) is missing; the header has {names}. Fix the mapping in config/config.yaml."
        )

    layout: dict[str, tuple[int, str | None]] = {}
    for variable, header in spec["columns"].items():
        index = locate(header, f"columns.{variable}")
        unit = parsed[index][1]
        target = variables[variable]["unit"]
        if unit is None:
            raise DataError(
                f"{path}, row {line_number}, column '{row[index]}': no unit in the header; "
                f"expected e.g. '{header}({target})'. Add the unit to the header."
            )
        if unit not in units:
            raise DataError(
                f"{path}, row {line_number}, column '{row[index]}': unit '{unit}' is not "
                "listed under units in config/config.yaml; add it with its dimension and factor."
            )
        if units[unit]["dimension"] != units[target]["dimension"]:
            raise DataError(
                f"{path}, row {line_number}, column '{row[index]}': unit '{unit}' "
                f"({units[unit]['dimension']}) cannot be converted to '{target}' "
                f"({units[target]['dimension']}) for '{variable}'. Check the column mapping."
            )
        layout[variable] = (index, unit)
    return (
        layout,
        locate(spec["unit_column"], "unit_column"),
        locate(spec["year_column"], "year_column"),
    )


def unit_factor(unit: str | None, target: str, units: Mapping[str, Mapping[str, Any]]) -> float:
    """Return the factor converting a value in ``unit`` to ``target``."""
    if unit is None or unit == target:
        return 1.0
    return float(units[unit]["factor"]) / float(units[target]["factor"])


# ---------------------------------------------------------------- cities


def normalise_unit_name(name: str) -> str:
    """Reduce a unit name to a comparison key: 'Chengdu City', '成都市', 'chengdu' agree."""
    key = unicodedata.normalize("NFKC", name).strip().casefold()
    key = key.replace("’", "'").replace("‘", "'")
    for suffix in CITY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return re.sub(r"[\s'\-]", "", key)


def read_unit_table(path: str | Path) -> pd.DataFrame:
    """Read the unit table (one row per city or country) as strings, tier as integer."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if "tier" in table.columns:
        table["tier"] = table["tier"].astype(int)
    if table["unit_id"].duplicated().any():
        duplicated = table.loc[table["unit_id"].duplicated(), "unit_id"].tolist()
        raise ConfigError(f"{path}: duplicated unit_id {duplicated}; each unit needs one row.")
    return table


def unit_alias_map(units: pd.DataFrame, path: str | Path = "unit table") -> dict[str, str]:
    """Map every accepted name form (id, English, Chinese, aliases) to its unit_id."""
    aliases: dict[str, str] = {}
    name_columns = [c for c in ("unit_id", "name_en", "name_zh") if c in units.columns]
    for row in units.to_dict("records"):
        names = [row[c] for c in name_columns if row[c]]
        names += [alias for alias in str(row.get("aliases", "")).split("|") if alias.strip()]
        for name in names:
            key = normalise_unit_name(name)
            if aliases.get(key, row["unit_id"]) != row["unit_id"]:
                raise ConfigError(
                    f"{path}: the name '{name}' would mean both '{aliases[key]}' and "
                    f"'{row['unit_id']}'; make the aliases unambiguous."
                )
            aliases[key] = row["unit_id"]
    return aliases


def harmonise_units(
    frame: pd.DataFrame,
    aliases: Mapping[str, str],
    path: str | Path,
    unit_column: str,
    unit_table: str | Path,
    unit: str = "city",
) -> pd.DataFrame:
    """Replace raw unit names with canonical ids; an unknown name is an error."""
    keys = frame["name_raw"].map(normalise_unit_name)
    unit_ids = keys.map(aliases)
    unknown = frame.loc[unit_ids.isna(), ["source_row", "name_raw"]]
    if not unknown.empty:
        first = unknown.iloc[0]
        names = sorted(set(unknown["name_raw"]))
        raise DataError(
            f"{path}, row {first['source_row']}, column '{unit_column}': unknown {unit} "
            f"'{first['name_raw']}' ({len(unknown)} row(s), names {names[:5]}). Add the name "
            f"to the aliases column of {unit_table}, or add the {unit} as a new row there."
        )
    out = frame.drop(columns="name_raw")
    out.insert(1, "unit_id", unit_ids.astype(str))
    return out


def drop_duplicates(frame: pd.DataFrame, path: str | Path, report: SourceReport) -> pd.DataFrame:
    """Drop exact duplicate unit-years (reported); refuse conflicting ones."""
    values = [c for c in frame.columns if c not in ("source_row",)]
    exact = frame.duplicated(subset=values, keep="first")
    for row in frame.loc[exact].itertuples(index=False):
        report.dropped.append(
            {
                "row": int(row.source_row),
                "unit_id": row.unit_id,
                "year": int(row.year),
                "reason": "exact duplicate of an earlier row",
            }
        )
    kept = frame.loc[~exact]
    clash = kept.duplicated(subset=["unit_id", "year"], keep=False)
    if clash.any():
        rows = kept.loc[clash].sort_values(["unit_id", "year", "source_row"])
        first, second = rows.iloc[0], rows.iloc[1]
        differing = [
            c
            for c in values
            if c not in ("unit_id", "year")
            and not (pd.isna(first[c]) and pd.isna(second[c]))
            and first[c] != second[c]
        ]
        raise DataError(
            f"{path}, rows {first['source_row']} and {second['source_row']}: "
            f"'{first['unit_id']}' year {first['year']} appears twice with different values "
            f"in {differing}. Keep the correct row and delete the other in a copy of the file."
        )
    return kept


# ---------------------------------------------------------------- derivations


def _safe_log(values: pd.Series) -> pd.Series:
    """Natural log where positive, NaN elsewhere (log of zero is undefined, not -inf)."""
    return np.log(values.where(values > 0))


def _open_platforms(panel: pd.DataFrame) -> pd.Series:
    parts = panel[["key_laboratories", "engineering_research_centres", "incubators"]]
    return parts.sum(axis=1, min_count=3)


# Each derived variable: the inputs it needs and how it is computed. Population is
# in 万人 (10,000 persons), so "x per 10,000 residents" is x / population.
DERIVATIONS: dict[str, tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]] = {
    "rd_intensity": (("rd_expenditure", "gdp"), lambda p: 100 * p["rd_expenditure"] / p["gdp"]),
    "talent": (("rd_personnel", "population"), lambda p: p["rd_personnel"] / p["population"]),
    "log_talent": (("talent",), lambda p: _safe_log(p["talent"])),
    "college_students_per_10k": (
        ("college_students", "population"),
        lambda p: p["college_students"] / p["population"],
    ),
    "open_platforms": (
        ("key_laboratories", "engineering_research_centres", "incubators"),
        _open_platforms,
    ),
    # GDP in 亿元 (1e8 CNY) over population in 万人 (1e4 persons) gives CNY per person / 1e4.
    "gdp_per_capita": (("gdp", "population"), lambda p: 1e4 * p["gdp"] / p["population"]),
    "log_gdp_per_capita": (("gdp_per_capita",), lambda p: _safe_log(p["gdp_per_capita"])),
    "log_patents_granted": (
        ("invention_patents_granted",),
        lambda p: _safe_log(p["invention_patents_granted"]),
    ),
    "patents_per_10k": (
        ("invention_patents_granted", "population"),
        lambda p: p["invention_patents_granted"] / p["population"],
    ),
}


def derive_variables(
    panel: pd.DataFrame, variables: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Add the configured derived variables and the `_lag1` of those marked ``lag``."""
    panel = panel.copy()
    for name, spec in variables.items():
        if spec["kind"] != "derived":
            continue
        if name not in DERIVATIONS:
            raise ConfigError(
                f"variables.{name} is 'derived' but innopanel knows no derivation for it; "
                f"known: {sorted(DERIVATIONS)}."
            )
        inputs, compute = DERIVATIONS[name]
        absent = [i for i in inputs if i not in panel.columns]
        if absent:
            raise ConfigError(
                f"variables.{name} needs {absent}; list them under variables (before {name})."
            )
        panel[name] = compute(panel).astype("float64")
    lagged = [name for name, spec in variables.items() if spec.get("lag", False)]
    # Lag by calendar year, not by row position, so a gap year gives a missing lag.
    previous = panel[["unit_id", "year", *lagged]].copy()
    previous["year"] = previous["year"] + 1
    previous = previous.rename(columns={name: name + LAG_SUFFIX for name in lagged})
    return panel.merge(previous, on=["unit_id", "year"], how="left")


# ---------------------------------------------------------------- validation


def panel_schema(
    variables: Mapping[str, Mapping[str, Any]],
    unit_ids: Sequence[str],
    first_year: int,
    last_year: int,
) -> pa.DataFrameSchema:
    """The analysis panel's contract: unique unit-years, known ids, types and ranges."""
    columns: dict[str, pa.Column] = {
        "unit_id": pa.Column(str, pa.Check.isin(list(unit_ids))),
        "year": pa.Column("int64", pa.Check.in_range(first_year, last_year)),
    }
    for name, spec in variables.items():
        checks = []
        if "min" in spec:
            checks.append(pa.Check.ge(spec["min"]))
        if "max" in spec:
            checks.append(pa.Check.le(spec["max"]))
        columns[name] = pa.Column("float64", checks, nullable=True)
        if spec.get("lag", False):
            columns[name + LAG_SUFFIX] = pa.Column("float64", checks, nullable=True)
    return pa.DataFrameSchema(columns, unique=["unit_id", "year"], strict=False, coerce=False)


def validate_panel(panel: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate lazily and report every failing check with its unit-year."""
    try:
        return schema.validate(panel, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.head(10)
        lines = []
        for case in cases.itertuples(index=False):
            where = ""
            if case.index is not None and not pd.isna(case.index) and case.index in panel.index:
                row = panel.loc[case.index]
                where = f"'{row['unit_id']}' year {row['year']}, "
            lines.append(
                f"{where}column '{case.column}': {case.check} failed (value {case.failure_case})"
            )
        raise DataError(
            f"the cleaned panel fails {len(errors.failure_cases)} check(s):\n  - "
            + "\n  - ".join(lines)
            + "\nCorrect the source values, or adjust min/max under variables in "
            "config/config.yaml."
        ) from None


# ---------------------------------------------------------------- the whole step


def clean_panel(
    staged: Mapping[str, str | Path],
    config: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read every staged source, harmonise, merge, derive and validate.

    ``staged`` maps source name to its staged file. Returns the panel and the
    data-quality report (a JSON-ready dict).
    """
    study, data, variables = config["study"], config["data"], config["variables"]
    first_year, last_year = int(study["first_year"]), int(study["last_year"])
    units = read_unit_table(data["unit_table"])
    aliases = unit_alias_map(units, data["unit_table"])
    reports: list[SourceReport] = []
    frames: list[pd.DataFrame] = []

    for source, spec in data["sources"].items():
        path = staged[source]
        frame, report = read_source(
            path, source, spec, variables, config["units"], data["missing_markers"]
        )
        frame = harmonise_units(
            frame, aliases, path, spec["unit_column"], data["unit_table"], study["unit"]
        )
        frame = drop_duplicates(frame, path, report)
        outside = ~frame["year"].between(first_year, last_year)
        for row in frame.loc[outside].itertuples(index=False):
            report.dropped.append(
                {
                    "row": int(row.source_row),
                    "unit_id": row.unit_id,
                    "year": int(row.year),
                    "reason": f"year outside the study window {first_year}-{last_year}",
                }
            )
        frames.append(frame.loc[~outside].drop(columns="source_row"))
        reports.append(report)

    grid = pd.MultiIndex.from_product(
        [units["unit_id"].tolist(), range(first_year, last_year + 1)], names=["unit_id", "year"]
    ).to_frame(index=False)
    grid["year"] = grid["year"].astype("int64")
    panel = grid
    for frame in frames:
        panel = panel.merge(frame, on=["unit_id", "year"], how="left", validate="one_to_one")
    source_variables = [v for v, s in variables.items() if s["kind"] == "source"]
    panel[source_variables] = panel[source_variables].astype("float64")
    absent = panel[source_variables].isna().all(axis=1)

    panel = derive_variables(panel, variables)
    descriptive = [c for c in units.columns if c not in UNIT_TABLE_MATCHING_COLUMNS]
    value_columns = [c for c in panel.columns if c not in PANEL_ID_COLUMNS]
    panel = panel.merge(units[["unit_id", *descriptive]], on="unit_id", how="left")
    panel = panel[PANEL_ID_COLUMNS + descriptive + value_columns].sort_values(["unit_id", "year"])
    panel = panel.reset_index(drop=True)
    panel = validate_panel(
        panel, panel_schema(variables, units["unit_id"].tolist(), first_year, last_year)
    )

    missing = {
        column: {
            "missing": int(panel[column].isna().sum()),
            "share": round(float(panel[column].isna().mean()), 6),
        }
        for column in value_columns
    }
    zero_outcomes = int((panel.get("invention_patents_granted", pd.Series(dtype=float)) == 0).sum())
    quality = {
        "synthetic": bool(data["synthetic"]),
        "data_note": data["data_note"],
        "panel": {
            "cities": int(panel["unit_id"].nunique()),
            "years": [first_year, last_year],
            "rows": len(panel),
            "unit_years_absent_from_every_source": [
                {"unit_id": c, "year": int(y)}
                for c, y in grid.loc[absent.to_numpy(), ["unit_id", "year"]].itertuples(index=False)
            ],
            "zero_patent_counts_excluded_from_logs": zero_outcomes,
        },
        "sources": [
            {
                "name": r.name,
                "path": r.path,
                "rows_read": r.rows_read,
                "header_blocks": r.header_blocks,
                "rows_dropped": r.dropped,
            }
            for r in reports
        ],
        "missing_cells": missing,
    }
    return panel, quality


def _markdown_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def quality_markdown(quality: Mapping[str, Any]) -> str:
    """Render the data-quality report as Markdown for people."""
    lines = ["# Data-quality report", ""]
    if quality["synthetic"]:
        lines += [f"> **{quality['data_note']}**", ""]
    panel = quality["panel"]
    lines += [
        f"- Cities: {panel['cities']}; years {panel['years'][0]}–{panel['years'][1]}; "
        f"rows: {panel['rows']}.",
        "- Unit-years absent from every source: "
        f"{len(panel['unit_years_absent_from_every_source'])}.",
        "- Zero patent counts excluded from logs: "
        f"{panel['zero_patent_counts_excluded_from_logs']}.",
        "",
        "## Sources",
        "",
        "| source | rows read | header blocks (units) | rows dropped |",
        "|---|---:|---|---:|",
    ]
    for source in quality["sources"]:
        units = "; ".join(
            f"line {b['line']}: " + ", ".join(f"{v} [{u}]" for v, u in b["units"].items())
            for b in source["header_blocks"][:2]
        )
        more = len(source["header_blocks"]) - 2
        if more > 0:
            units += f"; … {more} more"
        lines.append(
            _markdown_row([source["name"], source["rows_read"], units, len(source["rows_dropped"])])
        )
    lines += [
        "",
        "## Rows dropped",
        "",
        "| source | row | unit | year | reason |",
        "|---|---:|---|---:|---|",
    ]
    for source in quality["sources"]:
        for drop in source["rows_dropped"]:
            lines.append(
                _markdown_row(
                    [source["name"], drop["row"], drop["unit_id"], drop["year"], drop["reason"]]
                )
            )
    lines += [
        "",
        "## Missing cells per variable",
        "",
        "| variable | missing | share |",
        "|---|---:|---:|",
    ]
    for variable, count in quality["missing_cells"].items():
        lines.append(f"| {variable} | {count['missing']} | {count['share']:.2%} |")
    return "\n".join(lines) + "\n"
