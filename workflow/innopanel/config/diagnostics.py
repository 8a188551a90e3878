"""The diagnostics section of a study config as a frozen spec, its defaults applied.

Only the standard library (and :mod:`innopanel.config.specs`, which fills the schema's
defaults) is used, so the Snakefile and the start-up checks can parse it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from innopanel.config.specs import with_defaults

# The per-model tests, in the order diagnostics.csv lists them.
MODEL_TESTS = (
    "effects_f_test",
    "breusch_pagan",
    "serial_correlation",
    "cross_sectional_dependence",
    "vif",
)


@dataclass(frozen=True)
class HausmanSpec:
    """The Hausman test: which FE and RE models, and how their variances are set."""

    fixed_effects: str
    random_effects: str
    # "sigmamore": both at the RE estimate of the idiosyncratic variance; "own": each its own.
    variance: str


@dataclass(frozen=True)
class DiagnosticsSpec:
    """Every configured specification test: the Hausman pair and, per test, its models."""

    hausman: HausmanSpec
    # test name (one of MODEL_TESTS) -> the models it runs on, in config order.
    model_tests: tuple[tuple[str, tuple[str, ...]], ...]


def diagnostics_spec(raw: Mapping[str, Any]) -> DiagnosticsSpec:
    """Build the :class:`DiagnosticsSpec` of a config's ``diagnostics`` section."""
    spec = with_defaults({"diagnostics": raw})["diagnostics"]
    hausman = spec["hausman"]
    return DiagnosticsSpec(
        hausman=HausmanSpec(
            fixed_effects=hausman["fixed_effects"],
            random_effects=hausman["random_effects"],
            variance=hausman["variance"],
        ),
        model_tests=tuple((test, tuple(spec[test])) for test in MODEL_TESTS),
    )
