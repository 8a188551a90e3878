"""Typed, frozen specs of the exhibits whose config has keys that may be absent with no
default to fill: the comparison year of the focal-vs-peers figure and of the ranking
(absent: the latest year with data for the focal unit), and the coefficient plot's
models (absent: the regression table's).

Each absence is resolved here, once, so the rules and scripts read attributes and
never guess with ``.get``. Each spec completes the ``exhibits`` mapping it is given
with :func:`innopanel.config.specs.with_defaults`, which also refuses a misspelled key
(``yaer``) from the Python API as the schema does at start-up. Only the standard library
and the config's own modules are imported, so the Snakefile can use this at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from innopanel.config.specs import with_defaults


@dataclass(frozen=True)
class FocalVsPeersSpec:
    """``exhibits.focal_vs_peers``: ``year`` None means the latest year in which the
    focal unit has every variable observed."""

    variables: tuple[str, ...]
    relative_to_peers: tuple[str, ...]
    year: int | None


@dataclass(frozen=True)
class RankingSpec:
    """``exhibits.ranking``: ``year`` None means the latest year in which the focal unit
    has the variable observed."""

    variable: str
    year: int | None


@dataclass(frozen=True)
class CoefficientPlotSpec:
    """``exhibits.coefficient_plot``: ``models`` are its own list if given, else the
    regression table's."""

    terms: tuple[str, ...]
    models: tuple[str, ...]


def _complete(exhibits: Mapping[str, Any]) -> dict[str, Any]:
    """``exhibits`` with the schema's defaults filled in and unknown keys refused."""
    return with_defaults({"exhibits": exhibits})["exhibits"]


def _year(section: Mapping[str, Any]) -> int | None:
    """The section's optional ``year``; absent means "the latest with data"."""
    return int(section["year"]) if "year" in section else None


def focal_vs_peers_spec(exhibits: Mapping[str, Any]) -> FocalVsPeersSpec:
    """Return the focal-vs-peers figure's spec from the ``exhibits`` config."""
    exhibits = _complete(exhibits)
    section = exhibits["focal_vs_peers"]
    return FocalVsPeersSpec(
        variables=tuple(section["variables"]),
        relative_to_peers=tuple(section["relative_to_peers"]),
        year=_year(section),
    )


def ranking_spec(exhibits: Mapping[str, Any]) -> RankingSpec:
    """Return the ranking figure's spec from the ``exhibits`` config."""
    exhibits = _complete(exhibits)
    section = exhibits["ranking"]
    return RankingSpec(variable=str(section["variable"]), year=_year(section))


def coefficient_plot_spec(exhibits: Mapping[str, Any]) -> CoefficientPlotSpec:
    """Return the coefficient plot's spec from the ``exhibits`` config."""
    exhibits = _complete(exhibits)
    section = exhibits["coefficient_plot"]
    # An empty list counts as absent, as the schema's description promises a default.
    own_models = section["models"] if "models" in section else []
    models = own_models or exhibits["regression_table"]["models"]
    return CoefficientPlotSpec(terms=tuple(section["terms"]), models=tuple(models))
