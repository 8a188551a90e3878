"""The vintage table: the headline estimate under each vintage policy, the study's marked.

Where yearbook editions on different statistical bases meet in one series
(:mod:`innopanel.data.vintages`), the clean step is run once per policy (``latest``,
``consistent``, ``splice``) and the headline model fitted on each panel. This table sets
the three estimates side by side, with the break the data-quality report found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.data_specs import VINTAGE_POLICIES
from innopanel.exhibits.table_model import Column, Number, Panel, Row, Table, Text, table_notes
from innopanel.vocabulary import UnitNoun

CHOSEN_MARK = " (chosen)"
POLICY_TEXT = {
    "latest": "latest keeps every value as the latest edition that prints it has it",
    "consistent": "consistent drops the values of editions on another basis",
    "splice": (
        "splice rescales them by the unit's ratio latest/earlier in the nearest overlap year"
    ),
}


def vintage_table(
    estimates: Mapping[str, str | Path],
    quality: Mapping[str, str | Path],
    *,
    chosen: str,
    model: str,
    term: str,
    model_label: str,
    term_label: str,
    unit: UnitNoun,
    labels: Mapping[str, str],
    names: Mapping[str, str],
    digits: int = 3,
    note: str | None = None,
    name: str = "vintages",
) -> Table:
    """Tabulate ``term`` of ``model`` from each policy's estimates file.

    ``estimates`` and ``quality`` map each policy to its estimates CSV and its
    data-quality report JSON; ``chosen`` is the study's ``data.vintages.policy``.
    ``labels`` (variable -> label) and ``names`` (unit id -> name) word the note.
    """
    rows = []
    for policy in VINTAGE_POLICIES:
        frame = pd.read_csv(estimates[policy])
        found = frame.loc[(frame["model"] == model) & (frame["term"] == term)]
        if len(found) != 1:
            raise ValueError(
                f"{estimates[policy]}: no single estimate of '{term}' in model '{model}'. "
                "Check exhibits.vintage_table.model and term."
            )
        row = found.iloc[0]
        section = json.loads(Path(quality[policy]).read_text(encoding="utf-8"))["vintages"]
        changed = len(section["dropped"]) + len(section["rescaled"])
        rows.append(
            Row(
                policy + (CHOSEN_MARK if policy == chosen else ""),
                (
                    Number(float(row["estimate"]), digits),
                    Number(float(row["std_error"]), digits),
                    Number(float(row["p_value"]), 3),
                    Number(float(row["nobs"]), 0),
                    Text(f"{int(row['sample_first_year'])}–{int(row['sample_last_year'])}"),
                    Number(float(changed), 0),
                ),
            )
        )
    breaks = json.loads(Path(quality[chosen]).read_text(encoding="utf-8"))["vintages"]["breaks"]
    sentences = [
        f"{model_label}: the coefficient of {term_label} and its standard error, on the "
        "panel cleaned under each vintage policy; the study's choice is marked"
        f"{CHOSEN_MARK}.",
        *(_break_sentence(found, unit, labels, names) for found in breaks),
        "Policies: " + "; ".join(POLICY_TEXT[p] for p in VINTAGE_POLICIES) + ".",
        "Values changed: the values the policy dropped or rescaled, each listed in the "
        "data-quality report.",
    ]
    return Table(
        name=name,
        columns=(
            Column("Estimate"),
            Column("SE"),
            Column("p-value"),
            Column("N"),
            Column("Years"),
            Column("Values changed"),
        ),
        panels=(Panel("", tuple(rows)),),
        notes=table_notes(sentences, note),
        stub_header="Vintage policy",
    )


def _break_sentence(
    found: Mapping[str, Any], unit: UnitNoun, labels: Mapping[str, str], names: Mapping[str, str]
) -> str:
    """One level break in words: editions, years, and its size per unit."""
    units = sorted(found["units"], key=lambda u: -abs(float(u["shift"]) - 1))
    largest = ", ".join(
        f"{names.get(u['unit_id'], u['unit_id'])} ×{float(u['shift']):.2f}" for u in units[:3]
    )
    variable = labels.get(found["variable"], found["variable"])
    return (
        f"Level break in {variable}: the panel takes {_span(found['kept_years'])} "
        f"from edition {found['earlier_edition']} and later years from edition "
        f"{found['basis_edition']}, which reprints {_span(found['overlap_years'])} on "
        f"another basis; {found['units_shifted']} of {found['units_compared']} "
        f"{unit.plural} moved by more than the tolerance (median ratio "
        f"{found['basis_edition']}/{found['earlier_edition']} over the overlap; largest "
        f"{largest})."
    )


def _span(years: list[int]) -> str:
    """Years as text: "2011", "2012–2018" when consecutive, else "2010, 2012"."""
    if len(years) > 1 and years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(year) for year in years)


def vintage_sentence(table_csv: str | Path, term_label: str) -> str:
    """The paper's sentence on the vintage choice, its numbers read from the table's CSV."""
    frame = pd.read_csv(table_csv, dtype=str, keep_default_na=False)
    rows = frame.loc[frame["Vintage policy"] != "Note"].set_index("Vintage policy")
    chosen = next(label for label in rows.index if label.endswith(CHOSEN_MARK))
    policy = chosen.removesuffix(CHOSEN_MARK)

    def quoted(label: str) -> str:
        row = rows.loc[label]
        return f"{row['Estimate']} (SE {row['SE']}, N = {row['N']}, {row['Years']})"

    others = [p for p in VINTAGE_POLICIES if p != policy]
    breaks = [
        sentence
        for note in frame.loc[frame["Vintage policy"] == "Note", "Estimate"]
        for sentence in note.split(". ")
        if sentence.startswith("Level break")
    ]
    return (
        f"{term_label} is assembled from yearbook editions on different statistical bases. "
        + "".join(sentence.rstrip(".") + ". " for sentence in breaks)
        + f"The study cleans it under the vintage policy '{policy}', which gives the "
        f"headline coefficient {quoted(chosen)}; under "
        + " and ".join(f"'{p}' it is {quoted(p)}" for p in others)
        + "."
    )
