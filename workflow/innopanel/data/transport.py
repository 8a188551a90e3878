"""Transport: bring bytes in from a file or over HTTPS, verified, atomically, or not at all.

- :func:`copy_verified` copies a file while checking its SHA256, keeping it no more
  readable than the original.
- :func:`download` fetches one URL over HTTPS with a timeout per read and a time limit
  per attempt, retries with exponential backoff and a size cap, refusing HTML error
  pages, truncated bodies and wrong bytes.

Every copy is written to a temporary file, checked, and renamed into place only when
complete and verified, so a failure leaves nothing behind. Only the standard library
(and the config specs, for :class:`FetchSettings`) is imported: fetching must not pay
for pandas.
"""

from __future__ import annotations

import hashlib
import http.client
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
    deadline: float,
) -> tuple[str, int]:
    """Stream a response body to ``temporary``; return (sha256, size).

    ``deadline`` (a ``time.monotonic`` instant) ends the attempt however slowly the bytes
    keep coming: the socket timeout alone restarts with every byte.
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
            if time.monotonic() > deadline:
                raise _Retryable(f"the attempt's time ran out after {size} bytes")
            try:
                # read1: whatever has arrived, so a trickle cannot hold one call for ever.
                chunk = response.read1(CHUNK)
            except http.client.IncompleteRead as error:
                raise _Retryable(
                    f"truncated body: got {size + len(error.partial)} of {declared} bytes"
                ) from None
            if not chunk:
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
    opener = urllib.request.build_opener(_NoInsecureRedirect(settings.allow_insecure_http))
    attempts = settings.retries + 1
    last_problem = ""
    for attempt in range(1, attempts + 1):
        retrieval.attempts += 1
        if attempt > 1:
            sleep(settings.backoff_seconds * 2 ** (attempt - 2))
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        deadline = time.monotonic() + settings.attempt_seconds
        timeout = min(settings.timeout_seconds, settings.attempt_seconds)
        try:
            with (
                opener.open(request, timeout=timeout) as response,
                atomic_path(destination) as temporary,
            ):
                actual, _ = _read_response(
                    name, url, response, temporary, settings.max_bytes, deadline
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
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            last_problem = f"{type(reason).__name__}: {reason}"
    raise SourceError(
        f"source '{name}': could not download {url} after {attempts} attempt(s) "
        f"(last problem: {last_problem}). Check the address and the connection; or "
        f"download the file yourself into data.fetch.mirror_dir (as "
        f"{PurePosixPath(urllib.parse.urlsplit(url).path).name or 'the SHA256'}) and set "
        "data.fetch.offline: true. Any earlier verified copy is kept."
    )
