"""The comparison policy: which class an output is in, numeric tables cell by cell, and
figures compared as renderings (a moved point or a new label fails, anti-aliasing passes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from innopanel.reproducibility.comparison import (
    compare_renderings,
    compare_tables,
    load_rendering,
    render,
    save_rendering,
)
from innopanel.reproducibility.policy import (
    FIGURE_TOLERANCE,
    NUMERIC_TOLERANCE,
    Policy,
    PolicyError,
    reference_copy,
)

ESTIMATES = "model,term,estimate,p_value,nobs\nfe,rd,0.414306408319,2.88702912111e-17,701\n"


def test_every_output_kind_falls_in_its_class() -> None:
    policy = Policy.for_study("demo_cities")
    assert policy.kind("results/demo_cities/tables/regressions.tex") == "exact"
    assert policy.kind("results/demo_cities/paper/paper.tex") == "exact"
    assert policy.kind("data/processed/demo_cities/panel.csv") == "exact"
    assert policy.kind("results/demo_cities/estimates/estimates.csv") == "numeric"
    # A new parquet output anywhere under the study's results is numeric without a code change.
    assert policy.kind("results/demo_cities/estimates/residuals.parquet") == "numeric"
    assert policy.kind("results/demo_cities/figures/trends.pdf") == "figure"
    assert policy.kind("results/demo_cities/paper/paper.pdf") == "figure"
    assert policy.kind("data/staged/demo_cities/economy.csv.retrieval.json") == "skip"
    with pytest.raises(PolicyError, match=r"results/demo_cities/new/thing.bin: no comparison"):
        policy.kind("results/demo_cities/new/thing.bin")
    # Another study's outputs are no part of this study's reference.
    with pytest.raises(PolicyError, match=r"results/own_data/tables/regressions.tex: no"):
        policy.kind("results/own_data/tables/regressions.tex")


def test_a_numeric_output_or_figure_is_kept_under_its_studys_reference_folder() -> None:
    assert (
        reference_copy("results/demo_cities/estimates/estimates.csv", "numeric")
        == "reference/demo_cities/estimates/estimates.csv"
    )
    assert (
        reference_copy("results/demo_cities/figures/trends.png", "figure")
        == "reference/demo_cities/figures/trends.png.raster.png"
    )
    assert reference_copy("results/demo_cities/tables/t.tex", "exact") is None


def test_the_policy_round_trips_through_the_manifest_lines() -> None:
    policy = Policy.for_study("demo_cities")
    assert Policy.parse(policy.render(), "manifest") == policy
    with pytest.raises(PolicyError, match="records no comparison policy"):
        Policy.parse(["# SHA256 of every output"], "manifest")


def tables(tmp_path: Path, before: str, after: str, suffix: str = ".csv") -> tuple[Path, Path]:
    paths = tmp_path / f"reference{suffix}", tmp_path / f"rebuilt{suffix}"
    for path, text in zip(paths, (before, after), strict=True):
        path.write_text(text, encoding="utf-8")
        if suffix == ".parquet":
            frame = pd.read_csv(path)
            path.unlink()
            frame.to_parquet(path)
    return paths


def test_last_digit_noise_passes_and_says_how_close(tmp_path: Path) -> None:
    moved = ESTIMATES.replace("0.414306408319", "0.414306408321").replace(
        "2.88702912111e-17", "2.8870291211e-17"
    )
    agreement = compare_tables(*tables(tmp_path, ESTIMATES, moved), NUMERIC_TOLERANCE)
    assert agreement.holds, agreement.problem
    assert agreement.largest == pytest.approx(4.8e-12, rel=0.01)
    assert agreement.where.startswith("line 2, column estimate: 0.414306408319 ->")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_coefficient_moved_by_one_in_a_million_fails_naming_the_cell(
    tmp_path: Path, suffix: str
) -> None:
    moved = ESTIMATES.replace("0.414306408319", repr(0.414306408319 * (1 + 1e-6)))
    agreement = compare_tables(*tables(tmp_path, ESTIMATES, moved, suffix), NUMERIC_TOLERANCE)
    assert not agreement.holds
    where = "line 2" if suffix == ".csv" else "row 0"
    assert agreement.problem.startswith(f"{where}, column estimate: 0.414306408319 -> 0.41430")
    assert "differs by 1e-06 (relative), beyond relative 1e-08 absolute 1e-15" in (
        agreement.problem
    )


def test_text_cells_and_shape_are_compared_exactly(tmp_path: Path) -> None:
    relabelled = compare_tables(
        *tables(tmp_path, ESTIMATES, ESTIMATES.replace(",rd,", ",rd_share,")), NUMERIC_TOLERANCE
    )
    assert relabelled.problem == "line 2, column term: 'rd' -> 'rd_share' (compared exactly)"
    counted = compare_tables(
        *tables(tmp_path, ESTIMATES, ESTIMATES.replace(",701", ",700")), NUMERIC_TOLERANCE
    )
    assert counted.problem == "line 2, column nobs: 701 -> 700 (compared exactly)"
    longer = compare_tables(
        *tables(tmp_path, ESTIMATES, ESTIMATES + "fe,gdp,1.0,0.5,701\n"), NUMERIC_TOLERANCE
    )
    assert not longer.holds and longer.problem.startswith("columns or rows changed: 1 rows")


def test_values_near_zero_are_compared_against_the_absolute_floor(tmp_path: Path) -> None:
    before = "term,mean\nx,3e-17\n"
    assert compare_tables(*tables(tmp_path, before, "term,mean\nx,-2e-17\n"), NUMERIC_TOLERANCE)
    assert not compare_tables(
        *tables(tmp_path, before, "term,mean\nx,3e-12\n"), NUMERIC_TOLERANCE
    ).holds


def scatter(target: Path, moved: float = 0.0, label: str = "R&D intensity") -> Path:
    """A small figure as the workflow draws them: points, a line, labelled axes."""
    figure, axes = plt.subplots(figsize=(4, 3), dpi=100)
    xs = [0.1, 0.3, 0.5, 0.7, 0.9]
    ys = [0.2, 0.5, 0.4, 0.8, 0.7]
    ys[2] += moved
    axes.plot(xs, ys, "o-", color="tab:blue")
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel=label, ylabel="log patents")
    figure.savefig(target, format=target.suffix[1:], dpi=200, metadata={"Software": None})
    plt.close(figure)
    return target


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_a_moved_point_or_a_new_label_fails_and_anti_aliasing_passes(
    tmp_path: Path, suffix: str
) -> None:
    if suffix == ".pdf" and shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    stored = tmp_path / "reference.png"
    save_rendering(render(scatter(tmp_path / f"reference{suffix}"), FIGURE_TOLERANCE), stored)
    expected = load_rendering(stored)

    def against(**change: object) -> object:
        rebuilt = scatter(tmp_path / f"rebuilt{suffix}", **change)
        return compare_renderings(expected, render(rebuilt, FIGURE_TOLERANCE), FIGURE_TOLERANCE)

    same = against()
    assert same.holds and same.where == "no pixel moved"
    # A shift far below a pixel, like the last digits of a coefficient, moves edges by
    # an anti-aliasing level at most.
    assert against(moved=2e-4).holds
    point = against(moved=0.05)
    assert not point.holds and "pixel(s) moved by more than 0.2" in point.problem
    relabelled = against(label="R&D share")
    assert not relabelled.holds and relabelled.where.startswith("pixels x ")
