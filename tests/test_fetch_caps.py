"""Fetch caps and the offline route for APIs: a trickle times out, a page flood is
refused, and an API answer in the mirror folder is used (and checked) offline."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import stage_source as fetch
from loopback import MAX_STALL_SECONDS, LoopbackServer, world_bank_replay
from test_fetch import leftovers, url_spec
from test_worldbank import FIXTURE, INDICATORS, api_spec

from innopanel.config.data_specs import fetch_settings
from innopanel.config.specs import source_spec
from innopanel.data.fetch import stage
from innopanel.data.transport import SourceError

BODY = "城市,年份,地区生产总值(亿元)\n成都,2020,17716.7\n".encode()


def trickle(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    """Send the body one byte every 0.05 s: each read succeeds, the whole never ends."""
    request.send_response(200)
    request.send_header("Content-Type", "text/csv")
    request.send_header("Content-Length", str(len(BODY) * 100))
    request.end_headers()
    deadline = time.monotonic() + MAX_STALL_SECONDS
    for byte in BODY * 100:
        if time.monotonic() > deadline:
            break
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.05)


def header_drip(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
    """Send the status line and headers one byte every 0.05 s, never reaching the body."""
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"x" * 1000 + b"\r\n"
    deadline = time.monotonic() + MAX_STALL_SECONDS
    for byte in head:
        if time.monotonic() > deadline:
            break
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.05)
    request.close_connection = True


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    loopback = LoopbackServer()
    loopback.routes["/trickle.csv"] = trickle
    loopback.routes["/header-drip.csv"] = header_drip
    loopback.prefix_routes["/v2/country/"] = world_bank_replay(FIXTURE)
    loopback.start()
    yield loopback
    loopback.close()


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        ("/trickle.csv", "the attempt's time ran out after"),
        ("/header-drip.csv", "the attempt's time ran out before the answer was complete"),
    ],
    ids=["body", "headers"],
)
def test_bytes_dripped_one_at_a_time_are_cut_off_by_the_time_per_attempt(
    server: LoopbackServer, tmp_path: Path, route: str, problem: str
) -> None:
    settings = {
        "cache_dir": str(tmp_path / "cache"),
        "allow_insecure_http": True,
        "timeout_seconds": 2.0,  # every single byte arrives well within this
        "attempt_seconds": 0.5,
        "retries": 1,
        "backoff_seconds": 0.01,
    }
    spec = url_spec(server.url(route), hashlib.sha256(BODY).hexdigest())
    started = time.monotonic()
    with pytest.raises(SourceError) as error:
        fetch("yearbook", spec, tmp_path / "s.csv", settings)
    # Two attempts of 0.5 s each; without the clock the first alone would last 5 s
    # (the server's cap).
    assert time.monotonic() - started < 2.5
    assert "could not download" in str(error.value) and "after 2 attempt(s)" in str(error.value)
    assert problem in str(error.value)
    assert not (tmp_path / "s.csv").exists() and not leftovers(tmp_path)


def _stage_api(spec: dict, destination: Path, data: dict) -> None:
    stage(
        source_spec("world_bank", spec),
        destination,
        fetch_settings(data, environment={}),
        first_year=2011,
        last_year=2022,
    )


def test_an_api_announcing_too_many_pages_is_refused(
    server: LoopbackServer, tmp_path: Path
) -> None:
    spec = api_spec(server.url("/v2"))
    data = {
        "fetch": {"cache_dir": str(tmp_path / "cache"), "allow_insecure_http": True, "retries": 0},
        "limits": {"api_max_pages": 1},
    }
    with pytest.raises(SourceError) as error:
        _stage_api(spec, tmp_path / "wb.json", data)
    message = str(error.value)
    assert "source 'world_bank':" in message and "pages, over the cap of 1" in message
    assert "data.limits.api_max_pages" in message and "per_page" in message
    assert not (tmp_path / "wb.json").exists() and not leftovers(tmp_path)


def test_an_api_answer_in_the_mirror_is_the_offline_route(
    server: LoopbackServer, tmp_path: Path
) -> None:
    spec = api_spec(server.url("/v2"))
    online = {"cache_dir": str(tmp_path / "cache"), "allow_insecure_http": True, "retries": 0}
    _stage_api(spec, tmp_path / "online" / "world_bank.json", {"fetch": online})
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    offline = {"cache_dir": str(tmp_path / "fresh"), "mirror_dir": str(mirror), "offline": True}

    # Without the file, the message says where to put it.
    with pytest.raises(SourceError) as error:
        _stage_api(spec, tmp_path / "offline.json", {"fetch": offline})
    assert f"nor a mirrored one ({mirror / 'world_bank.json'})" in str(error.value)
    assert "to the mirror folder as world_bank.json" in str(error.value)

    shutil.copy(tmp_path / "online" / "world_bank.json", mirror / "world_bank.json")
    _stage_api(spec, tmp_path / "offline.json", {"fetch": offline})
    assert (tmp_path / "offline.json").read_bytes() == (
        tmp_path / "online" / "world_bank.json"
    ).read_bytes()

    # A mirrored answer to another request is refused, not used.
    other = api_spec(server.url("/v2"), indicators=INDICATORS[:1])
    offline["cache_dir"] = str(tmp_path / "fresh2")
    with pytest.raises(SourceError, match="answers another request"):
        _stage_api(other, tmp_path / "other.json", {"fetch": offline})
    assert not (tmp_path / "other.json").exists()
