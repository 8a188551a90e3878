"""Choosing the study a run builds, and loading its config whole.

One run builds one study: ``snakemake --cores all --config study=<name>`` reads
``config/studies/<name>.yaml``; without ``--config`` the default study is built. The
Snakefile loads no config file of its own; it calls :func:`load_study`, which validates
the chosen file (schema, defaults, meaning) and returns it to REPLACE Snakemake's config
wholesale, so no key from anywhere else is silently merged in. Every other way of
changing the config from the command line is refused with the command to use instead:
a study is changed by editing (or copying) its file, which its outputs then name.

The run's identity is added to the config under the derived key ``_run`` (see
:meth:`StudyRun.as_config`), because report captions can only read the config; so are
the unit's two nouns and every config word a caption prints, escaped
(:mod:`innopanel.config.caption_text`).

The file is read by a safe YAML loader that refuses a key written twice in one mapping
(PyYAML would silently keep the last value), naming the file, the line and the key. It
also refuses a file whose anchors and aliases (``&a`` ... ``*a``) expand to more than
:data:`MAX_EXPANDED_NODES` values: the expanded size is counted on the composed node
graph, where each anchored node is held once, before anything is built, so nine levels of
aliases (a few hundred bytes, a billion values once expanded) are refused at once
instead of exhausting the memory in the schema check that walks the expanded tree.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innopanel.config.caption_text import caption_text
from innopanel.config.checks import ConfigError, check_config
from innopanel.config.paths import DEFAULT_STUDY, StudyNameError, StudyPaths, study_paths
from innopanel.config.schema import check_schema
from innopanel.config.specs import safe_loader, with_defaults
from innopanel.io import sha256_json
from innopanel.vocabulary import UnitNoun, unit_noun

#: The one key a run takes from the command line (``--config study=<name>``).
STUDY_KEY = "study"
#: The derived config key holding :meth:`StudyRun.as_config` (never written by hand).
RUN_KEY = "_run"
SCHEMA = "config/schemas/config.schema.yaml"
BUILD_COMMAND = "snakemake --cores all --config study=<name>"
MERGE_TAG = "tag:yaml.org,2002:merge"
#: The most values (scalars, lists, mappings) a study config may hold once every alias
#: is expanded; the bundled studies hold a few thousand.
MAX_EXPANDED_NODES = 200_000


@dataclass(frozen=True)
class StudyRun:
    """The study a run builds: its name, its config file and the resolved config's
    SHA256 (:func:`config_sha256`), the one config hash the paper and provenance give."""

    study: str
    config_file: str
    config_sha256: str

    @property
    def paths(self) -> StudyPaths:
        return StudyPaths(self.study)

    def as_config(self) -> dict[str, str]:
        """The run's identity in the ``_run`` entry: what captions and provenance may name."""
        return {
            "study": self.study,
            "config_file": self.config_file,
            "results": self.paths.results,
        }


def config_sha256(config: Mapping[str, Any]) -> str:
    """SHA256 of the resolved config (the study file with every default filled in) as
    canonical JSON, without the ``_run`` entry derived from it: what decides a run's
    outputs. provenance.json records the config under ``config.content``, so anyone can
    recompute it there. Not the file's SHA256: a comment edited in it changes no output."""
    return sha256_json({key: value for key, value in config.items() if key != RUN_KEY})


def study_unit(config: Mapping[str, Any]) -> UnitNoun:
    """The study's unit noun, singular and plural (``study.unit``, ``study.unit_plural``)."""
    return unit_noun(config["study"]["unit"], config["study"]["unit_plural"])


def run_entry(run: StudyRun, config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``_run`` entry: the run's identity, the unit's nouns (``unit``, ``units``)
    and, under ``text``, the config's words escaped for the report's captions."""
    unit = study_unit(config)
    return {
        **run.as_config(),
        "unit": unit.singular,
        "units": unit.plural,
        "text": caption_text(config, unit),
    }


def run_of(config: Mapping[str, Any]) -> StudyRun:
    """Return the run recorded in a config under ``_run`` by :func:`load_study`."""
    if RUN_KEY not in config:
        raise ConfigError(
            f"the config has no '{RUN_KEY}' entry: it was not loaded by "
            "innopanel.config.study.load_study, which records the study it builds."
        )
    entry = config[RUN_KEY]
    return StudyRun(entry["study"], entry["config_file"], config_sha256(config))


def chosen_study(command_line: Mapping[str, Any], configfiles: Sequence[str]) -> str:
    """Return the study named on the command line (or the default), refusing any other
    command-line config: ``--configfile`` and ``--config`` keys other than ``study``."""
    if configfiles:
        raise ConfigError(
            f"--configfile {' '.join(map(str, configfiles))}: a study is not chosen by "
            f"config file. Each study is one config under config/studies/; build one with "
            f"`{BUILD_COMMAND}` (config/studies/<name>.yaml; copy one to start your own)."
        )
    others = sorted(key for key in command_line if key != STUDY_KEY)
    if others:
        raise ConfigError(
            f"--config {', '.join(others)}: only `study` may be set on the command line "
            f"(`{BUILD_COMMAND}`). Change anything else in the study's config file, so "
            "that its outputs name the settings they were made with."
        )
    if STUDY_KEY not in command_line:
        return DEFAULT_STUDY
    study = command_line[STUDY_KEY]
    if not isinstance(study, str):
        raise ConfigError(
            f"--config study={study!r}: name a study, e.g. `--config study={DEFAULT_STUDY}` "
            "(the name of a file config/studies/<name>.yaml)."
        )
    return study


def read_yaml(path: Path, shown: str) -> Any:
    """Parse a YAML file safely, refusing a key written twice in one mapping.

    ``shown`` is the path the error names (relative to the project, as the user wrote it).
    """
    import yaml

    class UniqueKeyLoader(safe_loader()):  # type: ignore[misc]
        """The safe loader, but a repeated key is an error instead of the last one winning."""

    def unique_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue  # `<<: *anchor` keys may be overridden: that is what merging is for
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{shown}, line {line}: the key '{key}' is written twice in one mapping "
                    f"(first on line {seen[key]}); YAML would keep only the last value. "
                    "Delete or merge one of them."
                )
            seen[key] = line
        return loader.construct_mapping(node, deep=True)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, unique_mapping)
    loader = UniqueKeyLoader(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            amount = "without end (an alias inside its own anchor)"
            if size < sys.maxsize:
                amount = f"to {size:,} values"
            raise ConfigError(
                f"{shown}: its anchors and aliases (&name ... *name) expand {amount}, "
                f"more than the {MAX_EXPANDED_NODES:,} a study config may hold "
                "(innopanel.config.study.MAX_EXPANDED_NODES). Write the repeated parts out, "
                "or reuse an anchor without nesting aliases inside aliases."
            )
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigError(f"{shown}: not valid YAML: {error}") from error
    finally:
        loader.dispose()


def expanded_size(root: Any) -> int:
    """The number of values a composed YAML node graph holds with every alias expanded.

    An alias is the very node object it names, so the sizes are memoised per node and
    the count takes time proportional to the file, however large the expansion. A node
    that contains itself expands without end: its size is reported as unbounded.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        value = node.value if isinstance(node.value, list) else []
        children = [
            part for item in value for part in (item if isinstance(item, tuple) else (item,))
        ]
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if id(node) in open_nodes:
            return sys.maxsize  # the node is inside itself: an endless expansion
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def load_study(
    command_line: Mapping[str, Any], configfiles: Sequence[str], root: str | Path = "."
) -> tuple[StudyRun, dict[str, Any]]:
    """Return the chosen study and its complete, checked config (defaults filled,
    ``_run`` added), read from ``config/studies/<study>.yaml`` under ``root``."""
    study = chosen_study(command_line, configfiles)
    try:
        paths = study_paths(study, root)
    except StudyNameError as error:
        raise ConfigError(str(error)) from error
    path = Path(root) / paths.config
    raw = read_yaml(path, paths.config)
    if not isinstance(raw, dict):
        raise ConfigError(f"{paths.config}: expected a mapping of config sections, got {raw!r}.")
    check_schema(raw, Path(root) / SCHEMA, paths.config)
    config = with_defaults(raw)
    check_config(config, paths.config)
    run = StudyRun(study, paths.config, config_sha256(config))
    config[RUN_KEY] = run_entry(run, config)
    return run, config
