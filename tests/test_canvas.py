"""Every text of every figure fits its canvas, at every size the figure is used.

The measuring function (innopanel.exhibits.canvas) is tested on figures built to fail,
then run on the figures of both bundled studies, each built in this process as its
rule builds it (the study's config, its panel cleaned from the shipped raw files, its
models fitted), and on the demo study with every unit renamed to 40 characters. A
failure names the study, the figure and the text. The within relationship's slope is
checked against the estimates file the pipeline writes, to 1e-10.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from innopanel.config import exhibit_specs, unit_labels
from innopanel.config.exhibits import exhibit_problems
from innopanel.config.specs import model_specs
from innopanel.config.study import load_study, study_unit
from innopanel.data.clean import clean_panel
from innopanel.data.fetch import mirror_candidates
from innopanel.econometrics.models import estimate_models, write_estimates
from innopanel.econometrics.partial_regression import partial_regression
from innopanel.exhibits import (
    canvas,
    estimate_figures,
    panel_figures,
    relationship_figures,
    style,
)
from innopanel.exhibits.frames import unit_names

ROOT = Path(__file__).resolve().parents[1]
LONG_NAMES = "long_names"
FIGURES = (
    "coefficients",
    "residuals",
    "within_relationship",
    "trends",
    "focal_vs_peers",
    "ranking",
    "correlation_heatmap",
)


# --- the measuring function ------------------------------------------------------------


def _figure_with_title(title: str) -> Figure:
    with matplotlib.rc_context(style.style()):
        figure, content = style.new_figure(4.0, 3.0, "A footer")
        ax = content.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("x")
        content.suptitle(title, fontsize=12, fontweight="bold")
    return figure


def test_a_title_wider_than_its_figure_is_found_on_both_sides_at_every_size() -> None:
    title = "Effect on log invention patents granted across models, with 95% intervals"
    found = canvas.texts_off_canvas(_figure_with_title(title), style.DPI)
    assert {item.size for item in found} == set(canvas.sizes(_figure_with_title(title), 200))
    for item in found:
        assert item.text == title and item.left > 0 and item.right > 0
    assert not canvas.texts_off_canvas(_figure_with_title("Fits"), style.DPI)


def test_a_figure_with_text_off_its_canvas_is_refused_and_not_written(tmp_path: Path) -> None:
    figure = _figure_with_title("A title far too long to fit a four-inch figure at twelve points")
    with pytest.raises(canvas.CanvasError) as error:
        style.save_figure(figure, tmp_path / "wide.pdf", tmp_path / "wide.png")
    message = str(error.value)
    assert str(tmp_path / "wide") in message
    assert "'A title far too long" in message and "passes the left edge" in message
    assert list(tmp_path.iterdir()) == []


def test_only_drawn_tick_labels_are_measured() -> None:
    # Locators place ticks beyond the view limits; those are not drawn, so not measured.
    figure = _figure_with_title("Fits")
    ax = figure.get_axes()[0]
    ax.set_xticks([-50.0, 0.0, 1.0, 50.0], ["far left", "0", "1", "far right"])
    ax.set_xlim(-0.1, 1.1)
    drawn = {text.get_text() for text in canvas.drawn_texts(_drawn(figure))}
    assert {"0", "1"} <= drawn and not {"far left", "far right"} & drawn
    assert not canvas.texts_off_canvas(figure, style.DPI)
    # Without a layout engine to make room, a drawn tick label can pass an edge.
    plain = Figure(figsize=(3.0, 2.0))
    ax = plain.add_subplot()
    ax.set_xlim(-60.0, 60.0)
    ax.set_xticks([-60.0, 60.0], ["a long tick label at the far left", "right"])
    found = canvas.texts_off_canvas(plain, style.DPI)
    assert any(item.text.startswith("a long tick") and item.left > 40 for item in found)


def _drawn(figure: Figure) -> Figure:
    canvas.FigureCanvasAgg(figure).draw()
    return figure


def test_the_paper_box_is_the_one_the_paper_includes_figures_in() -> None:
    source = (ROOT / "workflow/innopanel/exhibits/paper.py").read_text(encoding="utf-8")
    assert r"\documentclass[11pt,a4paper]{article}" in source
    assert r"\usepackage[margin=2.2cm]{geometry}" in source
    assert r"\includegraphics[width=\textwidth,height=0.8\textheight,keepaspectratio]" in source
    assert canvas.PAPER_TEXT_WIDTH == pytest.approx((210 - 44) / 25.4)
    assert canvas.PAPER_FIGURE_HEIGHT == pytest.approx(0.8 * (297 - 44) / 25.4)
    assert canvas.paper_scale(8.0, 4.0) == pytest.approx(canvas.PAPER_TEXT_WIDTH / 8.0)


# --- the figures of the bundled studies and of 40-character names -------------------------


def _staged(config: dict) -> dict[str, Path]:
    """Each source's shipped file: bundled in the repository, or in the study's mirror."""
    staged = {}
    mirror = config["data"]["fetch"].get("mirror_dir")
    for name, source in config["data"]["sources"].items():
        if source["kind"] == "bundled":
            staged[name] = ROOT / source["path"]
        else:
            candidates = mirror_candidates(ROOT / mirror, source["url"], source["sha256"])
            staged[name] = next(path for path in candidates if path.is_file())
    return staged


class Study:
    """A study's config, panel and fitted models, as its figure rules receive them."""

    def __init__(self, name: str) -> None:
        config_name = "demo_cities" if name == LONG_NAMES else name
        _, self.config = load_study({"study": config_name}, [], ROOT)
        panel, _ = clean_panel(_staged(self.config), self.config)
        if name == LONG_NAMES:
            # 40 characters each: "Région Cheng et Communauté Autonome Nord".
            panel["name_en"] = panel["unit_id"].map(
                lambda u: f"Région {u[:5].title():x<5} et Communauté Autonome Nord"
            )
            assert panel["name_en"].str.len().eq(40).all()
        self.panel = panel
        self.exhibits = self.config["exhibits"]
        self.labels = unit_labels.variable_labels(self.config)
        self.unit = study_unit(self.config)
        self.footer = self.config["data"]["footer"]
        self.focal = self.config["study"]["focal_unit"]
        self.peers = self.config["study"]["peer_units"]
        self.model_labels = {name: m["label"] for name, m in self.config["models"].items()}
        specs = model_specs(self.config)
        self.coefficient_plot = exhibit_specs.coefficient_plot_spec(self.exhibits)
        wanted = {
            *self.coefficient_plot.models,
            self.exhibits["residual_plot"]["model"],
            self.exhibits["within_relationship"]["model"],
        }
        self.estimates = estimate_models(
            panel, {name: specs[name] for name in specs if name in wanted}, unit=self.unit
        )
        within = self.exhibits["within_relationship"]
        self.partial = partial_regression(panel, specs[within["model"]], within["regressor"])

    def figure(self, kind: str) -> Figure:
        builders: dict[str, Callable[[], Figure]] = {
            "coefficients": self._coefficients,
            "residuals": self._residuals,
            "within_relationship": self._within,
            "trends": lambda: panel_figures.plot_trends(
                self.panel,
                self.focal,
                self.peers,
                self.exhibits["trends"]["variables"],
                self.labels,
                self.footer,
                self.unit,
            ),
            "focal_vs_peers": self._focal_vs_peers,
            "ranking": self._ranking,
            "correlation_heatmap": lambda: relationship_figures.plot_correlation_heatmap(
                self.panel,
                self.exhibits["correlation_table"]["variables"],
                self.labels,
                self.footer,
                self.unit,
            ),
        }
        return builders[kind]()

    def _coefficients(self) -> Figure:
        synthetic = self.config["data"]["synthetic"]
        return estimate_figures.plot_coefficients(
            self.estimates.table,
            self.coefficient_plot.terms,
            self.coefficient_plot.models,
            self.model_labels,
            self.labels,
            self.footer,
            true_values=self.config["demo"]["true_coefficients"] if synthetic else {},
        )

    def _residuals(self) -> Figure:
        model = self.exhibits["residual_plot"]["model"]
        return estimate_figures.plot_residuals(
            estimate_figures.model_residuals(self.estimates.residuals, model),
            self.labels[self.config["models"][model]["outcome"]],
            self.model_labels[model],
            self.focal,
            unit_names(self.panel),
            self.footer,
            unit=self.unit,
        )

    def _within(self) -> Figure:
        within = self.exhibits["within_relationship"]
        return relationship_figures.plot_within_relationship(
            self.partial,
            self.estimates.table,
            within["model"],
            within["regressor"],
            self.labels,
            self.focal,
            unit_names(self.panel),
            self.footer,
            self.unit,
        )

    def _focal_vs_peers(self) -> Figure:
        spec = exhibit_specs.focal_vs_peers_spec(self.exhibits)
        return panel_figures.plot_focal_vs_peers(
            self.panel,
            self.focal,
            self.peers,
            spec.variables,
            spec.relative_to_peers,
            self.labels,
            self.footer,
            self.unit,
            spec.year,
        )

    def _ranking(self) -> Figure:
        spec = exhibit_specs.ranking_spec(self.exhibits)
        return panel_figures.plot_ranking(
            self.panel,
            spec.variable,
            self.focal,
            self.peers,
            self.labels,
            self.footer,
            self.unit,
            spec.year,
        )


_STUDIES: dict[str, Study] = {}


def study(name: str) -> Study:
    if name not in _STUDIES:
        _STUDIES[name] = Study(name)
    return _STUDIES[name]


@pytest.mark.parametrize("kind", FIGURES)
@pytest.mark.parametrize("name", ["demo_cities", "china_provinces", LONG_NAMES])
def test_no_text_of_a_studys_figure_leaves_its_canvas(name: str, kind: str) -> None:
    figure = study(name).figure(kind)
    found = canvas.texts_off_canvas(figure, style.DPI)
    assert not found, f"{name}, figure {kind}: " + "; ".join(item.describe() for item in found)


@pytest.mark.parametrize("name", ["demo_cities", "china_provinces"])
def test_the_within_slope_is_the_headline_coefficient_of_the_estimates_file(
    name: str, tmp_path: Path
) -> None:
    built = study(name)
    csv = tmp_path / "estimates.csv"
    write_estimates(
        built.estimates, "note", csv, tmp_path / "estimates.parquet", tmp_path / "r.parquet"
    )
    written = pd.read_csv(csv)
    within = built.exhibits["within_relationship"]
    row = written.query(f"model == '{within['model']}' and term == '{within['regressor']}'")
    x, y = built.partial["regressor_partial"], built.partial["outcome_partial"]
    _, slope = relationship_figures.within_slope(x.to_numpy(), y.to_numpy())
    assert slope == pytest.approx(row["estimate"].item(), rel=1e-10, abs=1e-12)
    # The printed slope and SE are the file's, with the model's own covariance.
    figure = built.figure("within_relationship")
    note = figure.get_axes()[0].get_title(loc="left")
    assert f"SE {row['std_error'].item():.3f}" in note
    assert row["cov_label"].item().lower() in note.lower()


def test_the_demo_coefficient_figure_marks_the_true_values_of_its_config() -> None:
    built = study("demo_cities")
    figure = built.figure("coefficients")
    truth = built.config["demo"]["true_coefficients"]
    for ax, term in zip(figure.get_axes(), built.coefficient_plot.terms, strict=True):
        lines = [line for line in ax.lines if line.get_gid() == "truth"]
        assert len(lines) == 1 and lines[0].get_xdata()[0] == pytest.approx(truth[term])
    legend = [t.get_text() for sub in figure.subfigs for lg in sub.legends for t in lg.texts]
    assert any(text.startswith("True value") for text in legend)
    title = " ".join(figure.subfigs[0].get_suptitle().split())
    assert "Effect" not in title and title.startswith("Associations with")


def test_the_real_studys_figures_name_what_they_rank_and_the_years_they_draw() -> None:
    built = study("china_provinces")
    ranking = built.figure("ranking")
    variable = exhibit_specs.ranking_spec(built.exhibits).variable
    title = " ".join(ranking.get_axes()[0].get_title().split())
    assert title.startswith(f"Provinces ranked by {built.labels[variable].lower()} in ")
    trends = built.figure("trends")
    for ax, variable in zip(trends.get_axes(), built.exhibits["trends"]["variables"], strict=False):
        years = built.panel.loc[built.panel[variable].notna(), "year"]
        assert ax.get_title(loc="left") == f"{years.min()}–{years.max()}"
    colours = [
        (line.get_color(), line.get_linestyle())
        for line in trends.get_axes()[0].lines
        if line.get_gid() != "focal" and line.get_linestyle() != "--"
    ]
    assert len(colours) == len(built.peers) == len(set(colours)) == 8
    # No axis of the focal-vs-peers figure uses an offset ("1e6") or scientific notation.
    focal = built.figure("focal_vs_peers")
    _drawn(focal)
    for ax in focal.get_axes():
        assert ax.xaxis.get_offset_text().get_text() == ""
        assert all(re.fullmatch(r"[\d,.−]+", t.get_text()) for t in ax.get_xticklabels())


def test_plain_numbers_print_every_tick_exactly_with_separators() -> None:
    figure = _figure_with_title("Fits")
    ax = figure.get_axes()[0]
    ax.set_ylim(0, 1_250_000)
    ax.set_yticks([0, 250_000, 500_000, 1_250_000])
    style.plain_numbers(ax.yaxis)
    ax.set_xlim(-0.5, 0.5)
    ax.set_xticks([-0.25, 0.0, 0.25])
    style.plain_numbers(ax.xaxis)
    _drawn(figure)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "250,000", "500,000", "1,250,000"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["−0.25", "0.00", "0.25"]
    assert np.isclose(ax.get_ylim()[1], 1_250_000)


def test_the_within_relationship_must_name_a_fixed_effects_model_and_one_of_its_terms() -> None:
    config = study("demo_cities").config
    section = config["exhibits"]["within_relationship"]
    assert not exhibit_problems(config)
    for change, expected in (
        ({"model": "pooled_ols"}, "is a pooled_ols model; the within relationship is"),
        ({"model": "twoway_fee"}, "'twoway_fee' is not a model. Did you mean 'twoway_fe'?"),
        ({"regressor": "gdp"}, "regressor = 'gdp' is not a term of model 'twoway_fe'"),
    ):
        broken = {
            **config,
            "exhibits": {**config["exhibits"], "within_relationship": {**section, **change}},
        }
        problems = exhibit_problems(broken)
        assert any(expected in problem for problem in problems), problems
