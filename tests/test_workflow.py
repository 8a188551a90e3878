"""End to end: the Snakemake workflow on a small config in a temporary directory."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from innopanel.config import exhibits
from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.reproducibility.benchmarking import WORKFLOW_PARTS, copy_workflow

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

#: The default study's paths: a run without --config builds it.
DEMO = StudyPaths(DEFAULT_STUDY)
PAPER = [DEMO.paper_tex] + ([DEMO.paper_pdf] if shutil.which("pdflatex") else [])
DIAGNOSTICS_CSV = DEMO.result("estimates/diagnostics.csv")
DETERMINISTIC = [
    DEMO.panel,
    *[
        DEMO.result(name)
        for name in (
            "data_quality/report.json",
            "data_quality/report.md",
            "data_quality/model_coverage.json",
            "data_quality/model_coverage.md",
            "estimates/estimates.csv",
            "estimates/estimates.parquet",
            "estimates/diagnostics.csv",
            "provenance/provenance.json",
            "provenance/provenance.md",
        )
    ],
]
# Time-varying by design (retrieval times): built, but not compared byte for byte.
RETRIEVAL_LOG = DEMO.result("provenance/retrieval_log.json")


def outputs(workdir: Path) -> list[str]:
    """Every byte-stable output the run must build, the diagnostics table included."""
    assert (workdir / DIAGNOSTICS_CSV).is_file(), "run_diagnostics did not run"
    return DETERMINISTIC + exhibits.exhibit_outputs(DEMO) + PAPER


def snakemake(
    workdir: Path, *arguments: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run snakemake in ``workdir`` with the repository's package importable
    (and ``PATH`` replaced by ``path`` if given)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    if path is not None:
        environment["PATH"] = path
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--directory",
            str(workdir),
            "--snakefile",
            str(workdir / "Snakefile"),
            *arguments,
        ],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def make_project(target: Path, edit_config=None, study: str = DEFAULT_STUDY) -> Path:
    """Copy the workflow and the bundled demo data into ``target``, with ``study``'s
    config made small (and edited by ``edit_config``, if given)."""
    parts = (*WORKFLOW_PARTS, "data/raw/example_own", ".gitignore")
    return shrink_study(copy_workflow(ROOT, target, parts), study, edit_config)


def shrink_study(target: Path, study: str, edit_config=None) -> Path:
    """Make ``study``'s config in the project ``target`` small (and apply ``edit_config``)."""
    config_path = target / StudyPaths(study).config
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    # Small: six years instead of twelve (rows outside the window are dropped and reported).
    config["study"]["first_year"] = 2015
    config["study"]["last_year"] = 2020
    drop_models_needing_ten_years(config)
    # The multiverse's samples need all twelve years; test_multiverse_workflow.py runs it.
    config.pop("multiverse", None)  # the examples declare none
    if edit_config is not None:
        edit_config(config)
    config_path.write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return target


def digests(workdir: Path, paths: list[str]) -> dict[str, str]:
    return {p: hashlib.sha256((workdir / p).read_bytes()).hexdigest() for p in paths}


def drop_models_needing_ten_years(config: dict) -> None:
    """Two-way clustering needs at least 10 year clusters; the small config has six."""
    config["models"].pop("twoway_fe_two_way_clustered", None)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = make_project(tmp_path_factory.mktemp("innopanel"))
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def test_every_output_is_built(built: Path) -> None:
    for output in [*outputs(built), RETRIEVAL_LOG]:
        assert (built / output).is_file() and (built / output).stat().st_size > 0, output
    for rule in ("clean_panel", "estimate_models", "run_diagnostics"):
        assert (built / DEMO.log(rule)).is_file()


def test_outputs_have_the_expected_content(built: Path) -> None:
    panel = pd.read_csv(built / DEMO.panel)
    assert panel["year"].between(2015, 2020).all()
    assert not panel.duplicated(["unit_id", "year"]).any()
    assert panel["unit_id"].nunique() >= 60
    # Machine-readable outputs say on every row that the demo data are synthetic.
    for path in (
        DEMO.panel,
        DEMO.result("estimates/estimates.csv"),
        DEMO.result("estimates/diagnostics.csv"),
    ):
        notes = pd.read_csv(built / path)["data_note"]
        assert notes.str.startswith("Synthetic demo data").all(), path

    estimates = pd.read_csv(built / DEMO.result("estimates/estimates.csv"))
    config = yaml.safe_load((built / DEMO.config).read_text(encoding="utf-8"))
    assert list(dict.fromkeys(estimates["model"])) == list(config["models"])
    assert {"pooled_ols", "city_fe", "twoway_fe", "twoway_fe_lag1", "random_effects"} <= set(
        estimates["model"]
    )
    assert (
        estimates[["estimate", "std_error", "p_value", "ci_lower", "ci_upper"]].notna().all().all()
    )
    main = estimates[estimates["model"].isin(config["exhibits"]["regression_table"]["models"])]
    assert (main["cov_type"] == "clustered").all()
    labels = estimates.groupby("model")["cov_label"].first()
    assert labels["twoway_fe_driscoll_kraay"] == "Driscoll–Kraay (Bartlett kernel, bandwidth 2)"
    assert labels["ppml_twoway"] == "Clustered by city (jackknife)"
    assert "rd_intensity_long_run" in set(estimates["term"])
    sub_period = estimates[estimates["model"] == "twoway_fe_2017_2022"].iloc[0]
    assert (sub_period["sample_first_year"], sub_period["sample_last_year"]) == (2017, 2020)
    parquet = pd.read_parquet(built / DEMO.result("estimates/estimates.parquet"))
    assert parquet.shape == estimates.shape and list(parquet.columns) == list(estimates.columns)

    diagnostics = pd.read_csv(built / DEMO.result("estimates/diagnostics.csv"))
    for column in ("test", "model", "statistic", "df", "p_value", "null_hypothesis", "conclusion"):
        assert column in diagnostics.columns
    tests = set(diagnostics["test"])
    assert {
        "Hausman (FE vs RE)",
        "Hausman, cluster-robust (Mundlak)",
        "F test of city effects",
        "Breusch-Pagan LM (random effects)",
        "Wooldridge serial correlation",
        "Pesaran CD (cross-sectional dependence)",
        "VIF",
    } <= tests
    vif = diagnostics[diagnostics["test"] == "VIF"]
    assert vif["term"].notna().all() and (vif["statistic"] >= 1).all()

    for name in exhibits.table_names():
        for extension in exhibits.TABLE_FORMATS:
            table = (built / DEMO.table(name, extension)).read_text(encoding="utf-8")
            assert "Synthetic demo data" in table, f"{name}.{extension} lacks the data note"
    assert "\\toprule" in (built / DEMO.table("regressions", "tex")).read_text(encoding="utf-8")
    report = (built / DEMO.result("data_quality/report.md")).read_text(encoding="utf-8")
    assert "Synthetic demo data" in report
    # Rows outside the 2015-2020 window are summarised per source and year.
    outside = report.split("## Rows outside the study window", 1)[1]
    assert re.search(r"\| economy \| 2011 \| \d+ \|", outside), outside[:400]


def test_second_run_has_nothing_to_do(built: Path) -> None:
    run = snakemake(built, "--dry-run")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Nothing to be done" in run.stdout + run.stderr


# Snakemake prints a changed param's old and new repr as a job's reason; a config section
# there was 44-57 kB of console a run (issue 19). The longest param now is a data note.
MAX_PARAM_CHARACTERS = 400


def test_no_step_records_a_config_section_as_a_param(built: Path) -> None:
    """Every param Snakemake recorded is short: a config section is passed as its digest
    (innopanel.config.rule_params.Digested), so no change can print it whole."""
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (built / ".snakemake" / "metadata").iterdir()
    ]
    assert {record["rule"] for record in records} >= {"clean_panel", "write_provenance"}
    long = {
        (record["rule"], param[:80])
        for record in records
        for param in record.get("params") or []
        if len(param) > MAX_PARAM_CHARACTERS
    }
    assert not long, f"params longer than {MAX_PARAM_CHARACTERS} characters: {sorted(long)}"


def test_a_config_edit_names_the_changed_part_without_printing_it(built: Path) -> None:
    config_path = built / DEMO.config
    original = config_path.read_text(encoding="utf-8")
    config = yaml.safe_load(original)
    config["variables"]["gdp"]["label"] = "GDP, relabelled"
    try:
        config_path.write_text(
            yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        run = snakemake(built, "--dry-run")
    finally:
        config_path.write_text(original, encoding="utf-8")
    assert run.returncode == 0, run.stderr[-2000:]
    reasons = [
        line for line in (run.stdout + run.stderr).splitlines() if "Params have changed" in line
    ]
    # A label is in the clean step's config (a step that reruns for its inputs is not
    # asked about its params).
    assert any("before: <the clean step's config sha256 " in line for line in reasons)
    assert max(len(line) for line in reasons) < 3 * MAX_PARAM_CHARACTERS
    assert "GDP, relabelled" not in run.stdout + run.stderr


def test_forced_rerun_is_byte_identical(built: Path) -> None:
    before = digests(built, outputs(built))
    run = snakemake(built, "--forceall")
    assert run.returncode == 0, run.stderr[-4000:]
    assert digests(built, outputs(built)) == before


def test_deleting_one_figure_rebuilds_only_that_figure(built: Path) -> None:
    (built / DEMO.figure("within_relationship", "png")).unlink()
    run = snakemake(built, "--dry-run", "--quiet", "rules")
    assert run.returncode == 0, run.stderr[-2000:]
    planned = run.stdout + run.stderr
    assert "plot_within_relationship" in planned
    for other in (
        "clean_panel",
        "estimate_models",
        "run_diagnostics",
        "plot_focal_vs_peers",
        "plot_trends",
        "plot_ranking",
        "plot_correlation_heatmap",
        "plot_coefficients",
        "plot_residuals",
        "make_regression_table",
        "make_descriptive_table",
        "write_paper",
        "fetch_source",
    ):
        assert other not in planned
    assert snakemake(built).returncode == 0
    assert (built / DEMO.figure("within_relationship", "png")).is_file()


def test_config_typo_fails_at_start_up(tmp_path: Path) -> None:
    def misspell(config: dict) -> None:
        config["models"]["twoway_fe"]["regressors"] = ["rd_intensty", "log_talent"]

    workdir = make_project(tmp_path, misspell)
    run = snakemake(workdir, "--dry-run")
    assert run.returncode != 0
    assert "models.twoway_fe.regressors[0] = 'rd_intensty'" in run.stdout + run.stderr
    assert not (workdir / DEMO.results).exists()


def test_checksum_mismatch_stops_the_run_and_leaves_no_output(tmp_path: Path) -> None:
    workdir = make_project(tmp_path)
    raw = workdir / "data/raw/demo/open_platforms_registry.csv"
    raw.write_bytes(raw.read_bytes() + b"Chengdu,2021,1,1,1\n")
    before = raw.read_bytes()
    run = snakemake(workdir)
    assert run.returncode != 0
    log = (workdir / DEMO.log("fetch_source", "open_platforms.csv")).read_text(encoding="utf-8")
    assert "source 'open_platforms': SHA256 mismatch" in log
    # The error's sentence reaches the console too, not only the log.
    console = run.stdout + run.stderr
    assert "Error: " in console and "source 'open_platforms': SHA256 mismatch" in console
    assert not (workdir / DEMO.staged / "open_platforms.csv").exists()
    assert not list((workdir / DEMO.staged).glob("*partial*"))
    assert raw.read_bytes() == before


def test_report_is_self_contained_with_every_exhibit_and_caption(built: Path) -> None:
    run = snakemake(built, "--report", "report.html")
    assert run.returncode == 0, run.stderr[-4000:]
    page = (built / "report.html").read_text(encoding="utf-8")
    for name in [*exhibits.table_names(), *exhibits.FIGURES]:
        extension = "html" if name in exhibits.TABLES else "png"
        assert f"{name}.{extension}" in page, f"{name} is not in the report"
    # Captions are rendered from workflow/report/*.rst with the study's config.
    assert "Descriptive statistics of the panel." in page
    assert "The focal city against each of its peers in one year." in page
    assert "{{" not in page
    # Self-contained: every exhibit is embedded as a data URI; no script is fetched.
    assert page.count("data:image/png;") >= len(exhibits.FIGURES)
    assert page.count("data:text/html;") >= len(exhibits.table_names())
    assert not re.search(r"<script[^>]*\ssrc=", page)


def test_without_a_latex_engine_the_paper_is_written_but_not_compiled(tmp_path: Path) -> None:
    workdir = make_project(tmp_path / "project")
    # The machine's PATH with every LaTeX engine taken out (other tools, e.g. `which`
    # that Snakemake's executor plugins call at start-up, stay).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    engines = {"pdflatex", "lualatex", "xelatex", "latex"}
    for directory in [str(Path(sys.executable).parent), *os.environ["PATH"].split(os.pathsep)]:
        for tool in Path(directory).glob("*") if Path(directory).is_dir() else ():
            link = bin_dir / tool.name
            if tool.name not in engines and not link.exists() and os.access(tool, os.X_OK):
                link.symlink_to(tool)
    run = snakemake(workdir, "--dry-run", "--quiet", "rules", path=str(bin_dir))
    assert run.returncode == 0, run.stderr[-2000:]
    planned = run.stdout + run.stderr
    assert "write_paper" in planned and "make_regression_table" in planned
    assert "compile_paper" not in planned


def test_editing_a_model_reruns_the_estimates_but_not_the_cleaning(tmp_path: Path) -> None:
    """The clean step depends on the data config only; a model's terms are the estimate
    step's business (it checks the panel can carry each model)."""
    workdir = make_project(tmp_path)
    estimates = DEMO.result("estimates/estimates.csv")
    run = snakemake(workdir, estimates)
    assert run.returncode == 0, run.stderr[-4000:]
    config_path = workdir / DEMO.config
    study = yaml.safe_load(config_path.read_text(encoding="utf-8"))

    def planned_after(edit) -> str:
        config = copy.deepcopy(study)
        edit(config)
        config_path.write_text(
            yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        run = snakemake(workdir, estimates, "--dry-run", "--quiet", "rules")
        assert run.returncode == 0, run.stderr[-2000:]
        return run.stdout + run.stderr

    def drop_a_regressor(config: dict) -> None:
        config["models"]["twoway_fe"]["regressors"].remove("open_platforms")
        # The study's text quotes that coefficient; without it, it would be refused.
        config["study"]["narrative"] = None

    planned = planned_after(drop_a_regressor)
    assert "estimate_models" in planned
    assert "clean_panel" not in planned and "fetch_source" not in planned

    def add_a_missing_marker(config: dict) -> None:
        config["data"]["missing_markers"].append("n/a")

    # The dry run does see a change the clean step depends on.
    assert "clean_panel" in planned_after(add_a_missing_marker)
