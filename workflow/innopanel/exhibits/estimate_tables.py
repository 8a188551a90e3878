"""Tables of estimation results: regressions (main and robustness) and diagnostics.

:func:`regression_table` turns the tidy estimates (one row per model and term, as
written by ``innopanel.econometrics.models``) into a
:class:`~innopanel.exhibits.table_model.Table` laid out as fixest's ``etable`` and
esttab do: one column per model headed by its label and number, the dependent
variable named once across the columns that share it; a coefficient row (with stars)
and a standard-error row (in parentheses) per variable, the constant last; the
fixed-effects block (lagged regressors, unit and year effects); then one row for the
standard errors, the estimation years, N, units and the fit statistic each estimator
has (:data:`FIT_STATISTICS`), every statistic defined in the notes.

:func:`diagnostics_table` turns ``diagnostics.csv`` (one row per test, VIF rows
carrying a ``term``) into a two-panel table: specification tests with their reference
distribution (F(df1, df2), χ²(df)), then variance inflation factors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from innopanel.exhibits.table_model import (
    Column,
    Number,
    Panel,
    Row,
    Table,
    Text,
    display_number,
    format_count,
    significance_stars,
    table_notes,
)
from innopanel.vocabulary import LAG_SUFFIX, UnitNoun, base_variable, capitalised, unit_words

CONSTANT_TERM = "const"
CONSTANT_LABEL = "Constant"
LAGGED_ROW_LABEL = "Lagged regressors"
SE_ROW_LABEL = "Standard errors"
OUTCOME_ROW_LABEL = "Dependent variable"
YEARS_ROW_LABEL = "Years"
# Row labels longer than this are split over the coefficient and standard-error rows,
# which keeps a five-model table within a plain article's text width.
LABEL_WRAP_CHARS = 20
# Short column labels for the standard-error types innopanel.econometrics.models writes; any other
# type is labelled by its cov_label up to the first comma ("Driscoll–Kraay, Bartlett
# kernel, bandwidth 2" -> "Driscoll–Kraay"), the full label going into the notes.
SHORT_SE_LABELS = {"unadjusted": "Classical", "robust": "Robust"}
LOWER_CASE_SE_WORDS = ("Clustered", "Classical", "Robust", "Heteroskedasticity", "Kernel")
ESTIMATES_REQUIRED = ("model", "term", "estimate", "std_error", "p_value", "estimator")
DIAGNOSTICS_REQUIRED = ("test", "model", "statistic", "df", "p_value")
# p-values below this are shown as "<0.001" rather than a row of zeros.
SMALLEST_P_SHOWN = 0.001


@dataclass(frozen=True)
class FitStatistic:
    """A fit statistic as the table names it, the estimates column holding it and the
    sentence of the notes that defines it."""

    label: str
    column: str
    definition: str


OVERALL_R2 = FitStatistic(
    "Overall R²",
    "r2_overall",
    "Overall R² is 1 − SSR/TSS of the outcome as it is, with fitted values Xb (the "
    "constant included, no unit effects): the usual R² for pooled OLS; for random "
    "effects it is R plm's r.squared with model pooling and type rss, not the R² of the "
    "quasi-demeaned regression that plm's summary prints.",
)
WITHIN_R2 = FitStatistic(
    "Within R²",
    "r2_within",
    "Within R² is 1 − SSR/TSS once the model's fixed effects are removed from the "
    "outcome and the regressors (fixest's within R², the R² of plm's within model).",
)
BETWEEN_R2 = FitStatistic(
    "Between R²",
    "r2",
    "Between R² is the R² of the regression on the units' means.",
)
DIFFERENCES_R2 = FitStatistic(
    "R² in differences",
    "r2",
    "R² in differences is 1 − SSR/TSS of the first-differenced equation (with its year "
    "effects where the model has them).",
)
PSEUDO_R2 = FitStatistic(
    "Pseudo R² (McFadden)",
    "pseudo_r2",
    "Pseudo R² (McFadden) is 1 − log L/log L0, L0 the likelihood of a Poisson model "
    "with a constant only (fixest's pseudo R²).",
)
#: The fit statistic of each estimator; fixed effects without any effect is pooled OLS.
FIT_STATISTICS: dict[str, FitStatistic] = {
    "pooled_ols": OVERALL_R2,
    "random_effects": OVERALL_R2,
    "fixed_effects": WITHIN_R2,
    "between": BETWEEN_R2,
    "first_differences": DIFFERENCES_R2,
    "ppml": PSEUDO_R2,
}


def fit_statistic(model: str, estimator: Any, effects: bool) -> FitStatistic:
    """Return the fit statistic a column of ``estimator`` shows (``effects``: whether
    the model absorbs unit or year effects)."""
    if estimator == "fixed_effects" and not effects:
        return OVERALL_R2
    if estimator not in FIT_STATISTICS:
        raise ValueError(
            f"model '{model}' has estimator {estimator!r}, for which the regression table "
            f"names no fit statistic; known: {sorted(FIT_STATISTICS)}. Add it to "
            "innopanel.exhibits.estimate_tables.FIT_STATISTICS."
        )
    return FIT_STATISTICS[estimator]


def period_text(first: Any, last: Any) -> str:
    """The estimation years of a column, "2012–2023" (one year alone; "" if unknown)."""
    if first is None or last is None:
        return ""
    first, last = int(first), int(last)
    return str(first) if first == last else f"{first}\u2013{last}"


def true_value_note(
    truth: Mapping[str, float], order: Sequence[str], term_labels: Mapping[str, str]
) -> str:
    """The sentence giving a synthetic panel's true coefficients, in the table's row order."""
    shown = [variable for variable in order if variable in truth]
    if not shown:
        return ""
    parts = [
        f"{term_labels.get(variable, variable)} {display_number(truth[variable], 3)}"
        for variable in shown
    ]
    return (
        "True coefficients of the synthetic data-generating process, on the log of the "
        "expected count: " + "; ".join(parts) + "."
    )


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
    true_coefficients: Mapping[str, float] | None = None,
) -> Table:
    """Build the regression table: one column per model in ``models`` order.

    ``estimates`` needs at least ``model, term, estimate, std_error, p_value,
    estimator``; it uses ``outcome, nobs, n_entities, r2, r2_within, r2_overall,
    pseudo_r2, entity_effects, time_effects, cov_type, cov_label, sample_first_year,
    sample_last_year`` where present. ``term_labels`` maps variables to row labels (a
    lagged term uses its base variable's label) and labels the dependent variable;
    ``unit`` names the fixed-effect and count rows. With ``panel_units`` (the panel's
    unit count), the note says how many units each model uses of those, so units that
    fall out of a model are never silent. ``true_coefficients`` (variable -> value, a
    synthetic panel's known truth) are stated in the notes.
    """
    models = [str(m) for m in models]
    _check_estimates(estimates, models, config_key)
    estimates = estimates.assign(model=estimates["model"].astype(str))
    singular, plural = unit_words(unit)
    order, cells = _term_rows(estimates, models)
    per_model = {m: estimates[estimates["model"] == m] for m in models}
    thresholds = tuple(float(s) for s in stars)
    n = len(models)

    def first(column: str) -> list[Any]:
        return [_first(per_model[m], column) for m in models]

    cov_labels = [str(label or "") for label in first("cov_label")]
    se_labels = [
        short_se_label(cov_type, label)
        for cov_type, label in zip(first("cov_type"), cov_labels, strict=True)
    ]
    outcome_labels = [
        str(term_labels.get(o, o)) if isinstance(o, str) and o else "" for o in first("outcome")
    ]
    header_rows = [Row("", tuple(Text(f"({i})") for i in range(1, n + 1)))]
    if any(outcome_labels):
        header_rows.append(
            Row(OUTCOME_ROW_LABEL, tuple(Text(o) for o in outcome_labels), span=True)
        )

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
    unit_effects = [_as_bool(flag) for flag in first("entity_effects")]
    year_effects = [_as_bool(flag) for flag in first("time_effects")]
    # The fixed-effects block.
    block = [
        (f"{capitalised(singular)} FE", yes_no(unit_effects)),
        ("Year FE", yes_no(year_effects)),
    ]
    if any(lagged):
        block.insert(0, (LAGGED_ROW_LABEL, yes_no(lagged)))
    rows.extend(Row(label, flags, rule_above=i == 0) for i, (label, flags) in enumerate(block))

    # The sample and fit block: one covariance row, the years, N, units, fit statistics.
    if any(se_labels):
        rows.append(
            Row(SE_ROW_LABEL, tuple(Text(s) for s in se_labels), rule_above=True, span=True)
        )
    years = [
        period_text(a, b)
        for a, b in zip(first("sample_first_year"), first("sample_last_year"), strict=True)
    ]
    if any(years):
        rows.append(
            Row(YEARS_ROW_LABEL, tuple(Text(y) for y in years), rule_above=not any(se_labels))
        )
    rows.append(Row("N", tuple(Text(format_count(v)) for v in first("nobs"))))
    rows.append(Row(capitalised(plural), tuple(Text(format_count(v)) for v in first("n_entities"))))
    statistics = [
        fit_statistic(m, estimator, by_unit or by_year)
        for m, estimator, by_unit, by_year in zip(
            models, first("estimator"), unit_effects, year_effects, strict=True
        )
    ]
    shown = list(dict.fromkeys(statistics))
    for statistic in shown:
        values = [
            _first(per_model[m], statistic.column) if own == statistic else None
            for m, own in zip(models, statistics, strict=True)
        ]
        rows.append(Row(statistic.label, tuple(Number(v, digits) for v in values)))

    # The dependent variable is named in its header row; the notes define the rest.
    notes = [standard_error_note(cov_labels)]
    if any(years):
        notes.append(
            "Years are the first and last year of each model's estimation sample "
            "(lags and missing values shorten it)."
        )
    notes.extend(statistic.definition for statistic in shown)
    if panel_units is not None:
        notes.append(coverage_note(panel_units, first("n_entities"), plural))
    if any(lagged):
        notes.append(
            "Where regressors are lagged one year, their coefficients are shown in the "
            "row of the contemporaneous variable."
        )
    if true_coefficients:
        notes.append(true_value_note(true_coefficients, order, term_labels))
    return Table(
        name=name,
        columns=tuple(Column(str(model_labels.get(m, m))) for m in models),
        panels=(Panel("", tuple(rows)),),
        header_rows=tuple(header_rows),
        notes=table_notes([n for n in notes if n], note),
        stars=thresholds,
    )


# --- diagnostics --------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _model_text(value: Any, model_labels: Mapping[str, str]) -> str:
    """Replace model keys in ``value`` with their labels ("city_fe vs random_effects")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _IDENTIFIER.sub(lambda m: model_labels.get(m.group(0), m.group(0)), str(value))


def _count_text(value: Any) -> str:
    """A degree of freedom as text ("30", "2.5"); "" when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(number):
        return ""
    return format_count(number) if number.is_integer() else f"{number:g}"


def distribution_text(df: Any, df_denominator: Any, p_value: Any) -> str:
    """The statistic's distribution under H0: "F(30, 339)" with both degrees of
    freedom, "χ²(2)" with one, "N(0, 1)" for a test with a p-value and none (the
    Pesaran CD z statistic), else ""."""
    numerator, denominator = _count_text(df), _count_text(df_denominator)
    if numerator and denominator:
        return f"F({numerator}, {denominator})"
    if numerator:
        return f"\u03c7\u00b2({numerator})"
    if _count_text(p_value):
        return "N(0, 1)"
    return ""


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


def _computation_text(computed: Mapping[str, Mapping[str, str]]) -> str:
    """One sentence per test, "<test>: <note>.", where all its models share the note,
    else one per model, "<test>, <model>: <note>." (notes hold semicolons themselves)."""
    sentences = []
    for test, by_model in computed.items():
        if len(set(by_model.values())) == 1:
            sentences.append(f"{test}: {next(iter(by_model.values()))}.")
        else:
            sentences.extend(f"{test}, {model}: {text}." for model, text in by_model.items())
    return " ".join(sentences)


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

    Panel A holds one row per specification test (statistic, its distribution under
    H0 with every degree of freedom, p-value and the conclusion); Panel B one row per
    variance inflation factor (rows with a ``term``). Null hypotheses and how each
    statistic is computed (the ``note`` column) go into the table notes, with model
    and variable keys replaced by their labels.
    """
    missing = [c for c in DIAGNOSTICS_REQUIRED if c not in diagnostics.columns]
    if missing:
        raise ValueError(
            f"diagnostics lack column(s) {missing}; expected at least {list(DIAGNOSTICS_REQUIRED)}."
        )
    if diagnostics.empty:
        raise ValueError("diagnostics.csv has no rows: no test to tabulate.")
    frame = diagnostics.copy()
    for column in ("term", "null_hypothesis", "conclusion", "note", "df_denominator"):
        if column not in frame.columns:
            frame[column] = None
    is_vif = frame["term"].map(_has_text)
    columns = (
        Column("Model", width="2.8cm"),
        Column("Statistic"),
        Column("Distribution"),
        Column("p-value"),
        Column("Conclusion", width="3.6cm"),
    )

    def blank() -> Text:
        return Text("")

    tests = []
    # One null hypothesis per test name (a test run on two models states it once).
    null_notes: dict[str, str] = {}
    # How each test is computed, per test name: its models' notes.
    computed: dict[str, dict[str, str]] = {}
    labels = {**term_labels, **model_labels}
    for _, row in frame[~is_vif].iterrows():
        test = str(row["test"])
        tests.append(
            Row(
                test,
                (
                    Text(_model_text(row["model"], model_labels)),
                    Number(row["statistic"], digits),
                    Text(distribution_text(row["df"], row["df_denominator"], row["p_value"])),
                    _p_value_cell(row["p_value"]),
                    Text(str(row["conclusion"]) if _has_text(row["conclusion"]) else ""),
                ),
            )
        )
        if _has_text(row["null_hypothesis"]):
            null_notes.setdefault(test, str(row["null_hypothesis"]).strip().rstrip("."))
        if _has_text(row["note"]):
            computed.setdefault(test, {})[_model_text(row["model"], model_labels)] = _model_text(
                str(row["note"]).strip().rstrip("."), labels
            )
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
    if computed:
        sentences.append("Computation, test by test: " + _computation_text(computed))
    sentences.append(f"A p-value below {SMALLEST_P_SHOWN} is shown as <{SMALLEST_P_SHOWN}.")
    return Table(
        name=name,
        columns=columns,
        panels=tuple(panels),
        notes=table_notes(sentences, note),
        stub_header="Test",
        stub_width="4.2cm",
    )
