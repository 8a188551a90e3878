"""The demo's three messy "yearbook extracts", as text ready to be encoded.

Each extract has the quirks real statistical files have: the economy extract writes
Chinese city names with or without 市, GDP with thousands separators and an em-dash
missing marker, plus duplicate rows; the science & technology extract repeats its
header once per year and switches R&D expenditure from 万元 to 亿元 between blocks; the
platform registry spells English names with aliases and has duplicate rows. All the
randomness comes from the caller's formatting generator, so formatting never shifts
the panel's draws.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from innopanel.synthetic.calibration import CALIBRATION_YEAR, PROTECTED_CITIES
from innopanel.synthetic.dgp import LAST_YEAR_IN_WAN_YUAN

ECONOMY_FILE = "economy_yearbook.csv"
SCIENCE_TECHNOLOGY_FILE = "science_technology_yearbook_gbk.csv"
OPEN_PLATFORMS_FILE = "open_platforms_registry.csv"

MISSING_SHARE = 0.01
ECONOMY_MISSING_MARKER = "—"  # U+2014 EM DASH
SCIENCE_TECHNOLOGY_MISSING_MARKER = ".."
OPEN_PLATFORMS_MISSING_MARKER = ".."
ECONOMY_DUPLICATES = 2
OPEN_PLATFORMS_DUPLICATES = 5
# Share of rows whose English name is written with an alias, where the city has one.
ALIAS_SHARE = 0.35
# Share of rows whose city name carries its suffix (市 in Chinese, " City" in English).
CITY_SUFFIX_SHARE = 0.5

ECONOMY_HEADER: tuple[str, ...] = (
    "城市",
    "年份",
    "地区生产总值(亿元)",
    "常住人口(万人)",
    "普通高等学校在校学生数(万人)",
    "第二产业增加值占GDP比重(%)",
)
OPEN_PLATFORMS_HEADER: tuple[str, ...] = (
    "City",
    "Year",
    "National key laboratories (count)",
    "National engineering research centres (count)",
    "National-level incubators (count)",
)


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def _blank_cells(
    rows: list[list[str]],
    numeric_columns: Sequence[int],
    protected: Sequence[bool],
    marker: str,
    rng: np.random.Generator,
) -> None:
    """Replace about MISSING_SHARE of the unprotected numeric cells by ``marker``."""
    cells = [
        (r, c)
        for r, row in enumerate(rows)
        if not protected[r]
        for c in numeric_columns
        if row[c] != marker
    ]
    n_missing = round(MISSING_SHARE * len(rows) * len(numeric_columns))
    for index in np.sort(rng.choice(len(cells), size=n_missing, replace=False)):
        r, c = cells[index]
        rows[r][c] = marker


def _insert_duplicates(rows: list[list[str]], count: int, rng: np.random.Generator) -> None:
    """Insert exact copies of ``count`` distinct rows at random positions."""
    originals = rng.choice(len(rows), size=count, replace=False)
    copies = [list(rows[i]) for i in originals]
    for copy in copies:
        rows.insert(int(rng.integers(0, len(rows) + 1)), copy)


def _is_protected(panel: pd.DataFrame) -> np.ndarray:
    """Rows never given a missing marker: the calibrated cities' calibration year."""
    return (
        panel["unit_id"].isin(PROTECTED_CITIES) & (panel["year"] == CALIBRATION_YEAR)
    ).to_numpy()


def economy_text(panel: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator) -> str:
    """The economy extract: Chinese names with or without 市, thousands separators."""
    names = units.set_index("unit_id")["name_zh"]
    order = {unit: k for k, unit in enumerate(units["unit_id"])}
    ordered = panel.assign(_order=panel["unit_id"].map(order)).sort_values(
        ["_order", "year"], kind="stable"
    )
    with_suffix = rng.random(len(ordered)) < CITY_SUFFIX_SHARE
    rows = [
        [
            names[record.unit_id] + ("市" if suffix else ""),
            str(record.year),
            f"{record.gdp:,.1f}",
            f"{record.population:.2f}",
            f"{record.college_students / 1e4:.2f}",
            f"{record.secondary_share:.2f}",
        ]
        for record, suffix in zip(ordered.itertuples(index=False), with_suffix, strict=True)
    ]
    _blank_cells(rows, range(2, 6), _is_protected(ordered), ECONOMY_MISSING_MARKER, rng)
    _insert_duplicates(rows, ECONOMY_DUPLICATES, rng)
    return _csv_text([list(ECONOMY_HEADER), *rows])


def _format_rd_expenditure(value_yi: float, year: int) -> str:
    if year <= LAST_YEAR_IN_WAN_YUAN:
        return str(round(value_yi * 1e4))
    return f"{value_yi:.2f}"


def science_technology_header(year: int) -> list[str]:
    """Header line of one year's block in the science & technology extract."""
    unit = "万元" if year <= LAST_YEAR_IN_WAN_YUAN else "亿元"
    return [
        "地区",
        "年份",
        f"R&D经费内部支出({unit})",
        "R&D人员(人)",
        "发明专利申请量(件)",
        "发明专利授权量(件)",
    ]


def science_technology_text(
    panel: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator
) -> str:
    """The S&T extract: one block per year, each with its own header and R&D unit."""
    names = units.set_index("unit_id")["name_zh"]
    order = {unit: k for k, unit in enumerate(units["unit_id"])}
    ordered = panel.assign(_order=panel["unit_id"].map(order)).sort_values(
        ["year", "_order"], kind="stable"
    )
    rows = [
        [
            names[record.unit_id],
            str(record.year),
            _format_rd_expenditure(record.rd_expenditure, record.year),
            str(record.rd_personnel),
            str(record.invention_patent_applications),
            str(record.invention_patents_granted),
        ]
        for record in ordered.itertuples(index=False)
    ]
    _blank_cells(rows, range(2, 6), _is_protected(ordered), SCIENCE_TECHNOLOGY_MISSING_MARKER, rng)
    # One block per yearly extract, each with its own header (and unit).
    blocks = []
    years = ordered["year"].to_numpy()
    for year in sorted(set(years.tolist())):
        block_rows = [row for row, row_year in zip(rows, years, strict=True) if row_year == year]
        blocks.append(_csv_text([science_technology_header(year), *block_rows]))
    return "".join(blocks)


def _english_name(record: pd.Series, rng: np.random.Generator) -> str:
    aliases = [alias for alias in str(record["aliases"] or "").split("|") if alias]
    if aliases and rng.random() < ALIAS_SHARE:
        return aliases[int(rng.integers(0, len(aliases)))]
    return record["name_en"] + (" City" if rng.random() < CITY_SUFFIX_SHARE else "")


def open_platforms_text(panel: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator) -> str:
    """The platform registry: English names, aliases and `` City`` suffixes, duplicates."""
    table = units.set_index("unit_id").fillna({"aliases": ""})
    ordered = panel.assign(_name=panel["unit_id"].map(table["name_en"])).sort_values(
        ["_name", "year"], kind="stable"
    )
    rows = [
        [
            _english_name(table.loc[record.unit_id], rng),
            str(record.year),
            str(record.key_laboratories),
            str(record.engineering_research_centres),
            str(record.incubators),
        ]
        for record in ordered.itertuples(index=False)
    ]
    _blank_cells(rows, range(2, 5), _is_protected(ordered), OPEN_PLATFORMS_MISSING_MARKER, rng)
    _insert_duplicates(rows, OPEN_PLATFORMS_DUPLICATES, rng)
    return _csv_text([list(OPEN_PLATFORMS_HEADER), *rows])
