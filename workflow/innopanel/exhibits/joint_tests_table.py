"""The multiverse's table: the joint tests of the specification curve and their null
distributions (a table job: it imports no plotting library)."""

from __future__ import annotations

import pandas as pd

from innopanel.exhibits.frames import check_columns
from innopanel.exhibits.table_model import (
    Column,
    Number,
    Panel,
    Row,
    Table,
    Text,
    format_count,
    table_notes,
)

TEST_TITLES = {
    "median_estimate": "Median estimate",
    "share_positive": "Share significant and positive",
    "share_negative": "Share significant and negative",
    "mean_statistic": "Mean t-statistic",
}


def joint_tests_table(
    tests: pd.DataFrame, *, digits: int = 3, note: str | None = None, name: str = "joint_tests"
) -> Table:
    """The joint tests of the curve: observed statistic, its null median and 95th
    percentile, and the bootstrap p-value."""
    check_columns(tests, ("statistic", "observed", "null_median", "null_p95", "p_value"), name)
    rows = tuple(
        Row(
            TEST_TITLES.get(str(row["statistic"]), str(row["statistic"])),
            (
                Number(row["observed"], digits),
                Number(row["null_median"], digits),
                Number(row["null_p95"], digits),
                Number(row["p_value"], digits),
                Text(str(row["alternative"])),
            ),
        )
        for _, row in tests.iterrows()
    )
    first = tests.iloc[0]
    sentences = [
        f"Joint tests of the specification curve over {format_count(first['specifications'])} "
        f"linear specifications (Simonsohn, Simmons and Nelson 2020), each compared with its "
        f"distribution in {format_count(first['draws'])} draws of a world where the focal "
        "effect is zero: a wild cluster bootstrap by unit with the null imposed in every "
        "specification, one draw of unit weights shared by all specifications.",
        "The p-value is (1 + draws at least as extreme) / (1 + draws); two-sided statistics "
        "compare absolute values, and their 95th percentile is of the absolute value.",
        "Significance is at 5 % with each specification's own covariance and reference "
        "distribution; PPML specifications are on the curve but not redrawn.",
    ]
    return Table(
        name=name,
        columns=(
            Column("Observed"),
            Column("Null median"),
            Column("Null 95th pct."),
            Column("p-value"),
            Column("Alternative", width="3.2cm"),
        ),
        panels=(Panel("", rows),),
        notes=table_notes(sentences, note),
        stub_header="Statistic",
    )
