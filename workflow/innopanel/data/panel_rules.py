"""Panel rules: which unit-years the panel keeps, and the contract it must meet.

Per source: exact duplicate unit-years are dropped (and reported), conflicting ones
refused; years outside the study window are dropped (and reported) or refused. On the
merged panel: interior gaps are interpolated only if the config asks, the panel is
shaped unbalanced or balanced, and the result is validated against its schema
(unique unit-years, known ids, types, ranges), every failing check reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from innopanel.config.data_specs import CleaningRules, VariableSpec
from innopanel.config.specs import SourceSpec
from innopanel.data.quality import SourceReport
from innopanel.data.readers import DataError, place
from innopanel.vocabulary import LAG_SUFFIX


def drop_duplicates(frame: pd.DataFrame, path: str | Path, report: SourceReport) -> pd.DataFrame:
    """Drop exact duplicate unit-years (reported); refuse conflicting ones."""
    values = [c for c in frame.columns if c not in ("source_sheet", "source_row")]
    exact = frame.duplicated(subset=values, keep="first")
    for row in frame.loc[exact].itertuples(index=False):
        report.dropped.append(_drop_entry(row, "exact duplicate of an earlier row"))
    kept = frame.loc[~exact]
    clash = kept.duplicated(subset=["unit_id", "year"], keep=False)
    if clash.any():
        rows = kept.loc[clash].sort_values(["unit_id", "year", "source_sheet", "source_row"])
        first, second = rows.iloc[0], rows.iloc[1]
        differing = [
            c
            for c in values
            if c not in ("unit_id", "year")
            and not (pd.isna(first[c]) and pd.isna(second[c]))
            and first[c] != second[c]
        ]
        if first["source_sheet"] == second["source_sheet"]:
            where = (
                f"{place(path, first['source_sheet'])}, rows {first['source_row']} and "
                f"{second['source_row']}"
            )
        else:
            where = (
                f"{path}, sheet '{first['source_sheet']}' row {first['source_row']} and sheet "
                f"'{second['source_sheet']}' row {second['source_row']}"
            )
        raise DataError(
            f"{where}: '{first['unit_id']}' year {first['year']} appears twice with different "
            f"values in {differing}. Keep the correct row and delete the other in a copy of "
            "the file."
        )
    return kept


def _drop_entry(row: Any, reason: str) -> dict[str, Any]:
    """One dropped row for the data-quality report (its sheet only if it has one)."""
    entry: dict[str, Any] = {
        "row": int(row.source_row),
        "unit_id": row.unit_id,
        "year": int(row.year),
        "reason": reason,
    }
    if row.source_sheet:
        entry["sheet"] = row.source_sheet
    return entry


def apply_window(
    frame: pd.DataFrame,
    path: str | Path,
    spec: SourceSpec,
    first_year: int,
    last_year: int,
    policy: str,
    report: SourceReport,
) -> pd.DataFrame:
    """Drop or refuse rows whose year is outside the study window.

    Dropped rows are counted per year in ``report.out_of_window``, not listed one by one
    (an extract of decades for a short window would otherwise be most of the report).
    """
    outside = ~frame["year"].between(first_year, last_year)
    if outside.any() and policy == "error":
        row = frame.loc[outside].iloc[0]
        raise DataError(
            f"{place(path, row['source_sheet'])}, row {row['source_row']}, column "
            f"'{spec.year_column or 'year'}': year {row['year']} is outside the study window "
            f"{first_year}-{last_year} ({int(outside.sum())} row(s); "
            "data.cleaning.out_of_window: error). Widen study.first_year/study.last_year, "
            "or set data.cleaning.out_of_window: drop to drop such rows and list them in "
            "the data-quality report."
        )
    for year, rows in frame.loc[outside, "year"].value_counts().items():
        report.out_of_window[int(year)] = int(rows)
    return frame.loc[~outside]


def interpolate_gaps(
    panel: pd.DataFrame, variables: Sequence[str], max_gap: int
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Fill interior gaps of at most ``max_gap`` years linearly within each unit.

    ``panel`` holds every unit-year of the window. Gaps at either end, and longer
    gaps, stay missing. Returns the panel and one report entry per filled cell.
    """
    panel = panel.sort_values(["unit_id", "year"]).reset_index(drop=True)
    filled_cells: list[dict[str, Any]] = []
    for variable in variables:
        before = panel[variable]
        filled = pd.Series(np.nan, index=panel.index)
        for _, rows in panel.groupby("unit_id", sort=True):
            series = rows.set_index("year")[variable]
            missing = series.isna()
            run = (missing != missing.shift()).cumsum()
            run_length = missing.groupby(run).transform("sum")
            line = series.interpolate(method="index", limit_area="inside")
            allowed = missing & (run_length <= max_gap) & line.notna()
            filled.loc[rows.index[allowed.to_numpy()]] = line[allowed].to_numpy()
        mask = before.isna() & filled.notna()
        panel.loc[mask, variable] = filled[mask]
        for row in panel.loc[mask, ["unit_id", "year", variable]].itertuples(index=False):
            filled_cells.append(
                {"unit_id": row[0], "year": int(row[1]), "variable": variable, "value": row[2]}
            )
    filled_cells.sort(key=lambda c: (c["unit_id"], c["year"], c["variable"]))
    return panel, filled_cells


def shape_panel(
    panel: pd.DataFrame,
    source_variables: Sequence[str],
    rules: CleaningRules,
    first_year: int,
    last_year: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Keep the unit-years the panel type asks for; return them and what was dropped.

    unbalanced: every unit-year with a value in some source. balanced: only units with
    every ``balance_on`` variable present in every year of the window.
    """
    empty = panel[list(source_variables)].isna().all(axis=1)
    shape: dict[str, Any] = {
        "type": rules.panel,
        "unit_years_dropped_without_any_value": [
            {"unit_id": u, "year": int(y)}
            for u, y in panel.loc[empty, ["unit_id", "year"]].itertuples(index=False)
        ],
    }
    panel = panel.loc[~empty]
    if rules.panel == "balanced":
        needed = list(rules.balance_on or source_variables)
        years = set(range(first_year, last_year + 1))
        complete = panel.loc[panel[needed].notna().all(axis=1), ["unit_id", "year"]]
        observed = complete.groupby("unit_id")["year"].apply(set)
        dropped = []
        for unit_id in sorted(set(panel["unit_id"])):
            missing_years = sorted(years - observed.get(unit_id, set()))
            if missing_years:
                dropped.append({"unit_id": unit_id, "years_incomplete": missing_years})
        keep = {unit_id for unit_id, seen in observed.items() if seen >= years}
        panel = panel.loc[panel["unit_id"].isin(keep)]
        shape["balance_on"] = needed
        shape["units_dropped_to_balance"] = dropped
    return panel.reset_index(drop=True), shape


def panel_schema(
    variables: Mapping[str, VariableSpec],
    unit_ids: Sequence[str],
    first_year: int,
    last_year: int,
) -> pa.DataFrameSchema:
    """The analysis panel's contract: unique unit-years, known ids, types and ranges."""
    columns: dict[str, pa.Column] = {
        "unit_id": pa.Column(str, pa.Check.isin(list(unit_ids))),
        "year": pa.Column("int64", pa.Check.in_range(first_year, last_year)),
    }
    for name, spec in variables.items():
        checks = []
        if spec.minimum is not None:
            checks.append(pa.Check.ge(spec.minimum))
        if spec.maximum is not None:
            checks.append(pa.Check.le(spec.maximum))
        columns[name] = pa.Column("float64", checks, nullable=True)
        if spec.lag:
            columns[name + LAG_SUFFIX] = pa.Column("float64", checks, nullable=True)
    return pa.DataFrameSchema(columns, unique=["unit_id", "year"], strict=False, coerce=False)


def validate_panel(panel: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate lazily and report every failing check with its unit-year."""
    try:
        return schema.validate(panel, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.head(10)
        lines = []
        for case in cases.itertuples(index=False):
            where = ""
            if case.index is not None and not pd.isna(case.index) and case.index in panel.index:
                row = panel.loc[case.index]
                where = f"'{row['unit_id']}' year {row['year']}, "
            lines.append(
                f"{where}column '{case.column}': {case.check} failed (value {case.failure_case})"
            )
        raise DataError(
            f"the cleaned panel fails {len(errors.failure_cases)} check(s):\n  - "
            + "\n  - ".join(lines)
            + "\nCorrect the source values, or adjust min/max under variables in the study "
            "config."
        ) from None
