"""World Bank API adapter: a recorded (synthetic) answer replayed on a loopback server."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import stage_source as fetch
from loopback import LoopbackServer, world_bank_replay
from test_workflow import make_project, snakemake

from innopanel.config.data_specs import data_limits
from innopanel.config.paths import StudyPaths
from innopanel.config.specs import source_spec
from innopanel.data.readers import read_sheets
from innopanel.data.transport import SourceError
from innopanel.data.worldbank import document_table, request_url

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "world_bank" / "responses.json"
RECORDED = json.loads(FIXTURE.read_text(encoding="utf-8"))
INDICATORS = list(RECORDED["responses"])


@pytest.fixture(scope="module")
def api() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.prefix_routes["/v2/country/"] = world_bank_replay(FIXTURE)
    server.start()
    yield server
    server.close()


def api_spec(base_url: str, indicators: list[str] | None = None) -> dict:
    example = yaml.safe_load((ROOT / StudyPaths("world_bank").config).read_text("utf-8"))
    spec = example["data"]["sources"]["world_bank"]
    spec["api"].update(
        base_url=base_url,
        countries=RECORDED["request"]["countries"],
        per_page=RECORDED["request"]["per_page"],
        indicators=indicators or INDICATORS,
    )
    return spec


def settings(tmp_path: Path) -> dict:
    """data.fetch for the tests (the schema's defaults fill the rest)."""
    return {
        "cache_dir": str(tmp_path / "cache"),
        "allow_insecure_http": True,
        "timeout_seconds": 5.0,
        "retries": 0,
    }


def test_request_url_follows_the_documented_form() -> None:
    url = request_url(
        "https://api.worldbank.org/v2/", ["chn", "USA"], "IP.PAT.RESD", 2011, 2022, 100, 2
    )
    assert url == (
        "https://api.worldbank.org/v2/country/CHN;USA/indicator/IP.PAT.RESD"
        "?format=json&date=2011%3A2022&per_page=100&page=2"
    )


def test_every_page_of_every_indicator_is_fetched_and_kept(
    api: LoopbackServer, tmp_path: Path
) -> None:
    spec = api_spec(api.url("/v2"))
    record, retrieval = fetch("world_bank", spec, tmp_path / "wb.json", settings(tmp_path))
    pages = sum(len(p) for p in RECORDED["responses"].values())
    assert len(record["requests"]) == pages == len(retrieval["requests"])
    assert pages > len(INDICATORS)  # pagination was exercised
    assert all(len(r["sha256"]) == 64 for r in record["requests"])
    assert record["kind"] == "api" and record["location"].startswith("world_bank API at")

    header, rows = document_table(json.loads((tmp_path / "wb.json").read_text("utf-8")))
    assert header == ["country", "year", *INDICATORS]
    countries = RECORDED["request"]["countries"]
    assert len(rows) == len(countries) * 12
    by_key = {(r[0], int(r[1])): r for r in rows}
    recorded = RECORDED["responses"]["GB.XPD.RSDV.GD.ZS"]["1"][1][0]
    column = 2 + INDICATORS.index("GB.XPD.RSDV.GD.ZS")
    value = by_key[(recorded["countryiso3code"], int(recorded["date"]))][column]
    assert float(value) == recorded["value"]
    # null stays missing: researchers are not reported for the last year.
    researchers = 2 + INDICATORS.index("SP.POP.SCIE.RD.P6")
    assert all(r[researchers] is None for r in rows if r[1] == "2022")
    assert all(r[researchers] is not None for r in rows if r[1] == "2021")

    # A second fetch of the same request downloads nothing.
    before = sum(api.hits.values())
    (tmp_path / "wb.json").unlink()
    _, again = fetch("world_bank", spec, tmp_path / "wb.json", settings(tmp_path))
    assert sum(api.hits.values()) == before and again["origin"].startswith("cache")


def test_api_error_message_is_reported_with_the_source(api: LoopbackServer, tmp_path: Path) -> None:
    spec = api_spec(api.url("/v2"), indicators=["NOT.AN.INDICATOR"])
    spec["columns"] = {"rd_intensity": {"column": "NOT.AN.INDICATOR", "unit": "%"}}
    with pytest.raises(SourceError) as error:
        fetch("world_bank", spec, tmp_path / "wb.json", settings(tmp_path))
    message = str(error.value)
    assert "source 'world_bank': the World Bank API refused" in message
    assert "120 Invalid value" in message and "api.indicators" in message
    assert not (tmp_path / "wb.json").exists()


def test_a_pinned_answer_that_changed_is_refused(api: LoopbackServer, tmp_path: Path) -> None:
    spec = api_spec(api.url("/v2"))
    spec["sha256"] = "0" * 64
    with pytest.raises(SourceError, match="source 'world_bank': SHA256 mismatch"):
        fetch("world_bank", spec, tmp_path / "wb.json", settings(tmp_path))
    assert not (tmp_path / "wb.json").exists()


def test_the_staged_answer_reads_as_a_country_table(api: LoopbackServer, tmp_path: Path) -> None:
    spec = api_spec(api.url("/v2"))
    fetch("world_bank", spec, tmp_path / "wb.json", settings(tmp_path))
    (sheet,) = read_sheets(tmp_path / "wb.json", source_spec("world_bank", spec), data_limits({}))
    assert sheet.rows[0] == (1, ["country", "year", *INDICATORS])


@pytest.mark.workflow
def test_country_panel_runs_through_the_same_pipeline(api: LoopbackServer, tmp_path: Path) -> None:
    """The World Bank example config, pointed at the replayed answer, end to end.

    Targets stop at the panel, the estimates and the provenance: the table and figure
    code is being generalised to other units in another change.
    """
    paths = StudyPaths("world_bank")
    example = yaml.safe_load((ROOT / paths.config).read_text("utf-8"))

    def use_example(config: dict) -> None:
        config["study"] = example["study"]  # its whole window, not the small one
        config["data"]["synthetic"] = True
        config["data"]["data_note"] = "Synthetic test fixture shaped as a World Bank answer."
        config["data"]["fetch"]["allow_insecure_http"] = True
        source = config["data"]["sources"]["world_bank"]
        source["api"]["base_url"] = api.url("/v2")
        source["api"]["per_page"] = RECORDED["request"]["per_page"]

    workdir = make_project(tmp_path, use_example, study=paths.study)
    targets = [
        paths.panel,
        paths.result("estimates/estimates.csv"),
        paths.result("provenance/provenance.json"),
    ]
    run = snakemake(workdir, *targets, "--config", f"study={paths.study}")
    assert run.returncode == 0, run.stderr[-4000:]

    panel = pd.read_csv(workdir / paths.panel)
    assert set(panel["unit_id"]) == {c.lower() for c in RECORDED["request"]["countries"]}
    assert panel["year"].between(2011, 2022).all()
    assert panel.loc[panel["year"] == 2022, "researchers_per_million"].isna().all()

    estimates = pd.read_csv(workdir / paths.result("estimates/estimates.csv"))
    twoway = estimates.set_index(["model", "term"]).loc["twoway_fe"]
    for term, truth in RECORDED["truth"]["coefficients"].items():
        row = twoway.loc[term]
        # The fixture's DGP is known: two-way FE recovers it within 4 clustered SEs.
        assert abs(row["estimate"] - truth) < 4 * row["std_error"], (term, row["estimate"])
    assert math.isfinite(twoway.loc["rd_intensity", "std_error"])

    provenance_path = workdir / paths.result("provenance/provenance.json")
    provenance = json.loads(provenance_path.read_text("utf-8"))
    (source,) = provenance["sources"]
    staged = workdir / paths.staged / "world_bank.json"
    assert source["kind"] == "api" and source["staged"]["sha256"] == source["sha256"]
    assert source["bytes"] == staged.stat().st_size
    assert "World Bank" in source["citation"]

    before = sum(api.hits.values())
    rerun = snakemake(workdir, "--dry-run", *targets, "--config", f"study={paths.study}")
    assert "Nothing to be done" in rerun.stdout + rerun.stderr
    assert sum(api.hits.values()) == before
