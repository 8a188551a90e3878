"""The config's words as the report's captions print them, escaped for reStructuredText.

Snakemake renders each caption (``workflow/report/*.rst``) as a Jinja template and then
as reStructuredText, and Jinja escapes nothing. A label such as ``.. include:: /etc/passwd``
or ``.. raw:: html`` would therefore run as a directive inside ``report.html``. So the
captions never print config text directly: they print the words prepared here, once,
under the run's ``_run.text`` entry, where every character markup could act on is
backslash-escaped and line breaks are folded, so a label can only ever be text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from innopanel.config.unit_labels import variable_labels
from innopanel.vocabulary import UnitNoun, unit_words

# Every ASCII punctuation character: escaped, each is a literal in reStructuredText
# (a backslash before any other character would be dropped or start an escape itself).
RST_PUNCTUATION = frozenset("\\`*_|:.<>[]{}()#=-+~^\"'!$%&,;/?@")


def rst_text(text: str) -> str:
    """Return ``text`` as inline reStructuredText that renders exactly as written.

    Line breaks and other control characters become spaces (a new line could start a
    directive); each punctuation character is backslash-escaped, so neither a directive
    (``.. raw::``), a role, a substitution nor a hyperlink can be formed.
    """
    flat = "".join(" " if not character.isprintable() else character for character in text)
    return "".join(
        "\\" + character if character in RST_PUNCTUATION else character for character in flat
    )


def plain_text(rst: str) -> str:
    """Undo :func:`rst_text` in rendered caption prose, for the paper's LaTeX captions:
    each backslash-escaped character stands for itself."""
    return re.sub(r"\\(.)", r"\1", rst)


def mid_sentence(label: str) -> str:
    """A label as written inside a sentence: "Patent applications" -> "patent
    applications", but "GDP per capita" and "R&D intensity" keep their capitals."""
    if len(label) > 1 and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def caption_text(config: Mapping[str, Any], unit: UnitNoun) -> dict[str, Any]:
    """The ``_run.text`` entry: every config word a caption prints, escaped.

    ``variables`` and ``models`` hold labels as written mid-sentence (``variables``) or
    as given (``models``); ``unit`` and ``units`` are the unit noun's two forms.
    """
    study, data = config["study"], config["data"]
    singular, plural = unit_words(unit)
    return {
        "title": rst_text(study["title"]),
        "unit": rst_text(singular),
        "units": rst_text(plural),
        "focal_unit": rst_text(study["focal_unit"]),
        "peer_units": rst_text(", ".join(study["peer_units"])),
        "reference_study": (
            None if study["reference_study"] is None else rst_text(study["reference_study"])
        ),
        "data_note": rst_text(data["data_note"]),
        "variables": {
            name: rst_text(mid_sentence(label)) for name, label in variable_labels(config).items()
        },
        "models": {name: rst_text(spec["label"]) for name, spec in config["models"].items()},
    }
