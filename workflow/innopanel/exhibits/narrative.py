"""The study's text with its numbers filled in from the run's outputs.

``study.narrative`` (innopanel.config.narrative) writes each number as a placeholder;
here each is read from the file that holds it: estimates from
``estimates/estimates.csv``, the panel's size from ``data_quality/report.json``, a
synthetic study's truth from its config. The result is plain text; the paper
escapes it for LaTeX and the report for HTML.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.narrative import (
    ESTIMATE_FIELDS,
    PARAGRAPHS,
    PLACEHOLDER,
    narrative_of,
    placeholder_names,
    true_coefficients,
)
from innopanel.config.study import study_unit
from innopanel.config.unit_labels import variable_labels
from innopanel.exhibits.table_model import display_number

# Below this a p-value prints as "< 0.001": more digits claim a precision the reference
# distribution does not have.
SMALLEST_P = 0.001
EN_DASH = "\u2013"
NBSP = "\u00a0"


@dataclass(frozen=True)
class Narrative:
    """The study's text, filled: (heading, paragraphs) per section, and the headline
    estimate as one sentence."""

    sections: tuple[tuple[str, tuple[str, ...]], ...]
    headline: str


def _p_value(p: float) -> str:
    return f"< {SMALLEST_P}" if p < SMALLEST_P else f"{p:.3f}"


def estimate_values(row: Mapping[str, Any], term_label: str, digits: int) -> dict[str, str]:
    """What each estimate placeholder prints for one row of estimates.csv."""
    p = float(row["p_value"])
    values = {
        "coefficient": display_number(float(row["estimate"]), digits),
        "std_error": display_number(float(row["std_error"]), digits),
        "p_value": _p_value(p),
        # No-break spaces: "p < 0.001" is never split across lines.
        "p": f"p{NBSP}<{NBSP}{SMALLEST_P}" if p < SMALLEST_P else f"p{NBSP}={NBSP}{p:.3f}",
        "ci_low": display_number(float(row["ci_lower"]), digits),
        "ci_high": display_number(float(row["ci_upper"]), digits),
        "n_obs": f"{int(row['nobs']):,}",
        "n_units": f"{int(row['n_entities']):,}",
        "years": f"{int(row['sample_first_year'])}{EN_DASH}{int(row['sample_last_year'])}",
        "model": str(row["model_label"]),
        "term": term_label,
    }
    assert set(values) == set(ESTIMATE_FIELDS), "a field without a value"
    return values


def _estimate_row(estimates: pd.DataFrame, model: str, term: str, source: str) -> pd.Series:
    rows = estimates[(estimates["model"] == model) & (estimates["term"] == term)]
    if len(rows) != 1:
        raise ValueError(
            f"{source}: {len(rows)} rows for model '{model}', term '{term}', where the "
            "narrative quotes one; rerun the estimate step or correct study.narrative."
        )
    row = rows.iloc[0]
    if any(pd.isna(row[c]) for c in ("estimate", "std_error", "p_value")):
        raise ValueError(
            f"{source}: model '{model}', term '{term}' has no estimate (see its note: "
            f"{row.get('note')}); the narrative cannot quote it."
        )
    return row


def placeholder_values(
    config: Mapping[str, Any],
    estimates_csv: str | os.PathLike[str],
    quality_json: str | os.PathLike[str],
) -> dict[str, str]:
    """Every placeholder the narrative may use, filled from the outputs."""
    narrative = narrative_of(config)
    if narrative is None:
        return {}
    digits = int(config["exhibits"]["regression_table"]["digits"])
    labels = variable_labels(config)
    estimates = pd.read_csv(estimates_csv)
    values: dict[str, str] = {}
    wanted = placeholder_names(config)
    pairs = sorted({tuple(name.split(".")[1:3]) for name in wanted if name.startswith("estimate.")})
    used = {name for _, text in _texts(narrative) for name in PLACEHOLDER.findall(text)}
    for model, term in pairs:
        if not any(name.startswith(f"estimate.{model}.{term}.") for name in used):
            continue
        row = _estimate_row(estimates, model, term, str(estimates_csv))
        for field, text in estimate_values(row, labels.get(term, term), digits).items():
            values[f"estimate.{model}.{term}.{field}"] = text
    model, term = narrative["headline"]["model"], narrative["headline"]["term"]
    row = _estimate_row(estimates, model, term, str(estimates_csv))
    for field, text in estimate_values(row, labels.get(term, term), digits).items():
        values[f"headline.{field}"] = text
    panel = json.loads(Path(quality_json).read_text(encoding="utf-8"))["panel"]
    first, last = panel["years"]
    values |= {
        "panel.units": f"{int(panel['units']):,}",
        "panel.unit_years": f"{int(panel['rows']):,}",
        "panel.years": f"{first}{EN_DASH}{last}",
        "panel.first_year": str(first),
        "panel.last_year": str(last),
    }
    for variable, value in true_coefficients(config).items():
        values[f"truth.{variable}"] = display_number(float(value), digits)
    return values


def _texts(narrative: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(key, narrative[key]) for key, _ in PARAGRAPHS]


def fill(text: str, values: Mapping[str, str], where: str) -> str:
    """Return ``text`` with every placeholder replaced by its value."""

    def value(match: Any) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(
                f"{where}: placeholder '{{{name}}}' has no value in this run's outputs; "
                "rerun the workflow, or correct study.narrative."
            )
        return values[name]

    return PLACEHOLDER.sub(value, text)


def headline_sentence(values: Mapping[str, str], unit: str, units: str) -> str:
    """The headline estimate in one sentence, as the paper and the report print it."""
    v = {key.partition(".")[2]: text for key, text in values.items() if key.startswith("headline.")}
    return (
        f"{v['model']}, coefficient of {v['term']}: {v['coefficient']} (SE {v['std_error']}, "
        f"{v['p']}; 95{NBSP}% CI {v['ci_low']} to {v['ci_high']}); N{NBSP}={NBSP}{v['n_obs']} "
        f"{unit}-years, {v['n_units']} {units}, {v['years']}."
    )


def study_narrative(
    config: Mapping[str, Any],
    estimates_csv: str | os.PathLike[str],
    quality_json: str | os.PathLike[str],
) -> Narrative | None:
    """The study's narrative with its numbers filled in, or None when it has none."""
    narrative = narrative_of(config)
    if narrative is None:
        return None
    values = placeholder_values(config, estimates_csv, quality_json)
    sections = []
    for key, heading in PARAGRAPHS:
        text = fill(narrative[key], values, f"study.narrative.{key}")
        # A blank line inside a folded (>-) block is the one line break it keeps.
        # Runs of ASCII blanks fold to one space; the no-break spaces of values stay.
        paragraphs = tuple(
            re.sub(r"[ \t\r]+", " ", line).strip() for line in text.split("\n") if line.strip()
        )
        sections.append((heading, paragraphs))
    unit = study_unit(config)
    return Narrative(tuple(sections), headline_sentence(values, unit.singular, unit.plural))
