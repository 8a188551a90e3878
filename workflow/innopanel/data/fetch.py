"""Fetch and stage sources: prove every input is the one config names, lose nothing.

Raw files are only ever read. Every copy is written to a temporary file, checked, and
renamed into place only when complete and verified, so a failure leaves nothing
behind and any earlier good copy (in the cache) is kept.

- Files (bundled, local) are copied while their SHA256 is checked.
- URLs are looked for in the cache (by SHA256), then in the mirror folder, then
  downloaded over HTTPS with a timeout, retries with exponential backoff and a size
  cap. HTML error pages, truncated bodies and wrong bytes are refused.
- APIs are fetched by their adapter (innopanel.data.worldbank) and cached by request.
- Archives are verified, then the declared member is extracted inside its own folder.

Only the standard library is used: fetching must not pay for pandas.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import os
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from innopanel.config.sources import FILE_KINDS, describe_location, looks_like_html
from innopanel.io import atomic_path, sha256_file

# The schema's defaults, applied here too: Snakemake does not always apply them.
FETCH_DEFAULTS: dict[str, Any] = {
    "cache_dir": "data/cache",
    "mirror_dir": None,
    "offline": False,
    "allow_insecure_http": False,
    "timeout_seconds": 30.0,
    "retries": 3,
    "backoff_seconds": 1.0,
    "max_bytes": 500_000_000,
}
OFFLINE_ENVIRONMENT_VARIABLE = "INNOPANEL_OFFLINE"
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


def fetch_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data.fetch`` with defaults filled in; INNOPANEL_OFFLINE=1 forces offline."""
    settings = {**FETCH_DEFAULTS, **(data.get("fetch") or {})}
    if os.environ.get(OFFLINE_ENVIRONMENT_VARIABLE, "") not in ("", "0"):
        settings["offline"] = True
    return settings


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


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
    with atomic_path(destination) as temporary:
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
) -> tuple[str, int]:
    """Stream a response body to ``temporary``; return (sha256, size)."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(
            f"source '{name}': {url} is {int(declared)} bytes, over the cap of {max_bytes} "
            "(data.fetch.max_bytes). Raise the cap if this size is expected."
        )
    digest, size, head = hashlib.sha256(), 0, b""
    with temporary.open("wb") as writer:
        while True:
            try:
                chunk = response.read(CHUNK)
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
    settings: Mapping[str, Any],
    expected_sha256: str | None,
    retrieval: Retrieval,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Download ``url`` to ``destination`` (atomically, verified); return its SHA256.

    Network failures, 5xx/429 answers and truncated bodies are retried with exponential
    backoff; a 4xx answer, an HTML page, an oversized body or wrong bytes are not.
    """
    check_url(name, url, bool(settings["allow_insecure_http"]))
    opener = urllib.request.build_opener(_NoInsecureRedirect(bool(settings["allow_insecure_http"])))
    attempts = int(settings["retries"]) + 1
    last_problem = ""
    for attempt in range(1, attempts + 1):
        retrieval.attempts += 1
        if attempt > 1:
            sleep(float(settings["backoff_seconds"]) * 2 ** (attempt - 2))
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with (
                opener.open(request, timeout=float(settings["timeout_seconds"])) as response,
                atomic_path(destination) as temporary,
            ):
                actual, _ = _read_response(
                    name, url, response, temporary, int(settings["max_bytes"])
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


def fetch_url(
    name: str,
    spec: Mapping[str, Any],
    settings: Mapping[str, Any],
    retrieval: Retrieval,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Return a verified local copy of a URL source: cache, then mirror, then network."""
    url, expected = spec["url"], spec["sha256"]
    cached = Path(settings["cache_dir"]) / "sha256" / expected
    if cached.is_file() and sha256_file(cached) == expected:
        retrieval.origin = f"cache {cached}"
        return cached
    mirror = settings.get("mirror_dir")
    if mirror:
        basename = PurePosixPath(urllib.parse.urlsplit(url).path).name
        for candidate in (Path(mirror) / expected, Path(mirror) / basename):
            if basename and candidate.is_file():
                copy_verified(name, candidate, cached, expected)
                retrieval.origin = f"mirror {candidate}"
                return cached
    if settings["offline"]:
        raise SourceError(
            f"source '{name}': offline (data.fetch.offline or {OFFLINE_ENVIRONMENT_VARIABLE}) "
            f"and no verified copy of {url} in the cache ({cached}) or the mirror folder "
            f"({mirror or 'data.fetch.mirror_dir is not set'}). Put the file in the mirror "
            "folder, or go online once."
        )
    retrieval.requests.append(url)
    download(name, url, cached, settings, expected, retrieval, sleep=sleep)
    retrieval.origin = "network"
    return cached


# ---------------------------------------------------------------- archives


def _unsafe_member(member: str) -> bool:
    path = PurePosixPath(member.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(member) > 1 and member[1] == ":")


def extract_member(
    name: str,
    archive: Path,
    kind: str,
    member: str,
    folder: Path,
    destination: Path,
    file_format: str = "csv",
    shown: str | None = None,
) -> str:
    """Check every member stays inside ``folder``, extract ``member`` there, stage it.

    Messages name the archive as ``shown`` (where it came from). Returns the member's
    SHA256. A member whose path leaves the folder (absolute, ``..``,
    a link) makes the whole archive refused: it is not extracted at all.
    """
    shown = shown or str(archive)
    if kind == "zip":
        try:
            with zipfile.ZipFile(archive) as bundle:
                entries = {info.filename: info for info in bundle.infolist()}
                bad = [entry for entry in entries if _unsafe_member(entry)]
                payload = bundle.read(member) if not bad and member in entries else None
        except zipfile.BadZipFile:
            raise SourceError(
                f"source '{name}': {shown} is not a valid zip archive. Set "
                f"data.sources.{name}.archive to the archive's real type (zip or tar)."
            ) from None
    else:
        try:
            with tarfile.open(archive, "r:*") as bundle:
                members = bundle.getmembers()
                entries = {entry.name: entry for entry in members}
                bad = [
                    entry.name
                    for entry in members
                    if _unsafe_member(entry.name) or entry.issym() or entry.islnk() or entry.isdev()
                ]
                payload = None
                if not bad and member in entries and entries[member].isfile():
                    stream = bundle.extractfile(entries[member])
                    payload = stream.read() if stream is not None else None
        except tarfile.TarError:
            raise SourceError(
                f"source '{name}': {shown} is not a valid tar archive. Set "
                f"data.sources.{name}.archive to the archive's real type (zip or tar)."
            ) from None
    if bad:
        raise SourceError(
            f"source '{name}': archive {shown} has member(s) {bad[:3]} whose path leaves "
            "the archive's folder (absolute, '..' or a link). Refusing to extract anything: "
            "get a clean copy of the archive from its publisher."
        )
    if payload is None:
        raise SourceError(
            f"source '{name}': archive {shown} has no file '{member}'; it has "
            f"{sorted(entries)[:10]}. Set data.sources.{name}.member to one of them."
        )
    target = folder / PurePosixPath(member)
    with atomic_path(target) as temporary:
        temporary.write_bytes(payload)
    check_usable(name, f"{shown} member {member}", target, file_format)
    return copy_verified(name, target, destination, None)


# ---------------------------------------------------------------- one source


def stage(
    name: str,
    spec: Mapping[str, Any],
    destination: str | os.PathLike[str],
    settings: Mapping[str, Any],
    *,
    first_year: int,
    last_year: int,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fetch and verify one source into ``destination``.

    Returns its provenance record (byte-stable: what was used) and its retrieval record
    (how and when it was obtained this time; varies between runs).
    """
    destination = Path(destination)
    retrieval = Retrieval(source=name)
    kind = spec["kind"]
    fetched_sha256: str
    if kind in FILE_KINDS:
        retrieval.origin = f"file {spec['path']}"
        # An archive is kept whole in the cache; its member is staged below.
        fetched = _archive_copy(settings, spec) if spec.get("archive") else destination
        if not spec.get("archive"):
            check_usable(name, spec["path"], Path(spec["path"]), spec["format"])
        fetched_sha256 = copy_verified(name, Path(spec["path"]), fetched, spec["sha256"])
    elif kind == "url":
        fetched = fetch_url(name, spec, settings, retrieval, sleep=sleep)
        fetched_sha256 = spec["sha256"]
        if not spec.get("archive"):
            copy_verified(name, fetched, destination, fetched_sha256)
    else:
        from innopanel.data.worldbank import fetch_document

        fetched_sha256 = fetch_document(
            name, spec, settings, destination, first_year, last_year, retrieval, sleep=sleep
        )
        fetched = destination
    if spec.get("archive"):
        folder = Path(settings["cache_dir"]) / "extracted" / fetched_sha256
        origin = spec["path"] if kind in FILE_KINDS else spec["url"]
        extract_member(
            name,
            fetched,
            spec["archive"],
            spec["member"],
            folder,
            destination,
            spec["format"],
            origin,
        )
    retrieval.retrieved_at = _now()
    record = provenance_record(name, spec, fetched_sha256, fetched, destination)
    return record, asdict(retrieval)


def _archive_copy(settings: Mapping[str, Any], spec: Mapping[str, Any]) -> Path:
    return Path(settings["cache_dir"]) / "sha256" / spec["sha256"]


def provenance_record(
    name: str, spec: Mapping[str, Any], fetched_sha256: str, fetched: Path, staged: Path
) -> dict[str, Any]:
    """What was used for one source: where from, its checksum and size.

    Licence and citation are added from the config by innopanel.reproducibility.provenance, so that
    correcting a citation does not make the data be fetched (and everything rerun).
    """
    record: dict[str, Any] = {
        "name": name,
        "kind": spec["kind"],
        "location": describe_location(spec),
        "sha256": fetched_sha256,
        "bytes": fetched.stat().st_size,
        "sha256_pinned_in_config": spec.get("sha256") is not None,
        "format": spec["format"],
        "encoding": spec["encoding"],
        "staged": {
            "path": str(staged),
            "sha256": sha256_file(staged),
            "bytes": staged.stat().st_size,
        },
    }
    if spec["kind"] == "url":
        record["url"] = spec["url"]
    if spec["kind"] == "api":
        record["api"] = dict(spec["api"])
        record["requests"] = json.loads(staged.read_text(encoding="utf-8"))["requests"]
    if spec.get("archive"):
        record["archive"] = {"type": spec["archive"], "member": spec["member"]}
    return record
