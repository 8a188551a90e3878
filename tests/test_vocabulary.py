"""The unit noun only names things: any noun works and gets a sensible English plural."""

from __future__ import annotations

import pytest

from innopanel.vocabulary import base_variable, unit_words


@pytest.mark.parametrize(
    ("noun", "plural"),
    [
        ("city", "cities"),
        ("country", "countries"),
        ("region", "regions"),
        ("province", "provinces"),
        ("county", "counties"),
        ("survey", "surveys"),  # a vowel before the y: +s
        ("address", "addresses"),
        ("box", "boxes"),
        ("branch", "branches"),
        ("parish", "parishes"),
        ("firm", "firms"),
        ("person", "people"),
    ],
)
def test_any_unit_noun_gets_its_plural(noun: str, plural: str) -> None:
    assert unit_words(noun) == (noun, plural)


def test_base_variable_strips_only_the_lag_suffix() -> None:
    assert base_variable("rd_intensity_lag1") == "rd_intensity"
    assert base_variable("rd_intensity") == "rd_intensity"
