"""The exhibit steps as the workflow runs them: read the input, draw or tabulate, write.

A rule's ``params`` are exactly the keyword arguments of the function that makes its
exhibit, so each rule's script is one call here and nothing is renamed in between.
A table job never imports matplotlib: only :func:`figure_step` needs it, and imports it
when called (a job's imports are most of its time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from innopanel.exhibits.table_model import Table
from innopanel.exhibits.tables import FORMATS, write_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def read_input(path: str) -> pd.DataFrame:
    """Read a workflow file an exhibit is made from: the panel (ids as text) or a CSV of
    estimates or diagnostics."""
    return pd.read_csv(path, dtype={"unit_id": str})


def _keywords(params: Any) -> dict[str, Any]:
    """Snakemake's params (a named list) or any mapping, as keyword arguments."""
    return dict(params.items())


def figure_step(
    draw: Callable[..., Figure], source: pd.DataFrame, output: Any, params: Any
) -> None:
    """Draw ``draw(source, **params)`` and save it to ``output.pdf`` and ``output.png``."""
    from innopanel.exhibits.style import save_figure

    save_figure(draw(source, **_keywords(params)), output.pdf, output.png)
    logging.info("wrote %s and %s", output.pdf, output.png)


def table_step(
    tabulate: Callable[..., Table],
    source: pd.DataFrame,
    output: Mapping[str, str] | Any,
    params: Any,
) -> None:
    """Build ``tabulate(source, **params)`` and write it in every format to ``output``."""
    table = tabulate(source, **_keywords(params))
    write_table(table, {key: output[key] for key in FORMATS})
    logging.info(
        "wrote table '%s': %d rows, %d columns",
        table.name,
        len(table.body_rows),
        len(table.columns),
    )
