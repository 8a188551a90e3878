"""A regional study end to end: regions as units, long names, merged sub-units, a
dropped total row, a units change and no population. Its outputs say "region"."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import make_project, snakemake

from innopanel.config.paths import StudyPaths

pytestmark = pytest.mark.workflow

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "regions"
STUDY = StudyPaths("regions")
# Text outputs a reader sees: tables, the data-quality report, captions, the paper.
TEXT_SUFFIXES = {".md", ".tex", ".html", ".csv", ".txt", ".json"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = make_project(tmp_path_factory.mktemp("regions"))
    shutil.copytree(
        FIXTURE, workdir / "data" / "raw" / "regions", ignore=shutil.ignore_patterns("*.yaml")
    )
    shutil.copy(FIXTURE / "regions.yaml", workdir / STUDY.config)
    run = snakemake(workdir, "--config", "study=regions")
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_the_panel_merges_sub_units_drops_the_total_and_converts_units(built: Path) -> None:
    panel = pd.read_csv(built / STUDY.panel)
    assert sorted(panel["unit_id"].unique()) == [f"r{i:02d}" for i in range(1, 13)]
    raw = pd.read_csv(FIXTURE / "economy.csv")
    parts = raw[raw["region_code"].isin(["R05A", "R05B"]) & (raw["year"] == 2020)]
    merged = panel[(panel["unit_id"] == "r05") & (panel["year"] == 2020)].iloc[0]
    # Thousand EUR in the file, million EUR in the panel; the sub-units summed.
    assert merged["gdp"] == pytest.approx(parts["gdp (thousand EUR)"].sum() / 1000)
    assert merged["rd_intensity"] == pytest.approx(
        100 * parts["rd_expenditure (thousand EUR)"].sum() / parts["gdp (thousand EUR)"].sum()
    )
    assert "population" not in panel.columns
    report = json.loads((built / STUDY.result("data_quality/report.json")).read_text("utf-8"))
    economy = next(s for s in report["sources"] if s["name"] == "economy")
    rules = {(e["name"], e["rule"]) for e in economy["units_harmonised"]}
    assert ("National total", "a total row (data.harmonise.totals)") in rules
    assert ("R05A", "merged into r05 (sum)") in rules and ("R05B", "merged into r05 (sum)") in rules
    assert [e["year"] for e in economy["out_of_window"]] == [2014]


def test_the_outputs_say_region_and_never_city(built: Path) -> None:
    results = built / STUDY.results
    texts = {
        path: path.read_text(encoding="utf-8", errors="replace")
        for path in results.rglob("*")
        if path.is_file() and path.suffix in TEXT_SUFFIXES
    }
    assert texts
    # A region's own name may say "City" (r05's does); the unit noun may not.
    names = pd.read_csv(FIXTURE / "regions.csv")["name_en"]
    saying_city = sorted(
        str(path.relative_to(results))
        for path, text in texts.items()
        if re.search(r"\bcit(y|ies)\b", re.sub("|".join(map(re.escape, names)), "", text), re.I)
    )
    assert saying_city == []
    tables = "".join(t for p, t in texts.items() if "tables" in p.parts)
    assert re.search(r"\bregions?\b", tables, re.I)
