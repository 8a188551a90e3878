"""The user-data template, and an example workbook laid out like a real yearbook export.

``python -m innopanel.synthetic.template`` writes

- ``config/examples/own_data/panel_template.csv``: the canonical columns with their
  units in the header, and two example rows (synthetic);
- ``data/raw/example_own/city_panel.xlsx``: the bundled demo panel's source variables
  (synthetic) in an Excel workbook with two sheets (one per span of years), a merged
  title row, a three-row header (group, name, unit), Chinese city names with and
  without 市, and R&D expenditure in 万元 on one sheet and 亿元 on the other.

``config/studies/own_data.yaml`` reads that workbook; the tests check that the panel it
gives equals the one made from the demo's CSV files, so nothing is lost on the way.
Both files are written byte-stably (fixed workbook and zip timestamps).
"""

from __future__ import annotations

import argparse
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.specs import source_specs, with_defaults
from innopanel.io import write_bytes, write_text

# Canonical source variables of the city study: (variable, canonical unit, meaning).
CANONICAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("gdp", "亿元", "gross domestic product, CNY 100 million"),
    ("population", "万人", "resident population, 10,000 persons"),
    ("college_students", "人", "regular college students, persons"),
    ("secondary_share", "%", "secondary industry share of GDP, percent"),
    ("rd_expenditure", "亿元", "R&D expenditure, CNY 100 million"),
    ("rd_personnel", "人", "R&D personnel, persons"),
    ("invention_patent_applications", "件", "invention patent applications, count"),
    ("invention_patents_granted", "件", "invention patents granted, count"),
    ("key_laboratories", "count", "national key laboratories"),
    ("engineering_research_centres", "count", "national engineering research centres"),
    ("incubators", "count", "national-level incubators"),
)
# The example workbook's groups of columns: (group header, [(variable, Chinese name)]).
WORKBOOK_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "经济",
        (
            ("gdp", "地区生产总值"),
            ("population", "常住人口"),
            ("college_students", "普通高等学校在校学生数"),
            ("secondary_share", "第二产业增加值占GDP比重"),
        ),
    ),
    (
        "科技",
        (
            ("rd_expenditure", "R&D经费内部支出"),
            ("rd_personnel", "R&D人员"),
            ("invention_patent_applications", "发明专利申请量"),
            ("invention_patents_granted", "发明专利授权量"),
        ),
    ),
    (
        "开放创新平台",
        (
            ("key_laboratories", "国家重点实验室"),
            ("engineering_research_centres", "国家工程研究中心"),
            ("incubators", "国家级孵化器"),
        ),
    ),
)
WORKBOOK_TITLE = (
    "城市科技创新面板（合成示例数据，非真实统计 / SYNTHETIC example, not real statistics）"
)
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
FIXED_STAMP = b"2020-01-01T00:00:00Z"
MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def template_frame(example: pd.DataFrame | None = None) -> pd.DataFrame:
    """The template: ``city``, ``year`` and each canonical variable as ``name(unit)``."""
    columns = ["city", "year"] + [f"{name}({unit})" for name, unit, _ in CANONICAL_COLUMNS]
    if example is None:
        return pd.DataFrame(columns=columns)
    rows = example.rename(columns={name: f"{name}({unit})" for name, unit, _ in CANONICAL_COLUMNS})
    return rows[columns]


def _workbook_unit(variable: str, sheet_index: int) -> tuple[str, float]:
    """The unit a variable is published in on a sheet, and the factor from canonical."""
    if variable == "rd_expenditure" and sheet_index == 0:
        return "万元", 10000.0
    unit = dict((name, unit) for name, unit, _ in CANONICAL_COLUMNS)[variable]
    return unit, 1.0


def example_workbook(
    panel: pd.DataFrame, names: Mapping[str, str], spans: Sequence[range]
) -> bytes:
    """Write the example workbook (bytes) from a panel of canonical source variables."""
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    fixed = dt.datetime(*FIXED_TIME)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "innopanel.synthetic.template"
    width = 2 + sum(len(columns) for _, columns in WORKBOOK_GROUPS)
    for sheet_index, span in enumerate(spans):
        sheet = workbook.create_sheet(f"{span[0]}-{span[-1]}")
        groups: list[Any] = ["城市", "年份"]
        names_row: list[Any] = [None, None]
        units_row: list[Any] = [None, None]
        for group, columns in WORKBOOK_GROUPS:
            groups += [group] + [None] * (len(columns) - 1)
            for variable, chinese in columns:
                names_row.append(chinese)
                units_row.append(_workbook_unit(variable, sheet_index)[0])
        for row in ([WORKBOOK_TITLE] + [None] * (width - 1), groups, names_row, units_row):
            sheet.append(row)
        # Merge only once the rows exist: merged cells count as written rows.
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        column = 3
        for _, columns in WORKBOOK_GROUPS:
            end = column + len(columns) - 1
            sheet.merge_cells(start_row=2, start_column=column, end_row=2, end_column=end)
            column = end + 1
        for first in (1, 2):  # 城市 and 年份 span the three header rows
            sheet.merge_cells(start_row=2, start_column=first, end_row=4, end_column=first)
        rows = panel.loc[panel["year"].isin(list(span))].sort_values(["year", "unit_id"])
        for position, row in enumerate(rows.itertuples(index=False)):
            record = row._asdict()
            # Half the names carry the 市 suffix, as in real exports.
            name = names[record["unit_id"]] + ("市" if position % 2 else "")
            values: list[Any] = [name, int(record["year"])]
            for _, columns in WORKBOOK_GROUPS:
                for variable, _ in columns:
                    value = record[variable]
                    factor = _workbook_unit(variable, sheet_index)[1]
                    values.append(None if pd.isna(value) else float(value) * factor)
            sheet.append(values)
        for index in range(1, width + 1):
            sheet.column_dimensions[get_column_letter(index)].width = 14
    buffer = io.BytesIO()
    workbook.save(buffer)
    return fixed_zip_times(buffer.getvalue())


def fixed_zip_times(archive: bytes) -> bytes:
    """Rewrite a zip (an .xlsx) with every member's timestamp fixed, so bytes are stable."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time as the modification date.
                data = MODIFIED.sub(rb"\g<1>" + FIXED_STAMP + rb"\g<2>", data)
            target.writestr(fixed, data)
    return output.getvalue()


def build_examples(config: Mapping[str, Any], template_dir: Path, data_dir: Path) -> None:
    """Write the template CSV and the example workbook from the bundled demo panel."""
    from innopanel.data.clean import clean_panel

    cleaning = {key: config[key] for key in ("study", "data", "units", "variables")}
    # The demo's sources are bundled files: each is read from its declared path.
    staged = {name: spec.path for name, spec in source_specs(config).items()}
    panel, _ = clean_panel(staged, cleaning)
    names = dict(zip(panel["unit_id"], panel["name_zh"], strict=False))
    first, last = int(config["study"]["first_year"]), int(config["study"]["last_year"])
    middle = (first + last) // 2
    spans = [range(first, middle + 1), range(middle + 1, last + 1)]
    write_bytes(data_dir / "city_panel.xlsx", example_workbook(panel, names, spans))
    example = panel.loc[
        panel["unit_id"].isin(["chengdu"]) & panel["year"].isin([first, last])
    ].copy()
    example.insert(0, "city", example["unit_id"].map(names) + "市")
    buffer = io.StringIO()
    template_frame(example).to_csv(buffer, index=False, lineterminator="\n", float_format="%.12g")
    write_text(template_dir / "panel_template.csv", buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the template and the example workbook."""
    import yaml

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/studies/demo_cities.yaml", type=Path)
    parser.add_argument("--template-dir", default="config/examples/own_data", type=Path)
    parser.add_argument("--data-dir", default="data/raw/example_own", type=Path)
    arguments = parser.parse_args(argv)
    config = with_defaults(yaml.safe_load(arguments.config.read_text(encoding="utf-8")))
    build_examples(config, arguments.template_dir, arguments.data_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
