"""Tests of the figures on a small synthetic panel (no workflow inputs needed).

Each figure is checked for what a reader relies on: the numbers drawn are the data's
(computed here independently), the focal unit is highlighted, every axis is labelled,
the data note is in the footer, and the saved bytes depend only on the inputs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from exhibit_panel import FOCAL, OTHERS, PEERS, city_panel
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Text

from innopanel.config.specs import model_spec
from innopanel.econometrics.models import estimate_models
from innopanel.econometrics.partial_regression import partial_regression
from innopanel.exhibits import (
    canvas,
    estimate_figures,
    frames,
    panel_figures,
    relationship_figures,
    style,
    summary_tables,
)

FOOTER = "Synthetic demo data — not real statistics ($ and % kept literal)"
LABELS = {
    "rd_intensity": "R&D intensity (% of GDP)",
    "talent": "R&D personnel per 10,000 residents",
    "open_platforms": "National open innovation platforms",
    "patents_per_10k": "Invention patents granted per 10,000 residents",
    "log_patents_granted": "Log invention patents granted",
    "gdp": "GDP (CNY 100 million)",
}
WORKFLOW_DIR = Path(__file__).resolve().parents[1] / "workflow"
RESIDUAL_MODEL = "twoway_fe"


TREND_VARIABLES = ("rd_intensity", "talent", "open_platforms", "patents_per_10k")


def all_texts(figure: Figure | SubFigure) -> list[Text]:
    """Every text drawn on the figure itself or on its sub-figures (not on axes)."""
    texts = list(figure.texts)
    for sub in figure.subfigs:
        texts += all_texts(sub)
    return texts


def footer_text(figure: Figure) -> str:
    """The footer drawn on ``figure`` with its line breaks undone."""
    for text in all_texts(figure):
        if text.get_gid() == "footer":
            return " ".join(text.get_text().split())
    return ""


def focal_label(figure: Figure) -> str | None:
    """The legend label of the focal unit's artist (gid ``focal``), if drawn."""
    for ax in figure.get_axes():
        for artist in [*ax.lines, *ax.collections, *ax.patches]:
            if artist.get_gid() == "focal":
                return artist.get_label()
    return None


def make_estimates() -> pd.DataFrame:
    rows = []
    models = {
        "pooled_ols": ["rd_intensity", "log_talent", "open_platforms", "const"],
        "city_fe": ["rd_intensity", "log_talent", "open_platforms"],
        "twoway_fe_lag1": ["rd_intensity_lag1", "log_talent_lag1", "open_platforms_lag1"],
    }
    for m_index, (model, terms) in enumerate(models.items()):
        for t_index, term in enumerate(terms):
            estimate = 0.2 * (t_index + 1) - 0.15 * m_index
            rows.append(
                {
                    "model": model,
                    "outcome": "log_patents_granted",
                    "term": term,
                    "estimate": estimate,
                    "ci_lower": estimate - 0.1 * (m_index + 1),
                    "ci_upper": estimate + 0.1 * (m_index + 1),
                }
            )
    return pd.DataFrame(rows)


def make_residuals(panel: pd.DataFrame) -> pd.DataFrame:
    """Rows of results/estimates/residuals.parquet for two models of ``panel``."""
    rng = np.random.default_rng(11)
    rows = panel.dropna(subset=["rd_intensity"]).sort_values(["unit_id", "year"])
    frames = []
    for model, scale in ((RESIDUAL_MODEL, 0.1), ("city_fe", 0.2)):
        residual = rng.normal(0.0, scale, len(rows))
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "unit_id": rows["unit_id"].to_numpy(),
                    "year": rows["year"].to_numpy(),
                    "fitted": rows["log_patents_granted"].to_numpy() - residual,
                    "residual": residual,
                    "data_note": FOOTER,
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(["model", "unit_id", "year"])


MODEL_LABELS = {
    "pooled_ols": "Pooled OLS",
    "city_fe": "City FE",
    "twoway_fe_lag1": "Two-way FE, lagged",
}
TERM_LABELS = {
    "rd_intensity": "R&D intensity (% of GDP)",
    "log_talent": "Log R&D personnel per 10,000 residents",
    "open_platforms": "National open innovation platforms",
    "log_patents_granted": "Log invention patents granted",
}
CORRELATION_VARIABLES = ["log_patents_granted", "rd_intensity", "talent", "open_platforms"]


#: The within relationship's model: two-way FE with a control, so that the figure's
#: slope equals the coefficient only once the control is partialled out too.
WITHIN_MODEL = {
    "label": "Two-way FE",
    "estimator": "fixed_effects",
    "entity_effects": True,
    "time_effects": True,
    "outcome": "log_patents_granted",
    "regressors": ["rd_intensity", "log_talent"],
    "controls": ["secondary_share"],
    "covariance": "clustered",
}


def within_inputs(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The within figure's inputs from ``panel``: the partial regression of the two-way
    FE model on R&D intensity, and the model's tidy estimates."""
    spec = model_spec("twoway_fe", WITHIN_MODEL)
    estimates = estimate_models(panel, {"twoway_fe": spec}).table
    return partial_regression(panel, spec, "rd_intensity"), estimates


def build(kind: str, unit: str = "city"):
    panel = city_panel()
    if kind == "focal_vs_peers":
        return panel_figures.plot_focal_vs_peers(
            panel,
            FOCAL,
            PEERS,
            ["rd_intensity", "open_platforms", "talent"],
            ["gdp"],
            LABELS,
            FOOTER,
            unit=unit,
        )
    if kind == "trends":
        return panel_figures.plot_trends(
            panel, FOCAL, PEERS, list(TREND_VARIABLES), LABELS, FOOTER, unit=unit
        )
    if kind == "ranking":
        return panel_figures.plot_ranking(
            panel, "patents_per_10k", FOCAL, PEERS, LABELS, FOOTER, unit=unit
        )
    if kind == "within":
        partial, estimates = within_inputs(panel)
        return relationship_figures.plot_within_relationship(
            partial,
            estimates,
            "twoway_fe",
            "rd_intensity",
            LABELS,
            FOCAL,
            frames.unit_names(panel),
            FOOTER,
            unit=unit,
        )
    if kind == "heatmap":
        return relationship_figures.plot_correlation_heatmap(
            panel, CORRELATION_VARIABLES, LABELS, FOOTER, unit=unit
        )
    if kind == "coefficients":
        return estimate_figures.plot_coefficients(
            make_estimates(),
            ["rd_intensity", "log_talent", "open_platforms"],
            list(MODEL_LABELS),
            MODEL_LABELS,
            TERM_LABELS,
            FOOTER,
        )
    if kind == "residuals":
        residuals = estimate_figures.model_residuals(make_residuals(panel), RESIDUAL_MODEL)
        return estimate_figures.plot_residuals(
            residuals,
            LABELS["log_patents_granted"],
            "Two-way FE",
            FOCAL,
            frames.unit_names(panel),
            FOOTER,
            unit=unit,
        )
    raise ValueError(kind)


KINDS = ["focal_vs_peers", "trends", "ranking", "within", "heatmap", "coefficients", "residuals"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def save(kind: str, directory: Path) -> tuple[Path, Path]:
    pdf, png = directory / f"{kind}.pdf", directory / f"{kind}.png"
    style.save_figure(build(kind), pdf, png)
    return pdf, png


def data_axes(figure) -> list:
    """Axes that draw data (not colour bars, not hidden grid cells)."""
    return [ax for ax in figure.get_axes() if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _legend_texts(figure) -> list[str]:
    legends = [*figure.legends]
    for sub in figure.subfigs:
        legends += sub.legends
    for ax in figure.get_axes():
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def _same_colour(a, b) -> bool:
    return mcolors.to_hex(a) == mcolors.to_hex(b)


# --- saving: formats, determinism, metadata ------------------------------------------


# A fresh interpreter with another hash seed saves the same figures, to prove the
# bytes depend on nothing but the inputs (no dates, ids, hash order or process state).
SUBPROCESS_SAVE = """
import sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import test_figures
for kind in sys.argv[4:]:
    test_figures.save(kind, Path(sys.argv[3]))
"""


@pytest.mark.parametrize("kind", KINDS)
def test_save_figure_writes_pdf_and_png(tmp_path, kind):
    from PIL import Image

    pdf, png = save(kind, tmp_path / "out")
    width, height = build(kind).get_size_inches()
    pdf_bytes = pdf.read_bytes()
    assert pdf_bytes.startswith(b"%PDF-")
    # One page, the figure's size in points.
    assert pdf_bytes.count(b"/Type /Page\n") + pdf_bytes.count(b"/Type /Page ") == 1
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf_bytes)
    assert box and [float(v) for v in box.groups()] == pytest.approx([width * 72, height * 72])
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    with Image.open(png) as image:
        assert image.size == pytest.approx((width * style.DPI, height * style.DPI), abs=1)
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in pdf.parent.iterdir()) == sorted([pdf.name, png.name])


def test_figures_are_byte_identical_across_saves_and_processes(tmp_path):
    first, again, other = tmp_path / "first", tmp_path / "again", tmp_path / "other"
    for kind in KINDS:
        save(kind, first)
        save(kind, again)
    environment = dict(os.environ, PYTHONHASHSEED="12345", SOURCE_DATE_EPOCH="86400")
    subprocess.run(
        [
            sys.executable,
            "-c",
            SUBPROCESS_SAVE,
            str(WORKFLOW_DIR),
            str(Path(__file__).parent),
            str(other),
            *KINDS,
        ],
        check=True,
        env=environment,
        timeout=300,
    )
    for kind in KINDS:
        for suffix in (".pdf", ".png"):
            reference = (first / f"{kind}{suffix}").read_bytes()
            assert (again / f"{kind}{suffix}").read_bytes() == reference, f"{kind}{suffix}"
            assert (other / f"{kind}{suffix}").read_bytes() == reference, (
                f"{kind}{suffix} differs when saved in another process"
            )


def test_saved_files_carry_no_dates_or_versions(tmp_path):
    from PIL import Image

    pdf, png = save("within", tmp_path)
    pdf_bytes = pdf.read_bytes()
    assert b"/CreationDate" not in pdf_bytes and b"/ModDate" not in pdf_bytes
    assert b"/Producer (innopanel)" in pdf_bytes and b"/Creator (innopanel)" in pdf_bytes
    assert b"Matplotlib" not in pdf_bytes
    with Image.open(png) as image:
        text_chunks = {k: v for k, v in image.info.items() if isinstance(v, str)}
        assert text_chunks == {"Software": "innopanel"}
        assert image.info["dpi"] == pytest.approx((style.DPI, style.DPI), abs=0.01)


# --- what every figure shares ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_carries_the_footer_inside_the_canvas(kind):
    figure = build(kind)
    assert footer_text(figure) == FOOTER
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    footer = next(t for t in all_texts(figure) if t.get_gid() == "footer")
    box = footer.get_window_extent(renderer)
    assert box.x0 >= 0 and box.y0 >= 0
    assert box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height
    # Nothing else (axes, tick labels, legends) overlaps the footer.
    for ax in figure.get_axes():
        assert not box.overlaps(ax.get_tightbbox(renderer)), f"footer overlaps {ax}"
    for sub in figure.subfigs:
        for legend in sub.legends:
            assert not box.overlaps(legend.get_window_extent(renderer)), "footer overlaps legend"


@pytest.mark.parametrize("kind", KINDS)
def test_every_axis_is_labelled_and_fits_a_page(kind):
    figure = build(kind)
    width, _ = figure.get_size_inches()
    # Scaled to a 6.5 in text width, 9 pt text stays readable.
    assert width <= style.MAX_WIDTH
    for ax in data_axes(figure):
        # An axis is labelled itself or through an axis it shares the scale with.
        x_siblings = ax.get_shared_x_axes().get_siblings(ax)
        assert any(a.get_xlabel().strip() for a in x_siblings), f"{kind}: no x label"
        y_siblings = ax.get_shared_y_axes().get_siblings(ax)
        assert any(
            a.get_ylabel().strip() or any(t.get_text() for t in a.get_yticklabels())
            for a in y_siblings
        ), f"{kind}: no y label"


@pytest.mark.parametrize("kind", KINDS)
def test_figures_draw_nothing_outside_the_canvas(kind):
    texts_inside_the_canvas(build(kind))


def test_units_follow_the_configured_unit():
    within = build("within", unit="country")
    ax = within.get_axes()[0]
    assert "net of country and year effects" in " ".join(ax.get_xlabel().split())
    legend = _legend_texts(within)
    assert "Other country-years" in legend
    trends = build("trends", unit="country")
    assert any(text.startswith("Median of 8 other countries") for text in _legend_texts(trends))
    assert not any("cit" in text.lower() for text in _legend_texts(trends))


def test_dollar_signs_are_printed_not_parsed_as_math():
    labels = dict(LABELS, rd_intensity="R&D spend ($ per capita)")
    partial, estimates = within_inputs(city_panel())
    figure = relationship_figures.plot_within_relationship(
        partial, estimates, "twoway_fe", "rd_intensity", labels, FOCAL, {}, "Costs in $ and $"
    )
    FigureCanvasAgg(figure).draw()  # would raise on unbalanced mathtext
    assert footer_text(figure) == "Costs in $ and $"


def test_long_footer_is_wrapped_not_clipped():
    footer = (
        "Synthetic demo data: generated by a seeded data-generating process "
        "(innopanel.synthetic.demo), "
        "calibrated to figures quoted by Jia et al.; these are not real statistics. " * 2
    )
    partial, estimates = within_inputs(city_panel())
    figure = relationship_figures.plot_within_relationship(
        partial, estimates, "twoway_fe", "rd_intensity", LABELS, FOCAL, {}, footer
    )
    assert footer_text(figure) == " ".join(footer.split())
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    footer_artist = next(t for t in all_texts(figure) if t.get_gid() == "footer")
    box = footer_artist.get_window_extent(canvas.get_renderer())
    assert "\n" in footer_artist.get_text()
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= figure.bbox.width


def test_lower_first_keeps_acronyms():
    assert style.lower_first("Log invention patents") == "log invention patents"
    assert style.lower_first("R&D intensity") == "R&D intensity"
    assert style.lower_first("GDP") == "GDP"


# --- the focal unit against its peers in one year ---------------------------------------


def _names_top_to_bottom(ax) -> list[str]:
    ticks = zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    return [label.get_text() for _, label in sorted(ticks, key=lambda pair: -pair[0])]


def _bars(ax) -> dict[str, float]:
    """Bar values by the name at their tick."""
    names = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True))
    return {names[p.get_y() + p.get_height() / 2]: p.get_width() for p in ax.patches}


def test_focal_vs_peers_draws_the_latest_year_values():
    panel = city_panel()
    figure = build("focal_vs_peers")
    axes = data_axes(figure)
    assert len(axes) == 4
    latest = panel[panel["year"] == 2022].set_index("unit_id")
    names = frames.unit_names(panel)
    for ax, variable in zip(axes[:3], ["rd_intensity", "open_platforms", "talent"], strict=True):
        bars = _bars(ax)
        expected = {names[u]: float(latest.at[u, variable]) for u in [FOCAL, *PEERS]}
        assert bars == pytest.approx(expected)
        widths = [p.get_width() for p in sorted(ax.patches, key=lambda p: -p.get_y())]
        assert widths == sorted(widths, reverse=True), "largest on top"
        focal = [p for p in ax.patches if p.get_gid() == "focal"]
        assert len(focal) == 1 and _same_colour(focal[0].get_facecolor(), style.FOCAL_COLOUR)
        peers = [p for p in ax.patches if p.get_gid() == "peer"]
        assert all(_same_colour(p.get_facecolor(), style.PEER_GROUP_COLOUR) for p in peers)
        median = [line for line in ax.lines if line.get_gid() == "peer_median"]
        peer_values = [float(latest.at[u, variable]) for u in PEERS]
        assert median[0].get_xdata()[0] == pytest.approx(float(np.median(peer_values)))
    # The relative panel: the focal unit's GDP as % of each peer's, with parity at 100 %.
    relative = _bars(axes[3])
    expected = {names[p]: 100.0 * latest.at[FOCAL, "gdp"] / latest.at[p, "gdp"] for p in PEERS}
    assert relative == pytest.approx(expected)
    assert any(line.get_gid() == "parity" for line in axes[3].lines)
    assert "GDP" in axes[3].get_title() and "% of the peer's" in " ".join(
        axes[3].get_xlabel().split()
    )
    assert figure.subfigs[0].get_suptitle() == "Chengdu against its peers in 2022"


def test_focal_vs_peers_uses_the_latest_year_the_focal_unit_has_data_or_the_configured_one():
    panel = city_panel()
    panel.loc[(panel["unit_id"] == FOCAL) & (panel["year"] == 2022), "talent"] = np.nan
    assert panel_figures.comparison_year(panel, FOCAL, ["talent", "gdp"]) == 2021
    assert panel_figures.comparison_year(panel, FOCAL, ["talent"], year=2015) == 2015
    with pytest.raises(ValueError, match="year 1990 is not in the panel"):
        panel_figures.comparison_year(panel, FOCAL, ["talent"], year=1990)
    figure = panel_figures.plot_focal_vs_peers(
        panel, FOCAL, PEERS, ["talent"], [], LABELS, FOOTER, year=2016
    )
    assert figure.subfigs[0].get_suptitle().endswith("in 2016")


def test_focal_vs_peers_names_peers_without_data():
    panel = city_panel()
    panel.loc[(panel["unit_id"] == "wuhan") & (panel["year"] == 2022), "talent"] = np.nan
    figure = panel_figures.plot_focal_vs_peers(panel, FOCAL, PEERS, ["talent"], [], LABELS, FOOTER)
    ax = data_axes(figure)[0]
    assert "Wuhan" not in [t.get_text() for t in ax.get_yticklabels()]
    assert any(t.get_text() == "no data: Wuhan" for t in ax.texts)


def test_focal_vs_peers_rejects_unknown_units():
    with pytest.raises(ValueError, match="focal city 'atlantis'"):
        panel_figures.plot_focal_vs_peers(
            city_panel(), "atlantis", PEERS, ["talent"], [], LABELS, FOOTER, unit="city"
        )
    with pytest.raises(ValueError, match=r"peer countries \['atlantis'\]"):
        panel_figures.plot_focal_vs_peers(
            city_panel(), FOCAL, ["atlantis"], ["talent"], [], LABELS, FOOTER, unit="country"
        )


def test_bar_labels_use_one_number_of_decimals_per_panel():
    assert panel_figures.bar_decimals([9.0, 40.0, 25.0]) == 0
    assert panel_figures.bar_decimals([3.19, 5.16]) == 2
    assert panel_figures.bar_decimals([43.8, 285.2, 96.8]) == 1
    assert panel_figures.bar_decimals([121.3, 369.9]) == 0


# --- trends ---------------------------------------------------------------------------


def test_trends_highlight_the_focal_unit_among_named_peers():
    figure = build("trends")
    axes = data_axes(figure)
    assert len(axes) == 4
    assert [ax.get_ylabel().replace("\n", " ") for ax in axes] == [
        LABELS[v] for v in TREND_VARIABLES
    ]
    assert focal_label(figure) == "Chengdu"
    legend = _legend_texts(figure)
    assert legend[0] == "Chengdu"
    assert {"Shanghai", "Shenzhen", "Xi'an", "Chongqing"} <= set(legend)
    assert f"Median of {len(OTHERS)} other cities" in legend
    for ax in axes:
        focal = [line for line in ax.lines if line.get_gid() == "focal"]
        assert len(focal) == 1 and _same_colour(focal[0].get_color(), style.FOCAL_COLOUR)
        others = [line for line in ax.lines if line.get_gid() != "focal"]
        assert focal[0].get_linewidth() > max(line.get_linewidth() for line in others)
        assert focal[0].get_zorder() > max(line.get_zorder() for line in others)
        assert not any(_same_colour(line.get_color(), style.FOCAL_COLOUR) for line in others)
        median = [line for line in others if line.get_linestyle() == "--"]
        assert len(median) == 1
    # Only English names: no CJK glyph is ever requested.
    texts = [t.get_text() for t in all_texts(figure)] + legend
    assert not any("\u4e00" <= char <= "\u9fff" for text in texts for char in text)


def test_trends_median_excludes_focal_and_peers():
    panel = city_panel()
    figure = panel_figures.plot_trends(panel, FOCAL, PEERS, ["rd_intensity"], LABELS, FOOTER)
    ax = figure.get_axes()[0]
    median = next(line for line in ax.lines if line.get_linestyle() == "--")
    others = panel[panel["unit_id"].isin(OTHERS)]
    expected = others.groupby("year")["rd_intensity"].median()
    np.testing.assert_allclose(median.get_ydata(), expected.to_numpy())


# --- ranking --------------------------------------------------------------------------


def test_ranking_orders_every_unit_and_prints_the_focal_rank():
    panel = city_panel()
    figure = build("ranking")
    ax = data_axes(figure)[0]
    latest = panel[panel["year"] == 2022].sort_values("patents_per_10k", ascending=False)
    names = frames.unit_names(panel)
    assert _names_top_to_bottom(ax) == [names[u] for u in latest["unit_id"]]
    rank = list(latest["unit_id"]).index(FOCAL) + 1
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "rank"]
    assert texts == [f"Chengdu: rank {rank} of {len(latest)}"]
    colours = {p.get_gid(): mcolors.to_hex(p.get_facecolor()) for p in ax.patches}
    assert colours["focal"] == style.FOCAL_COLOUR.lower()
    assert colours["peer"] == style.PEER_GROUP_COLOUR.lower()
    assert colours["other"] == style.OTHER_COLOUR.lower()
    title = "Cities ranked by invention patents granted per 10,000 residents in 2022"
    assert ax.get_title().replace("\n", " ") == title
    assert ax.get_xlabel() == "Invention patents granted per 10,000 residents, 2022"


def test_a_ranking_names_the_units_without_a_value_in_its_year():
    # Issue 18: the ranking left out a unit with no value in the ranked year silently.
    panel = city_panel()
    gaps = (panel["year"] == 2022) & panel["unit_id"].isin(["wuhan", "dalian"])
    panel.loc[gaps, "patents_per_10k"] = np.nan
    panel.loc[panel["unit_id"] == "dalian", "name_en"] = "Dalian $1"
    figure = panel_figures.plot_ranking(panel, "patents_per_10k", FOCAL, PEERS, LABELS, FOOTER)
    ax = data_axes(figure)[0]
    ranked = panel["unit_id"].nunique() - 2
    assert len(ax.get_yticklabels()) == ranked
    rank = next(t.get_text() for t in ax.texts if t.get_gid() == "rank")
    assert rank.endswith(f" of {ranked}")
    # Names, sorted, printed as written ("$" included: figures never parse mathtext).
    assert ax.get_xlabel().split("\n")[1:] == ["Not ranked (no value in 2022): Dalian $1, Wuhan."]
    texts_inside_the_canvas(figure)


def test_a_ranking_year_without_the_focal_value_is_refused_naming_the_fix():
    panel = city_panel()
    panel.loc[(panel["unit_id"] == FOCAL) & (panel["year"] == 2020), "patents_per_10k"] = np.nan
    with pytest.raises(ValueError, match=r"'chengdu' has no patents_per_10k in 2020; set exhibits"):
        panel_figures.plot_ranking(
            panel, "patents_per_10k", FOCAL, PEERS, LABELS, FOOTER, year=2020
        )


def test_a_long_list_of_unranked_units_is_cut_with_a_count():
    note = panel_figures.not_ranked_note([f"U{i:02d}" for i in range(15)], 2020, "regions", most=3)
    assert note == "Not ranked (no value in 2020): U00, U01, U02 and 12 other regions."


# --- within-unit relationship ------------------------------------------------------------


def test_within_relationship_draws_the_two_way_fe_coefficient_with_its_band():
    panel = city_panel()
    figure = build("within")
    data = panel.dropna(subset=["rd_intensity", "log_talent", "log_patents_granted"])
    # Reference: the two-way FE coefficient from statsmodels OLS with city and year
    # dummies and the other terms, and its clustered SE from the estimate step.
    dummies = pd.get_dummies(data[["unit_id", "year"]].astype(str), drop_first=True, dtype=float)
    design = pd.concat([data[["rd_intensity", "log_talent", "secondary_share"]], dummies], axis=1)
    fit = sm.OLS(data["log_patents_granted"], sm.add_constant(design)).fit()
    slope = float(fit.params["rd_intensity"])
    _, estimates = within_inputs(panel)
    row = estimates.query("term == 'rd_intensity'").iloc[0]
    assert row["estimate"] == pytest.approx(slope, rel=1e-10)
    ax = figure.get_axes()[0]
    note = ax.get_title(loc="left")
    assert f"Slope {slope:.3f}".replace("-", "\u2212") in note
    assert f"SE {row['std_error']:.3f} (clustered by city)" in note
    fitted = next(line for line in ax.lines if line.get_gid() == "fit")
    x, y = fitted.get_xdata(), fitted.get_ydata()
    assert np.polyfit(x, y, 1)[0] == pytest.approx(slope, rel=1e-9)
    # The band is the coefficient's 95 % interval times the distance from zero.
    band = next(c for c in ax.collections if c.get_gid() == "band")
    vertices = band.get_paths()[0].vertices
    widest = float(np.max(vertices[:, 1] - slope * vertices[:, 0]))
    reach = float(np.max(np.abs(x)))
    assert widest == pytest.approx((row["ci_upper"] - row["estimate"]) * reach, rel=1e-6)
    labels = " ".join(ax.get_xlabel().split())
    assert LABELS["rd_intensity"] in labels
    assert "net of city and year effects, log_talent and secondary_share" in labels
    focal = [c for c in ax.collections if c.get_gid() == "focal"]
    assert len(focal) == 1 and len(focal[0].get_offsets()) == (data["unit_id"] == FOCAL).sum()
    assert "Chengdu" in _legend_texts(figure)


def test_a_within_figure_refuses_estimates_from_another_run():
    partial, estimates = within_inputs(city_panel())
    stale = estimates.assign(estimate=estimates["estimate"] + 1e-6)
    with pytest.raises(ValueError, match="the two files come from different runs"):
        relationship_figures.plot_within_relationship(
            partial, stale, "twoway_fe", "rd_intensity", LABELS, FOCAL, {}, FOOTER
        )


# --- correlation heatmap ------------------------------------------------------------------


def test_heatmap_draws_the_lower_triangle_of_the_correlation_table():
    panel = city_panel()
    figure = build("heatmap")
    ax = data_axes(figure)[0]
    mesh = ax.collections[0]
    values = np.ma.filled(mesh.get_array(), np.nan).reshape(4, 4)
    expected, _ = summary_tables.correlation_matrix(panel, CORRELATION_VARIABLES)
    lower = np.tril(np.ones((4, 4), dtype=bool))
    np.testing.assert_allclose(values[lower], expected.to_numpy()[lower])
    assert np.isnan(values[~lower]).all()
    annotations = [t.get_text() for t in ax.texts]
    assert len(annotations) == lower.sum()
    assert mesh.norm.vmin == -1.0 and mesh.norm.vmax == 1.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["(1)", "(2)", "(3)", "(4)"]
    assert ax.get_yticklabels()[1].get_text().startswith("(2) R&D intensity")


# --- coefficients --------------------------------------------------------------------------


def test_coefficients_match_lagged_terms_and_draw_zero_and_cis():
    table = estimate_figures.coefficient_table(
        make_estimates(), ["rd_intensity", "log_talent", "open_platforms"], list(MODEL_LABELS)
    )
    lagged = table[table["model"] == "twoway_fe_lag1"]
    assert list(lagged["term"]) == ["rd_intensity", "log_talent", "open_platforms"]
    assert lagged["lagged"].all() and not table[table["model"] != "twoway_fe_lag1"]["lagged"].any()

    figure = build("coefficients")
    axes = figure.get_axes()
    assert [ax.get_title().replace("\n", " ") for ax in axes] == [
        TERM_LABELS[t] for t in ("rd_intensity", "log_talent", "open_platforms")
    ]
    assert [t.get_text().replace("\n", " ") for t in axes[0].get_yticklabels()] == list(
        MODEL_LABELS.values()
    )
    title = " ".join(figure.subfigs[0].get_suptitle().split())
    assert title.startswith("Associations with log invention patents granted: estimated")
    assert "ffect" not in title
    for ax in axes:
        zero = [line for line in ax.lines if list(line.get_xdata()) == [0.0, 0.0]]
        assert len(zero) == 1
        low, high = ax.get_xlim()
        assert low < 0.0 < high
    # The lagged model's rd_intensity CI line spans its ci_lower..ci_upper.
    row = make_estimates().query("model == 'twoway_fe_lag1' and term == 'rd_intensity_lag1'")
    spans = [tuple(line.get_xdata()) for line in axes[0].lines if len(line.get_xdata()) == 2]
    assert (row["ci_lower"].item(), row["ci_upper"].item()) in spans


def test_coefficients_reject_a_term_no_model_has():
    with pytest.raises(ValueError, match="no_such_term"):
        estimate_figures.plot_coefficients(
            make_estimates(),
            ["no_such_term"],
            list(MODEL_LABELS),
            MODEL_LABELS,
            TERM_LABELS,
            FOOTER,
        )


# --- residuals -----------------------------------------------------------------------------


def test_model_residuals_are_the_configured_models_rows_of_the_estimate_step():
    written = make_residuals(city_panel())
    residuals = estimate_figures.model_residuals(written, RESIDUAL_MODEL)
    expected = written[written["model"] == RESIDUAL_MODEL]
    assert list(residuals.columns) == ["unit_id", "year", "fitted", "residual"]
    np.testing.assert_array_equal(residuals["residual"], expected["residual"])
    np.testing.assert_array_equal(residuals["unit_id"], expected["unit_id"])


def test_model_residuals_name_an_absent_model_and_the_fix():
    written = make_residuals(city_panel())
    with pytest.raises(
        ValueError,
        match=r"model 'ppml_twoway' has no residuals.*"
        r"exhibits\.residual_plot\.model to a linear model",
    ):
        estimate_figures.model_residuals(written, "ppml_twoway")
    with pytest.raises(ValueError, match=r"no column\(s\) \['fitted'\]"):
        estimate_figures.model_residuals(written.drop(columns="fitted"), RESIDUAL_MODEL)


def test_residual_plot_draws_residuals_against_fitted_and_normal_quantiles():
    residuals = estimate_figures.model_residuals(make_residuals(city_panel()), RESIDUAL_MODEL)
    figure = build("residuals")
    left, right = data_axes(figure)
    drawn = np.concatenate([c.get_offsets() for c in left.collections])
    assert len(drawn) == len(residuals)
    assert sorted(drawn[:, 1]) == pytest.approx(sorted(residuals["residual"]))
    qq = np.concatenate([c.get_offsets() for c in right.collections])
    standardised = np.sort(residuals["residual"] / residuals["residual"].std(ddof=1))
    np.testing.assert_allclose(np.sort(qq[:, 1]), standardised)
    # Hazen plotting positions, checked against scipy's own normal quantiles.
    from scipy import stats

    n = len(residuals)
    np.testing.assert_allclose(np.sort(qq[:, 0]), stats.norm.ppf((np.arange(n) + 0.5) / n))
    focal = [c for c in left.collections if c.get_gid() == "focal"]
    assert len(focal) == 1 and len(focal[0].get_offsets()) == (residuals["unit_id"] == FOCAL).sum()
    assert "LOWESS smoother" in _legend_texts(figure)
    assert left.get_xlabel() == "Fitted log invention patents granted"


# --- real names and many units ---------------------------------------------------------

LONG_NAME = "Région {} et Communauté Autonome Nord"  # 40 characters with a 5-letter id


def long_named_panel() -> pd.DataFrame:
    panel = city_panel()
    names = {u: LONG_NAME.format(u[:5].title().ljust(5, "x")) for u in panel["unit_id"]}
    return panel.assign(name_en=panel["unit_id"].map(names))


def many_units_panel(n_units: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = [
        {
            "unit_id": f"u{i:03d}",
            "name_en": f"Kreisfreie Stadt Nummer {i:03d} im Land Nord",
            "year": year,
            "rd_intensity": float(rng.gamma(2.0, 1.0)),
            "gdp": float(rng.gamma(3.0, 1000.0)),
        }
        for i in range(n_units)
        for year in (2021, 2022)
    ]
    return pd.DataFrame(rows)


def texts_inside_the_canvas(figure: Figure) -> None:
    """Every text drawn lies inside the canvas at every size (innopanel.exhibits.canvas)."""
    found = canvas.texts_off_canvas(figure, style.DPI)
    assert not found, "; ".join(item.describe() for item in found)


@pytest.mark.parametrize("kind", ["focal_vs_peers", "ranking", "trends"])
def test_forty_character_names_are_wrapped_and_nothing_is_cut(kind):
    panel = long_named_panel()
    assert panel["name_en"].str.len().eq(40).all()
    if kind == "focal_vs_peers":
        figure = panel_figures.plot_focal_vs_peers(
            panel, FOCAL, PEERS, ["rd_intensity", "talent"], ["gdp"], LABELS, FOOTER, "region"
        )
    elif kind == "ranking":
        figure = panel_figures.plot_ranking(panel, "rd_intensity", FOCAL, PEERS, LABELS, FOOTER)
    else:
        figure = panel_figures.plot_trends(panel, FOCAL, PEERS, TREND_VARIABLES, LABELS, FOOTER)
    texts_inside_the_canvas(figure)
    for ax in data_axes(figure):
        for tick in ax.get_yticklabels():
            lines = tick.get_text().split("\n")
            assert len(lines) <= style.NAME_LINES, tick.get_text()
            assert all(len(line) <= style.NAME_WIDTH + 1 for line in lines), tick.get_text()
        if kind != "trends":
            # The bars keep at least a third of the figure's width (no slivers).
            assert ax.get_position().width * figure.get_figwidth() > 0.2 * 8.0
    assert all(len(text) <= style.LEGEND_ENTRY_WIDTH + 24 for text in _legend_texts(figure))


def test_a_short_name_replaces_the_long_one_in_figures():
    panel = long_named_panel()
    panel["short_name"] = np.where(panel["unit_id"] == FOCAL, "Chengdu", "")
    figure = panel_figures.plot_ranking(panel, "rd_intensity", FOCAL, PEERS, LABELS, FOOTER)
    ticks = [t.get_text() for t in data_axes(figure)[0].get_yticklabels()]
    assert "Chengdu" in ticks
    assert any(t.startswith("Région Shang") for t in ticks)  # no short name: the long one


def test_a_ranking_of_300_units_shows_the_top_bottom_focal_and_peers_and_says_so():
    peers = ["u003", "u297"]
    figure = panel_figures.plot_ranking(
        many_units_panel(), "rd_intensity", "u150", peers, LABELS, FOOTER, "region"
    )
    texts_inside_the_canvas(figure)
    ax = data_axes(figure)[0]
    bars = [patch for patch in ax.patches if patch.get_gid() in ("focal", "peer", "other")]
    assert len(bars) <= 2 * 15 + 1 + len(peers)
    assert sorted(bar.get_gid() for bar in bars).count("peer") == len(peers)
    title = " ".join(ax.get_title().split())
    assert "the top and bottom 15 of 300, the focal region and its peers" in title
    assert "others not shown" in title
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert ticks[0].startswith("1. ") and ticks[-1].startswith("300. ")
    assert any("rank" in t.get_text() and "of 300" in t.get_text() for t in ax.texts)
    # At most about 40 units, every unit is shown, as before.
    small = panel_figures.plot_ranking(
        many_units_panel(40), "rd_intensity", "u010", [], LABELS, FOOTER
    )
    assert len([p for p in data_axes(small)[0].patches if p.get_gid()]) == 40


@pytest.mark.parametrize(("points", "interpolated"), [(768, False), (6_000, True)])
def test_the_residual_smoother_stays_linear_in_cost_and_says_so(
    points: int, interpolated: bool
) -> None:
    # Above EXACT_LOWESS_POINTS the smoother interpolates between local fits (a cost
    # linear in the points, not quadratic), and its legend entry says it does.
    rng = np.random.default_rng(5)
    residuals = pd.DataFrame(
        {
            "unit_id": [f"u{i % 500:03d}" for i in range(points)],
            "year": 2000 + np.arange(points) // 500,
            "fitted": rng.normal(5.0, 1.0, points),
            "residual": rng.normal(0.0, 0.3, points),
        }
    )
    figure = estimate_figures.plot_residuals(residuals, "Log patents", "FE", "u000", {}, FOOTER)
    labels = [text.get_text() for text in figure.findobj(Text)]
    smoother = [label for label in labels if label.startswith("LOWESS")]
    assert smoother == [
        "LOWESS smoother" + (" (fitted every 1 % of the range)" if interpolated else "")
    ]
    assert (points > estimate_figures.EXACT_LOWESS_POINTS) is interpolated


def test_the_theme_is_seaborns_whitegrid_paper_theme_written_out():
    """Figures no longer import seaborn for its theme; the written-out theme must stay
    seaborn's (but for the colormap only seaborn's import registers, which no figure uses)."""
    import seaborn as sns

    expected = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper", font_scale=1.15)}
    del expected["image.cmap"]
    theme = style.base_theme()
    assert theme == expected
    assert all(type(theme[key]) is type(expected[key]) for key in expected)
