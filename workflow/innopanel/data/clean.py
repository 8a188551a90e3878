"""Cleaning: raw yearbook extracts in, one validated unit-year (city-year) panel out.

Steps, each a function: read a source (any format via innopanel.data.readers; encoding,
title rows, multi-row and repeated header blocks, units in headers or in the config,
missing markers, thousands separators) -> harmonise unit names to one id -> drop exact
duplicates (reported), refuse conflicting ones -> apply the study window -> merge
sources on (unit, year) -> shape the panel (unbalanced or balanced) -> interpolate only
if config asks -> derive analysis variables -> validate -> flag outliers -> check the
panel can carry every model. Every problem in the input is an error naming the file,
row and column, and the fix; whatever is dropped or filled is in the data-quality report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.sources import display_location
from innopanel.data.derivations import derive_variables
from innopanel.data.extraction import read_source
from innopanel.data.panel_rules import (
    apply_window,
    drop_duplicates,
    interpolate_gaps,
    panel_schema,
    shape_panel,
    validate_panel,
)
from innopanel.data.quality import SourceReport, quality_report
from innopanel.data.readers import DataError, source_label
from innopanel.data.unit_names import harmonise_units, read_unit_table, unit_alias_map

PANEL_ID_COLUMNS = ["unit_id", "year"]
# Unit-table columns that are matching aids, not descriptions to carry into the panel.
UNIT_TABLE_MATCHING_COLUMNS = ("unit_id", "aliases")
# The schema's defaults for data.cleaning, applied here too.
CLEANING_DEFAULTS: dict[str, Any] = {
    "panel": "unbalanced",
    "out_of_window": "drop",
    "outliers": {"threshold": 3.5},
}


def cleaning_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data.cleaning`` with the defaults filled in."""
    return {**CLEANING_DEFAULTS, **(data.get("cleaning") or {})}


def check_model_sizes(
    panel: pd.DataFrame, models: Mapping[str, Mapping[str, Any]], unit: str = "city"
) -> None:
    """Refuse a panel too small to estimate a configured model, before estimation runs.

    Each model needs positive residual degrees of freedom after its coefficients and
    absorbed effects, at least two units, and (with unit effects) two years.
    """
    units_word = {"city": "cities", "country": "countries"}.get(unit, "units")
    for name, model in models.items():
        terms = list(model["regressors"]) + list(model.get("controls") or [])
        needed = [model["outcome"], *terms]
        if any(column not in panel.columns for column in needed):
            continue
        usable = panel.loc[panel[needed].notna().all(axis=1)]
        rows, groups, years = len(usable), usable["unit_id"].nunique(), usable["year"].nunique()
        coefficients = len(terms) + (model["estimator"] != "fixed_effects")
        absorbed = 0
        if model["estimator"] == "fixed_effects":
            absorbed = groups * bool(model.get("entity_effects")) + years * bool(
                model.get("time_effects")
            )
            absorbed -= bool(model.get("entity_effects")) and bool(model.get("time_effects"))
        residual = rows - coefficients - absorbed
        problem = ""
        if groups < 2:
            problem = f"it needs at least 2 {units_word}"
        elif model.get("entity_effects") and years < 2:
            problem = "unit effects need at least 2 years"
        elif residual < 1:
            problem = (
                f"{coefficients} coefficient(s) and {absorbed} absorbed effect(s) leave "
                f"{residual} residual degrees of freedom"
            )
        if problem:
            raise DataError(
                f"the cleaned panel is too small for model '{name}': {rows} usable row(s) "
                f"({groups} {units_word}, {years} year(s)) with every variable of the model "
                f"present; {problem}. Widen study.first_year..study.last_year, add "
                f"{units_word} or sources, use data.cleaning.panel: unbalanced, or drop "
                f"terms from models.{name}."
            )


def clean_panel(
    staged: Mapping[str, str | Path],
    config: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read every staged source, harmonise, merge, shape, derive and validate.

    ``staged`` maps source name to its staged file; ``config`` holds study, data, units,
    variables and, optionally, models (whose sizes are then checked). Returns the panel
    and the data-quality report (a JSON-ready dict).
    """
    study, data, variables = config["study"], config["data"], config["variables"]
    settings = cleaning_settings(data)
    first_year, last_year = int(study["first_year"]), int(study["last_year"])
    units = read_unit_table(data["unit_table"])
    aliases = unit_alias_map(units, data["unit_table"], data.get("aliases"))
    reports: list[SourceReport] = []
    frames: list[pd.DataFrame] = []

    for source, spec in data["sources"].items():
        shown = display_location(spec, staged[source])
        frame, report = read_source(
            staged[source],
            source,
            spec,
            variables,
            config["units"],
            data["missing_markers"],
            shown,
        )
        path = source_label(source, shown)
        frame = harmonise_units(
            frame, aliases, path, spec["unit_column"], data["unit_table"], study["unit"]
        )
        frame = drop_duplicates(frame, path, report)
        frame = apply_window(
            frame, path, spec, first_year, last_year, settings["out_of_window"], report
        )
        frames.append(frame.drop(columns=["source_sheet", "source_row"]))
        reports.append(report)

    grid = pd.MultiIndex.from_product(
        [units["unit_id"].tolist(), range(first_year, last_year + 1)], names=["unit_id", "year"]
    ).to_frame(index=False)
    grid["year"] = grid["year"].astype("int64")
    panel = grid
    for frame in frames:
        panel = panel.merge(frame, on=["unit_id", "year"], how="left", validate="one_to_one")
    source_variables = [v for v, s in variables.items() if s["kind"] == "source"]
    panel[source_variables] = panel[source_variables].astype("float64")

    interpolated: list[dict[str, Any]] = []
    if settings.get("interpolate"):
        interpolation = settings["interpolate"]
        panel, interpolated = interpolate_gaps(
            panel, interpolation["variables"], int(interpolation.get("max_gap", 1))
        )
    panel, shape = shape_panel(panel, source_variables, settings, first_year, last_year)

    panel = derive_variables(panel, variables)
    descriptive = [c for c in units.columns if c not in UNIT_TABLE_MATCHING_COLUMNS]
    value_columns = [c for c in panel.columns if c not in PANEL_ID_COLUMNS]
    panel = panel.merge(units[["unit_id", *descriptive]], on="unit_id", how="left")
    panel = panel[PANEL_ID_COLUMNS + descriptive + value_columns].sort_values(["unit_id", "year"])
    panel = panel.reset_index(drop=True)
    panel = validate_panel(
        panel, panel_schema(variables, units["unit_id"].tolist(), first_year, last_year)
    )
    if config.get("models"):
        check_model_sizes(panel, config["models"], study["unit"])

    outlier_settings = settings.get("outliers") or {}
    quality = quality_report(
        panel,
        reports,
        shape,
        interpolated,
        synthetic=bool(data["synthetic"]),
        data_note=data["data_note"],
        unit=study["unit"],
        years=(first_year, last_year),
        source_variables=source_variables,
        value_columns=value_columns,
        max_gap=int(settings["interpolate"].get("max_gap", 1))
        if settings.get("interpolate")
        else None,
        threshold=float(outlier_settings.get("threshold", 3.5)),
        screened=list(outlier_settings.get("variables") or source_variables),
    )
    return panel, quality
