"""Yearbook tables: the reader on small built tables, encrypted .xls, editions, the mirror."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msoffcrypto
import openpyxl
import pandas as pd
import pytest

from innopanel.config.data_specs import (
    FetchSettings,
    data_limits,
    harmonisation,
    variable_specs,
    vintage_rules,
)
from innopanel.config.sources import check_sources
from innopanel.config.specs import source_spec
from innopanel.data.editions import (
    DECIMALS_SUFFIX,
    EditionFrame,
    combine_editions,
    difference_kind,
    printed_decimals,
)
from innopanel.data.fetch import fetch_url, github_raw_file, mirror_candidates
from innopanel.data.harmonise import DROPPED_UNIT, TOTAL_ROW
from innopanel.data.readers import DataError
from innopanel.data.transport import Retrieval
from innopanel.data.unit_names import normalise_unit_name, read_unit_table, unit_alias_map
from innopanel.data.yearbook import read_yearbook_table

ROOT = Path(__file__).resolve().parents[1]
UNITS = {
    "件": {"dimension": "count", "factor": 1},
    "人年": {"dimension": "person_years", "factor": 1},
    "%": {"dimension": "percent", "factor": 1},
}
VARIABLES = variable_specs(
    {
        "invention_patents_granted": {"kind": "source", "unit": "件", "label": "x", "min": 0},
        "rd_intensity": {"kind": "source", "unit": "%", "label": "x", "min": 0, "max": 100},
    }
)
MISSING = frozenset({"", "—", "..."})
# The study's rows that are no unit: the provincial study's lists.
HARMONISE = harmonisation(
    {
        "harmonise": {
            "totals": ["全国", "东部地区", "中部地区", "西部地区", "东北地区"],
            "drop_units": ["香港", "澳门", "台湾"],
        }
    }
)
PATENTS_TITLE = "8-8 国内三种专利授权数按地区分布(2016年)"
# A patents table as the yearbook prints it: title, English subtitle, units row, a
# header over three rows (合计 above 地区), spacer rows, totals, Hong Kong, a footnote.
PATENTS = [
    [PATENTS_TITLE],
    ["Three Kinds of Domestic Patents Granted by Region (2016)"],
    ["单位：件", "(piece)"],
    [None, None, "合  计"],
    ["地    区", "Region", "Total", "发  明", "实用新型"],
    [None, None, None, "Invention", "Utility Model"],
    [],
    ["全    国", "  National Total", 100, 40, 60],
    [],
    ["东部地区", "Eastern Region", 50, 20, 30],
    ["江    苏", "Jiangsu", 30, 12, 18],
    ["四川省", "Sichuan", "20", "8", "12"],
    ["香    港", "Hong Kong", 5, 1, 4],
    ["注：不含国外在华专利。", None, None, None, None],
    ["北京", "Beijing", 1, 1, 1],
]


@pytest.fixture(autouse=True)
def _project_is_the_test_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables written to tmp_path lie in the project, so messages may quote their header
    (a file outside the project never has its header quoted)."""
    monkeypatch.chdir(tmp_path)


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def yearbook_source(path: str, columns: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """A local yearbook table's source config, as the tests of yearbook tables write it."""
    return {
        "kind": "local",
        "path": path,
        "sha256": "0" * 64,
        "format": "excel",
        "encoding": "utf-8",
        "licence": "test",
        "citation": "test",
        "unit_column": "地区",
        "columns": columns,
        "table": table,
    }


def table_source(**overrides: Any) -> Any:
    raw = yearbook_source(
        "x.xlsx", {"invention_patents_granted": "发明"}, {"edition": 2016, "year": 2016}
    )
    raw.update(overrides)
    return source_spec("patents_2016", raw)


def read(path: Path, spec: Any) -> tuple[pd.DataFrame, Any]:
    return read_yearbook_table(
        path, spec, VARIABLES, UNITS, MISSING, limits=data_limits({}), harmonise=HARMONISE
    )


def test_single_year_table_reads_provinces_and_reports_totals(tmp_path: Path) -> None:
    frame, report = read(write_xlsx(tmp_path / "p.xlsx", PATENTS), table_source())
    assert frame["name_raw"].tolist() == ["江    苏", "四川省"]
    assert frame["invention_patents_granted"].tolist() == [12.0, 8.0]
    assert frame["year"].tolist() == [2016, 2016]
    assert frame["source_row"].tolist() == [11, 12]
    # The footnote ends the table: the row after it is not read.
    assert report.rows_read == 2
    assert report.header_blocks == [{"line": 4, "units": {"invention_patents_granted": "件"}}]
    dropped = {(d["region"], d["reason"]) for d in report.totals_dropped}
    assert dropped == {
        ("全    国", TOTAL_ROW),
        ("东部地区", TOTAL_ROW),
        ("香    港", DROPPED_UNIT),
    }
    national = next(d for d in report.totals_dropped if d["region"] == "全    国")
    assert national["values"] == {"invention_patents_granted 2016": 40.0}


def test_spaced_and_suffixed_province_names_map_to_ids() -> None:
    table = read_unit_table(ROOT / "config" / "provinces.csv")
    aliases = unit_alias_map(table)
    assert len(table) == 31
    for name, unit_id in [
        ("江    苏", "jiangsu"),
        ("四川省", "sichuan"),
        ("内 蒙 古", "inner_mongolia"),
        ("广西壮族自治区", "guangxi"),
        ("宁夏回族自治区", "ningxia"),
        ("新疆维吾尔自治区", "xinjiang"),
        ("重庆市", "chongqing"),
        ("Inner Mongolia", "inner_mongolia"),
        ("陕西", "shaanxi"),
        ("山西", "shanxi"),
    ]:
        assert aliases[normalise_unit_name(name)] == unit_id, name


def test_wide_year_table_goes_long(tmp_path: Path) -> None:
    rows = [
        ["1-8 各地区研究与试验发展(R&D)经费投入强度"],
        ["The R&D Expenditure Input Intensity by Region"],
        ["单位:%", None, None, None, "(%)"],
        ["地 区", "Region", "2018", 2019, 2020.0],
        ["全 国", "National Total", "2.14", "2.23", "2.40"],
        ["四 川", "Sichuan", "1.81", "1.87", 2.171421],
        ["西 藏", "Tibet", "0.25", "...", "0.23"],
    ]
    spec = table_source(
        columns={"rd_intensity": "经费投入强度"},
        table={"edition": 2020, "wide_years": True},
    )
    frame, report = read(write_xlsx(tmp_path / "w.xlsx", rows), spec)
    cells = zip(frame["name_raw"], frame["year"], frame["rd_intensity"], strict=True)
    assert list(cells) == [
        ("四 川", 2018, 1.81),
        ("四 川", 2019, 1.87),
        ("四 川", 2020, 2.171421),
        ("西 藏", 2018, 0.25),
        ("西 藏", 2019, pytest.approx(float("nan"), nan_ok=True)),
        ("西 藏", 2020, 0.23),
    ]
    assert frame["rd_intensity" + DECIMALS_SUFFIX].tolist()[:3] == [2, 2, 6]
    assert report.header_blocks[0]["units"] == {"rd_intensity": "%"}
    assert report.totals_dropped[0]["values"]["rd_intensity 2020"] == 2.4


WIDE_TITLE = ["1-8 各地区研究与试验发展(R&D)经费投入强度"]
WIDE_SPEC = {
    "columns": {"rd_intensity": "经费投入强度"},
    "table": {"edition": 2020, "wide_years": True},
}


def test_years_under_one_shared_label_are_read(tmp_path: Path) -> None:
    rows = [
        WIDE_TITLE,
        ["单位:%"],
        ["地 区", "Region", "年份", "年份"],
        [None, None, 2019, 2020],
        ["四 川", "Sichuan", "1.87", "2.17"],
    ]
    frame, _ = read(write_xlsx(tmp_path / "w.xlsx", rows), table_source(**WIDE_SPEC))
    assert frame["year"].tolist() == [2019, 2020]
    assert frame["rd_intensity"].tolist() == [1.87, 2.17]


def test_a_year_under_a_label_of_its_own_is_refused_not_dropped(tmp_path: Path) -> None:
    rows = [
        WIDE_TITLE,
        ["单位:%"],
        ["地 区", "Region", None, "其中"],
        [None, None, 2019, 2020],
        ["四 川", "Sichuan", "1.87", "0.42"],
    ]
    with pytest.raises(DataError, match=r"C \(none\), D '其中'.*part of the series"):
        read(write_xlsx(tmp_path / "w.xlsx", rows), table_source(**WIDE_SPEC))


def test_wide_table_title_must_name_its_variable(tmp_path: Path) -> None:
    rows = [["1-4 各地区R&D人员全时当量"], ["单位:%"], ["地区", "Region", "2018"], ["四川", "S"]]
    spec = table_source(
        columns={"rd_intensity": "经费投入强度"},
        table={"edition": 2018, "wide_years": True},
    )
    with pytest.raises(DataError, match="does not contain '经费投入强度'"):
        read(write_xlsx(tmp_path / "w.xlsx", rows), spec)


def test_title_year_must_be_the_configured_year(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "p.xlsx", PATENTS)
    spec = table_source(table={"edition": 2017, "year": 2017})
    with pytest.raises(DataError, match=r"the title says 2016 but data\.sources\.patents_2016"):
        read(path, spec)


@pytest.mark.parametrize(
    ("header", "message"),
    [("发明专利X", "no column's header contains '发明专利X'"), ("Total", "several")],
)
def test_column_text_must_match_exactly_one_header(
    tmp_path: Path, header: str, message: str
) -> None:
    rows = [list(row) for row in PATENTS]
    if header == "Total":
        rows[5] = [None, None, None, "Invention Total", "Utility Model"]
    spec = table_source(columns={"invention_patents_granted": header})
    with pytest.raises(DataError, match=message):
        read(write_xlsx(tmp_path / "p.xlsx", rows), spec)


def test_region_header_must_be_found(tmp_path: Path) -> None:
    spec = table_source(unit_column="省份")
    with pytest.raises(DataError, match="no header cell '省份'"):
        read(write_xlsx(tmp_path / "p.xlsx", PATENTS), spec)


def test_units_row_and_config_must_agree(tmp_path: Path) -> None:
    spec = table_source(columns={"invention_patents_granted": {"column": "发明", "unit": "人年"}})
    with pytest.raises(DataError, match="the units row says '件' but"):
        read(write_xlsx(tmp_path / "p.xlsx", PATENTS), spec)


def test_a_cell_that_is_not_a_number_names_row_and_column(tmp_path: Path) -> None:
    rows = [list(row) for row in PATENTS]
    rows[10] = ["江    苏", "Jiangsu", 30, "12件", 18]
    with pytest.raises(DataError, match=r"row 11, column 4 \('invention_patents_granted', 2016\)"):
        read(write_xlsx(tmp_path / "p.xlsx", rows), table_source())


def test_a_private_table_is_never_quoted_in_messages(tmp_path: Path) -> None:
    """Its cells, title, units row and header stay out of messages (and logs)."""
    rows = [list(row) for row in PATENTS]
    rows[10] = ["江    苏", "Jiangsu", 30, "secret-cell", 18]
    path = write_xlsx(tmp_path / "p.xlsx", rows)
    path.chmod(0o600)
    with pytest.raises(DataError, match="row 11, column 4") as cell:
        read(path, table_source())
    units = table_source(columns={"invention_patents_granted": {"column": "发明", "unit": "人年"}})
    with pytest.raises(DataError, match="the units row says") as units_row:
        read(path, units)
    with pytest.raises(DataError, match="no column's header contains") as header:
        read(path, table_source(columns={"invention_patents_granted": "发明专利X"}))
    for message in (str(cell.value), str(units_row.value), str(header.value)):
        assert "secret-cell" not in message and "'件'" not in message
        assert "实用新型" not in message and "(not quoted: the file is private" in message


def test_a_table_outside_the_project_has_its_cells_quoted_but_not_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [list(row) for row in PATENTS]
    rows[10] = ["江    苏", "Jiangsu", 30, "12件", 18]
    path = write_xlsx(tmp_path / "p.xlsx", rows)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    with pytest.raises(DataError, match="value '12件'"):
        read(path, table_source())
    with pytest.raises(DataError, match="outside the project") as header:
        read(path, table_source(columns={"invention_patents_granted": "发明专利X"}))
    assert "实用新型" not in str(header.value)


def test_encrypted_xls_is_decrypted_in_memory_and_left_unchanged() -> None:
    path = ROOT / "data/raw/china_provinces/part08-output/01-patent/02-authority/raw-2016.xls"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open("rb") as stream:
        assert msoffcrypto.OfficeFile(stream).is_encrypted()
    table = {"edition": 2016, "year": 2016}
    spec = table_source(format="xls", path=str(path), table=table)
    frame, report = read_yearbook_table(
        path, spec, VARIABLES, UNITS, MISSING, limits=data_limits({}), harmonise=HARMONISE
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert len(frame) == 31
    beijing = frame.loc[frame["name_raw"] == "北 京", "invention_patents_granted"]
    assert beijing.tolist() == [40602.0]
    dropped = [d["region"] for d in report.totals_dropped]
    assert dropped == ["全 国", *HARMONISE.totals[1:], "香 港", "澳 门", "台 湾"]
    assert report.totals_dropped[0]["values"] == {"invention_patents_granted 2016": 302136.0}


def test_a_legacy_xls_sheet_over_the_excel_caps_is_refused() -> None:
    path = ROOT / "data/raw/china_provinces/part08-output/01-patent/02-authority/raw-2016.xls"
    table = {"edition": 2016, "year": 2016}
    spec = table_source(format="xls", path=str(path), table=table)
    # Its first sheet spans 45 rows x 6 columns (270 cells).
    for limits, key in (
        ({"excel_max_rows": 44}, "excel_max_rows = 44"),
        ({"excel_max_columns": 5}, "excel_max_columns = 5"),
        ({"excel_max_cells": 269}, "excel_max_cells = 269"),
    ):
        with pytest.raises(DataError) as error:
            read_yearbook_table(
                path,
                spec,
                VARIABLES,
                UNITS,
                MISSING,
                limits=data_limits({"limits": limits}),
                harmonise=HARMONISE,
            )
        message = str(error.value)
        assert "sheet '1' spans 45 rows x 6 columns (270 cells)" in message, message
        assert f"over data.limits.{key}" in message and "raise the cap" in message
    frame, _ = read_yearbook_table(
        path,
        spec,
        VARIABLES,
        UNITS,
        MISSING,
        limits=data_limits({"limits": {"excel_max_cells": 270}}),
        harmonise=HARMONISE,
    )
    assert len(frame) > 0


def test_an_html_page_named_xls_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "raw-2020-soshu.xls"
    page.write_text("<html><body><table><tr><td>地区</td></tr></table></body></html>")
    spec = table_source(format="xls", path=str(page))
    with pytest.raises(DataError, match="is an HTML page, not xls data"):
        read(page, spec)


def test_table_settings_are_checked() -> None:
    both = table_source(table={"edition": 2018, "year": 2018, "wide_years": True})
    csv = table_source(format="csv")
    problems = check_sources({"a": both, "b": csv}, UNITS)
    assert any("year: 2020) or wide_years: true" in p for p in problems)
    assert any("set format: xls or excel" in p for p in problems)


# ---------------------------------------------------------------- editions


def edition(source: str, number: int, cells: dict[tuple[str, int], tuple[float, int]]) -> Any:
    rows = [
        {"unit_id": u, "year": y, "rd_intensity": v, "rd_intensity" + DECIMALS_SUFFIX: d}
        for (u, y), (v, d) in cells.items()
    ]
    return EditionFrame(source, number, pd.DataFrame(rows))


def test_latest_edition_wins_and_differences_are_classed() -> None:
    parts = [
        edition("e2019", 2019, {("beijing", 2019): (6.31, 2), ("tianjin", 2019): (3.28, 2)}),
        edition(
            "e2020",
            2020,
            {("beijing", 2019): (6.301539564, 9), ("tianjin", 2019): (3.293881754, 9)},
        ),
        edition("e2022", 2022, {("beijing", 2019): (6.30, 2), ("tianjin", 2019): (3.29, 2)}),
    ]
    wide, revisions, _ = combine_editions(parts, ["rd_intensity"], vintage_rules({}))
    assert wide.set_index("unit_id")["rd_intensity"].to_dict() == {"beijing": 6.30, "tianjin": 3.29}
    classes = {(r["unit_id"], r["earlier_edition"]): r["kind"] for r in revisions}
    assert classes == {
        ("beijing", 2019): "revision",  # 6.31 -> 6.30: both to two decimals
        ("beijing", 2020): "rounding",  # 6.3015… rounds to 6.30
        ("tianjin", 2019): "revision",
        ("tianjin", 2020): "rounding",
    }
    first = next(r for r in revisions if r["earlier_edition"] == 2019 and r["unit_id"] == "beijing")
    assert (first["earlier_value"], first["later_value"], first["later_edition"]) == (
        6.31,
        6.30,
        2022,
    )


def test_a_later_edition_without_the_value_does_not_erase_it() -> None:
    parts = [
        edition("a", 2018, {("sichuan", 2017): (1.72, 2)}),
        edition("b", 2019, {("sichuan", 2017): (float("nan"), 0)}),
    ]
    wide, revisions, _ = combine_editions(parts, ["rd_intensity"], vintage_rules({}))
    assert wide["rd_intensity"].tolist() == [1.72]
    assert revisions == []


def test_two_sources_of_one_edition_must_not_disagree() -> None:
    parts = [
        edition("a", 2019, {("sichuan", 2017): (1.72, 2)}),
        edition("b", 2019, {("sichuan", 2017): (1.73, 2)}),
    ]
    with pytest.raises(DataError, match="are both edition 2019"):
        combine_editions(parts, ["rd_intensity"], vintage_rules({}))


@pytest.mark.parametrize(
    ("earlier", "later", "kind"),
    [
        ((2.00, 2), (2.02, 2), "revision"),
        ((193718.4, 1), (193718.0, 0), "rounding"),
        ((1.0, 0), (1.6, 1), "revision"),
    ],
)
def test_difference_kind(earlier: tuple, later: tuple, kind: str) -> None:
    assert difference_kind(*earlier, *later) == kind


def test_printed_decimals_count_trailing_zeros() -> None:
    assert [printed_decimals(t) for t in ("2.00", "1234", " 6.3015 ", None, "…")] == [2, 0, 4, 0, 0]


# ---------------------------------------------------------------- the mirror


URL = (
    "https://raw.githubusercontent.com/huhuaping/techme/9ad60a190dec4a56953da9c478d42cd44c80762a/"
    "data-raw/tech-yearbook/part01-over/01-labor-hour/raw-2010.xls"
)


def test_github_raw_file_names_repository_commit_and_path() -> None:
    assert github_raw_file(URL) == {
        "repository": "https://github.com/huhuaping/techme",
        "commit": "9ad60a190dec4a56953da9c478d42cd44c80762a",
        "path": "data-raw/tech-yearbook/part01-over/01-labor-hour/raw-2010.xls",
    }
    assert github_raw_file("https://example.org/a/b/c/d.xls") is None


def test_a_mirror_of_a_tree_serves_files_that_share_a_name(tmp_path: Path) -> None:
    """Two raw-2010.xls in different folders: the one at the URL's path is used."""
    mirror = tmp_path / "mirror"
    wanted = mirror / "part01-over/01-labor-hour/raw-2010.xls"
    other = mirror / "part08-output/01-patent/02-authority/raw-2010.xls"
    for path, text in ((wanted, b"labour"), (other, b"patents")):
        path.parent.mkdir(parents=True)
        path.write_bytes(text)
    assert mirror / "part01-over/01-labor-hour/raw-2010.xls" in mirror_candidates(
        mirror, URL, "f" * 64
    )
    sha = hashlib.sha256(b"labour").hexdigest()
    spec = source_spec(
        "rd_personnel_2010",
        {
            "kind": "url",
            "url": URL,
            "sha256": sha,
            "format": "xls",
            "encoding": "utf-8",
            "licence": "MIT",
            "citation": "techme",
            "unit_column": "地区",
            "columns": {"rd_personnel_fte": "全时当量"},
            "table": {"edition": 2010, "year": 2010},
        },
    )
    settings = FetchSettings(
        cache_dir=str(tmp_path / "cache"),
        mirror_dir=str(mirror),
        offline=True,
        allow_insecure_http=False,
        timeout_seconds=1,
        attempt_seconds=1,
        retries=0,
        backoff_seconds=0,
        max_bytes=1000,
        limits=data_limits({}),
    )
    retrieval = Retrieval(source=spec.name)
    copy = fetch_url(spec, settings, retrieval)
    assert copy.read_bytes() == b"labour"
    assert retrieval.origin == f"mirror {wanted}"


SHARED_INCUBATORS = (
    ROOT.parent / "shared/data/china-st-yearbook/raw/part09-service/01-incubator/raw-2023.xls"
)


def test_a_table_the_study_does_not_use_is_read_from_config_alone() -> None:
    """The incubator table (no 单位 row; units inside headers) needs settings, not code."""
    if not SHARED_INCUBATORS.is_file():
        pytest.skip(f"{SHARED_INCUBATORS} is not shipped and is absent here")
    spec = source_spec(
        "incubators_2023",
        {
            "kind": "local",
            "path": str(SHARED_INCUBATORS),
            "sha256": hashlib.sha256(SHARED_INCUBATORS.read_bytes()).hexdigest(),
            "format": "xls",
            "encoding": "utf-8",
            "licence": "MIT",
            "citation": "techme",
            "unit_column": "地区",
            "columns": {"incubators": {"column": "在统孵化器数量", "unit": "个"}},
            "table": {"edition": 2023, "year": 2023},
        },
    )
    variables = variable_specs({"incubators": {"kind": "source", "unit": "个", "label": "x"}})
    units = {"个": {"dimension": "count", "factor": 1}}
    frame, report = read_yearbook_table(
        SHARED_INCUBATORS,
        spec,
        variables,
        units,
        MISSING,
        limits=data_limits({}),
        harmonise=HARMONISE,
    )
    assert len(frame) == 31
    assert frame.loc[frame["name_raw"] == "北京", "incubators"].tolist() == [284.0]
    assert report.totals_dropped[0]["values"] == {"incubators 2023": 7015.0}
