"""Typed, frozen specs of the data wing's config: fetch settings, cleaning rules, variables.

Each is built from a config completed by :func:`innopanel.config.specs.with_defaults`
(which is idempotent, so a config already completed at start-up is fine), so the data
wing reads attributes and never guesses a default. The sources themselves are
:class:`innopanel.config.specs.SourceSpec`.

Only the standard library and PyYAML (through specs) are imported, so the fetch step
does not pay for pandas.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from innopanel.config.specs import SourceSpec, source_specs, with_defaults

# Set to anything but "" or "0" to forbid the network whatever data.fetch.offline says.
OFFLINE_ENVIRONMENT_VARIABLE = "INNOPANEL_OFFLINE"


def _complete_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data`` with the schema's defaults filled in."""
    return with_defaults({"data": data})["data"]


@dataclass(frozen=True)
class Concordance:
    """Older names or codes of one unit; ``merge`` None: a plain rename (one row each).

    ``sub_units`` groups ``names`` by sub-unit (the spellings of each); ``partial`` says
    what a year missing some sub-units' rows gives, ``prefer`` which generation wins
    when a source-year holds the unit's own rows and these older ones.
    """

    names: tuple[str, ...]
    unit_id: str
    merge: str | None
    weight: str | None
    sub_units: tuple[tuple[str, ...], ...]
    partial: str
    prefer: str | None


@dataclass(frozen=True)
class Harmonisation:
    """``data.harmonise``: total rows, dropped units, unknown names and the concordance."""

    totals: tuple[str, ...]
    drop_units: tuple[str, ...]
    unknown_units: str
    concordance: tuple[Concordance, ...]


def harmonisation(data: Mapping[str, Any]) -> Harmonisation:
    """Return the unit-harmonisation rules of ``data``, every default filled in."""
    rules = _complete_data(data)["harmonise"]
    return Harmonisation(
        totals=tuple(rules["totals"]),
        drop_units=tuple(rules["drop_units"]),
        unknown_units=rules["unknown_units"],
        concordance=tuple(_concordance(entry) for entry in rules["concordance"]),
    )


def _concordance(entry: Mapping[str, Any]) -> Concordance:
    """One concordance entry; a ``from`` item is a name or a list of one sub-unit's names."""
    sub_units = tuple((item,) if isinstance(item, str) else tuple(item) for item in entry["from"])
    return Concordance(
        names=tuple(name for spellings in sub_units for name in spellings),
        unit_id=entry["to"],
        merge=entry["merge"],
        weight=entry["weight"],
        sub_units=sub_units,
        partial=entry["partial"],
        prefer=entry["prefer"],
    )


@dataclass(frozen=True)
class DataLimits:
    """``data.limits``: caps on what a source may make the pipeline read."""

    max_file_bytes: int
    # The cells a CSV, JSON or parquet source may hold, and a JSON source's nesting.
    max_cells: int
    json_depth: int
    excel_max_rows: int
    excel_max_columns: int
    excel_max_cells: int
    archive_max_member_bytes: int
    archive_max_ratio: float
    api_max_pages: int


def data_limits(data: Mapping[str, Any]) -> DataLimits:
    """Return the caps of ``data``, every default filled in."""
    limits = _complete_data(data)["limits"]
    return DataLimits(
        max_file_bytes=int(limits["max_file_bytes"]),
        max_cells=int(limits["max_cells"]),
        json_depth=int(limits["json_depth"]),
        excel_max_rows=int(limits["excel_max_rows"]),
        excel_max_columns=int(limits["excel_max_columns"]),
        excel_max_cells=int(limits["excel_max_cells"]),
        archive_max_member_bytes=int(limits["archive_max_member_bytes"]),
        archive_max_ratio=float(limits["archive_max_ratio"]),
        api_max_pages=int(limits["api_max_pages"]),
    )


@dataclass(frozen=True)
class FetchSettings:
    """How sources are fetched (``data.fetch``); none of it changes what a source holds."""

    cache_dir: str
    mirror_dir: str | None
    offline: bool
    allow_insecure_http: bool
    # The longest wait for one read, and for one whole attempt.
    timeout_seconds: float
    attempt_seconds: float
    retries: int
    backoff_seconds: float
    max_bytes: int
    limits: DataLimits


def fetch_settings(
    data: Mapping[str, Any], environment: Mapping[str, str] = os.environ
) -> FetchSettings:
    """Return the fetch settings of ``data``; INNOPANEL_OFFLINE=1 forces offline."""
    fetch = _complete_data(data)["fetch"]
    forced_offline = environment.get(OFFLINE_ENVIRONMENT_VARIABLE, "") not in ("", "0")
    return FetchSettings(
        cache_dir=fetch["cache_dir"],
        mirror_dir=fetch["mirror_dir"],
        offline=bool(fetch["offline"]) or forced_offline,
        allow_insecure_http=bool(fetch["allow_insecure_http"]),
        timeout_seconds=float(fetch["timeout_seconds"]),
        attempt_seconds=float(fetch["attempt_seconds"]),
        retries=int(fetch["retries"]),
        backoff_seconds=float(fetch["backoff_seconds"]),
        max_bytes=int(fetch["max_bytes"]),
        limits=data_limits(data),
    )


@dataclass(frozen=True)
class Interpolation:
    """Linear interpolation of interior gaps of at most ``max_gap`` years."""

    variables: tuple[str, ...]
    max_gap: int


@dataclass(frozen=True)
class OutlierRules:
    """Outlier flags: the modified z-score threshold; variables None means every source one."""

    threshold: float
    variables: tuple[str, ...] | None


@dataclass(frozen=True)
class CleaningRules:
    """``data.cleaning``: panel shape, the window policy, interpolation and outlier flags."""

    panel: str
    # Variables a balanced panel needs every year; None means every source variable.
    balance_on: tuple[str, ...] | None
    out_of_window: str
    # None: interpolation is off (the key is absent).
    interpolate: Interpolation | None
    outliers: OutlierRules


def cleaning_rules(data: Mapping[str, Any]) -> CleaningRules:
    """Return the cleaning rules of ``data``, every default filled in."""
    cleaning = _complete_data(data)["cleaning"]
    interpolate = cleaning.get("interpolate")
    outliers = cleaning["outliers"]
    return CleaningRules(
        panel=cleaning["panel"],
        balance_on=tuple(cleaning["balance_on"]) if cleaning.get("balance_on") else None,
        out_of_window=cleaning["out_of_window"],
        interpolate=None
        if interpolate is None
        else Interpolation(tuple(interpolate["variables"]), int(interpolate["max_gap"])),
        outliers=OutlierRules(
            threshold=float(outliers["threshold"]),
            variables=tuple(outliers["variables"]) if outliers.get("variables") else None,
        ),
    )


#: data.vintages.policy's choices, in the order the vintage table shows them.
VINTAGE_POLICIES: tuple[str, ...] = ("latest", "consistent", "splice")


@dataclass(frozen=True)
class VintageRules:
    """``data.vintages``: what is a level break between editions, and what to do with one.

    ``policy`` None: none declared (a level break found then stops the run);
    see :mod:`innopanel.data.vintages` for the rule and the policies.
    """

    policy: str | None
    tolerance: float
    min_share: float


def vintage_rules(data: Mapping[str, Any]) -> VintageRules:
    """Return the vintage rules of ``data``, every default filled in."""
    vintages = _complete_data(data)["vintages"]
    return VintageRules(
        policy=vintages["policy"],
        tolerance=float(vintages["tolerance"]),
        min_share=float(vintages["min_share"]),
    )


def accepted_scale_breaks(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The (source, variable) pairs of ``data.accept_scale_breaks`` (default: none)."""
    entries = _complete_data(data)["accept_scale_breaks"]
    return tuple((entry["source"], entry["variable"]) for entry in entries)


# The keys naming each derivation's inputs, in the order the computation uses them.
DERIVATION_INPUT_KEYS: Mapping[str, tuple[str, ...]] = {
    "ratio": ("numerator", "denominator"),
    "share": ("part", "whole"),
    "per_capita": ("of", "population"),
    "log": ("of",),
    "sum": ("of",),
    "difference": ("of", "minus"),
    "growth": ("of",),
    "lag": ("of",),
    "lead": ("of",),
}


@dataclass(frozen=True)
class Derivation:
    """One declared derivation (``variables.<name>.derive``), complete."""

    operation: str
    inputs: tuple[str, ...]
    # per_capita: per how many base units of the population (10000: "per 10,000 residents").
    per: float | None
    # growth, lag, lead: calendar years (0 for the others).
    years: int
    # log: what zero and negative values do ("drop": become missing and are counted;
    # "error": stop naming the rows).
    zero: str
    negative: str


def derivation(raw: Mapping[str, Any]) -> Derivation:
    """Return the :class:`Derivation` of a complete ``derive`` mapping (one operation)."""
    ((operation, settings),) = raw.items()
    inputs: list[str] = []
    for key in DERIVATION_INPUT_KEYS[operation]:
        value = settings[key]
        inputs.extend(value if isinstance(value, list) else [value])
    is_log = operation == "log"
    return Derivation(
        operation=operation,
        inputs=tuple(inputs),
        per=float(settings["per"]) if operation == "per_capita" else None,
        years=int(settings["years"]) if operation in ("growth", "lag", "lead") else 0,
        zero=settings["zero"] if is_log else "drop",
        negative=settings["negative"] if is_log else "drop",
    )


@dataclass(frozen=True)
class VariableSpec:
    """One configured variable, as the data wing needs it."""

    name: str
    kind: str
    # Canonical unit (a derived variable may declare one, or take its inputs').
    unit: str | None
    minimum: float | None
    maximum: float | None
    # Also derive ``<name>_lag1``.
    lag: bool
    # How a derived variable is computed (None for a source variable, or a derived one
    # that declares none, which the config check refuses).
    derivation: Derivation | None


def variable_specs(variables: Mapping[str, Mapping[str, Any]]) -> dict[str, VariableSpec]:
    """Return every configured variable as a :class:`VariableSpec`, in config order."""
    complete = with_defaults({"variables": variables})["variables"]
    return {
        name: VariableSpec(
            name=name,
            kind=raw["kind"],
            unit=raw.get("unit"),
            minimum=raw.get("min"),
            maximum=raw.get("max"),
            lag=bool(raw["lag"]),
            derivation=derivation(raw["derive"]) if "derive" in raw else None,
        )
        for name, raw in complete.items()
    }


@dataclass(frozen=True)
class CleaningSpec:
    """Everything the clean step reads of the config, complete."""

    unit: str
    first_year: int
    last_year: int
    unit_table: str
    # data.aliases: more names, name -> unit_id.
    aliases: Mapping[str, str]
    missing_markers: frozenset[str]
    synthetic: bool
    data_note: str
    rules: CleaningRules
    vintages: VintageRules
    # data.accept_scale_breaks: (source, variable) pairs whose power-of-ten break is real.
    accepted_scale_breaks: tuple[tuple[str, str], ...]
    harmonise: Harmonisation
    limits: DataLimits
    sources: Mapping[str, SourceSpec]
    variables: Mapping[str, VariableSpec]
    # Unit name -> {dimension, factor}, as configured under ``units``.
    units: Mapping[str, Mapping[str, Any]]

    @property
    def source_variables(self) -> list[str]:
        """The variables read from sources (not derived), in config order."""
        return [name for name, spec in self.variables.items() if spec.kind == "source"]


def cleaning_spec(config: Mapping[str, Any]) -> CleaningSpec:
    """Return the clean step's spec of a config holding study, data, units and variables."""
    study = config["study"]
    data = _complete_data(config["data"])
    return CleaningSpec(
        unit=study["unit"],
        first_year=int(study["first_year"]),
        last_year=int(study["last_year"]),
        unit_table=data["unit_table"],
        aliases=dict(data["aliases"]),
        missing_markers=frozenset(marker.strip() for marker in data["missing_markers"]),
        synthetic=bool(data["synthetic"]),
        data_note=data["data_note"],
        rules=cleaning_rules(data),
        vintages=vintage_rules(data),
        accepted_scale_breaks=accepted_scale_breaks(data),
        harmonise=harmonisation(data),
        limits=data_limits(data),
        sources=source_specs({"data": data}),
        variables=variable_specs(config["variables"]),
        units=config["units"],
    )
