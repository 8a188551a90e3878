"""Which units of the panel each model uses, and why the others fall out.

A model is estimated on complete cases: a unit-year missing any model variable is
dropped, and a unit whose every year is dropped leaves the model without a word. This
module says so: for every model, the units of the panel it does not use (the
``dropped_units`` of estimates.csv), with each missing variable and the years it is
missing in; the units it uses that lose some years, with those years and why; and, for
every logged variable, how many unit-years its log leaves missing because the variable
is zero or negative. It
reads only the panel and the models, never the clean step's internals, and writes
``data_quality/model_coverage.json`` and ``.md``; the regression tables' notes read the
panel's unit count from the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from innopanel.config.specs import ModelSpec
from innopanel.econometrics.estimators import EstimationError
from innopanel.econometrics.models import ENTITY, TIME, estimating_units, model_frame
from innopanel.vocabulary import UnitNoun, capitalised, unit_words

NAME_COLUMN = "name_en"


@dataclass(frozen=True)
class MissingVariable:
    """One model variable a unit lacks: the years (of the model's window) it is missing."""

    variable: str
    years: tuple[int, ...]


def year_ranges(years: Sequence[int]) -> str:
    """Years as compact text: (2011, 2012, 2013, 2016) -> "2011-2013, 2016"."""
    ranges: list[list[int]] = []
    for year in sorted(years):
        if ranges and year == ranges[-1][1] + 1:
            ranges[-1][1] = year
        else:
            ranges.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def sample_years(sample: pd.DataFrame) -> str:
    """The years a model's sample (:func:`model_frame`) has rows in, as compact text: its
    first and last are estimates.csv's sample_first_year and sample_last_year."""
    return year_ranges(sorted(set(sample.index.get_level_values(TIME).astype("int64"))))


def _window(panel: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    years = panel[TIME].astype("int64")
    keep = pd.Series(True, index=panel.index)
    if spec.first_year is not None:
        keep &= years >= spec.first_year
    if spec.last_year is not None:
        keep &= years <= spec.last_year
    return panel[keep]


def missing_variables(panel: pd.DataFrame, spec: ModelSpec) -> dict[str, list[MissingVariable]]:
    """For each unit that lacks a model variable in some of the model's years: the
    variables it lacks, in model order, each with those years (one pass per variable)."""
    rows = _window(panel, spec)
    found: dict[str, list[MissingVariable]] = {}
    for variable in dict.fromkeys(spec.variables):
        absent = rows[rows[variable].isna()] if variable in rows else rows
        years = absent[TIME].astype("int64").groupby(absent[ENTITY], sort=True)
        for unit_id, unit_years in years:
            found.setdefault(str(unit_id), []).append(
                MissingVariable(variable, tuple(sorted(int(y) for y in unit_years)))
            )
    return found


def log_drops(
    panel: pd.DataFrame, spec: ModelSpec, log_of: Mapping[str, str]
) -> dict[str, dict[str, int]]:
    """For each logged model variable (``log_of``: log variable -> its variable), the
    unit-years of the model's window whose log is missing because the variable is zero
    or negative (a log of either is undefined, so those rows leave the sample)."""
    rows = _window(panel, spec)
    counts = {}
    for variable in dict.fromkeys(spec.variables):
        source = log_of.get(variable)
        if source is None or source not in rows or variable not in rows:
            continue
        lost = rows[variable].isna()
        values = pd.to_numeric(rows[source], errors="coerce")
        counts[variable] = {
            "of": source,
            "zero": int((lost & (values == 0)).sum()),
            "negative": int((lost & (values < 0)).sum()),
        }
    return counts


def _partial_losses(
    panel: pd.DataFrame, sample: pd.DataFrame, spec: ModelSpec, used: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """For each used unit that loses some of its rows in the model's years: the years
    it has a panel row in but no row of the complete-case sample."""
    window = _window(panel, spec)
    have = pd.MultiIndex.from_arrays([window[ENTITY], window[TIME].astype("int64")])
    kept = pd.MultiIndex.from_arrays(
        [
            sample.index.get_level_values(ENTITY).astype(str),
            sample.index.get_level_values(TIME).astype("int64"),
        ]
    )
    lost = have[~have.isin(kept) & have.get_level_values(0).isin(list(used))]
    losses: dict[str, list[int]] = {}
    for unit_id, year in lost:
        losses.setdefault(str(unit_id), []).append(int(year))
    return {unit_id: tuple(sorted(years)) for unit_id, years in sorted(losses.items())}


def _missing_entries(missing: Sequence[MissingVariable]) -> list[dict[str, Any]]:
    return [{"variable": m.variable, "years": list(m.years)} for m in missing]


def model_coverage(
    panel: pd.DataFrame,
    models: Mapping[str, ModelSpec],
    log_of: Mapping[str, str],
    unit: UnitNoun | str = "unit",
) -> dict[str, Any]:
    """Every model's sample against the panel: the units it uses, for each unit it does
    not use which variable is missing in which years, and for each unit it uses only in
    some years the years it loses and why. ``log_of`` maps each log variable to the
    variable it is the log of (for the count of zeros a log drops).

    A model's units are those of its estimating regression
    (:func:`innopanel.econometrics.models.estimating_units`), so the units not used here
    are the ``dropped_units`` of estimates.csv."""
    singular, plural = unit_words(unit)
    units = sorted(panel[ENTITY].astype(str).unique())
    names = (
        panel.drop_duplicates(ENTITY).set_index(ENTITY)[NAME_COLUMN].astype(str).to_dict()
        if NAME_COLUMN in panel
        else {}
    )
    panel = panel.assign(**{ENTITY: panel[ENTITY].astype(str)})
    report: dict[str, Any] = {
        "unit": singular,
        "units": plural,
        "panel_units": len(units),
        "models": {},
    }
    used_anywhere: set[str] = set()
    for name, spec in models.items():
        try:
            sample = model_frame(panel, spec)
        except EstimationError as error:
            sample, problem = None, str(error)
        else:
            problem = None
        in_sample = (
            set() if sample is None else set(sample.index.get_level_values(ENTITY).astype(str))
        )
        used = [] if sample is None else estimating_units(sample, spec)
        # Units with complete rows the estimator still cannot use: Poisson's always-zero
        # outcomes, first differences' units without two consecutive years.
        unusable = sorted(in_sample - set(used))
        outcome_zero = unusable if spec.estimator == "ppml" else []
        unpaired = set(unusable) if spec.estimator == "first_differences" else set()
        partial = {} if sample is None else _partial_losses(panel, sample, spec, used)
        in_window = set(_window(panel, spec)[ENTITY])
        missing = missing_variables(panel, spec)
        used_anywhere.update(used)
        report["models"][name] = {
            "label": spec.label,
            "window": spec.window,
            "sample_years": None if sample is None else sample_years(sample),
            "units_used": len(used),
            "not_estimable": problem,
            "outcome_always_zero": outcome_zero,
            "units_not_used": [
                {
                    "unit_id": unit_id,
                    "name": names.get(unit_id, unit_id),
                    "missing": _missing_entries(missing.get(unit_id, [])),
                    "no_row_in_window": unit_id not in in_window,
                    "no_consecutive_years": unit_id in unpaired,
                }
                for unit_id in units
                if unit_id not in used and unit_id not in outcome_zero
            ],
            "units_losing_years": [
                {
                    "unit_id": unit_id,
                    "name": names.get(unit_id, unit_id),
                    "years_lost": list(years),
                    "missing": _missing_entries(missing.get(unit_id, [])),
                }
                for unit_id, years in partial.items()
            ],
            "log_drops": log_drops(panel, spec, log_of),
        }
    report["units_in_no_model"] = [
        {"unit_id": unit_id, "name": names.get(unit_id, unit_id)}
        for unit_id in units
        if unit_id not in used_anywhere
    ]
    return report


def _missing_text(missing: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{m['variable']} missing in {year_ranges(m['years'])}" for m in missing)


def _not_used_line(unit: Mapping[str, Any], window: str) -> str:
    """Why a unit is in no row of a model: its missing variables, else what else."""
    reasons = _missing_text(unit["missing"])
    if unit["no_consecutive_years"]:
        pairs = "no two consecutive years with every variable observed (first differences)"
        reasons = f"{reasons}; {pairs}" if reasons else pairs
    elif unit["no_row_in_window"]:
        reasons = f"no row in {window}"
    elif not unit["missing"]:
        reasons = "its observed years lack the lagged values the model needs"
    return f"- {unit['name']} ({unit['unit_id']}): {reasons}."


def _losing_lines(losing: Sequence[Mapping[str, Any]], used: int, plural: str) -> list[str]:
    """The used units that lose some years, one line per distinct loss: the years and
    why, and the units that share it (all of them said once, e.g. a year no unit has)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for unit in losing:
        years = unit["years_lost"]
        reasons = _missing_text(unit["missing"]) or "lagged values missing"
        loss = f"{len(years)} year(s), {year_ranges(years)}: {reasons}"
        groups.setdefault(loss, []).append(unit)
    lines = []
    for loss, units in groups.items():
        if len(units) == 1:
            who = f"{units[0]['name']} ({units[0]['unit_id']}) loses"
        elif len(units) == used:
            who = f"All {used} {plural} of the sample lose"
        else:
            who = f"{len(units)} {plural} ({', '.join(u['name'] for u in units)}) lose"
        lines.append(f"- {who} {loss}.")
    return lines


def _years_cell(entry: Mapping[str, Any]) -> str:
    """A model's sample years, with the window it was given where they differ (a lag or
    a missing variable can cost the window's first years)."""
    years = entry["sample_years"]
    if years is None:
        return f"none (window {entry['window']})"
    return years if years == entry["window"] else f"{years} (window {entry['window']})"


def coverage_markdown(report: Mapping[str, Any]) -> str:
    """The coverage report as Markdown: a summary line per model, then each unit a model
    does not use with its missing variables and years, and each unit it uses that loses
    some years, with those years and why."""
    plural = report["units"]
    lines = [
        "# Model coverage",
        "",
        f"The panel has {report['panel_units']} {plural}. A model uses a unit-year only when "
        "every model variable is observed in it (complete cases).",
        "",
    ]
    absent = report["units_in_no_model"]
    if absent:
        lines += [
            f"**{len(absent)} {plural} are in the panel but in no model's sample:** "
            + ", ".join(f"{u['name']} ({u['unit_id']})" for u in absent)
            + ". The reasons are listed per model below.",
            "",
        ]
    else:
        lines += [f"Every {report['unit']} of the panel is in at least one model's sample.", ""]
    lines += [
        f"| Model | Sample years | {capitalised(plural)} used | Not used (dropped_units) | "
        "Used, losing some years |",
        "|---|---|---|---|---|",
    ]
    for entry in report["models"].values():
        lines.append(
            f"| {entry['label']} | {_years_cell(entry)} | {entry['units_used']} | "
            f"{len(entry['units_not_used']) + len(entry['outcome_always_zero'])} | "
            f"{len(entry['units_losing_years'])} |"
        )
    complete = []
    for name, entry in report["models"].items():
        drops = [
            f"- {variable}: {counts['zero']} unit-years where {counts['of']} is zero and "
            f"{counts['negative']} where it is negative have no log and leave the sample."
            for variable, counts in entry["log_drops"].items()
            if counts["zero"] or counts["negative"]
        ]
        lost = entry["units_not_used"] or entry["outcome_always_zero"] or entry["not_estimable"]
        losing = entry["units_losing_years"]
        if not lost:
            complete.append(entry["label"])
        if not (lost or losing or drops):
            continue
        lines += ["", f"## {entry['label']} (`{name}`)", ""]
        if entry["not_estimable"]:
            lines += [f"Not estimable: {entry['not_estimable']}", ""]
        lines += [_not_used_line(unit, entry["window"]) for unit in entry["units_not_used"]]
        if entry["outcome_always_zero"]:
            lines.append(
                "- Outcome always zero, so Poisson drops them: "
                + ", ".join(entry["outcome_always_zero"])
                + "."
            )
        if losing:
            lines += [
                *([""] if lines[-1] else []),
                f"{capitalised(plural)} in the sample that lose some years:",
                "",
                *_losing_lines(losing, entry["units_used"], plural),
                *([""] if drops else []),
            ]
        lines += drops
    if complete:
        lines += [
            "",
            f"Every {report['unit']} of the panel is in the sample of: "
            + "; ".join(complete)
            + ".",
        ]
    return "\n".join(lines) + "\n"
