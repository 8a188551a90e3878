"""Transport: bring bytes in from a file or over HTTPS, verified, atomically, or not at all.

- :func:`copy_verified` copies a file while checking its SHA256, keeping it no more
  readable than the original.
- :func:`download` fetches one URL over HTTPS with a timeout per read and a time limit
  per attempt (handshake and headers included), retries with exponential backoff and a
  size cap, refusing HTML error pages, truncated bodies and wrong bytes.

Every copy is written to a temporary file, checked, and renamed into place only when
complete and verified, so a failure leaves nothing behind. Only the standard library
(and the config specs, for :class:`FetchSettings`) is imported: fetching must not pay
for pandas.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from innopanel.config.data_specs import FetchSettings
from innopanel.config.sources import looks_like_html
from innopanel.io import atomic_path

USER_AGENT = "innopanel/0.1 (reproducible research pipeline)"
CHUNK = 1 << 16


class SourceError(RuntimeError):
    """A source cannot be fetched, or is not the data the configuration pins."""


@dataclass
class Retrieval:
    """How one source was obtained this time: varies between runs, kept apart."""

    source: str
    origin: str = ""
    attempts: int = 0
    requests: list[str] = field(default_factory=list)
    retrieved_at: str = ""


# ---------------------------------------------------------------- verified copies


def _mismatch(name: str, where: str, expected: str, actual: str, kind_hint: str) -> SourceError:
    return SourceError(
        f"source '{name}': SHA256 mismatch for {where}: config pins {expected} but "
        f"{kind_hint} has {actual}. If the data changed on purpose, review it and set "
        f"data.sources.{name}.sha256 to {actual}; otherwise restore the original. "
        "Any earlier verified copy is kept."
    )


def copy_verified(
    name: str, source_path: Path, destination: Path, expected_sha256: str | None
) -> str:
    """Copy a file to ``destination`` only if its SHA256 matches; return the digest."""
    if not source_path.is_file():
        raise SourceError(
            f"source '{name}': file {source_path} not found. Check data.sources.{name}.path "
            "in the config, or restore the file (git checkout -- data/raw)."
        )
    # stat follows a symlink: the copy is at most as readable as the file it points to.
    with atomic_path(destination, mode=source_path.stat().st_mode & 0o777) as temporary:
        digest = hashlib.sha256()
        with source_path.open("rb") as reader, temporary.open("wb") as writer:
            for chunk in iter(lambda: reader.read(1 << 20), b""):
                digest.update(chunk)
                writer.write(chunk)
        actual = digest.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256:
            raise _mismatch(name, str(source_path), expected_sha256, actual, "the file")
    return actual


def check_usable(name: str, where: str, path: Path, file_format: str) -> None:
    """Refuse an empty file or an HTML page saved in place of the data, naming the fix."""
    if not path.is_file():
        return  # copy_verified names a missing file
    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(512)
    if not head.strip() and size <= len(head):
        raise SourceError(
            f"source '{name}': {where} is empty. Replace it with the real file and set "
            f"data.sources.{name}.sha256 to its SHA256, or remove the source from data.sources."
        )
    if looks_like_html(head):
        raise SourceError(
            f"source '{name}': {where} is an HTML page, not {file_format} data (a saved error "
            "or login page?). Download the data file itself, check it, and set "
            f"data.sources.{name}.sha256 to its SHA256."
        )


# ---------------------------------------------------------------- HTTP


class _NoInsecureRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never from HTTPS down to plain HTTP unless allowed."""

    def __init__(self, allow_http: bool) -> None:
        self.allow_http = allow_http

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.allow_http):
            raise urllib.error.URLError(f"refused redirect to {newurl} (not https)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _AttemptClock:
    """The time limit of one attempt, enforced on every socket the attempt opens.

    A socket timeout restarts with every byte, so a server that drips its status line
    and headers one byte at a time would hold ``urlopen`` for ever; when the attempt's
    time is up a timer shuts its sockets down, and whatever read is waiting fails.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.expired = threading.Event()
        self._timers: list[threading.Timer] = []

    def watch(self, sock: socket.socket) -> None:
        timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire, (sock,))
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def _expire(self, sock: socket.socket) -> None:
        self.expired.set()
        try:
            # The plain socket's shutdown, below any TLS layer: it only has to wake the read.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def ran_out(self) -> bool:
        return self.expired.is_set() or time.monotonic() > self.deadline

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _clocked(connection_class: type[http.client.HTTPConnection], clock: _AttemptClock):  # type: ignore[no-untyped-def]
    """A factory of ``connection_class`` whose sockets ``clock`` watches from the moment
    they connect, so the TLS handshake counts against the attempt as well."""

    def build(*args, **kwargs) -> http.client.HTTPConnection:  # type: ignore[no-untyped-def]
        connection = connection_class(*args, **kwargs)
        create = connection._create_connection  # http.client's own hook for this

        def create_watched(*socket_args, **socket_kwargs) -> socket.socket:  # type: ignore[no-untyped-def]
            sock = create(*socket_args, **socket_kwargs)
            clock.watch(sock)
            return sock

        connection._create_connection = create_watched
        return connection

    return build


class _ClockedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, clock: _AttemptClock) -> None:
        super().__init__()
        self.clock = clock

    def http_open(self, req):  # type: ignore[no-untyped-def]
        return self.do_open(_clocked(http.client.HTTPConnection, self.clock), req)


class _ClockedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, clock: _AttemptClock) -> None:
        super().__init__()
        self.clock = clock

    def https_open(self, req):  # type: ignore[no-untyped-def]
        return self.do_open(
            _clocked(http.client.HTTPSConnection, self.clock), req, context=self._context
        )


def check_url(name: str, url: str, allow_insecure_http: bool) -> None:
    """Refuse anything but https:// (and http:// when config allows it)."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "https" or (scheme == "http" and allow_insecure_http):
        return
    hint = (
        " Use the https:// address, or set data.fetch.allow_insecure_http: true if the "
        "server offers no HTTPS."
        if scheme == "http"
        else " Only https:// (and, if allowed, http://) URLs are fetched."
    )
    raise SourceError(f"source '{name}': refusing to fetch {url}: not an HTTPS URL.{hint}")


class _Retryable(Exception):
    """A failure that another attempt may not repeat (network, 5xx, truncated body)."""


def _read_response(
    name: str,
    url: str,
    response: http.client.HTTPResponse,
    temporary: Path,
    max_bytes: int,
    clock: _AttemptClock,
) -> tuple[str, int]:
    """Stream a response body to ``temporary``; return (sha256, size).

    ``clock`` ends the attempt however slowly the bytes keep coming, and a body it cut
    short is never taken for a whole one (a body without a Content-Length just ends).
    """
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(
            f"source '{name}': {url} is {int(declared)} bytes, over the cap of {max_bytes} "
            "(data.fetch.max_bytes). Raise the cap if this size is expected."
        )
    digest, size, head = hashlib.sha256(), 0, b""
    with temporary.open("wb") as writer:
        while True:
            if clock.ran_out():
                raise _Retryable(f"the attempt's time ran out after {size} bytes")
            try:
                # read1: whatever has arrived, so a trickle cannot hold one call for ever.
                chunk = response.read1(CHUNK)
            except http.client.IncompleteRead as error:
                raise _Retryable(
                    f"truncated body: got {size + len(error.partial)} of {declared} bytes"
                ) from None
            if not chunk:
                if clock.ran_out():
                    raise _Retryable(f"the attempt's time ran out after {size} bytes")
                break
            size += len(chunk)
            if size > max_bytes:
                raise SourceError(
                    f"source '{name}': {url} sent more than {max_bytes} bytes, the cap "
                    "(data.fetch.max_bytes). Raise the cap if this size is expected."
                )
            if len(head) < 512:
                head += chunk[: 512 - len(head)]
            digest.update(chunk)
            writer.write(chunk)
    if declared is not None and declared.isdigit() and size != int(declared):
        raise _Retryable(f"truncated body: got {size} of {declared} bytes")
    content_type = response.headers.get_content_type()
    if content_type == "text/html" or looks_like_html(head):
        raise SourceError(
            f"source '{name}': {url} returned an HTML page ({content_type}), not data: "
            "probably an error or login page. Open the URL in a browser, find the direct "
            f"link to the file and put it in data.sources.{name}.url."
        )
    if size == 0:
        raise _Retryable("empty body")
    return digest.hexdigest(), size


def download(
    name: str,
    url: str,
    destination: Path,
    settings: FetchSettings,
    expected_sha256: str | None,
    retrieval: Retrieval,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Download ``url`` to ``destination`` (atomically, verified); return its SHA256.

    Network failures, 5xx/429 answers and truncated bodies are retried with exponential
    backoff; a 4xx answer, an HTML page, an oversized body or wrong bytes are not.
    """
    check_url(name, url, settings.allow_insecure_http)
    attempts = settings.retries + 1
    last_problem = ""
    for attempt in range(1, attempts + 1):
        retrieval.attempts += 1
        if attempt > 1:
            sleep(settings.backoff_seconds * 2 ** (attempt - 2))
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        clock = _AttemptClock(settings.attempt_seconds)
        opener = urllib.request.build_opener(
            _NoInsecureRedirect(settings.allow_insecure_http),
            _ClockedHTTPHandler(clock),
            _ClockedHTTPSHandler(clock),
        )
        timeout = min(settings.timeout_seconds, settings.attempt_seconds)
        try:
            with (
                opener.open(request, timeout=timeout) as response,
                atomic_path(destination) as temporary,
            ):
                actual, _ = _read_response(
                    name, url, response, temporary, settings.max_bytes, clock
                )
                if expected_sha256 is not None and actual != expected_sha256:
                    raise _mismatch(name, url, expected_sha256, actual, "the download")
            return actual
        except urllib.error.HTTPError as error:
            last_problem = f"HTTP {error.code} {error.reason}"
            if not (error.code >= 500 or error.code == 429):
                raise SourceError(
                    f"source '{name}': {url} answered {last_problem}. Check "
                    f"data.sources.{name} (the address may have moved)."
                ) from None
        except _Retryable as error:
            last_problem = str(error)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", error)
            last_problem = f"{type(reason).__name__}: {reason}"
            if clock.expired.is_set():
                last_problem = (
                    f"the attempt's time ran out before the answer was complete ({last_problem})"
                )
        finally:
            clock.stop()
    raise SourceError(
        f"source '{name}': could not download {url} after {attempts} attempt(s) "
        f"(last problem: {last_problem}). Check the address and the connection; or "
        f"download the file yourself into data.fetch.mirror_dir (as "
        f"{PurePosixPath(urllib.parse.urlsplit(url).path).name or 'the SHA256'}) and set "
        "data.fetch.offline: true. Any earlier verified copy is kept."
    )
