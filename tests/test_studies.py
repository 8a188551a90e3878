"""Studies as first-class citizens: one config each, chosen on the command line, loaded
whole, with every output under the study's own folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from innopanel.config.checks import ConfigError
from innopanel.config.paths import (
    DEFAULT_STUDY,
    StudyNameError,
    StudyPaths,
    available_studies,
    bundled_studies,
    study_paths,
)
from innopanel.config.study import (
    RUN_KEY,
    chosen_study,
    config_sha256,
    load_study,
    run_of,
    study_unit,
)
from innopanel.io import sha256_file
from innopanel.reproducibility.policy import Policy
from innopanel.vocabulary import unit_words

ROOT = Path(__file__).resolve().parents[1]


def test_every_path_of_a_study_lies_in_its_own_folders() -> None:
    paths = StudyPaths("own_data")
    assert paths.config == "config/studies/own_data.yaml"
    assert paths.panel == "data/processed/own_data/panel.csv"
    assert paths.table("regressions", "tex") == "results/own_data/tables/regressions.tex"
    assert paths.figure("trends", "png") == "results/own_data/figures/trends.png"
    assert paths.paper_pdf == "results/own_data/paper/paper.pdf"
    assert paths.manifest == "results/own_data/MANIFEST.sha256"
    assert paths.log("fetch_source", "{source}.{ext}") == (
        "logs/own_data/fetch_source/{source}.{ext}.log"
    )
    assert paths.benchmark("clean_panel") == "benchmarks/own_data/clean_panel/clean_panel.tsv"


def test_the_bundled_studies_are_listed_and_each_has_a_committed_reference() -> None:
    studies = bundled_studies(ROOT)
    assert DEFAULT_STUDY in studies
    assert {"demo_cities", "own_data", "world_bank"} <= set(available_studies(ROOT))
    for study in studies:
        paths = StudyPaths(study)
        assert (ROOT / paths.manifest).is_file(), f"{study} has no reference manifest"
        assert (ROOT / paths.environment).is_file()


def test_an_unknown_study_names_the_studies_there_are(tmp_path: Path) -> None:
    with pytest.raises(StudyNameError, match=r"study 'nope' has no config") as error:
        study_paths("nope", ROOT)
    assert "demo_cities, own_data, world_bank" in str(error.value)
    with pytest.raises(StudyNameError, match="lower-case name"):
        study_paths("../demo_cities", ROOT)
    (tmp_path / "config/studies").mkdir(parents=True)
    (tmp_path / "config/studies/bundled.txt").write_text("# comment\nmissing\n", "utf-8")
    with pytest.raises(StudyNameError, match=r"study 'missing' has no config"):
        bundled_studies(tmp_path)


def test_the_command_line_chooses_a_study_and_nothing_else() -> None:
    assert chosen_study({}, []) == DEFAULT_STUDY
    assert chosen_study({"study": "own_data"}, []) == "own_data"
    with pytest.raises(ConfigError, match=r"--configfile x.yaml: a study is not chosen"):
        chosen_study({}, ["x.yaml"])
    with pytest.raises(ConfigError, match=r"--config data, models: only `study` may be set"):
        chosen_study({"study": "own_data", "models": {}, "data": {}}, [])
    # A config file given with --configfile puts its `study` section here: refused above;
    # a mapping typed on the command line is no study name either.
    with pytest.raises(ConfigError, match=r"--config study=\{'title': 'x'\}: name a study"):
        chosen_study({"study": {"title": "x"}}, [])


def test_load_study_reads_the_whole_file_checks_it_and_records_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    for study in available_studies(ROOT):
        run, config = load_study({"study": study}, [], ROOT)
        paths = StudyPaths(study)
        assert run.study == study and run.config_file == paths.config
        # The one config hash is the resolved config's, not the file's.
        assert run.config_sha256 == config_sha256(config) == run_of(config).config_sha256
        assert run.config_sha256 != sha256_file(ROOT / paths.config)
        entry = config[RUN_KEY]
        assert {key: entry[key] for key in run.as_config()} == {
            "study": study,
            "config_file": paths.config,
            "results": paths.results,
        }
        # The unit's nouns, and the caption words escaped for reStructuredText.
        assert (entry["unit"], entry["units"]) == unit_words(study_unit(config))
        assert entry["text"]["units"] == entry["units"]
        # The schema's defaults are filled in (one that no study config writes out).
        assert "reference_study" in config["study"]


def test_one_studys_policy_classifies_only_its_own_outputs() -> None:
    demo = Policy.for_study("demo_cities")
    assert demo.kind("data/staged/demo_cities/economy.csv") == "exact"
    for path in ("data/staged/own_data/city_panel.xlsx", "results/own_data/tables/t.tex"):
        with pytest.raises(ValueError, match="no comparison class"):
            demo.kind(path)


def snakemake_dry_run(*arguments: str) -> tuple[int, str]:
    """The exit status and everything printed (Snakemake prints errors to stdout)."""
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run", "--quiet", "--cores", "1", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.returncode, run.stdout + run.stderr


@pytest.mark.workflow
def test_snakemake_refuses_a_config_file_or_key_and_plans_only_the_studys_outputs() -> None:
    status, printed = snakemake_dry_run("--configfile", "config/studies/own_data.yaml")
    assert status != 0 and "a study is not chosen by config file" in printed
    assert "snakemake --cores all --config study=<name>" in printed
    status, printed = snakemake_dry_run("--config", "study=own_data", "models={}")
    assert status != 0 and "--config models: only `study` may be set" in printed
    status, printed = snakemake_dry_run("--config", "study=no_such_study")
    assert status != 0
    assert "study 'no_such_study' has no config config/studies/no_such_study.yaml" in printed
    summary = subprocess.run(
        [sys.executable, "-m", "snakemake", "--summary", "--config", "study=own_data"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert summary.returncode == 0, summary.stderr[-3000:]
    outputs = [line.split("\t")[0] for line in summary.stdout.splitlines()[1:] if "\t" in line]
    own = StudyPaths("own_data")
    folders = (own.results, own.processed, own.staged)
    assert outputs and all(path.startswith(folders) for path in outputs), outputs
