"""Tables of estimation results: regressions (main and robustness) and diagnostics.

:func:`regression_table` turns the tidy estimates (one row per model and term, as
written by ``innopanel.econometrics.models``) into a
:class:`~innopanel.exhibits.table_model.Table`: one column
per model headed by its label, its number and its standard-error type; a
coefficient row (with stars) and a standard-error row (in parentheses) per
variable, the constant last; indicator rows (lagged regressors, unit and year fixed
effects); then N, units and within R² (pseudo R² where a model reports one); notes
naming the dependent variable, the standard errors, the stars and the data.

:func:`diagnostics_table` turns ``diagnostics.csv`` (one row per test, VIF rows
carrying a ``term``) into a two-panel table: specification tests, then variance
inflation factors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from innopanel.exhibits.table_model import (
    Column,
    Number,
    Panel,
    Row,
    Table,
    Text,
    format_count,
    significance_stars,
    table_notes,
)
from innopanel.vocabulary import LAG_SUFFIX, UnitNoun, base_variable, capitalised, unit_words

CONSTANT_TERM = "const"
CONSTANT_LABEL = "Constant"
LAGGED_ROW_LABEL = "Lagged regressors"
SE_ROW_LABEL = "Standard errors"
# Row labels longer than this are split over the coefficient and standard-error rows,
# which keeps a five-model table within a plain article's text width.
LABEL_WRAP_CHARS = 20
# Short column labels for the standard-error types innopanel.econometrics.models writes; any other
# type is labelled by its cov_label up to the first comma ("Driscoll–Kraay, Bartlett
# kernel, bandwidth 2" -> "Driscoll–Kraay"), the full label going into the notes.
SHORT_SE_LABELS = {"unadjusted": "Classical", "robust": "Robust"}
LOWER_CASE_SE_WORDS = ("Clustered", "Classical", "Robust", "Heteroskedasticity", "Kernel")
ESTIMATES_REQUIRED = ("model", "term", "estimate", "std_error", "p_value")
DIAGNOSTICS_REQUIRED = ("test", "model", "statistic", "df", "p_value")
# p-values below this are shown as "<0.001" rather than a row of zeros.
SMALLEST_P_SHOWN = 0.001


def _as_bool(value: Any) -> bool:
    """Read a boolean that may arrive as bool, numpy bool, 'True'/'False' text or NaN."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _first(frame: pd.DataFrame, column: str) -> Any:
    if column not in frame.columns or frame.empty:
        return None
    value = frame[column].iloc[0]
    return None if isinstance(value, float) and math.isnan(value) else value


def _split_label(label: str, width: int = LABEL_WRAP_CHARS) -> tuple[str, str]:
    """Split a long row label into two lines of balanced length at a space.

    Labels up to ``width`` characters stay on one line (the second part is empty).
    """
    words = label.split()
    if len(label) <= width or len(words) < 2:
        return label, ""
    candidates = [(" ".join(words[:cut]), " ".join(words[cut:])) for cut in range(1, len(words))]
    # Shortest longest line; ties go to the longer first line.
    return min(candidates, key=lambda pair: (max(len(pair[0]), len(pair[1])), -len(pair[0])))


def first_clause(label: str) -> str:
    """Return a label up to its first comma, keeping brackets whole: "Driscoll–Kraay
    (Bartlett kernel, bandwidth 2)" -> "Driscoll–Kraay (Bartlett kernel)" and "Robust,
    small-sample corrected" -> "Robust" (the details stay in the table note)."""
    kept, depth, skipping = [], 0, False
    for character in label:
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if skipping and depth == 0:
                skipping = False  # the bracket was closed when the skip began
                continue
        elif character == "," and not skipping:
            if depth == 0:
                break
            # A comma inside brackets ends the bracket's first clause: close it here.
            kept.append(")")
            skipping = True
        if not skipping:
            kept.append(character)
    return "".join(kept).strip()


def short_se_label(cov_type: Any, cov_label: Any) -> str:
    """Return the column label of a standard-error type ("Clustered by city", "Robust")."""
    if isinstance(cov_type, str) and cov_type in SHORT_SE_LABELS:
        return SHORT_SE_LABELS[cov_type]
    if isinstance(cov_label, str) and cov_label.strip():
        return first_clause(cov_label)
    return ""


def standard_error_note(cov_labels: Sequence[str]) -> str:
    """Describe the standard errors, once if all columns agree, else per column."""

    def phrase(label: str) -> str:
        # "Clustered by city" reads "clustered by city" mid-sentence; a name such as
        # "Driscoll–Kraay" keeps its capital.
        label = str(label).strip()
        if label.split(" ")[0].split("-")[0] in LOWER_CASE_SE_WORDS:
            return label[0].lower() + label[1:]
        return label

    distinct = list(dict.fromkeys(cov_labels))
    if len(distinct) == 1:
        label = distinct[0].strip()
        if not label:
            return "Standard errors in parentheses."
        if label.split()[0].lower().endswith("ed"):
            # "Clustered by city" -> "Standard errors clustered by city in parentheses."
            return f"Standard errors {phrase(label)} in parentheses."
        # "Heteroskedasticity-robust" -> "Heteroskedasticity-robust standard errors ..."
        return f"{label} standard errors in parentheses."
    parts = [
        f"({index}) {phrase(label) or 'not reported'}"
        for index, label in enumerate(cov_labels, start=1)
    ]
    return "Standard errors in parentheses: " + "; ".join(parts) + "."


def _term_rows(
    estimates: pd.DataFrame, models: Sequence[str]
) -> tuple[list[str], dict[str, dict[str, pd.Series]]]:
    """Return the row variables in display order and, per model, variable -> estimate row.

    Rows follow the order in which terms first appear, model by model; a lagged term
    ``<v>_lag1`` shares the row of ``<v>``; the constant comes last.
    """
    order: list[str] = []
    cells: dict[str, dict[str, pd.Series]] = {}
    for model in models:
        cells[model] = {}
        for _, row in estimates[estimates["model"] == model].iterrows():
            term = str(row["term"])
            variable = CONSTANT_TERM if term == CONSTANT_TERM else base_variable(term)
            if variable in cells[model]:
                raise ValueError(
                    f"model '{model}' has both '{variable}' and '{variable}{LAG_SUFFIX}' "
                    f"(or a duplicated term '{term}'); the table shows a lagged term in the "
                    "row of its base variable, so a model can hold only one of them."
                )
            cells[model][variable] = row
            if variable not in order:
                order.append(variable)
    if CONSTANT_TERM in order:
        order.remove(CONSTANT_TERM)
        order.append(CONSTANT_TERM)
    return order, cells


def _check_estimates(estimates: pd.DataFrame, models: Sequence[str], config_key: str) -> None:
    if not models:
        raise ValueError(f"no models to tabulate: {config_key} is empty.")
    missing_columns = [c for c in ESTIMATES_REQUIRED if c not in estimates.columns]
    if missing_columns:
        raise ValueError(f"estimates lack column(s) {missing_columns}.")
    present = set(estimates["model"].astype(str))
    missing_models = [m for m in models if m not in present]
    if missing_models:
        raise ValueError(
            f"model(s) {missing_models} are not in the estimates (have: {sorted(present)}); "
            f"check {config_key} against models in the study config."
        )


def coverage_note(panel_units: int, used: Sequence[Any], plural: str) -> str:
    """How many of the panel's units the models use, e.g. "All 100 cities of the panel
    are in every model." or "The panel has 46 regions; the models use (1) 33; (2) 46 ..."
    """
    counts = [format_count(n) for n in used]
    if all(count == format_count(panel_units) for count in counts):
        return f"All {format_count(panel_units)} {plural} of the panel are in every model."
    per_model = "; ".join(f"({i}) {count}" for i, count in enumerate(counts, start=1))
    return (
        f"The panel has {format_count(panel_units)} {plural}; the models use {per_model} "
        "(data_quality/model_coverage.md names the others and the variables they lack)."
    )


def regression_table(
    estimates: pd.DataFrame,
    models: Sequence[str],
    model_labels: Mapping[str, str],
    term_labels: Mapping[str, str],
    *,
    unit: UnitNoun | str = "unit",
    digits: int = 3,
    stars: Sequence[float] = (0.10, 0.05, 0.01),
    note: str | None = None,
    name: str = "regressions",
    config_key: str = "exhibits.regression_table.models",
    panel_units: int | None = None,
) -> Table:
    """Build the regression table: one column per model in ``models`` order.

    ``estimates`` needs at least ``model, term, estimate, std_error, p_value``; it
    uses ``outcome, nobs, n_entities, r2_within, pseudo_r2, entity_effects,
    time_effects, cov_type, cov_label`` where present. ``term_labels`` maps variables
    to row labels (a lagged term uses its base variable's label) and labels the
    dependent variable; ``unit`` names the fixed-effect and count rows. With
    ``panel_units`` (the panel's unit count), the note says how many units each model
    uses of those, so units that fall out of a model are never silent.
    """
    models = [str(m) for m in models]
    _check_estimates(estimates, models, config_key)
    estimates = estimates.assign(model=estimates["model"].astype(str))
    singular, plural = unit_words(unit)
    order, cells = _term_rows(estimates, models)
    per_model = {m: estimates[estimates["model"] == m] for m in models}
    thresholds = tuple(float(s) for s in stars)
    n = len(models)

    cov_labels = [str(_first(per_model[m], "cov_label") or "") for m in models]
    se_labels = [
        short_se_label(_first(per_model[m], "cov_type"), label)
        for m, label in zip(models, cov_labels, strict=True)
    ]
    outcomes = [_first(per_model[m], "outcome") for m in models]
    outcome_labels = [
        str(term_labels.get(o, o)) if isinstance(o, str) and o else "" for o in outcomes
    ]
    header_rows = [Row("", tuple(Text(f"({i})") for i in range(1, n + 1)))]
    if len(set(outcome_labels)) > 1:
        header_rows.append(Row("Dependent variable", tuple(Text(o) for o in outcome_labels)))
    if any(se_labels):
        header_rows.append(Row(SE_ROW_LABEL, tuple(Text(s) for s in se_labels)))

    rows: list[Row] = []
    for variable in order:
        label = CONSTANT_LABEL if variable == CONSTANT_TERM else term_labels.get(variable, variable)
        first_line, second_line = _split_label(str(label))
        coefficients, errors = [], []
        for model in models:
            row = cells[model].get(variable)
            if row is None:
                coefficients.append(Number(None, digits))
                errors.append(Number(None, digits))
                continue
            coefficients.append(
                Number(
                    row["estimate"], digits, stars=significance_stars(row["p_value"], thresholds)
                )
            )
            errors.append(Number(row["std_error"], digits, parentheses=True))
        rows.append(Row(first_line, tuple(coefficients)))
        rows.append(Row(second_line, tuple(errors), label_continues=bool(second_line)))

    def yes_no(flags: Sequence[bool]) -> tuple[Text, ...]:
        return tuple(Text("Yes" if flag else "No") for flag in flags)

    lagged = [any(str(t).endswith(LAG_SUFFIX) for t in per_model[m]["term"]) for m in models]
    indicators = []
    if any(lagged):
        indicators.append((LAGGED_ROW_LABEL, yes_no(lagged)))
    indicators.append(
        (
            f"{capitalised(singular)} FE",
            yes_no([_as_bool(_first(per_model[m], "entity_effects")) for m in models]),
        )
    )
    indicators.append(
        ("Year FE", yes_no([_as_bool(_first(per_model[m], "time_effects")) for m in models]))
    )
    for index, (label, flags) in enumerate(indicators):
        rows.append(Row(label, flags, rule_above=index == 0))

    rows.append(
        Row("N", tuple(Text(format_count(_first(per_model[m], "nobs"))) for m in models), True)
    )
    rows.append(
        Row(
            capitalised(plural),
            tuple(Text(format_count(_first(per_model[m], "n_entities"))) for m in models),
        )
    )
    for column, label in (("r2_within", "Within R²"), ("pseudo_r2", "Pseudo R²")):
        values = [_first(per_model[m], column) for m in models]
        if any(v is not None for v in values):
            rows.append(Row(label, tuple(Number(v, digits) for v in values)))

    notes = []
    if all(outcome_labels):
        if len(set(outcome_labels)) == 1:
            notes.append(f"Dependent variable: {outcome_labels[0]}.")
        else:
            notes.append(
                "Dependent variable: "
                + "; ".join(f"({i}) {label}" for i, label in enumerate(outcome_labels, start=1))
                + "."
            )
    notes.append(standard_error_note(cov_labels))
    if panel_units is not None:
        notes.append(
            coverage_note(panel_units, [_first(per_model[m], "n_entities") for m in models], plural)
        )
    if any(lagged):
        notes.append(
            "Where regressors are lagged one year, their coefficients are shown in the "
            "row of the contemporaneous variable."
        )
    return Table(
        name=name,
        columns=tuple(Column(str(model_labels.get(m, m))) for m in models),
        panels=(Panel("", tuple(rows)),),
        header_rows=tuple(header_rows),
        notes=table_notes(notes, note),
        stars=thresholds,
    )


# --- diagnostics --------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _model_text(value: Any, model_labels: Mapping[str, str]) -> str:
    """Replace model keys in ``value`` with their labels ("city_fe vs random_effects")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _IDENTIFIER.sub(lambda m: model_labels.get(m.group(0), m.group(0)), str(value))


def _df_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return format_count(number) if number.is_integer() else f"{number:g}"


def _p_value_cell(value: Any) -> Number:
    try:
        p_value = float(value)
    except (TypeError, ValueError):
        return Number(None, 3)
    if math.isfinite(p_value) and p_value < SMALLEST_P_SHOWN:
        return Number(SMALLEST_P_SHOWN, 3, comparator="<")
    return Number(p_value, 3)


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def diagnostics_table(
    diagnostics: pd.DataFrame,
    model_labels: Mapping[str, str],
    term_labels: Mapping[str, str],
    *,
    digits: int = 3,
    note: str | None = None,
    name: str = "diagnostics",
) -> Table:
    """Build the diagnostics table from ``diagnostics.csv``.

    Panel A holds one row per specification test (statistic, df, p-value and the
    conclusion); Panel B one row per variance inflation factor (rows with a
    ``term``). Null hypotheses and per-test notes go into the table notes.
    """
    missing = [c for c in DIAGNOSTICS_REQUIRED if c not in diagnostics.columns]
    if missing:
        raise ValueError(
            f"diagnostics lack column(s) {missing}; expected at least {list(DIAGNOSTICS_REQUIRED)}."
        )
    if diagnostics.empty:
        raise ValueError("diagnostics.csv has no rows: no test to tabulate.")
    frame = diagnostics.copy()
    for column in ("term", "null_hypothesis", "conclusion", "note"):
        if column not in frame.columns:
            frame[column] = None
    is_vif = frame["term"].map(_has_text)
    columns = (
        Column("Model", width="2.8cm"),
        Column("Statistic"),
        Column("df"),
        Column("p-value"),
        Column("Conclusion", width="3.6cm"),
    )

    def blank() -> Text:
        return Text("")

    tests = []
    # One null hypothesis per test name (a test run on two models states it once).
    null_notes: dict[str, str] = {}
    for _, row in frame[~is_vif].iterrows():
        test = str(row["test"])
        tests.append(
            Row(
                test,
                (
                    Text(_model_text(row["model"], model_labels)),
                    Number(row["statistic"], digits),
                    Text(_df_text(row["df"])),
                    _p_value_cell(row["p_value"]),
                    Text(str(row["conclusion"]) if _has_text(row["conclusion"]) else ""),
                ),
            )
        )
        if _has_text(row["null_hypothesis"]):
            null_notes.setdefault(test, str(row["null_hypothesis"]).strip().rstrip("."))
    vifs = [
        Row(
            str(term_labels.get(base_variable(str(row["term"])), row["term"]))
            + (" (lagged)" if str(row["term"]).endswith(LAG_SUFFIX) else ""),
            (
                Text(_model_text(row["model"], model_labels)),
                Number(row["statistic"], digits),
                blank(),
                blank(),
                blank(),
            ),
        )
        for _, row in frame[is_vif].iterrows()
    ]
    panels = []
    if tests:
        panels.append(Panel("Specification tests" if vifs else "", tuple(tests)))
    if vifs:
        panels.append(Panel("Variance inflation factors" if tests else "", tuple(vifs)))

    sentences = []
    if null_notes:
        sentences.append(
            "Null hypotheses: "
            + "; ".join(f"{test}: {null}" for test, null in null_notes.items())
            + "."
        )
    if vifs:
        sentences.append(
            "A variance inflation factor is 1/(1 − R²) of a regressor on the model's other "
            "regressors; values above 10 are the usual warning sign of collinearity."
        )
    # Per-test computational details (covariances, corrections, expected values) are long;
    # they stay in the machine-readable file rather than overflowing the page.
    sentences.append("How each statistic is computed is in the note column of diagnostics.csv.")
    sentences.append(f"A p-value below {SMALLEST_P_SHOWN} is shown as <{SMALLEST_P_SHOWN}.")
    return Table(
        name=name,
        columns=columns,
        panels=tuple(panels),
        notes=table_notes(sentences, note),
        stub_header="Test",
        stub_width="4.2cm",
    )
