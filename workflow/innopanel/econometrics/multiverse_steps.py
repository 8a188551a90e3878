"""The multiverse steps as the workflow runs them: read, estimate or redraw, write.

Each function is one rule's work, called with the rule's inputs, outputs and params;
``settings`` is the part of the config the grid is parsed from (study, variables and
multiverse), so that a change there reruns the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from innopanel.config.multiverse import multiverse_spec
from innopanel.econometrics.curve_inference import (
    focal_rows,
    gather_null,
    joint_tests,
    null_chunk,
    read_null_chunk,
    write_null_chunk,
)
from innopanel.econometrics.multiverse import estimate_chunk, prepare_panel
from innopanel.io import atomic_path, with_data_note, write_csv


def _write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as temporary:
        frame.to_parquet(temporary, index=False, engine="pyarrow")


def _panel(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"unit_id": str})


def estimate_chunk_step(panel: str, chunk: int, settings: Mapping[str, Any], output: str) -> None:
    """Estimate the specifications of chunk ``chunk`` into a parquet file."""
    multiverse = multiverse_spec(settings)
    specifications = multiverse.chunk(chunk)
    table = estimate_chunk(
        prepare_panel(_panel(panel), multiverse), multiverse, specifications, settings["study"]
    )
    _write_parquet(output, table)
    logging.info("chunk %d: %d specifications, %d rows", chunk, len(specifications), len(table))


def gather_specifications(chunks: Sequence[str], data_note: str, output: str) -> None:
    """Stack the chunks, in grid order, into specifications.parquet."""
    table = pd.concat([pd.read_parquet(path) for path in chunks], ignore_index=True)
    _write_parquet(output, with_data_note(table, data_note))
    logging.info(
        "%d specifications, %d not estimated",
        table["spec_id"].nunique(),
        table.loc[table["estimate"].isna(), "spec_id"].nunique(),
    )


def null_chunk_step(
    panel: str, chunk: int, block: int, settings: Mapping[str, Any], output: str
) -> None:
    """Redraw chunk ``chunk``'s linear specifications under null block ``block``."""
    multiverse = multiverse_spec(settings)
    draws = multiverse.null.chunk_draws(block)
    redrawn = null_chunk(
        prepare_panel(_panel(panel), multiverse),
        multiverse,
        multiverse.chunk(chunk),
        draws,
        settings["study"],
    )
    with atomic_path(output) as temporary, open(temporary, "wb") as handle:
        write_null_chunk(handle, redrawn)
    logging.info("chunk %d, draws %s: %d specifications", chunk, draws, len(redrawn.spec_ids))


def joint_tests_step(
    specifications: str, chunks: Sequence[str], data_note: str, tests: str, null: str
) -> None:
    """The joint tests of the curve (CSV) and the null statistic of every draw (parquet)."""
    focal = focal_rows(pd.read_parquet(specifications))
    drawn = gather_null([read_null_chunk(path) for path in chunks], list(focal["spec_id"]))
    table = joint_tests(focal, drawn)
    write_csv(tests, with_data_note(table, data_note))
    _write_parquet(null, with_data_note(drawn, data_note))
    logging.info("joint tests over %d specifications and %d draws", len(focal), len(drawn))
