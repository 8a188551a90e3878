"""LaTeX regression tables.

:func:`render_regression_table` turns the tidy estimates (one row per model and
term, as written by ``innopanel.models``) into a ``threeparttable`` with booktabs
rules: one column per model, a coefficient row (with significance stars) and a
standard-error row (in parentheses) per variable, indicator rows (lagged
regressors, city and year fixed effects), then N, cities and within R², and table
notes naming the standard errors, the stars and the data note.

The output is a bare ``threeparttable`` (no float, no caption), so a paper wraps
it in its own ``table`` environment::

    \\begin{table}\\centering
      \\caption{...}\\label{...}
      \\input{regressions.tex}
    \\end{table}

It compiles in a plain ``\\documentclass{article}`` that loads only the packages in
:data:`REQUIRED_LATEX_PACKAGES`. Every piece of text is escaped with
:func:`latex_escape`; the output bytes depend only on the inputs (no dates, no
versions).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from innopanel.config import LAG_SUFFIX, base_variable
from innopanel.io import write_text

#: LaTeX packages the table needs, in the order to load them. Nothing else is used:
#: no dcolumn/siunitx, no array, no amsmath, no textcomp-only symbols.
REQUIRED_LATEX_PACKAGES: tuple[str, ...] = ("booktabs", "threeparttable")

CONSTANT_TERM = "const"
CONSTANT_LABEL = "Constant"
LAGGED_ROW_LABEL = "Regressors lagged one year"

# Model column titles longer than this many characters are wrapped onto several lines.
HEADER_WRAP_CHARS = 7
# Row labels longer than this are split over the coefficient and standard-error rows.
LABEL_WRAP_CHARS = 26
# Layout: the table is set in \small with narrower column gaps so that five model
# columns fit the text width of a plain article (both settings stay local to the
# threeparttable environment).
FONT_SIZE_COMMAND = r"\small"
TABCOLSEP = "3pt"

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # Typographic characters mapped to plain LaTeX, so the output does not depend on
    # the engine's UTF-8 support for them.
    "\u2014": "---",  # em dash
    "\u2013": "--",  # en dash
    "\u2212": "$-$",  # minus sign
    "\u2018": "`",
    "\u2019": "'",
    "\u201c": "``",
    "\u201d": "''",
    "\u00a0": "~",  # no-break space
    "\u00b2": r"\textsuperscript{2}",
    "\u00d7": r"$\times$",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: object) -> str:
    """Return ``text`` with every LaTeX special character escaped.

    Handles ``\\ & % $ # _ { } ~ ^`` (and ``< >``, which OT1 fonts misprint), and maps
    dashes, curly quotes, the minus sign, ``²`` and ``×`` to plain LaTeX.
    """
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


def significance_stars(p_value: float | None, thresholds: Sequence[float]) -> str:
    """Return one star per threshold that ``p_value`` is strictly below.

    With ``thresholds = [0.10, 0.05, 0.01]``: p < 0.01 → ``***``, p < 0.05 → ``**``,
    p < 0.10 → ``*``; a p-value exactly at a threshold does not earn its star.
    A missing p-value earns none.
    """
    if p_value is None or not _is_finite(p_value):
        return ""
    return "*" * sum(1 for threshold in thresholds if float(p_value) < float(threshold))


def format_number(value: float | None, digits: int) -> str:
    """Format a number with ``digits`` decimals for LaTeX text mode.

    A negative number gets a true minus sign (``$-$``); a value that rounds to zero
    is shown without a sign; a missing value is an empty string.
    """
    if value is None or not _is_finite(value):
        return ""
    text = f"{float(value):.{digits}f}"
    if text.startswith("-"):
        magnitude = text[1:]
        if set(magnitude) <= {"0", "."}:
            return magnitude
        return "$-$" + magnitude
    return text


def format_count(value: float | None) -> str:
    """Format a count (observations, cities) with thousands separators."""
    if value is None or not _is_finite(value):
        return ""
    return f"{round(float(value)):,}"


def _format_threshold(threshold: float) -> str:
    text = f"{float(threshold):.10f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return f"{float(threshold):.{max(2, decimals)}f}"


def _is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _as_bool(value: Any) -> bool:
    """Read a boolean that may arrive as bool, numpy bool, 'True'/'False' text or NaN."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _wrap_header(label: str, width: int = HEADER_WRAP_CHARS) -> list[str]:
    """Greedy word wrap of a column title; words are never split."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


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


def _header_cell(label: str) -> str:
    lines = [latex_escape(line) for line in _wrap_header(label)]
    if len(lines) == 1:
        return lines[0]
    # A nested tabular stacks the lines without needing any package.
    return r"\begin{tabular}[b]{@{}c@{}}" + r"\\ ".join(lines) + r"\end{tabular}"


def _first(frame: pd.DataFrame, column: str) -> Any:
    if column not in frame.columns or frame.empty:
        return None
    return frame[column].iloc[0]


def _standard_error_note(cov_labels: Sequence[str]) -> str:
    """Describe the standard errors, once if all columns agree, else per column."""

    def phrase(label: str) -> str:
        label = str(label).strip()
        if not label:
            return ""
        return label[0].lower() + label[1:]

    distinct = list(dict.fromkeys(cov_labels))
    if len(distinct) == 1:
        label = distinct[0].strip()
        if not label:
            return "Standard errors in parentheses."
        if label.split()[0].lower().endswith("ed"):
            # "Clustered by city" -> "Standard errors clustered by city in parentheses."
            return f"Standard errors {latex_escape(phrase(label))} in parentheses."
        # "Heteroskedasticity-robust" -> "Heteroskedasticity-robust standard errors ..."
        return f"{latex_escape(label)} standard errors in parentheses."
    parts = [
        f"({index}) {latex_escape(phrase(label) or 'not reported')}"
        for index, label in enumerate(cov_labels, start=1)
    ]
    return "Standard errors in parentheses: " + "; ".join(parts) + "."


def _star_note(thresholds: Sequence[float]) -> str:
    ordered = sorted((float(t) for t in thresholds), reverse=True)
    parts = [
        f"$^{{{'*' * count}}}$~$p<{_format_threshold(threshold)}$"
        for count, threshold in enumerate(ordered, start=1)
    ]
    return ", ".join(parts) + "."


def _row(cells: Sequence[str]) -> str:
    return " & ".join(cells) + r" \\"


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


def render_regression_table(
    estimates: pd.DataFrame,
    models: Sequence[str],
    model_labels: Mapping[str, str],
    term_labels: Mapping[str, str],
    *,
    digits: int = 3,
    stars: Sequence[float] = (0.10, 0.05, 0.01),
    note: str | None = None,
) -> str:
    """Return the LaTeX source of the regression table.

    Parameters
    ----------
    estimates
        Tidy estimates: one row per (model, term) with at least ``model, term,
        estimate, std_error, p_value, nobs, n_entities, r2_within, entity_effects,
        time_effects, cov_label`` (``outcome`` is used for the header if present).
    models
        Model keys, one column each, in this order.
    model_labels
        Model key -> column title (a missing key falls back to the model key).
    term_labels
        Variable -> row label (``variables.<v>.label``); lagged terms use the label of
        their base variable. Also used for the dependent variable in the header.
    digits
        Decimals for coefficients, standard errors and R².
    stars
        p-value thresholds; a coefficient earns one star per threshold its p-value is
        strictly below.
    note
        Data note appended to the table notes (e.g. config ``data.data_note``).
    """
    models = list(models)
    if not models:
        raise ValueError("no models to tabulate: exhibits.regression_table.models is empty.")
    missing_columns = {"model", "term", "estimate", "std_error", "p_value"} - set(estimates)
    if missing_columns:
        raise ValueError(f"estimates lack column(s) {sorted(missing_columns)}.")
    present = set(estimates["model"].astype(str))
    missing_models = [m for m in models if m not in present]
    if missing_models:
        raise ValueError(
            f"model(s) {missing_models} are not in the estimates (have: {sorted(present)}); "
            "check exhibits.regression_table.models against models in config/config.yaml."
        )
    estimates = estimates.assign(model=estimates["model"].astype(str))
    order, cells = _term_rows(estimates, models)
    per_model = {m: estimates[estimates["model"] == m] for m in models}
    max_stars = len(stars)
    n_columns = len(models)

    lines: list[str] = [
        "% Regression table generated by innopanel.tables; do not edit by hand.",
        "% Needs: " + ", ".join(REQUIRED_LATEX_PACKAGES) + ".",
        r"\begin{threeparttable}",
        FONT_SIZE_COMMAND,
        rf"\setlength{{\tabcolsep}}{{{TABCOLSEP}}}",
        r"\begin{tabular}{@{}l" + "c" * n_columns + "@{}}",
        r"\toprule",
    ]

    lines.append(_row(["", *(_header_cell(model_labels.get(m, m)) for m in models)]))
    lines.append(_row(["", *(f"({i})" for i in range(1, n_columns + 1))]))
    lines.append(r"\midrule")

    # Coefficients and standard errors. Stars sit in a superscript padded with a
    # phantom to the widest star string, and the standard error carries the same
    # padding, so numbers stay centred on the same axis whatever their stars.
    for variable in order:
        first_line, second_line = _split_label(
            CONSTANT_LABEL if variable == CONSTANT_TERM else term_labels.get(variable, variable)
        )
        # A long label continues in the standard-error row, keeping the column narrow.
        coefficient_cells = [latex_escape(first_line)]
        error_cells = [latex_escape(second_line)]
        for model in models:
            row = cells[model].get(variable)
            if row is None:
                coefficient_cells.append("")
                error_cells.append("")
                continue
            star = significance_stars(row["p_value"], stars)
            padding = "*" * (max_stars - len(star))
            superscript = star + (rf"\phantom{{{padding}}}" if padding else "")
            coefficient = format_number(row["estimate"], digits)
            error = format_number(row["std_error"], digits)
            if max_stars:
                coefficient_cells.append(f"{coefficient}$^{{{superscript}}}$")
                error_cells.append(
                    f"({error})$^{{\\phantom{{{'*' * max_stars}}}}}$" if error else ""
                )
            else:
                coefficient_cells.append(coefficient)
                error_cells.append(f"({error})" if error else "")
        lines.append(_row(coefficient_cells))
        lines.append(_row(error_cells))

    # Indicator rows.
    lines.append(r"\midrule")

    def yes_no(flag: bool) -> str:
        return "Yes" if flag else "No"

    lagged = [any(str(t).endswith(LAG_SUFFIX) for t in per_model[m]["term"]) for m in models]
    if any(lagged):
        lines.append(_row([LAGGED_ROW_LABEL, *(yes_no(flag) for flag in lagged)]))
    lines.append(
        _row(
            ["City FE", *(yes_no(_as_bool(_first(per_model[m], "entity_effects"))) for m in models)]
        )
    )
    lines.append(
        _row(["Year FE", *(yes_no(_as_bool(_first(per_model[m], "time_effects"))) for m in models)])
    )

    # Fit statistics.
    lines.append(r"\midrule")
    lines.append(_row(["N", *(format_count(_first(per_model[m], "nobs")) for m in models)]))
    lines.append(
        _row(["Cities", *(format_count(_first(per_model[m], "n_entities")) for m in models)])
    )
    lines.append(
        _row(
            [
                "Within $R^{2}$",
                *(format_number(_first(per_model[m], "r2_within"), digits) for m in models),
            ]
        )
    )
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")

    # Notes.
    cov_labels = [
        ""
        if (label := _first(per_model[m], "cov_label")) is None or not isinstance(label, str)
        else label
        for m in models
    ]
    notes = []
    outcomes = [_first(per_model[m], "outcome") for m in models]
    if all(isinstance(o, str) and o for o in outcomes):
        outcome_labels = [str(term_labels.get(o, o)) for o in outcomes]
        if len(set(outcome_labels)) == 1:
            notes.append(f"Dependent variable: {latex_escape(outcome_labels[0])}.")
        else:
            notes.append(
                "Dependent variable: "
                + "; ".join(
                    f"({i}) {latex_escape(label)}"
                    for i, label in enumerate(outcome_labels, start=1)
                )
                + "."
            )
    notes.append(_standard_error_note(cov_labels))
    if max_stars:
        notes.append(_star_note(stars))
    if any(lagged):
        notes.append(
            "Where regressors are lagged one year, their coefficients are shown in the "
            "row of the contemporaneous variable."
        )
    lines.append(r"\begin{tablenotes}[flushleft]")
    lines.append(r"\footnotesize")
    lines.append(r"\item \textit{Notes:} " + " ".join(notes))
    if note and str(note).strip():
        lines.append(r"\item " + latex_escape(" ".join(str(note).split())))
    lines.append(r"\end{tablenotes}")
    lines.append(r"\end{threeparttable}")
    return "\n".join(lines) + "\n"


def write_regression_table(
    destination: str | os.PathLike[str],
    estimates: pd.DataFrame,
    models: Sequence[str],
    model_labels: Mapping[str, str],
    term_labels: Mapping[str, str],
    *,
    digits: int = 3,
    stars: Sequence[float] = (0.10, 0.05, 0.01),
    note: str | None = None,
) -> None:
    """Render the regression table and write it atomically to ``destination``."""
    text = render_regression_table(
        estimates,
        models,
        model_labels,
        term_labels,
        digits=digits,
        stars=stars,
        note=note,
    )
    write_text(destination, text)
