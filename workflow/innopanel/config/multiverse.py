"""The declared multiverse of a study: its choices, exclusions and grid, as frozen specs.

The ``multiverse`` section of a study's config lists each choice a researcher could
defensibly make differently, with its values: the outcome and estimator, the focal
regressor's definition, the controls, the fixed effects, the lag, the covariance and
the sample. The grid is every combination of values minus those an ``exclude`` rule
names. Every specification gets an id hashed from its choices (sorted-key JSON,
SHA-256), so it is the same on every machine and under any ``PYTHONHASHSEED``.

The grid is enumerated in one fixed order (the choices in :data:`CHOICES` order, each
choice's values in config order), so chunk ``i`` holds the same specifications wherever
it runs. Only the standard library is imported: the Snakefile parses the grid at
start-up to size the chunk wildcard and print the grid's size.

Every choice value has a label the figures print: ``multiverse.labels`` gives it, or a
default is derived from the variable labels and the known identifiers
(:func:`choice_labels`).

The Snakefile never enumerates the grid: it is counted by arithmetic
(:func:`grid_size`) and held to the caps under ``multiverse``: ``max_specifications``,
``max_jobs`` (estimation chunks x (1 + null chunks)) and ``max_null_cells`` (linear
specifications x null draws, the joint tests' matrices). A grid too large is refused in
milliseconds, naming the count and the key to change, instead of filling the memory
while it is enumerated.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innopanel.config.caption_text import mid_sentence
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
#: The choices that move a specification's point estimate: the covariance changes only
#: its interval, so specifications that differ in it alone are one estimate.
DESIGN_CHOICES = tuple(choice for choice in CHOICES if choice != "covariance")
#: The choices that set the estimate's units (the outcome and its estimator, the focal
#: variable and its transformation): estimates are compared only within one of each.
PANEL_CHOICES = ("outcome", "focal")
#: Default labels of the identifiers the schema fixes; {unit} and {Unit} are the study's
#: unit noun.
FIXED_EFFECTS_LABELS = {
    "none": "No fixed effects",
    "unit": "{Unit} effects",
    "unit_and_year": "{Unit} and year effects",
}
COVARIANCE_LABELS = {
    "clustered": "Clustered by {unit}",
    "driscoll_kraay": "Driscoll–Kraay",
    "two_way_clustered": "Two-way clustered by {unit} and year",
}
ESTIMATOR_LABELS = {"linear": "linear", "ppml": "PPML"}
#: The choices ``multiverse.labels`` may label (lags are labelled by their years).
LABELLED_CHOICES = ("outcome", "focal", "controls", "fixed_effects", "covariance", "sample")
NO_CONTROLS = "none"
CONTROL_SEPARATOR = "+"
ID_LENGTH = 12
#: The most groups of partial specifications :func:`grid_size` keeps (one per set of
#: exclude rules still matching): a bound on counting's memory, whatever the rules.
MAX_RULE_GROUPS = 100_000


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
class MultiverseCaps:
    """How large a grid may be, and how many jobs and null cells it may plan."""

    max_specifications: int
    max_jobs: int
    max_null_cells: int


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
    caps: MultiverseCaps
    #: choice -> value -> label (controls: control variable -> label), complete.
    labels: Mapping[str, Mapping[Any, str]]

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

    def label(self, choice: str, value: Any) -> str:
        """What the figures print for ``value`` of ``choice`` (controls: a variable)."""
        return self.labels[choice][value]

    def excluded(self, choices: Mapping[str, Any]) -> bool:
        return any(self.excluded_by(rule, choices) for rule in self.exclude)

    @staticmethod
    def excluded_by(rule: Mapping[str, tuple[Any, ...]], choices: Mapping[str, Any]) -> bool:
        return all(choices[key] in values for key, values in rule.items())

    @functools.cached_property
    def specifications(self) -> tuple[Specification, ...]:
        """Every specification of the grid, in grid order (enumerated once)."""
        return _grid(self)

    @functools.cached_property
    def size(self) -> int:
        """Specifications after exclusions, counted without enumerating them."""
        return grid_size(self, {})

    @property
    def linear_size(self) -> int:
        """Specifications with a linear outcome: the ones the null step redraws."""
        linear = tuple(o.name for o in self.outcomes.values() if o.estimator == "linear")
        return grid_size(self, {"outcome": linear})

    @property
    def chunks(self) -> int:
        return math.ceil(self.size / self.chunk_size)

    @property
    def jobs(self) -> int:
        """Multiverse jobs planned: each estimation chunk, and it under each null chunk."""
        return self.chunks * (1 + self.null.chunks)

    def chunk(self, index: int) -> tuple[Specification, ...]:
        """The specifications of estimation chunk ``index``."""
        return self.specifications[index * self.chunk_size : (index + 1) * self.chunk_size]

    @property
    def focal_id(self) -> str:
        return specification_id(self.focal_specification)

    def describe(self) -> str:
        """The grid's size in one line, printed before anything runs."""
        return (
            f"multiverse: {self.size} specifications ({self.declared_size} declared, "
            f"{self.declared_size - self.size} excluded) in {self.chunks} chunks of "
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


def grid_size(multiverse: Multiverse, restrict: Mapping[str, tuple[Any, ...]]) -> int:
    """The number of specifications of the grid (with ``restrict``'s choices limited to
    its values), counted by arithmetic: nothing is enumerated.

    Going through the choices in grid order, partial specifications are grouped by the
    exclude rules still matching all their values so far; a specification is in the grid
    when no rule is left at the end. The groups number at most 2 ** len(exclude), in
    practice a handful whatever the grid's size; more than :data:`MAX_RULE_GROUPS` is
    refused.
    """
    rules = multiverse.exclude
    groups: Counter[frozenset[int]] = Counter({frozenset(range(len(rules))): 1})
    for choice in CHOICES:
        values = restrict.get(choice, multiverse.values(choice))
        keeping = Counter(
            frozenset(r for r, rule in enumerate(rules) if value in rule.get(choice, (value,)))
            for value in values
        )
        grown: Counter[frozenset[int]] = Counter()
        for matching, count in groups.items():
            for kept, values_count in keeping.items():
                grown[matching & kept] += count * values_count
            if len(grown) > MAX_RULE_GROUPS:
                raise MultiverseError(
                    f"multiverse.exclude: its {len(rules)} rules overlap in more than "
                    f"{MAX_RULE_GROUPS:,} ways, too many to count the grid; merge rules that "
                    "name the same choices (one rule may list several values per choice)."
                )
        groups = grown
    return groups[frozenset()]


def _shown(rule: Mapping[str, tuple[Any, ...]]) -> dict[str, list[Any]]:
    """An exclude rule as the config writes it (lists, not tuples)."""
    return {choice: list(values) for choice, values in rule.items()}


def _rule_matches(multiverse: Multiverse, rule: Mapping[str, tuple[Any, ...]]) -> int:
    """How many declared combinations one exclude rule matches."""
    return math.prod(
        len([v for v in multiverse.values(choice) if v in rule.get(choice, (v,))])
        for choice in CHOICES
    )


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
    """Parse and check the ``multiverse`` section of a (validated) study config.

    Only the sections it reads are completed (a running workflow's config also holds
    keys of its own, such as ``_run``); an unknown key in them is refused."""
    sections = ("study", "variables", "multiverse")
    complete = with_defaults({key: config[key] for key in sections if key in config})
    raw, study = complete["multiverse"], complete["study"]
    null = raw["inference"]
    parts = dict(
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
        caps=MultiverseCaps(
            max_specifications=raw["max_specifications"],
            max_jobs=raw["max_jobs"],
            max_null_cells=raw["max_null_cells"],
        ),
    )
    unlabelled = Multiverse(**parts, labels={})
    variables = complete["variables"]
    problems = multiverse_problems(unlabelled, set(variables), study)
    problems += label_problems(unlabelled, raw["labels"])
    if problems:
        raise MultiverseError(" ".join(problems))
    return Multiverse(**parts, labels=choice_labels(unlabelled, raw["labels"], variables, study))


def _control_variables(multiverse: Multiverse) -> tuple[str, ...]:
    """Every control variable of the declared sets, in declaration order."""
    return tuple(dict.fromkeys(c for members in multiverse.control_sets.values() for c in members))


def label_problems(multiverse: Multiverse, overrides: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Labels given under ``multiverse.labels`` for values the grid does not declare."""
    problems = []
    for choice, given in overrides.items():
        declared = (
            (*_control_variables(multiverse), NO_CONTROLS)
            if choice == "controls"
            else tuple(multiverse.values(choice))
        )
        for value in given:
            if value not in declared:
                problems.append(
                    f"multiverse.labels.{choice}.{value}: '{value}' is not a declared "
                    f"{'control variable' if choice == 'controls' else 'value of ' + choice} "
                    f"({list(declared)}); label a declared one or delete it."
                )
    return problems


def choice_labels(
    multiverse: Multiverse,
    overrides: Mapping[str, Mapping[str, str]],
    variables: Mapping[str, Mapping[str, Any]],
    study: Mapping[str, Any],
) -> dict[str, dict[Any, str]]:
    """Every value's label: ``multiverse.labels`` where given, else a default from the
    variable labels (``variables.<name>.label``) and the identifiers the schema fixes."""
    unit = str(study["unit"])
    nouns = {"unit": unit, "Unit": unit[:1].upper() + unit[1:]}

    def variable(name: str) -> str:
        # A validated config labels every variable; a bare one reads as its name.
        return str(variables.get(name, {}).get("label", name))

    defaults: dict[str, dict[Any, str]] = {
        "outcome": {
            o.name: f"{variable(o.outcome)} ({ESTIMATOR_LABELS[o.estimator]})"
            for o in multiverse.outcomes.values()
        },
        "focal": {
            f.name: variable(f.variable)
            if f.transform == "level"
            else f"Log of {mid_sentence(variable(f.variable))}"
            for f in multiverse.focal.values()
        },
        "controls": {
            **{c: variable(c) for c in _control_variables(multiverse)},
            NO_CONTROLS: "No controls",
        },
        "fixed_effects": {
            v: FIXED_EFFECTS_LABELS[v].format(**nouns) for v in multiverse.fixed_effects
        },
        "lag": {
            lag: "Not lagged" if lag == 0 else f"Lagged {lag} year{'s' if lag > 1 else ''}"
            for lag in multiverse.lags
        },
        "covariance": {v: COVARIANCE_LABELS[v].format(**nouns) for v in multiverse.covariances},
        "sample": {
            s.name: _sample_label(s, study, variable, unit) for s in multiverse.samples.values()
        },
    }
    return {choice: {**values, **overrides.get(choice, {})} for choice, values in defaults.items()}


def _sample_label(
    sample: SampleChoice,
    study: Mapping[str, Any],
    variable: Callable[[str], str],
    unit: str,
) -> str:
    """A sample's rule in words: "2011–2016", "Without the top 5 by patents", "Full sample"."""
    parts = []
    if (sample.first_year, sample.last_year) != (study["first_year"], study["last_year"]):
        parts.append(f"{sample.first_year}–{sample.last_year}")
    if sample.drop_focal_and_peers:
        parts.append(f"without focal {unit} and peers")
    if sample.drop_top:
        parts.append(f"without top {sample.drop_top} by {mid_sentence(variable(sample.top_by))}")
    if sample.balanced:
        parts.append("balanced panel")
    text = ", ".join(parts) or "full sample"
    return text[:1].upper() + text[1:]


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
    problems += size_problems(multiverse)
    if multiverse.size == 0:
        return problems  # no specification to pick: the empty grid is the one problem
    focal = multiverse.focal_specification
    missing = [c for c in CHOICES if c not in focal]
    undeclared = {
        c: focal[c] for c in CHOICES if c in focal and focal[c] not in multiverse.values(c)
    }
    if missing:
        problems.append(f"{where}.focal_specification needs a value for {missing}.")
    elif undeclared:
        problems.append(
            f"{where}.focal_specification: {undeclared} are not declared values of the grid; "
            "pick declared values."
        )
    elif multiverse.excluded(focal):
        rules = [
            i for i, rule in enumerate(multiverse.exclude) if multiverse.excluded_by(rule, focal)
        ]
        problems.append(
            f"{where}.focal_specification {dict(focal)} is removed by "
            f"{', '.join(f'{where}.exclude[{i}]' for i in rules)}; pick a specification the "
            "rules keep, or narrow the rule."
        )
    return problems


def size_problems(multiverse: Multiverse) -> list[str]:
    """An empty grid (naming what each exclude rule removes), or a grid, a job plan or
    a null matrix above its cap (naming the count and the key to change)."""
    where = "multiverse"
    caps = multiverse.caps
    size = multiverse.size
    if size == 0:
        removed = "; ".join(
            f"{where}.exclude[{i}] {_shown(rule)} removes {_rule_matches(multiverse, rule)}"
            for i, rule in enumerate(multiverse.exclude)
        )
        return [
            f"{where}: the grid is empty: the exclude rules remove all "
            f"{multiverse.declared_size} declared combinations ({removed}). Narrow or delete "
            "a rule, or declare more values."
        ]
    if size > caps.max_specifications:
        return [
            f"{where}: the grid has {size:,} specifications ({multiverse.declared_size:,} "
            f"declared), more than {where}.max_specifications = {caps.max_specifications:,}. "
            "Declare fewer values or add exclude rules, or raise max_specifications."
        ]
    problems = []
    if multiverse.jobs > caps.max_jobs:
        problems.append(
            f"{where}: {size:,} specifications in chunks of {where}.chunk_size = "
            f"{multiverse.chunk_size} and {multiverse.null.draws} null draws in chunks of "
            f"{where}.inference.draws_per_chunk = {multiverse.null.draws_per_chunk} plan "
            f"{multiverse.jobs:,} jobs ({multiverse.chunks} x (1 + {multiverse.null.chunks})), "
            f"more than {where}.max_jobs = {caps.max_jobs:,}. Raise chunk_size or "
            "inference.draws_per_chunk, or raise max_jobs."
        )
    cells = multiverse.linear_size * multiverse.null.draws
    if cells > caps.max_null_cells:
        problems.append(
            f"{where}: {multiverse.linear_size:,} linear specifications x "
            f"{multiverse.null.draws} null draws = {cells:,} cells, more than "
            f"{where}.max_null_cells = {caps.max_null_cells:,} (8 bytes each, two matrices). "
            "Lower inference.draws or the grid, or raise max_null_cells."
        )
    return problems
