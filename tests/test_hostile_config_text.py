"""Config text that is markup somewhere (issue 22, item 5): the unit noun and the study
title reach figures (mathtext), LaTeX, HTML, Markdown, CSV and the report's
reStructuredText, and each must print exactly as written, never act as markup."""

from __future__ import annotations

import csv
import html
import io
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import run_pdflatex
from matplotlib.text import Text
from test_figures import KINDS, build
from test_study_text import ROOT, load, study_copy
from test_tables import regression

from innopanel.exhibits import latex_tables, paper, style, text_tables
from innopanel.exhibits.latex_tables import latex_escape
from innopanel.vocabulary import capitalised, unit_noun

#: The issue's noun: "$" killed a figure in mathtext; the rest is LaTeX and HTML markup.
NOUN = "c%i&t_y#$"
#: Every character markup acts on, in one noun (no line break: the config refuses one).
HOSTILE = r"c%i&t_y#$ <script> `x` |y| \z {w} ^v ~u *t*"
#: A noun a spreadsheet would run as a formula, were it not neutralised.
FORMULA = '=HYPERLINK("http://x")'
#: Figures naming the unit noun somewhere in their text.
NAMING_THE_UNIT = ["focal_vs_peers", "trends", "ranking", "within", "residuals"]


def drawn_texts(figure) -> list[Text]:
    return [text for text in figure.findobj(Text) if text.get_text()]


@pytest.mark.parametrize("noun", [NOUN, HOSTILE])
@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_prints_a_hostile_unit_noun_as_written(
    tmp_path: Path, kind: str, noun: str
) -> None:
    figure = build(kind, unit=noun)
    # Drawing parses every text: an unbalanced "$" raised here before the fix.
    style.save_figure(figure, tmp_path / f"{kind}.pdf", tmp_path / f"{kind}.png")
    texts = drawn_texts(figure)
    assert style.style()["text.parse_math"] is False
    for text in texts:
        shown, math = text._preprocess_math(text.get_text())
        assert (shown, math) == (text.get_text(), False), text.get_text()
    if kind in NAMING_THE_UNIT:
        assert any(noun in text.get_text() for text in texts), kind


def test_a_footer_with_dollars_prints_them_without_escapes() -> None:
    figure = build("within", unit=NOUN)
    footer = next(t for t in drawn_texts(figure) if t.get_gid() == "footer")
    assert "($ and % kept literal)" in " ".join(footer.get_text().split())
    assert "\\$" not in footer.get_text()


def hostile_regression_table():
    return regression(unit=unit_noun(HOSTILE, HOSTILE + "s"))


def test_the_latex_table_escapes_every_special_character_of_the_noun() -> None:
    tex = latex_tables.render_latex(hostile_regression_table())
    # The fixed-effect row: the noun capitalised, then "FE".
    assert latex_escape(capitalised(HOSTILE)) + " FE &" in tex
    assert r"C\%i\&t\_y\#\$" in tex
    assert "<script>" not in tex


def test_the_html_table_shows_the_noun_as_text() -> None:
    page = text_tables.render_html(hostile_regression_table(), title=HOSTILE)
    assert "<script>" not in page
    assert html.escape(capitalised(HOSTILE)) + " FE" in page


def test_the_markdown_table_shows_the_noun_as_text() -> None:
    markdown = text_tables.render_markdown(hostile_regression_table())
    assert text_tables.markdown_escape(capitalised(HOSTILE)) + " FE" in markdown
    assert "<script>" not in markdown


def test_a_csv_cell_from_the_noun_never_runs_as_a_formula() -> None:
    table = regression(unit=unit_noun(FORMULA, FORMULA))
    cells = [cell for row in csv.reader(io.StringIO(text_tables.render_csv(table))) for cell in row]
    named = [cell for cell in cells if "HYPERLINK" in cell]
    assert named, "the noun is in no cell"
    assert all(cell.startswith("'=") for cell in named if cell.lstrip("'").startswith("="))
    assert not any(cell.startswith("=") for cell in cells)


def test_the_paper_title_and_captions_escape_a_hostile_title_and_noun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hostile(config: dict) -> None:
        config["study"]["title"] = HOSTILE
        config["study"]["unit"] = HOSTILE
        config["study"]["unit_plural"] = HOSTILE + "s"

    monkeypatch.chdir(ROOT)
    config = load(study_copy(tmp_path, hostile))
    source = paper.paper_source(config, ["regressions"], ["ranking"], ROOT)
    assert rf"\title{{{latex_escape(HOSTILE)}}}" in source
    assert r"\title{c\%i\&t\_y\#\$ \textless{}script\textgreater{}" in source
    assert "<script>" not in source
    if shutil.which("pdflatex"):
        # Only the title page: the exhibits are not built here.
        body = source.split(r"\maketitle")[0] + "\\maketitle\n\\end{document}\n"
        run_pdflatex(tmp_path, body)


@pytest.mark.parametrize(
    "caption", sorted(p.stem for p in (ROOT / "workflow/report").glob("*.rst"))
)
def test_the_report_captions_print_a_hostile_noun_and_title_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caption: str
) -> None:
    """Each caption rendered as Snakemake renders it (Jinja, then docutils)."""
    import jinja2
    from docutils.core import publish_parts

    def hostile(config: dict) -> None:
        config["study"]["title"] = HOSTILE
        config["study"]["unit"] = HOSTILE
        config["study"]["unit_plural"] = HOSTILE

    monkeypatch.chdir(ROOT)
    config = load(study_copy(tmp_path, hostile))
    template = (ROOT / "workflow/report" / f"{caption}.rst").read_text(encoding="utf-8")
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    rst = environment.from_string(template).render(snakemake=SimpleNamespace(config=config))
    body = publish_parts(rst, writer="html")["html_body"]
    assert "<script>" not in body
    assert "system-message" not in body, "the noun was parsed as markup"
    if any(f'["{key}"]' in template for key in ("unit", "units", "title")):
        assert html.escape(HOSTILE, quote=False) in body


# ---------------------------------------------------------------- end to end


@pytest.mark.workflow
def test_a_study_with_a_hostile_unit_noun_and_title_builds_every_exhibit(
    tmp_path: Path,
) -> None:
    """The issue's case through the workflow: every figure renders, and the tables print
    the noun escaped for each format."""
    from test_workflow import DEMO, make_project, snakemake

    def hostile(config: dict) -> None:
        config["study"]["title"] = HOSTILE
        config["study"]["unit"] = NOUN
        config["study"]["unit_plural"] = NOUN + "s"

    workdir = make_project(tmp_path, hostile)
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-4000:]
    regressions = {
        ext: (workdir / DEMO.table("regressions", ext)).read_text("utf-8")
        for ext in ("tex", "html", "md", "csv")
    }
    row = capitalised(NOUN) + " FE"
    assert latex_escape(row) in regressions["tex"]
    assert html.escape(row) in regressions["html"]
    assert text_tables.markdown_escape(row) in regressions["md"]
    assert row in regressions["csv"]
    for figure in ("within_relationship", "residuals", "ranking", "trends"):
        assert (workdir / DEMO.figure(figure, "png")).stat().st_size > 0
    paper_tex = (workdir / DEMO.paper_tex).read_text(encoding="utf-8")
    assert rf"\title{{{latex_escape(HOSTILE)}}}" in paper_tex
