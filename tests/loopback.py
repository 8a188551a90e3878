"""Loopback HTTP servers the tests start themselves (127.0.0.1 only, bounded waits).

One server holds several routes; each route is a behaviour: send good bytes, fail,
stall, send wrong bytes, truncate, answer HTML, fail a few times then succeed, or
replay a recorded World Bank API answer. Every request is counted per path, so a
test can prove a second run downloaded nothing.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler, dict[str, str]], None]
# A stalled answer never waits longer than this, so a test cannot hang.
MAX_STALL_SECONDS = 5.0


def send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def good(body: bytes, content_type: str = "text/csv; charset=utf-8") -> Handler:
    """Send ``body`` with status 200."""
    return lambda request, query: send(request, 200, body, content_type)


def failing(status: int = 500) -> Handler:
    """Always answer ``status`` with a short text body."""
    return lambda request, query: send(request, status, b"server error\n", "text/plain")


def flaky(failures: int, body: bytes) -> Handler:
    """Answer 503 for the first ``failures`` requests, then ``body``."""
    seen = Counter()

    def handle(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        seen["requests"] += 1
        if seen["requests"] <= failures:
            send(request, 503, b"busy\n", "text/plain")
        else:
            send(request, 200, body, "text/csv")

    return handle


def truncated(body: bytes, sent: int) -> Handler:
    """Announce ``len(body)`` bytes, send only ``sent`` of them, close the connection."""

    def handle(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/csv")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body[:sent])
        request.wfile.flush()
        request.close_connection = True

    return handle


def html_page() -> Handler:
    """An error page of the kind a portal sends instead of the file."""
    page = b"<!DOCTYPE html>\n<html><head><title>Login</title></head><body>Sign in</body></html>\n"
    return good(page, "text/html; charset=utf-8")


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with per-path behaviours."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.prefix_routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.stop = threading.Event()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                server.hits[parts.path] += 1
                handler = server.routes.get(parts.path)
                if handler is None:
                    handler = next(
                        (h for p, h in server.prefix_routes.items() if parts.path.startswith(p)),
                        None,
                    )
                if handler is None:
                    send(self, 404, b"not found\n", "text/plain")
                    return
                try:
                    handler(self, query)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def stalling(self, seconds: float = MAX_STALL_SECONDS) -> Handler:
        """Send headers, then nothing until the server stops (at most ``seconds``)."""

        def handle(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "text/csv")
            request.send_header("Content-Length", "1000")
            request.end_headers()
            request.wfile.flush()
            self.stop.wait(min(seconds, MAX_STALL_SECONDS))

        return handle

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=MAX_STALL_SECONDS)


def world_bank_replay(fixture: Path) -> Handler:
    """Replay recorded World Bank API v2 answers, checking the request matches the record.

    A request for an indicator or page that was not recorded, or with other countries,
    years or page size, gets the API's documented error shape.
    """
    recorded = json.loads(fixture.read_text(encoding="utf-8"))
    expected = recorded["request"]
    error = [
        {
            "message": [
                {
                    "id": "120",
                    "key": "Invalid value",
                    "value": "The provided parameter value is not valid",
                }
            ]
        }
    ]

    def handle(request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        path = urllib.parse.urlsplit(request.path).path
        # /v2/country/{codes}/indicator/{id}
        parts = path.strip("/").split("/")
        body: Any = error
        if len(parts) >= 5 and parts[-2] == "indicator" and parts[-4] == "country":
            countries, indicator = parts[-3].split(";"), parts[-1]
            pages = recorded["responses"].get(indicator, {})
            if (
                countries == expected["countries"]
                and query.get("format") == "json"
                and query.get("date") == expected["date"]
                and query.get("per_page") == str(expected["per_page"])
                and query.get("page", "1") in pages
            ):
                body = pages[query.get("page", "1")]
        send(request, 200, json.dumps(body).encode("utf-8"), "application/json;charset=utf-8")

    return handle
