"""The study's exhibits: which tables and figures exist, where their captions live, and
the checks of the ``exhibits`` part of the config (where they are written: ``paths``).

One list serves the workflow (final outputs, report entries), the paper (which
tables and figures it inputs, in which order) and the tests. Only the standard
library is imported, so the Snakefile can use this at start-up.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from innopanel.config.exhibit_specs import (
    coefficient_plot_spec,
    focal_vs_peers_spec,
    ranking_spec,
)
from innopanel.config.paths import StudyPaths

#: Tables in the order the paper shows them; each is written as .tex, .md, .csv, .html.
TABLES: tuple[str, ...] = (
    "descriptives",
    "correlations",
    "regressions",
    "robustness",
    "diagnostics",
)
#: The table of a study that declares exhibits.vintage_table, after robustness: the
#: headline estimate under each vintage policy (innopanel.data.vintages).
VINTAGE_TABLE = "vintages"
#: The table that needs the estimate step's diagnostics.csv.
DIAGNOSTICS_TABLE = "diagnostics"
TABLE_FORMATS: tuple[str, ...] = ("tex", "md", "csv", "html")
#: Figures in the order the paper shows them; each is written as .pdf and .png.
FIGURES: tuple[str, ...] = (
    "focal_vs_peers",
    "trends",
    "ranking",
    "within_relationship",
    "correlation_heatmap",
    "coefficients",
    "residuals",
)
FIGURE_FORMATS: tuple[str, ...] = ("pdf", "png")
#: The exhibits of a study that declares a multiverse, after the others.
MULTIVERSE_TABLES: tuple[str, ...] = ("joint_tests",)
MULTIVERSE_FIGURES: tuple[str, ...] = ("specification_curve", "multiverse_choices")
#: Captions (reStructuredText, rendered with Jinja for the report and the paper).
CAPTION_DIRECTORY = "workflow/report"
#: Linear estimators: the estimate step writes their residuals (results/<study>/
#: estimates/residuals.parquet), which the residual plot draws.
RESIDUAL_ESTIMATORS: tuple[str, ...] = ("pooled_ols", "fixed_effects", "random_effects")


def caption_path(name: str) -> str:
    """Return the caption file of an exhibit (or of ``paper``/``workflow``)."""
    return f"{CAPTION_DIRECTORY}/{name}.rst"


def table_names(with_multiverse: bool = False, with_vintages: bool = False) -> list[str]:
    """Return the tables the workflow builds, in paper order."""
    tables = list(TABLES)
    if with_vintages:
        tables.insert(tables.index("robustness") + 1, VINTAGE_TABLE)
    return [*tables, *(MULTIVERSE_TABLES if with_multiverse else ())]


def figure_names(with_multiverse: bool = False) -> list[str]:
    """Return the figures the workflow builds, in paper order."""
    return [*FIGURES, *(MULTIVERSE_FIGURES if with_multiverse else ())]


def exhibit_outputs(
    paths: StudyPaths, with_multiverse: bool = False, with_vintages: bool = False
) -> list[str]:
    """Return every table and figure file the workflow builds for a study."""
    tables = [
        paths.table(t, e)
        for t in table_names(with_multiverse, with_vintages)
        for e in TABLE_FORMATS
    ]
    figures = [paths.figure(f, e) for f in figure_names(with_multiverse) for e in FIGURE_FORMATS]
    return tables + figures


def _suggest(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def exhibit_problems(config: Mapping[str, Any]) -> list[str]:
    """Return one message per meaningless value under ``exhibits`` (empty if none):
    exhibit variables must be configured variables, exhibit models configured models.
    ``config`` has its schema defaults filled."""
    problems: list[str] = []
    exhibits, models, variables = config["exhibits"], config["models"], config["variables"]

    def check_models(key: str, names: Sequence[str]) -> None:
        for index, name in enumerate(names):
            if name not in models:
                problems.append(
                    f"{key}[{index}] = '{name}' is not a model." + _suggest(name, models)
                )

    def check_variables(key: str, names: Sequence[str]) -> None:
        for name in names:
            if name not in variables:
                problems.append(f"{key}: '{name}' is not a variable." + _suggest(name, variables))

    check_models("exhibits.regression_table.models", exhibits["regression_table"]["models"])
    check_models("exhibits.robustness_table.models", exhibits["robustness_table"]["models"])
    check_models("exhibits.coefficient_plot.models", coefficient_plot_spec(exhibits).models)
    stars = exhibits["regression_table"]["stars"]
    if sorted(stars, reverse=True) != list(stars):
        problems.append(
            "exhibits.regression_table.stars must be in decreasing order, e.g. [0.10, 0.05, 0.01]."
        )
    for index, group in enumerate(exhibits["descriptive_table"]["panels"]):
        check_variables(f"exhibits.descriptive_table.panels[{index}].variables", group["variables"])
    check_variables(
        "exhibits.correlation_table.variables", exhibits["correlation_table"]["variables"]
    )
    check_variables("exhibits.coefficient_plot.terms", exhibits["coefficient_plot"]["terms"])
    check_variables("exhibits.trends.variables", exhibits["trends"]["variables"])
    focal = focal_vs_peers_spec(exhibits)
    check_variables("exhibits.focal_vs_peers.variables", focal.variables)
    check_variables("exhibits.focal_vs_peers.relative_to_peers", focal.relative_to_peers)
    check_variables("exhibits.ranking.variable", [ranking_spec(exhibits).variable])
    problems.extend(_within_relationship_problems(config))
    if "vintage_table" in exhibits:
        problems.extend(_vintage_table_problems(config))
    residual_model = exhibits["residual_plot"]["model"]
    if residual_model not in models:
        problems.append(
            f"exhibits.residual_plot.model = '{residual_model}' is not a model."
            + _suggest(residual_model, models)
        )
    elif models[residual_model]["estimator"] not in RESIDUAL_ESTIMATORS:
        problems.append(
            f"exhibits.residual_plot.model = '{residual_model}' is a "
            f"{models[residual_model]['estimator']} model; residual plots need one of "
            f"{list(RESIDUAL_ESTIMATORS)}."
        )
    return problems


def _within_relationship_problems(config: Mapping[str, Any]) -> list[str]:
    """exhibits.within_relationship needs a fixed_effects model with the regressor as a
    term: its partial regression is what the figure draws."""
    key = "exhibits.within_relationship"
    section, models = config["exhibits"]["within_relationship"], config["models"]
    name, regressor = section["model"], section["regressor"]
    if name not in models:
        return [f"{key}.model = '{name}' is not a model." + _suggest(name, models)]
    model = models[name]
    problems = []
    if model["estimator"] != "fixed_effects":
        problems.append(
            f"{key}.model = '{name}' is a {model['estimator']} model; the within "
            "relationship is the partial regression of a fixed_effects model: name one."
        )
    terms = [*model["regressors"], *model.get("controls", [])]
    if regressor not in terms:
        problems.append(
            f"{key}.regressor = '{regressor}' is not a term of model '{name}' (its terms: "
            f"{terms}); name one of them." + _suggest(regressor, terms)
        )
    return problems


def _vintage_table_problems(config: Mapping[str, Any]) -> list[str]:
    """exhibits.vintage_table needs a model with its term, and a declared vintage policy."""
    section, models = config["exhibits"]["vintage_table"], config["models"]
    key = "exhibits.vintage_table"
    model = section["model"]
    if model not in models:
        return [f"{key}.model = '{model}' is not a model." + _suggest(model, models)]
    problems = []
    regressors = models[model]["regressors"]
    if section["term"] not in regressors:
        problems.append(
            f"{key}.term = '{section['term']}' is not a regressor of model '{model}' "
            f"({list(regressors)}); name one of them."
        )
    if config["data"]["vintages"]["policy"] is None:
        problems.append(
            f"{key} marks the study's vintage policy, but data.vintages.policy is not set; "
            "set it to latest, consistent or splice."
        )
    return problems
