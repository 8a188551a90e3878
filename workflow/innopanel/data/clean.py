"""Cleaning: raw yearbook extracts in, one validated unit-year (city-year) panel out.

Steps, each a function: read a source (any format via innopanel.data.readers; encoding,
title rows, multi-row and repeated header blocks, units in headers or in the config,
missing markers, thousands separators; a yearbook table via innopanel.data.yearbook)
-> harmonise unit names to one id (drop totals and named units, map codes, merge
sub-units) -> drop exact duplicates (reported), refuse
conflicting ones -> apply the study window -> combine yearbook editions (the latest
wins; revisions reported; a level break between statistical bases follows the
vintage policy) -> merge sources on (unit, year) -> interpolate only if
config asks -> shape the panel (unbalanced or balanced) -> derive analysis variables
-> validate -> flag outliers. Every problem in the input is an error naming the file,
row and column, and the fix; whatever is dropped or filled is in the data-quality
report. Whether the panel can
carry each model is the estimate step's check, so that editing a model does not rerun
cleaning.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.concordance import concordance_problems
from innopanel.config.data_specs import cleaning_spec
from innopanel.config.sources import display_location
from innopanel.data.derivations import derive_panel
from innopanel.data.editions import EditionFrame, combine_editions
from innopanel.data.extraction import read_source
from innopanel.data.harmonise import harmonise_units
from innopanel.data.magnitudes import check_scale_breaks
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
from innopanel.data.staging import privacy_entry, verify_staged
from innopanel.data.unit_names import read_unit_table, unit_alias_map
from innopanel.data.yearbook import read_yearbook_table

PANEL_ID_COLUMNS = ["unit_id", "year"]
# Unit-table columns that are matching aids, not descriptions to carry into the panel.
UNIT_TABLE_MATCHING_COLUMNS = ("unit_id", "aliases")


def clean_panel(
    staged: Mapping[str, str | Path],
    config: Mapping[str, Any],
    vintage_policy: str | None = None,
    *,
    verify_staged_files: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read every staged source, harmonise, merge, shape, derive and validate.

    ``staged`` maps source name to its staged file; ``config`` holds study, data, units
    and variables (other sections are not read). ``vintage_policy`` (None: the study's
    ``data.vintages.policy``) cleans the panel under another vintage policy, for the
    robustness exhibit. With ``verify_staged_files`` (the workflow's clean steps), each
    staged file must still have the SHA256 the fetch step recorded beside it
    (innopanel.data.staging). Returns the panel and the data-quality report (a
    JSON-ready dict), which says so when an input is private.
    """
    spec = cleaning_spec(config)
    if verify_staged_files:
        for source in spec.sources.values():
            verify_staged(source, staged[source.name])
    # The workflow checks the concordance at start-up; a caller of this function from
    # Python gets the same refusal, never two entries silently replacing each other.
    problems = concordance_problems(config["data"])
    if problems:
        raise DataError(" ".join(problems))
    rules = spec.rules
    first_year, last_year = spec.first_year, spec.last_year
    units = read_unit_table(spec.unit_table)
    aliases = unit_alias_map(units, spec.unit_table, spec.aliases)
    reports: list[SourceReport] = []
    frames: list[pd.DataFrame] = []
    editions: list[EditionFrame] = []
    # Per source, the unit-years it gave a value for (the coverage table).
    provided: dict[str, pd.DataFrame] = {}
    # Per source, its rows in canonical units (held against each other for scale breaks).
    readings: dict[str, pd.DataFrame] = {}

    for source in spec.sources.values():
        shown = display_location(source, staged[source.name])
        read = (
            read_source
            if source.table is None
            else functools.partial(read_yearbook_table, harmonise=spec.harmonise)
        )
        frame, report = read(
            staged[source.name],
            source,
            spec.variables,
            spec.units,
            spec.missing_markers,
            shown,
            limits=spec.limits,
        )
        path = source_label(source.name, shown)
        frame = harmonise_units(
            frame,
            aliases,
            spec.harmonise,
            report,
            path=path,
            unit_column=source.unit_column,
            unit_table=spec.unit_table,
            unit=spec.unit,
            study_aliases=spec.aliases,
        )
        frame = drop_duplicates(frame, path, report)
        frame = apply_window(
            frame, path, source, first_year, last_year, rules.out_of_window, report
        )
        frame = frame.drop(columns=["source_sheet", "source_row"])
        values = [column.variable for column in source.columns]
        provided[source.name] = frame.loc[frame[values].notna().any(axis=1), ["unit_id", "year"]]
        readings[source.name] = frame
        if source.table is None:
            frames.append(frame)
        else:
            editions.append(EditionFrame(source.name, source.table.edition, frame))
        reports.append(report)
    # Before editions combine: the latest edition would hide an earlier one's slip.
    scale_breaks = check_scale_breaks(readings, spec.source_variables, spec.accepted_scale_breaks)
    revisions: list[dict[str, Any]] | None = None
    vintages: dict[str, Any] | None = None
    if editions:
        edition_variables = [
            v for v in spec.source_variables if any(v in part.frame for part in editions)
        ]
        vintage_rules = (
            spec.vintages
            if vintage_policy is None
            else replace(spec.vintages, policy=vintage_policy)
        )
        combined, revisions, vintages = combine_editions(editions, edition_variables, vintage_rules)
        frames.append(combined)

    grid = pd.MultiIndex.from_product(
        [units["unit_id"].tolist(), range(first_year, last_year + 1)], names=["unit_id", "year"]
    ).to_frame(index=False)
    grid["year"] = grid["year"].astype("int64")
    panel = grid
    for frame in frames:
        panel = panel.merge(frame, on=["unit_id", "year"], how="left", validate="one_to_one")
    source_variables = spec.source_variables
    panel[source_variables] = panel[source_variables].astype("float64")

    interpolated: list[dict[str, Any]] = []
    if rules.interpolate is not None:
        panel, interpolated = interpolate_gaps(
            panel, rules.interpolate.variables, rules.interpolate.max_gap
        )
    panel, shape = shape_panel(panel, source_variables, rules, first_year, last_year)

    panel, derivation_drops = derive_panel(panel, config["variables"], spec.units)
    descriptive = [c for c in units.columns if c not in UNIT_TABLE_MATCHING_COLUMNS]
    value_columns = [c for c in panel.columns if c not in PANEL_ID_COLUMNS]
    panel = panel.merge(units[["unit_id", *descriptive]], on="unit_id", how="left")
    panel = panel[PANEL_ID_COLUMNS + descriptive + value_columns].sort_values(["unit_id", "year"])
    panel = panel.reset_index(drop=True)
    panel = validate_panel(
        panel, panel_schema(spec.variables, units["unit_id"].tolist(), first_year, last_year)
    )

    quality = quality_report(
        panel,
        reports,
        shape,
        interpolated,
        synthetic=spec.synthetic,
        data_note=spec.data_note,
        unit=spec.unit,
        years=(first_year, last_year),
        source_variables=source_variables,
        value_columns=value_columns,
        max_gap=rules.interpolate.max_gap if rules.interpolate is not None else None,
        threshold=rules.outliers.threshold,
        screened=list(rules.outliers.variables or source_variables),
        revisions=revisions,
        vintages=vintages,
        derivation_drops=[drop.as_dict() for drop in derivation_drops],
        provided=provided,
    )
    quality["scale_breaks"] = scale_breaks
    privacy = privacy_entry(staged, spec.unit_table)
    if privacy is not None:
        quality["privacy"] = privacy
    return panel, quality
