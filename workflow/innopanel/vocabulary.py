"""Words and names every wing shares: the panel unit's nouns and lagged-term names.

This is ground floor: it imports nothing from innopanel, so any wing may use it.
"""

from __future__ import annotations

LAG_SUFFIX = "_lag1"
UNIT_LABELS = {"city": ("city", "cities"), "country": ("country", "countries")}


def base_variable(term: str) -> str:
    """Return the variable a (possibly lagged) term is made from."""
    return term.removesuffix(LAG_SUFFIX)


def unit_words(unit: str) -> tuple[str, str]:
    """Return the (singular, plural) words for the panel unit, e.g. ("city", "cities")."""
    if unit not in UNIT_LABELS:
        raise ValueError(f"unknown panel unit '{unit}'; use one of {sorted(UNIT_LABELS)}.")
    return UNIT_LABELS[unit]
