"""Cleaning: one test per messy feature of real yearbook extracts, on tiny files."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from innopanel.config.checks import ConfigError
from innopanel.data.clean import clean_panel
from innopanel.data.extraction import CellError, parse_number, parse_year, split_header
from innopanel.data.quality import quality_markdown
from innopanel.data.readers import DataError
from innopanel.data.unit_names import normalise_unit_name

ECONOMY_HEADER = (
    "城市,年份,地区生产总值(亿元),常住人口(万人),普通高等学校在校学生数(万人),"
    "第二产业增加值占GDP比重(%)"
)
SCITECH_HEADER = (
    "地区,年份,R&D经费内部支出({unit}),R&D人员(人),发明专利申请量(件),发明专利授权量(件)"
)
PLATFORM_HEADER = (
    "City,Year,National key laboratories (count),National engineering research centres (count),"
    "National-level incubators (count)"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def messy_sources(tmp_path: Path, study_config: dict) -> tuple[dict, dict]:
    """Three tiny sources with every quirk, and a config restricted to 2019-2021."""
    economy = write(
        tmp_path / "economy.csv",
        "\n".join(
            [
                ECONOMY_HEADER,
                '成都市,2019,"17,012.7",1658.10,84.41,30.80',
                '成都,2020,"17,716.7",2094.70,94.17,30.60',
                '成都市,2021,"19,917.0",2119.20,—,30.70',
                '成都市,2021,"19,917.0",2119.20,—,30.70',  # exact duplicate
                '上海市,2020,"38,700.6",2487.09,54.10,26.60',
                '上海,2018,"32,679.9",2475.40,51.78,29.80',  # outside the window
            ]
        )
        + "\n",
        "utf-8-sig",
    )
    scitech = write(
        tmp_path / "scitech.csv",
        "\n".join(
            [
                SCITECH_HEADER.format(unit="万元"),
                "成都,2019,4520000,100000,30000,10000",
                SCITECH_HEADER.format(unit="亿元"),
                "成都,2020,496.07,110000,..,12000",
                "成都,2021,560.00,120000,36000,13000",
                "上海,2020,1586.72,200000,70000,24000",
            ]
        )
        + "\n",
        "gbk",
    )
    platforms = write(
        tmp_path / "platforms.csv",
        "\n".join(
            [
                PLATFORM_HEADER,
                "Chengdu City,2019,3,3,2",
                "Chengdu,2020,4,3,2",
                "chengdu city,2021,4,3,..",
                "Shanghai,2020,10,7,5",
            ]
        )
        + "\n",
    )
    config = study_config
    config["study"]["first_year"], config["study"]["last_year"] = 2019, 2021
    # Two cities cannot carry the configured models; panel sizes are tested on their own.
    del config["models"]
    sources = config["data"]["sources"]
    staged = {"economy": economy, "science_technology": scitech, "open_platforms": platforms}
    for name, spec in sources.items():
        spec["path"] = str(staged[name])  # messages name the file the config points at
    return config, {name: str(staged[name]) for name in sources}


def city_year(panel: pd.DataFrame, city: str, year: int) -> pd.Series:
    return panel.set_index(["unit_id", "year"]).loc[(city, year)]


def test_header_units_are_split_from_names() -> None:
    assert split_header("地区生产总值(亿元)") == ("地区生产总值", "亿元")
    assert split_header("地区生产总值（万元）") == ("地区生产总值", "万元")
    assert split_header("National key laboratories (count)") == (
        "National key laboratories",
        "count",
    )
    assert split_header("城市") == ("城市", None)


def test_missing_markers_and_thousands_separators() -> None:
    markers = frozenset(["—", ".."])
    assert parse_number("17,716.7", markers) == 17716.7
    assert parse_number(" 1,234,567 ", markers) == 1234567.0
    assert math.isnan(parse_number("—", markers))
    assert math.isnan(parse_number("..", markers))
    # Not a number, or a number Python's float() would take but no statistic is written as.
    for text in ["12,34", "n/a", "20_20", "inf", "-Infinity", "nan", "1 234", "0x1A", ""]:
        with pytest.raises(CellError, match="is not a number"):
            parse_number(text, markers)
    for text in ["1e308", "-1e200", "1e999"]:
        with pytest.raises(CellError, match="is not a usable number"):
            parse_number(text, markers)


def test_digit_groups_are_read_only_when_unambiguous_or_declared() -> None:
    markers = frozenset()
    with pytest.raises(CellError, match=r"is ambiguous.*thousands_separator: ','"):
        parse_number("159,790", markers)
    assert parse_number("159,790", markers, ".", ",") == 159790.0
    assert parse_number("159,790", markers, ",") == pytest.approx(159.79)
    assert parse_number("1.234.567,5", markers, ",", ".") == 1234567.5
    assert parse_number("1 234,5", markers, ",", " ") == 1234.5
    with pytest.raises(CellError, match="decimal separator is ','"):
        parse_number("1.234", markers, ",")
    # A declared separator is only taken in proper groups of three.
    with pytest.raises(CellError, match="is not a number"):
        parse_number("12,34", markers, ".", ",")


def test_years_are_four_digits() -> None:
    assert parse_year("2020") == 2020
    assert parse_year(" 2020.0 ") == 2020
    for text in ["20_20", "inf", "2020.5", "1e3", "２０２０年", "", None]:
        with pytest.raises(CellError, match="is not a year"):
            parse_year(text)


def test_city_names_in_chinese_and_english_reduce_to_one_key() -> None:
    keys = {normalise_unit_name(n) for n in ["成都市", "成都", " 成都 "]}
    assert len(keys) == 1
    assert normalise_unit_name("Chengdu City") == normalise_unit_name("chengdu")
    assert normalise_unit_name("Xi’an") == normalise_unit_name("Xian")


def test_clean_panel_handles_every_quirk(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    panel, quality = clean_panel(staged, config)

    chengdu_2019 = city_year(panel, "chengdu", 2019)
    # 万元 in the first header block becomes 亿元: 4,520,000 万元 = 452 亿元.
    assert chengdu_2019["rd_expenditure"] == pytest.approx(452.0)
    chengdu_2020 = city_year(panel, "chengdu", 2020)
    assert chengdu_2020["gdp"] == pytest.approx(17716.7)  # thousands separator
    assert chengdu_2020["rd_intensity"] == pytest.approx(100 * 496.07 / 17716.7)
    assert round(chengdu_2020["rd_intensity"], 1) == 2.8
    assert math.isnan(chengdu_2020["invention_patent_applications"])  # ".." marker
    # college students: 万人 -> persons; talent is per 10,000 residents.
    assert chengdu_2020["college_students"] == pytest.approx(941700)
    assert chengdu_2020["talent"] == pytest.approx(110000 / 2094.70)
    assert chengdu_2020["open_platforms"] == 9
    assert chengdu_2020["rd_intensity_lag1"] == pytest.approx(100 * 452.0 / 17012.7)
    assert math.isnan(city_year(panel, "chengdu", 2021)["open_platforms"])  # a part missing
    assert city_year(panel, "shanghai", 2020)["open_platforms"] == 22
    assert math.isnan(city_year(panel, "shanghai", 2020)["rd_intensity_lag1"])  # no 2019 row

    # Unbalanced (the default): one row per city-year some source reports; the other
    # city-years of the window are listed in the report as dropped.
    assert not panel.duplicated(["unit_id", "year"]).any()
    assert set(panel["year"]) == {2019, 2020, 2021}
    assert len(panel) == 4
    cities = pd.read_csv(config["data"]["unit_table"]).shape[0]
    dropped = quality["panel"]["unit_years_dropped_without_any_value"]
    assert len(dropped) == 3 * cities - 4
    assert {"unit_id": "shanghai", "year": 2019} in dropped

    economy = next(s for s in quality["sources"] if s["name"] == "economy")
    reasons = sorted(d["reason"] for d in economy["rows_dropped"])
    assert reasons == ["exact duplicate of an earlier row"]
    # Rows outside the window are counted per year, not listed one by one.
    assert [entry["rows"] for entry in economy["out_of_window"]] == [1]
    assert not any(2019 <= entry["year"] <= 2021 for entry in economy["out_of_window"])
    assert [b["units"]["rd_expenditure"] for b in quality["sources"][1]["header_blocks"]] == [
        "万元",
        "亿元",
    ]
    assert quality["missing_cells"]["college_students"]["missing"] >= 1
    markdown = quality_markdown(quality)
    assert "Synthetic demo data" in markdown and "exact duplicate" in markdown


def test_raw_files_are_not_modified(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    before = {name: Path(path).read_bytes() for name, path in staged.items()}
    clean_panel(staged, config)
    assert before == {name: Path(path).read_bytes() for name, path in staged.items()}


def test_wrong_encoding_names_the_source_and_the_fix(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    config["data"]["sources"]["science_technology"]["encoding"] = "utf-8"
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    assert "science_technology" in str(error.value)
    assert "data.sources.science_technology.encoding" in str(error.value)


def test_non_numeric_cell_names_file_row_and_column(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["open_platforms"])
    path.write_text(path.read_text().replace("Shanghai,2020,10", "Shanghai,2020,ten"))
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    message = str(error.value)
    assert f"source 'open_platforms' ({path}), row 5, column 'National key laboratories'" in message
    assert "'ten' is not a number" in message


def test_unknown_city_names_the_row_and_the_alias_table(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["open_platforms"])
    path.write_text(path.read_text().replace("Shanghai,2020", "Gotham,2020"))
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    assert "row 5, column 'City': unknown city 'Gotham'" in str(error.value)
    assert "config/cities.csv" in str(error.value)


def test_conflicting_duplicates_are_refused(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["open_platforms"])
    path.write_text(path.read_text() + "Shanghai,2020,11,7,5\n")
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    assert "rows 5 and 6" in str(error.value)
    assert "key_laboratories" in str(error.value)


def test_missing_required_column(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["open_platforms"])
    path.write_text(path.read_text().replace("National-level incubators", "Incubators"))
    with pytest.raises(DataError, match="required column 'National-level incubators'"):
        clean_panel(staged, config)


def test_negative_count_is_refused(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["open_platforms"])
    path.write_text(path.read_text().replace("Shanghai,2020,10", "Shanghai,2020,-10"))
    with pytest.raises(DataError, match="below the minimum 0"):
        clean_panel(staged, config)


def test_implausible_derived_value_fails_validation(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["science_technology"])
    # R&D spending larger than GDP: each cell is plausible, the ratio is not.
    text = path.read_bytes().decode("gbk").replace("1586.72", "158672.00")
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    assert "'shanghai' year 2020" in str(error.value)
    assert "rd_intensity" in str(error.value)


def test_empty_file(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    Path(staged["economy"]).write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        clean_panel(staged, config)


# ---------------------------------------------------------------- cleaning rules in config


def test_balanced_panel_keeps_only_units_complete_every_year(
    messy_sources: tuple[dict, dict],
) -> None:
    config, staged = messy_sources
    config["data"]["cleaning"] = {"panel": "balanced", "balance_on": ["gdp", "rd_expenditure"]}
    panel, quality = clean_panel(staged, config)
    # Chengdu has GDP and R&D in 2019-2021; Shanghai only in 2020.
    assert panel["unit_id"].unique().tolist() == ["chengdu"]
    assert panel["year"].tolist() == [2019, 2020, 2021]
    dropped = quality["panel"]["units_dropped_to_balance"]
    assert {"unit_id": "shanghai", "years_incomplete": [2019, 2021]} in dropped
    assert "Units dropped to balance" in quality_markdown(quality)


def test_interpolation_only_when_asked_and_every_cell_reported(
    messy_sources: tuple[dict, dict],
) -> None:
    config, staged = messy_sources
    path = Path(staged["economy"])
    text = path.read_bytes().decode("utf-8-sig").replace('成都,2020,"17,716.7"', "成都,2020,—")
    path.write_bytes(text.encode("utf-8-sig"))
    panel, quality = clean_panel(staged, config)
    assert math.isnan(city_year(panel, "chengdu", 2020)["gdp"])  # not interpolated by default
    assert quality["interpolated"]["cells"] == []

    config["data"]["cleaning"] = {"interpolate": {"variables": ["gdp"], "max_gap": 1}}
    panel, quality = clean_panel(staged, config)
    assert city_year(panel, "chengdu", 2020)["gdp"] == pytest.approx((17012.7 + 19917.0) / 2)
    assert quality["interpolated"]["cells"] == [
        {"unit_id": "chengdu", "year": 2020, "variable": "gdp", "value": pytest.approx(18464.85)}
    ]
    # An end of the series (Shanghai 2019, 2021) is never extrapolated.
    assert (city_year(panel, "shanghai", 2020)["gdp"]) == pytest.approx(38700.6)
    assert "cells filled: 1" in quality_markdown(quality)


def test_outliers_are_flagged_not_changed(study_config: dict, tmp_path: Path) -> None:
    rows = [f"成都,{year},{100 + year - 2011},1000,10,30" for year in range(2011, 2023)]
    rows[5] = "成都,2016,1500,1000,10,30"  # a tenfold spike
    path = write(tmp_path / "economy.csv", "\n".join([ECONOMY_HEADER, *rows]) + "\n")
    config = study_config
    del config["models"]
    source = config["data"]["sources"]["economy"]
    source["encoding"] = "utf-8"
    config["data"]["sources"] = {"economy": source}
    config["variables"] = {
        name: spec for name, spec in config["variables"].items() if name in source["columns"]
    }
    panel, quality = clean_panel({"economy": str(path)}, config)
    flags = quality["outliers"]["flags"]
    assert [(f["unit_id"], f["year"], f["variable"]) for f in flags] == [("chengdu", 2016, "gdp")]
    assert city_year(panel, "chengdu", 2016)["gdp"] == 1500  # flagged, unchanged


def test_year_outside_the_window_can_be_refused(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    config["data"]["cleaning"] = {"out_of_window": "error"}
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    message = str(error.value)
    assert (
        f"source 'economy' ({staged['economy']}), row 7, column '年份': year 2018 is outside"
        in (message)
    )
    assert "data.cleaning.out_of_window: drop" in message


def test_extra_aliases_and_tone_marks(messy_sources: tuple[dict, dict]) -> None:
    config, staged = messy_sources
    path = Path(staged["open_platforms"])
    path.write_text(
        path.read_text().replace("Chengdu,2020", "Chéngdū,2020").replace("Shanghai", "Hu")
    )
    config["data"]["aliases"] = {"Hu": "shanghai"}
    panel, _ = clean_panel(staged, config)
    assert city_year(panel, "chengdu", 2020)["open_platforms"] == 9
    assert city_year(panel, "shanghai", 2020)["open_platforms"] == 22
    config["data"]["aliases"] = {"Hu": "shanghia"}
    with pytest.raises(ConfigError, match="'Hu' points to 'shanghia'"):
        clean_panel(staged, config)
