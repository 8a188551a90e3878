"""Fetching: loopback servers that send good bytes, fail, stall, or send wrong bytes."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import stage_source as fetch
from loopback import (
    LoopbackServer,
    failing,
    flaky,
    good,
    html_page,
    truncated,
)

from innopanel.config.data_specs import fetch_settings
from innopanel.data.transport import SourceError

GOOD = "城市,年份,地区生产总值(亿元)\n成都,2020,17716.7\n".encode()
WRONG = "城市,年份,地区生产总值(亿元)\n成都,2020,99999.9\n".encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    loopback = LoopbackServer()
    loopback.routes.update(
        {
            "/good.csv": good(GOOD),
            "/fail.csv": failing(500),
            "/missing.csv": failing(404),
            "/wrong.csv": good(WRONG),
            "/flaky.csv": flaky(2, GOOD),
            "/truncated.csv": truncated(GOOD * 20, 30),
            "/login.csv": html_page(),
            "/data.zip": good(zipped({"panel/data.csv": GOOD}), "application/zip"),
            "/evil.zip": good(
                zipped({"ok.csv": GOOD, "../../outside.csv": WRONG}), "application/zip"
            ),
        }
    )
    loopback.routes["/stall.csv"] = loopback.stalling()
    loopback.start()
    yield loopback
    loopback.close()


@pytest.fixture
def settings(tmp_path: Path) -> dict:
    """data.fetch for the tests (the schema's defaults fill the rest)."""
    return {
        "cache_dir": str(tmp_path / "cache"),
        "allow_insecure_http": True,  # the loopback server speaks plain HTTP
        "timeout_seconds": 2.0,
        "retries": 2,
        "backoff_seconds": 0.01,
    }


def url_spec(url: str, digest: str, **extra) -> dict:
    return {
        "kind": "url",
        "url": url,
        "sha256": digest,
        "format": "csv",
        "encoding": "utf-8",
        "licence": "CC BY 4.0",
        "citation": "Test data",
        "unit_column": "城市",
        "year_column": "年份",
        "columns": {"gdp": "地区生产总值"},
        **extra,
    }


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "partial" in p.name]


def test_good_bytes_are_staged_and_a_second_run_downloads_nothing(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    spec = url_spec(server.url("/good.csv"), sha256(GOOD))
    record, retrieval = fetch("yearbook", spec, tmp_path / "staged.csv", settings)
    assert (tmp_path / "staged.csv").read_bytes() == GOOD
    assert record["sha256"] == sha256(GOOD) and record["bytes"] == len(GOOD)
    assert "licence" not in record  # added from the config by the provenance step
    assert retrieval["origin"] == "network" and server.hits["/good.csv"] == 1

    (tmp_path / "staged.csv").unlink()
    record2, retrieval2 = fetch("yearbook", spec, tmp_path / "staged.csv", settings)
    assert server.hits["/good.csv"] == 1  # served from the cache
    assert retrieval2["origin"].startswith("cache")
    assert record2 == record  # the byte-stable record does not depend on where it came from


def test_plain_http_is_refused_unless_config_allows_it(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    settings["allow_insecure_http"] = False
    spec = url_spec(server.url("/good.csv"), sha256(GOOD))
    with pytest.raises(SourceError) as error:
        fetch("yearbook", spec, tmp_path / "s.csv", settings)
    assert "source 'yearbook': refusing to fetch http://127.0.0.1" in str(error.value)
    assert "data.fetch.allow_insecure_http" in str(error.value)
    assert server.hits["/good.csv"] == 0


def test_failing_server_is_retried_with_backoff_then_named(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    waits: list[float] = []
    spec = url_spec(server.url("/fail.csv"), sha256(GOOD))
    with pytest.raises(SourceError) as error:
        fetch("yearbook", spec, tmp_path / "s.csv", settings, sleep=waits.append)
    message = str(error.value)
    assert "source 'yearbook': could not download" in message
    assert "after 3 attempt(s)" in message and "HTTP 500" in message
    assert "data.fetch.mirror_dir" in message  # says what to do
    assert waits == [0.01, 0.02]  # exponential backoff
    assert server.hits["/fail.csv"] == 3
    assert not (tmp_path / "s.csv").exists() and not leftovers(tmp_path)


def test_flaky_server_succeeds_after_retries(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    spec = url_spec(server.url("/flaky.csv"), sha256(GOOD))
    _, retrieval = fetch("yearbook", spec, tmp_path / "s.csv", settings, sleep=lambda s: None)
    assert (tmp_path / "s.csv").read_bytes() == GOOD
    assert retrieval["attempts"] == 3


def test_not_found_is_not_retried(server: LoopbackServer, settings: dict, tmp_path: Path) -> None:
    spec = url_spec(server.url("/missing.csv"), sha256(GOOD))
    with pytest.raises(SourceError, match=r"source 'yearbook': .* answered HTTP 404"):
        fetch("yearbook", spec, tmp_path / "s.csv", settings)
    assert server.hits["/missing.csv"] == 1


def test_stalling_server_times_out(server: LoopbackServer, settings: dict, tmp_path: Path) -> None:
    settings.update(timeout_seconds=0.3, retries=1)
    spec = url_spec(server.url("/stall.csv"), sha256(GOOD))
    with pytest.raises(SourceError) as error:
        fetch("yearbook", spec, tmp_path / "s.csv", settings, sleep=lambda s: None)
    assert "source 'yearbook': could not download" in str(error.value)
    assert "timed out" in str(error.value).lower()
    assert server.hits["/stall.csv"] == 2
    assert not (tmp_path / "s.csv").exists() and not leftovers(tmp_path)


def test_wrong_bytes_are_refused_and_the_earlier_good_copy_is_kept(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    # A good copy is cached and staged from an earlier run.
    fetch("yearbook", url_spec(server.url("/good.csv"), sha256(GOOD)), tmp_path / "s.csv", settings)
    cached = Path(settings["cache_dir"]) / "sha256" / sha256(GOOD)
    # The config now pins a new release, but the server sends other bytes.
    new_release = GOOD + "上海,2020,38700.6\n".encode()
    spec = url_spec(server.url("/wrong.csv"), sha256(new_release))
    with pytest.raises(SourceError) as error:
        fetch("yearbook", spec, tmp_path / "s.csv", settings)
    message = str(error.value)
    assert f"source 'yearbook': SHA256 mismatch for {server.url('/wrong.csv')}" in message
    assert sha256(WRONG) in message and "Any earlier verified copy is kept" in message
    assert cached.read_bytes() == GOOD and (tmp_path / "s.csv").read_bytes() == GOOD
    assert not leftovers(tmp_path)


def test_truncated_body_is_refused(server: LoopbackServer, settings: dict, tmp_path: Path) -> None:
    spec = url_spec(server.url("/truncated.csv"), sha256(GOOD * 20))
    with pytest.raises(SourceError, match="truncated body"):
        fetch("yearbook", spec, tmp_path / "s.csv", settings, sleep=lambda s: None)
    assert not (tmp_path / "s.csv").exists() and not leftovers(tmp_path)


def test_html_page_instead_of_csv_is_refused(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    spec = url_spec(server.url("/login.csv"), sha256(GOOD))
    with pytest.raises(SourceError) as error:
        fetch("yearbook", spec, tmp_path / "s.csv", settings)
    assert "source 'yearbook':" in str(error.value) and "returned an HTML page" in str(error.value)
    assert "direct link" in str(error.value)
    assert server.hits["/login.csv"] == 1  # an HTML page is not retried


def test_size_cap(server: LoopbackServer, settings: dict, tmp_path: Path) -> None:
    settings["max_bytes"] = 10
    spec = url_spec(server.url("/good.csv"), sha256(GOOD))
    with pytest.raises(SourceError, match=r"over the cap of 10 \(data.fetch.max_bytes\)"):
        fetch("yearbook", spec, tmp_path / "s.csv", settings)


def test_offline_uses_the_mirror_and_never_the_network(
    server: LoopbackServer, settings: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = url_spec(server.url("/good.csv"), sha256(GOOD))
    monkeypatch.setenv("INNOPANEL_OFFLINE", "1")
    assert fetch_settings({"fetch": settings}).offline is True
    with pytest.raises(SourceError, match="source 'yearbook': offline"):
        fetch("yearbook", spec, tmp_path / "s.csv", settings)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "good.csv").write_bytes(GOOD)
    settings["mirror_dir"] = str(mirror)
    _, retrieval = fetch("yearbook", spec, tmp_path / "s.csv", settings)
    assert retrieval["origin"] == f"mirror {mirror / 'good.csv'}"
    assert (tmp_path / "s.csv").read_bytes() == GOOD
    assert server.hits["/good.csv"] == 0


def test_archive_member_is_extracted_inside_its_folder(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    archive = zipped({"panel/data.csv": GOOD})
    spec = url_spec(
        server.url("/data.zip"), sha256(archive), archive="zip", member="panel/data.csv"
    )
    record, _ = fetch("deposit", spec, tmp_path / "s.csv", settings)
    assert (tmp_path / "s.csv").read_bytes() == GOOD
    assert record["sha256"] == sha256(archive) and record["staged"]["sha256"] == sha256(GOOD)
    folder = Path(settings["cache_dir"]) / "extracted" / sha256(archive)
    assert (folder / "panel" / "data.csv").read_bytes() == GOOD


def test_archive_member_leaving_its_folder_is_refused(
    server: LoopbackServer, settings: dict, tmp_path: Path
) -> None:
    archive = zipped({"ok.csv": GOOD, "../../outside.csv": WRONG})
    spec = url_spec(server.url("/evil.zip"), sha256(archive), archive="zip", member="ok.csv")
    with pytest.raises(SourceError) as error:
        fetch("deposit", spec, tmp_path / "s.csv", settings)
    assert "source 'deposit': archive" in str(error.value)
    assert "'../../outside.csv'" in str(error.value) and "Refusing to extract" in str(error.value)
    assert not (tmp_path / "s.csv").exists()
    assert not list(tmp_path.rglob("outside.csv"))
    assert not (Path(settings["cache_dir"]) / "extracted" / sha256(archive)).exists()


def test_tar_with_a_symlink_is_refused(settings: dict, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo("data.csv")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    path = tmp_path / "deposit.tar.gz"
    path.write_bytes(buffer.getvalue())
    spec = {
        **url_spec("", sha256(buffer.getvalue()), archive="tar", member="data.csv"),
        "kind": "local",
        "path": str(path),
    }
    with pytest.raises(SourceError, match=r"\['data.csv'\] whose path leaves"):
        fetch("deposit", spec, tmp_path / "s.csv", settings)
    assert not (tmp_path / "s.csv").exists()
