"""Fetch and stage sources: prove every input is the one config names, lose nothing.

Raw files are only ever read; bytes come in through innopanel.data.transport (verified
copies, HTTPS downloads), so a failure leaves nothing behind and any earlier good copy
(in the cache) is kept.

- Files (bundled, local) are copied while their SHA256 is checked.
- URLs are looked for in the cache (by SHA256), then in the mirror folder, then
  downloaded.
- APIs are fetched by their adapter (innopanel.data.worldbank) and cached by request.
- Archives are verified, then the declared member is extracted inside its own folder.

Only the standard library (and PyYAML, through the config specs) is used: fetching
must not pay for pandas.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tarfile
import time
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

from innopanel.config.data_specs import OFFLINE_ENVIRONMENT_VARIABLE, DataLimits, FetchSettings
from innopanel.config.sources import FILE_KINDS, describe_location, origin
from innopanel.config.specs import SourceSpec
from innopanel.data.intake import file_size_problem, member_size_problem
from innopanel.data.transport import (
    Retrieval,
    SourceError,
    check_usable,
    copy_verified,
    download,
)
from innopanel.data.worldbank import fetch_document
from innopanel.io import atomic_path, sha256_file


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def fetch_url(
    spec: SourceSpec,
    settings: FetchSettings,
    retrieval: Retrieval,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Return a verified local copy of a URL source: cache, then mirror, then network."""
    name, url, expected = spec.name, origin(spec), _pinned(spec)
    cached = Path(settings.cache_dir) / "sha256" / expected
    if cached.is_file() and sha256_file(cached) == expected:
        retrieval.origin = f"cache {cached}"
        return cached
    mirror = settings.mirror_dir
    if mirror:
        for candidate in mirror_candidates(Path(mirror), url, expected):
            if candidate.is_file():
                copy_verified(name, candidate, cached, expected)
                retrieval.origin = f"mirror {candidate}"
                return cached
    if settings.offline:
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


def mirror_candidates(mirror: Path, url: str, sha256: str) -> list[Path]:
    """Where a mirror folder may hold a URL's file, most specific first.

    By SHA256, then by the URL's path with its leading folders dropped one at a time,
    down to the file name: a mirror of a repository's tree (where many files share a
    name, raw-2010.xls) keeps their paths, a flat mirror just the names. Whatever is
    found is checked against the pinned SHA256 before use.
    """
    parts = [part for part in PurePosixPath(urllib.parse.urlsplit(url).path).parts if part != "/"]
    candidates = [mirror / sha256]
    candidates += [mirror.joinpath(*parts[start:]) for start in range(len(parts))]
    return candidates


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
    *,
    limits: DataLimits,
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
                if not bad and member in entries:
                    info = entries[member]
                    _refuse_oversized(
                        member_size_problem(
                            member, info.file_size, info.compress_size, shown, name, limits
                        )
                    )
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
                    # A tar member's compressed size is unknown: the whole archive's is used.
                    _refuse_oversized(
                        member_size_problem(
                            member,
                            entries[member].size,
                            archive.stat().st_size,
                            shown,
                            name,
                            limits,
                        )
                    )
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
    with atomic_path(target, mode=archive.stat().st_mode & 0o777) as temporary:
        temporary.write_bytes(payload)
    check_usable(name, f"{shown} member {member}", target, file_format)
    return copy_verified(name, target, destination, None)


def _refuse_oversized(problem: str | None) -> None:
    if problem is not None:
        raise SourceError(problem)


# ---------------------------------------------------------------- one source


def stage(
    spec: SourceSpec,
    destination: str | os.PathLike[str],
    settings: FetchSettings,
    *,
    first_year: int,
    last_year: int,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fetch and verify one source into ``destination``.

    ``first_year`` and ``last_year`` are the years an API source is asked for. Returns
    its provenance record (byte-stable: what was used) and its retrieval record (how
    and when it was obtained this time; varies between runs).
    """
    name = spec.name
    destination = Path(destination)
    retrieval = Retrieval(source=name)
    fetched_sha256: str
    if spec.kind in FILE_KINDS:
        raw = Path(origin(spec))
        retrieval.origin = f"file {raw}"
        # An archive is kept whole in the cache; its member is staged below.
        if spec.archive:
            fetched = Path(settings.cache_dir) / "sha256" / _pinned(spec)
        else:
            fetched = destination
            check_usable(name, str(raw), raw, spec.format)
        if raw.is_file():
            _refuse_oversized(file_size_problem(name, raw, str(raw), settings.limits))
        fetched_sha256 = copy_verified(name, raw, fetched, spec.sha256)
    elif spec.kind == "url":
        fetched = fetch_url(spec, settings, retrieval, sleep=sleep)
        fetched_sha256 = _pinned(spec)
        if not spec.archive:
            copy_verified(name, fetched, destination, fetched_sha256)
    else:
        fetched_sha256 = fetch_document(
            spec, settings, destination, first_year, last_year, retrieval, sleep=sleep
        )
        fetched = destination
    if spec.archive and spec.member:
        extract_member(
            name,
            fetched,
            spec.archive,
            spec.member,
            Path(settings.cache_dir) / "extracted" / fetched_sha256,
            destination,
            spec.format,
            origin(spec),
            limits=settings.limits,
        )
    retrieval.retrieved_at = _now()
    record = provenance_record(spec, fetched_sha256, fetched, destination)
    return record, asdict(retrieval)


def _pinned(spec: SourceSpec) -> str:
    """The SHA256 the config pins for a file or URL source (the schema requires one)."""
    if spec.sha256 is None:
        raise SourceError(
            f"source '{spec.name}': no sha256 pinned; set data.sources.{spec.name}.sha256."
        )
    return spec.sha256


def provenance_record(
    spec: SourceSpec, fetched_sha256: str, fetched: Path, staged: Path
) -> dict[str, Any]:
    """What was used for one source: where from, its checksum and size.

    Licence and citation are added from the config by
    innopanel.reproducibility.provenance, so that correcting a citation does not make
    the data be fetched (and everything rerun).
    """
    record: dict[str, Any] = {
        "name": spec.name,
        "kind": spec.kind,
        "location": describe_location(spec),
        "sha256": fetched_sha256,
        "bytes": fetched.stat().st_size,
        "sha256_pinned_in_config": spec.sha256 is not None,
        "format": spec.format,
        "encoding": spec.encoding,
        "staged": {
            "path": str(staged),
            "sha256": sha256_file(staged),
            "bytes": staged.stat().st_size,
        },
    }
    if spec.kind == "url":
        record["url"] = origin(spec)
        repository_file = github_raw_file(origin(spec))
        if repository_file is not None:
            record["repository_file"] = repository_file
    if spec.api is not None:
        record["api"] = asdict(spec.api)
        record["requests"] = json.loads(staged.read_text(encoding="utf-8"))["requests"]
    if spec.archive:
        record["archive"] = {"type": spec.archive, "member": spec.member}
    return record


def github_raw_file(url: str) -> dict[str, str] | None:
    """The repository, commit and path a raw.githubusercontent.com URL names (else None).

    ``https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>``: provenance
    then says which file of which public repository, at which commit, was used.
    """
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.netloc.lower() != "raw.githubusercontent.com" or len(segments) < 4:
        return None
    owner, repository, commit = segments[:3]
    return {
        "repository": f"https://github.com/{owner}/{repository}",
        "commit": commit,
        "path": "/".join(segments[3:]),
    }
