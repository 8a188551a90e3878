"""Bad input is refused loudly: one workflow run per case, three checks each.

For every case the real workflow runs on a copy of the project with the bad input,
and the test checks that (1) the message names the source (and the row and column
where there is one) and says what to do, (2) no partial output is left behind, and
(3) the raw data is untouched.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_workflow import make_project, snakemake

from innopanel.config.paths import DEFAULT_STUDY, StudyPaths

pytestmark = pytest.mark.workflow

RAW = "data/raw/demo"
PLATFORMS = f"{RAW}/open_platforms_registry.csv"
SCITECH = f"{RAW}/science_technology_yearbook_gbk.csv"
DEMO = StudyPaths(DEFAULT_STUDY)
TARGET = DEMO.result("provenance/provenance.json")


@dataclass(frozen=True)
class Case:
    """A bad input: how to make it, and what the message must contain."""

    make: Callable[[Path, dict], None]
    expected: tuple[str, ...]
    # The source whose staged copy must not exist afterwards (None: fails at start-up).
    failing_source: str | None = None


def repin(workdir: Path, config: dict, source: str) -> None:
    """Pin the file's current SHA256, as a user who edited it on purpose would."""
    path = workdir / config["data"]["sources"][source]["path"]
    config["data"]["sources"][source]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()


def edit(relative: str, old: str, new: str, source: str, encoding: str = "utf-8") -> Callable:
    def make(workdir: Path, config: dict) -> None:
        path = workdir / relative
        text = path.read_bytes().decode(encoding)
        assert old in text, old
        path.write_bytes(text.replace(old, new, 1).encode(encoding))
        repin(workdir, config, source)

    return make


def write(relative: str, data: bytes, source: str) -> Callable:
    def make(workdir: Path, config: dict) -> None:
        (workdir / relative).write_bytes(data)
        repin(workdir, config, source)

    return make


def configure(change: Callable[[dict], None]) -> Callable:
    return lambda workdir, config: change(config)


def missing_file(workdir: Path, config: dict) -> None:
    (workdir / PLATFORMS).unlink()


def checksum_mismatch(workdir: Path, config: dict) -> None:
    path = workdir / PLATFORMS
    path.write_bytes(path.read_bytes() + b"Chengdu,2021,1,1,1\n")


def append_conflict(workdir: Path, config: dict) -> None:
    path = workdir / PLATFORMS
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(line for line in lines if line.startswith("Chengdu,2018,"))
    conflicting = "Chengdu,2018,99," + ",".join(first.split(",")[3:])
    path.write_text("\n".join([*lines, conflicting]) + "\n", encoding="utf-8")
    repin(workdir, config, "open_platforms")


def evil_archive(workdir: Path, config: dict) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("open_platforms_registry.csv", (workdir / PLATFORMS).read_bytes())
        archive.writestr("../../../escaped.csv", b"City,Year\n")
    (workdir / RAW / "platforms.zip").write_bytes(buffer.getvalue())
    source = config["data"]["sources"]["open_platforms"]
    source.update(
        path=f"{RAW}/platforms.zip",
        sha256=hashlib.sha256(buffer.getvalue()).hexdigest(),
        archive="zip",
        member="open_platforms_registry.csv",
    )


def first_line_with(relative: str, prefix: str, encoding: str = "utf-8") -> int:
    lines = (Path(__file__).resolve().parents[1] / relative).read_bytes().decode(encoding)
    return next(i for i, line in enumerate(lines.splitlines(), 1) if line.startswith(prefix))


HTML = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body></body></html>\n"
CASES: dict[str, Case] = {
    "missing file": Case(
        missing_file,
        (
            f"data.sources.open_platforms.path: file {PLATFORMS} not found",
            "Put the file there, or correct the path",
        ),
    ),
    "checksum mismatch": Case(
        checksum_mismatch,
        (
            f"source 'open_platforms': SHA256 mismatch for {PLATFORMS}",
            "set data.sources.open_platforms.sha256 to",
        ),
        "open_platforms",
    ),
    "empty file": Case(
        write(PLATFORMS, b"", "open_platforms"),
        (f"source 'open_platforms': {PLATFORMS} is empty", "Replace it with the real file"),
        "open_platforms",
    ),
    "HTML instead of CSV": Case(
        write(PLATFORMS, HTML, "open_platforms"),
        (
            f"source 'open_platforms': {PLATFORMS} is an HTML page, not csv data",
            "Download the data file itself",
        ),
        "open_platforms",
    ),
    "wrong encoding": Case(
        configure(lambda c: c["data"]["sources"]["science_technology"].update(encoding="utf-8")),
        (
            f"source 'science_technology': {SCITECH} is not valid utf-8",
            "Set data.sources.science_technology.encoding to the file's real encoding",
        ),
    ),
    "missing required column": Case(
        edit(PLATFORMS, "National-level incubators", "Incubators", "open_platforms"),
        (
            f"source 'open_platforms' ({PLATFORMS}), row 1: required column "
            "'National-level incubators' (data.sources.open_platforms.columns.incubators) "
            "is missing",
            "Fix the mapping in the config",
        ),
    ),
    "unknown city name": Case(
        edit(PLATFORMS, "\nChengdu,", "\nGotham,", "open_platforms"),
        (
            f"source 'open_platforms' ({PLATFORMS}), row "
            f"{first_line_with(PLATFORMS, 'Chengdu,')}, column 'City': unknown city 'Gotham'",
            "Add the name to the aliases column of config/cities.csv",
        ),
    ),
    "duplicate city-year with conflicting values": Case(
        append_conflict,
        (
            f"source 'open_platforms' ({PLATFORMS}), rows ",
            "'chengdu' year 2018 appears twice with different values in ['key_laboratories']",
            "Keep the correct row and delete the other",
        ),
    ),
    "non-numeric value": Case(
        edit(PLATFORMS, "\nChengdu,2018,", "\nChengdu,2018,ten", "open_platforms"),
        (
            f"source 'open_platforms' ({PLATFORMS}), row "
            f"{first_line_with(PLATFORMS, 'Chengdu,2018,')}, column 'National key "
            "laboratories': value 'ten",
            "is not a number. Correct the cell",
        ),
    ),
    "negative count": Case(
        edit(PLATFORMS, "\nChengdu,2018,", "\nChengdu,2018,-", "open_platforms"),
        (
            f"source 'open_platforms' ({PLATFORMS}), row "
            f"{first_line_with(PLATFORMS, 'Chengdu,2018,')}, column 'National key "
            "laboratories'",
            "is below the minimum 0 allowed for 'key_laboratories'",
            "Correct the source value",
        ),
    ),
    "negative R&D": Case(
        edit(SCITECH, "\n成都,2016,", "\n成都,2016,-", "science_technology", "gbk"),
        (
            f"source 'science_technology' ({SCITECH}), row "
            f"{first_line_with(SCITECH, '成都,2016,', 'gbk')}, column 'R&D经费内部支出'",
            "is below the minimum 0 allowed for 'rd_expenditure'",
        ),
    ),
    "year outside the window": Case(
        configure(lambda c: c["data"].update(cleaning={"out_of_window": "error"})),
        (
            "column '年份': year 2011 is outside the study window 2015-2020",
            "set data.cleaning.out_of_window: drop",
        ),
    ),
    "misspelled config key": Case(
        configure(
            lambda c: c["data"]["sources"]["economy"].update(
                encodng=c["data"]["sources"]["economy"].pop("encoding")
            )
        ),
        ("data.sources.economy.encodng: unknown key (misspelled?). Did you mean 'encoding'?",),
    ),
    "config value of the wrong type": Case(
        configure(lambda c: c["study"].update(first_year="2015")),
        ("study.first_year = '2015' has the wrong type: write a value of type integer",),
    ),
    "model naming an unknown variable": Case(
        configure(lambda c: c["models"]["twoway_fe"].update(regressors=["rd_intensty"])),
        (
            "models.twoway_fe.regressors[0] = 'rd_intensty' is not a known variable. "
            "Did you mean 'rd_intensity'?",
        ),
    ),
    "archive member leaving its folder": Case(
        evil_archive,
        (
            f"source 'open_platforms': archive {RAW}/platforms.zip has member(s)",
            "['../../../escaped.csv'] whose path leaves the archive's folder",
            "Refusing to extract anything",
        ),
        "open_platforms",
    ),
}


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_loudly(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    workdir = make_project(tmp_path)
    config_path = workdir / DEMO.config
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    case.make(workdir, config)
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    raw_before = digest_tree(workdir / "data" / "raw")

    run = snakemake(workdir, TARGET)

    assert run.returncode != 0
    logs = [p.read_text(encoding="utf-8") for p in (workdir / "logs").rglob("*.log")]
    said = "\n".join([run.stdout, run.stderr, *logs])
    # 1. The message names the source, row and column where relevant, and the fix.
    for expected in case.expected:
        assert expected in said, f"{name}: {expected!r} not in output"
    # 2. No partial output.
    assert not (workdir / DEMO.panel).exists()
    assert not (workdir / "results").exists() or not any(
        p.is_file() for p in (workdir / "results").rglob("*")
    )
    assert not [p for p in workdir.rglob("*.partial")]
    if case.failing_source is not None:
        assert not list((workdir / DEMO.staged).glob(f"{case.failing_source}.*"))
    assert not list(workdir.rglob("escaped.csv"))
    # 3. The raw data is untouched.
    assert digest_tree(workdir / "data" / "raw") == raw_before
