"""Typed, frozen specs parsed once from the validated config, with defaults applied here.

The JSON schema (config/schemas/config.schema.yaml) is the only place a default is
written. :func:`with_defaults` copies a config and fills in every default the schema
declares, recursively (objects, maps of objects, lists of objects). The specs below
are then built from a complete config, so code reads attributes and never guesses a
default with ``.get(key, default)``.

Only the standard library and PyYAML are imported, so the Snakefile can parse specs at
start-up without paying for pandas.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innopanel.config.keys import check_keys

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "config" / "schemas" / "config.schema.yaml"


def safe_loader() -> type:
    """PyYAML's safe loader, with libyaml's parser where PyYAML was built with it: the
    same documents, read several times faster (each Snakemake start reads the schema
    and the study config)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """Return the parsed JSON schema of a study config."""
    import yaml

    return yaml.load(path.read_text(encoding="utf-8"), Loader=safe_loader())


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/...``) to the schema it names."""
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _object_branch(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object alternative of a ``oneOf``/``anyOf`` without properties of its own
    (e.g. a column given as a header or as ``{column, unit}``), else ``node`` itself."""
    if "properties" in node:
        return node
    for branch in (*node.get("oneOf", ()), *node.get("anyOf", ())):
        branch = _resolve(branch, root)
        if "properties" in branch:
            return branch
    return node


def _fill(instance: Any, node: Mapping[str, Any], root: Mapping[str, Any], where: str) -> Any:
    node = _resolve(node, root)
    if isinstance(instance, dict):
        node = _object_branch(node, root)
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        if extra is False:
            check_keys(where, instance, properties)
        prefix = f"{where}." if where else ""
        for key, child in properties.items():
            child = _resolve(child, root)
            if key not in instance and "default" in child:
                instance[key] = copy.deepcopy(child["default"])
            if key in instance:
                instance[key] = _fill(instance[key], child, root, f"{prefix}{key}")
        if isinstance(extra, Mapping):
            for key in instance:
                if key not in properties:
                    instance[key] = _fill(instance[key], extra, root, f"{prefix}{key}")
    elif isinstance(instance, list) and isinstance(node.get("items"), Mapping):
        return [
            _fill(item, node["items"], root, f"{where}[{index}]")
            for index, item in enumerate(instance)
        ]
    return instance


def with_defaults(
    instance: Mapping[str, Any], schema: Mapping[str, Any] | None = None, where: str = ""
) -> dict[str, Any]:
    """Return a deep copy of ``instance`` with every default of ``schema`` filled in.

    ``schema`` is the study schema by default; pass a sub-schema to complete part of a
    config (as :func:`model_spec` does for one model), and ``where``, the part's place
    in the config (``models.fe``), for messages. A key the schema does not allow where
    it closes an object (``additionalProperties: false``) raises
    :class:`innopanel.config.keys.UnknownKeyError` naming the nearest valid key: the
    Python API refuses a misspelled key as the start-up schema check does.
    """
    root = load_schema()
    return _fill(copy.deepcopy(dict(instance)), schema if schema is not None else root, root, where)


def _subschema(*path: str) -> Mapping[str, Any]:
    node: Mapping[str, Any] = load_schema()
    for part in path:
        node = _resolve(node, load_schema())[part]
    return node


@dataclass(frozen=True)
class ModelSpec:
    """One configured panel model, complete: every optional key resolved."""

    name: str
    label: str
    estimator: str
    outcome: str
    regressors: tuple[str, ...]
    controls: tuple[str, ...]
    covariance: str
    entity_effects: bool
    time_effects: bool
    small_sample: bool
    # Driscoll-Kraay only: the kernel and its maximum lag (None: the plug-in rule).
    kernel: str | None
    bandwidth: int | None
    # variable -> maximum lag, in config order.
    distributed_lags: tuple[tuple[str, int], ...]
    interactions: tuple[tuple[str, str], ...]
    center_interactions: bool
    # The model's years; None leaves that side open (a model parsed without a study).
    first_year: int | None
    last_year: int | None
    # clustered_jackknife by refits only: the most clusters refitted for (None: no cap).
    jackknife_max_clusters: int | None = None

    @property
    def window(self) -> str:
        """The model's years as text, e.g. "2011-2016" or "any year"."""
        if self.first_year is None and self.last_year is None:
            return "any year"
        return f"{self.first_year or '…'}-{self.last_year or '…'}"

    @property
    def terms(self) -> tuple[str, ...]:
        """The right-hand-side terms in order: regressors, then controls."""
        return self.regressors + self.controls

    @property
    def variables(self) -> tuple[str, ...]:
        """The outcome and every term (the columns a model needs of the panel)."""
        return (self.outcome, *self.terms)


def model_spec(
    name: str, raw: Mapping[str, Any], study: Mapping[str, Any] | None = None
) -> ModelSpec:
    """Build the :class:`ModelSpec` of model ``name`` from its config entry.

    The years default to the study window (``study``); without a study, a side the
    model does not state is left open, so no year is dropped that nobody asked to drop.
    """
    spec = with_defaults(
        raw, _subschema("properties", "models", "additionalProperties"), f"models.{name}"
    )
    window = study or {"first_year": None, "last_year": None}
    return ModelSpec(
        name=name,
        label=spec["label"],
        estimator=spec["estimator"],
        outcome=spec["outcome"],
        regressors=tuple(spec["regressors"]),
        controls=tuple(spec["controls"]),
        covariance=spec["covariance"],
        entity_effects=spec["entity_effects"],
        time_effects=spec["time_effects"],
        small_sample=spec["small_sample"],
        kernel=spec.get("kernel"),
        bandwidth=spec.get("bandwidth"),
        distributed_lags=tuple((spec.get("distributed_lags") or {}).items()),
        interactions=tuple(tuple(pair) for pair in spec.get("interactions") or ()),
        center_interactions=spec["center_interactions"],
        first_year=spec.get("first_year", window["first_year"]),
        last_year=spec.get("last_year", window["last_year"]),
        jackknife_max_clusters=spec["jackknife_max_clusters"],
    )


def model_specs(config: Mapping[str, Any]) -> dict[str, ModelSpec]:
    """Return every configured model as a :class:`ModelSpec`, in config order."""
    return {name: model_spec(name, raw, config["study"]) for name, raw in config["models"].items()}


@dataclass(frozen=True)
class ColumnSpec:
    """One variable read from a source: its header, its unit when the header has none, and
    the sub-column under a yearbook header that spans several (None: no such header)."""

    variable: str
    header: str
    unit: str | None
    sub_column: str | None


@dataclass(frozen=True)
class ApiSpec:
    """A statistics API request: provider, endpoint, indicators and countries."""

    provider: str
    base_url: str
    indicators: tuple[str, ...]
    countries: tuple[str, ...]
    per_page: int


@dataclass(frozen=True)
class TableSpec:
    """A statistical-yearbook table: its edition, its year(s) and where its notes start
    (its rows that are no unit are the study's: ``data.harmonise``)."""

    edition: int
    # The data year of a single-year table; None when the columns are years.
    year: int | None
    wide_years: bool
    note_markers: tuple[str, ...]


@dataclass(frozen=True)
class SourceSpec:
    """One declared data source, complete: every optional key resolved."""

    name: str
    kind: str
    path: str | None
    url: str | None
    sha256: str | None
    api: ApiSpec | None
    format: str
    encoding: str
    # How a csv separates fields, and how numbers written as text mark decimals and
    # digit groups (thousands_separator None: not declared, only unambiguous groups read).
    delimiter: str
    decimal_separator: str
    thousands_separator: str | None
    sheets: tuple[str, ...] | None
    skip_rows: int
    header_rows: int
    archive: str | None
    member: str | None
    licence: str
    citation: str
    unit_column: str
    # None for a yearbook table, whose years are its table.year or its year columns.
    year_column: str | None
    columns: tuple[ColumnSpec, ...]
    table: TableSpec | None


def source_spec(name: str, raw: Mapping[str, Any]) -> SourceSpec:
    """Build the :class:`SourceSpec` of source ``name`` from its config entry."""
    spec = with_defaults(
        raw,
        _subschema("properties", "data", "properties", "sources", "additionalProperties"),
        f"data.sources.{name}",
    )
    api = spec.get("api")
    table = spec.get("table")
    return SourceSpec(
        name=name,
        kind=spec["kind"],
        path=spec.get("path"),
        url=spec.get("url"),
        sha256=spec.get("sha256"),
        api=None
        if api is None
        else ApiSpec(
            provider=api["provider"],
            base_url=api["base_url"],
            indicators=tuple(api["indicators"]),
            countries=tuple(api["countries"]),
            per_page=api["per_page"],
        ),
        format=spec["format"],
        encoding=spec["encoding"],
        delimiter=spec["delimiter"],
        decimal_separator=spec["decimal_separator"],
        thousands_separator=spec.get("thousands_separator"),
        sheets=tuple(spec["sheets"]) if "sheets" in spec else None,
        skip_rows=spec["skip_rows"],
        header_rows=spec["header_rows"],
        archive=spec.get("archive"),
        member=spec.get("member"),
        licence=spec["licence"],
        citation=spec["citation"],
        unit_column=spec["unit_column"],
        year_column=spec.get("year_column"),
        columns=tuple(
            ColumnSpec(variable, mapping, None, None)
            if isinstance(mapping, str)
            else ColumnSpec(
                variable, mapping["column"], mapping.get("unit"), mapping.get("sub_column")
            )
            for variable, mapping in spec["columns"].items()
        ),
        table=None
        if table is None
        else TableSpec(
            edition=table["edition"],
            year=table.get("year"),
            wide_years=table["wide_years"],
            note_markers=tuple(table["note_markers"]),
        ),
    )


def source_specs(config: Mapping[str, Any]) -> dict[str, SourceSpec]:
    """Return every declared source as a :class:`SourceSpec`, in config order."""
    return {name: source_spec(name, raw) for name, raw in config["data"]["sources"].items()}
