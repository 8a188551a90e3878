"""The real study's numbers in docs/china_provinces.md come from its committed outputs.

Each quoted figure of the headline paragraph and of "Across the multiverse" is rebuilt
here from the provincial study's reference estimates, diagnostics and multiverse, in the
wording the README uses; the test fails, naming the sentence, when the two part.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "china_provinces"
README = (ROOT / "docs" / "china_provinces.md").read_text(encoding="utf-8")
SIGNIFICANCE = 0.05


def prose(text: str) -> str:
    """The README's text with line breaks folded, as a sentence reads."""
    return " ".join(text.split())


def p_text(p: float) -> str:
    """A p-value as the README writes it: two decimals, three when below 0.1."""
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


@pytest.fixture(scope="module")
def estimates() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "estimates" / "estimates.csv").set_index(["model", "term"])


def headline_fragments(estimates: pd.DataFrame, diagnostics: pd.DataFrame) -> list[str]:
    intensity = estimates.loc[("twoway_fe", "rd_intensity")]
    talent = estimates.loc[("twoway_fe", "log_talent")]
    comparisons = [
        estimates.loc[(model, "rd_intensity"), "estimate"]
        for model in ("pooled_ols", "between", "random_effects")
    ]
    wooldridge = diagnostics.loc[diagnostics["test"] == "Wooldridge serial correlation"]
    return [
        f"**{intensity['estimate']:.3f} log points more invention patents granted "
        f"(SE {intensity['std_error']:.3f}, p = {p_text(intensity['p_value'])}, "
        f"N = {int(intensity['nobs'])} province-years)**",
        f"with {talent['estimate']:.2f} % more (SE {talent['std_error']:.2f}, "
        f"p = {p_text(talent['p_value'])})",
        f"about {intensity['ci_lower']:.2f} to {intensity['ci_upper']:.2f}".replace("-", "−"),
        f"({min(comparisons):.2f}–{max(comparisons):.2f})",
        "(Wooldridge test, p < 0.001)" if wooldridge["p_value"].iloc[0] < 0.001 else "",
    ]


def multiverse_fragments() -> list[str]:
    joint = pd.read_csv(REFERENCE / "multiverse" / "joint_tests.csv").set_index("statistic")
    curve = pd.read_parquet(REFERENCE / "multiverse" / "specifications.parquet")
    focal = curve.loc[(curve["role"] == "focal") & (curve["outcome"] == "log_linear")]
    levels = focal.loc[focal["focal"] == "rd_intensity"]
    by_effects = levels.groupby("fixed_effects")["estimate"].median()
    two_way = levels.loc[levels["fixed_effects"] == "unit_and_year"]
    positive = ((two_way["p_value"] < SIGNIFICANCE) & (two_way["estimate"] > 0)).mean()
    median, share_positive, share_negative = (
        joint.loc[name] for name in ("median_estimate", "share_positive", "share_negative")
    )
    return [
        f"{len(curve.loc[curve['role'] == 'focal']):,} specifications, "
        f"{int(median['draws'])} null draws",
        f"the median estimate is {median['observed']:.3f} (null 95th percentile of its "
        f"absolute value {median['null_p95']:.3f}, p = {median['p_value']:.3f})",
        f"{100 * share_positive['observed']:.1f} % of the specifications are significantly "
        f"positive (p = {share_positive['p_value']:.3f}) and "
        f"{100 * share_negative['observed']:.1f} % negative",
        f"the median is {by_effects['none']:.2f} without fixed effects and "
        f"{by_effects['unit']:.2f} with province effects, against "
        f"**{by_effects['unit_and_year']:.2f} with province and year effects** (levels of "
        f"intensity; {100 * positive:.0f} % of those significantly positive)",
    ]


def missing(fragments: list[str]) -> list[str]:
    readme = prose(README)
    return [fragment for fragment in fragments if fragment and fragment not in readme]


def test_the_headline_paragraph_quotes_the_reference_estimates(estimates) -> None:
    diagnostics = pd.read_csv(REFERENCE / "estimates" / "diagnostics.csv")
    assert missing(headline_fragments(estimates, diagnostics)) == []


def test_the_multiverse_paragraph_quotes_the_reference_curve() -> None:
    assert missing(multiverse_fragments()) == []


def test_a_changed_estimate_is_caught(estimates) -> None:
    """The check can fail: one estimate moved in its third decimal no longer matches."""
    diagnostics = pd.read_csv(REFERENCE / "estimates" / "diagnostics.csv")
    moved = estimates.copy()
    moved.loc[("twoway_fe", "rd_intensity"), "estimate"] += 0.001
    assert len(missing(headline_fragments(moved, diagnostics))) == 1
