"""Tables that describe the panel: descriptive statistics and the correlation matrix.

The statistics are computed here once (:func:`descriptive_statistics`,
:func:`correlation_matrix`) and used both by the tables and by the correlation
heatmap, so the figure and the table cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from innopanel.exhibits.table_model import Column, Number, Panel, Row, Table, table_notes
from innopanel.vocabulary import UnitNoun, unit_words

# Variables with values of this magnitude or more are shown without decimals (whole
# row), so that a level such as GDP per capita does not widen every column.
LARGE_MAGNITUDE = 10_000
STATISTICS = ("n", "mean", "sd", "min", "p25", "median", "p75", "max")
STATISTIC_TITLES = ("N", "Mean", "SD", "Min", "p25", "Median", "p75", "Max")
ENTITY, TIME = "unit_id", "year"


def _check_variables(panel: pd.DataFrame, variables: Sequence[str], what: str) -> None:
    missing = [v for v in variables if v not in panel.columns]
    if missing:
        raise ValueError(
            f"{what}: the panel has no column(s) {missing}; list only variables under "
            "`variables` in the study config."
        )


def descriptive_statistics(panel: pd.DataFrame, variables: Sequence[str]) -> pd.DataFrame:
    """Return one row per variable: N (non-missing), mean, SD, min, p25, median, p75, max.

    SD is the sample standard deviation (n − 1); percentiles interpolate linearly
    between order statistics (Hyndman–Fan type 7, numpy's and R's default).
    """
    variables = list(variables)
    _check_variables(panel, variables, "descriptive statistics")
    rows = []
    for variable in variables:
        values = pd.to_numeric(panel[variable], errors="coerce").dropna().to_numpy(dtype=float)
        if values.size == 0:
            raise ValueError(f"descriptive statistics: '{variable}' has no observed values.")
        p25, median, p75 = np.percentile(values, [25, 50, 75])
        rows.append(
            {
                "variable": variable,
                "n": int(values.size),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                "min": float(values.min()),
                "p25": float(p25),
                "median": float(median),
                "p75": float(p75),
                "max": float(values.max()),
            }
        )
    return pd.DataFrame(rows, columns=["variable", *STATISTICS])


def _coverage(panel: pd.DataFrame, unit: str) -> str:
    singular, plural = unit_words(unit)
    years = pd.to_numeric(panel[TIME], errors="coerce").dropna()
    span = f"{int(years.min())}–{int(years.max())}" if len(years) else "no years"
    return f"{singular}-years {span} ({panel[ENTITY].nunique()} {plural})"


def _row_digits(statistics: pd.Series, digits: int) -> int:
    largest = max(abs(float(statistics["min"])), abs(float(statistics["max"])))
    return 0 if largest >= LARGE_MAGNITUDE else digits


def descriptive_table(
    panel: pd.DataFrame,
    panels: Sequence[Mapping[str, object]],
    labels: Mapping[str, str],
    *,
    unit: UnitNoun | str = "unit",
    digits: int = 2,
    note: str | None = None,
    name: str = "descriptives",
) -> Table:
    """Build the descriptive-statistics table, one panel per ``{title, variables}`` group."""
    if not panels:
        raise ValueError("descriptive table: exhibits.descriptive_table.panels is empty.")
    built = []
    for group in panels:
        variables = [str(v) for v in group["variables"]]  # type: ignore[union-attr]
        statistics = descriptive_statistics(panel, variables)
        rows = tuple(
            Row(
                str(labels.get(row["variable"], row["variable"])),
                (
                    Number(row["n"], 0),
                    *(Number(row[s], _row_digits(row, digits)) for s in STATISTICS[1:]),
                ),
            )
            for _, row in statistics.iterrows()
        )
        built.append(Panel(str(group["title"]), rows))
    singular, _ = unit_words(unit)
    notes = (
        f"Statistics over {_coverage(panel, unit)}. N counts {singular}-years with the "
        "variable observed. SD is the sample standard deviation; p25, median and p75 "
        "interpolate linearly between order statistics. Variables reaching "
        f"{LARGE_MAGNITUDE:,} are shown without decimals.",
    )
    return Table(
        name=name,
        columns=tuple(Column(title) for title in STATISTIC_TITLES),
        panels=tuple(built),
        notes=table_notes(notes, note),
        stub_header="Variable",
        stub_width="4.6cm",
    )


def correlation_matrix(
    panel: pd.DataFrame, variables: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return Pearson correlations with pairwise deletion, and the N behind each.

    Each coefficient uses every observation where both variables are present.
    """
    variables = list(variables)
    if len(variables) < 2:
        raise ValueError("correlation matrix: list at least two variables.")
    _check_variables(panel, variables, "correlation matrix")
    data = panel[variables].apply(pd.to_numeric, errors="coerce")
    correlations = data.corr(method="pearson", min_periods=3)
    present = data.notna().astype(int)
    counts = present.T @ present
    return correlations.loc[variables, variables], counts.loc[variables, variables]


def correlation_table(
    panel: pd.DataFrame,
    variables: Sequence[str],
    labels: Mapping[str, str],
    *,
    unit: UnitNoun | str = "unit",
    digits: int = 2,
    note: str | None = None,
    name: str = "correlations",
) -> Table:
    """Build the lower-triangular correlation table; columns are numbered like the rows."""
    correlations, counts = correlation_matrix(panel, variables)
    variables = list(variables)
    rows = []
    for i, row_variable in enumerate(variables):
        cells = tuple(
            Number(correlations.iloc[i, j] if j <= i else None, digits)
            for j in range(len(variables))
        )
        rows.append(Row(f"({i + 1}) {labels.get(row_variable, row_variable)}", cells))
    singular, _ = unit_words(unit)
    off_diagonal = counts.to_numpy()[np.tril_indices(len(variables), k=-1)]
    notes = (
        f"Pearson correlation coefficients over {_coverage(panel, unit)}, each using the "
        f"{singular}-years where both variables are observed (N from "
        f"{int(off_diagonal.min()):,} to {int(off_diagonal.max()):,}). No significance "
        f"stars: {singular}-years of one {singular} are not independent draws, so textbook "
        "p-values would overstate precision.",
    )
    return Table(
        name=name,
        columns=tuple(Column(f"({j + 1})") for j in range(len(variables))),
        panels=(Panel("", tuple(rows)),),
        notes=table_notes(notes, note),
        stub_header="Variable",
        stub_width="5.5cm",
    )
