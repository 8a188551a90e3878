"""The comparison key of a unit name: '成都市', 'Chengdu City' and 'Chéngdū' agree.

Config checks (is a concordance name already a unit's?) and the data wing (which unit
does a row name?) compare names by this one key, so both agree on what a name means.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

CITY_SUFFIXES = ("市", " city", " shi")
# The unit table's columns that name a unit, and its column of extra names ('|'-separated).
NAME_COLUMNS = ("unit_id", "name_en", "name_zh")
ALIASES_COLUMN = "aliases"


def normalise_unit_name(name: str) -> str:
    """Reduce a unit name to a comparison key: 'Chengdu City', '成都市', 'chengdu' agree."""
    key = unicodedata.normalize("NFKC", name).strip().casefold()
    key = key.replace("’", "'").replace("‘", "'")
    # Pinyin with tone marks and names with accents match their plain forms (Chéngdū, Ürümqi).
    decomposed = unicodedata.normalize("NFD", key)
    key = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    for suffix in CITY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return re.sub(r"[\s'\-]", "", key)


def unit_row_names(row: Mapping[str, str]) -> list[str]:
    """Every name a unit-table row gives its unit: id, English and Chinese names, aliases."""
    names = [row[column] for column in NAME_COLUMNS if row.get(column)]
    aliases = str(row.get(ALIASES_COLUMN) or "").split("|")
    return names + [alias for alias in aliases if alias.strip()]
