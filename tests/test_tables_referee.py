"""What a referee reads in the regression, diagnostics and joint-tests tables: fit
statistics defined per estimator and equal to an independent computation, F tests with
both degrees of freedom, no cell pointing to another file, a vertical bar that prints as
a bar, a synthetic study's true coefficients in the notes, and LaTeX that compiles and
reads right once typeset (innopanel.exhibits.estimate_tables, joint_tests_table)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import run_pdflatex, simulate_panel

from innopanel.config.specs import model_spec
from innopanel.econometrics.diagnostics import effects_f_test, pesaran_cd_test
from innopanel.econometrics.models import fit_model, tidy
from innopanel.exhibits import estimate_tables, latex_tables, text_tables
from innopanel.exhibits.joint_tests_table import joint_tests_table

HAVE_LATEX = shutil.which("pdflatex") is not None and shutil.which("pdftotext") is not None
needs_latex = pytest.mark.skipif(not HAVE_LATEX, reason="pdflatex or pdftotext is not installed")

MODELS = {
    "pooled_ols": {"estimator": "pooled_ols"},
    "random_effects": {"estimator": "random_effects"},
    "twoway_fe": {"estimator": "fixed_effects", "entity_effects": True, "time_effects": True},
}
LABELS = {"pooled_ols": "Pooled OLS", "random_effects": "Random effects", "twoway_fe": "Two-way"}
TERMS = {"y": "Outcome y", "x1": "Regressor one", "x2": "Regressor two"}


def panel() -> pd.DataFrame:
    """A small unbalanced panel: 25 units over 8 years, 17 unit-years missing."""
    frame = simulate_panel(n_units=25, n_years=8, seed=11)
    return frame.drop(index=frame.sample(17, random_state=3).index).reset_index(drop=True)


def spec(name: str):
    raw = {"label": LABELS[name], "outcome": "y", "regressors": ["x1", "x2"]}
    return model_spec(name, {**raw, "covariance": "clustered", **MODELS[name]})


def estimates(data: pd.DataFrame) -> pd.DataFrame:
    """The tidy estimates of the three models, as estimates.csv holds them."""
    frames = []
    for name in MODELS:
        tidied = tidy(fit_model(data, spec(name), unit="region"))
        frames.append(tidied.assign(model=name))
    return pd.concat(frames, ignore_index=True)


def table_rows(table) -> dict[str, list[str]]:
    """Row label -> cells of the table's CSV rendering."""
    rows = csv.reader(io.StringIO(text_tables.render_csv(table)))
    return {row[0]: row[1:] for row in rows if row and row[0]}


def regression(data: pd.DataFrame, **options):
    return estimate_tables.regression_table(
        estimates(data), list(MODELS), LABELS, TERMS, unit="region", **options
    )


# --- fit statistics ------------------------------------------------------------------


def test_overall_r2_of_pooled_ols_is_the_statsmodels_r2():
    data = panel()
    ols = sm.OLS(data["y"], sm.add_constant(data[["x1", "x2"]])).fit()
    rows = table_rows(regression(data))
    assert rows["Overall R²"][0] == f"{ols.rsquared:.3f}"
    # The value behind the cell, not only its rounding.
    pooled = estimates(data).query("model == 'pooled_ols'")
    assert pooled["r2_overall"].iloc[0] == pytest.approx(ols.rsquared, abs=1e-10)


def test_overall_r2_of_random_effects_is_one_minus_ssr_over_tss_in_levels():
    """plm's r.squared(model = "pooling", type = "rss"): fitted values X b with the RE
    coefficients on the untransformed outcome."""
    data = panel()
    random = estimates(data).query("model == 'random_effects'").set_index("term")
    fitted = (
        random.loc["const", "estimate"]
        + data[["x1", "x2"]] @ random.loc[["x1", "x2"], "estimate"].to_numpy()
    )
    outcome = data["y"]
    expected = 1.0 - ((outcome - fitted) ** 2).sum() / ((outcome - outcome.mean()) ** 2).sum()
    assert random["r2_overall"].iloc[0] == pytest.approx(expected, abs=1e-10)
    # Not the R² of the quasi-demeaned regression the estimator fits.
    assert abs(random["r2"].iloc[0] - expected) > 1e-3
    assert table_rows(regression(data))["Overall R²"][1] == f"{expected:.3f}"


def test_within_r2_of_two_way_fe_is_the_dummy_regression_gain_over_effects_alone():
    """Within R² = 1 - SSR(effects and regressors) / SSR(effects alone) by OLS with
    unit and year dummies (Frisch-Waugh-Lovell), on the unbalanced panel."""
    data = panel()
    dummies = pd.get_dummies(data[["unit_id", "year"]].astype(str), drop_first=True)
    effects = sm.add_constant(dummies.astype(float))
    alone = sm.OLS(data["y"], effects).fit().ssr
    full = sm.OLS(data["y"], pd.concat([effects, data[["x1", "x2"]]], axis=1)).fit().ssr
    within = 1.0 - full / alone
    rows = table_rows(regression(data))
    assert rows["Within R²"] == ["", "", f"{within:.3f}"]
    # Pooled OLS and random effects show no within R², the fixed-effects model no overall.
    assert rows["Overall R²"][2] == ""


def test_every_fit_statistic_shown_is_defined_in_the_notes():
    rows = table_rows(regression(panel()))
    notes = " ".join(cells[0] for label, cells in rows.items() if label == "Note")
    for label in ("Overall R²", "Within R²"):
        assert label in rows and f"{label} is 1 − SSR/TSS" in notes
    assert "Pseudo R²" not in rows


def test_an_estimator_without_a_fit_statistic_is_named():
    frame = estimates(panel()).replace({"estimator": {"pooled_ols": "quantile"}})
    with pytest.raises(ValueError, match=r"model 'pooled_ols' has estimator 'quantile'"):
        estimate_tables.regression_table(frame, list(MODELS), LABELS, TERMS)


def test_the_table_names_each_models_years_and_one_covariance_row():
    data = panel()
    rows = table_rows(regression(data))
    years = f"{data['year'].min()}–{data['year'].max()}"
    assert rows["Years"] == [years] * 3
    assert rows["Dependent variable"] == ["Outcome y"] * 3
    assert rows["Region FE"] == ["No", "No", "Yes"]
    tex = latex_tables.render_latex(regression(data))
    assert tex.count("Standard errors &") == 1
    assert r"Standard errors & \multicolumn{3}{c}{Clustered by region} \\" in tex


def test_true_coefficients_are_stated_in_the_notes_in_row_order():
    table = regression(panel(), true_coefficients={"x2": -0.3, "x1": 0.5, "other": 1.0})
    notes = " ".join(table.notes)
    assert (
        "True coefficients of the synthetic data-generating process, on the log of the "
        "expected count: Regressor one 0.500; Regressor two −0.300." in notes
    )
    assert "other" not in notes
    assert "True coefficients" not in " ".join(regression(panel()).notes)


# --- diagnostics ---------------------------------------------------------------------


def diagnostics_frame() -> pd.DataFrame:
    """diagnostics.csv rows from the econometrics step: an F test of unit effects and
    Pesaran's CD after year effects (which has no normal p-value)."""
    data = simulate_panel(n_units=30, n_years=8, seed=6)
    twoway = spec("twoway_fe")
    return pd.DataFrame([effects_f_test(data, twoway), pesaran_cd_test(data, twoway)])


def test_f_tests_show_both_degrees_of_freedom():
    frame = diagnostics_frame()
    table = estimate_tables.diagnostics_table(frame, LABELS, TERMS)
    f_row = frame.iloc[0]
    expected = f"F({int(f_row['df'])}, {int(f_row['df_denominator'])})"
    assert expected == "F(29, 201)"  # 30 units; 240 rows less 30 + 7 effects and 2 slopes
    cells = [cell.text for cell in table.body_rows[0].cells if hasattr(cell, "text")]
    assert expected in cells
    assert expected in latex_tables.render_latex(table)


def test_no_cell_or_note_points_to_another_file():
    frame = diagnostics_frame()
    conclusion = frame.iloc[1]["conclusion"]
    assert "diagnostics.csv" not in conclusion and "see its note" not in conclusion
    assert "under independence" in conclusion
    table = estimate_tables.diagnostics_table(frame, LABELS, TERMS)
    for render in (latex_tables.render_latex, text_tables.render_markdown):
        text = render(table)
        assert ".csv" not in text and "see its note" not in text
    # What the file's note column said is in the table's notes.
    assert "Juodis and Reese 2022" in " ".join(table.notes)


# --- the vertical bar ----------------------------------------------------------------


def joint_tests() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "statistic": ["median_estimate", "share_positive"],
            "observed": [0.306, 0.532],
            "null_median": [-0.01, 0.097],
            "null_p95": [0.24, 0.3],
            "p_value": [0.012, 0.002],
            "alternative": ["two-sided (|median|)", "greater"],
            "specifications": [1116, 1116],
            "draws": [500, 500],
        }
    )


def test_a_vertical_bar_is_escaped_in_every_format():
    table = joint_tests_table(joint_tests())
    assert latex_tables.latex_escape("(|median|)") == "($|$median$|$)"
    assert "two-sided ($|$median$|$)" in latex_tables.render_latex(table)
    markdown = text_tables.render_markdown(table)
    row = next(line for line in markdown.splitlines() if line.startswith("| Median"))
    assert "two-sided (\\|median\\|)" in row
    # Unescaped bars delimit exactly the stub and five columns.
    assert row.replace("\\|", "").count("|") == 7
    assert '<td class="t">two-sided (|median|)</td>' in text_tables.render_html(table)
    cells = [c for r in csv.reader(io.StringIO(text_tables.render_csv(table))) for c in r]
    assert "two-sided (|median|)" in cells
    assert "over 1,116 linear specifications" in table.notes[0]


# --- typeset -------------------------------------------------------------------------


def _typeset(tmp_path: Path, tables: dict[str, str]) -> tuple[str, str]:
    """Compile the tables in a plain article with pdflatex; return (log, text of the PDF)."""
    packages = ",".join(latex_tables.REQUIRED_LATEX_PACKAGES)
    body = ""
    for name, tex in tables.items():
        (tmp_path / f"{name}.tex").write_text(tex, encoding="utf-8")
        body += f"\\begin{{table}}\\centering\n\\input{{{name}.tex}}\n\\end{{table}}\n"
    log = run_pdflatex(
        tmp_path,
        "\\documentclass{article}\n\\usepackage[margin=2.2cm]{geometry}\n"
        f"\\usepackage{{{packages}}}\n\\begin{{document}}\n{body}\\end{{document}}\n",
    )
    text = subprocess.run(
        ["pdftotext", "-layout", "document.pdf", "-"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return log, text


@needs_latex
def test_the_three_tables_compile_and_read_right_when_typeset(tmp_path):
    data = panel()
    log, text = _typeset(
        tmp_path,
        {
            "regressions": latex_tables.render_latex(regression(data)),
            "diagnostics": latex_tables.render_latex(
                estimate_tables.diagnostics_table(diagnostics_frame(), LABELS, TERMS)
            ),
            "joint_tests": latex_tables.render_latex(joint_tests_table(joint_tests())),
        },
    )
    assert "Overfull \\hbox" not in log
    assert "two-sided (|median|)" in text and "—median—" not in text
    assert "F(29, 201)" in text
    assert "Overall R2" in text and "Within R2" in text
    assert "Clustered by region" in text and "Years" in text
