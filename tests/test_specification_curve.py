"""The specification curve and the choice figure: labels, one estimate per design with
its covariances as bands, one panel per outcome and focal definition, the null band,
and text that fits and reads at the paper's size, on both bundled studies."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from test_multiverse import small_panel, study_config

from innopanel.config.multiverse import MultiverseError, multiverse_spec
from innopanel.config.paths import StudyPaths
from innopanel.econometrics.curve_inference import focal_rows, null_chunk
from innopanel.econometrics.multiverse import estimate_chunk, prepare_panel
from innopanel.econometrics.null_curve import null_curve
from innopanel.exhibits.canvas import drawn_texts
from innopanel.exhibits.specification_curve import (
    choice_medians,
    count_text,
    designs,
    plot_choice_medians,
    plot_specification_curve,
)
from innopanel.exhibits.style import DPI

ROOT = Path(__file__).resolve().parents[1]
#: The paper's text width and figure height (A4, 2.2 cm margins, height=0.8\textheight:
#: workflow/innopanel/exhibits/paper.py), in inches.
PAPER_WIDTH, PAPER_HEIGHT = (21.0 - 4.4) / 2.54, 0.8 * (29.7 - 4.4) / 2.54
#: The small multiverse's panels, in grid order.
ORDER = [
    ("log_linear", "rd"),
    ("log_linear", "log_rd"),
    ("count_ppml", "rd"),
    ("count_ppml", "log_rd"),
]
#: Identifiers no figure may print (they have labels).
IDENTIFIERS = ("unit_and_year", "driscoll_kraay", "two_way_clustered", "log_linear", "count_ppml")


@pytest.fixture(scope="module")
def small():
    """The small multiverse of test_multiverse (240 specifications)."""
    return multiverse_spec(study_config())


@pytest.fixture(scope="module")
def estimated(small):
    """Its specifications estimated, and redrawn under 60 null draws."""
    study = study_config()["study"]
    prepared = prepare_panel(small_panel(), small)
    table = estimate_chunk(prepared, small, small.specifications, study)
    drawn = null_chunk(prepared, small, small.specifications, range(60), study)
    return table, drawn


def texts_of(figure: Figure) -> list[str]:
    FigureCanvasAgg(figure).draw()
    return [text.get_text() for text in drawn_texts(figure)]


def off_canvas(figure: Figure) -> list[str]:
    """Each drawn text whose box (get_window_extent) passes the figure's bbox by more
    than half a pixel, at the PNG's resolution."""
    figure.set_dpi(DPI)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    found = []
    for text in drawn_texts(figure):
        box = text.get_window_extent(renderer)
        if min(box.x0, box.y0) < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            found.append(text.get_text())
    return found


def overlapping_labels(figure: Figure) -> list[str]:
    """Row labels of an axes that overlap the next row's label (a squeezed dashboard)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for ax in figure.axes:
        if not ax.yaxis_inverted():  # a curve, not rows
            continue
        boxes = [
            (label.get_window_extent(renderer), label.get_text())
            for label in ax.get_yticklabels()
            if label.get_text()
        ]
        for (upper, text), (lower, _) in pairwise(boxes):
            if lower.y1 - upper.y0 > 1.0:
                found.append(text)
    return found


def smallest_in_paper(figure: Figure) -> float:
    """The smallest font of the figure, in points, scaled as the paper includes it."""
    width, height = figure.get_size_inches()
    scale = min(PAPER_WIDTH / width, PAPER_HEIGHT / height)
    FigureCanvasAgg(figure).draw()
    return min(text.get_fontsize() for text in drawn_texts(figure)) * scale


def test_values_print_under_labels_defaulted_from_identifiers() -> None:
    config = study_config()
    config["variables"]["rd"] = {"label": "R&D intensity"}
    multiverse = multiverse_spec(config)
    assert multiverse.label("fixed_effects", "unit_and_year") == "City and year effects"
    assert multiverse.label("covariance", "driscoll_kraay") == "Driscoll–Kraay"
    assert multiverse.label("covariance", "clustered") == "Clustered by city"
    assert multiverse.label("focal", "log_rd") == "Log of R&D intensity"
    assert multiverse.label("sample", "late") == "2014–2021"
    assert multiverse.label("sample", "without_top_3") == "Without top 3 by count"
    assert multiverse.label("lag", 1) == "Lagged 1 year"
    assert multiverse.label("controls", "none") == "No controls"


def test_a_configured_label_replaces_the_default() -> None:
    config = study_config(labels={"covariance": {"driscoll_kraay": "DK"}, "sample": {"late": "L"}})
    multiverse = multiverse_spec(config)
    assert multiverse.label("covariance", "driscoll_kraay") == "DK"
    assert multiverse.label("sample", "late") == "L"
    assert multiverse.label("covariance", "clustered") == "Clustered by city"


def test_a_label_for_an_undeclared_value_is_refused_naming_the_key() -> None:
    with pytest.raises(MultiverseError, match=r"multiverse\.labels\.covariance\.hac"):
        multiverse_spec(study_config(labels={"covariance": {"hac": "HAC"}}))


def test_a_design_is_one_estimate_whatever_its_covariance(estimated, small) -> None:
    table, _ = estimated
    focal = table[(table["role"] == "focal") & table["estimate"].notna()]
    found = designs(table)
    assert (
        len(found)
        == focal.drop(columns="covariance")
        .drop_duplicates(["outcome", "focal", "controls", "fixed_effects", "lag", "sample"])
        .shape[0]
    )
    assert found["covariances"].sum() == len(focal)
    assert set(found["covariances"]) == {1, 2, 3}  # PPML: 1; two-way left out of `late`
    assert count_text(found, len(focal)) == (
        f"{len(found):,} estimates × 1–3 covariances ({len(focal):,} specifications)"
    )


def test_estimates_that_move_with_the_covariance_are_refused(estimated) -> None:
    table, _ = estimated
    moved = table.copy()
    row = moved.index[(moved["role"] == "focal") & (moved["covariance"] == "driscoll_kraay")][0]
    moved.loc[row, "estimate"] += 0.01
    with pytest.raises(ValueError, match="differ only in their covariance"):
        designs(moved)


def test_the_null_band_ranks_each_panels_redrawn_designs(estimated) -> None:
    table, drawn = estimated
    focal = focal_rows(table)
    curve = null_curve(focal, [drawn])
    found = designs(table)
    linear = found[found["outcome"] == "log_linear"]
    for (outcome, definition), band in curve.groupby(["outcome", "focal"]):
        members = linear[(linear["outcome"] == outcome) & (linear["focal"] == definition)]
        assert len(band) == len(members)
        # By hand: sort each draw's estimates of the panel's designs, take quantiles.
        rows = [list(drawn.spec_ids).index(s) for s in members["spec_id"]]
        ranked = np.sort(drawn.estimates[rows], axis=0)
        np.testing.assert_allclose(band["lower"], np.quantile(ranked, 0.025, axis=1))
        np.testing.assert_allclose(band["upper"], np.quantile(ranked, 0.975, axis=1))
    assert set(curve["outcome"]) == {"log_linear"}  # PPML is not redrawn
    with pytest.raises(ValueError, match="null draws are missing"):
        null_curve(focal, [drawn_without(drawn, linear["spec_id"].iloc[0])])


def drawn_without(drawn, spec_id: str):
    """The null chunk without one specification's draws."""
    kept = drawn.spec_ids != spec_id
    return replace(
        drawn,
        spec_ids=drawn.spec_ids[kept],
        estimates=drawn.estimates[kept],
        statistics=drawn.statistics[kept],
        critical=drawn.critical[kept],
    )


def test_each_outcome_and_focal_definition_has_its_own_panel(estimated, small) -> None:
    table, drawn = estimated
    curve = null_curve(focal_rows(table), [drawn])
    figure = plot_specification_curve(table, curve, small, footer="note")
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert len(titles) == 4  # 2 outcomes x 2 definitions
    texts = " ".join(texts_of(figure))
    assert "on Log of rd" in texts and "Two-way clustered by city and year" in texts
    assert not [name for name in IDENTIFIERS if name in texts]
    medians = choice_medians(table, small)
    assert list(dict.fromkeys(zip(medians["outcome"], medians["focal"], strict=True))) == ORDER
    assert "covariance" not in set(medians["choice"])
    choices = plot_choice_medians(table, small)
    for ax, (outcome, definition) in zip(choices.axes, ORDER, strict=True):
        # One median (a dot) per value that some design of the panel has.
        shown = medians[(medians["outcome"] == outcome) & (medians["focal"] == definition)]
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(dots) == len(shown) > 0


def test_a_stale_null_band_is_refused(estimated, small) -> None:
    table, drawn = estimated
    curve = null_curve(focal_rows(table), [drawn])
    with pytest.raises(ValueError, match="rerun multiverse_null_curve"):
        plot_specification_curve(table, curve.iloc[1:], small)


def bundled(study: str):
    paths = StudyPaths(study)
    config = yaml.safe_load((ROOT / paths.config).read_text("utf-8"))
    specifications = ROOT / "reference" / study / "multiverse" / "specifications.parquet"
    if not specifications.is_file():
        pytest.skip(f"{specifications} is not built")
    return multiverse_spec(config), pd.read_parquet(specifications)


def band_of(table: pd.DataFrame) -> pd.DataFrame:
    """A null band of the right shape for each linear panel (the figure's layout does
    not depend on its values)."""
    found = designs(table)
    linear = found[found["outcome"].isin(table.loc[table["estimator"] == "linear", "outcome"])]
    sizes = linear.groupby(["outcome", "focal"], sort=False).size()
    return pd.DataFrame(
        [
            {"outcome": o, "focal": f, "rank": r, "draws": 500, "lower": -0.1, "upper": 0.1}
            for (o, f), n in sizes.items()
            for r in range(n)
        ]
    )


@pytest.mark.parametrize("study", ["demo_cities", "china_provinces"])
@pytest.mark.parametrize("long_labels", [False, True])
def test_the_figures_fit_and_read_at_the_papers_size(study, long_labels) -> None:
    multiverse, table = bundled(study)
    if long_labels:
        # Every label at the schema's longest, 60 characters.
        words = "with a deliberately long tail of words making sixty characters"
        long = {
            choice: {value: f"{label} {words}"[:60] for value, label in values.items()}
            for choice, values in multiverse.labels.items()
        }
        multiverse = replace(multiverse, labels=long)
    for figure in (
        plot_specification_curve(table, band_of(table), multiverse, footer="A data note."),
        plot_choice_medians(table, multiverse, footer="A data note."),
    ):
        assert off_canvas(figure) == []
        assert overlapping_labels(figure) == []
        assert smallest_in_paper(figure) >= 7.0
        texts = " ".join(texts_of(figure))
        assert not [name for name in IDENTIFIERS if name in texts]
