"""Concordance merges refuse what they cannot do right, and a concordance is a function.

Unit tests call :func:`harmonise_units` on small frames (two generations of codes in one
source-year, absent sub-units, spellings of one sub-unit, renames in the report) and the
start-up check on the demo study's config (cycles, unknown targets, names mapped twice,
several entries for one unit); the end-to-end tests run the data steps of the small
regional study of test_bad_input_data on a temporary folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from test_bad_input_data import ECONOMY, make_study, pin, run_data_steps

from innopanel.config.checks import ConfigError, check_config
from innopanel.config.concordance import concordance_problems
from innopanel.config.data_specs import harmonisation
from innopanel.config.schema import check_schema
from innopanel.config.study import load_study
from innopanel.data.harmonise import harmonise_units
from innopanel.data.quality import SourceReport
from innopanel.data.readers import DataError
from innopanel.data.unit_names import unit_alias_map

ROOT = Path(__file__).resolve().parents[1]
UNITS = pd.DataFrame(
    {
        "unit_id": ["north", "south"],
        "name_en": ["Northland", "Southland"],
        "aliases": ["N01", "S02"],
    }
)
STUDY_ALIASES = {"Nordland": "north"}
SUM = {"from": ["N011", "N012"], "to": "north", "merge": "sum"}


def rows(*cells: tuple[str, int, float]) -> pd.DataFrame:
    """A read source: name, year and gdp per row, numbered from row 2 on one sheet."""
    return pd.DataFrame(
        {
            "name_raw": [name for name, _, _ in cells],
            "source_sheet": "",
            "source_row": list(range(2, len(cells) + 2)),
            "year": [year for _, year, _ in cells],
            "gdp": [float(gdp) for _, _, gdp in cells],
        }
    )


def harmonise(
    frame: pd.DataFrame, *concordance: dict[str, Any]
) -> tuple[pd.DataFrame, SourceReport]:
    report = SourceReport(name="economy", path="economy.csv")
    result = harmonise_units(
        frame,
        unit_alias_map(UNITS, "regions.csv", STUDY_ALIASES),
        harmonisation({"harmonise": {"concordance": list(concordance)}}),
        report,
        path="source 'economy' (economy.csv)",
        unit_column="region",
        unit_table="regions.csv",
        unit="region",
        study_aliases=STUDY_ALIASES,
    )
    return result.set_index(["unit_id", "year"]).sort_index(), report


def harmonised(report: SourceReport) -> set[tuple[str, str, int]]:
    return {(entry["name"], entry["rule"], entry["rows"]) for entry in report.harmonised}


# ------------------------------------------------- two generations of codes in one year


GENERATIONS = rows(
    ("N01", 2020, 100),
    ("N011", 2020, 60),
    ("N012", 2020, 40),
    ("N011", 2021, 70),
    ("N012", 2021, 50),
)


def test_two_code_generations_in_one_source_year_are_refused() -> None:
    with pytest.raises(DataError) as error:
        harmonise(GENERATIONS, SUM)
    message = str(error.value)
    for expected in (
        "source 'economy' (economy.csv)",
        "'north' year 2020",
        "own name 'N01' (row 2)",
        "older code(s) ['N011', 'N012'] (row(s) [3, 4])",
        "counted twice",
        "prefer: newest",
        "prefer: oldest",
    ):
        assert expected in message, (expected, message)
    assert "delete" not in message


def test_prefer_newest_keeps_the_units_own_row_and_lists_the_older_ones() -> None:
    frame, report = harmonise(GENERATIONS, {**SUM, "prefer": "newest"})
    assert frame.loc[("north", 2020), "gdp"] == 100.0
    assert frame.loc[("north", 2021), "gdp"] == 120.0
    dropped = "dropped: an older code of north in 2020, which also have its own row"
    rule = f"{dropped} (data.harmonise.concordance prefer: newest)"
    assert {("N011", rule, 1), ("N012", rule, 1)} <= harmonised(report)
    # Only 2021's sub-units were merged.
    assert ("N011", "merged into north (sum)", 1) in harmonised(report)


def test_prefer_oldest_keeps_the_older_codes_and_lists_the_units_own_row() -> None:
    frame, report = harmonise(GENERATIONS, {**SUM, "prefer": "oldest"})
    assert frame.loc[("north", 2020), "gdp"] == 100.0  # 60 + 40, not 200
    assert len(frame.loc["north"]) == 2
    rule = (
        "dropped: north's own row in 2020, which also have its older codes "
        "(data.harmonise.concordance prefer: oldest)"
    )
    assert ("N01", rule, 1) in harmonised(report)


def test_an_old_code_renamed_next_to_the_units_own_row_is_refused() -> None:
    frame = rows(("Southland", 2020, 5), ("S-old", 2020, 6))
    with pytest.raises(DataError, match="'south' year 2020 appears under its own name"):
        harmonise(frame, {"from": ["S-old"], "to": "south"})


# ---------------------------------------------------------------- absent sub-units


ABSENT = rows(("N011", 2020, 60), ("N012", 2020, 40), ("N011", 2021, 70))


def test_a_sub_unit_absent_leaves_the_unit_missing_and_is_listed() -> None:
    frame, report = harmonise(ABSENT, SUM)
    assert frame.loc[("north", 2020), "gdp"] == 100.0
    assert np.isnan(frame.loc[("north", 2021), "gdp"])
    assert report.partial_merges == [
        {
            "unit_id": "north",
            "year": 2021,
            "present": ["N011"],
            "absent": ["N012"],
            "result": "missing (partial: missing)",
        }
    ]


def test_partial_allow_merges_the_sub_units_present_and_lists_the_year() -> None:
    frame, report = harmonise(ABSENT, {**SUM, "partial": "allow"})
    assert frame.loc[("north", 2021), "gdp"] == 70.0
    assert [entry["result"] for entry in report.partial_merges] == ["partial sum (partial: allow)"]


def test_the_spellings_of_one_sub_unit_are_one_sub_unit() -> None:
    entry = {"from": [["N011", "North One"], "N012"], "to": "north", "merge": "sum"}
    frame, report = harmonise(
        rows(("North One", 2020, 60), ("N012", 2020, 40), ("N011", 2021, 70)), entry
    )
    # 'North One' is N011: 2020 is whole; 2021 lacks N012, so it is missing and listed.
    assert frame.loc[("north", 2020), "gdp"] == 100.0
    assert np.isnan(frame.loc[("north", 2021), "gdp"])
    assert [(e["year"], e["absent"]) for e in report.partial_merges] == [(2021, ["N012"])]


def test_two_spellings_of_one_sub_unit_in_one_year_are_not_added() -> None:
    entry = {"from": [["N011", "North One"], "N012"], "to": "north", "merge": "sum"}
    same = rows(("N011", 2020, 60), ("North One", 2020, 60), ("N012", 2020, 40))
    frame, report = harmonise(same, entry)
    assert frame.loc[("north", 2020), "gdp"] == 100.0
    rule = "exact repeat of another row of this sub-unit of north"
    assert ("North One", rule, 1) in harmonised(report)
    differing = rows(("N011", 2020, 60), ("North One", 2020, 61), ("N012", 2020, 40))
    with pytest.raises(DataError) as error:
        harmonise(differing, entry)
    assert "rows 2 and 3: 'N011' and 'North One' are one sub-unit of 'north'" in str(error.value)
    assert "year 2020" in str(error.value)


# ------------------------------------------------------------- renames in the report


def test_every_alias_rename_and_merge_is_in_the_report() -> None:
    frame = rows(
        ("Nordland", 2020, 1), ("S-old", 2020, 2), ("S-old", 2021, 3), ("Southland", 2019, 4)
    )
    _, report = harmonise(frame, {"from": ["S-old"], "to": "south"})
    assert harmonised(report) == {
        ("Nordland", "renamed to north (data.aliases)", 1),
        ("S-old", "mapped to south (data.harmonise.concordance)", 2),
    }


# ------------------------------------------------------ a concordance is a function


def refused(study_config: dict, *concordance: dict[str, Any]) -> str:
    study_config["data"]["harmonise"] = {"concordance": list(concordance)}
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    return str(error.value)


def test_a_concordance_cycle_is_refused(study_config: dict) -> None:
    message = refused(
        study_config,
        {"from": ["成都", "Chengdu"], "to": "shanghai"},
        {"from": ["上海", "Shanghai"], "to": "chengdu"},
    )
    assert (
        "data.harmonise.concordance[0] (to: shanghai): '成都' is a name of the unit "
        "'chengdu' (config/cities.csv or data.aliases), so this would move chengdu's rows "
        "to shanghai; with data.harmonise.concordance[1] the two units' data would swap"
    ) in message
    assert "data.harmonise.concordance[1] (to: chengdu): '上海' is a name of" in message
    assert "remove '成都' from this entry" in message


def test_a_target_outside_the_unit_table_is_refused(study_config: dict) -> None:
    message = refused(study_config, {"from": ["Chengtu"], "to": "chengdu_new"})
    assert (
        "data.harmonise.concordance[0] (to: chengdu_new): 'chengdu_new' is not a unit_id "
        "in config/cities.csv, so the rows of ['Chengtu'] would vanish from the panel. "
        "Map them to a unit_id (did you mean 'chengdu'?)"
    ) in message


def test_a_name_mapped_to_two_units_is_refused(study_config: dict) -> None:
    message = refused(
        study_config, {"from": ["Chengtu"], "to": "chengdu"}, {"from": ["chengtu"], "to": "wuhan"}
    )
    assert (
        "data.harmonise.concordance[0] and [1] both map 'chengtu' (to 'chengdu' and 'wuhan')"
    ) in message
    assert "the data file" not in message


def test_two_entries_for_one_unit_are_refused_with_the_combined_entry(
    study_config: dict,
) -> None:
    message = refused(
        study_config,
        {"from": ["Inner Chengdu"], "to": "chengdu", "merge": "sum"},
        {"from": ["Outer Chengdu"], "to": "chengdu", "merge": "sum"},
    )
    assert (
        "data.harmonise.concordance[0] and [1] both map to 'chengdu'; one unit takes one "
        "entry, else one would replace the other. Combine them into one entry, {from: "
        "['Inner Chengdu', 'Outer Chengdu'], to: chengdu, merge: sum}"
    ) in message
    assert "delete" not in message
    renames = refused(
        study_config,
        {"from": ["Chengtu"], "to": "chengdu"},
        {"from": ["Tcheng-tou"], "to": "chengdu"},
    )
    assert (
        "Combine them into one entry, {from: ['Chengtu', 'Tcheng-tou'], to: chengdu}: every "
        "name listed in one entry is an older name of the unit."
    ) in renames


def test_the_regional_fixtures_merge_is_a_function() -> None:
    fixture = yaml.safe_load((ROOT / "tests" / "fixtures" / "regions" / "regions.yaml").read_text())
    data = {
        **fixture["data"],
        "unit_table": ROOT / "tests" / "fixtures" / "regions" / "regions.csv",
    }
    assert harmonisation(data).concordance[0].sub_units == (("R05A",), ("R05B",))
    assert concordance_problems(data) == []


def test_a_sub_unit_listed_twice_and_a_units_own_name_are_refused(study_config: dict) -> None:
    message = refused(
        study_config,
        {"from": ["Inner Chengdu", "inner chengdu", "成都"], "to": "chengdu", "merge": "sum"},
    )
    assert "'inner chengdu' is listed as two sub-units" in message
    assert "'成都' is both a name of 'chengdu'" in message


def test_partial_allow_needs_a_merge(study_config: dict) -> None:
    message = refused(study_config, {"from": ["Chengtu"], "to": "chengdu", "partial": "allow"})
    assert "partial: allow applies to sub-units that are merged" in message


def test_the_schema_takes_spellings_and_refuses_unknown_choices(study_config: dict) -> None:
    schema = ROOT / "config" / "schemas" / "config.schema.yaml"
    entry = {"from": [["Inner Chengdu", "内成都"], "Outer Chengdu"], "to": "chengdu"}
    study_config["data"]["harmonise"] = {"concordance": [{**entry, "merge": "sum"}]}
    check_schema(study_config, schema)
    check_config(study_config)
    study_config["data"]["harmonise"]["concordance"][0]["partial"] = "sometimes"
    with pytest.raises(ConfigError, match="partial"):
        check_schema(study_config, schema)


# ------------------------------------------------------------------ end to end


def load_demo_with(tmp_path: Path, concordance: list[dict[str, Any]]) -> dict[str, Any]:
    """Load the demo study with ``concordance`` as the Snakefile does at start-up."""
    shutil.copytree(ROOT / "config" / "schemas", tmp_path / "config" / "schemas")
    config = yaml.safe_load((ROOT / "config/studies/demo_cities.yaml").read_text("utf-8"))
    config["data"]["harmonise"] = {"concordance": concordance}
    study = tmp_path / "config" / "studies" / "demo_cities.yaml"
    study.parent.mkdir(parents=True)
    study.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_study({"study": "demo_cities"}, [], tmp_path)[1]


def test_the_start_up_check_refuses_a_cycle_and_takes_spellings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the study's unit table is named relative to the project
    spellings = [{"from": [["Inner Chengdu", "内成都"], "Outer"], "to": "chengdu", "merge": "sum"}]
    config = load_demo_with(tmp_path / "spellings", spellings)
    entry = config["data"]["harmonise"]["concordance"][0]
    assert (entry["partial"], entry["prefer"]) == ("missing", None)
    with pytest.raises(ConfigError) as error:
        load_demo_with(
            tmp_path / "cycle",
            [{"from": ["成都"], "to": "shanghai"}, {"from": ["上海"], "to": "chengdu"}],
        )
    assert "config/studies/demo_cities.yaml has 2 problem(s)" in str(error.value)
    assert "the two units' data would swap" in str(error.value)


def test_an_absent_sub_unit_is_missing_in_the_panel_and_listed_in_the_report(
    tmp_path: Path,
) -> None:
    config = make_study(tmp_path)
    text = ECONOMY.replace(
        "N01,2020,110.0,51.00\nN01,2021,120.0,52.00\n",
        "N011,2020,60.0,30.00\nN012,2020,50.0,21.00\nN011,2021,70.0,30.00\n",
    )
    (tmp_path / "raw" / "economy.csv").write_text(text, encoding="utf-8")
    config["data"]["harmonise"] = {"concordance": [{**SUM, "from": ["N011", "N012"]}]}
    pin(config)
    run_data_steps(tmp_path, config)
    panel = pd.read_csv(tmp_path / "out" / "panel.csv").set_index(["unit_id", "year"])
    assert panel.loc[("north", 2020), "gdp"] == pytest.approx(110.0)
    assert pd.isna(panel.loc[("north", 2021), "gdp"])
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    economy = next(s for s in report["sources"] if s["name"] == "economy")
    assert economy["partial_merges"] == [
        {
            "unit_id": "north",
            "year": 2021,
            "present": ["N011"],
            "absent": ["N012"],
            "result": "missing (partial: missing)",
        }
    ]
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| economy | north | 2021 | N011 | N012 | missing (partial: missing) |" in markdown


def test_clean_panel_called_from_python_refuses_a_cycle_too(tmp_path: Path) -> None:
    """The API refuses what the pipeline refuses: no start-up check stands before it."""
    config = make_study(tmp_path)
    config["data"]["harmonise"] = {
        "concordance": [{"from": ["S02"], "to": "north"}, {"from": ["N01"], "to": "south"}]
    }
    pin(config)
    with pytest.raises(DataError) as error:
        run_data_steps(tmp_path, config)
    assert "the two units' data would swap" in str(error.value)
    assert not (tmp_path / "out").exists()
