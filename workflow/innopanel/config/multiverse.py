"""The declared multiverse of a study: its choices, exclusions and grid, as frozen specs.

The ``multiverse`` section of a study's config lists each choice a researcher could
defensibly make differently, with its values: the outcome and estimator, the focal
regressor's definition, the controls, the fixed effects, the lag, the covariance and
the sample. The grid is every combination of values minus those an ``exclude`` rule
names. Every specification gets an id hashed from its choices (sorted-key JSON,
SHA-256), so it is the same on every machine and under any ``PYTHONHASHSEED``.

The grid is enumerated in one fixed order (the choices in :data:`CHOICES` order, each
choice's values in config order), so chunk ``i`` holds the same specifications wherever
it runs. Only the standard library is imported: the Snakefile enumerates the grid at
start-up to size the chunk wildcard and print the grid's size.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innopanel.config.specs import with_defaults

#: The choices of a specification, in grid order (the dashboard's rows follow it).
CHOICES = ("outcome", "focal", "controls", "fixed_effects", "lag", "covariance", "sample")
#: Fixed effects a specification may absorb: (entity effects, time effects).
FIXED_EFFECTS = {"none": (False, False), "unit": (True, False), "unit_and_year": (True, True)}
#: Covariances the fast engine computes for the focal coefficient under every null draw.
COVARIANCES = ("clustered", "driscoll_kraay", "two_way_clustered")
#: Transformations a focal definition may apply to its variable.
TRANSFORMS = ("level", "log")
#: How the estimate of a linear or count outcome is made.
ESTIMATORS = ("linear", "ppml")
NO_CONTROLS = "none"
CONTROL_SEPARATOR = "+"
ID_LENGTH = 12


class MultiverseError(ValueError):
    """The declared multiverse makes no sense; the message names the key and the fix."""


@dataclass(frozen=True)
class OutcomeChoice:
    """An outcome and how it is estimated: linear (OLS or within) or PPML on the count."""

    name: str
    outcome: str
    estimator: str


@dataclass(frozen=True)
class FocalChoice:
    """One definition of the focal regressor: a panel variable, in levels or logs."""

    name: str
    variable: str
    transform: str

    @property
    def term(self) -> str:
        """The column name of the definition (before any lag)."""
        return self.variable if self.transform == "level" else f"log_{self.variable}"


@dataclass(frozen=True)
class SampleChoice:
    """A sample rule: a sub-period, units dropped, balanced only (all optional)."""

    name: str
    first_year: int | None
    last_year: int | None
    drop_focal_and_peers: bool
    drop_top: int
    top_by: str | None
    balanced: bool


@dataclass(frozen=True)
class Specification:
    """One specification of the grid: its choices (value names) and its stable id."""

    id: str
    outcome: str
    focal: str
    controls: str
    fixed_effects: str
    lag: int
    covariance: str
    sample: str

    @property
    def choices(self) -> dict[str, Any]:
        return {choice: getattr(self, choice) for choice in CHOICES}


@dataclass(frozen=True)
class NullSpec:
    """The null distribution of the joint tests: draws, their chunking, weights, seed."""

    draws: int
    draws_per_chunk: int
    weights: str
    seed: int

    @property
    def chunks(self) -> int:
        return math.ceil(self.draws / self.draws_per_chunk)

    def chunk_draws(self, chunk: int) -> range:
        """The draw indices of null chunk ``chunk``: the same draws whatever the chunking."""
        return range(
            chunk * self.draws_per_chunk, min(self.draws, (chunk + 1) * self.draws_per_chunk)
        )


@dataclass(frozen=True)
class Multiverse:
    """A study's declared multiverse, complete and checked."""

    outcomes: Mapping[str, OutcomeChoice]
    focal: Mapping[str, FocalChoice]
    control_sets: Mapping[str, tuple[str, ...]]
    fixed_effects: tuple[str, ...]
    lags: tuple[int, ...]
    covariances: tuple[str, ...]
    samples: Mapping[str, SampleChoice]
    exclude: tuple[Mapping[str, tuple[Any, ...]], ...]
    focal_specification: Mapping[str, Any]
    chunk_size: int
    null: NullSpec

    def values(self, choice: str) -> tuple[Any, ...]:
        """The declared values of ``choice``, in config order."""
        return {
            "outcome": tuple(self.outcomes),
            "focal": tuple(self.focal),
            "controls": tuple(self.control_sets),
            "fixed_effects": self.fixed_effects,
            "lag": self.lags,
            "covariance": self.covariances,
            "sample": tuple(self.samples),
        }[choice]

    @property
    def declared_size(self) -> int:
        """Combinations before exclusions."""
        return math.prod(len(self.values(choice)) for choice in CHOICES)

    def excluded(self, choices: Mapping[str, Any]) -> bool:
        return any(
            all(choices[key] in values for key, values in rule.items()) for rule in self.exclude
        )

    @functools.cached_property
    def specifications(self) -> tuple[Specification, ...]:
        """Every specification of the grid, in grid order (enumerated once)."""
        return _grid(self)

    @property
    def chunks(self) -> int:
        return math.ceil(len(self.specifications) / self.chunk_size)

    def chunk(self, index: int) -> tuple[Specification, ...]:
        """The specifications of estimation chunk ``index``."""
        return self.specifications[index * self.chunk_size : (index + 1) * self.chunk_size]

    @property
    def focal_id(self) -> str:
        return specification_id(self.focal_specification)

    def describe(self) -> str:
        """The grid's size in one line, printed before anything runs."""
        specifications = self.specifications
        return (
            f"multiverse: {len(specifications)} specifications ({self.declared_size} declared, "
            f"{self.declared_size - len(specifications)} excluded) in {self.chunks} chunks of "
            f"{self.chunk_size}; {self.null.draws} null draws in {self.null.chunks} chunks"
        )


def specification_id(choices: Mapping[str, Any]) -> str:
    """A short stable id of a specification: SHA-256 of its choices as sorted-key JSON."""
    canonical = json.dumps({key: choices[key] for key in CHOICES}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:ID_LENGTH]


def control_set_name(controls: Sequence[str]) -> str:
    """The name of an unnamed set of controls: its members joined by '+', or 'none'."""
    return CONTROL_SEPARATOR.join(controls) if controls else NO_CONTROLS


def multiverse_path(root: str | Path, name: str) -> str:
    """Where a multiverse file ``name`` lives under ``root`` (results or working data).

    The one place the layout is written, so a study-per-folder layout changes one line.
    """
    return str(Path(root) / "multiverse" / name)


def _grid(multiverse: Multiverse) -> tuple[Specification, ...]:
    specifications = []
    for values in itertools.product(*(multiverse.values(choice) for choice in CHOICES)):
        choices = dict(zip(CHOICES, values, strict=True))
        if not multiverse.excluded(choices):
            specifications.append(Specification(id=specification_id(choices), **choices))
    return tuple(specifications)


def _control_sets(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    if "subsets_of" in raw:
        pool = raw["subsets_of"]
        subsets = (
            combination
            for size in range(len(pool) + 1)
            for combination in itertools.combinations(pool, size)
        )
        return {control_set_name(subset): tuple(subset) for subset in subsets}
    return {name: tuple(members) for name, members in raw["sets"].items()}


def multiverse_spec(config: Mapping[str, Any]) -> Multiverse:
    """Parse and check the ``multiverse`` section of a (validated) study config."""
    complete = with_defaults(config)
    raw, study = complete["multiverse"], complete["study"]
    null = raw["inference"]
    multiverse = Multiverse(
        outcomes={
            name: OutcomeChoice(name, entry["outcome"], entry["estimator"])
            for name, entry in raw["outcomes"].items()
        },
        focal={
            name: FocalChoice(name, entry["variable"], entry["transform"])
            for name, entry in raw["focal"].items()
        },
        control_sets=_control_sets(raw["controls"]),
        fixed_effects=tuple(raw["fixed_effects"]),
        lags=tuple(raw["lags"]),
        covariances=tuple(raw["covariances"]),
        samples={
            name: SampleChoice(
                name=name,
                first_year=entry.get("first_year", study["first_year"]),
                last_year=entry.get("last_year", study["last_year"]),
                drop_focal_and_peers=entry["drop_focal_and_peers"],
                drop_top=entry["drop_top"],
                top_by=entry.get("top_by"),
                balanced=entry["balanced"],
            )
            for name, entry in raw["samples"].items()
        },
        exclude=tuple(
            {key: tuple(values) for key, values in rule.items()} for rule in raw["exclude"]
        ),
        focal_specification=dict(raw["focal_specification"]),
        chunk_size=raw["chunk_size"],
        null=NullSpec(
            draws=null["draws"],
            draws_per_chunk=null["draws_per_chunk"],
            weights=null["weights"],
            seed=null.get("seed", study["seed"]),
        ),
    )
    problems = multiverse_problems(multiverse, set(complete["variables"]), study)
    if problems:
        raise MultiverseError(" ".join(problems))
    return multiverse


def multiverse_problems(
    multiverse: Multiverse, variables: set[str], study: Mapping[str, Any]
) -> list[str]:
    """What makes no sense in a parsed multiverse: unknown variables, empty windows,
    exclusion rules naming no declared value, a focal specification outside the grid."""
    problems = []
    where = "multiverse"
    named = [
        (f"{where}.outcomes.{o.name}.outcome", o.outcome) for o in multiverse.outcomes.values()
    ]
    named += [(f"{where}.focal.{f.name}.variable", f.variable) for f in multiverse.focal.values()]
    named += [
        (f"{where}.controls ({name})", control)
        for name, members in multiverse.control_sets.items()
        for control in members
    ]
    named += [
        (f"{where}.samples.{s.name}.top_by", s.top_by)
        for s in multiverse.samples.values()
        if s.top_by is not None
    ]
    problems += [
        f"{key} = '{variable}' is not a variable; add it under variables or use one listed there."
        for key, variable in named
        if variable not in variables
    ]
    for sample in multiverse.samples.values():
        key = f"{where}.samples.{sample.name}"
        if not (study["first_year"] <= sample.first_year <= sample.last_year <= study["last_year"]):
            problems.append(
                f"{key}: years {sample.first_year}-{sample.last_year} are not inside the study "
                f"window {study['first_year']}-{study['last_year']} in order; fix them."
            )
        if (sample.drop_top > 0) != (sample.top_by is not None):
            problems.append(f"{key}: drop_top and top_by go together; give both or neither.")
    for position, rule in enumerate(multiverse.exclude):
        for choice, values in rule.items():
            unknown = [v for v in values if v not in multiverse.values(choice)]
            if unknown:
                problems.append(
                    f"{where}.exclude[{position}].{choice}: {unknown} are not declared values "
                    f"of {choice} ({list(multiverse.values(choice))}); fix the rule."
                )
    focal = multiverse.focal_specification
    missing = [c for c in CHOICES if c not in focal]
    if missing:
        problems.append(f"{where}.focal_specification needs a value for {missing}.")
    elif not any(s.id == specification_id(focal) for s in multiverse.specifications):
        problems.append(
            f"{where}.focal_specification {dict(focal)} is not in the grid (a value is "
            "undeclared or an exclude rule removes it); pick a specification of the grid."
        )
    if not problems and not multiverse.specifications:
        problems.append(f"{where}: the exclude rules remove every specification; loosen them.")
    return problems
