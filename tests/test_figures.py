"""Tests of innopanel.figures on a small synthetic panel (no workflow inputs needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from innopanel import figures

FOOTER = "Synthetic demo data — not real statistics ($ and % kept literal)"
FOCAL = "chengdu"
PEERS = ["shanghai", "shenzhen", "beijing", "guangzhou", "hangzhou", "wuhan", "xian", "chongqing"]
OTHERS = ["nanjing", "suzhou", "tianjin", "changsha", "hefei", "jinan", "qingdao", "dalian"]
LABELS = {
    "rd_intensity": "R&D intensity (% of GDP)",
    "talent": "R&D personnel per 10,000 residents",
    "open_platforms": "National open innovation platforms",
    "patents_per_10k": "Invention patents granted per 10,000 residents",
    "log_patents_granted": "Log invention patents granted",
}
WORKFLOW_DIR = Path(__file__).resolve().parents[1] / "workflow"


def make_panel(seed: int = 7) -> pd.DataFrame:
    """A small city-year panel with the columns the figures use (and a few gaps)."""
    rng = np.random.default_rng(seed)
    rows = []
    for number, city in enumerate([FOCAL, *PEERS, *OTHERS]):
        level = rng.normal(0.0, 0.5)
        trend = rng.uniform(0.03, 0.12)
        for year in range(2011, 2023):
            t = year - 2011
            rd = max(0.2, 2.0 + level + trend * t + rng.normal(0, 0.15))
            talent = max(1.0, 60 + 30 * level + 4 * t + rng.normal(0, 4))
            platforms = int(max(0, round(8 + 10 * level + 0.8 * t + rng.normal(0, 1.5))))
            log_patents = 6.0 + 0.35 * rd + 0.01 * talent + 0.5 * level + rng.normal(0, 0.1)
            rows.append(
                {
                    "unit_id": city,
                    "year": year,
                    "name_en": city.title() if city != "xian" else "Xi'an",
                    "name_zh": "成都" if city == FOCAL else "城市",
                    "province_en": "Sichuan",
                    "tier": 1 + number % 3,
                    "rd_intensity": rd,
                    "talent": talent,
                    "open_platforms": platforms,
                    "log_patents_granted": log_patents,
                    "patents_per_10k": float(np.exp(log_patents) / 1000),
                }
            )
    panel = pd.DataFrame(rows)
    panel.loc[(panel["unit_id"] == "wuhan") & (panel["year"] == 2015), "rd_intensity"] = np.nan
    return panel


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
                    "term": term,
                    "estimate": estimate,
                    "ci_lower": estimate - 0.1 * (m_index + 1),
                    "ci_upper": estimate + 0.1 * (m_index + 1),
                }
            )
    return pd.DataFrame(rows)


MODEL_LABELS = {
    "pooled_ols": "Pooled OLS",
    "city_fe": "City FE",
    "twoway_fe_lag1": "Two-way FE, lagged",
}
TERM_LABELS = {
    "rd_intensity": "R&D intensity (% of GDP)",
    "log_talent": "Log R&D personnel per 10,000 residents",
    "open_platforms": "National open innovation platforms",
}


def build(kind: str):
    panel = make_panel()
    if kind == "focal_vs_peers":
        return figures.plot_focal_vs_peers(
            panel, FOCAL, PEERS, list(figures.DEFAULT_FOCAL_VS_PEERS_VARIABLES), LABELS, FOOTER
        )
    if kind == "within":
        return figures.plot_within_relationship(
            panel, "log_patents_granted", "rd_intensity", LABELS, FOCAL, FOOTER
        )
    if kind == "coefficients":
        return figures.plot_coefficients(
            make_estimates(),
            ["rd_intensity", "log_talent", "open_platforms"],
            list(MODEL_LABELS),
            MODEL_LABELS,
            TERM_LABELS,
            FOOTER,
        )
    raise ValueError(kind)


KINDS = ["focal_vs_peers", "within", "coefficients"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def save(kind: str, directory: Path) -> tuple[Path, Path]:
    pdf, png = directory / f"{kind}.pdf", directory / f"{kind}.png"
    figures.save_figure(build(kind), pdf, png)
    return pdf, png


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
    pdf, png = save(kind, tmp_path / "out")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert png.read_bytes().startswith(PNG_SIGNATURE)
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
        assert image.info["dpi"] == pytest.approx((figures.DPI, figures.DPI), abs=0.01)


@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_carries_the_footer_inside_the_canvas(kind):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = build(kind)
    assert figures.footer_text(figure) == FOOTER
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    footer = next(t for t in figures._all_texts(figure) if t.get_gid() == "footer")
    box = footer.get_window_extent(renderer)
    assert box.x0 >= 0 and box.y0 >= 0
    assert box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height
    # Nothing else (axes, tick labels, legends) overlaps the footer.
    for ax in figure.get_axes():
        assert not box.overlaps(ax.get_tightbbox(renderer)), f"footer overlaps {ax}"
    for sub in figure.subfigs:
        for legend in sub.legends:
            assert not box.overlaps(legend.get_window_extent(renderer)), "footer overlaps legend"


def test_long_footer_is_wrapped_not_clipped():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    footer = (
        "Synthetic demo data: generated by a seeded data-generating process (innopanel.demo), "
        "calibrated to figures quoted by Jia et al.; these are not real statistics. " * 2
    )
    figure = figures.plot_within_relationship(
        make_panel(), "log_patents_granted", "rd_intensity", LABELS, FOCAL, footer
    )
    assert figures.footer_text(figure) == " ".join(footer.split())
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    footer_artist = next(t for t in figures._all_texts(figure) if t.get_gid() == "footer")
    box = footer_artist.get_window_extent(canvas.get_renderer())
    assert "\n" in footer_artist.get_text()
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= figure.bbox.width


def _legend_texts(figure) -> list[str]:
    legends = [*figure.legends]
    for sub in figure.subfigs:
        legends += sub.legends
    for ax in figure.get_axes():
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def test_focal_vs_peers_highlights_the_focal_city_among_named_peers():
    figure = build("focal_vs_peers")
    axes = figure.get_axes()
    assert len(axes) == 4
    assert [ax.get_ylabel().replace("\n", " ") for ax in axes] == [
        LABELS[v] for v in figures.DEFAULT_FOCAL_VS_PEERS_VARIABLES
    ]
    assert figures.focal_label(figure) == "Chengdu"
    legend = _legend_texts(figure)
    assert legend[0] == "Chengdu"
    assert {"Shanghai", "Shenzhen", "Xi'an", "Chongqing"} <= set(legend)
    assert f"Median of {len(OTHERS)} other cities" in legend
    for ax in axes:
        focal = [line for line in ax.lines if line.get_gid() == "focal"]
        assert len(focal) == 1
        others = [line for line in ax.lines if line.get_gid() != "focal"]
        assert focal[0].get_linewidth() > max(line.get_linewidth() for line in others)
        assert focal[0].get_zorder() > max(line.get_zorder() for line in others)
        median = [line for line in others if line.get_linestyle() == "--"]
        assert len(median) == 1
    # Only English names: no CJK glyph is ever requested.
    texts = [t.get_text() for t in figures._all_texts(figure)] + legend
    assert not any("\u4e00" <= char <= "\u9fff" for text in texts for char in text)


def test_focal_vs_peers_median_excludes_focal_and_peers():
    panel = make_panel()
    figure = figures.plot_focal_vs_peers(panel, FOCAL, PEERS, ["rd_intensity"], LABELS, FOOTER)
    ax = figure.get_axes()[0]
    median = next(line for line in ax.lines if line.get_linestyle() == "--")
    others = panel[panel["unit_id"].isin(OTHERS)]
    expected = others.groupby("year")["rd_intensity"].median()
    np.testing.assert_allclose(median.get_ydata(), expected.to_numpy())


def test_focal_vs_peers_rejects_unknown_cities():
    with pytest.raises(ValueError, match="focal city 'atlantis'"):
        figures.plot_focal_vs_peers(make_panel(), "atlantis", PEERS, ["talent"], LABELS, FOOTER)
    with pytest.raises(ValueError, match=r"peer cities \['atlantis'\]"):
        figures.plot_focal_vs_peers(make_panel(), FOCAL, ["atlantis"], ["talent"], LABELS, FOOTER)


def test_within_relationship_prints_the_fixed_effects_slope():
    panel = make_panel()
    figure = build("within")
    data = panel.dropna(subset=["rd_intensity", "log_patents_granted"])
    demeaned = data[["rd_intensity", "log_patents_granted"]] - data.groupby("unit_id")[
        ["rd_intensity", "log_patents_granted"]
    ].transform("mean")
    x = demeaned["rd_intensity"].to_numpy()
    y = demeaned["log_patents_granted"].to_numpy()
    slope = float(np.linalg.lstsq(x[:, None], y, rcond=None)[0][0])
    texts = [t.get_text() for ax in figure.get_axes() for t in ax.texts if t.get_gid() == "slope"]
    assert len(texts) == 1 and f"{slope:.3f}" in texts[0]
    ax = figure.get_axes()[0]
    assert "deviation from city mean" in ax.get_xlabel()
    assert LABELS["rd_intensity"] in ax.get_xlabel()
    focal = [c for c in ax.collections if c.get_gid() == "focal"]
    assert len(focal) == 1 and len(focal[0].get_offsets()) == (panel["unit_id"] == FOCAL).sum()
    assert "Chengdu" in _legend_texts(figure)


def test_coefficients_match_lagged_terms_and_draw_zero_and_cis():
    table = figures.coefficient_table(
        make_estimates(), ["rd_intensity", "log_talent", "open_platforms"], list(MODEL_LABELS)
    )
    lagged = table[table["model"] == "twoway_fe_lag1"]
    assert list(lagged["term"]) == ["rd_intensity", "log_talent", "open_platforms"]
    assert lagged["lagged"].all() and not table[table["model"] != "twoway_fe_lag1"]["lagged"].any()

    figure = build("coefficients")
    axes = figure.get_axes()
    assert [ax.get_title().replace("\n", " ") for ax in axes] == list(TERM_LABELS.values())
    assert [t.get_text() for t in axes[0].get_yticklabels()] == list(MODEL_LABELS.values())
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
        figures.plot_coefficients(
            make_estimates(),
            ["no_such_term"],
            list(MODEL_LABELS),
            MODEL_LABELS,
            TERM_LABELS,
            FOOTER,
        )


def test_dollar_signs_are_printed_not_parsed_as_math():
    labels = dict(LABELS, rd_intensity="R&D spend ($ per capita)")
    figure = figures.plot_within_relationship(
        make_panel(), "log_patents_granted", "rd_intensity", labels, FOCAL, "Costs in $ and $"
    )
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure).draw()  # would raise on unbalanced mathtext
    assert figures.footer_text(figure) == "Costs in $ and $"
