"""End to end: the real provincial study's data steps, offline, in a temporary directory.

Fetch (every yearbook file from the shipped mirror, checked against its SHA256; the
network is forbidden), clean, estimate and provenance run with
the study china_provinces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from innopanel.config.paths import StudyPaths

ROOT = Path(__file__).resolve().parents[1]
PATHS = StudyPaths("china_provinces")
TARGETS = [
    PATHS.panel,
    PATHS.result("data_quality/report.json"),
    PATHS.result("data_quality/report.md"),
    PATHS.result("estimates/estimates.csv"),
    PATHS.result("provenance/provenance.json"),
    PATHS.result("provenance/retrieval_log.json"),
    PATHS.table("vintages", "csv"),
    PATHS.table("vintages", "tex"),
    PATHS.paper_tex,
]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "2"]
pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("provinces")
    for part in ("Snakefile", "config", "workflow/rules", "workflow/scripts", "workflow/report"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, workdir / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, workdir / part)
    shutil.copytree(
        ROOT / "data/raw/china_provinces",
        workdir / "data/raw/china_provinces",
        ignore=shutil.ignore_patterns("tidy"),
    )
    shutil.copy2(ROOT / "environment.yml", workdir / "environment.yml")
    # The network is forbidden: every file must come from the shipped mirror.
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "workflow"), "INNOPANEL_OFFLINE": "1"}
    run = subprocess.run(
        [*SNAKEMAKE, *TARGETS, "--config", "study=china_provinces"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def test_panel_has_31_provinces_and_ten_years_of_outcome_and_intensity(built: Path) -> None:
    panel = pd.read_csv(built / PATHS.panel)
    assert panel["unit_id"].nunique() == 31
    assert sorted(panel["year"].unique()) == list(range(2010, 2024))
    years = panel.dropna(subset=["invention_patents_granted", "rd_intensity"])
    assert years.groupby("unit_id")["year"].nunique().min() >= 10
    sichuan = panel.set_index(["unit_id", "year"]).loc[("sichuan", 2016)]
    # Yearbook 2016, table 8-8, row 四 川: 10350 invention patents granted.
    assert sichuan["invention_patents_granted"] == 10350
    assert sichuan["name_zh"] == "四川"


def test_quality_report_lists_totals_and_revisions(built: Path) -> None:
    report = json.loads((built / PATHS.result("data_quality/report.json")).read_text("utf-8"))
    for source in report["sources"]:
        regions = {d["region"].replace(" ", "") for d in source["totals_dropped"]}
        assert "全国" in regions, source["name"]
    revised = report["editions"]["revised_values"]
    assert report["editions"]["differences"] == {"revision": 350, "rounding": 520}
    assert len(revised) == 870
    beijing = [
        r
        for r in revised
        if (r["unit_id"], r["year"], r["earlier_edition"]) == ("beijing", 2019, 2019)
    ]
    assert beijing == [
        {
            "unit_id": "beijing",
            "year": 2019,
            "variable": "rd_intensity",
            "earlier_edition": 2019,
            "earlier_source": "rd_intensity_2019",
            "earlier_value": 6.31,
            "later_edition": 2023,
            "later_source": "rd_intensity_2023",
            "later_value": 6.3,
            "kind": "revision",
        }
    ]
    markdown = (built / PATHS.result("data_quality/report.md")).read_text(encoding="utf-8")
    assert "| beijing | 2019 | rd_intensity | 2019 | 6.31 | 2023 | 6.3 |" in markdown
    assert "synthetic" not in markdown.lower() and "city" not in markdown.lower()


def test_provenance_names_repository_commit_path_licence_and_citation(built: Path) -> None:
    provenance = json.loads((built / PATHS.result("provenance/provenance.json")).read_text("utf-8"))
    text = json.dumps(provenance, ensure_ascii=False)
    assert text.count('"repository": "https://github.com/huhuaping/techme"') == 34
    assert text.count('"commit": "9ad60a190dec4a56953da9c478d42cd44c80762a"') == 34
    assert text.count("China Statistical Yearbook on Science and Technology") >= 34
    retrieval_log = built / PATHS.result("provenance/retrieval_log.json")
    retrievals = json.loads(retrieval_log.read_text("utf-8"))
    assert "mirror data/raw/china_provinces/part01-over/01-labor-hour/raw-2010.xls" in json.dumps(
        retrievals, ensure_ascii=False
    )


def test_models_use_every_province(built: Path) -> None:
    estimates = pd.read_csv(built / PATHS.result("estimates/estimates.csv"))
    twoway = estimates.loc[(estimates["model"] == "twoway_fe")].iloc[0]
    # 2011 is dropped: its R&D intensity is on another basis (data.vintages: consistent).
    assert (twoway["nobs"], twoway["n_entities"], twoway["n_clusters"]) == (372, 31, 31)


def test_the_census_break_is_found_and_the_chosen_policy_applied(built: Path) -> None:
    report = json.loads((built / PATHS.result("data_quality/report.json")).read_text("utf-8"))
    vintages = report["vintages"]
    assert vintages["policy"] == "consistent"
    (found,) = vintages["breaks"]
    assert (found["variable"], found["earlier_edition"], found["basis_edition"]) == (
        "rd_intensity",
        2018,
        2023,
    )
    assert (found["kept_years"], found["units_shifted"], found["units_compared"]) == (
        [2011],
        17,
        31,
    )
    assert [
        (d["unit_id"], d["value"]) for d in vintages["dropped"] if d["unit_id"] == "tianjin"
    ] == [("tianjin", 2.63)]
    assert len(vintages["dropped"]) == 31 and vintages["rescaled"] == []
    panel = pd.read_csv(built / PATHS.panel)
    assert panel.loc[panel["year"] == 2011, "rd_intensity"].isna().all()
    assert vintages["edition_of_value"]["rd_intensity"]["sichuan"]["2012"] == 2023
    assert vintages["edition_of_value"]["invention_patents_granted"]["sichuan"]["2016"] == 2016


def _readme_vintage_rows() -> dict[str, list[str]]:
    """The README's table of the headline under each vintage policy: policy -> cells."""
    readme = (ROOT / "docs" / "china_provinces.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Statistical vintages") : readme.index("**Cross-check.**")]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0].split(" ")[0] in ("latest", "consistent", "splice"):
            rows[cells[0]] = cells[1:]
    return rows


def test_the_readme_quotes_the_vintage_table_and_the_break(built: Path) -> None:
    table = pd.read_csv(built / PATHS.table("vintages", "csv"), dtype=str)
    table = table.loc[table["Vintage policy"] != "Note"].set_index("Vintage policy")
    quoted = _readme_vintage_rows()
    assert set(quoted) == set(table.index) == {"latest", "consistent (chosen)", "splice"}
    for policy, (estimate, se, nobs, years) in quoted.items():
        row = table.loc[policy]
        assert [estimate, se, nobs, years] == [row["Estimate"], row["SE"], row["N"], row["Years"]]
    readme = (ROOT / "docs" / "china_provinces.md").read_text(encoding="utf-8")
    report = json.loads((built / PATHS.result("data_quality/report.json")).read_text("utf-8"))
    (found,) = report["vintages"]["breaks"]
    shift = {u["unit_id"]: f"{u['shift']:.2f}" for u in found["units"]}
    assert f"{found['units_shifted']} of the {found['units_compared']} provinces shifted" in readme
    for unit, name in (("tianjin", "Tianjin"), ("inner_mongolia", "Inner Mongolia")):
        assert f"{name} ×{shift[unit]}" in readme
    assert f"Yunnan ×{shift['yunnan']}" in readme
    tex = (built / PATHS.table("vintages", "tex")).read_text(encoding="utf-8")
    assert "consistent (chosen)" in tex
    paper = (built / PATHS.paper_tex).read_text(encoding="utf-8")
    chosen = table.loc["consistent (chosen)"]
    assert (
        f"policy 'consistent', which gives the headline coefficient {chosen['Estimate']} "
        f"(SE {chosen['SE']}, N = {chosen['N']}" in paper
    )
