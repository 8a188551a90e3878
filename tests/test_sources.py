"""Sources of every format, the schema's source kinds, and the own-data example."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import Workbook
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate
from test_workflow import make_project, shrink_study, snakemake

from innopanel.config.checks import ConfigError, check_config
from innopanel.config.data_specs import data_limits, variable_specs
from innopanel.config.paths import StudyPaths
from innopanel.config.specs import source_spec
from innopanel.data.clean import clean_panel
from innopanel.data.extraction import read_source
from innopanel.data.readers import DataError, combine_header, read_sheets
from innopanel.synthetic.template import CANONICAL_COLUMNS, build_examples

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = "config/schemas/config.schema.yaml"
UNITS = {
    "亿元": {"dimension": "money", "factor": 1e8},
    "万元": {"dimension": "money", "factor": 1e4},
    "件": {"dimension": "count", "factor": 1},
}
VARIABLES = {
    "rd_expenditure": {"kind": "source", "unit": "亿元", "label": "R&D", "min": 0},
    "invention_patents_granted": {"kind": "source", "unit": "件", "label": "patents", "min": 0},
}


def spec(**extra) -> dict:
    return {
        "kind": "local",
        "format": "excel",
        "encoding": "utf-8",
        "licence": "CC0",
        "citation": "Test workbook",
        "unit_column": "城市",
        "year_column": "年份",
        "columns": {"rd_expenditure": "科技 R&D经费", "invention_patents_granted": "科技 授权量"},
        **extra,
    }


def read(path: Path, name: str, source: dict, variables: dict = VARIABLES):
    """Read source ``name`` (config entry ``source``) with '' as the only missing marker."""
    return read_source(
        path,
        source_spec(name, source),
        variable_specs(variables),
        UNITS,
        frozenset({""}),
        limits=data_limits({}),
    )


def yearbook_workbook(path: Path) -> Path:
    """Two sheets, a title row, a merged group header and a unit row; units differ."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, unit, rows in (
        ("2019", "万元", [["成都市", 2019, 4520000, 10000], ["上海", 2019, 15000000, 20000]]),
        ("2020", "亿元", [["成都", 2020, 496.07, 12000], ["Shanghai", 2020, 1586.72, None]]),
    ):
        sheet = workbook.create_sheet(title)
        sheet.append(["表 3-1 科技活动（合成）"])
        sheet.append(["城市", "年份", "科技", None])
        sheet.append([None, None, "R&D经费", "授权量"])
        sheet.append([None, None, unit, "件"])
        for row in rows:
            sheet.append(row)
        sheet.merge_cells("C2:D2")
        sheet.merge_cells("A2:A4")
        sheet.merge_cells("B2:B4")
    workbook.save(path)
    return path


def test_multi_row_headers_join_and_take_the_unit_row() -> None:
    rows = [
        ["城市", "年份", "科技", "科技"],
        ["城市", "年份", "R&D经费", "授权量"],
        [None, None, "(万元)", "件"],
    ]
    assert combine_header(rows, UNITS) == ["城市", "年份", "科技 R&D经费(万元)", "科技 授权量(件)"]
    # A last row that is not a known unit is part of the name.
    assert combine_header([["地区"], ["合计"]], UNITS) == ["地区 合计"]


def test_excel_with_several_sheets_and_header_rows(tmp_path: Path) -> None:
    path = yearbook_workbook(tmp_path / "yearbook.xlsx")
    frame, report = read(path, "yearbook", spec(skip_rows=1, header_rows=3), VARIABLES)
    assert frame["source_sheet"].tolist() == ["2019", "2019", "2020", "2020"]
    assert frame["source_row"].tolist() == [5, 6, 5, 6]
    # 万元 on the first sheet, 亿元 on the second: both in 亿元 now.
    assert frame["rd_expenditure"].tolist() == pytest.approx([452.0, 1500.0, 496.07, 1586.72])
    assert np.isnan(frame["invention_patents_granted"].iloc[3])  # an empty cell is missing
    assert [b["units"]["rd_expenditure"] for b in report.header_blocks] == ["万元", "亿元"]
    assert [b["sheet"] for b in report.header_blocks] == ["2019", "2020"]


def test_excel_errors_name_the_sheet_row_and_column(tmp_path: Path) -> None:
    path = yearbook_workbook(tmp_path / "yearbook.xlsx")
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook["2020"]["D6"] = "n/a"
    workbook.save(path)
    with pytest.raises(DataError) as error:
        read(path, "yearbook", spec(skip_rows=1, header_rows=3), VARIABLES)
    where = f"source 'yearbook' ({path}), sheet '2020', row 6, column '科技 授权量'"
    assert f"{where}: value 'n/a' is not a number" in str(error.value)
    with pytest.raises(DataError, match=r"has no sheet\(s\) \['2021'\]"):
        read_sheets(path, source_spec("yearbook", spec(sheets=["2021"])), data_limits({}))


def test_parquet_and_json_records(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"城市": ["成都", "上海"], "年份": [2020, 2020], "R&D经费(亿元)": [496.07, None]}
    )
    frame.to_parquet(tmp_path / "panel.parquet")
    (tmp_path / "panel.json").write_text(
        json.dumps(frame.to_dict("records"), ensure_ascii=False), encoding="utf-8"
    )
    variables = {"rd_expenditure": VARIABLES["rd_expenditure"]}
    for name, file_format in (("panel.parquet", "parquet"), ("panel.json", "json")):
        source = spec(format=file_format, columns={"rd_expenditure": "R&D经费"})
        frame, _ = read(tmp_path / name, "own", source, variables)
        assert frame["rd_expenditure"].iloc[0] == 496.07, name
        assert np.isnan(frame["rd_expenditure"].iloc[1]), name


def test_units_stated_in_the_config_for_a_header_without_one(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("city,year,rd\nChengdu,2020,4960700\n", encoding="utf-8")
    source = spec(
        format="csv",
        unit_column="city",
        year_column="year",
        columns={"rd_expenditure": {"column": "rd", "unit": "万元"}},
    )
    variables = {"rd_expenditure": VARIABLES["rd_expenditure"]}
    frame, _ = read(tmp_path / "p.csv", "own", source, variables)
    assert frame["rd_expenditure"].iloc[0] == pytest.approx(496.07)
    (tmp_path / "p.csv").write_text("city,year,rd(亿元)\nChengdu,2020,496.07\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"the header says the unit is '亿元' but .* says '万元'"):
        read(tmp_path / "p.csv", "own", source, variables)


def test_schema_requires_what_each_kind_needs(study_config: dict) -> None:
    source = study_config["data"]["sources"]["economy"]
    for key in ("licence", "citation"):
        broken = copy.deepcopy(study_config)
        del broken["data"]["sources"]["economy"][key]
        with pytest.raises(WorkflowError, match=key):
            validate(broken, SCHEMA)
    url = copy.deepcopy(study_config)
    url["data"]["sources"]["economy"] = {**source, "kind": "url"}
    with pytest.raises(WorkflowError, match="'url' is a required property"):
        validate(url, SCHEMA)
    url["data"]["sources"]["economy"]["url"] = "https://example.org/economy.csv"
    del url["data"]["sources"]["economy"]["sha256"]
    with pytest.raises(WorkflowError, match="'sha256' is a required property"):
        validate(url, SCHEMA)
    api = copy.deepcopy(study_config)
    api["data"]["sources"]["economy"] = {**source, "kind": "api"}
    with pytest.raises(WorkflowError, match="'api' is a required property"):
        validate(api, SCHEMA)


def test_semantic_source_checks(study_config: dict) -> None:
    source = study_config["data"]["sources"]["economy"]
    source["path"] = "data/raw/demo/no_such_file.csv"
    source["columns"]["gdp"] = {"column": "地区生产总值", "unit": "亿美元"}
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    message = str(error.value)
    assert "data.sources.economy.path: file data/raw/demo/no_such_file.csv not found" in message
    assert "data.sources.economy.columns.gdp.unit = '亿美元' is not listed under units" in message


def test_examples_are_valid_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("own_data", "world_bank"):
        path = StudyPaths(name).config
        config = yaml.safe_load((ROOT / path).read_text("utf-8"))
        validate(config, SCHEMA)
        check_config(config, path)


def test_template_and_example_workbook_are_regenerated_byte_for_byte(
    study_config: dict, tmp_path: Path
) -> None:
    build_examples(study_config, tmp_path / "template", tmp_path / "data")
    for made, shipped in (
        (tmp_path / "data" / "city_panel.xlsx", ROOT / "data/raw/example_own/city_panel.xlsx"),
        (
            tmp_path / "template" / "panel_template.csv",
            ROOT / "config/examples/own_data/panel_template.csv",
        ),
    ):
        assert made.read_bytes() == shipped.read_bytes(), shipped
    header = (tmp_path / "template" / "panel_template.csv").read_text("utf-8").splitlines()[0]
    assert header.split(",")[2:] == [f"{name}({unit})" for name, unit, _ in CANONICAL_COLUMNS]


def test_the_template_csv_reads_as_a_source(study_config: dict) -> None:
    source = {
        "kind": "local",
        "path": "config/examples/own_data/panel_template.csv",
        "format": "csv",
        "encoding": "utf-8",
        "licence": "MIT, as this repository",
        "citation": "innopanel panel template",
        "unit_column": "city",
        "year_column": "year",
        "columns": {name: name for name, _, _ in CANONICAL_COLUMNS},
    }
    config = copy.deepcopy(study_config)
    config["data"]["sources"] = {"own": source}
    del config["models"]
    panel, _ = clean_panel({"own": "config/examples/own_data/panel_template.csv"}, config)
    assert panel["unit_id"].unique().tolist() == ["chengdu"]
    assert panel["year"].tolist() == [2011, 2022]


@pytest.mark.workflow
def test_own_excel_panel_gives_the_same_panel_as_the_demo_csvs(tmp_path: Path) -> None:
    """Nothing is lost: the example workbook holds the demo data in another layout."""
    demo_paths, own_paths = StudyPaths("demo_cities"), StudyPaths("own_data")
    workdir = make_project(tmp_path, study="own_data")
    shrink_study(workdir, "demo_cities")
    raw = workdir / "data/raw/example_own/city_panel.xlsx"
    before = hashlib.sha256(raw.read_bytes()).hexdigest()
    for paths in (demo_paths, own_paths):
        targets = [paths.panel, paths.result("provenance/provenance.json")]
        run = snakemake(workdir, *targets, "--config", f"study={paths.study}")
        assert run.returncode == 0, run.stderr[-4000:]
    demo = pd.read_csv(workdir / demo_paths.panel)
    mine = pd.read_csv(workdir / own_paths.panel)
    assert list(demo.columns) == list(mine.columns) and len(demo) == len(mine)
    numbers = demo.select_dtypes("number").columns
    assert np.allclose(demo[numbers], mine[numbers], rtol=1e-12, atol=0, equal_nan=True)
    assert (
        (demo.select_dtypes(exclude="number") == mine.select_dtypes(exclude="number")).all().all()
    )
    provenance_path = workdir / own_paths.result("provenance/provenance.json")
    provenance = json.loads(provenance_path.read_text("utf-8"))
    assert provenance["sources"][0]["sha256"] == before
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == before  # raw data untouched
