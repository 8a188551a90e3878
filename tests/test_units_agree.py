"""Units that cannot disagree: labels against declared units, ratios of two dimensions,
and a source a power of ten off its other sources and years (a unit row's slip)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from test_bad_input import DEMO, SCITECH, TARGET, digest_tree, edit
from test_workflow import make_project, snakemake
from test_yearbook import write_xlsx, yearbook_source

from innopanel.config.checks import ConfigError, check_config
from innopanel.config.schema import check_schema
from innopanel.config.specs import with_defaults
from innopanel.config.study import load_study
from innopanel.config.unit_labels import label_claim, label_unit_problems, variable_labels
from innopanel.data.clean import clean_panel
from innopanel.data.derivations import derive_variables
from innopanel.data.magnitudes import find_scale_breaks
from innopanel.data.quality import quality_markdown
from innopanel.data.readers import DataError

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted(p.stem for p in (ROOT / "config" / "studies").glob("*.yaml"))


# --- labels against declared units -------------------------------------------------


@pytest.mark.parametrize("study", STUDIES)
def test_every_bundled_study_passes_the_label_check(study: str, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    load_study({"study": study}, [])


@pytest.mark.parametrize(
    ("label", "scale", "currency", "kind"),
    [
        ("GDP (million EUR)", 1e6, "EUR", "currency"),
        ("GDP (CNY 100 million)", 1e8, "CNY", "currency"),
        ("Resident population (10,000 persons)", 1e4, None, "persons"),
        ("R&D personnel (FTE, person-years)", 1.0, None, "person-years"),
        ("R&D intensity (% of GDP)", None, None, "percent"),
        ("Graduates (% of persons aged 25-34)", None, None, "percent"),
        ("GDP per capita (constant 2015 US$)", 1.0, "USD", "currency"),
        ("Turnover (kEUR)", 1e3, "EUR", "currency"),
        ("Exports (USD, millions)", 1e6, "USD", "currency"),
        ("人口 (万人)", 1e4, None, "persons"),
        # Claims nothing: no unit in parentheses, or no unit the recognizer knows.
        ("R&D personnel per 10,000 residents", None, None, None),
        ("Price index (1990 = 100)", None, None, None),
        ("GDP (2015 prices)", None, None, None),
        ("Change (percentage points)", None, None, None),
    ],
)
def test_the_label_recognizer_reads_only_what_it_knows(label, scale, currency, kind) -> None:
    claim = label_claim(label)
    assert (claim.scale, claim.currency, claim.kind) == (scale, currency, kind)


@pytest.mark.parametrize(
    ("label", "says"),
    [
        ("GDP (CNY million)", "a scale of 1e+06, not 1e+08"),
        ("GDP (100 million EUR)", "EUR, not CNY"),
        ("GDP (%)", "percent, not currency"),
        ("GDP (persons)", "persons, not currency"),
    ],
)
def test_a_label_naming_another_unit_is_refused_naming_both(study_config, label, says) -> None:
    study_config["variables"]["gdp"]["label"] = label
    with pytest.raises(ConfigError) as error:
        check_config(with_defaults(study_config))
    message = str(error.value)
    assert f"variables.gdp.label {label!r}" in message
    assert "declared unit '亿元'" in message and says in message
    assert "Write the declared unit in the label" in message


def test_a_label_in_thousand_eur_over_million_eur_is_refused(study_config) -> None:
    # One money dimension, so that the demo's R&D share converts.
    study_config["units"]["kEUR"] = {"dimension": "money", "factor": 1000}
    study_config["variables"]["gdp"].update(unit="kEUR", label="GDP (million EUR)")
    with pytest.raises(ConfigError, match=r"kEUR.*a scale of 1e\+06, not 1000"):
        check_config(with_defaults(study_config))
    study_config["variables"]["gdp"]["label"] = "GDP (thousand EUR)"
    _check(study_config)


def test_a_unit_display_label_names_the_unit_of_a_label_without_one(study_config) -> None:
    study_config["units"]["亿元"]["label"] = "CNY 100 million"
    study_config["variables"]["gdp"]["label"] = "Gross domestic product"
    _check(study_config)
    labels = variable_labels(study_config)
    assert labels["gdp"] == "Gross domestic product (CNY 100 million)"
    # A label that names its unit already is printed as written.
    assert labels["rd_expenditure"] == "R&D expenditure (CNY 100 million)"
    study_config["units"]["亿元"]["label"] = "CNY 10,000"
    with pytest.raises(ConfigError, match=r"variables.rd_expenditure.label.*CNY 10,000"):
        check_config(with_defaults(study_config))


def _check(config: dict) -> None:
    check_schema(config, ROOT / "config" / "schemas" / "config.schema.yaml")
    check_config(with_defaults(config))


# --- ratios of two dimensions, per_capita only per person ------------------------------

EUROSTAT_UNITS = {
    "kEUR": {"dimension": "money_eur", "factor": 1000, "label": "thousand EUR"},
    "million PPS": {"dimension": "money_pps", "factor": 1e6},
    "EUR per PPS": {"dimension": "eur_per_pps", "factor": 1},
    "cent per PPS": {"dimension": "eur_per_pps", "factor": 0.01},
    "thousand persons": {"dimension": "persons", "factor": 1000},
}


def _eurostat(derive: dict, **intensity: Any) -> dict[str, dict[str, Any]]:
    return {
        "berd": {"kind": "source", "unit": "kEUR", "label": "Business R&D"},
        "gdp_pps": {"kind": "source", "unit": "million PPS", "label": "GDP (PPS)"},
        "population": {"kind": "source", "unit": "thousand persons", "label": "Population"},
        "intensity": {"kind": "derived", "derive": derive, "label": "BERD over GDP"} | intensity,
    }


def _panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": ["a", "b"],
            "year": [2020, 2020],
            "berd": [500.0, 2000.0],
            "gdp_pps": [10.0, 40.0],
            "population": [100.0, 50.0],
        }
    )


RATIO = {"ratio": {"numerator": "berd", "denominator": "gdp_pps"}}


def test_a_ratio_of_two_dimensions_without_its_unit_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        derive_variables(_panel(), _eurostat(RATIO), EUROSTAT_UNITS)
    message = str(error.value)
    assert "variables.intensity.derive.ratio" in message
    assert "['money_eur', 'money_pps']" in message
    assert "declare it as variables.intensity.unit" in message


def test_a_ratio_of_two_dimensions_in_its_declared_unit() -> None:
    panel = derive_variables(_panel(), _eurostat(RATIO, unit="EUR per PPS"), EUROSTAT_UNITS)
    # 500 thousand EUR over 10 million PPS: 0.05 EUR per PPS, 5 cent per PPS.
    assert panel["intensity"].tolist() == pytest.approx([0.05, 0.05])
    panel = derive_variables(_panel(), _eurostat(RATIO, unit="cent per PPS"), EUROSTAT_UNITS)
    assert panel["intensity"].tolist() == pytest.approx([5.0, 5.0])


def test_a_ratio_of_two_dimensions_in_one_of_theirs_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"variables.intensity.unit is in 'money_eur'"):
        derive_variables(_panel(), _eurostat(RATIO, unit="kEUR"), EUROSTAT_UNITS)


def test_a_ratio_of_one_dimension_keeps_refusing_a_unit() -> None:
    variables = _eurostat({"ratio": {"numerator": "berd", "denominator": "berd"}}, unit="kEUR")
    with pytest.raises(ConfigError, match=r"variables.intensity.unit: a ratio is a pure number"):
        derive_variables(_panel(), variables, EUROSTAT_UNITS)


def test_per_capita_over_no_population_points_to_ratio() -> None:
    derive = {"per_capita": {"of": "berd", "population": "gdp_pps", "per": 1}}
    with pytest.raises(ConfigError) as error:
        derive_variables(_panel(), _eurostat(derive), EUROSTAT_UNITS)
    message = str(error.value)
    assert "its population gdp_pps is in 'money_pps', not a number of people" in message
    assert "use ratio: {numerator: berd, denominator: gdp_pps}" in message
    # Per person it is still per_capita: 500 thousand EUR per 100 thousand persons.
    per_person = {"per_capita": {"of": "berd", "population": "population", "per": 1}}
    panel = derive_variables(_panel(), _eurostat(per_person), EUROSTAT_UNITS)
    assert panel["intensity"].tolist() == pytest.approx([5.0, 40.0])


def test_the_ratio_label_carries_its_declared_unit() -> None:
    units = EUROSTAT_UNITS | {
        "EUR per PPS": {"dimension": "eur_per_pps", "factor": 1, "label": "EUR per PPS"}
    }
    variables = _eurostat(RATIO, unit="EUR per PPS")
    # A label naming no unit is printed with the declared unit's display label ...
    labels = variable_labels({"variables": variables, "units": units})
    assert labels["intensity"] == "BERD over GDP (EUR per PPS)"
    assert labels["berd"] == "Business R&D (thousand EUR)"
    assert label_unit_problems(variables, units) == []
    # ... and one naming another scale than the declared unit is refused.
    variables["intensity"]["label"] = "BERD over GDP (thousand EUR per PPS)"
    (problem,) = label_unit_problems(variables, units)
    assert "variables.intensity.label" in problem and "a scale of 1000, not 1" in problem


# --- scale breaks --------------------------------------------------------------------

UNITS = [f"u{i}" for i in range(12)]


def _source(years: range, factor: float = 1.0, growth: float = 1.08, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.lognormal(6, 1.2, len(UNITS))
    rows = [
        {"unit_id": unit, "year": year, "x": factor * value * growth ** (year - 2010)}
        for year in years
        for unit, value in zip(UNITS, level * rng.lognormal(0, 0.05, len(UNITS)), strict=True)
    ]
    return pd.DataFrame(rows)


def test_a_thousandfold_slip_in_one_source_is_named() -> None:
    frames = {"registry": _source(range(2010, 2016)), "survey": _source(range(2016, 2021), 1e3)}
    (found,) = find_scale_breaks(frames, ["x"])
    assert (found.variable, found.source, found.power) == ("x", "survey", 3)
    assert found.years == (2016, 2017, 2018, 2019, 2020)
    assert found.shift == pytest.approx(3.0, abs=0.1)


def test_growth_level_breaks_and_a_single_cell_are_no_scale_break() -> None:
    fast = _source(range(2010, 2021), growth=1.6)
    census = pd.concat([_source(range(2010, 2015)), _source(range(2015, 2021), factor=1.45)])
    # A jump of 10^0.5 is as far from 1x as from 10x: no power of ten.
    jump = pd.concat([_source(range(2010, 2015)), _source(range(2015, 2021), factor=3.2)])
    cell = _source(range(2010, 2021))
    cell.loc[(cell["unit_id"] == "u3") & (cell["year"] == 2015), "x"] *= 1e3
    for frame in (fast, census, jump, cell):
        assert find_scale_breaks({"one": frame}, ["x"]) == []
    # Two sources sharing one unit (a thousand times larger in the second) are not compared.
    first, second = _source(range(2010, 2016)), _source(range(2010, 2016), seed=4)
    second.loc[second["unit_id"] == "u5", "x"] = first.loc[first["unit_id"] == "u5", "x"] * 1e3
    apart = {
        "first": first.loc[first["unit_id"].isin(UNITS[:6])],
        "second": second.loc[second["unit_id"].isin(UNITS[5:])],
    }
    assert find_scale_breaks(apart, ["x"]) == []


PROVINCES = {
    "beijing": "北京",
    "shanghai": "上海",
    "jiangsu": "江苏",
    "sichuan": "四川",
    "hubei": "湖北",
}
FTE = {"beijing": 330000, "shanghai": 200000, "jiangsu": 680000, "sichuan": 170000, "hubei": 230000}


def _edition(folder: Path, year: int, unit: str) -> Path:
    """One yearbook table of R&D personnel (person-years) as printed, in ``unit``."""
    rows: list[list[Any]] = [
        [f"1-4 各地区研究与试验发展(R&D)人员全时当量({year}年)"],
        [f"单位：{unit}"],
        ["地区", "Region", "全时当量"],
        ["全国", "National Total", 9_999_999],
    ]
    rows += [
        [name, unit_id, round(FTE[unit_id] * 1.06 ** (year - 2019), 1)]
        for unit_id, name in PROVINCES.items()
    ]
    return write_xlsx(folder / f"fte_{year}.xlsx", rows)


def _yearbook_study(tmp_path: Path, slipped: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Four editions; the ``slipped`` one's units row says 万人年 over numbers in 人年."""
    table = tmp_path / "provinces.csv"
    table.write_text(
        "unit_id,name_en,name_zh\n" + "".join(f"{u},{u},{n}\n" for u, n in PROVINCES.items()),
        encoding="utf-8",
    )
    sources, staged = {}, {}
    for year in range(2019, 2023):
        path = _edition(tmp_path, year, "万人年" if year == slipped else "人年")
        sources[f"fte_{year}"] = yearbook_source(
            str(path), {"rd_personnel_fte": "全时当量"}, {"edition": year, "year": year}
        )
        staged[f"fte_{year}"] = str(path)
    config = {
        "study": {
            "title": "t",
            "unit": "province",
            "focal_unit": "sichuan",
            "peer_units": ["beijing"],
            "first_year": 2019,
            "last_year": 2022,
            "seed": 1,
        },
        "data": {
            "synthetic": False,
            "data_note": "test",
            "footer": "test",
            "unit_table": str(table),
            "missing_markers": ["", "—"],
            "harmonise": {"totals": ["全国"]},
            "sources": sources,
        },
        "units": {
            "人年": {"dimension": "person_years", "factor": 1},
            "万人年": {"dimension": "person_years", "factor": 10000},
        },
        "variables": {
            "rd_personnel_fte": {
                "kind": "source",
                "unit": "人年",
                "label": "R&D personnel (FTE, person-years)",
                "min": 0,
            }
        },
    }
    return config, staged


def test_a_unit_row_off_by_ten_thousand_stops_the_run(tmp_path: Path) -> None:
    config, staged = _yearbook_study(tmp_path, slipped=2021)
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    message = str(error.value)
    assert "variable 'rd_personnel_fte', source 'fte_2021'" in message
    assert "year(s) 2021: about 10^4 (x10000" in message
    assert "data.accept_scale_breaks: [{source: <source>, variable: <variable>}]" in message
    assert "fte_2020" not in message and "fte_2022" not in message


def test_an_accepted_scale_break_is_reported(tmp_path: Path) -> None:
    config, staged = _yearbook_study(tmp_path, slipped=2022)
    accepted = [{"source": "fte_2022", "variable": "rd_personnel_fte"}]
    config["data"]["accept_scale_breaks"] = copy.deepcopy(accepted)
    panel, quality = clean_panel(staged, config)
    (reported,) = quality["scale_breaks"]
    assert (reported["source"], reported["years"], reported["factor"]) == (
        "fte_2022",
        [2022],
        "10^4",
    )
    assert "| rd_personnel_fte | fte_2022 | 2022 | 10^4 |" in quality_markdown(quality)
    beijing = panel.set_index(["unit_id", "year"])["rd_personnel_fte"]
    assert beijing[("beijing", 2022)] == pytest.approx(FTE["beijing"] * 1.06**3 * 1e4, rel=1e-3)


def test_a_consistent_yearbook_reports_no_scale_break(tmp_path: Path) -> None:
    config, staged = _yearbook_study(tmp_path, slipped=0)
    assert clean_panel(staged, config)[1]["scale_breaks"] == []


def test_an_accepted_break_must_name_a_source_and_its_variable(study_config) -> None:
    study_config["data"]["accept_scale_breaks"] = [
        {"source": "econmy", "variable": "gdp"},
        {"source": "economy", "variable": "rd_personnel"},
    ]
    with pytest.raises(ConfigError) as error:
        _check(study_config)
    message = str(error.value)
    assert "data.accept_scale_breaks[0]" in message and "Did you mean 'economy'?" in message
    assert "data.accept_scale_breaks[1]" in message and "provides no 'rd_personnel'" in message


@pytest.mark.workflow
def test_a_header_unit_off_by_ten_thousand_stops_the_workflow(tmp_path: Path) -> None:
    """The demo's 2016 block of R&D expenditure says 万元 over numbers in 亿元: the clean
    step stops naming the variable, the source and the year, and writes nothing."""
    workdir = make_project(tmp_path)
    config_path = workdir / DEMO.config
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    slip = edit(
        SCITECH, "R&D经费内部支出(亿元)", "R&D经费内部支出(万元)", "science_technology", "gbk"
    )
    slip(workdir, config)
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    raw_before = digest_tree(workdir / "data" / "raw")

    run = snakemake(workdir, TARGET)

    assert run.returncode != 0
    logs = [p.read_text(encoding="utf-8") for p in (workdir / "logs").rglob("*.log")]
    said = "\n".join([run.stdout, run.stderr, *logs])
    assert "variable 'rd_expenditure', source 'science_technology'" in said
    assert "year(s) 2016: about 10^-4" in said and "data.accept_scale_breaks" in said
    assert not (workdir / DEMO.panel).exists()
    assert digest_tree(workdir / "data" / "raw") == raw_before
