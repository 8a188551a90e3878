"""Which units of the panel each model uses, and why the others fall out.

A model is estimated on complete cases: a unit-year missing any model variable is
dropped, and a unit whose every year is dropped leaves the model without a word. This
module says so: for every model, the units of the panel it does not use, with each
missing variable and the years it is missing in, and, for every logged variable, how
many unit-years its log leaves missing because the variable is zero or negative. It
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
from innopanel.econometrics.models import ENTITY, TIME, model_frame
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


def _window(panel: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    years = panel[TIME].astype("int64")
    keep = pd.Series(True, index=panel.index)
    if spec.first_year is not None:
        keep &= years >= spec.first_year
    if spec.last_year is not None:
        keep &= years <= spec.last_year
    return panel[keep]


def missing_variables(panel: pd.DataFrame, spec: ModelSpec, unit_id: str) -> list[MissingVariable]:
    """The model variables ``unit_id`` lacks in the model's years, each with those years."""
    rows = _window(panel, spec)
    rows = rows[rows[ENTITY] == unit_id]
    found = []
    for variable in dict.fromkeys(spec.variables):
        absent = (
            rows[TIME][rows[variable].isna()].astype("int64") if variable in rows else rows[TIME]
        )
        if len(absent):
            found.append(MissingVariable(variable, tuple(int(y) for y in sorted(absent))))
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


def model_coverage(
    panel: pd.DataFrame,
    models: Mapping[str, ModelSpec],
    log_of: Mapping[str, str],
    unit: UnitNoun | str = "unit",
) -> dict[str, Any]:
    """Every model's sample against the panel: the units it uses, and for each unit it
    does not use, which variable is missing in which years. ``log_of`` maps each log
    variable to the variable it is the log of (for the count of zeros a log drops)."""
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
            used = sorted(set(sample.index.get_level_values(ENTITY).astype(str)))
            problem = None
        except EstimationError as error:
            used, problem = [], str(error)
        outcome_zero: list[str] = []
        if spec.estimator == "ppml" and problem is None:
            # Poisson cannot fit a unit whose outcome is zero in every year: it is dropped.
            totals = sample[spec.outcome].groupby(level=ENTITY).sum()
            outcome_zero = sorted(str(u) for u in totals.index[totals == 0])
            used = [u for u in used if u not in outcome_zero]
        used_anywhere.update(used)
        report["models"][name] = {
            "label": spec.label,
            "window": spec.window,
            "units_used": len(used),
            "not_estimable": problem,
            "outcome_always_zero": outcome_zero,
            "units_not_used": [
                {
                    "unit_id": unit_id,
                    "name": names.get(unit_id, unit_id),
                    "missing": [
                        {"variable": m.variable, "years": list(m.years)}
                        for m in missing_variables(panel, spec, unit_id)
                    ],
                }
                for unit_id in units
                if unit_id not in used and unit_id not in outcome_zero
            ],
            "log_drops": log_drops(panel, spec, log_of),
        }
    report["units_in_no_model"] = [
        {"unit_id": unit_id, "name": names.get(unit_id, unit_id)}
        for unit_id in units
        if unit_id not in used_anywhere
    ]
    return report


def coverage_markdown(report: Mapping[str, Any]) -> str:
    """The coverage report as Markdown: a summary line per model, then each unit a model
    does not use with its missing variables and years."""
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
    lines += [f"| Model | Years | {capitalised(plural)} used | Not used |", "|---|---|---|---|"]
    for entry in report["models"].values():
        lines.append(
            f"| {entry['label']} | {entry['window']} | {entry['units_used']} | "
            f"{len(entry['units_not_used']) + len(entry['outcome_always_zero'])} |"
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
        if not (lost or drops):
            complete.append(entry["label"])
            continue
        lines += ["", f"## {entry['label']} (`{name}`)", ""]
        if entry["not_estimable"]:
            lines += [f"Not estimable: {entry['not_estimable']}", ""]
        for unit in entry["units_not_used"]:
            reasons = "; ".join(
                f"{m['variable']} missing in {year_ranges(m['years'])}" for m in unit["missing"]
            )
            reasons = reasons or "its observed years lack the lagged values the model needs"
            lines.append(f"- {unit['name']} ({unit['unit_id']}): {reasons}.")
        if entry["outcome_always_zero"]:
            lines.append(
                "- Outcome always zero, so Poisson drops them: "
                + ", ".join(entry["outcome_always_zero"])
                + "."
            )
        lines += drops
    if complete:
        lines += [
            "",
            f"Every {report['unit']} of the panel is in the sample of: "
            + "; ".join(complete)
            + ".",
        ]
    return "\n".join(lines) + "\n"
