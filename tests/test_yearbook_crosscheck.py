"""Cross-check: the cleaned provincial panel against techme's independently tidied tables.

techme (Hu Huaping, MIT) tidied the same yearbook files in R, independently of this
project; its ``.rda`` files ship with the raw files under data/raw/china_provinces/tidy.
Every overlapping cell (province, year, variable) is compared with the cleaned panel and
put in exactly one class:

- ``equal``: the same number;
- ``edition revision``: techme keeps an earlier edition's value, which our reading of
  that edition confirms; the panel keeps the latest edition (the revision is listed in
  the data-quality report);
- ``edition not in the raw folder``: techme's value matches no edition we read (its
  2013 and 2017 R&D intensities, close to the 2018 edition's); it cannot be checked,
  and the panel keeps the latest edition;
- ``rounding``: techme's value is ours rounded to the decimals techme has (it read the
  2010 R&D-personnel table from the .xlsx copy, which rounds to whole person-years;
  the .xls copy we read keeps one decimal);
- ``error``: anything else, which must be explained below before the test passes.

techme also keeps three misprinted province names of the yearbook files as if they
were provinces (内蒙占, 山两, 两藏): an error on its side, counted separately.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from innopanel.config.data_specs import cleaning_spec
from innopanel.config.specs import with_defaults
from innopanel.data.clean import clean_panel
from innopanel.data.unit_names import normalise_unit_name, read_unit_table, unit_alias_map
from innopanel.data.yearbook import read_yearbook_table

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "config" / "studies" / "china_provinces.yaml"
RAW = ROOT / "data" / "raw" / "china_provinces"
TIDY = RAW / "tidy"
REPOSITORY_FOLDER = "/data-raw/tech-yearbook/"
# techme dataset, its row label for our variable, our variable.
TABLES = (
    ("RDLaborHour", "合计", "rd_personnel_fte"),
    ("RDPatentAuthority", "发明", "invention_patents_granted"),
    ("RDIntense", "RD强度", "rd_intensity"),
)
# Every difference, counted by class (a change in cleaning or data changes these).
EXPECTED_CLASSES = {
    "equal": 957,
    "edition revision": 252,
    "edition not in the raw folder": 34,
    "rounding": 28,
}
MISPRINTED_NAMES = {"内蒙占", "山两", "两藏"}


def _study() -> dict:
    return with_defaults(yaml.safe_load(STUDY.read_text(encoding="utf-8")))


def _mirrored(url: str) -> Path:
    """The shipped copy of a source file (the mirror keeps the repository's tree)."""
    return RAW / url.split(REPOSITORY_FOLDER, 1)[1]


@pytest.fixture(scope="module")
def cleaned() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cleaned panel, and every edition's reading: unit_id, year, variable, edition, value."""
    config = _study()
    spec = cleaning_spec(config)
    staged = {name: _mirrored(source.url) for name, source in spec.sources.items()}
    panel, _ = clean_panel(staged, config)
    aliases = unit_alias_map(read_unit_table(ROOT / spec.unit_table), spec.unit_table, spec.aliases)
    readings = []
    for name, source in spec.sources.items():
        frame, _ = read_yearbook_table(
            staged[name],
            source,
            spec.variables,
            spec.units,
            spec.missing_markers,
            limits=spec.limits,
            harmonise=spec.harmonise,
        )
        for column in source.columns:
            readings.append(
                pd.DataFrame(
                    {
                        "unit_id": frame["name_raw"].map(lambda n: aliases[normalise_unit_name(n)]),
                        "year": frame["year"],
                        "variable": column.variable,
                        "edition": source.table.edition,
                        "value": frame[column.variable],
                    }
                )
            )
    return panel, pd.concat(readings, ignore_index=True)


def _tidy_cells() -> pd.DataFrame:
    """techme's cells of our variables, provinces mapped to ids (totals left out)."""
    import pyreadr

    units = read_unit_table(ROOT / "config" / "provinces.csv")
    names = unit_alias_map(units)
    misprints = {normalise_unit_name(k): v for k, v in _study()["data"]["aliases"].items()}
    frames = []
    for dataset, label, variable in TABLES:
        table = pyreadr.read_r(TIDY / f"{dataset}.rda")[dataset]
        table = table.loc[table["chn_block4"] == label].copy()
        keys = table["province"].map(normalise_unit_name)
        table["misprinted_name"] = keys.isin(set(misprints))
        table["unit_id"] = keys.map(names).fillna(keys.map(misprints))
        table = table.dropna(subset=["unit_id", "value"])
        table["year"] = table["year"].astype(int)
        table["variable"] = variable
        frames.append(table[["unit_id", "year", "variable", "value", "misprinted_name"]])
    return pd.concat(frames, ignore_index=True)


def _tidy_decimals(value: float) -> int:
    text = repr(float(value))
    fraction = text.partition(".")[2]
    return 0 if fraction in ("", "0") else len(fraction)


def classify(tidy: pd.DataFrame, panel: pd.DataFrame, readings: pd.DataFrame) -> pd.DataFrame:
    """Each overlapping cell with its class (see the module docstring)."""
    long = panel.melt(
        ["unit_id", "year"],
        [variable for _, _, variable in TABLES],
        var_name="variable",
        value_name="panel_value",
    ).dropna()
    cells = tidy.merge(long, on=["unit_id", "year", "variable"], how="inner")
    editions = readings.groupby(["unit_id", "year", "variable"])["value"].apply(set)

    def one(row: pd.Series) -> str:
        if row["value"] == row["panel_value"]:
            return "equal"
        if row["value"] in editions.get((row["unit_id"], row["year"], row["variable"]), set()):
            return "edition revision"
        if row["variable"] == "rd_intensity" and row["year"] in (2013, 2017):
            return "edition not in the raw folder"
        places = _tidy_decimals(row["value"])
        if abs(row["value"] - row["panel_value"]) <= 0.5 * 10.0**-places:
            return "rounding"
        return "error"

    cells["class"] = cells.apply(one, axis=1)
    return cells


def test_tidied_tables_agree_with_the_cleaned_panel(cleaned) -> None:
    panel, readings = cleaned
    cells = classify(_tidy_cells(), panel, readings)
    counts = Counter(cells["class"])
    errors = cells.loc[cells["class"] == "error"]
    assert errors.empty, f"unexplained differences:\n{errors.to_string()}"
    assert dict(counts) == EXPECTED_CLASSES
    # Rounding is techme's .xlsx copy of the 2010 R&D-personnel table, nothing else.
    rounded = cells.loc[cells["class"] == "rounding"]
    rounded_cells = set(zip(rounded["variable"], rounded["year"], strict=True))
    assert rounded_cells == {("rd_personnel_fte", 2010)}
    # Where both sides read the same edition (every class but the two edition ones),
    # they agree at the precision both print; strictly equal: 957 of 985 (97.2 %).
    same_edition = cells.loc[~cells["class"].str.startswith("edition")]
    assert same_edition["class"].isin(["equal", "rounding"]).mean() >= 0.99
    print(
        f"\ncross-check: {len(cells)} overlapping cells; "
        + ", ".join(f"{name} {n}" for name, n in counts.most_common())
    )


def test_single_year_tables_agree_cell_by_cell(cleaned) -> None:
    """Patents granted and R&D personnel: one edition per year, so at least 99 % equal."""
    panel, readings = cleaned
    cells = classify(_tidy_cells(), panel, readings)
    single = cells.loc[cells["variable"] != "rd_intensity"]
    equal = (single["class"] == "equal").sum()
    # 28 of 868 differ only because techme's 2010 personnel copy rounds (class rounding).
    assert equal + (single["class"] == "rounding").sum() == len(single)
    patents = single.loc[single["variable"] == "invention_patents_granted"]
    assert (patents["class"] == "equal").mean() >= 0.99
    assert len(patents) == 31 * 14


def test_every_edition_revision_is_in_the_quality_report(cleaned) -> None:
    """techme's earlier-edition values are exactly values our report lists as replaced."""
    config = _study()
    spec = cleaning_spec(config)
    staged = {name: _mirrored(source.url) for name, source in spec.sources.items()}
    _, quality = clean_panel(staged, config)
    listed = {
        (r["unit_id"], r["year"], r["variable"], r["earlier_value"])
        for r in quality["editions"]["revised_values"]
    }
    panel, readings = cleaned
    cells = classify(_tidy_cells(), panel, readings)
    revised = cells.loc[cells["class"] == "edition revision"]
    keys = revised[["unit_id", "year", "variable", "value"]].itertuples(index=False, name=None)
    missing = [key for key in keys if key not in listed]
    assert not missing


def test_techme_keeps_misprinted_names_as_provinces() -> None:
    """An error on techme's side: the yearbook's misprints became extra 'provinces'.

    The study maps them (data.aliases); the cross-check maps techme's the same way.
    """
    import pyreadr

    names = set()
    for dataset, _, _ in TABLES:
        names |= set(pyreadr.read_r(TIDY / f"{dataset}.rda")[dataset]["province"])
    assert MISPRINTED_NAMES <= names
    assert set(_study()["data"]["aliases"]) == MISPRINTED_NAMES


SHARED_RAW = ROOT.parent / "shared" / "data" / "china-st-yearbook" / "raw"


def test_xls_and_xlsx_copies_of_an_edition_agree() -> None:
    """Where an edition ships in both formats, the .xls we read and the .xlsx agree.

    Only the 2010 R&D-personnel .xlsx differs: it rounds to whole person-years.
    """
    if not SHARED_RAW.is_dir():
        pytest.skip(f"the .xlsx copies are not shipped; {SHARED_RAW} is absent")
    spec = cleaning_spec(_study())
    compared, rounded = 0, set()
    for name, source in spec.sources.items():
        relative = source.url.split(REPOSITORY_FOLDER, 1)[1]
        xlsx = SHARED_RAW / relative.replace(".xls", ".xlsx")
        if not xlsx.is_file():
            continue
        readings = [
            read_yearbook_table(
                path,
                replace(source, format=kind),
                *_reading(spec),
                limits=spec.limits,
                harmonise=spec.harmonise,
            )[0]
            for path, kind in ((_mirrored(source.url), "xls"), (xlsx, "excel"))
        ]
        variable = source.columns[0].variable
        both = readings[0].merge(readings[1], on=["name_raw", "year"], suffixes=("", "_xlsx"))
        assert len(both) == len(readings[0]) == len(readings[1]), name
        differs = both.loc[both[variable] != both[variable + "_xlsx"]]
        assert ((differs[variable] - differs[variable + "_xlsx"]).abs() <= 0.5).all(), name
        rounded |= {name} if len(differs) else set()
        compared += 1
    assert compared == 29
    assert rounded == {"rd_personnel_2010"}


def _reading(spec) -> tuple:
    return spec.variables, spec.units, spec.missing_markers
