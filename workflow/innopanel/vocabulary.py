"""Words and names every wing shares: the panel unit's nouns and lagged-term names.

This is ground floor: it imports nothing from innopanel, so any wing may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

LAG_SUFFIX = "_lag1"
# Nouns whose plural the English rules below would get wrong.
IRREGULAR_PLURALS = {"person": "people", "child": "children", "datum": "data"}


def base_variable(term: str) -> str:
    """Return the variable a (possibly lagged) term is made from."""
    return term.removesuffix(LAG_SUFFIX)


def plural(noun: str) -> str:
    """English plural of a unit noun: "city" -> "cities", "region" -> "regions",
    "province" -> "provinces", "box" -> "boxes", "person" -> "people"."""
    if noun in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[noun]
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


@dataclass(frozen=True)
class UnitNoun:
    """The panel unit's noun in the study's own language, e.g. région / régions.

    It reads as its singular (``f"by {unit}"``), so text written for one noun works
    for any; :func:`unit_words` gives both forms.
    """

    singular: str
    plural: str

    def __str__(self) -> str:
        return self.singular


def unit_noun(singular: str, plural_form: str | None = None) -> UnitNoun:
    """The unit noun with its plural as given, else its English plural."""
    return UnitNoun(singular, plural_form if plural_form is not None else plural(singular))


def unit_words(unit: UnitNoun | str) -> tuple[str, str]:
    """Return the (singular, plural) words for the panel unit, e.g. ("city", "cities").

    Any noun works: the unit only names things in messages, labels and captions. A
    plain string is an English noun; a :class:`UnitNoun` carries its own plural.
    """
    if isinstance(unit, UnitNoun):
        return unit.singular, unit.plural
    return unit, plural(unit)


def capitalised(word: str) -> str:
    """The word with its first letter capitalised and the rest kept: "région" ->
    "Région", "EU region" -> "EU region" (str.capitalize would give "Eu region")."""
    return word[:1].upper() + word[1:]
