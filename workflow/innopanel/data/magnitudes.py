"""Scale breaks: a source whose values sit a power of ten off its other sources and years.

A units row that says 万人年 over numbers printed in 人年, or a column declared in
thousand EUR that holds EUR, multiplies a whole source by 10^k, and no range check sees
it unless ``max`` is set. So every source-year of a variable (the values one source gives
for one year, in canonical units) is held against the same variable's source-years of
the same and adjacent years, unit by unit: the shift between two source-years is the
median, over the units both give, of log10 of their ratio. A shift within
:data:`TOLERANCE` of a whole number k != 0 is a step of 10^k; any other shift (growth,
a census-style level break of 0.8-1.5, noise of small counts) is no step. Steps are
chained into each source-year's level, and the level most values share is the
reference: a source-year at another level is a scale break, 10^(its level - the
reference) off. Real growth between adjacent years is far below 10x, and a median over
at least :data:`MIN_COMMON_UNITS` units ignores a volatile single cell.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from innopanel.data.readers import DataError

# A shift (a log10 ratio) closer than this to a whole k != 0 is a step of 10^k.
TOLERANCE = 0.15
# Two source-years are compared over at least this many common units.
MIN_COMMON_UNITS = 3
# Source-years this many calendar years apart (or fewer) are compared.
MAX_YEAR_GAP = 1


@dataclass(frozen=True)
class ScaleBreak:
    """One source's values of one variable, 10**power times its other sources' and years'."""

    variable: str
    source: str
    years: tuple[int, ...]
    power: int
    # The median log10 shift against the source-years at the reference level it was
    # compared with (over the units both give); the power itself if it met none directly.
    shift: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "source": self.source,
            "years": list(self.years),
            "factor": f"10^{self.power}",
            "log10_shift": round(self.shift, 3),
        }


def _step(shift: float) -> int:
    """The power of ten a shift (log10) is a step of; 0 if it is no such step."""
    nearest = round(shift)
    return int(nearest) if nearest != 0 and abs(shift - nearest) < TOLERANCE else 0


Key = tuple[str, int]  # (source, year)


@dataclass(frozen=True)
class _Level:
    """Where a source-year sits: its connected set (named by its first source-year) and its
    power of ten within the set."""

    root: Key
    power: int


def _shifts(groups: Mapping[Key, np.ndarray]) -> dict[Key, dict[Key, float]]:
    """The median log10 shift between every two comparable source-years (both ways)."""
    keys = sorted(groups, key=lambda key: (key[1], key[0]))
    shifts: dict[Key, dict[Key, float]] = {key: {} for key in keys}
    for index, key in enumerate(keys):
        for other in keys[index + 1 :]:
            if other[1] - key[1] > MAX_YEAR_GAP:
                break
            difference = groups[key] - groups[other]
            common = ~np.isnan(difference)
            if np.count_nonzero(common) < MIN_COMMON_UNITS:
                continue
            shift = float(np.median(difference[common]))
            shifts[key][other] = shift
            shifts[other][key] = -shift
    return shifts


def _levels(shifts: Mapping[Key, Mapping[Key, float]]) -> dict[Key, _Level]:
    """Each source-year's level, chained breadth-first from the earliest of its set."""
    levels: dict[Key, _Level] = {}
    for start in shifts:
        if start in levels:
            continue
        levels[start] = _Level(start, 0)
        queue = deque([start])
        while queue:
            key = queue.popleft()
            for other, shift in shifts[key].items():
                if other not in levels:
                    # shift = log(key) - log(other): other sits `step` powers below key.
                    levels[other] = _Level(start, levels[key].power - _step(shift))
                    queue.append(other)
    return levels


def _source_years(frames: Mapping[str, pd.DataFrame], variable: str) -> dict[Key, np.ndarray]:
    """Per (source, year), the log10 of each unit's positive value of ``variable`` (NaN
    where it gives none), in one order of units shared by all."""
    parts = []
    for source, frame in frames.items():
        if variable not in frame:
            continue
        values = frame[["unit_id", "year", variable]].dropna()
        numbers = values[variable].astype("float64")
        kept = np.isfinite(numbers) & (numbers > 0)
        parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "year": values.loc[kept, "year"].astype("int64"),
                    "unit_id": values.loc[kept, "unit_id"],
                    "log10": np.log10(numbers[kept]),
                }
            )
        )
    if not parts:
        return {}
    table = pd.concat(parts).pivot_table(
        index=["source", "year"], columns="unit_id", values="log10", aggfunc="median"
    )
    rows = zip(table.index, table.to_numpy(), strict=True)
    return {(source, int(year)): row for (source, year), row in rows}


def _direct_shift(
    key: Key, shifts: Mapping[Key, float], levels: Mapping[Key, _Level], reference: int
) -> float | None:
    """The median shift of ``key`` against its comparable source-years at the reference level."""
    direct = [shift for other, shift in shifts.items() if levels[other].power == reference]
    return float(np.median(direct)) if direct else None


def find_scale_breaks(
    frames: Mapping[str, pd.DataFrame], variables: Sequence[str]
) -> list[ScaleBreak]:
    """Every source whose values of a variable sit a power of ten off the reference level.

    ``frames`` maps source name to its rows (``unit_id``, ``year`` and the variables it
    gives, in canonical units). Only positive values are compared (a ratio needs them).
    """
    breaks: list[ScaleBreak] = []
    for variable in variables:
        groups = _source_years(frames, variable)
        shifts = _shifts(groups)
        levels = _levels(shifts)
        sets: dict[Key, list[Key]] = {}
        for key, level in levels.items():
            sets.setdefault(level.root, []).append(key)
        for members in sets.values():
            weight: dict[int, int] = {}
            for key in members:
                given = int(np.count_nonzero(~np.isnan(groups[key])))
                weight[levels[key].power] = weight.get(levels[key].power, 0) + given
            # The level most values share; a tie goes to the earliest source-year's level.
            reference = max(weight, key=lambda power: (weight[power], power == 0))
            off: dict[tuple[str, int], list[Key]] = {}
            for key in members:
                if levels[key].power != reference:
                    off.setdefault((key[0], levels[key].power - reference), []).append(key)
            for (source, power), keys in off.items():
                direct = [_direct_shift(k, shifts[k], levels, reference) for k in keys]
                known = [shift for shift in direct if shift is not None]
                years = tuple(sorted(year for _, year in keys))
                shift = float(np.median(known)) if known else float(power)
                breaks.append(ScaleBreak(variable, source, years, power, shift))
    return sorted(breaks, key=lambda b: (b.variable, b.source, b.years))


def check_scale_breaks(
    frames: Mapping[str, pd.DataFrame],
    variables: Sequence[str],
    accepted: Collection[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Stop at a scale break no ``data.accept_scale_breaks`` entry accepts; return the
    accepted ones for the data-quality report."""
    breaks = find_scale_breaks(frames, variables)
    refused = [b for b in breaks if (b.source, b.variable) not in accepted]
    if refused:
        raise DataError(
            f"{len(refused)} scale break(s): a source's values sit a power of ten off the "
            "same variable's other sources and adjacent years (median over units):\n  - "
            + "\n  - ".join(
                f"variable '{b.variable}', source '{b.source}' (data.sources.{b.source}), "
                f"year(s) {', '.join(map(str, b.years))}: about 10^{b.power} "
                f"(x{10.0**b.power:g}; log10 shift {b.shift:.2f}) times the others"
                for b in refused
            )
            + "\nA unit row or declared unit off by this factor does this (e.g. 万人年 over "
            "numbers in 人年, or thousand EUR over EUR). Correct the unit of that source's "
            "column (data.sources.<source>.columns.<variable>: {column: ..., unit: ...}) or "
            "the factor under units; if the values really changed by this factor, accept "
            "it with data.accept_scale_breaks: [{source: <source>, variable: <variable>}]."
        )
    return [b.as_dict() for b in breaks]


def scale_breaks_markdown(breaks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The report's section: how sources were held against each other, and the accepted
    breaks (a refused one stops the run before any report)."""
    lines = [
        "",
        "## Scale breaks",
        "",
        "Each source's values of a variable are held against its other sources and "
        f"adjacent years, over at least {MIN_COMMON_UNITS} common units; a median log10 "
        f"ratio within {TOLERANCE} of a whole k != 0 is a break of 10^k (a unit off by "
        f"that factor). Breaks, each accepted by data.accept_scale_breaks: {len(breaks)}.",
    ]
    if breaks:
        lines += [
            "",
            "| variable | source | years | factor | log10 shift |",
            "|---|---|---|---:|---:|",
        ]
        lines += [
            f"| {b['variable']} | {b['source']} | {', '.join(map(str, b['years']))} | "
            f"{b['factor']} | {b['log10_shift']} |"
            for b in breaks
        ]
    return lines
