"""Cross-check: techme's independently tidied tables against the editions that print them.

techme (Hu Huaping, MIT) tidied the same yearbook statistics in R, independently of this
project; its ``.rda`` files ship under data/raw/china_provinces/tidy. Every tidy cell
(province, year, variable) of our three variables is checked by rules fixed in advance,
not by what is left once the differences are known:

- **strict**: the tidy value equals the cleaned panel's. Reported, not bounded: the
  panel keeps the latest edition, so a first release that a later edition revises
  differs by design, and the study's vintage policy may leave a cell out of the panel.
- **source**: the ``.rda`` files record no source per row, so each cell's source is
  decided per dataset (``TABLES``). ``RDLaborHour`` and ``RDPatentAuthority`` tidy the
  yearbook, one edition per data year: the source of year Y is the study's source whose
  ``table.year`` is Y. ``RDIntense`` is no yearbook table: techme built it from the NBS
  annual R&D bulletins (全国科技经费投入统计公报) --- in huhuaping/techme at 9ad60a1, the
  files data-raw/data-tidy/public-site/nbs-RD-bulletin/02-xls/<year>.xlsx hold all 416
  of its R&D-intensity cells (2011-2023, 31 provinces and the nation) with equal values.
  No bulletin is in the raw folder.
- **like-for-like** (a cell whose source is a shipped edition): the tidy value against
  that one edition's reading, at the decimals each side prints. The edition's: those of
  its cell's text. techme's: those of its source file, taken as the most decimals any of
  techme's values of that table and year shows in its shortest decimal form (a file
  prints one number of decimals; a float loses the trailing zeros of "1.00" one value at
  a time). It is ``equal`` when the tidy value is the edition's value as printed;
  ``rounded`` when techme's file prints fewer decimals than the edition's cell and the
  tidy value lies within half a unit of its last decimal of the edition's value (plus
  1e-9 for binary floats); else a ``mismatch`` (also when the edition has no reading of
  that cell: a unit that dropped out). At least 99 % must match, and every mismatch is
  listed by cell.
- **unverifiable** (a cell whose source is not in the raw folder): compared with the
  nearest shipped edition, the earliest that prints the cell (a bulletin is the first
  release of its year; yearbook edition Y reprints it, and before 2018 the earliest
  shipped R&D-intensity edition is 2018). Tolerance: 5 % of that edition's value.
  These cells are outside the like-for-like denominator, and none is accepted at any
  value: a cell beyond the tolerance fails the test unless ``BEYOND_TOLERANCE`` lists it,
  with both values and its reason. How many match that edition at the decimals both
  print (``equal`` or ``rounded`` as above) is reported too.

docs/china_provinces.md quotes the strict, like-for-like and unverifiable counts; a
test parses it and fails, showing both, when it parts from what this module measures.
techme also keeps three misprinted province names of the yearbook files as if they were
provinces (内蒙占, 山两, 两藏): an error on its side; the study maps them (data.aliases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from innopanel.config.data_specs import cleaning_spec
from innopanel.config.specs import with_defaults
from innopanel.data.clean import clean_panel
from innopanel.data.editions import DECIMALS_SUFFIX
from innopanel.data.unit_names import normalise_unit_name, read_unit_table, unit_alias_map
from innopanel.data.yearbook import read_yearbook_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "docs" / "china_provinces.md"
STUDY = ROOT / "config" / "studies" / "china_provinces.yaml"
RAW = ROOT / "data" / "raw" / "china_provinces"
TIDY = RAW / "tidy"
REPOSITORY_FOLDER = "/data-raw/tech-yearbook/"
YEARBOOK = "yearbook, one edition per data year"
BULLETIN = "NBS annual R&D bulletin (not in the raw folder)"
# techme dataset, its row label for our variable, our variable, where techme took it from.
TABLES = (
    ("RDLaborHour", "合计", "rd_personnel_fte", YEARBOOK),
    ("RDPatentAuthority", "发明", "invention_patents_granted", YEARBOOK),
    ("RDIntense", "RD强度", "rd_intensity", BULLETIN),
)
LIKE_FOR_LIKE_BAR = 0.99
RELATIVE_TOLERANCE = 0.05
# Half a unit of the last printed decimal, plus this much for binary floats.
FLOAT_SLACK = 1e-9
# Unverifiable cells allowed beyond the tolerance, with techme's value and the nearest
# edition's: the 2017 bulletin's first release, which the earliest shipped edition (2018)
# prints revised (16 of the 31 provinces' 2017 values differ, these two by more than the
# tolerance); edition 2017, which first printed 2017, is not shipped.
BEYOND_TOLERANCE: dict[tuple[str, int, str], tuple[float, float]] = {
    ("guangxi", 2017, "rd_intensity"): (0.77, 0.70),
    ("hebei", 2017, "rd_intensity"): (1.33, 1.26),
}
MISPRINTED_NAMES = {"内蒙占", "山两", "两藏"}
# techme's rows that are no province: the national total, left out of the check.
NOT_PROVINCES = {"全国"}
KEY = ["unit_id", "year", "variable"]


@dataclass(frozen=True)
class Shipped:
    """The cleaned panel, every edition's reading, and each single-year table's edition."""

    panel: pd.DataFrame
    # unit_id, year, variable, edition, value, decimals (the cell's printed decimals).
    readings: pd.DataFrame
    # (variable, data year) -> the edition of the study's single-year table of that year.
    editions_by_year: dict[tuple[str, int], int]


def _study() -> dict:
    return with_defaults(yaml.safe_load(STUDY.read_text(encoding="utf-8")))


def _mirrored(url: str) -> Path:
    """The shipped copy of a source file (the mirror keeps the repository's tree)."""
    return RAW / url.split(REPOSITORY_FOLDER, 1)[1]


@pytest.fixture(scope="module")
def shipped() -> Shipped:
    """The study cleaned once, and each of its sources read on its own."""
    config = _study()
    spec = cleaning_spec(config)
    staged = {name: _mirrored(source.url) for name, source in spec.sources.items()}
    panel, _ = clean_panel(staged, config)
    aliases = unit_alias_map(read_unit_table(ROOT / spec.unit_table), spec.unit_table, spec.aliases)
    readings, editions_by_year = [], {}
    for name, source in spec.sources.items():
        frame, _ = read_yearbook_table(staged[name], source, *_reading(spec), **_limits(spec))
        for column in source.columns:
            if source.table.year is not None:
                editions_by_year[(column.variable, source.table.year)] = source.table.edition
            readings.append(
                pd.DataFrame(
                    {
                        "unit_id": frame["name_raw"].map(lambda n: aliases[normalise_unit_name(n)]),
                        "year": frame["year"],
                        "variable": column.variable,
                        "edition": source.table.edition,
                        "value": frame[column.variable],
                        "decimals": frame[column.variable + DECIMALS_SUFFIX],
                    }
                )
            )
    readings = pd.concat(readings, ignore_index=True).dropna(subset=["value"])
    assert not readings.duplicated([*KEY, "edition"]).any(), "an edition reads a cell twice"
    return Shipped(panel, readings, editions_by_year)


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    """techme's cells, read once for the module."""
    return _tidy_cells()


def _tidy_cells() -> pd.DataFrame:
    """techme's cells of our variables, provinces mapped to ids (totals left out)."""
    import pyreadr

    units = read_unit_table(ROOT / "config" / "provinces.csv")
    names = unit_alias_map(units)
    misprints = {normalise_unit_name(k): v for k, v in _study()["data"]["aliases"].items()}
    frames = []
    for dataset, label, variable, origin in TABLES:
        table = pyreadr.read_r(TIDY / f"{dataset}.rda")[dataset]
        table = table.loc[table["chn_block4"] == label].copy()
        shown = table["value"].map(shortest_decimals)
        table["decimals"] = shown.groupby(table["year"]).transform("max")
        keys = table["province"].map(normalise_unit_name)
        table["unit_id"] = keys.map(names).fillna(keys.map(misprints))
        unknown = set(keys[table["unit_id"].isna()]) - set(map(normalise_unit_name, NOT_PROVINCES))
        assert not unknown, f"{dataset}: techme rows of no known province: {unknown}"
        table = table.dropna(subset=["unit_id", "value"])
        table["year"] = table["year"].astype(int)
        table["variable"] = variable
        table["origin"] = origin
        frames.append(table[[*KEY, "value", "decimals", "origin"]])
    cells = pd.concat(frames, ignore_index=True)
    assert not cells.duplicated(KEY).any(), "techme has two values for one cell"
    return cells


def shortest_decimals(value: float) -> int:
    """The decimals of a number's shortest decimal form: 2.5 -> 1, 1234.0 -> 0."""
    fraction = repr(float(value)).partition(".")[2]
    return 0 if fraction in ("", "0") else len(fraction)


def printed_match(
    tidy: float, tidy_decimals: int, reading: float, reading_decimals: int
) -> str | None:
    """``equal``, ``rounded`` or None: a tidy value against one edition's printed value."""
    if tidy == round(reading, reading_decimals):
        return "equal"
    half_unit = 0.5 * 10.0**-tidy_decimals + FLOAT_SLACK
    if tidy_decimals < reading_decimals and abs(reading - tidy) <= half_unit:
        return "rounded"
    return None


def cross_check(tidy: pd.DataFrame, shipped: Shipped) -> pd.DataFrame:
    """Each tidy cell with ``strict`` (bool), ``check`` and ``verdict`` (module docstring).

    ``check`` is ``like-for-like`` or ``unverifiable``; ``edition`` is the edition the
    cell was compared with; ``verdict`` is ``equal``, ``rounded``, ``mismatch`` or
    ``no reading`` (like-for-like), ``within tolerance``, ``beyond tolerance`` or
    ``no edition prints it`` (unverifiable); ``matches_printed`` says whether an
    unverifiable cell matches its nearest edition at the decimals both print;
    ``edition_value`` is that edition's reading.
    """
    long = shipped.panel.melt(
        ["unit_id", "year"],
        [variable for _, _, variable, _ in TABLES],
        var_name="variable",
        value_name="panel_value",
    )
    cells = tidy.merge(long, on=KEY, how="left")
    by_edition = shipped.readings.set_index([*KEY, "edition"])[["value", "decimals"]]
    earliest = shipped.readings.groupby(KEY)["edition"].min()

    def one(row: pd.Series) -> pd.Series:
        key = (row["unit_id"], row["year"], row["variable"])
        source = (
            shipped.editions_by_year.get((row["variable"], row["year"]))
            if row["origin"] == YEARBOOK
            else None
        )
        if source is not None:
            check, edition = "like-for-like", source
        else:
            check, edition = "unverifiable", earliest.get(key)
        reading = by_edition.loc[(*key, edition)] if (*key, edition) in by_edition.index else None
        verdict, matches = _verdict(row["value"], int(row["decimals"]), reading, check)
        return pd.Series(
            {
                "check": check,
                "edition": edition,
                "edition_value": None if reading is None else reading["value"],
                "verdict": verdict,
                "matches_printed": matches,
            }
        )

    cells = cells.join(cells.apply(one, axis=1))
    cells["strict"] = cells["value"] == cells["panel_value"]
    return cells


def _verdict(
    value: float, decimals: int, reading: pd.Series | None, check: str
) -> tuple[str, bool]:
    """The cell's verdict, and whether it matches the edition at the printed decimals."""
    if reading is None:
        return ("no reading" if check == "like-for-like" else "no edition prints it"), False
    match = printed_match(value, decimals, float(reading["value"]), int(reading["decimals"]))
    if check == "like-for-like":
        return match or "mismatch", match is not None
    within = abs(value - reading["value"]) <= RELATIVE_TOLERANCE * abs(reading["value"])
    return ("within tolerance" if within else "beyond tolerance"), match is not None


@dataclass(frozen=True)
class Counts:
    """The numbers docs/china_provinces.md quotes."""

    cells: int
    strict: int
    like_for_like: int
    matched: int
    exactly: int
    rounded: int
    unverifiable: int
    within_tolerance: int
    matching_nearest: int


def counts(cells: pd.DataFrame) -> Counts:
    like = cells.loc[cells["check"] == "like-for-like", "verdict"]
    unverifiable = cells.loc[cells["check"] == "unverifiable"]
    return Counts(
        cells=len(cells),
        strict=int(cells["strict"].sum()),
        like_for_like=len(like),
        matched=int(like.isin(["equal", "rounded"]).sum()),
        exactly=int((like == "equal").sum()),
        rounded=int((like == "rounded").sum()),
        unverifiable=len(unverifiable),
        within_tolerance=int((unverifiable["verdict"] == "within tolerance").sum()),
        matching_nearest=int(unverifiable["matches_printed"].sum()),
    )


def _listed(row: pd.Series) -> bool:
    """A cell beyond tolerance that ``BEYOND_TOLERANCE`` lists with these very values."""
    values = BEYOND_TOLERANCE.get((row["unit_id"], row["year"], row["variable"]))
    return values == (row["value"], row["edition_value"])


def _failures(cells: pd.DataFrame) -> pd.DataFrame:
    """Like-for-like mismatches, and unverifiable cells beyond tolerance not listed."""
    like = cells["check"] == "like-for-like"
    bad_like = like & ~cells["verdict"].isin(["equal", "rounded"])
    excused = cells["verdict"].eq("beyond tolerance") & cells.apply(_listed, axis=1)
    bad_unverifiable = ~like & cells["verdict"].ne("within tolerance") & ~excused
    return cells.loc[bad_like | bad_unverifiable]


# The cross-check note of docs/china_provinces.md, as the numbers appear in it
# (whitespace collapsed).
README_NOTE = re.compile(
    r"strict: (?P<strict>[\d,]+) of (?P<cells>[\d,]+) .*?"
    r"like-for-like: (?P<matched>[\d,]+) of (?P<like_for_like>[\d,]+) .*?"
    r"\((?P<exactly>[\d,]+) exactly, (?P<rounded>[\d,]+) rounded.*?"
    r"unverifiable: (?P<unverifiable>[\d,]+) .*?"
    rf"(?P<within_tolerance>[\d,]+) within {RELATIVE_TOLERANCE * 100:.0f} % .*?"
    r"(?P<matching_nearest>[\d,]+) of them matching it"
)


def readme_counts(text: str) -> Counts | None:
    """The counts the docs' cross-check note quotes, or None if it has none."""
    found = README_NOTE.search(" ".join(text.split()))
    if found is None:
        return None
    return Counts(**{k: int(v.replace(",", "")) for k, v in found.groupdict().items()})


def test_tidied_tables_agree_with_the_editions_that_print_them(shipped, tidy) -> None:
    cells = cross_check(tidy, shipped)
    measured = counts(cells)
    failures = _failures(cells)
    assert failures.empty, f"cells that disagree with their edition:\n{failures.to_string()}"
    beyond = cells.loc[cells["verdict"] == "beyond tolerance", KEY]
    assert set(beyond.itertuples(index=False, name=None)) == set(BEYOND_TOLERANCE), (
        "BEYOND_TOLERANCE lists a cell that is within tolerance now; remove it"
    )
    assert measured.like_for_like > 0 and measured.unverifiable > 0
    assert measured.matched / measured.like_for_like >= LIKE_FOR_LIKE_BAR
    print(f"\ncross-check: {measured}")


def test_the_readme_quotes_the_measured_counts(shipped, tidy) -> None:
    measured = counts(cross_check(tidy, shipped))
    quoted = readme_counts(README.read_text(encoding="utf-8"))
    assert quoted is not None, f"{README} has no cross-check note matching {README_NOTE.pattern}"
    assert quoted == measured, f"{README.name} quotes {quoted}\nthe cross-check measures {measured}"


def _altered(shipped: Shipped, key: tuple[str, int, str], edition: int, by: float) -> Shipped:
    readings = shipped.readings.copy()
    where = (readings[[*KEY, "edition"]] == [*key, edition]).all(axis=1)
    assert where.sum() == 1
    readings.loc[where, "value"] += by
    return replace(shipped, readings=readings)


def test_one_changed_edition_value_is_a_named_mismatch(shipped, tidy) -> None:
    """The guard: one edition's reading of one cell, changed by one unit, fails it."""
    key = ("sichuan", 2015, "invention_patents_granted")
    altered = _altered(shipped, key, shipped.editions_by_year[key[2], key[1]], by=1.0)
    failures = _failures(cross_check(tidy, altered))
    assert failures[KEY].apply(tuple, axis=1).tolist() == [key]
    assert failures["verdict"].tolist() == ["mismatch"]


def test_a_unit_missing_from_its_edition_is_a_named_mismatch(shipped, tidy) -> None:
    key = ("tibet", 2012, "rd_personnel_fte")
    readings = shipped.readings
    dropped = (readings[KEY] == list(key)).all(axis=1)
    failures = _failures(cross_check(tidy, replace(shipped, readings=readings[~dropped])))
    assert failures[KEY].apply(tuple, axis=1).tolist() == [key]
    assert failures["verdict"].tolist() == ["no reading"]


def test_an_unverifiable_cell_beyond_tolerance_fails(shipped, tidy) -> None:
    """A bulletin value is compared with the nearest edition, not accepted at any value."""
    key = ("hubei", 2014, "rd_intensity")
    altered = _altered(shipped, key, 2018, by=0.5)
    failures = _failures(cross_check(tidy, altered))
    assert failures[KEY].apply(tuple, axis=1).tolist() == [key]
    assert failures["verdict"].tolist() == ["beyond tolerance"]


def test_printed_decimals_decide_equal_and_rounded() -> None:
    assert printed_match(2.28, 2, 2.283272, 6) == "rounded"
    assert printed_match(2.28, 2, 2.28, 2) == "equal"
    assert printed_match(1235.0, 0, 1234.6, 1) == "rounded"
    assert printed_match(1234.0, 0, 1234.6, 1) is None  # off by more than half a unit
    assert printed_match(2.29, 2, 2.28, 2) is None  # same decimals: a different value
    # "1.00" printed as a float is 1.0: its file's decimals (2), not its own, decide.
    assert printed_match(1.0, 2, 0.99, 2) is None
    assert printed_match(1.0, 1, 0.99, 2) == "rounded"
    assert shortest_decimals(1.0) == 0 and shortest_decimals(0.25) == 2


def test_readme_counts_are_parsed_from_the_note() -> None:
    note = (
        "**strict: 1 of 9 cells** equal the panel; **like-for-like: 5 of 6 cells** "
        "match (4 exactly, 1 rounded ...); **unverifiable: 3 cells**, 2 within 5 % of\n"
        "the nearest edition, 1 of them matching it at the decimals both print."
    )
    assert readme_counts(note) == Counts(9, 1, 6, 5, 4, 1, 3, 2, 1)
    assert readme_counts("no note here") is None


def test_techme_keeps_misprinted_names_as_provinces() -> None:
    """An error on techme's side: the yearbook's misprints became extra 'provinces'.

    The study maps them (data.aliases); the cross-check maps techme's the same way.
    """
    import pyreadr

    names = set()
    for dataset, _, _, _ in TABLES:
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
                path, replace(source, format=kind), *_reading(spec), **_limits(spec)
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


def _limits(spec) -> dict:
    return {"limits": spec.limits, "harmonise": spec.harmonise}
