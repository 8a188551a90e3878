"""Refuse unknown keys in a spec mapping, naming the nearest valid key.

The JSON schema refuses a misspelled key on the pipeline path (``additionalProperties:
false``); the Python API builds specs from plain mappings without that validation, so
every spec parser completes its mapping with :func:`innopanel.config.specs.with_defaults`,
which calls :func:`check_keys` wherever the schema closes an object. ``bandwith: 4``
is then an error, never a silent bandwidth default.

Only the standard library is imported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any


class UnknownKeyError(ValueError):
    """A spec mapping has a key its schema does not know; the message names the fix."""


def nearest_key(key: str, allowed: Iterable[str]) -> str | None:
    """The valid key closest to ``key`` (difflib's ratio of at least 0.6), or None."""
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return close[0] if close else None


def unknown_key_message(where: str, key: str, allowed: Iterable[str]) -> str:
    """ "models.x: unknown key 'bandwith'; did you mean 'bandwidth'? Allowed here: [...]." """
    allowed = list(allowed)
    close = nearest_key(key, allowed)
    hint = f"; did you mean '{close}'?" if close else "."
    return f"{where or '(top level)'}: unknown key '{key}'{hint} Allowed here: {allowed}."


def check_keys(where: str, mapping: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Raise :class:`UnknownKeyError` naming every key of ``mapping`` not in ``allowed``
    (``where`` is the mapping's place in the config, e.g. ``models.fe``)."""
    allowed = list(allowed)
    problems = [unknown_key_message(where, key, allowed) for key in mapping if key not in allowed]
    if problems:
        raise UnknownKeyError(" ".join(problems))
