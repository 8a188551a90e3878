"""Hostile inputs (issue 22): yearbook layouts that are ambiguous, and workbooks, XML and
JSON built to mislead or exhaust a reader. Each is refused with the file, the place and
the fix; none gives a silent wrong value, and none crashes with a bare exception.

The yearbook cases are copies of real bundled tables (decrypted in memory, edited, and
written as .xlsx into tmp_path); the raw data is never touched.
"""

from __future__ import annotations

import io
import json
import re
import tracemalloc
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from loopback import LoopbackServer
from python_calamine import CalamineWorkbook
from test_bad_input_data import (
    digest_tree,
    make_study,
    patents_workbook,
    pin,
    run_data_steps,
)
from test_worldbank import api_spec
from test_yearbook import HARMONISE, MISSING, UNITS, VARIABLES, table_source

from innopanel.config.checks import ConfigError
from innopanel.config.data_specs import data_limits, fetch_settings
from innopanel.config.schema import check_schema
from innopanel.config.sources import check_sources
from innopanel.config.specs import source_spec
from innopanel.data.fetch import stage
from innopanel.data.json_bounds import json_shape
from innopanel.data.readers import DataError, decrypt_default_key, read_sheets
from innopanel.data.sheet_xml import scan_sheet
from innopanel.data.transport import SourceError
from innopanel.data.yearbook import column_letter, read_yearbook_table

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schemas" / "config.schema.yaml"
RAW = ROOT / "data" / "raw" / "china_provinces"
PATENTS_2022 = RAW / "part08-output/01-patent/02-authority/raw-2022.xls"
INTENSITY_2023 = RAW / "part01-over/02-spend-intense/raw-2023.xls"
SHEET = "xl/worksheets/sheet1.xml"


# ---------------------------------------------------------------- helpers


def printed_grid(path: Path) -> list[list[Any]]:
    """A bundled table's first sheet as printed (decrypted in memory)."""
    plain = decrypt_default_key(path.read_bytes(), str(path), "test")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(plain))
    sheet = workbook.get_sheet_by_name(workbook.sheet_names[0])
    return [list(row) for row in sheet.to_python(skip_empty_area=False)]


def write_grid(path: Path, rows: list[list[Any]], merges: tuple[str, ...] = ()) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append([None if cell == "" else cell for cell in row])
    for cells in merges:
        sheet.merge_cells(cells)
    workbook.save(path)
    return path


def read_table(path: Path, spec: Any, **caps: int) -> Any:
    frame, _ = read_yearbook_table(
        path,
        spec,
        VARIABLES,
        UNITS,
        MISSING,
        limits=data_limits({"limits": caps}),
        harmonise=HARMONISE,
    )
    return frame


def patents_2022(**columns: Any) -> Any:
    mapping = columns or {"invention_patents_granted": "发明"}
    return table_source(columns=mapping, table={"edition": 2022, "year": 2022})


def shared_invention_header(tmp_path: Path, *, merged: bool) -> Path:
    """The 2022 patents table with 发明 spanning two sub-columns: 占比(%) (the share of
    the province's patents, D) before 数量 (the count, E), as issue 22 found it."""
    rows = printed_grid(PATENTS_2022)
    edited: list[list[Any]] = []
    for index, row in enumerate(rows):
        count = row[3]
        if index == 5:  # 发明 over two sub-columns, which a new header row names
            edited.append([*row[:4], "", *row[4:]])
            edited.append(["", "", "", "占比(%)", "数量", "", "", ""])
        elif index > 5 and re.fullmatch(r"\d+", str(count)):
            share = round(100 * int(count) / int(row[2]), 1)
            edited.append([*row[:3], share, int(count), *row[4:]])
        else:
            edited.append([*row[:4], "", *row[4:]])
    merges = ("A5:A7", "B5:B7", "C5:C7", "D5:G5") + (("D6:E6",) if merged else ())
    return write_grid(tmp_path / "patents-2022.xlsx", edited, merges)


def beijing(frame: Any, variable: str = "invention_patents_granted") -> list[float]:
    return frame.loc[frame["name_raw"] == "北 京", variable].tolist()


def with_member(path: Path, member: str, edit: Any) -> Path:
    """Rewrite one member of an .xlsx package (``edit``: old bytes -> new bytes)."""
    with zipfile.ZipFile(path) as bundle:
        parts = {name: bundle.read(name) for name in bundle.namelist()}
    parts[member] = edit(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in parts.items():
            bundle.writestr(name, data)
    return path


def small_workbook(tmp_path: Path) -> Path:
    return write_grid(tmp_path / "w.xlsx", [["region", "year", "x"], ["成都", 2020, "1.5"]])


def plain_source(path: Path, file_format: str, **extra: Any) -> Any:
    raw = {
        "kind": "local",
        "path": str(path),
        "sha256": "0" * 64,
        "format": file_format,
        "encoding": "utf-8",
        "licence": "test",
        "citation": "test",
        "unit_column": "region",
        "year_column": "year",
        "columns": {"x": "x"},
    }
    return source_spec("hostile", raw | extra)


def refused(path: Path, spec: Any, **caps: int) -> str:
    with pytest.raises(DataError) as error:
        read_sheets(path, spec, data_limits({"limits": caps}))
    return str(error.value)


# ------------------------------------------- yearbook layouts that refuse ambiguity


def test_the_unedited_2022_patents_table_reads_beijing_as_printed(tmp_path: Path) -> None:
    path = write_grid(tmp_path / "p.xlsx", printed_grid(PATENTS_2022))
    assert beijing(read_table(path, patents_2022())) == [88127.0]


@pytest.mark.parametrize("merged", [True, False], ids=["merged", "labels-below"])
def test_a_header_over_two_sub_columns_is_refused_naming_the_cells(
    tmp_path: Path, merged: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a file in the project: its header may be quoted
    path = shared_invention_header(tmp_path, merged=merged)
    with pytest.raises(DataError) as error:
        read_table(path, patents_2022())
    message = str(error.value)
    for expected in (
        "row 6, column(s) D-E",
        "the header '发明' (data.sources.patents_2016.columns.invention_patents_granted)",
        "spans the sub-columns '占比(%)' (D), '数量' (E)",
        "{column: 发明, sub_column: <one of them>}",
    ):
        assert expected in message, message


def test_a_declared_sub_column_picks_the_count_not_the_share(tmp_path: Path) -> None:
    path = shared_invention_header(tmp_path, merged=True)
    column = {"column": "发明", "sub_column": "数量"}
    frame = read_table(path, patents_2022(invention_patents_granted=column))
    assert beijing(frame) == [88127.0]
    assert len(frame) == 31


def test_a_sub_column_that_is_not_under_the_header_is_refused(tmp_path: Path) -> None:
    path = shared_invention_header(tmp_path, merged=True)
    column = {"column": "发明", "sub_column": "件数"}
    with pytest.raises(DataError, match=r"sub_column '件数' matches none of the sub-columns"):
        read_table(path, patents_2022(invention_patents_granted=column))


def test_sub_column_is_only_for_yearbook_tables() -> None:
    spec = plain_source(Path("x.csv"), "csv", columns={"x": {"column": "x", "sub_column": "n"}})
    wide = table_source(
        columns={"rd_intensity": {"column": "经费投入强度", "sub_column": "2020"}},
        table={"edition": 2023, "wide_years": True},
    )
    problems = check_sources({"hostile": spec, "wide": wide}, UNITS)
    for key in ("hostile.columns.x", "wide.columns.rd_intensity"):
        expected = f"{key}.sub_column: only a single-year yearbook table"
        assert any(expected in p for p in problems), problems


def test_the_schema_takes_sub_column_and_refuses_a_bare_column() -> None:
    config = yaml.safe_load((ROOT / "config/studies/china_provinces.yaml").read_text("utf-8"))
    source = config["data"]["sources"]["patents_granted_2022"]
    source["columns"] = {"invention_patents_granted": {"column": "发明", "sub_column": "数量"}}
    check_schema(config, SCHEMA)
    source["columns"] = {"invention_patents_granted": {"column": "发明"}}
    with pytest.raises(ConfigError, match="invention_patents_granted"):
        check_schema(config, SCHEMA)


def test_a_year_that_heads_two_columns_is_refused_naming_both(tmp_path: Path) -> None:
    rows = printed_grid(INTENSITY_2023)
    assert rows[4][9:11] == ["2019", "2020"]
    spec = table_source(
        columns={"rd_intensity": "经费投入强度"}, table={"edition": 2023, "wide_years": True}
    )
    intact = read_table(write_grid(tmp_path / "intact.xlsx", rows), spec)
    assert intact.query("year == 2019")["rd_intensity"].iloc[0] == 6.30  # Beijing
    rows[4][10] = "2019"  # 2020 retyped as 2019
    with pytest.raises(DataError) as error:
        read_table(write_grid(tmp_path / "retyped.xlsx", rows), spec)
    assert "the year 2019 heads two columns, J and K" in str(error.value), str(error.value)


def test_a_blank_region_cell_in_a_row_with_values_is_refused(tmp_path: Path) -> None:
    rows = printed_grid(PATENTS_2022)
    assert rows[7][:2] == ["北 京", "Beijing"]
    rows[7][0] = ""
    with pytest.raises(DataError) as error:
        read_table(write_grid(tmp_path / "p.xlsx", rows), patents_2022())
    message = str(error.value)
    assert "row 8: the region cell (A8) is blank but the row holds values (D8 '88127')" in message
    assert "Enter the region's name" in message


def test_a_blank_row_with_only_english_text_is_still_a_spacer(tmp_path: Path) -> None:
    rows = printed_grid(PATENTS_2022)
    rows.insert(8, ["", "(spacer)", "", "", "", ""])
    assert len(read_table(write_grid(tmp_path / "p.xlsx", rows), patents_2022())) == 31


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 9, 25, 26, 16383)] == ["A", "J", "Z", "AA", "XFD"]


# ------------------------------------------------------ Excel files that will not open


def filepass_version_at(raw: bytes) -> int:
    """Where the encryption version of an .xls FilePass record (RC4) sits."""
    match = re.search(rb"\x2f\x00..\x01\x00", raw, re.DOTALL)
    assert match is not None
    return match.start() + 6


def test_an_xls_with_an_unknown_encryption_version_is_refused(tmp_path: Path) -> None:
    raw = bytearray(PATENTS_2022.read_bytes())
    at = filepass_version_at(bytes(raw))
    raw[at : at + 2] = b"\x09\x00"
    path = tmp_path / "raw-2022.xls"
    path.write_bytes(bytes(raw))
    message = refused(path, patents_2022(format="xls", path=str(path)))
    assert f"{path} is encrypted in a way this reader cannot open" in message, message
    assert "save an unencrypted copy" in message


def test_an_xls_cut_in_half_is_refused_as_truncated(tmp_path: Path) -> None:
    raw = PATENTS_2022.read_bytes()
    path = tmp_path / "raw-2022.xls"
    path.write_bytes(raw[: len(raw) // 2])
    message = refused(path, table_source(format="xls", path=str(path)))
    assert f"{path} is truncated or damaged" in message, message
    assert "incomplete OLE sector" in message
    assert "check that its SHA256 matches data.sources.patents_2016.sha256" in message


def test_a_file_that_is_no_workbook_at_all_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raw-2022.xls"
    path.write_bytes(b"\x00\x07not a workbook\x01" * 64)
    message = refused(path, table_source(format="xls", path=str(path)))
    assert "is not a readable .xls workbook (Cannot detect file format)" in message, message
    assert "data.sources.patents_2016.format" in message


@pytest.mark.parametrize("as_table", [True, False], ids=["calamine", "openpyxl"])
def test_an_xlsx_cut_in_half_is_refused(tmp_path: Path, as_table: bool) -> None:
    whole = small_workbook(tmp_path).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    spec = table_source(path=str(path)) if as_table else plain_source(path, "excel")
    message = refused(path, spec)
    assert f"{path} is not a readable" in message, message
    assert "SHA256" in message and f"data.sources.{spec.name}.sha256" in message, message


def test_a_password_protected_xlsx_is_refused_with_the_fix(tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = small_workbook(tmp_path)
    path = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt("secret", target)
    message = refused(path, plain_source(path, "excel"))
    assert "a password-protected one saved unprotected" in message, message
    message = refused(path, table_source(path=str(path)))
    assert "encrypted with a password of its own" in message, message


# ------------------------------------------------- .xlsx parts measured and screened


def far_cell_without_reference(data: bytes) -> bytes:
    """A last row at 1048576 whose 16,384th cell says nothing of where it is."""
    far = b'<row r="1048576">' + b"<c/>" * 16383 + b"<c><v>1</v></c></row>"
    return data.replace(b"</sheetData>", far + b"</sheetData>")


@pytest.mark.parametrize("as_table", [True, False], ids=["calamine", "openpyxl"])
def test_a_far_cell_without_a_reference_is_measured_and_refused(
    tmp_path: Path, as_table: bool
) -> None:
    path = with_member(small_workbook(tmp_path), SHEET, far_cell_without_reference)
    assert path.stat().st_size < 20_000
    spec = table_source(path=str(path)) if as_table else plain_source(path, "excel")
    message = refused(path, spec)
    assert "spans 1048576 rows x 16384 columns (17179869184 cells)" in message, message
    assert "over data.limits.excel_max_cells = 20000000" in message


def test_cells_without_references_count_by_position() -> None:
    xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData><row><c/><c/></row><row><c/><c><f>A1</f></c><c/></row>"
        b'<row r="7"><c r="B7"/><c/></row></sheetData></worksheet>'
    )
    scan = scan_sheet(io.BytesIO(xml))
    assert (scan.rows, scan.columns) == (7, 3)
    assert scan.formulas_without_values == ("B2",) and scan.formulas_missing == 1
    lower = xml.replace(b'<c r="B7"/><c/>', b'<c r="xfd1048576"/>')
    assert scan_sheet(io.BytesIO(lower)).columns == 16384
    assert scan_sheet(io.BytesIO(lower)).rows == 1048576


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


@pytest.mark.parametrize("member", [SHEET, "xl/styles.xml"])
def test_an_entity_declaration_in_any_part_is_refused(tmp_path: Path, member: str) -> None:
    def bomb(data: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", data)
        return ENTITY_BOMB + body.replace(b"<v>1.5</v>", b"<v>&lol3;</v>")

    workbook = write_grid(tmp_path / "w.xlsx", [["region", "year", "x"], ["成都", 2020, 1.5]])
    path = with_member(workbook, member, bomb)
    for spec in (table_source(path=str(path)), plain_source(path, "excel")):
        message = refused(path, spec)
        assert f"{path} part '{member}' declares a DTD (<!DOCTYPE lolz>)" in message, message
        assert "save it again" in message


def test_a_sheet_part_that_is_not_well_formed_is_refused_naming_it(tmp_path: Path) -> None:
    path = with_member(small_workbook(tmp_path), SHEET, lambda data: data[: len(data) // 2])
    message = refused(path, plain_source(path, "excel"))
    assert f"part '{SHEET}' is not well-formed XML (line" in message, message


# --------------------------------------------------------- JSON, CSV and parquet caps


def test_json_nested_200000_deep_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000, encoding="utf-8")
    message = refused(path, plain_source(path, "json"))
    assert f"{path} nests 200000 levels deep, over data.limits.json_depth = 64" in message


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_shape('[{"a": "[[[{{", "b": 1}, {"a": "x,y"}]') == (2, 3)
    assert json_shape('["unterminated \\" [[[') == (1, 1)


def test_json_within_the_depth_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps([{"region": "成都", "year": 2020, "x": 1.5}]), encoding="utf-8")
    (sheet,) = read_sheets(path, plain_source(path, "json"), data_limits({}))
    assert sheet.rows == [(1, ["region", "year", "x"]), (2, ["成都", "2020", "1.5"])]


def test_json_with_more_values_than_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    records = [{"region": "成都", "year": 2000 + i, "x": i} for i in range(10)]
    path.write_text(json.dumps(records), encoding="utf-8")
    message = refused(path, plain_source(path, "json"), max_cells=20)
    assert "holds about 30 values, over data.limits.max_cells = 20" in message, message


def test_json_records_with_scattered_keys_cannot_blow_up_into_a_grid(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    # 300 values, but 150 rows x 151 columns once laid out as a table.
    records = [{"region": "成都", f"k{i}": i} for i in range(150)]
    path.write_text(json.dumps(records), encoding="utf-8")
    message = refused(path, plain_source(path, "json"), max_cells=1000)
    assert "holds more than 1000 cells (data.limits.max_cells" in message, message


def big_csv(path: Path, rows: int) -> Path:
    lines = ["region,year,x"] + [f"成都,{2000 + i % 20},{i}.5" for i in range(rows)]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_a_csv_with_more_cells_than_the_cap_is_refused(tmp_path: Path) -> None:
    path = big_csv(tmp_path / "big.csv", 100)
    message = refused(path, plain_source(path, "csv"), max_cells=200)
    assert f"{path} holds more than 200 cells (data.limits.max_cells" in message, message
    assert "raise the cap" in message


def test_one_csv_line_of_many_delimiters_is_refused_before_it_is_split(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("region,year,x\n" + "," * 10_000 + "\n", encoding="utf-8")
    message = refused(path, plain_source(path, "csv"), max_cells=1000)
    assert f"{path}, line 2: a row of more than 1000 cells (data.limits.max_cells)" in message


def test_quoted_delimiters_over_many_rows_do_not_add_up(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text("region,year,x\n" + '"a,b,c,d",2020,1\n' * 100, encoding="utf-8")
    (sheet,) = read_sheets(
        path, plain_source(path, "csv"), data_limits({"limits": {"max_cells": 303}})
    )
    assert len(sheet.rows) == 101


def test_a_parquet_file_with_more_cells_than_the_cap_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "big.parquet"
    pq.write_table(
        pa.table({"region": ["成都"] * 100, "year": [2020] * 100, "x": [1.5] * 100}), path
    )
    message = refused(path, plain_source(path, "parquet"), max_cells=200)
    assert "holds more than 200 cells (data.limits.max_cells" in message, message


def test_reading_a_csv_takes_memory_in_proportion_to_its_cells(tmp_path: Path) -> None:
    path = big_csv(tmp_path / "big.csv", 50_000)  # 150,003 cells, about 1.5 MB
    tracemalloc.start()
    try:
        (sheet,) = read_sheets(path, plain_source(path, "csv"), data_limits({}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cells = sum(len(row) for _, row in sheet.rows)
    # The README's bound: the file, its text (at most 4 bytes a character), ~250 B a cell.
    assert peak < 5 * path.stat().st_size + 250 * cells, (peak, cells)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_cells", 50_000_001),
        ("json_depth", 501),
        ("max_file_bytes", 2_000_000_001),
        ("excel_max_cells", 20_000_001),
    ],
)
def test_no_cap_can_be_raised_past_its_stated_bound(key: str, value: int) -> None:
    config = yaml.safe_load((ROOT / "config/studies/demo_cities.yaml").read_text("utf-8"))
    config["data"]["limits"] = {key: value}
    with pytest.raises(ConfigError, match=key):
        check_schema(config, SCHEMA)


# ------------------------------------------------ end to end: staging, then cleaning


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("entity bomb", ("source 'patents'", f"part '{SHEET}' declares a DTD")),
        ("far cell without r", ("source 'patents'", "over data.limits.excel_max_cells")),
        ("csv over max_cells", ("source 'economy'", "data.limits.max_cells")),
    ],
)
def test_hostile_sources_stop_the_data_steps_with_nothing_left(
    tmp_path: Path, case: str, expected: tuple[str, ...]
) -> None:
    config = make_study(tmp_path)
    workbook = tmp_path / "raw" / "patents.xlsx"
    if case == "entity bomb":
        patents_workbook(workbook)
        with_member(
            workbook, SHEET, lambda data: ENTITY_BOMB + re.sub(rb"^<\?xml[^>]*\?>", b"", data)
        )
    elif case == "far cell without r":
        with_member(workbook, SHEET, far_cell_without_reference)
    else:
        config["data"]["limits"] = {"max_cells": 20}
    pin(config)
    raw_before = digest_tree(tmp_path / "raw")
    with pytest.raises((DataError, SourceError)) as error:
        run_data_steps(tmp_path, config)
    for text in expected:
        assert text in str(error.value), str(error.value)
    assert not (tmp_path / "out").exists()
    assert digest_tree(tmp_path / "raw") == raw_before


def deep_answer(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    body = b"[" * 200_000
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def test_an_api_page_nested_200000_deep_is_refused_naming_the_cap(tmp_path: Path) -> None:
    server = LoopbackServer()
    server.prefix_routes["/v2/country/"] = deep_answer
    server.start()
    try:
        spec = source_spec("world_bank", api_spec(server.url("/v2")))
        fetch = {"cache_dir": str(tmp_path / "cache"), "allow_insecure_http": True, "retries": 0}
        settings = fetch_settings({"fetch": fetch}, environment={})
        with pytest.raises(SourceError) as error:
            stage(spec, tmp_path / "wb.json", settings, first_year=2011, last_year=2022)
    finally:
        server.close()
    message = str(error.value)
    assert "source 'world_bank':" in message and "did not answer JSON" in message, message
    assert "nests 200000 levels deep, over data.limits.json_depth = 64" in message
    assert not (tmp_path / "wb.json").exists()
