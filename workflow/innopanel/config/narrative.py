"""The study's text (``study.narrative``) and the placeholders its numbers are written as.

The narrative opens the paper and the report: the question, the data, the reading of the
headline and what it cannot show. Its numbers are never typed: a paragraph names them as
``{headline.coefficient}``, ``{panel.units}`` or ``{estimate.<model>.<term>.p}``, and the
exhibits wing fills them from the run's outputs (innopanel.exhibits.narrative); a
synthetic study may also quote its truth, ``{truth.<variable>}``. Which
names exist follows from the config alone, so an unknown one is refused at start-up,
naming the paragraph and the name. Only the standard library is imported.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

#: The paragraphs of a narrative, in the order the paper and the report print them, with
#: the heading each is printed under.
PARAGRAPHS: tuple[tuple[str, str], ...] = (
    ("question", "The question"),
    ("data", "The data"),
    ("reading", "The headline and its reading"),
    ("limits", "What it cannot show"),
)
#: What each estimate placeholder prints (from estimates/estimates.csv): the coefficient,
#: its standard error, p-value (``p`` prints "p = 0.251" or "p < 0.001"), 95 % interval,
#: sample size, units, sample years, and the model's and term's labels.
ESTIMATE_FIELDS: tuple[str, ...] = (
    "coefficient",
    "std_error",
    "p_value",
    "p",
    "ci_low",
    "ci_high",
    "n_obs",
    "n_units",
    "years",
    "model",
    "term",
)
#: What the panel placeholders print (from data_quality/report.json).
PANEL_FIELDS: tuple[str, ...] = ("units", "unit_years", "years", "first_year", "last_year")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def narrative_of(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The study's narrative, or None when it declares none."""
    return config["study"].get("narrative")


def placeholder_names(config: Mapping[str, Any]) -> list[str]:
    """Every placeholder the study's narrative may use, given its config."""
    narrative = narrative_of(config)
    if narrative is None:
        return []
    names = [f"headline.{field}" for field in ESTIMATE_FIELDS]
    names += [f"panel.{field}" for field in PANEL_FIELDS]
    for model, spec in config["models"].items():
        for term in spec.get("regressors", []):
            names += [f"estimate.{model}.{term}.{field}" for field in ESTIMATE_FIELDS]
    names += [f"truth.{variable}" for variable in true_coefficients(config)]
    return names


def true_coefficients(config: Mapping[str, Any]) -> Mapping[str, float]:
    """A synthetic study's true coefficients (``demo.true_coefficients``, which the demo
    generator draws its panel with), else none: real data has no truth to show."""
    if not config["data"]["synthetic"]:
        return {}
    return dict((config.get("demo") or {}).get("true_coefficients") or {})


def placeholders_in(text: str) -> list[str]:
    """The placeholder names a paragraph uses, in order."""
    return PLACEHOLDER.findall(text)


def narrative_problems(config: Mapping[str, Any]) -> list[str]:
    """One message per meaningless value under ``study.narrative`` (empty if none): the
    headline must be a term of a configured model, and every placeholder known."""
    narrative = narrative_of(config)
    if narrative is None:
        return []
    problems = []
    key = "study.narrative"
    model, term = narrative["headline"]["model"], narrative["headline"]["term"]
    models = config["models"]
    if model not in models:
        close = difflib.get_close_matches(model, list(models), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        problems.append(f"{key}.headline.model = '{model}' is not a model.{hint}")
    elif term not in models[model].get("regressors", []):
        problems.append(
            f"{key}.headline.term = '{term}' is not a regressor of model '{model}' "
            f"({list(models[model].get('regressors', []))}); name one of them."
        )
    known = set(placeholder_names(config))
    for paragraph, _ in PARAGRAPHS:
        text = narrative[paragraph]
        stray = PLACEHOLDER.sub("", text)
        if "{" in stray or "}" in stray:
            problems.append(
                f"{key}.{paragraph} has a brace that opens or closes no placeholder; "
                "write placeholders as {headline.coefficient} and no other braces."
            )
        for name in placeholders_in(text):
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" Did you mean '{{{close[0]}}}'?" if close else ""
                problems.append(
                    f"{key}.{paragraph}: unknown placeholder '{{{name}}}'.{hint} Numbers "
                    "are written as {headline.<field>}, {estimate.<model>.<term>.<field>} "
                    f"(fields: {', '.join(ESTIMATE_FIELDS)}), {{panel.<field>}} (fields: "
                    f"{', '.join(PANEL_FIELDS)})"
                    + (" or {truth.<variable>}" if true_coefficients(config) else "")
                    + "."
                )
    return problems
