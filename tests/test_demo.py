"""The demo folder data/raw/demo: regenerating it, its messy files, README and truth file, and
the calibrated demo panel behind them (innopanel.synthetic.demo, calibration, messy_files,
documentation). The DGP itself is tested in test_dgp.py."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pytest
import yaml

from innopanel.io import sha256_file
from innopanel.synthetic import calibration, demo, dgp, documentation, messy_files

YEARS = list(range(2011, 2023))


@pytest.fixture(scope="module")
def demo_dir(repo_root: Path) -> Path:
    return repo_root / "data" / "raw" / "demo"


@pytest.fixture(scope="module")
def config(repo_root: Path) -> dict:
    """The study config, once for the module (study_config is per test)."""
    return yaml.safe_load(
        (repo_root / "config" / "studies" / "demo_cities.yaml").read_text(encoding="utf-8")
    )


@pytest.fixture(scope="module")
def cities(repo_root: Path) -> pd.DataFrame:
    """The unit table: the demo's cities."""
    return pd.read_csv(repo_root / "config" / "cities.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def demo_panel(config: dict, cities: pd.DataFrame) -> pd.DataFrame:
    return calibration.build_demo_panel(
        cities,
        config["study"]["first_year"],
        config["study"]["last_year"],
        config["demo"]["seed"],
        dgp.DemoParameters(),
    )


@pytest.fixture(scope="module")
def regenerated(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module, repo_root: Path
) -> Path:
    out = tmp_path_factory.mktemp("demo")
    monkeypatch_module.chdir(repo_root)  # the config's paths are relative to the repository
    config_path = repo_root / "config" / "studies" / "demo_cities.yaml"
    assert demo.main(["--config", str(config_path), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def read_manifest(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        entries[name] = digest
    return entries


# --- parsing the raw files back, independently of the generator -----------------------


def _name_index(cities: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    chinese = dict(zip(cities["name_zh"], cities["unit_id"], strict=True))
    english: dict[str, str] = {}
    for row in cities.itertuples(index=False):
        names = [row.name_en, f"{row.name_en} City", *filter(None, row.aliases.split("|"))]
        for name in names:
            english[name] = row.unit_id
    return chinese, english


def parse_economy(path: Path, cities: pd.DataFrame) -> pd.DataFrame:
    chinese, _ = _name_index(cities)
    raw = pd.read_csv(
        path,
        encoding="utf-8-sig",
        thousands=",",
        na_values=["—"],
        keep_default_na=False,
        dtype={"城市": str},
    )
    assert list(raw.columns) == list(messy_files.ECONOMY_HEADER)
    frame = pd.DataFrame(
        {
            "unit_id": raw["城市"].str.removesuffix("市").map(chinese),
            "year": raw["年份"].astype(int),
            "gdp": raw["地区生产总值(亿元)"].astype(float),
            "population": raw["常住人口(万人)"].astype(float),
            "college_students": (raw["普通高等学校在校学生数(万人)"] * 1e4).round(),
            "secondary_share": raw["第二产业增加值占GDP比重(%)"].astype(float),
        }
    )
    assert frame["unit_id"].notna().all()
    return frame


def parse_science_technology(path: Path, cities: pd.DataFrame) -> pd.DataFrame:
    chinese, _ = _name_index(cities)
    records = []
    factor = None
    headers = []
    for row in csv.reader(io.StringIO(path.read_bytes().decode("gbk"))):
        if row[0] == "地区":
            headers.append(row)
            unit = re.fullmatch(r"R&D经费内部支出\((.+)\)", row[2]).group(1)
            factor = {"万元": 1e-4, "亿元": 1.0}[unit]  # to 亿元
            continue

        def number(text: str) -> float:
            return np.nan if text == ".." else float(text)

        records.append(
            {
                "unit_id": chinese[row[0]],
                "year": int(row[1]),
                "rd_expenditure": number(row[2]) * factor,
                "rd_personnel": number(row[3]),
                "invention_patent_applications": number(row[4]),
                "invention_patents_granted": number(row[5]),
            }
        )
    assert len(headers) == len(YEARS)
    return pd.DataFrame.from_records(records)


def parse_open_platforms(path: Path, cities: pd.DataFrame) -> pd.DataFrame:
    _, english = _name_index(cities)
    raw = pd.read_csv(
        path, encoding="utf-8", na_values=[".."], keep_default_na=False, dtype={"City": str}
    )
    assert list(raw.columns) == list(messy_files.OPEN_PLATFORMS_HEADER)
    frame = pd.DataFrame(
        {
            "unit_id": raw["City"].map(english),
            "year": raw["Year"].astype(int),
            "key_laboratories": raw["National key laboratories (count)"].astype(float),
            "engineering_research_centres": raw[
                "National engineering research centres (count)"
            ].astype(float),
            "incubators": raw["National-level incubators (count)"].astype(float),
        }
    )
    assert frame["unit_id"].notna().all(), raw.loc[frame["unit_id"].isna(), "City"].tolist()
    return frame


@pytest.fixture(scope="module")
def parsed(cities: pd.DataFrame, demo_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        "economy": parse_economy(demo_dir / messy_files.ECONOMY_FILE, cities),
        "science_technology": parse_science_technology(
            demo_dir / messy_files.SCIENCE_TECHNOLOGY_FILE, cities
        ),
        "open_platforms": parse_open_platforms(demo_dir / messy_files.OPEN_PLATFORMS_FILE, cities),
    }


@pytest.fixture(scope="module")
def parsed_panel(parsed: dict[str, pd.DataFrame]) -> pd.DataFrame:
    merged = None
    for frame in parsed.values():
        frame = frame.drop_duplicates()
        assert not frame.duplicated(["unit_id", "year"]).any()
        merged = frame if merged is None else merged.merge(frame, on=["unit_id", "year"])
    return merged.sort_values(["unit_id", "year"]).reset_index(drop=True)


# --- committed files, manifest and config ---------------------------------------------


def test_regeneration_reproduces_committed_files_byte_for_byte(
    regenerated: Path, demo_dir: Path
) -> None:
    committed = read_manifest(demo_dir / documentation.MANIFEST_FILE)
    for name, digest in committed.items():
        assert sha256_file(regenerated / name) == digest, name
    assert (regenerated / documentation.MANIFEST_FILE).read_bytes() == (
        demo_dir / documentation.MANIFEST_FILE
    ).read_bytes()
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(
        p.name for p in demo_dir.iterdir()
    )


def test_manifest_covers_and_matches_every_committed_file(demo_dir: Path) -> None:
    manifest_path = demo_dir / documentation.MANIFEST_FILE
    entries = read_manifest(manifest_path)
    names = list(entries)
    assert names == sorted(names)
    others = {
        p.name for p in demo_dir.iterdir() if p.is_file() and p.name != documentation.MANIFEST_FILE
    }
    assert set(names) == others
    assert {documentation.README_FILE, documentation.TRUTH_FILE} <= set(names)
    for name, digest in entries.items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert sha256_file(demo_dir / name) == digest, name


def test_config_digests_match_the_raw_files(config: dict, repo_root: Path) -> None:
    sources = config["data"]["sources"]
    assert len(sources) == 3
    for source in sources.values():
        assert source["sha256"] == sha256_file(repo_root / source["path"]), source["path"]


def test_write_demo_files_returns_the_digests_of_the_committed_folder(
    demo_panel, cities, tmp_path: Path, demo_dir: Path
) -> None:
    digests = demo.write_demo_files(demo_panel, cities, tmp_path, seed=20221231)
    assert set(digests) == {p.name for p in tmp_path.iterdir()}
    for name, digest in digests.items():
        assert sha256_file(tmp_path / name) == digest
    committed = read_manifest(demo_dir / documentation.MANIFEST_FILE)
    assert {n: d for n, d in digests.items() if n != documentation.MANIFEST_FILE} == committed


def test_readme_template_refuses_a_value_it_is_not_given(demo_panel, config: dict) -> None:
    context = documentation.readme_context(demo_panel, config["demo"]["seed"], dgp.DemoParameters())
    assert documentation.readme_template().render(context).startswith("# Demo raw data")
    del context["seed"]
    with pytest.raises(jinja2.UndefinedError, match="seed"):
        documentation.readme_template().render(context)


def test_write_demo_files_names_units_missing_from_the_unit_table(
    demo_panel, cities, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"missing from the unit table: \['chengdu'\]"):
        demo.write_demo_files(demo_panel, cities[cities["unit_id"] != "chengdu"], tmp_path, 1)


# --- formats and quirks -----------------------------------------------------------------


def test_raw_file_encodings_and_headers(demo_dir: Path) -> None:
    economy = (demo_dir / messy_files.ECONOMY_FILE).read_bytes()
    assert economy.startswith(b"\xef\xbb\xbf")
    assert economy.decode("utf-8-sig").splitlines()[0] == (
        "城市,年份,地区生产总值(亿元),常住人口(万人),普通高等学校在校学生数(万人),"
        "第二产业增加值占GDP比重(%)"
    )
    science = (demo_dir / messy_files.SCIENCE_TECHNOLOGY_FILE).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        science.decode("utf-8")
    lines = science.decode("gbk").splitlines()
    headers = [line for line in lines if line.startswith("地区,")]
    assert (
        headers.count(
            "地区,年份,R&D经费内部支出(万元),R&D人员(人),发明专利申请量(件),发明专利授权量(件)"
        )
        == 5
    )
    assert (
        headers.count(
            "地区,年份,R&D经费内部支出(亿元),R&D人员(人),发明专利申请量(件),发明专利授权量(件)"
        )
        == 7
    )
    assert not any("市," in line for line in lines)
    platforms = (demo_dir / messy_files.OPEN_PLATFORMS_FILE).read_bytes()
    assert not platforms.startswith(b"\xef\xbb\xbf")
    assert platforms.decode("utf-8").splitlines()[0] == (
        "City,Year,National key laboratories (count),"
        "National engineering research centres (count),National-level incubators (count)"
    )


def test_quirks_are_present(parsed: dict[str, pd.DataFrame], demo_dir: Path) -> None:
    economy_text = (demo_dir / messy_files.ECONOMY_FILE).read_text(encoding="utf-8-sig")
    assert re.search(r'"\d{1,3}(,\d{3})+\.\d"', economy_text)  # thousands separators
    assert "成都市," in economy_text and "\n成都," in economy_text
    rows = economy_text.splitlines()[1:]
    assert len(rows) - len(set(rows)) == messy_files.ECONOMY_DUPLICATES
    platform_rows = (
        (demo_dir / messy_files.OPEN_PLATFORMS_FILE).read_text(encoding="utf-8").splitlines()
    )
    assert (
        len(platform_rows[1:]) - len(set(platform_rows[1:]))
        == messy_files.OPEN_PLATFORMS_DUPLICATES
    )
    assert any(row.startswith("Xian,") for row in platform_rows)
    assert any(row.startswith("Chengdu City,") for row in platform_rows)
    for name, frame in parsed.items():
        numeric = frame.drop(columns=["unit_id", "year"])
        share = numeric.isna().to_numpy().mean()
        assert 0.005 < share < 0.02, (name, share)


def test_every_city_and_year_appears_in_every_file(
    parsed: dict[str, pd.DataFrame], cities: pd.DataFrame, demo_panel: pd.DataFrame
) -> None:
    expected = {(city, year) for city in cities["unit_id"] for year in YEARS}
    for name, frame in parsed.items():
        keys = list(zip(frame["unit_id"], frame["year"], strict=True))
        assert set(keys) == expected, name
    panel_keys = list(zip(demo_panel["unit_id"], demo_panel["year"], strict=True))
    assert len(panel_keys) == len(expected) and set(panel_keys) == expected


def test_no_missing_marker_in_calibration_rows(parsed_panel: pd.DataFrame) -> None:
    rows = parsed_panel[
        parsed_panel["unit_id"].isin(calibration.PROTECTED_CITIES) & (parsed_panel["year"] == 2020)
    ]
    assert len(rows) == 4
    assert rows.notna().all().all()


def test_parsed_files_reproduce_the_clean_panel(
    parsed_panel: pd.DataFrame, demo_panel: pd.DataFrame
) -> None:
    expected = demo_panel.sort_values(["unit_id", "year"]).reset_index(drop=True)
    assert parsed_panel[["unit_id", "year"]].equals(expected[["unit_id", "year"]])
    for column in dgp.SOURCE_VARIABLES:
        observed = parsed_panel[column].to_numpy(dtype=float)
        present = ~np.isnan(observed)
        np.testing.assert_allclose(
            observed[present],
            expected[column].to_numpy(dtype=float)[present],
            rtol=1e-12,
            err_msg=column,
        )


def test_calibration_targets_hold_in_parsed_files(parsed_panel: pd.DataFrame) -> None:
    year = parsed_panel[parsed_panel["year"] == 2020].set_index("unit_id")
    intensity = 100 * year["rd_expenditure"] / year["gdp"]
    assert round(intensity["chengdu"], 1) == 2.8
    assert round(intensity["shanghai"], 1) == 4.1
    assert round(intensity["shenzhen"], 1) == 4.9
    platforms = year[["key_laboratories", "engineering_research_centres", "incubators"]].sum(axis=1)
    assert platforms["chengdu"] == 9
    assert platforms["shanghai"] == 22
    assert platforms["shenzhen"] == 18
    share = 100 * year.loc["chengdu", "gdp"] / year["gdp"]
    assert round(share["shanghai"], 1) == 45.8
    assert round(share["shenzhen"], 1) == 64.0
    assert round(share["guangzhou"], 1) == 70.8


def test_truth_file_records_the_dgp(demo_dir: Path) -> None:
    truth = json.loads((demo_dir / documentation.TRUTH_FILE).read_text(encoding="utf-8"))
    assert truth["synthetic"] is True
    assert "not real statistics" in truth["statement"]
    assert truth["true_coefficients"] == dgp.DemoParameters().coefficients()
    assert truth["theta"] == 30.0
    assert truth["seed"] == 20221231
    assert truth["calibration"]["targets"]["open_platforms"] == {
        "chengdu": 9,
        "shanghai": 22,
        "shenzhen": 18,
    }
    readme = (demo_dir / documentation.README_FILE).read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme.splitlines()[0]
    assert "Jia, Wen, Pang, Qiu and Yuan" in readme
    assert "sha256sum -c MANIFEST.sha256" in readme


def test_demo_panel_is_deterministic(demo_panel, cities) -> None:
    again = calibration.build_demo_panel(cities, 2011, 2022, 20221231, dgp.DemoParameters())
    pd.testing.assert_frame_equal(demo_panel, again)


def test_demo_platform_stocks_non_decreasing(demo_panel: pd.DataFrame) -> None:
    for column in dgp.PLATFORM_COMPONENTS:
        assert (demo_panel.groupby("unit_id")[column].diff().dropna() >= 0).all()


def test_build_demo_panel_needs_the_calibration_cities(cities: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="calibration cities"):
        calibration.build_demo_panel(
            cities[cities["unit_id"] != "guangzhou"], 2011, 2022, 1, dgp.DemoParameters()
        )
