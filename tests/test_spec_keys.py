"""The Python API refuses a misspelled key in any spec, naming the nearest valid key
(issue 18, item 7): the schema does so at start-up, and every spec parser builds on
innopanel.config.specs.with_defaults, which does it for the API."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from innopanel.config import exhibit_specs
from innopanel.config.data_specs import cleaning_rules, fetch_settings, variable_specs
from innopanel.config.diagnostics import diagnostics_spec
from innopanel.config.keys import UnknownKeyError, check_keys, unknown_key_message
from innopanel.config.multiverse import multiverse_spec
from innopanel.config.specs import model_spec, source_spec, with_defaults

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted((ROOT / "config" / "studies").glob("*.yaml"))
FE = {
    "label": "FE",
    "estimator": "fixed_effects",
    "entity_effects": True,
    "outcome": "y",
    "regressors": ["x"],
    "covariance": "driscoll_kraay",
}


def demo() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "studies" / "demo_cities.yaml").read_text("utf-8"))


def with_key(config: dict[str, Any], path: tuple[str, ...], key: str) -> dict[str, Any]:
    """A copy of ``config`` with ``key: 1`` added to the mapping at ``path``."""
    edited = copy.deepcopy(config)
    node = edited
    for part in path:
        node = node.setdefault(part, {})
    node[key] = 1
    return edited


def first_source(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return next(iter(config["data"]["sources"].items()))


# (what is parsed, the misspelled key's place, the key, the nearest valid key)
CASES: list[tuple[str, Callable[[], object], str, str, str]] = [
    ("model", lambda: model_spec("x", FE | {"bandwith": 4}), "models.x", "bandwith", "bandwidth"),
    (
        "model small sample",
        lambda: model_spec("x", FE | {"small_sampel": False}),
        "models.x",
        "small_sampel",
        "small_sample",
    ),
    (
        "source",
        lambda: source_spec("s", first_source(demo())[1] | {"encodng": "utf-8"}),
        "data.sources.s",
        "encodng",
        "encoding",
    ),
    (
        "source column given as {column, unit}",
        lambda: source_spec(
            "s",
            first_source(demo())[1] | {"columns": {"gdp": {"colum": "GDP", "unit": "CNY"}}},
        ),
        "data.sources.s.columns.gdp",
        "colum",
        "column",
    ),
    (
        "cleaning",
        lambda: cleaning_rules(with_key(demo(), ("data", "cleaning"), "pannel")["data"]),
        "data.cleaning",
        "pannel",
        "panel",
    ),
    (
        "fetch",
        lambda: fetch_settings(with_key(demo(), ("data", "fetch"), "retrys")["data"]),
        "data.fetch",
        "retrys",
        "retries",
    ),
    (
        "variable",
        lambda: variable_specs(with_key(demo(), ("variables", "gdp"), "lable")["variables"]),
        "variables.gdp",
        "lable",
        "label",
    ),
    (
        "diagnostics",
        lambda: diagnostics_spec(
            with_key(demo(), ("diagnostics", "hausman"), "varience")["diagnostics"]
        ),
        "diagnostics.hausman",
        "varience",
        "variance",
    ),
    (
        "ranking exhibit",
        lambda: exhibit_specs.ranking_spec(
            with_key(demo(), ("exhibits", "ranking"), "yaer")["exhibits"]
        ),
        "exhibits.ranking",
        "yaer",
        "year",
    ),
    (
        "coefficient plot exhibit",
        lambda: exhibit_specs.coefficient_plot_spec(
            with_key(demo(), ("exhibits", "coefficient_plot"), "model")["exhibits"]
        ),
        "exhibits.coefficient_plot",
        "model",
        "models",
    ),
    (
        "multiverse",
        lambda: multiverse_spec(with_key(demo(), ("multiverse",), "sample")),
        "multiverse",
        "sample",
        "samples",
    ),
]


@pytest.mark.parametrize(
    ("what", "parse", "where", "key", "nearest"), CASES, ids=[c[0] for c in CASES]
)
def test_a_misspelled_key_in_any_spec_is_refused_with_the_nearest_valid_key(
    what: str, parse: Callable[[], object], where: str, key: str, nearest: str
) -> None:
    with pytest.raises(UnknownKeyError) as error:
        parse()
    assert f"{where}: unknown key '{key}'; did you mean '{nearest}'?" in str(error.value)


def test_a_key_near_no_valid_key_lists_the_allowed_ones() -> None:
    with pytest.raises(UnknownKeyError) as error:
        model_spec("x", FE | {"zzz": 1})
    message = str(error.value)
    assert "models.x: unknown key 'zzz'. Allowed here: [" in message and "'bandwidth'" in message


def test_every_unknown_key_of_a_mapping_is_named_at_once() -> None:
    with pytest.raises(UnknownKeyError) as error:
        check_keys("models.x", {"bandwith": 1, "kernal": "bartlett", "label": "x"}, FE)
    message = str(error.value)
    assert "unknown key 'bandwith'" in message and "unknown key 'kernal'" in message
    assert "unknown key 'label'" not in message


def test_the_message_names_the_top_level_when_there_is_no_place() -> None:
    assert unknown_key_message("", "modles", ["models"]).startswith(
        "(top level): unknown key 'modles'; did you mean 'models'?"
    )


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_bundled_study_has_no_unknown_key(path: Path) -> None:
    # No false alarm: each study completes, and each of its models and sources parses.
    config = with_defaults(yaml.safe_load(path.read_text("utf-8")))
    for name, raw in config["models"].items():
        model_spec(name, raw, config["study"])
    for name, raw in config["data"]["sources"].items():
        source_spec(name, raw)
    exhibit_specs.ranking_spec(config["exhibits"])
    if "multiverse" in config:
        multiverse_spec({**config, "_run": {"study": path.stem}})
