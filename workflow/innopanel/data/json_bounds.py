"""Parse JSON only after measuring its nesting and its number of values.

``json.loads`` recurses once per ``[`` or ``{`` (200,000 of them crash it with a
RecursionError) and holds every value as a Python object (a large document takes many
times its size). Both are measured first on the text with its strings blanked out, at
C speed but for one step per bracket, so a refusal costs no more than the text itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A string (an unterminated one runs to the end: it is consumed once, never rescanned).
STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\Z)', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


class JsonTooLarge(ValueError):
    """A JSON text nests deeper, or holds more values, than the caps allow."""


def json_shape(text: str) -> tuple[int, int]:
    """Return (deepest nesting of [ and {, number of values) of a JSON text.

    Values are counted as separators plus one: an object's key and value count once.
    """
    skeleton = STRING.sub('""', text)
    depth = deepest = 0
    for bracket in BRACKET.finditer(skeleton):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest, skeleton.count(",") + 1


def loads_bounded(text: str, max_depth: int, max_values: int) -> Any:
    """``json.loads`` of a text within the caps (``data.limits.json_depth`` and
    ``data.limits.max_cells``), else :class:`JsonTooLarge` saying which cap and by how much."""
    depth, values = json_shape(text)
    if depth > max_depth:
        raise JsonTooLarge(f"nests {depth} levels deep, over data.limits.json_depth = {max_depth}")
    if values > max_values:
        raise JsonTooLarge(
            f"holds about {values} values, over data.limits.max_cells = {max_values}"
        )
    return json.loads(text)
