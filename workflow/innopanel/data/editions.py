"""Editions: where several yearbook editions give the same cell, the latest wins, and says so.

Yearbooks revise earlier years (a new GDP benchmark changes every R&D intensity), and
wide-year tables repeat years across editions. :func:`combine_editions` keeps, for each
unit, year and variable, the value of the latest edition that has one, and lists every
earlier edition's value that differs from it, classed as a ``rounding`` (the two agree
once the more precise one is rounded to the other's decimals) or a ``revision``. Where
the kept series switches to an edition on another statistical basis, the study's
vintage policy decides (:mod:`innopanel.data.vintages`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from innopanel.config.data_specs import VintageRules
from innopanel.data.readers import DataError
from innopanel.data.vintages import apply_vintage_policy, level_breaks, vintage_report

KEY = ["unit_id", "year", "variable"]
# A yearbook reader's companion column: how many decimals the cell was printed with
# (a float loses "2.00"'s trailing zeros, so they are counted in the cell's text).
DECIMALS_SUFFIX = ".decimals"
NUMBER_TEXT = re.compile(r"^[+-]?[\d,]*(?:\.(?P<fraction>\d*))?$")


@dataclass(frozen=True)
class EditionFrame:
    """One source's cleaned rows, tagged with its edition.

    Columns: unit_id, year, and per variable its value and ``<variable>.decimals``.
    """

    source: str
    edition: int
    frame: pd.DataFrame


def printed_decimals(cell: str | None) -> int:
    """How many decimals a cell's text shows: "2.00" -> 2, "1234" -> 0, other text -> 0."""
    match = NUMBER_TEXT.match((cell or "").strip())
    return len(match.group("fraction") or "") if match else 0


def difference_kind(
    earlier: float, earlier_decimals: int, later: float, later_decimals: int
) -> str:
    """``rounding`` if the more precise value rounds to the other, else ``revision``.

    Two values printed to the same decimals that differ are a revision; otherwise the
    difference is a rounding when it is within half a unit of the coarser's last digit.
    """
    if earlier_decimals == later_decimals:
        return "revision"
    coarse, places = (earlier, earlier_decimals)
    if later_decimals < earlier_decimals:
        coarse, places = (later, later_decimals)
    precise = later if coarse is earlier else earlier
    return "rounding" if abs(precise - coarse) <= 0.5 * 10.0**-places + 1e-12 else "revision"


def combine_editions(
    parts: Sequence[EditionFrame], variables: Sequence[str], vintages: VintageRules
) -> tuple[pd.DataFrame, list[dict[str, Any]], dict[str, Any]]:
    """Merge edition-tagged frames: one row per unit-year, the latest edition's values.

    Returns the frame (``unit_id``, ``year`` and ``variables``), every earlier value
    that differs from the kept one, with both editions, sources and values, and the
    vintages section of the quality report (level breaks, what the policy dropped or
    rescaled, and which edition printed each kept value). Two sources of the same
    edition that disagree on a cell are an error, and so is a level break with no
    ``vintages.policy``.
    """
    long = pd.concat([_long(part, variables) for part in parts], ignore_index=True)
    long = long.dropna(subset=["value"])
    same_edition = long.groupby([*KEY, "edition"])["value"].nunique()
    clashes = same_edition[same_edition > 1]
    if not clashes.empty:
        unit_id, year, variable, edition = clashes.index[0]
        rows = long.loc[
            (long["unit_id"] == unit_id)
            & (long["year"] == year)
            & (long["variable"] == variable)
            & (long["edition"] == edition)
        ]
        raise DataError(
            f"sources {sorted(set(rows['source']))} are both edition {edition} and give "
            f"'{unit_id}' {year} '{variable}' different values {sorted(rows['value'])}. "
            "Correct one source's table.edition, or drop the duplicate source."
        )
    long = long.sort_values([*KEY, "edition"], kind="stable").drop_duplicates([*KEY, "edition"])
    kept = long.drop_duplicates(KEY, keep="last")
    earlier = long.merge(kept, on=KEY, suffixes=("", "_kept"))
    differs = earlier["value"] != earlier["value_kept"]
    earlier = earlier.loc[(earlier["edition"] != earlier["edition_kept"]) & differs]
    revisions = [
        {
            "unit_id": row.unit_id,
            "year": int(row.year),
            "variable": row.variable,
            "earlier_edition": int(row.edition),
            "earlier_source": row.source,
            "earlier_value": float(row.value),
            "later_edition": int(row.edition_kept),
            "later_source": row.source_kept,
            "later_value": float(row.value_kept),
            "kind": difference_kind(
                float(row.value), int(row.decimals), float(row.value_kept), int(row.decimals_kept)
            ),
        }
        for row in earlier.itertuples(index=False)
    ]
    revisions.sort(key=lambda r: (r["unit_id"], r["year"], r["variable"], r["earlier_edition"]))
    breaks = level_breaks(long, kept, vintages)
    kept, dropped, rescaled = apply_vintage_policy(kept, breaks, vintages.policy)
    vintages_found = vintage_report(breaks, vintages, dropped, rescaled, kept)
    wide = (
        kept.pivot(index=["unit_id", "year"], columns="variable", values="value")
        .reindex(columns=list(variables))
        .reset_index()
    )
    wide.columns.name = None
    wide["year"] = wide["year"].astype("int64")
    return wide, revisions, vintages_found


def _long(part: EditionFrame, variables: Sequence[str]) -> pd.DataFrame:
    """One row per unit, year and variable: value, printed decimals, source and edition."""
    present = [v for v in variables if v in part.frame.columns]
    ids = ["unit_id", "year"]
    values = part.frame.melt(ids, present, var_name="variable", value_name="value")
    places = part.frame.melt(
        ids, [v + DECIMALS_SUFFIX for v in present], var_name="variable", value_name="decimals"
    )
    values["decimals"] = places["decimals"].to_numpy()
    return values.assign(source=part.source, edition=part.edition)
