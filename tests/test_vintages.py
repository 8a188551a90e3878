"""Vintages: a synthetic yearbook with a census-style level break, under each policy.

Two editions of one wide-year R&D-intensity table: edition 2018 prints 2010-2013,
edition 2020 prints 2011-2014 on a revised basis: each unit's 2011-2013 values times a
known factor (0.8 or 1.25; one unit unchanged), drifting by 2 % a year. The panel
keeps 2010 from edition 2018 only, so "latest edition wins" splices the two bases at
2011.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import yaml
from test_yearbook import yearbook_source

from innopanel.config.checks import ConfigError
from innopanel.config.data_specs import vintage_rules
from innopanel.config.exhibits import (
    CAPTION_DIRECTORY,
    VINTAGE_TABLE,
    caption_path,
    exhibit_problems,
)
from innopanel.config.paths import StudyPaths
from innopanel.config.schema import check_schema
from innopanel.config.specs import with_defaults
from innopanel.config.study import RUN_KEY, StudyRun, run_entry
from innopanel.data.clean import clean_panel
from innopanel.data.editions import DECIMALS_SUFFIX, EditionFrame, combine_editions
from innopanel.data.quality import quality_markdown
from innopanel.data.readers import DataError
from innopanel.data.vintages import MIN_OVERLAP_YEARS
from innopanel.exhibits.paper import paper_source
from innopanel.exhibits.table_model import Table
from innopanel.exhibits.text_tables import render_csv
from innopanel.exhibits.vintage_tables import vintage_sentence, vintage_table
from innopanel.vocabulary import unit_noun

# Edition 2018's values (the old basis), per unit and year 2010-2013.
OLD_BASIS = {
    "anhui": [1.00, 1.10, 1.20, 1.30],
    "beijing": [5.00, 5.20, 5.40, 5.60],
    "chongqing": [2.00, 2.10, 2.20, 2.30],
    "fujian": [1.50, 1.60, 1.70, 1.80],
}
# The census revision: edition 2020's value over edition 2018's in 2011, per unit; as in
# a real census revision it drifts over the years (DRIFT: 2011, 2012, 2013).
FACTOR = {"anhui": 0.8, "beijing": 1.25, "chongqing": 0.8, "fujian": 1.0}
DRIFT = [1.0, 1.02, 1.04]
NAMES = {"anhui": "安徽", "beijing": "北京", "chongqing": "重庆", "fujian": "福建"}


def new_basis(unit: str) -> list[float]:
    """Edition 2020's values for 2011-2014: 2011-2013 revised, 2014 new."""
    revised = [
        round(v * FACTOR[unit] * drift, 2)
        for v, drift in zip(OLD_BASIS[unit][1:], DRIFT, strict=True)
    ]
    return [*revised, round(revised[-1] + 0.1, 2)]


def wide_table(years: list[int], values: dict[str, list[float]]) -> list[list[Any]]:
    """A wide-year yearbook table as printed: title, units row, header, totals, regions."""
    return [
        ["1-8 各地区研究与试验发展(R&D)经费投入强度"],
        ["单位：%"],
        ["地区", "Region", *[str(y) for y in years]],
        ["全国", "National Total", *[2.0] * len(years)],
        *[[NAMES[u], u.title(), *[f"{v:.2f}" for v in row]] for u, row in values.items()],
    ]


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def source(path: Path, edition: int) -> dict[str, Any]:
    return yearbook_source(
        str(path), {"rd_intensity": "经费投入强度"}, {"edition": edition, "wide_years": True}
    )


def study(tmp_path: Path, vintages: dict[str, Any] | None = None) -> tuple[dict, dict]:
    """The config and staged files of the synthetic yearbook."""
    old = write_xlsx(tmp_path / "e2018.xlsx", wide_table([2010, 2011, 2012, 2013], OLD_BASIS))
    new = write_xlsx(
        tmp_path / "e2020.xlsx",
        wide_table([2011, 2012, 2013, 2014], {u: new_basis(u) for u in OLD_BASIS}),
    )
    units = tmp_path / "units.csv"
    pd.DataFrame(
        {"unit_id": list(NAMES), "name_en": [u.title() for u in NAMES], "name_zh": NAMES.values()}
    ).to_csv(units, index=False)
    data: dict[str, Any] = {
        "synthetic": True,
        "data_note": "Synthetic test yearbook.",
        "footer": "test",
        "unit_table": str(units),
        "missing_markers": ["", "..."],
        "harmonise": {"totals": ["全国"]},
        "sources": {"intensity_2018": source(old, 2018), "intensity_2020": source(new, 2020)},
    }
    if vintages is not None:
        data["vintages"] = vintages
    config = {
        "study": {"unit": "province", "first_year": 2010, "last_year": 2014},
        "data": data,
        "units": {"%": {"dimension": "percent", "factor": 1}},
        "variables": {
            "rd_intensity": {"kind": "source", "unit": "%", "label": "R&D intensity", "min": 0}
        },
    }
    return config, {"intensity_2018": old, "intensity_2020": new}


def value(panel: pd.DataFrame, unit: str, year: int) -> float:
    return float(panel.set_index(["unit_id", "year"]).loc[(unit, year), "rd_intensity"])


def test_a_break_with_no_policy_stops_the_run_naming_the_choice(tmp_path: Path) -> None:
    config, staged = study(tmp_path)
    with pytest.raises(DataError) as error:
        clean_panel(staged, config)
    message = str(error.value)
    assert "'rd_intensity': the panel keeps 2010 from edition 2018" in message
    assert "later years from edition 2020, which reprints 2011-2013" in message
    assert "3 of 4 units shifted" in message
    for choice in ("policy: latest", "policy: consistent", "policy: splice"):
        assert choice in message
    assert re.search(r"largest beijing x1\.2[67]\d", message)


def test_latest_keeps_the_printed_values_and_reports_the_break(tmp_path: Path) -> None:
    config, staged = study(tmp_path, {"policy": "latest"})
    panel, quality = clean_panel(staged, config)
    for unit, row in OLD_BASIS.items():
        assert value(panel, unit, 2010) == row[0]
        assert value(panel, unit, 2011) == new_basis(unit)[0]
    vintages = quality["vintages"]
    assert vintages["policy"] == "latest"
    assert vintages["dropped"] == [] and vintages["rescaled"] == []
    (found,) = vintages["breaks"]
    assert (found["earlier_edition"], found["basis_edition"]) == (2018, 2020)
    assert (found["kept_years"], found["overlap_years"]) == ([2010], [2011, 2012, 2013])
    shifts = {u["unit_id"]: u["shift"] for u in found["units"]}
    # The median ratio over 2011-2013: the 2012 one.
    assert shifts == pytest.approx({u: f * DRIFT[1] for u, f in FACTOR.items()}, abs=0.01)
    # Which edition printed each kept value.
    assert vintages["edition_of_value"]["rd_intensity"]["anhui"] == {
        "2010": 2018,
        "2011": 2020,
        "2012": 2020,
        "2013": 2020,
        "2014": 2020,
    }
    markdown = quality_markdown(quality)
    assert "## Statistical vintages" in markdown and "| beijing | 1.27" in markdown


def test_consistent_drops_the_old_basis_and_lists_each_value(tmp_path: Path) -> None:
    config, staged = study(tmp_path, {"policy": "consistent"})
    panel, quality = clean_panel(staged, config)
    # 2010 has no value left on the latest basis: the unit-years leave the panel,
    # listed as dropped without any value, and each dropped value is listed.
    assert 2010 not in set(panel["year"])
    assert {"unit_id": "anhui", "year": 2010} in quality["panel"][
        "unit_years_dropped_without_any_value"
    ]
    for unit in OLD_BASIS:
        assert value(panel, unit, 2012) == new_basis(unit)[1]
    dropped = quality["vintages"]["dropped"]
    assert [(d["unit_id"], d["year"], d["value"]) for d in dropped] == [
        (unit, 2010, row[0]) for unit, row in OLD_BASIS.items()
    ]
    assert all("edition 2018 is on another basis than edition 2020" in d["reason"] for d in dropped)
    assert quality["vintages"]["edition_of_value"]["rd_intensity"]["fujian"].keys() == {
        "2011",
        "2012",
        "2013",
        "2014",
    }


def test_splice_rescales_by_the_unit_ratio_in_the_link_year(tmp_path: Path) -> None:
    config, staged = study(tmp_path, {"policy": "splice"})
    panel, quality = clean_panel(staged, config)
    rescaled = {r["unit_id"]: r for r in quality["vintages"]["rescaled"]}
    for unit, row in OLD_BASIS.items():
        # The link year is 2011, the overlap year nearest 2010: new 2011 / old 2011.
        factor = new_basis(unit)[0] / row[1]
        assert value(panel, unit, 2010) == pytest.approx(row[0] * factor, rel=1e-12)
        assert rescaled[unit]["link_year"] == 2011
        assert rescaled[unit]["factor"] == pytest.approx(factor, rel=1e-12)
        assert rescaled[unit]["value"] == row[0]
    assert value(panel, "anhui", 2010) == pytest.approx(0.8, rel=0.01)
    assert value(panel, "beijing", 2010) == pytest.approx(6.25, rel=0.01)
    assert value(panel, "fujian", 2010) == 1.5
    assert quality["vintages"]["dropped"] == []


# ------------------------------------------------- the rule, on edition frames


def edition(number: int, cells: dict[tuple[str, int], float]) -> EditionFrame:
    rows = [
        {"unit_id": u, "year": y, "rd_intensity": v, "rd_intensity" + DECIMALS_SUFFIX: 2}
        for (u, y), v in cells.items()
    ]
    return EditionFrame(f"e{number}", number, pd.DataFrame(rows))


def two_editions(later: dict[str, list[float]]) -> list[EditionFrame]:
    """Edition 2018 prints OLD_BASIS for 2010-2013; 2020 prints ``later`` for 2011-2013."""
    old = {(u, 2010 + i): v for u, row in OLD_BASIS.items() for i, v in enumerate(row)}
    new = {(u, 2011 + i): v for u, row in later.items() for i, v in enumerate(row)}
    return [edition(2018, old), edition(2020, new)]


def test_one_off_revisions_and_rounding_are_no_break() -> None:
    later = {u: [round(v + 0.004, 2) for v in row[1:]] for u, row in OLD_BASIS.items()}
    # Every unit revises one year by a third: a one-off, not a level break.
    for row in later.values():
        row[1] = round(row[1] * 1.33, 2)
    wide, _, vintages = combine_editions(two_editions(later), ["rd_intensity"], vintage_rules({}))
    assert vintages["breaks"] == [] and vintages["policy"] == "latest"
    assert wide.set_index("unit_id").loc["anhui"].set_index("year")["rd_intensity"][2010] == 1.0


def test_a_break_needs_min_share_of_units_beyond_the_tolerance() -> None:
    later = {
        u: [v * (1.1 if u == "beijing" else 1.0) for v in row[1:]] for u, row in OLD_BASIS.items()
    }
    parts = two_editions(later)
    # One unit of four (25 %) shifted by 10 %: a break at min_share 0.25, none at 0.5.
    rules = {"vintages": {"policy": "latest", "min_share": 0.25}}
    _, _, found = combine_editions(parts, ["rd_intensity"], vintage_rules(rules))
    assert [u["unit_id"] for u in found["breaks"][0]["units"] if u["shifted"]] == ["beijing"]
    rules["vintages"]["min_share"] = 0.5
    assert combine_editions(parts, ["rd_intensity"], vintage_rules(rules))[2]["breaks"] == []
    rules["vintages"] |= {"min_share": 0.25, "tolerance": 0.15}
    assert combine_editions(parts, ["rd_intensity"], vintage_rules(rules))[2]["breaks"] == []


def test_a_single_overlap_year_cannot_show_a_break() -> None:
    later = {u: [row[1] * 0.5] for u, row in OLD_BASIS.items()}
    assert MIN_OVERLAP_YEARS == 2
    _, _, found = combine_editions(two_editions(later), ["rd_intensity"], vintage_rules({}))
    assert found["breaks"] == []


def test_splice_drops_and_lists_a_unit_with_no_overlap() -> None:
    later = {u: [v * 0.8 for v in row[1:]] for u, row in OLD_BASIS.items() if u != "fujian"}
    rules = vintage_rules({"vintages": {"policy": "splice"}})
    wide, _, found = combine_editions(two_editions(later), ["rd_intensity"], rules)
    # Fujian is only in edition 2018: none of its values can be linked to the new basis,
    # so each is dropped and listed, never passed on unscaled.
    assert [(d["unit_id"], d["year"]) for d in found["dropped"]] == [
        ("fujian", year) for year in range(2010, 2014)
    ]
    assert all(
        "fewer than 2 overlap years link it to edition 2020" in d["reason"]
        for d in found["dropped"]
    )
    assert wide.loc[wide["unit_id"] == "fujian", "rd_intensity"].isna().all()
    assert len(found["rescaled"]) == 3


# ------------------------------------------------- the table and the paper's sentence


def policy_files(tmp_path: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Each policy's estimates (two-way FE, two terms) and data-quality report."""
    numbers = {"latest": (0.049, 0.068, 403, 2011), "consistent": (0.08, 0.0677, 372, 2012)}
    numbers["splice"] = (0.0826, 0.0741, 403, 2011)
    estimates, quality = {}, {}
    for policy, (estimate, se, nobs, first) in numbers.items():
        estimates[policy] = tmp_path / f"estimates_{policy}.csv"
        pd.DataFrame(
            {
                "model": ["twoway_fe", "twoway_fe"],
                "term": ["rd_intensity", "log_talent"],
                "estimate": [estimate, 0.38],
                "std_error": [se, 0.13],
                "p_value": [0.25, 0.01],
                "nobs": [nobs, nobs],
                "sample_first_year": [first, first],
                "sample_last_year": [2023, 2023],
            }
        ).to_csv(estimates[policy], index=False)
        changed = {"consistent": (31, 0), "splice": (0, 31)}.get(policy, (0, 0))
        section = {
            "dropped": [{}] * changed[0],
            "rescaled": [{}] * changed[1],
            "breaks": [
                {
                    "variable": "rd_intensity",
                    "earlier_edition": 2018,
                    "basis_edition": 2023,
                    "kept_years": [2011],
                    "overlap_years": list(range(2012, 2019)),
                    "units_shifted": 2,
                    "units_compared": 3,
                    "units": [
                        {"unit_id": "tianjin", "shift": 1.476},
                        {"unit_id": "yunnan", "shift": 0.91},
                        {"unit_id": "sichuan", "shift": 0.99},
                    ],
                }
            ],
        }
        quality[policy] = tmp_path / f"quality_{policy}.json"
        quality[policy].write_text(json.dumps({"vintages": section}), encoding="utf-8")
    return estimates, quality


def headline_table(estimates: dict, quality: dict, term: str = "rd_intensity") -> Table:
    """The provincial study's vintage table of ``term`` from the files of policy_files."""
    return vintage_table(
        estimates,
        quality,
        chosen="consistent",
        model="twoway_fe",
        term=term,
        model_label="Two-way FE",
        term_label="R&D intensity",
        unit=unit_noun("province", "provinces"),
        labels={"rd_intensity": "R&D intensity (% of GDP)"},
        names={"tianjin": "Tianjin"},
    )


def test_the_vintage_table_marks_the_chosen_policy_and_quotes_the_break(tmp_path: Path) -> None:
    estimates, quality = policy_files(tmp_path)
    table = headline_table(estimates, quality)
    (tmp_path / "vintages.csv").write_text(render_csv(table), encoding="utf-8")
    rows = pd.read_csv(tmp_path / "vintages.csv", dtype=str).set_index("Vintage policy")
    assert rows.loc["latest", ["Estimate", "SE", "N", "Years", "Values changed"]].tolist() == [
        "0.049",
        "0.068",
        "403",
        "2011–2023",
        "0",
    ]
    assert rows.loc["consistent (chosen)", ["Estimate", "N", "Values changed"]].tolist() == [
        "0.080",
        "372",
        "31",
    ]
    assert rows.loc["splice", "Estimate"] == "0.083"
    note = " ".join(rows.loc[["Note"], "Estimate"])
    assert "2 of 3 provinces moved" in note and "Tianjin ×1.48" in note
    assert "data.vintages" not in note and "rd_intensity" not in note
    sentence = vintage_sentence(tmp_path / "vintages.csv", "R&D intensity")
    assert "vintage policy 'consistent'" in sentence
    assert "0.080 (SE 0.068, N = 372, 2012–2023)" in sentence
    assert "'latest' it is 0.049 (SE 0.068, N = 403, 2011–2023)" in sentence
    assert "Level break in R&D intensity (% of GDP)" in sentence


def test_the_vintage_table_refuses_estimates_without_its_term(tmp_path: Path) -> None:
    estimates, quality = policy_files(tmp_path)
    with pytest.raises(ValueError, match="no single estimate of 'rd_intensity_lag1'"):
        headline_table(estimates, quality, term="rd_intensity_lag1")


# ------------------------------------------------- the config keys


def provinces_config() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "config/studies/china_provinces.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["exhibits"]["vintage_table"].update(model="twoway"),
            "exhibits.vintage_table.model = 'twoway' is not a model",
        ),
        (
            lambda c: c["exhibits"]["vintage_table"].update(term="log_patents_granted"),
            "exhibits.vintage_table.term = 'log_patents_granted' is not a regressor",
        ),
        (
            lambda c: c["data"].pop("vintages"),
            "data.vintages.policy is not set; set it to latest, consistent or splice",
        ),
    ],
)
def test_the_vintage_table_config_is_checked(edit: Any, message: str) -> None:
    config = provinces_config()
    edit(config)
    problems = exhibit_problems(with_defaults(config))
    assert any(message in problem for problem in problems), problems


def test_an_unknown_vintage_policy_is_refused_by_the_schema() -> None:
    config = provinces_config()
    config["data"]["vintages"] = {"policy": "newest"}
    schema = Path(__file__).resolve().parents[1] / "config/schemas/config.schema.yaml"
    with pytest.raises(ConfigError, match=r"data\.vintages\.policy = 'newest' is not allowed"):
        check_schema(config, schema)


def test_the_paper_states_the_vintage_choice_with_the_tables_numbers(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    estimates, quality = policy_files(tmp_path)
    table = headline_table(estimates, quality)
    paths = StudyPaths("china_provinces")
    written = tmp_path / paths.table(VINTAGE_TABLE, "csv")
    written.parent.mkdir(parents=True)
    written.write_text(render_csv(table), encoding="utf-8")
    (tmp_path / CAPTION_DIRECTORY).mkdir(parents=True)
    shutil.copy2(root / caption_path(VINTAGE_TABLE), tmp_path / caption_path(VINTAGE_TABLE))
    config = with_defaults(provinces_config())
    run = StudyRun("china_provinces", paths.config, "0" * 64)
    source = paper_source(
        {**config, RUN_KEY: run_entry(run, config)}, [VINTAGE_TABLE], [], tmp_path
    )
    assert r"policy 'consistent', which gives the headline coefficient 0.080 (SE 0.068" in source
    assert r"\input{results/china_provinces/tables/vintages.tex}" in source
