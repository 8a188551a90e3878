"""World Bank indicators API (v2) adapter: a country-year panel from public statistics.

Requests follow the documented v2 form, one series per indicator:

    {base_url}/country/{CHN;USA;...}/indicator/{INDICATOR}?format=json&date=2011:2022
        &per_page=1000&page=1

Each JSON answer is ``[page_info, records]``: ``page_info`` has ``page``, ``pages``,
``per_page`` and ``total``; each record has ``indicator {id, value}``,
``country {id, value}``, ``countryiso3code``, ``date`` (the year as text) and ``value``
(a number, or null when missing). An error is ``[{"message": [{"id", "key", "value"}]}]``.

Every page is fetched (retries, timeout, size cap, HTTPS only: innopanel.data.transport) and
checked; the pages are kept verbatim in one canonical JSON document, the staged copy,
whose SHA256 is recorded in results/provenance/. :func:`document_table` turns that
document into rows ``country, year, <indicator>...`` for the cleaning step.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from innopanel.config.data_specs import FetchSettings
from innopanel.config.specs import SourceSpec
from innopanel.data.json_bounds import JsonTooLarge, loads_bounded
from innopanel.data.transport import Retrieval, SourceError, copy_verified, download
from innopanel.io import sha256_file, write_json

PROVIDER = "world_bank"
UNIT_COLUMN = "country"
YEAR_COLUMN = "year"


class ApiError(RuntimeError):
    """The API answered, but not with the data asked for."""


def request_url(
    base_url: str,
    countries: Sequence[str],
    indicator: str,
    first_year: int,
    last_year: int,
    per_page: int,
    page: int,
) -> str:
    """Return the documented v2 URL for one page of one indicator's series."""
    query = urllib.parse.urlencode(
        {
            "format": "json",
            "date": f"{first_year}:{last_year}",
            "per_page": per_page,
            "page": page,
        }
    )
    path_countries = ";".join(code.upper() for code in countries)
    return f"{base_url.rstrip('/')}/country/{path_countries}/indicator/{indicator}?{query}"


def check_page(name: str, url: str, body: Any, indicator: str, page: int) -> tuple[int, int, list]:
    """Check one answer's shape; return (pages, total, records)."""
    if (
        isinstance(body, list)
        and len(body) == 1
        and isinstance(body[0], dict)
        and "message" in body[0]
    ):
        messages = "; ".join(
            f"{m.get('id', '?')} {m.get('key', '')}: {m.get('value', '')}".strip()
            for m in body[0]["message"]
        )
        raise SourceError(
            f"source '{name}': the World Bank API refused {url}: {messages}. Check "
            f"data.sources.{name}.api.indicators and .countries (indicator '{indicator}')."
        )
    if not (isinstance(body, list) and len(body) == 2 and isinstance(body[0], dict)):
        raise SourceError(
            f"source '{name}': {url} did not answer in the documented shape "
            f"[page_info, records]. Check data.sources.{name}.api.base_url (it should end "
            "in /v2)."
        )
    info, records = body
    try:
        pages, total, answered_page = int(info["pages"]), int(info["total"]), int(info["page"])
    except (KeyError, TypeError, ValueError):
        raise SourceError(
            f"source '{name}': {url} answered without page, pages and total. Check "
            f"data.sources.{name}.api.base_url."
        ) from None
    if answered_page != page:
        raise SourceError(f"source '{name}': asked {url} for page {page}, got {answered_page}.")
    records = records or []
    for index, record in enumerate(records):
        try:
            record_indicator = record["indicator"]["id"]
            int(record["date"])
            value = record["value"]
        except (KeyError, TypeError, ValueError):
            raise SourceError(
                f"source '{name}': {url} record {index} lacks indicator.id, a year in "
                "'date' or 'value'; the answer is not in the documented form."
            ) from None
        if record_indicator != indicator:
            raise SourceError(
                f"source '{name}': {url} returned indicator '{record_indicator}' in record "
                f"{index}, not '{indicator}'."
            )
        if value is not None and not isinstance(value, int | float):
            raise SourceError(
                f"source '{name}': {url} record {index} has value {value!r}, neither a "
                "number nor null."
            )
        if not (record.get("countryiso3code") or (record.get("country") or {}).get("id")):
            raise SourceError(f"source '{name}': {url} record {index} names no country.")
    return pages, total, records


def fetch_document(
    spec: SourceSpec,
    settings: FetchSettings,
    destination: str | Path,
    first_year: int,
    last_year: int,
    retrieval: Retrieval,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Fetch every page of every indicator into ``destination``; return its SHA256.

    A cached document for the same request is reused (so a second run downloads
    nothing); offline without one is an error. If the config pins ``sha256``, the
    document must match it.
    """
    name, api = spec.name, spec.api
    if api is None:
        raise SourceError(f"source '{name}': an api source needs data.sources.{name}.api.")
    if api.provider != PROVIDER:
        raise SourceError(f"source '{name}': unknown api provider '{api.provider}'.")
    per_page = api.per_page
    request = {
        "base_url": api.base_url,
        "countries": [c.upper() for c in api.countries],
        "indicators": list(api.indicators),
        "years": [first_year, last_year],
        "per_page": per_page,
    }
    key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:20]
    cached = Path(settings.cache_dir) / "api" / f"{name}-{key}.json"
    pinned = spec.sha256
    if cached.is_file() and (pinned is None or sha256_file(cached) == pinned):
        retrieval.origin = f"cache {cached}"
        return copy_verified(name, cached, Path(destination), pinned)
    mirrored = mirror_document(name, settings.mirror_dir)
    if mirrored is not None and mirrored.is_file():
        _check_mirrored_request(name, mirrored, request)
        copy_verified(name, mirrored, cached, pinned)
        retrieval.origin = f"mirror {mirrored}"
        return copy_verified(name, cached, Path(destination), pinned)
    if settings.offline:
        raise SourceError(
            f"source '{name}': offline and no cached answer of the {PROVIDER} API for this "
            f"request ({cached}), nor a mirrored one ("
            + (f"{mirrored}" if mirrored is not None else "data.fetch.mirror_dir is not set")
            + "). Copy a staged answer of this request (data/staged/<study>/"
            f"{name}.json, from a run online) to the mirror folder as {name}.json, or go "
            "online once."
        )
    retrieval.origin = "network"
    requests: list[dict[str, Any]] = []
    pages_kept: list[dict[str, Any]] = []
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent, prefix=".pages-") as scratch:
        for indicator in request["indicators"]:
            page, pages, seen, total = 1, 1, 0, 0
            while page <= pages:
                url = request_url(
                    api.base_url,
                    request["countries"],
                    indicator,
                    first_year,
                    last_year,
                    per_page,
                    page,
                )
                retrieval.requests.append(url)
                target = Path(scratch) / f"page-{len(requests)}.json"
                digest = download(name, url, target, settings, None, retrieval, sleep=sleep)
                raw = target.read_bytes()
                try:
                    body = loads_bounded(
                        raw.decode("utf-8-sig"),
                        settings.limits.json_depth,
                        settings.limits.max_cells,
                    )
                except (UnicodeDecodeError, json.JSONDecodeError, JsonTooLarge) as error:
                    raise SourceError(
                        f"source '{name}': {url} did not answer JSON ({error}). Check "
                        f"data.sources.{name}.api.base_url."
                    ) from None
                pages, total, records = check_page(name, url, body, indicator, page)
                if pages > settings.limits.api_max_pages:
                    raise SourceError(
                        f"source '{name}': {url} announces {pages} pages, over the cap of "
                        f"{settings.limits.api_max_pages} (data.limits.api_max_pages). Raise "
                        f"data.sources.{name}.api.per_page, or the cap if the size is expected."
                    )
                seen += len(records)
                requests.append({"url": url, "sha256": digest, "bytes": len(raw)})
                pages_kept.append({"url": url, "body": body})
                page += 1
            if seen != total:
                raise SourceError(
                    f"source '{name}': the {PROVIDER} API announced {total} records for "
                    f"'{indicator}' but sent {seen}: a truncated answer. Run again later."
                )
            if total == 0:
                raise SourceError(
                    f"source '{name}': the {PROVIDER} API has no data for '{indicator}', "
                    f"countries {request['countries']}, years {first_year}-{last_year}. "
                    f"Check data.sources.{name}.api."
                )
    document = {
        "provider": PROVIDER,
        "request": request,
        "requests": requests,
        "pages": pages_kept,
    }
    write_json(cached, document)
    return copy_verified(name, cached, Path(destination), pinned)


def mirror_document(name: str, mirror_dir: str | None) -> Path | None:
    """Where the mirror folder holds an api source's answer: ``<mirror_dir>/<name>.json``.

    That file is an answer as the fetch step stages it (``data/staged/<study>/<name>.json``
    of a run online), so copying one there gives an offline route.
    """
    return None if mirror_dir is None else Path(mirror_dir) / f"{name}.json"


def _check_mirrored_request(name: str, path: Path, request: Mapping[str, Any]) -> None:
    """Refuse a mirrored answer to another request (other countries, years, indicators)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        answered = document["request"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, RecursionError):
        raise SourceError(
            f"source '{name}': the mirrored answer {path} is not an answer the fetch step "
            "staged. Replace it with data/staged/<study>/" + f"{name}.json from a run online."
        ) from None
    if answered != dict(request):
        raise SourceError(
            f"source '{name}': the mirrored answer {path} answers another request "
            f"({answered}), not {dict(request)}. Mirror an answer to this request, or make "
            f"data.sources.{name}.api and the study window match it."
        )


def document_table(document: Mapping[str, Any]) -> tuple[list[str], list[list[str | None]]]:
    """Return (header, rows): one row per country-year, one column per indicator.

    Values are text as the cleaning step expects; null stays None (missing).
    """
    indicators = list(document["request"]["indicators"])
    cells: dict[tuple[str, int], dict[str, str | None]] = {}
    for page in document["pages"]:
        for record in page["body"][1] or []:
            country = record.get("countryiso3code") or record["country"]["id"]
            year = int(record["date"])
            value = record["value"]
            text = None if value is None else repr(float(value))
            row = cells.setdefault((country, year), {})
            indicator = record["indicator"]["id"]
            if indicator in row and row[indicator] != text:
                raise ApiError(
                    f"the answer has two different values of '{indicator}' for {country} "
                    f"{year}: {row[indicator]} and {text}."
                )
            row[indicator] = text
    header = [UNIT_COLUMN, YEAR_COLUMN, *indicators]
    rows = [
        [country, str(year), *[values.get(i) for i in indicators]]
        for (country, year), values in sorted(cells.items())
    ]
    return header, rows
