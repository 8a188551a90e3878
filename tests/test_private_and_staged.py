"""Issue 22, items 6, 7 and 10: private stays private, staged files are verified when
read, and the SLURM executor without sacct stops with a sentence.

The data cases reuse the small regional study of test_bad_input_data (staging every
source, then the clean step as the workflow runs it); two end-to-end runs check what
the workflow itself writes.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_bad_input_data import make_study, pin
from test_workflow import make_project

from innopanel.config.data_specs import fetch_settings
from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.config.specs import source_specs
from innopanel.data.clean import clean_panel
from innopanel.data.fetch import stage
from innopanel.data.quality import quality_markdown
from innopanel.data.readers import DataError
from innopanel.data.staging import provenance_path
from innopanel.io import inherited_mode, keep_outputs_private, sha256_file, write_json
from innopanel.reproducibility.cluster import (
    ClusterSetupError,
    refuse_slurm_without_accounting_tools,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = StudyPaths(DEFAULT_STUDY)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stage_all(root: Path, config: dict[str, Any]) -> dict[str, Path]:
    """The fetch step for every source: the staged copy and its record beside it."""
    settings = fetch_settings(config["data"], environment={})
    staged = {}
    for name, spec in source_specs(config).items():
        target = root / "staged" / f"{name}.{'xlsx' if spec.format == 'excel' else spec.format}"
        record, _ = stage(spec, target, settings, first_year=2019, last_year=2021)
        write_json(provenance_path(target), record)
        staged[name] = target
    return staged


@pytest.fixture
def study(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    config = make_study(tmp_path)
    pin(config)
    return config, stage_all(tmp_path, config)


# ---------------------------------------------------------------- staged files verified


def test_an_untouched_staged_file_is_read(study) -> None:
    config, staged = study
    panel, _ = clean_panel(staged, config, verify_staged_files=True)
    assert len(panel) == 9


def test_a_staged_file_changed_after_staging_is_refused_naming_both_hashes(study) -> None:
    config, staged = study
    economy = staged["economy"]
    recorded = sha256_file(economy)
    economy.write_text(economy.read_text(encoding="utf-8").replace("110.0", "999.0"), "utf-8")
    with pytest.raises(DataError) as error:
        clean_panel(staged, config, verify_staged_files=True)
    message = str(error.value)
    assert f"source 'economy': the staged file {economy} has SHA256 {sha256_file(economy)}" in (
        message
    )
    assert f"its fetch record says {recorded}" in message
    assert f"Delete {economy} and {provenance_path(economy)} and rerun" in message


def test_a_staged_file_planted_with_a_matching_record_is_refused_by_the_pinned_hash(
    study,
) -> None:
    config, staged = study
    economy = staged["economy"]
    economy.write_text(economy.read_text(encoding="utf-8").replace("110.0", "999.0"), "utf-8")
    record = json.loads(provenance_path(economy).read_text(encoding="utf-8"))
    record["staged"]["sha256"] = sha256_file(economy)
    write_json(provenance_path(economy), record)
    with pytest.raises(DataError, match=r"but data\.sources\.economy\.sha256 says [0-9a-f]{64}"):
        clean_panel(staged, config, verify_staged_files=True)


def test_a_staged_file_without_its_fetch_record_is_refused(study) -> None:
    config, staged = study
    provenance_path(staged["patents"]).unlink()
    with pytest.raises(DataError, match=r"source 'patents': the staged file .* no readable fetch"):
        clean_panel(staged, config, verify_staged_files=True)


# ---------------------------------------------------------------- private stays private


def test_outputs_take_the_bits_every_input_grants(tmp_path: Path) -> None:
    def modes(*bits: int) -> int | None:
        paths = []
        for index, mode in enumerate(bits):
            path = tmp_path / f"{len(list(tmp_path.iterdir()))}-{index}"
            path.write_text("x", encoding="utf-8")
            path.chmod(mode)
            paths.append(path)
        return inherited_mode(paths)

    assert modes(0o644, 0o664) is None
    assert modes(0o600, 0o644) == 0o600
    assert modes(0o640, 0o644) == 0o640
    # Read-only for its owner: outputs must still be replaceable by the workflow.
    assert modes(0o400) == 0o600


def test_keeping_outputs_private_narrows_files_and_keeps_directories_usable(
    tmp_path: Path,
) -> None:
    script = (
        "import os, sys; sys.path.insert(0, sys.argv[2])\n"
        "from pathlib import Path\n"
        "from innopanel.io import keep_outputs_private, write_text\n"
        "os.umask(0o022); keep_outputs_private(0o640)\n"
        "root = Path(sys.argv[1]); write_text(root / 'new' / 'out.txt', 'x')\n"
        "import logging; logging.basicConfig(filename=root / 'run.log'); logging.warning('x')\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(ROOT / "workflow")], check=True
    )
    assert mode_of(tmp_path / "new" / "out.txt") == 0o640
    assert mode_of(tmp_path / "run.log") == 0o640
    assert mode_of(tmp_path / "new") == 0o750
    # Nothing to narrow (every input public): this process's umask is left as it was.
    before = os.umask(0o022)
    os.umask(before)
    keep_outputs_private(None)
    assert os.umask(before) == before


@pytest.mark.parametrize("through_a_symlink", [False, True])
def test_a_private_source_is_named_in_the_data_quality_report(
    tmp_path: Path, through_a_symlink: bool
) -> None:
    config = make_study(tmp_path)
    economy = tmp_path / "raw" / "economy.csv"
    economy.chmod(0o600)
    if through_a_symlink:
        link = tmp_path / "raw" / "economy_link.csv"
        link.symlink_to(economy)
        config["data"]["sources"]["economy"]["path"] = str(link)
    pin(config)
    staged = stage_all(tmp_path, config)
    _, quality = clean_panel(staged, config, verify_staged_files=True)
    assert quality["privacy"] == {
        "inputs": [{"input": "source 'economy'", "mode": "0600"}],
        "outputs_mode": "0600",
    }
    assert (
        "- Private inputs: source 'economy' (mode 0600) may not be read by everyone, so the "
        "panel, this report, the logs and every later output of the run are written with "
        "mode 0600." in quality_markdown(quality)
    )


def test_a_report_of_public_inputs_has_no_privacy_entry(study) -> None:
    config, staged = study
    _, quality = clean_panel(staged, config)
    assert "privacy" not in quality
    assert "Private inputs" not in quality_markdown(quality)


SECRET_HEADER = "region,year,gdp(亿元),population(万人),password=hunter2\n"


def _missing_column_message(tmp_path: Path, private: bool, monkeypatch) -> str:
    config = make_study(tmp_path)
    economy = tmp_path / "raw" / "economy.csv"
    text = economy.read_text(encoding="utf-8").split("\n", 1)[1]
    economy.write_text(SECRET_HEADER.replace("gdp(亿元)", "output(亿元)") + text, "utf-8")
    if private:
        economy.chmod(0o600)
    pin(config)
    staged = stage_all(tmp_path, config)
    monkeypatch.chdir(tmp_path)  # the project: the raw file is inside it
    with pytest.raises(DataError, match="required column 'gdp'") as error:
        clean_panel(staged, config, verify_staged_files=True)
    return str(error.value)


def test_a_header_error_does_not_quote_a_private_file(tmp_path: Path, monkeypatch) -> None:
    message = _missing_column_message(tmp_path, True, monkeypatch)
    assert "hunter2" not in message
    assert "the header is not quoted, as the file is private or outside the project" in message


def test_a_header_error_quotes_a_public_file_of_the_project(tmp_path: Path, monkeypatch) -> None:
    assert "hunter2" in _missing_column_message(tmp_path, False, monkeypatch)


def test_a_header_error_does_not_quote_a_file_outside_the_project(
    tmp_path: Path, monkeypatch
) -> None:
    config = make_study(tmp_path / "elsewhere")
    economy = tmp_path / "elsewhere" / "raw" / "economy.csv"
    economy.write_text(SECRET_HEADER.replace("gdp(亿元)", "output(亿元)"), "utf-8")
    pin(config)
    staged = stage_all(tmp_path / "elsewhere", config)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    with pytest.raises(DataError, match="required column 'gdp'") as error:
        clean_panel(staged, config, verify_staged_files=True)
    assert "hunter2" not in str(error.value)


def test_a_bad_value_of_a_private_file_is_not_quoted(tmp_path: Path, monkeypatch) -> None:
    config = make_study(tmp_path)
    economy = tmp_path / "raw" / "economy.csv"
    economy.write_text(economy.read_text(encoding="utf-8").replace("110.0", "secret-110"), "utf-8")
    economy.chmod(0o600)
    pin(config)
    staged = stage_all(tmp_path, config)
    monkeypatch.chdir(tmp_path)
    quoted = r"row 3, column 'gdp': value \(not quoted: the file is private\) is not a number"
    with pytest.raises(DataError, match=quoted) as e:
        clean_panel(staged, config, verify_staged_files=True)
    assert "secret" not in str(e.value)


# ---------------------------------------------------------------- SLURM without sacct


def test_slurm_without_sacct_stops_with_a_sentence_not_errno_2() -> None:
    def which(command: str) -> str | None:
        return None if command == "sacct" else f"/usr/bin/{command}"

    with pytest.raises(ClusterSetupError) as error:
        refuse_slurm_without_accounting_tools("slurm", which)
    message = str(error.value)
    assert message.startswith("The SLURM executor cannot submit jobs from this host: sacct ")
    assert "slurm-no-account: true in profiles/slurm/config.yaml" in message
    assert "--slurm-status-command squeue" in message
    assert "Errno" not in message


def test_slurm_with_its_commands_and_other_executors_start() -> None:
    refuse_slurm_without_accounting_tools("slurm", lambda command: f"/usr/bin/{command}")
    refuse_slurm_without_accounting_tools("local", lambda command: None)
    refuse_slurm_without_accounting_tools(None, lambda command: None)


def test_the_slurm_profile_spells_the_plugins_no_account_setting() -> None:
    """snakemake-executor-plugin-slurm 2.8.0 names the setting ``no_account``: its
    profile key is ``slurm-no-account`` (a misspelt key would fail at start-up)."""
    import yaml

    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text(encoding="utf-8"))
    assert profile["executor"] == "slurm"
    assert profile["slurm-no-account"] is True


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def private_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = make_project(tmp_path_factory.mktemp("private"))
    for path in (workdir / "data/raw/demo").iterdir():
        path.chmod(0o600)
    run = _snakemake(workdir, DEMO.result("estimates/estimates.csv"))
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def _snakemake(workdir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--snakefile",
            str(workdir / "Snakefile"),
            *targets,
        ],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.workflow
def test_the_workflow_keeps_the_clean_steps_outputs_as_private_as_its_sources(
    private_run: Path,
) -> None:
    for output in (
        DEMO.panel,
        DEMO.result("data_quality/report.json"),
        DEMO.result("data_quality/report.md"),
        DEMO.log("clean_panel"),
        # A later step: it inherits the run's umask, not only the clean step.
        DEMO.result("estimates/estimates.csv"),
        DEMO.log("estimate_models"),
    ):
        assert mode_of(private_run / output) == 0o600, output
    staged = [path for path in (private_run / "data/staged").rglob("*") if path.is_file()]
    assert staged and all(mode_of(path) & 0o077 == 0 for path in staged)
    report = (private_run / DEMO.result("data_quality/report.md")).read_text(encoding="utf-8")
    assert "- Private inputs: source 'economy' (mode 0600)" in report


@pytest.mark.workflow
def test_the_workflow_refuses_a_staged_file_changed_after_staging(private_run: Path) -> None:
    staged = next((private_run / "data/staged").rglob("economy.csv"))
    with staged.open("a", encoding="utf-8") as stream:
        stream.write("\n")
    run = _snakemake(private_run, DEMO.panel)
    assert run.returncode != 0
    assert f"the staged file {staged.relative_to(private_run)} has SHA256" in run.stderr
    assert "Delete data/staged/" in run.stderr and "and rerun" in run.stderr
