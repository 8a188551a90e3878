"""Tests of the study's text (innopanel.config.narrative, innopanel.exhibits.narrative),
the HTML report (innopanel.exhibits.report) and its Markdown subset
(innopanel.exhibits.markdown_html). The report is opened in a real browser in
tests/test_report_browser.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import test_tables

from innopanel.config.checks import ConfigError, check_config
from innopanel.config.narrative import ESTIMATE_FIELDS, narrative_problems
from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.config.specs import with_defaults
from innopanel.config.study import RUN_KEY, StudyRun, run_entry
from innopanel.exhibits import estimate_tables, markdown_html, narrative, paper, report, tables

ROOT = Path(__file__).resolve().parents[1]
DEMO = StudyPaths(DEFAULT_STUDY)
DEMO_RUN = StudyRun(DEFAULT_STUDY, DEMO.config, "0123456789abcdef" * 4)
BUNDLED = [
    line.strip()
    for line in (ROOT / "config/studies/bundled.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
#: The headline's estimate in the fixture's estimates.csv, with a p-value under 0.001.
HEADLINE = {"estimate": 0.0888487, "std_error": 0.021015, "p_value": 7.77e-05}


def with_run(config: dict) -> dict:
    filled = with_defaults(config)
    return {**filled, RUN_KEY: run_entry(DEMO_RUN, filled)}


def estimates_frame(config: dict) -> pd.DataFrame:
    """One row per model and regressor of ``config``, as estimates.csv has them: the
    headline's as in HEADLINE, every other coefficient negative."""
    rows = []
    for model, spec in config["models"].items():
        for index, term in enumerate(spec["regressors"]):
            headline = (model, term) == ("twoway_fe", "rd_intensity")
            estimate = HEADLINE["estimate"] if headline else -0.25 - index / 100
            rows.append(
                {
                    "model": model,
                    "model_label": spec["label"],
                    "term": term,
                    "estimate": estimate,
                    "std_error": HEADLINE["std_error"] if headline else 0.1,
                    "p_value": HEADLINE["p_value"] if headline else 0.2514,
                    "ci_lower": estimate - 0.042,
                    "ci_upper": estimate + 0.042,
                    "nobs": 701,
                    "n_entities": 64,
                    "sample_first_year": 2011,
                    "sample_last_year": 2022,
                    "note": "",
                }
            )
    return pd.DataFrame(rows)


def quality_json(path: Path) -> Path:
    path.write_text(
        '{"panel": {"rows": 768, "type": "unbalanced", "unit": "city", "units": 64, '
        '"years": [2011, 2022]}}',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def outputs(tmp_path: Path, study_config: dict) -> tuple[dict, Path, Path]:
    """The demo config (defaults filled, with ``_run``) and its estimates and quality
    files."""
    config = with_run(study_config)
    estimates = tmp_path / "estimates.csv"
    estimates_frame(config).to_csv(estimates, index=False)
    return config, estimates, quality_json(tmp_path / "report.json")


# --- the narrative's placeholders ------------------------------------------------------


@pytest.mark.parametrize("study", BUNDLED)
def test_every_bundled_study_has_a_narrative_with_known_placeholders(study: str) -> None:
    import yaml

    config = with_defaults(
        yaml.safe_load((ROOT / f"config/studies/{study}.yaml").read_text(encoding="utf-8"))
    )
    assert config["study"]["narrative"] is not None, f"{study} has no study.narrative"
    assert narrative_problems(config) == []
    text = " ".join(config["study"]["narrative"][key] for key in ("reading", "data"))
    assert "{headline.coefficient}" in text and "{panel.units}" in text


def _typed_numbers(text: str) -> list[str]:
    """Decimal numbers written into a narrative outside placeholders (a result typed)."""
    outside = re.sub(r"\{[^{}]*\}", "", text)
    return re.findall(r"(?<![\w.])\d+\.\d+", outside)


@pytest.mark.parametrize("study", BUNDLED)
def test_no_bundled_narrative_types_a_result(study: str) -> None:
    import yaml

    raw = yaml.safe_load((ROOT / f"config/studies/{study}.yaml").read_text(encoding="utf-8"))
    for key, text in raw["study"]["narrative"].items():
        if isinstance(text, str):
            assert _typed_numbers(text) == [], f"{study}: study.narrative.{key} types a number"


def test_an_unknown_placeholder_stops_the_run_naming_it(study_config: dict) -> None:
    study_config["study"]["narrative"]["reading"] += " It is {headline.coeficient}."
    with pytest.raises(ConfigError) as error:
        check_config(with_defaults(study_config))
    message = str(error.value)
    assert "study.narrative.reading: unknown placeholder '{headline.coeficient}'" in message
    assert "Did you mean '{headline.coefficient}'?" in message


def test_a_stray_brace_and_a_headline_that_is_no_term_are_refused(study_config: dict) -> None:
    study_config["study"]["narrative"]["limits"] += " See {this."
    study_config["study"]["narrative"]["headline"] = {"model": "twoway_fe", "term": "gdp"}
    problems = narrative_problems(with_defaults(study_config))
    assert any(p.startswith("study.narrative.limits has a brace") for p in problems)
    assert any("study.narrative.headline.term = 'gdp' is not a regressor" in p for p in problems)
    study_config["study"]["narrative"]["headline"]["model"] = "twoway"
    problems = narrative_problems(with_defaults(study_config))
    assert any("'twoway' is not a model. Did you mean 'twoway_fe'?" in p for p in problems)


def test_a_study_without_a_narrative_opens_on_its_exhibits(outputs) -> None:
    config, estimates, quality = outputs
    config["study"]["narrative"] = None
    assert narrative_problems(config) == []
    assert narrative.study_narrative(config, estimates, quality) is None
    source = paper.paper_source(config, [], [], ROOT, None)
    assert r"\section*" not in source


def test_numbers_are_read_from_the_outputs_and_follow_them(outputs, tmp_path: Path) -> None:
    config, estimates, quality = outputs
    filled = narrative.study_narrative(config, estimates, quality)
    reading = " ".join(dict(filled.sections)["The headline and its reading"])
    assert "0.089 log points" in reading and "(SE 0.021, p\u00a0<\u00a00.001;" in reading
    assert "95 % interval 0.047 to 0.131" in reading
    assert "701 city-years of 64 cities, 2011\u20132022" in reading
    assert "a true coefficient of 0.150" in reading
    # Other coefficients are negative: printed with a minus sign.
    assert "\u22120.250" in " ".join(filled.sections[2][1])
    data = " ".join(dict(filled.sections)["The data"])
    assert "64 cities observed over 2011\u20132022 (768 city-years)" in data
    assert filled.headline.startswith("Two-way FE, coefficient of R&D intensity (% of GDP): 0.089")
    # The same text on other outputs says other numbers.
    frame = pd.read_csv(estimates)
    headline = (frame["model"] == "twoway_fe") & (frame["term"] == "rd_intensity")
    frame.loc[headline, ["estimate", "p_value"]] = [0.5, 0.2514]
    frame.to_csv(estimates, index=False)
    moved = narrative.study_narrative(config, estimates, quality)
    reading = " ".join(dict(moved.sections)["The headline and its reading"])
    assert "0.500 log points" in reading and "p\u00a0=\u00a00.251;" in reading


def test_every_estimate_field_has_a_value(outputs) -> None:
    _, estimates, _ = outputs
    row = pd.read_csv(estimates).iloc[0]
    assert set(narrative.estimate_values(row, "label", 3)) == set(ESTIMATE_FIELDS)


def test_a_quoted_estimate_missing_from_the_outputs_names_model_and_term(outputs) -> None:
    config, estimates, quality = outputs
    frame = pd.read_csv(estimates)
    frame = frame[frame["model"] != "pooled_ols"]
    frame.to_csv(estimates, index=False)
    with pytest.raises(ValueError, match="0 rows for model 'pooled_ols', term 'rd_intensity'"):
        narrative.study_narrative(config, estimates, quality)


HOSTILE_TEXT = r"R&D at 50% costs $5 {headline.coefficient} \emph x_1 <b>bold</b> ~^#"


def test_config_text_is_escaped_in_the_paper_and_the_report(outputs, tmp_path) -> None:
    config, estimates, quality = outputs
    config["study"]["narrative"]["question"] = HOSTILE_TEXT
    filled = narrative.study_narrative(config, estimates, quality)
    source = paper.paper_source(config, [], [], ROOT, filled)
    assert (
        r"R\&D at 50\% costs \$5 0.089 \textbackslash{}emph x\_1 \textless{}b\textgreater{}"
        r"bold\textless{}/b\textgreater{} \textasciitilde{}\textasciicircum{}\#"
    ) in source
    page = report.report_html(config, _inputs(tmp_path, [], []), filled, ROOT)
    assert "R&amp;D at 50% costs $5 0.089 \\emph x_1 &lt;b&gt;bold&lt;/b&gt; ~^#" in page
    assert "<b>" not in page


def test_the_paper_opens_on_the_question_then_the_exhibits(outputs) -> None:
    config, estimates, quality = outputs
    filled = narrative.study_narrative(config, estimates, quality)
    source = paper.paper_source(config, ["regressions"], ["coefficients"], ROOT, filled)
    order = [
        source.index(r"\maketitle"),
        source.index(r"\textbf{Headline.} Two-way FE"),
        source.index(r"\section*{The question}"),
        source.index(r"\section*{The data}"),
        source.index(r"\section*{The headline and its reading}"),
        source.index(r"\section*{What it cannot show}"),
        source.index(r"\listoftables"),
        source.index(r"\input{results/demo_cities/tables/regressions.tex}"),
    ]
    assert order == sorted(order)


# --- captions speak to the reader ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "workflow/report").glob("*.rst")))
def test_captions_name_no_config_key_or_file(study_config: dict, name: str) -> None:
    title, description = paper.read_caption(name, with_run(study_config), ROOT)
    text = f"{title} {description}"
    assert not re.search(r"\b(exhibits|config|snakemake)\b|\w+\.\w+_\w+|results/", text), text


# --- the Markdown subset ---------------------------------------------------------------


def test_markdown_renders_the_projects_documents_subset() -> None:
    text = (
        "# Data-quality report\n\n- Units (city): 64; **bold** and `code_x`.\n"
        "- A p-value below 0.001 is shown as \\<0.001.\n\n"
        "## Sources\n\n| source | rows | note |\n|---|---:|:---:|\n"
        "| a\\|b | 31 | *Notes:* 0.2\\*\\*\\* |\n\n"
        "> **Synthetic.**\n\nA paragraph\ncontinued.\n"
    )
    rendered = markdown_html.markdown_html(text, 1)
    assert "<h2>Data-quality report</h2>" in rendered and "<h3>Sources</h3>" in rendered
    assert "<li>Units (city): 64; <strong>bold</strong> and <code>code_x</code>.</li>" in rendered
    assert "shown as &lt;0.001.</li>" in rendered
    assert '<th class="r">rows</th>' in rendered and '<td class="r">31</td>' in rendered
    assert "<td>a|b</td>" in rendered and "<em>Notes:</em> 0.2***" in rendered
    assert "<blockquote><p><strong>Synthetic.</strong></p></blockquote>" in rendered
    assert "<p>A paragraph continued.</p>" in rendered
    assert rendered.count('<div class="table-box">') == 1


def test_markdown_from_a_data_file_never_becomes_markup() -> None:
    hostile = "| unit |\n|---|\n| <script>alert(1)</script> |\n\n<img src=x onerror=1> `<b>`"
    rendered = markdown_html.markdown_html(hostile)
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


# --- the report page --------------------------------------------------------------------


def _png(path: Path) -> None:
    # As wide as the workflow's figures (1,600 pixels): wider than the window.
    figure, axis = plt.subplots(figsize=(16, 5))
    axis.plot([0, 1], [0, 1])
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _inputs(root: Path, table_names: list[str], figure_names: list[str]) -> report.ReportInputs:
    """Every exhibit, document and the unit table of the demo study, written under
    ``root`` (tables from the table tests' fixtures; each figure one small PNG)."""
    paths = report.ReportInputs(
        tables={name: DEMO.table(name, "html") for name in table_names},
        figures={name: DEMO.figure(name, "png") for name in figure_names},
        data_quality=DEMO.result("data_quality/report.md"),
        model_coverage=DEMO.result("data_quality/model_coverage.md"),
        provenance=DEMO.result("provenance/provenance.md"),
        unit_table="config/cities.csv",
    )
    # Every model of the table tests, twice: a table wider than a 1,000-pixel window.
    golden, robustness = test_tables.golden_estimates(), test_tables.robustness_estimates()
    once = pd.concat([golden[~golden["model"].isin(robustness["model"])], robustness])
    twice = pd.concat([once.assign(model=once["model"] + f"_{copy}") for copy in (1, 2)])
    labels = {
        f"{model}_{copy}": f"{test_tables.MODEL_LABELS[model]}, copy {copy}"
        for copy in (1, 2)
        for model in dict.fromkeys(once["model"])
    }
    built = {
        "regressions": estimate_tables.regression_table(
            twice, list(labels), labels, test_tables.TERM_LABELS, note=test_tables.NOTE
        ),
        "diagnostics": test_tables.diagnostics(),
        "descriptives": test_tables.descriptives(),
    }
    for name, path in paths.tables.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        tables.write_table(built[name], {"html": root / path})
    for path in paths.figures.values():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        _png(root / path)
    documents = {
        paths.data_quality: "# Data-quality report\n\n- Units (city): 64.\n",
        paths.model_coverage: "# Model coverage\n\n| Model | Years |\n|---|---|\n| FE | 2011 |\n",
        paths.provenance: "# Provenance\n\n- Config SHA256: `abc`\n",
    }
    for path, text in documents.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return report.ReportInputs(
        tables={n: str(root / p) for n, p in paths.tables.items()},
        figures={n: str(root / p) for n, p in paths.figures.items()},
        data_quality=str(root / paths.data_quality),
        model_coverage=str(root / paths.model_coverage),
        provenance=str(root / paths.provenance),
        unit_table=str(ROOT / "config/cities.csv"),
    )


REPORT_TABLES = ["descriptives", "regressions", "diagnostics"]
REPORT_FIGURES = ["trends", "coefficients"]


def demo_report(tmp_path: Path, config: dict, estimates: Path, quality: Path) -> str:
    """The demo study's report page built from fixtures under ``tmp_path``."""
    filled = narrative.study_narrative(config, estimates, quality)
    inputs = _inputs(tmp_path, REPORT_TABLES, REPORT_FIGURES)
    return report.report_html(config, inputs, filled, ROOT)


def test_the_report_opens_on_the_question_and_shows_every_exhibit_in_order(
    outputs, tmp_path
) -> None:
    config, estimates, quality = outputs
    page = demo_report(tmp_path, config, estimates, quality)
    ids = re.findall(r'<section class="[^"]*" id="([^"]+)"', page)
    assert ids == [
        "headline",
        *[f"table-{n}" for n in REPORT_TABLES],
        *[f"figure-{n}" for n in REPORT_FIGURES],
        "data-quality",
        "model-coverage",
        "provenance",
    ]
    assert page.index("<h2>The question</h2>") < page.index('id="table-descriptives"')
    assert "<h2>Table 2. Innovation output and its drivers: the main regressions</h2>" in page
    assert "<h2>Figure 2. Coefficients of the drivers across models</h2>" in page
    # Captions are visible prose under each title, units are named, not given by id.
    assert '<p class="caption">Each column is one model' in page
    assert "The city in focus is Chengdu; its peers are Shanghai, Shenzhen, Beijing" in page
    assert "Xi&#x27;an" in page or "Xi'an" in page or "Xian" in page
    assert "<h2>Data-quality report</h2>" in page and "<h2>Provenance</h2>" in page


def test_the_report_is_one_self_contained_file(outputs, tmp_path) -> None:
    config, estimates, quality = outputs
    page = demo_report(tmp_path, config, estimates, quality)
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert sources, "no image or link"
    for source in sources:
        assert source.startswith(("data:image/png;base64,", "#")), source
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert "url(" not in page and "http://" not in page and "https://" not in page
    assert page.count("<img ") == len(REPORT_FIGURES)
    # The tables are inlined, each in its own scrolling box, and stay tables.
    assert page.count('<div class="table-box"><table>') >= len(REPORT_TABLES)
    assert "<!DOCTYPE html>" not in page[20:], "a whole table page pasted in"


def test_the_report_is_deterministic(outputs, tmp_path) -> None:
    config, estimates, quality = outputs
    first = demo_report(tmp_path / "a", config, estimates, quality)
    second = demo_report(tmp_path / "b", config, estimates, quality)
    strip = lambda page: page.replace(str(tmp_path / "a"), "").replace(str(tmp_path / "b"), "")  # noqa: E731
    assert strip(first) == strip(second)


def test_a_table_page_without_a_body_is_refused_naming_it(tmp_path) -> None:
    broken = tmp_path / "regressions.html"
    broken.write_text("<table></table>", encoding="utf-8")
    with pytest.raises(ValueError, match=r"regressions\.html: no <body> element"):
        report._table_fragment(str(broken))


def test_the_report_is_a_final_output_built_by_its_own_rule() -> None:
    common = (ROOT / "workflow/rules/common.smk").read_text(encoding="utf-8")
    assert 'PATHS.result("report.html")' in common.split("def final_outputs")[1]
    rules = (ROOT / "workflow/rules/paper.smk").read_text(encoding="utf-8")
    assert "rule write_report:" in rules and 'html=PATHS.result("report.html")' in rules


@pytest.mark.skipif(
    shutil.which("pdflatex") is None and os.environ.get("INNOPANEL_REQUIRE_LATEX") != "1",
    reason="pdflatex is not installed",
)
def test_the_papers_text_compiles_with_every_special_character(outputs, tmp_path) -> None:
    config, estimates, quality = outputs
    config["study"]["narrative"]["question"] = HOSTILE_TEXT
    filled = narrative.study_narrative(config, estimates, quality)
    paper.write_paper(tmp_path / DEMO.paper_tex, config, [], [], ROOT, filled)
    log = paper.compile_paper(DEMO.paper_tex, tmp_path / DEMO.paper_pdf, root=tmp_path)
    assert "Overfull \\hbox" not in log, "the text runs into the margin"
    text = subprocess.run(
        ["pdftotext", str(tmp_path / DEMO.paper_pdf), "-"], capture_output=True, text=True
    ).stdout
    # (pdftotext reads the drawn underscore of x_1 as a space.)
    assert "R&D at 50% costs $5 0.089 \\emph x" in text and "<b>bold</b>" in text
