"""What exhibits read from their input frames, without drawing anything: the columns
an exhibit needs (:func:`check_columns`) and the names units are printed under
(:func:`unit_names`). Table jobs import this, and so never import matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

#: The unit table's optional column of names short enough for axes and legends.
SHORT_NAME_COLUMN = "short_name"


def check_columns(panel: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise naming the figure (``what``) and every column of ``columns`` not in ``panel``."""
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise ValueError(f"{what}: the panel has no column(s) {missing}.")


def unit_names(panel: pd.DataFrame) -> dict[str, str]:
    """Return unit id -> the name figures print: the unit table's ``short_name`` where
    the unit has one, else its English name (``name_en``), where the panel has one."""
    names: dict[str, str] = {}
    for column in ("name_en", SHORT_NAME_COLUMN):
        if column not in panel.columns:
            continue
        rows = panel.dropna(subset=[column]).drop_duplicates("unit_id")
        rows = rows[rows[column].astype(str).str.strip() != ""]
        names.update(zip(rows["unit_id"].astype(str), rows[column].astype(str), strict=True))
    return names
