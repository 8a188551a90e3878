"""Labels and units that cannot disagree: a label's unit is held against the declared one.

A label may name its unit, "GDP (million EUR)"; the variable declares one under
``units``. The two must agree, or every exhibit prints a unit the numbers are not in. A
unit named in parentheses of a label is read by a deliberately small recognizer
(:func:`unit_claim`), and so is the declared unit's display ``label`` in the ``units``
table (or, without one, its name):

- scale: thousand(s), million(s), billion(s), trillion(s); a power of ten written before
  one of them or before a unit noun ("100 million", "10,000 persons"); the prefixes k,
  m, mn, bn on a currency code (kEUR); 千, 万, 百万, 千万, 亿, 十亿 before 元, 人, 人年, 件, 个, 项;
- currency: EUR, USD, CNY, RMB, GBP, JPY, yuan, €, US$, $, £, 元;
- kind: % or percent; person-years, man-years, 人年; persons, person, people, 人;
  count, 件, 个, 项.

What follows "per" is not read ("EUR per PPS" claims EUR). A label that names a
currency, persons or person-years without a scale claims a scale of one. The check
refuses only a claim the declared unit contradicts: another kind (persons and count
agree), currency or scale (the declared unit's own scale words, else its factor). Text
it does not recognize claims nothing, so a label with no unit in parentheses always
passes; and a variable whose label names no unit is shown with its unit's display label
appended (:func:`variable_labels`).

Only the standard library is imported (the start-up check calls this).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
CURRENCY_PREFIXES = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9}
CURRENCY_WORDS = {
    "eur": "EUR",
    "usd": "USD",
    "cny": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
    "gbp": "GBP",
    "jpy": "JPY",
}
CURRENCY_SYMBOLS = {"us$": "USD", "€": "EUR", "£": "GBP", "$": "USD"}
CHINESE_SCALES = {"千": 1e3, "万": 1e4, "百万": 1e6, "千万": 1e7, "亿": 1e8, "十亿": 1e9}
CHINESE_NOUNS = {
    "元": "CNY",
    "人": "persons",
    "人年": "person-years",
    "件": "count",
    "个": "count",
    "项": "count",
}
PERSON_YEARS = re.compile(r"\b(person|man)[- ]?years?\b")
PERSONS = re.compile(r"\b(persons?|people)\b")
COUNT = re.compile(r"\bcount\b")
PERCENT = re.compile(r"%|\bper ?cent\b")
# A power of ten (10, 100, 1,000, 10,000 ...) written as a multiplier.
POWER_OF_TEN = r"10{1,12}|10{0,2}(?:,000)+"
SCALE_WORD = r"thousand|million|billion|trillion"
MULTIPLIER = re.compile(
    rf"(?<![\d,.])(?P<number>{POWER_OF_TEN})\s*(?=(?:{SCALE_WORD})s?\b|persons?\b|people\b|"
    rf"(?:{'|'.join(CURRENCY_WORDS)})\b)"
)
PREFIXED_CODE = re.compile(
    rf"\b(?P<prefix>{'|'.join(CURRENCY_PREFIXES)})(?P<code>{'|'.join(CURRENCY_WORDS)})\b"
)
CHINESE_UNIT = re.compile(
    rf"(?P<scale>{'|'.join(sorted(CHINESE_SCALES, key=len, reverse=True))})?"
    rf"(?P<noun>{'|'.join(sorted(CHINESE_NOUNS, key=len, reverse=True))})"
)
PARENTHESES = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class UnitClaim:
    """What a text says of a unit: its scale, currency and kind (None: says nothing)."""

    scale: float | None
    currency: str | None
    kind: str | None

    @property
    def empty(self) -> bool:
        return self.scale is None and self.currency is None and self.kind is None


def _text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def unit_claim(text: str) -> UnitClaim:
    """What ``text`` (a unit's name or display label, or a label's parenthesis) says."""
    text = _text(text)
    if PERCENT.search(text):
        return UnitClaim(None, None, "percent")  # "% of GDP", "% of persons": no scale
    counted = re.split(r"\bper\b(?! ?cent)", text)[0].strip()
    chinese = CHINESE_UNIT.fullmatch(re.sub(r"\s", "", counted))
    if chinese:
        noun = CHINESE_NOUNS[chinese["noun"]]
        scale = CHINESE_SCALES.get(chinese["scale"] or "", 1.0)
        currency = noun if noun == "CNY" else None
        return UnitClaim(scale, currency, "currency" if currency else noun)
    currency = None
    for word, code in CURRENCY_WORDS.items():
        if re.search(rf"\b{word}\b", counted):
            currency = code
    for prefixed in PREFIXED_CODE.finditer(counted):
        currency = CURRENCY_WORDS[prefixed["code"]]
    for symbol, code in CURRENCY_SYMBOLS.items():
        if currency is None and symbol in counted:
            currency = code
    kind = None
    if PERSON_YEARS.search(counted):
        kind = "person-years"
    elif PERSONS.search(counted):
        kind = "persons"
    elif COUNT.search(counted):
        kind = "count"
    if currency is not None:
        kind = "currency"
    factors = [SCALE_WORDS[w] for w in re.findall(rf"\b({SCALE_WORD})s?\b", counted)]
    factors += [float(m["number"].replace(",", "")) for m in MULTIPLIER.finditer(counted)]
    factors += [CURRENCY_PREFIXES[m["prefix"]] for m in PREFIXED_CODE.finditer(counted)]
    scale = math.prod(factors) if factors else None
    if scale is None and kind in ("currency", "persons", "person-years"):
        scale = 1.0  # "(EUR)", "(persons)": one of them
    return UnitClaim(scale, currency, kind)


def label_claim(label: str) -> UnitClaim:
    """What the parentheses of a variable's label say of its unit (the first that says
    anything); text outside parentheses ("per 10,000 residents") names no unit."""
    for inside in PARENTHESES.findall(unicodedata.normalize("NFKC", label)):
        claim = unit_claim(inside)
        if not claim.empty:
            return claim
    return UnitClaim(None, None, None)


def _declared_text(unit: str, units: Mapping[str, Mapping[str, Any]]) -> str:
    """The declared unit's display label, or its name if the ``units`` entry has none."""
    return str(units[unit].get("label") or unit)


def _disagreement(label: UnitClaim, declared: UnitClaim, factor: float) -> str | None:
    """What a label's claim and the declared unit's disagree on (None: nothing)."""
    # Persons are counted: a count unit may be labelled in persons and vice versa.
    kinds = {label.kind, declared.kind}
    if label.kind and declared.kind and len(kinds) > 1 and kinds != {"count", "persons"}:
        return f"{label.kind}, not {declared.kind}"
    if label.currency and declared.currency and label.currency != declared.currency:
        return f"{label.currency}, not {declared.currency}"
    scale = declared.scale if declared.scale is not None else factor
    if label.scale is not None and not math.isclose(label.scale, scale, rel_tol=1e-9):
        return f"a scale of {label.scale:g}, not {scale:g}"
    return None


def label_unit_problems(
    variables: Mapping[str, Mapping[str, Any]], units: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Every variable whose label names a unit other than its declared one."""
    problems = []
    for name, spec in variables.items():
        unit = spec.get("unit")
        if unit is None or unit not in units:
            continue  # no declared unit to hold the label against (or the unit check's)
        claim = label_claim(spec["label"])
        if claim.empty:
            continue
        declared = _declared_text(unit, units)
        why = _disagreement(claim, unit_claim(declared), float(units[unit]["factor"]))
        if why is not None:
            problems.append(
                f"variables.{name}.label {spec['label']!r} names a unit that is not the "
                f"declared unit '{declared}' (variables.{name}.unit: {unit}): the label "
                f"says {why}. Write the declared unit in the label, e.g. '({declared})', "
                f"or declare the unit the values are in."
            )
    return problems


def variable_labels(config: Mapping[str, Any]) -> dict[str, str]:
    """Each variable's label as exhibits print it: a label naming no unit in parentheses
    gets its declared unit's display label (``units.<unit>.label``) appended."""
    labels = {}
    for name, spec in config["variables"].items():
        label, unit = spec["label"], spec.get("unit")
        shown = config["units"].get(unit, {}).get("label") if unit is not None else None
        if shown and label_claim(label).empty:
            label = f"{label} ({shown})"
        labels[name] = label
    return labels
