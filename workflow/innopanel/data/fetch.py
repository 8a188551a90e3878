"""Fetch and stage sources: prove every input is the one config names, lose nothing.

Raw files are only ever read; bytes come in through innopanel.data.transport (verified
copies, HTTPS downloads), so a failure leaves nothing behind and any earlier good copy
(in the cache) is kept.

- Files (bundled, local) are copied while their SHA256 is checked.
- URLs are looked for in the cache (by SHA256), then in the mirror folder, then
  downloaded.
- APIs are fetched by their adapter (innopanel.data.worldbank) and cached by request.
- Archives are verified, then the declared member is extracted inside its own folder.

Only the standard library is used: fetching must not pay for pandas.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tarfile
import time
import urllib.parse
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

from innopanel.config.sources import FILE_KINDS, describe_location
from innopanel.data.transport import (
    Retrieval,
    SourceError,
    check_usable,
    copy_verified,
    download,
)
from innopanel.data.worldbank import fetch_document
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


def fetch_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data.fetch`` with defaults filled in; INNOPANEL_OFFLINE=1 forces offline."""
    settings = {**FETCH_DEFAULTS, **(data.get("fetch") or {})}
    if os.environ.get(OFFLINE_ENVIRONMENT_VARIABLE, "") not in ("", "0"):
        settings["offline"] = True
    return settings


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


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
