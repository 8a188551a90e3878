"""Tests of the paper (innopanel.exhibits.paper), its captions and the exhibit checks.

The compilation test builds every table and figure from small fixtures, writes the
paper that inputs them all and compiles it with pdflatex. It fails, rather than
skips, when ``INNOPANEL_REQUIRE_LATEX=1`` (set by CI) and no engine is installed, so
a table or caption that does not compile always fails CI.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

import pytest
import test_figures
import test_tables
from exhibit_panel import city_panel

from innopanel.config import exhibit_specs, exhibits
from innopanel.config.checks import ConfigError, check_config
from innopanel.config.paths import DEFAULT_STUDY, StudyPaths
from innopanel.config.specs import with_defaults
from innopanel.config.study import RUN_KEY, StudyRun, config_sha256, run_entry
from innopanel.exhibits import (
    estimate_tables,
    latex_tables,
    paper,
    style,
    summary_tables,
    tables,
)

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_LATEX = os.environ.get("INNOPANEL_REQUIRE_LATEX") == "1"
needs_latex = pytest.mark.skipif(
    shutil.which("pdflatex") is None and not REQUIRE_LATEX, reason="pdflatex is not installed"
)
RST_MARKUP = re.compile(r"\*|`|::|^\.\. |_\s|\|")
DEMO = StudyPaths(DEFAULT_STUDY)
#: A run of the demo study as load_study records it (the digest is not checked here).
DEMO_RUN = StudyRun(DEFAULT_STUDY, DEMO.config, "0123456789abcdef" * 4)


def with_run(config: dict, run: StudyRun = DEMO_RUN) -> dict:
    """The config as a run sees it: defaults filled, with the ``_run`` entry load_study adds."""
    filled = with_defaults(config)
    return {**filled, RUN_KEY: run_entry(run, filled)}


# --- captions ------------------------------------------------------------------------


def test_every_exhibit_has_a_caption_file():
    names = [
        *exhibits.table_names(True, True),
        *exhibits.figure_names(True),
        "paper",
        "workflow",
    ]
    for name in names:
        assert (ROOT / exhibits.caption_path(name)).is_file(), f"no caption for {name}"
    captions = {p.stem for p in (ROOT / exhibits.CAPTION_DIRECTORY).glob("*.rst")}
    assert captions == set(names), "a caption file without an exhibit"


@pytest.mark.parametrize("name", [*exhibits.TABLES, exhibits.VINTAGE_TABLE, *exhibits.FIGURES])
def test_captions_render_as_plain_prose_for_the_study(study_config, name):
    title, description = paper.read_caption(name, with_run(study_config), ROOT)
    assert title.endswith(".") and 10 < len(title) <= 110, title
    assert len(description) > 60
    text = title + " " + description
    assert "{" not in text and "}" not in text, "unrendered template"
    # The same text goes into LaTeX: no reStructuredText markup may leak into it.
    assert not RST_MARKUP.search(text), f"reStructuredText markup in {name}: {text}"


def test_captions_follow_the_configured_unit_and_labels(study_config):
    study_config["study"]["unit"] = "country"
    study_config["variables"]["patents_per_10k"]["label"] = "Patents per 10,000 people"
    title, description = paper.read_caption("ranking", with_run(study_config), ROOT)
    assert title == "The countries ranked by patents per 10,000 people."
    assert "focal country" in description and "city" not in description


def test_the_reference_study_is_cited_only_where_the_study_has_one(study_config):
    _, cited = paper.read_caption("focal_vs_peers", with_run(study_config), ROOT)
    assert cited.startswith("The comparison made in the source study (Jia et al.): the focal")
    study_config["study"]["reference_study"] = None
    _, plain = paper.read_caption("focal_vs_peers", with_run(study_config), ROOT)
    assert plain.startswith("The focal city (vermillion)") and "Jia" not in plain


def test_caption_with_an_unknown_key_fails_loudly(tmp_path, study_config):
    (tmp_path / exhibits.CAPTION_DIRECTORY).mkdir(parents=True)
    (tmp_path / exhibits.caption_path("broken")).write_text(
        'Title {{ snakemake.config["no_such_key"]["x"] }}.\n', encoding="utf-8"
    )
    with pytest.raises(Exception, match="no_such_key"):
        paper.read_caption("broken", study_config, tmp_path)
    with pytest.raises(FileNotFoundError, match="caption of exhibit 'missing'"):
        paper.read_caption("missing", study_config, tmp_path)


# --- the paper's source -----------------------------------------------------------------


def test_paper_inputs_every_table_and_figure_in_order(study_config):
    tables_ = exhibits.table_names()
    source = paper.paper_source(with_run(study_config), tables_, exhibits.FIGURES, ROOT)
    inputs = re.findall(r"\\input\{([^}]*)\}", source)
    assert inputs == [DEMO.table(t, "tex") for t in tables_]
    graphics = re.findall(r"\\includegraphics\[[^\]]*\]\{([^}]*)\}", source)
    assert graphics == [DEMO.figure(f, "pdf") for f in exhibits.FIGURES]
    for package in latex_tables.REQUIRED_LATEX_PACKAGES:
        assert package in source.split(r"\begin{document}")[0]
    assert r"\caption[Descriptive statistics of the panel]{Descriptive statistics" in source
    assert r"\title{Innovation output, R\&D intensity" in source
    assert r"\date{}" in source and r"\pdftrailerid{}" in source


def test_paper_names_its_study_and_the_config_file_used_with_its_digest(study_config):
    other = StudyRun("own_data", "config/studies/own_data.yaml", "f" * 64)
    config = with_run(study_config, other)
    source = paper.paper_source(config, ["regressions"], [], ROOT)
    assert source.startswith(
        "% The paper generated by innopanel.exhibits.paper from config/studies/own_data.yaml;"
    )
    assert r"for the study \texttt{own\_data}, each on its own page" in source
    assert (
        r"built from the config file \texttt{config/studies/own\_data.yaml}; its resolved "
        r"config SHA256 (the file with every default filled in, as provenance.md gives it) "
        r"is\\\texttt{" + config_sha256(config) + "}."
    ) in source
    assert r"\input{results/own_data/tables/regressions.tex}" in source
    with pytest.raises(ConfigError, match="no '_run' entry"):
        paper.paper_source(study_config, [], [], ROOT)


def test_paper_says_when_the_data_are_synthetic(study_config):
    study_config = with_run(study_config)
    synthetic = paper.paper_source(study_config, [], [], ROOT)
    assert r"\fbox" in synthetic and "Synthetic demo data" in synthetic
    study_config["data"]["synthetic"] = False
    study_config["data"]["data_note"] = "Source: Yearbook 2023 (CC BY 4.0) & 50% more."
    real = paper.paper_source(study_config, [], [], ROOT)
    assert r"\fbox" not in real and r"Source: Yearbook 2023 (CC BY 4.0) \& 50\% more." in real


def test_write_paper_is_deterministic(tmp_path, study_config):
    first, second = tmp_path / "a.tex", tmp_path / "b.tex"
    config = with_run(study_config)
    paper.write_paper(first, config, exhibits.TABLES, exhibits.FIGURES, ROOT)
    paper.write_paper(second, copy.deepcopy(config), exhibits.TABLES, exhibits.FIGURES, ROOT)
    assert first.read_bytes() == second.read_bytes()


# --- compilation -------------------------------------------------------------------------


def _build_exhibits(project: Path) -> None:
    """Write every table and figure from the test fixtures into ``project``'s demo study."""
    estimates = test_tables.robustness_estimates()
    table_objects = {
        "descriptives": test_tables.descriptives(),
        "correlations": summary_tables.correlation_table(
            city_panel(), test_tables.CORRELATED, test_tables.TERM_LABELS
        ),
        "regressions": test_tables.regression(),
        "robustness": estimate_tables.regression_table(
            estimates,
            ["twoway_fe", "twoway_fe_lag1", "twoway_fe_driscoll_kraay", "ppml_twoway"],
            test_tables.MODEL_LABELS,
            test_tables.TERM_LABELS,
            note=test_tables.NOTE,
        ),
        "diagnostics": test_tables.diagnostics(),
    }
    for name, table in table_objects.items():
        tables.write_table(table, {"tex": project / DEMO.table(name, "tex")})
    kinds = {
        "focal_vs_peers": "focal_vs_peers",
        "trends": "trends",
        "ranking": "ranking",
        "within_relationship": "within",
        "correlation_heatmap": "heatmap",
        "coefficients": "coefficients",
        "residuals": "residuals",
    }
    assert set(kinds) == set(exhibits.FIGURES)
    for name, kind in kinds.items():
        style.save_figure(
            test_figures.build(kind),
            project / DEMO.figure(name, "pdf"),
            project / DEMO.figure(name, "png"),
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project directory with captions, every exhibit and the paper's source."""
    import yaml

    root = tmp_path_factory.mktemp("paper")
    shutil.copytree(ROOT / exhibits.CAPTION_DIRECTORY, root / exhibits.CAPTION_DIRECTORY)
    _build_exhibits(root)
    config = yaml.safe_load((ROOT / DEMO.config).read_text(encoding="utf-8"))
    paper.write_paper(
        root / DEMO.paper_tex,
        with_run(config),
        exhibits.table_names(),
        exhibits.FIGURES,
        root,
    )
    return root


def _require_engine() -> None:
    if shutil.which("pdflatex") is None:
        pytest.fail("INNOPANEL_REQUIRE_LATEX=1 but pdflatex is not installed")


@needs_latex
def test_paper_compiles_with_every_exhibit_and_fits_the_page(project):
    _require_engine()
    pdf = project / DEMO.paper_pdf
    log = paper.compile_paper(DEMO.paper_tex, pdf, "pdflatex", root=project)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "Overfull \\hbox" not in log, "a table or figure is wider than the text"
    assert "LaTeX Warning: Reference" not in log and "Rerun to get" not in log
    assert "There were undefined references" not in log
    pages = re.search(r"Output written on .*\((\d+) pages", log)
    n_exhibits = len(exhibits.TABLES) + len(exhibits.FIGURES)
    assert pages and int(pages.group(1)) == 1 + n_exhibits
    # Byte-reproducible: no dates, no random trailer id.
    first = pdf.read_bytes()
    assert b"/CreationDate" not in first and b"/ModDate" not in first
    paper.compile_paper(DEMO.paper_tex, pdf, "pdflatex", root=project)
    assert pdf.read_bytes() == first


@needs_latex
def test_a_table_that_does_not_compile_fails_and_leaves_no_pdf(tmp_path, project):
    _require_engine()
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    (broken / DEMO.paper_pdf).unlink(missing_ok=True)
    (broken / DEMO.table("regressions", "tex")).write_text(
        "\\begin{tabular}{c}\\undefinedmacro\\end{tabular}\n", encoding="utf-8"
    )
    with pytest.raises(paper.LatexError, match="Undefined control sequence") as error:
        paper.compile_paper(DEMO.paper_tex, broken / DEMO.paper_pdf, root=broken)
    assert f"could not compile {DEMO.paper_tex}" in str(error.value)
    assert not (broken / DEMO.paper_pdf).exists()
    assert not list((broken / DEMO.result("paper")).glob("*.partial"))


def test_a_missing_engine_is_a_clear_error(tmp_path):
    with pytest.raises(paper.LatexError, match="'no-such-latex' not found on the PATH"):
        paper.compile_paper("paper.tex", tmp_path / "paper.pdf", "no-such-latex", root=tmp_path)


# --- the exhibits part of the config ---------------------------------------------------------


def test_bundled_exhibits_config_is_meaningful(study_config):
    assert exhibits.exhibit_problems(study_config) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["exhibits"]["robustness_table"].update(
                models=["twoway_fe", "twoway_fe_dk"]
            ),
            "exhibits.robustness_table.models[1] = 'twoway_fe_dk' is not a model.",
        ),
        (
            lambda c: c["exhibits"]["descriptive_table"]["panels"][1]["variables"].append("talnt"),
            "exhibits.descriptive_table.panels[1].variables: 'talnt' is not a variable. "
            "Did you mean 'talent'?",
        ),
        (
            lambda c: c["exhibits"]["focal_vs_peers"].update(relative_to_peers=["gpd"]),
            "exhibits.focal_vs_peers.relative_to_peers: 'gpd' is not a variable.",
        ),
        (
            lambda c: c["exhibits"]["ranking"].update(variable="patents"),
            "exhibits.ranking.variable: 'patents' is not a variable.",
        ),
        (
            lambda c: c["exhibits"]["residual_plot"].update(model="two_way"),
            "exhibits.residual_plot.model = 'two_way' is not a model.",
        ),
        (
            lambda c: c["exhibits"]["regression_table"].update(stars=[0.01, 0.05]),
            "stars must be in decreasing order",
        ),
    ],
)
def test_exhibit_config_mistakes_name_the_key(study_config, edit, message):
    edit(study_config)
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    assert message in str(error.value)


def test_residual_plot_needs_a_linear_model(study_config):
    study_config["models"]["twoway_fe"]["estimator"] = "ppml"
    problems = exhibits.exhibit_problems(study_config)
    assert any("residual plots need one of" in p for p in problems)


def test_coefficient_plot_models_default_to_the_regression_table(study_config):
    exhibit_config = study_config["exhibits"]
    default = exhibit_specs.coefficient_plot_spec(exhibit_config)
    assert default.models == tuple(exhibit_config["regression_table"]["models"])
    assert default.terms == tuple(exhibit_config["coefficient_plot"]["terms"])
    exhibit_config["coefficient_plot"]["models"] = ["twoway_fe"]
    assert exhibit_specs.coefficient_plot_spec(exhibit_config).models == ("twoway_fe",)


def test_an_absent_comparison_year_means_the_latest_with_data(study_config):
    exhibit_config = study_config["exhibits"]
    assert "year" not in exhibit_config["ranking"]
    assert exhibit_specs.ranking_spec(exhibit_config).year is None
    assert exhibit_specs.focal_vs_peers_spec(exhibit_config).year is None
    exhibit_config["ranking"]["year"] = 2016
    exhibit_config["focal_vs_peers"]["year"] = 2015
    assert exhibit_specs.ranking_spec(exhibit_config).year == 2016
    focal = exhibit_specs.focal_vs_peers_spec(exhibit_config)
    assert (focal.year, focal.relative_to_peers) == (2015, ("gdp",))


def test_every_table_is_listed_with_the_diagnostics_table_last():
    assert exhibits.table_names()[-1] == exhibits.DIAGNOSTICS_TABLE
    assert "results/demo_cities/tables/diagnostics.tex" in exhibits.exhibit_outputs(DEMO)
