"""A config part a rule passes as ``params:``, shown on the console as its SHA256.

Snakemake records the ``repr`` of each param of a job, reruns the job when one differs,
and prints the old and the new ``repr`` as the reason. A whole config section there
(the models, the labels, the resolved config) is kilobytes of console per job after one
edit: 44-57 kB a run in issue 19. :class:`Digested` is the mapping itself for the step's
script (a ``dict``), whose ``repr`` is its name and the SHA256 of its canonical JSON: a
change reruns the step just as surely, and the reason is one line saying which part
changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from innopanel.io import sha256_json


class Digested(dict):  # type: ignore[type-arg]
    """A mapping passed to a rule's script whole, shown as ``<name> sha256 <digest>``."""

    def __init__(self, name: str, value: Mapping[str, Any]) -> None:
        super().__init__(value)
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} sha256 {sha256_json(self)}>"
