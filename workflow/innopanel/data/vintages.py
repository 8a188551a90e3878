"""Vintages: editions on different statistical bases, the level break between them, the policy.

A series assembled from several yearbook editions may mix statistical bases: after a
census revises GDP, every later edition reprints R&D intensity on the new GDP, while a
year only an older edition prints stays on the old one. "Latest edition wins" then
splices two bases together at the first year the latest basis covers.

The rule for a level break, per variable: the basis is the variable's latest edition.
Each other edition that supplies kept values is compared with it on the years both
print (the overlap). Per unit, the shift is the median over the overlap years of
basis / earlier value (a ratio, the national accountants' measure for an intensity or
level); a unit has shifted when it has at least ``MIN_OVERLAP_YEARS`` overlap years and
its shift is more than ``tolerance`` away from 1. The median over years keeps a one-off
revision of one year, or printing to fewer decimals, from counting. The edition is on
another basis (a level break) when at least ``min_share`` of the units compared have
shifted. The sign may differ between units: a census moves each unit's denominator by
its own amount. Editions without overlap (single-year tables) cannot be compared.

The policies (``data.vintages.policy``), applied to the values the panel keeps from an
edition on another basis:

- ``latest``: kept as printed (the splice stays, and is reported);
- ``consistent``: dropped, so the series holds only values on the latest basis; each
  dropped value is listed;
- ``splice``: multiplied by the unit's ratio in the overlap year nearest to the value's
  year (ratio splicing at the link year, the accountants' back-casting); each rescaled
  value is listed with its link year and factor. A unit with fewer than
  ``MIN_OVERLAP_YEARS`` overlap years cannot be linked: its values are dropped and listed.

With a level break found and no policy declared, the run stops naming the choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from innopanel.config.data_specs import VintageRules
from innopanel.data.readers import DataError

MIN_OVERLAP_YEARS = 2
# How many shifted units an error message names (the report lists every one).
UNITS_NAMED = 3


@dataclass(frozen=True)
class UnitShift:
    """One unit's ratios of the basis edition's values to the earlier edition's, by year."""

    unit_id: str
    ratios: Mapping[int, float]
    shift: float
    shifted: bool

    def link_ratio(self, year: int) -> tuple[int, float]:
        """The overlap year nearest ``year`` (the earlier one on a tie) and its ratio."""
        link = min(self.ratios, key=lambda overlap: (abs(overlap - year), overlap))
        return link, self.ratios[link]


@dataclass(frozen=True)
class LevelBreak:
    """An edition the panel keeps values from, on another basis than the variable's latest."""

    variable: str
    earlier_edition: int
    basis_edition: int
    # The years the panel keeps from the earlier edition, and the years both print.
    kept_years: tuple[int, ...]
    overlap_years: tuple[int, ...]
    shifts: tuple[UnitShift, ...]

    @property
    def shifted(self) -> tuple[UnitShift, ...]:
        """The units that moved by more than the tolerance."""
        return tuple(s for s in self.shifts if s.shifted)

    def describe(self) -> str:
        """One line: the variable, editions, years and the size of the break."""
        largest = sorted(self.shifted, key=lambda s: -abs(s.shift - 1))[:UNITS_NAMED]
        named = ", ".join(f"{s.unit_id} x{s.shift:.3f}" for s in largest)
        return (
            f"'{self.variable}': the panel keeps {_years(self.kept_years)} from edition "
            f"{self.earlier_edition} and later years from edition {self.basis_edition}, "
            f"which reprints {_years(self.overlap_years)} on another basis: "
            f"{len(self.shifted)} of {len(self.shifts)} units shifted by more than the "
            f"tolerance (median ratio {self.basis_edition}/{self.earlier_edition} over "
            f"the overlap; largest {named})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "earlier_edition": self.earlier_edition,
            "basis_edition": self.basis_edition,
            "kept_years": list(self.kept_years),
            "overlap_years": list(self.overlap_years),
            "units_shifted": len(self.shifted),
            "units_compared": len(self.shifts),
            "units": [
                {
                    "unit_id": s.unit_id,
                    "shift": round(s.shift, 6),
                    "shifted": s.shifted,
                    "ratios": {str(y): round(r, 6) for y, r in sorted(s.ratios.items())},
                }
                for s in self.shifts
            ],
        }


def _years(years: Sequence[int]) -> str:
    """Years as text: "2011", "2012-2018" when consecutive, else "2010, 2012"."""
    if len(years) > 1 and years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(year) for year in years)


def level_breaks(
    printed: pd.DataFrame, kept: pd.DataFrame, rules: VintageRules
) -> list[LevelBreak]:
    """Every edition the panel keeps values from that is on another basis (module rule).

    ``printed`` holds every edition's values, ``kept`` the one value per unit, year and
    variable the panel keeps; both have unit_id, year, variable, value and edition.
    """
    breaks = []
    for variable, values in printed.groupby("variable", sort=True):
        basis = int(values["edition"].max())
        basis_values = values.loc[values["edition"] == basis, ["unit_id", "year", "value"]]
        kept_here = kept.loc[kept["variable"] == variable]
        for edition in sorted(set(kept_here["edition"]) - {basis}):
            earlier = values.loc[values["edition"] == edition, ["unit_id", "year", "value"]]
            overlap = earlier.merge(basis_values, on=["unit_id", "year"], suffixes=("", "_basis"))
            overlap = overlap.loc[overlap["value"] > 0]
            if overlap.empty:
                continue
            shifts = _unit_shifts(overlap, rules.tolerance)
            if not shifts:
                continue
            if sum(s.shifted for s in shifts) < rules.min_share * len(shifts):
                continue
            kept_years = kept_here.loc[kept_here["edition"] == edition, "year"]
            breaks.append(
                LevelBreak(
                    variable=str(variable),
                    earlier_edition=int(edition),
                    basis_edition=basis,
                    kept_years=tuple(sorted({int(y) for y in kept_years})),
                    overlap_years=tuple(sorted({int(y) for y in overlap["year"]})),
                    shifts=tuple(shifts),
                )
            )
    return breaks


def _unit_shifts(overlap: pd.DataFrame, tolerance: float) -> list[UnitShift]:
    """Per unit with enough overlap years, its ratios and median shift."""
    shifts = []
    for unit_id, rows in overlap.groupby("unit_id", sort=True):
        if len(rows) < MIN_OVERLAP_YEARS:
            continue
        ratios = {
            int(year): float(basis / value)
            for year, value, basis in rows[["year", "value", "value_basis"]].itertuples(index=False)
        }
        shift = float(pd.Series(list(ratios.values())).median())
        shifts.append(UnitShift(str(unit_id), ratios, shift, abs(shift - 1) > tolerance))
    return shifts


def apply_vintage_policy(
    kept: pd.DataFrame, breaks: list[LevelBreak], policy: str | None
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply ``policy`` to the values ``kept`` takes from an edition on another basis.

    Returns the kept values after the policy, the values dropped (``consistent``, or a
    ``splice`` with no overlap year for the unit) and the values rescaled (``splice``).
    A break with no policy is an error naming the choice.
    """
    if not breaks:
        return kept, [], []
    if policy is None:
        found = "\n".join(f"- {level_break.describe()}" for level_break in breaks)
        raise DataError(
            "Yearbook editions on different statistical bases are spliced into one series:\n"
            f"{found}\n"
            "Choose what the panel does with the earlier-basis values, in the study config:\n"
            "  data:\n    vintages:\n      policy: latest      # keep them as printed "
            "(the splice stays, reported)\n"
            "      policy: consistent  # drop them: only values on the latest basis\n"
            "      policy: splice      # rescale them by each unit's overlap ratio\n"
            "The data-quality report lists each value any policy drops or rescales."
        )
    dropped: list[dict[str, Any]] = []
    rescaled: list[dict[str, Any]] = []
    if policy == "latest":
        return kept, dropped, rescaled
    kept = kept.copy()
    remove = pd.Series(False, index=kept.index)
    for level_break in breaks:
        shifts = {s.unit_id: s for s in level_break.shifts}
        rows = kept.loc[
            (kept["variable"] == level_break.variable)
            & (kept["edition"] == level_break.earlier_edition)
        ]
        for index, row in rows.iterrows():
            entry = {
                "unit_id": row["unit_id"],
                "year": int(row["year"]),
                "variable": level_break.variable,
                "edition": level_break.earlier_edition,
                "value": float(row["value"]),
            }
            shift = shifts.get(row["unit_id"])
            if policy == "splice" and shift is not None:
                link_year, factor = shift.link_ratio(int(row["year"]))
                kept.loc[index, "value"] = row["value"] * factor
                rescaled.append(
                    entry
                    | {
                        "link_year": link_year,
                        "factor": factor,
                        "spliced_value": float(row["value"] * factor),
                    }
                )
                continue
            remove[index] = True
            dropped.append(
                entry
                | {
                    "reason": f"edition {level_break.earlier_edition} is on another basis "
                    f"than edition {level_break.basis_edition}"
                    if policy == "consistent"
                    else f"fewer than {MIN_OVERLAP_YEARS} overlap years link it to edition "
                    f"{level_break.basis_edition}"
                }
            )
    return kept.loc[~remove], sorted(dropped, key=_order), sorted(rescaled, key=_order)


def _order(entry: Mapping[str, Any]) -> tuple[str, str, int]:
    return entry["variable"], entry["unit_id"], entry["year"]


def edition_of_values(kept: pd.DataFrame) -> dict[str, dict[str, dict[str, int]]]:
    """Which edition printed each kept value: variable -> unit_id -> year -> edition."""
    provenance: dict[str, dict[str, dict[str, int]]] = {}
    for unit_id, year, variable, edition in (
        kept[["unit_id", "year", "variable", "edition"]]
        .sort_values(["variable", "unit_id", "year"])
        .itertuples(index=False)
    ):
        provenance.setdefault(variable, {}).setdefault(unit_id, {})[str(int(year))] = int(edition)
    return provenance


def vintage_report(
    breaks: list[LevelBreak],
    rules: VintageRules,
    dropped: list[dict[str, Any]],
    rescaled: list[dict[str, Any]],
    kept: pd.DataFrame,
) -> dict[str, Any]:
    """The data-quality report's ``vintages`` section (JSON-ready)."""
    return {
        "rule": (
            "per variable, each edition the panel keeps values from is compared with the "
            "latest edition on the years both print; a unit has shifted when it has at "
            f"least {MIN_OVERLAP_YEARS} such years and its median ratio latest/earlier is "
            f"more than {rules.tolerance:g} away from 1; a level break is at least "
            f"{rules.min_share:g} of the units compared shifted"
        ),
        "policy": rules.policy or "latest",
        "breaks": [level_break.as_dict() for level_break in breaks],
        "dropped": dropped,
        "rescaled": rescaled,
        "edition_of_value": edition_of_values(kept),
    }


def vintages_markdown(vintages: Mapping[str, Any]) -> list[str]:
    """The report's vintage sections: each level break per unit, and what the policy did."""
    lines = [
        "",
        "## Statistical vintages: level breaks between editions (data.vintages)",
        "",
        f"Rule: {vintages['rule']}. Policy: {vintages['policy']}. Which edition printed "
        "each kept value is under vintages.edition_of_value in report.json.",
    ]
    if not vintages["breaks"]:
        return [*lines, "", "No level break found."]
    for found in vintages["breaks"]:
        lines += [
            "",
            f"**{found['variable']}**: years {_years(found['kept_years'])} from "
            f"edition {found['earlier_edition']}, later years from edition "
            f"{found['basis_edition']}; {found['units_shifted']} of "
            f"{found['units_compared']} units shifted on the overlap "
            f"{_years(found['overlap_years'])}.",
            "",
            f"| unit | shift ({found['basis_edition']}/{found['earlier_edition']}, median) "
            "| shifted |",
            "|---|---:|---|",
        ]
        lines += [
            f"| {u['unit_id']} | {u['shift']:.3f} | {'yes' if u['shifted'] else 'no'} |"
            for u in found["units"]
        ]
    if vintages["dropped"]:
        lines += ["", "Values dropped by the policy:", ""]
        lines += [
            "| unit | year | variable | edition | value | reason |",
            "|---|---:|---|---:|---:|---|",
        ]
        lines += [
            f"| {d['unit_id']} | {d['year']} | {d['variable']} | {d['edition']} | "
            f"{d['value']:.6g} | {d['reason']} |"
            for d in vintages["dropped"]
        ]
    if vintages["rescaled"]:
        lines += ["", "Values rescaled by the policy (spliced):", ""]
        lines += [
            "| unit | year | variable | edition | printed | link year | factor | spliced |",
            "|---|---:|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['unit_id']} | {r['year']} | {r['variable']} | {r['edition']} | "
            f"{r['value']:.6g} | {r['link_year']} | {r['factor']:.6f} | "
            f"{r['spliced_value']:.6g} |"
            for r in vintages["rescaled"]
        ]
    return lines
