"""Bad input to the data wing, one case each, three checks each (fast: no workflow run).

Every case builds a small regional study in a temporary folder, breaks one thing, and
runs what the workflow runs for the data: the start-up source and derivation checks,
staging every source (the fetch step) and the clean step, which writes its outputs only
at the end. Each case checks that (1) the message names the file, row, column, sheet,
variable or key, and the fix; (2) nothing partial is left: no panel or report, no
temporary file, and no staged copy of a source that failed to stage; (3) the raw data
is byte-for-byte untouched.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import stat
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook

from innopanel.config.checks import ConfigError
from innopanel.config.data_specs import cleaning_spec, fetch_settings, variable_specs
from innopanel.config.dimensions import variable_quantities
from innopanel.config.sources import check_sources
from innopanel.config.specs import source_specs, with_defaults
from innopanel.data.clean import clean_panel
from innopanel.data.fetch import stage
from innopanel.data.quality import quality_markdown
from innopanel.data.readers import DataError
from innopanel.data.transport import SourceError
from innopanel.io import write_csv, write_json, write_text

LONG_NORTH = "Northern Highlands and Islands Development"  # 42 characters
UNITS_CSV = (
    "unit_id,name_en,aliases\n"
    f"north,{LONG_NORTH},N01\n"
    "south,Southern Coastal Lowlands Region Authority,S02\n"
    "east,Eastern Plains,E03\n"
)
ECONOMY_HEADER = "region,year,gdp(亿元),population(万人)\n"
ECONOMY = ECONOMY_HEADER + (
    "N01,2019,100.5,50.00\nN01,2020,110.0,51.00\nN01,2021,120.0,52.00\n"
    "S02,2019,200.0,80.00\nS02,2020,210.0,81.00\nS02,2021,220.0,82.00\n"
    "E03,2019,50.0,20.00\nE03,2020,55.0,21.00\nE03,2021,60.0,22.00\n"
)
PATENTS_ROWS = [
    ("N01", 2019, 10),
    ("N01", 2020, 12),
    ("N01", 2021, 15),
    ("S02", 2019, 30),
    ("S02", 2020, 0),
    ("S02", 2021, 33),
    ("E03", 2019, 5),
    ("E03", 2020, 6),
    ("E03", 2021, 7),
]
UNITS: dict[str, dict[str, Any]] = {
    "亿元": {"dimension": "money", "factor": 100000000},
    "万元": {"dimension": "money", "factor": 10000},
    "人": {"dimension": "persons", "factor": 1},
    "万人": {"dimension": "persons", "factor": 10000},
    "件": {"dimension": "count", "factor": 1},
}


def patents_workbook(path: Path, rows=PATENTS_ROWS, edit: Callable | None = None) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "patents"
    sheet.append(["region", "year", "patents(件)"])
    for row in rows:
        sheet.append(list(row))
    if edit is not None:
        edit(sheet)
    workbook.save(path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def base_config(root: Path) -> dict[str, Any]:
    raw = root / "raw"
    return {
        "study": {"unit": "region", "first_year": 2019, "last_year": 2021},
        "data": {
            "synthetic": True,
            "data_note": "Test data.",
            "unit_table": str(raw / "regions.csv"),
            "missing_markers": ["", "—", ".."],
            "fetch": {"cache_dir": str(root / "cache")},
            "sources": {
                "economy": {
                    "kind": "local",
                    "path": str(raw / "economy.csv"),
                    "sha256": "0" * 64,
                    "format": "csv",
                    "encoding": "utf-8",
                    "licence": "test",
                    "citation": "test",
                    "unit_column": "region",
                    "year_column": "year",
                    "columns": {"gdp": "gdp", "population": "population"},
                },
                "patents": {
                    "kind": "local",
                    "path": str(raw / "patents.xlsx"),
                    "sha256": "0" * 64,
                    "format": "excel",
                    "encoding": "utf-8",
                    "licence": "test",
                    "citation": "test",
                    "unit_column": "region",
                    "year_column": "year",
                    "columns": {"patents": "patents"},
                },
            },
        },
        "units": copy.deepcopy(UNITS),
        "variables": {
            "gdp": {"kind": "source", "unit": "亿元", "label": "GDP", "min": 0},
            "population": {"kind": "source", "unit": "万人", "label": "Population", "min": 0},
            "patents": {"kind": "source", "unit": "件", "label": "Patents", "min": 0},
            "gdp_per_capita": {
                "kind": "derived",
                "label": "GDP per capita",
                "derive": {"per_capita": {"of": "gdp", "population": "population", "per": 1}},
            },
            "log_patents": {
                "kind": "derived",
                "label": "Log patents",
                "derive": {"log": {"of": "patents"}},
            },
        },
    }


def make_study(root: Path) -> dict[str, Any]:
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "regions.csv").write_text(UNITS_CSV, encoding="utf-8")
    (raw / "economy.csv").write_text(ECONOMY, encoding="utf-8")
    patents_workbook(raw / "patents.xlsx")
    return base_config(root)


def pin(config: dict[str, Any]) -> None:
    """Pin every local source's current SHA256, as a user who made the file would."""
    for source in config["data"]["sources"].values():
        if source["kind"] == "local" and Path(source["path"]).is_file():
            source["sha256"] = sha256(Path(source["path"]))


def run_data_steps(root: Path, config: dict[str, Any]) -> None:
    """Start-up checks, the fetch step for every source, then the clean step."""
    problems = check_sources(source_specs(config), config["units"])
    problems += variable_quantities(variable_specs(config["variables"]), config["units"])[1]
    if problems:
        raise ConfigError("config has problem(s):\n  - " + "\n  - ".join(problems))
    settings = fetch_settings(config["data"], environment={})
    staged = {}
    for name, spec in source_specs(config).items():
        target = root / "staged" / f"{name}.{'xlsx' if spec.format == 'excel' else spec.format}"
        stage(spec, target, settings, first_year=2019, last_year=2021)
        staged[name] = target
    panel, quality = clean_panel(staged, config)
    write_csv(root / "out" / "panel.csv", panel)
    write_json(root / "out" / "report.json", quality)
    write_text(root / "out" / "report.md", quality_markdown(quality))


def digest_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the cases


def csv_edit(old: str, new: str) -> Callable[[Path, dict], None]:
    def make(root: Path, config: dict) -> None:
        path = root / "raw" / "economy.csv"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return make


def economy_bytes(data: bytes) -> Callable[[Path, dict], None]:
    return lambda root, config: (root / "raw" / "economy.csv").write_bytes(data)


def configure(change: Callable[[dict], None]) -> Callable[[Path, dict], None]:
    return lambda root, config: change(config)


def workbook(edit: Callable) -> Callable[[Path, dict], None]:
    return lambda root, config: patents_workbook(root / "raw" / "patents.xlsx", edit=edit)


def variables(change: Callable[[dict], None]) -> Callable[[Path, dict], None]:
    return configure(lambda config: change(config["variables"]))


def economy_source(**changes: Any) -> Callable[[Path, dict], None]:
    return configure(lambda config: config["data"]["sources"]["economy"].update(changes))


def limits(**caps: int) -> Callable[[Path, dict], None]:
    return configure(lambda config: config["data"].setdefault("limits", {}).update(caps))


def harmonise(**rules: Any) -> Callable[[Path, dict], None]:
    return configure(lambda config: config["data"].setdefault("harmonise", {}).update(rules))


def both(*makes: Callable[[Path, dict], None]) -> Callable[[Path, dict], None]:
    def make(root: Path, config: dict) -> None:
        for step in makes:
            step(root, config)

    return make


def units_table(text: str) -> Callable[[Path, dict], None]:
    return lambda root, config: (root / "raw" / "regions.csv").write_text(text, "utf-8")


def formula_without_value(sheet: Any) -> None:
    sheet["C3"] = "=C2*2"  # openpyxl saves formulas without a cached value


def merged_number(sheet: Any) -> None:
    sheet.merge_cells("C2:C3")


def far_cell(sheet: Any) -> None:
    sheet["XFD1048576"] = 1


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def archived(data: bytes, kind: str, member: str = "economy.csv") -> Callable[[Path, dict], None]:
    def make(root: Path, config: dict) -> None:
        archive = root / "raw" / f"economy.{kind}"
        if kind == "zip":
            archive.write_bytes(data)
        else:
            with tarfile.open(archive, "w:gz") as bundle:
                info = tarfile.TarInfo(member)
                info.size = len(data)
                bundle.addfile(info, io.BytesIO(data))
        config["data"]["sources"]["economy"].update(
            path=str(archive), archive="zip" if kind == "zip" else "tar", member=member
        )

    return make


@dataclass(frozen=True)
class Case:
    make: Callable[[Path, dict], None]
    expected: tuple[str, ...]
    # The source whose staged copy must not exist afterwards (None: failed before staging
    # or in the clean step).
    failing_source: str | None = None


ROW = "source 'economy'"
CELL_FIX = "Correct the cell"
CASES: dict[str, Case] = {
    # --- non-finite, absurd and malformed numbers
    "infinite value": Case(
        csv_edit("S02,2020,210.0", "S02,2020,inf"),
        (ROW, "row 6, column 'gdp'", "value 'inf' is not a number", CELL_FIX),
    ),
    "negative infinity": Case(
        csv_edit("S02,2020,210.0", "S02,2020,-Infinity"),
        (ROW, "row 6", "'-Infinity' is not a number"),
    ),
    "nan text": Case(
        csv_edit("S02,2020,210.0", "S02,2020,NaN"),
        (ROW, "row 6", "'NaN' is not a number", "data.missing_markers"),
    ),
    "absurd 1e308": Case(
        csv_edit("S02,2020,210.0", "S02,2020,1e308"),
        (ROW, "row 6, column 'gdp'", "'1e308' is not a usable number", "at least 1e+150"),
    ),
    "overflowing 1e999": Case(
        csv_edit("E03,2021,60.0", "E03,2021,1e999"),
        (ROW, "row 10, column 'gdp'", "is not a usable number"),
    ),
    "underscore number": Case(
        csv_edit("S02,2020,210.0", "S02,2020,2_100"),
        (ROW, "row 6", "'2_100' is not a number"),
    ),
    "hex number": Case(
        csv_edit("S02,2020,210.0", "S02,2020,0x1A"),
        (ROW, "row 6", "'0x1A' is not a number"),
    ),
    "ambiguous digit group": Case(
        csv_edit("S02,2020,210.0", 'S02,2020,"159,790"'),
        (ROW, "row 6, column 'gdp'", "'159,790' is ambiguous", "thousands_separator: ','"),
    ),
    "dot in a decimal-comma file": Case(
        both(
            csv_edit("S02,2020,210.0", 'S02,2020,"1.234,5"'),
            economy_source(decimal_separator=","),
        ),
        (ROW, "row 2, column 'gdp'", "'100.5' has a '.'", "decimal separator is ','"),
    ),
    "below the minimum": Case(
        csv_edit("S02,2020,210.0,81.00", "S02,2020,210.0,-81.00"),
        (ROW, "row 6, column 'population'", "below the minimum 0"),
    ),
    # --- years
    "year 20_20": Case(
        csv_edit("N01,2020", "N01,20_20"),
        (ROW, "row 3, column 'year'", "year '20_20' is not a year", "four digits"),
    ),
    "year inf": Case(
        csv_edit("N01,2020", "N01,inf"), (ROW, "row 3, column 'year'", "year 'inf' is not a year")
    ),
    "fractional year": Case(
        csv_edit("N01,2020", "N01,2020.5"), (ROW, "row 3", "year '2020.5' is not a year")
    ),
    "year with text": Case(
        csv_edit("N01,2020", "N01,2020年"), (ROW, "row 3", "year '2020年' is not a year")
    ),
    # --- headers, delimiters, encodings, huge fields
    "duplicated header": Case(
        economy_bytes(
            ECONOMY.replace("population(万人)\n", "population(万人),gdp(亿元)\n").encode()
        ),
        (ROW, "row 1", "column 'gdp'", "appears 2 times in the header (columns 3, 5)"),
    ),
    "semicolon delimiter": Case(
        economy_bytes(ECONOMY.replace(",", ";").encode()),
        (ROW, "row 1: required column 'gdp'", 'delimiter: ";"'),
    ),
    "tab delimiter": Case(
        economy_bytes(ECONOMY.replace(",", "\t").encode()),
        (ROW, "row 1: required column 'gdp'", 'delimiter: "\\t"'),
    ),
    "byte-order mark": Case(
        economy_bytes(b"\xef\xbb\xbf" + ECONOMY.encode()),
        (ROW, "required column 'region'", "byte-order mark", "encoding: utf-8-sig"),
    ),
    "field over 128 KiB": Case(
        economy_bytes((ECONOMY + 'N01,2020,"' + "9" * 140_000 + '",1\n').encode()),
        (ROW, "row 11", "field larger than field limit", "delimiter"),
    ),
    "wrong encoding": Case(
        economy_bytes(ECONOMY.encode("gbk")),
        (ROW, "is not valid utf-8", "encoding"),
    ),
    # --- Excel
    "formula without a saved value": Case(
        workbook(formula_without_value),
        ("source 'patents'", "sheet 'patents'", "1 formula cell(s) (C3)", "save it"),
    ),
    "merged number": Case(
        workbook(merged_number),
        ("source 'patents'", "sheet 'patents', row 3, column 'patents'", "merged cell", "Unmerge"),
    ),
    "one far cell": Case(
        workbook(far_cell),
        ("source 'patents'", "sheet 'patents' spans 1048576 rows x 16384 columns", "excel_max_"),
    ),
    "sheet over the row cap": Case(
        limits(excel_max_rows=5),
        ("source 'patents'", "spans 10 rows", "data.limits.excel_max_rows = 5"),
    ),
    "workbook member over the archive cap": Case(
        limits(archive_max_member_bytes=200),
        ("source 'patents'", "inflates to", "data.limits.archive_max_member_bytes"),
    ),
    # --- caps and archives at staging
    "local file over the size cap": Case(
        limits(max_file_bytes=100),
        ("source 'economy'", "bytes, over the cap of 100", "data.limits.max_file_bytes"),
        failing_source="economy",
    ),
    "zip member over the size cap": Case(
        both(
            archived(zipped({"economy.csv": ECONOMY.encode()}), "zip"),
            limits(archive_max_member_bytes=100),
        ),
        ("source 'economy'", "member 'economy.csv' inflates to", "archive_max_member_bytes"),
        failing_source="economy",
    ),
    "zip bomb ratio": Case(
        archived(
            zipped({"economy.csv": ECONOMY.encode() + b" " * 3_000_000}, zipfile.ZIP_DEFLATED),
            "zip",
        ),
        ("source 'economy'", "-fold, over the cap of 200", "data.limits.archive_max_ratio"),
        failing_source="economy",
    ),
    "tar member over the size cap": Case(
        both(archived(ECONOMY.encode(), "tar"), limits(archive_max_member_bytes=100)),
        ("source 'economy'", "member 'economy.csv' inflates to", "archive_max_member_bytes"),
        failing_source="economy",
    ),
    # --- mapping and unit-table checks (start-up)
    "one variable from two sources": Case(
        configure(lambda c: c["data"]["sources"]["patents"]["columns"].update(gdp="patents")),
        ("variables.gdp is mapped by data.sources ['economy', 'patents']", "from one source"),
    ),
    "one column mapped twice": Case(
        configure(lambda c: c["data"]["sources"]["economy"]["columns"].update(population="gdp")),
        ("data.sources.economy.columns: ['gdp', 'population'] all map the column 'gdp'",),
    ),
    "blank unit id": Case(
        units_table(UNITS_CSV.replace("east,Eastern", ",Eastern")),
        ("regions.csv, line 4, column 'unit_id': blank",),
    ),
    "tier not a number": Case(
        units_table("unit_id,name_en,tier\nnorth,N01,1\nsouth,S02,\neast,E03,2\n"),
        ("regions.csv, line 3, column 'tier'", "not a whole number"),
    ),
    # --- unit harmonisation
    "unknown unit": Case(
        csv_edit("E03,2021", "X99,2021"),
        (ROW, "row 10, column 'region'", "unknown region 'X99'", "data.harmonise.drop_units"),
    ),
    "totals row not in the default list": Case(
        csv_edit("E03,2021,60.0,22.00\n", "E03,2021,60.0,22.00\nAll of the country,2021,1,1\n"),
        (ROW, "unknown region 'All of the country'", "data.harmonise.totals"),
    ),
    "weighted mean without a weight": Case(
        both(
            csv_edit("N01,2021,120.0,52.00\n", "N011,2021,70.0,30.00\nN012,2021,50.0,21.00\n"),
            harmonise(
                concordance=[{"from": ["N011", "N012"], "to": "north", "merge": "weighted_mean"}]
            ),
        ),
        ("merges into 'north' by weighted mean without a weight", "merge: sum"),
    ),
    "sub-units and their parent both present (two generations of codes)": Case(
        both(
            csv_edit(
                "N01,2021,120.0,52.00\n",
                "N01,2021,120.0,52.00\nN011,2021,70.0,30.00\nN012,2021,50.0,21.00\n",
            ),
            harmonise(concordance=[{"from": ["N011", "N012"], "to": "north", "merge": "sum"}]),
        ),
        (
            ROW,
            "'north' year 2021 appears under its own name 'N01' (row 4)",
            "older code(s) ['N011', 'N012'] (row(s) [5, 6])",
            "Set prefer: newest",
            "or prefer: oldest",
        ),
    ),
    "one sub-unit twice in a year with different values": Case(
        both(
            csv_edit(
                "N01,2021,120.0,52.00\n",
                "N011,2021,70.0,30.00\nN012,2021,50.0,21.00\nN011,2021,71.0,30.00\n",
            ),
            harmonise(concordance=[{"from": ["N011", "N012"], "to": "north", "merge": "sum"}]),
        ),
        (ROW, "rows 4 and 6: 'N011' and 'N011' are one sub-unit of 'north'", "year 2021"),
    ),
    # --- derivations
    "derived without a declaration": Case(
        variables(lambda v: v["log_patents"].pop("derive")),
        ("variables.log_patents is derived but declares no `derive`",),
    ),
    "per capita without population": Case(
        both(
            variables(lambda v: v.pop("population")),
            configure(lambda c: c["data"]["sources"]["economy"]["columns"].pop("population")),
        ),
        (
            "variables.gdp_per_capita.derive.per_capita needs ['population']",
            "or remove gdp_per_capita and every model term and exhibit using it",
        ),
    ),
    "share of two dimensions": Case(
        variables(
            lambda v: v.update(
                gdp_share={
                    "kind": "derived",
                    "label": "x",
                    "derive": {"share": {"part": "gdp", "whole": "population"}},
                }
            )
        ),
        ("variables.gdp_share.derive.share", "different dimensions ['money', 'persons']"),
    ),
    "per capita in a unit of the wrong dimension": Case(
        variables(lambda v: v["gdp_per_capita"].update(unit="万人")),
        ("variables.gdp_per_capita.unit has dimension 'persons'", "declare a 'money' unit"),
    ),
    "a log with a unit": Case(
        variables(lambda v: v["log_patents"].update(unit="件")),
        ("variables.log_patents.unit: a log is a pure number; remove its unit",),
    ),
    "log of zero refused by policy": Case(
        variables(lambda v: v["log_patents"]["derive"]["log"].update(zero="error")),
        ("variables.log_patents: log of patents meets 1 zero value(s)", "'south'", "zero: drop"),
    ),
    "input listed after its derivation": Case(
        variables(
            lambda v: (
                v.update(gdp_per_capita=v.pop("gdp_per_capita")) or v.update({"gdp": v.pop("gdp")})
            )
        ),
        ("variables.gdp_per_capita.derive.per_capita needs ['gdp'], listed after", "move"),
    ),
    "a source variable with a derivation": Case(
        variables(lambda v: v["gdp"].update(derive={"log": {"of": "population"}})),
        ("variables.gdp: a source variable is read, not derived",),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_data_input_is_refused_loudly(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    config = make_study(tmp_path)
    case.make(tmp_path, config)
    pin(config)
    raw_before = digest_tree(tmp_path / "raw")

    with pytest.raises((DataError, ConfigError, SourceError)) as error:
        run_data_steps(tmp_path, config)

    message = str(error.value)
    # 1. The message names where, and the fix.
    for expected in case.expected:
        assert expected in message, f"{name}: {expected!r} not in {message!r}"
    # 2. Nothing partial is left.
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.rglob("*") if "partial" in p.name]
    if case.failing_source is not None:
        assert not list((tmp_path / "staged").glob(f"{case.failing_source}.*"))
    # 3. The raw data is untouched.
    assert digest_tree(tmp_path / "raw") == raw_before


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


# ---------------------------------------------------------------- what goes right


def test_the_study_runs_and_the_report_lists_what_it_dropped(tmp_path: Path) -> None:
    """Totals dropped, sub-units merged, unknown units dropped by rule, all reported."""
    config = make_study(tmp_path)
    text = ECONOMY.replace("N01,2021,120.0,52.00\n", "N011,2021,70.0,30.00\nN012,2021,50.0,22.00\n")
    text += "National,2020,1000.0,500.00\nZZ9,2020,1.0,1.00\n"
    (tmp_path / "raw" / "economy.csv").write_text(text, encoding="utf-8")
    config["data"]["harmonise"] = {
        "unknown_units": "drop",
        "concordance": [{"from": ["N011", "N012"], "to": "north", "merge": "sum"}],
    }
    pin(config)
    run_data_steps(tmp_path, config)
    panel = pd.read_csv(tmp_path / "out" / "panel.csv")
    north_2021 = panel[(panel["unit_id"] == "north") & (panel["year"] == 2021)].iloc[0]
    assert north_2021["gdp"] == pytest.approx(120.0) and north_2021["population"] == 52.0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    economy = next(s for s in report["sources"] if s["name"] == "economy")
    rules = {(e["name"], e["rule"]) for e in economy["units_harmonised"]}
    assert ("National", "a total row (data.harmonise.totals)") in rules
    assert ("ZZ9", "unknown unit (data.harmonise.unknown_units: drop)") in rules
    assert ("N011", "merged into north (sum)") in rules
    # The log's zero is counted, and the coverage table covers every unit and source.
    assert report["derivation_drops"] == [
        {
            "variable": "log_patents",
            "operation": "log",
            "inputs": ["patents"],
            "reason": "zero",
            "rows": 1,
        }
    ]
    assert report["coverage"]["units"]["east"] == {"economy": "2019–2021", "patents": "2019–2021"}
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Coverage: unit x source x year" in markdown
    assert "| Values a derivation could not compute" not in markdown


def test_an_all_missing_variable_is_named_in_the_report(tmp_path: Path) -> None:
    config = make_study(tmp_path)
    text = "region,year,gdp(亿元),population(万人)\n" + "".join(
        f"{r},{y},,{p}\n" for r, y, p in [("N01", 2019, 1), ("S02", 2019, 2), ("E03", 2019, 3)]
    )
    (tmp_path / "raw" / "economy.csv").write_text(text, encoding="utf-8")
    pin(config)
    run_data_steps(tmp_path, config)
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "**Variables with no value at all**" in markdown and ": gdp." in markdown


def test_an_owner_only_source_is_not_staged_world_readable(tmp_path: Path) -> None:
    config = make_study(tmp_path)
    economy = tmp_path / "raw" / "economy.csv"
    link = tmp_path / "raw" / "economy_link.csv"
    economy.chmod(0o600)
    link.symlink_to(economy)
    config["data"]["sources"]["economy"]["path"] = str(link)
    pin(config)
    run_data_steps(tmp_path, config)
    mode = stat.S_IMODE((tmp_path / "staged" / "economy.csv").stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)
    assert stat.S_IMODE((tmp_path / "staged" / "patents.xlsx").stat().st_mode) & 0o044


def test_with_defaults_gives_every_cap_a_default() -> None:
    limits_ = with_defaults({"data": {}})["data"]["limits"]
    assert limits_ == {
        "max_file_bytes": 500_000_000,
        "max_cells": 5_000_000,
        "json_depth": 64,
        "excel_max_rows": 1_048_576,
        "excel_max_columns": 16_384,
        "excel_max_cells": 20_000_000,
        "archive_max_member_bytes": 500_000_000,
        "archive_max_ratio": 200,
        "api_max_pages": 1000,
    }
    assert cleaning_spec(base_config(Path("."))).limits.excel_max_cells == 20_000_000


def test_sub_units_merge_by_weighted_mean_and_a_missing_part_leaves_the_unit_missing(
    tmp_path: Path,
) -> None:
    config = make_study(tmp_path)
    text = ECONOMY.replace(
        "N01,2020,110.0,51.00\nN01,2021,120.0,52.00\n",
        "N011,2020,30.0,10.00\nN012,2020,10.0,30.00\nN011,2021,5.0,1.00\nN012,2021,,3.00\n",
    )
    (tmp_path / "raw" / "economy.csv").write_text(text, encoding="utf-8")
    merge = {"from": ["N011", "N012"], "to": "north", "merge": "weighted_mean"}
    config["data"]["harmonise"] = {"concordance": [{**merge, "weight": "population"}]}
    pin(config)
    run_data_steps(tmp_path, config)
    panel = pd.read_csv(tmp_path / "out" / "panel.csv").set_index(["unit_id", "year"])
    # GDP weighted by population (30*10 + 10*30) / 40 = 15; population itself summed.
    assert panel.loc[("north", 2020), "gdp"] == pytest.approx(15.0)
    assert panel.loc[("north", 2020), "population"] == pytest.approx(40.0)
    # One sub-unit's GDP is missing in 2021: the merged GDP is missing, not a part of it.
    assert pd.isna(panel.loc[("north", 2021), "gdp"])
    assert panel.loc[("north", 2021), "population"] == pytest.approx(4.0)
