"""The specification curve under the null: where a curve of estimates falls when the
focal effect is zero in every specification (Simonsohn, Simmons and Nelson 2020, Fig. 3).

Each null draw (:mod:`innopanel.econometrics.curve_inference`) gives every linear
specification a focal estimate. Specifications that differ only in their covariance
share that estimate (the covariance changes the interval, not the fit), so the curve is
one of designs (:data:`~innopanel.config.multiverse.DESIGN_CHOICES`), each redrawn once.
Estimates are compared only within a panel (one outcome and one focal definition,
:data:`~innopanel.config.multiverse.PANEL_CHOICES`): per panel and draw the designs' null
estimates are sorted, and the band at rank k holds the central 95 % of the k-th
smallest across draws, beside the observed curve ranked the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from innopanel.config.multiverse import DESIGN_CHOICES, PANEL_CHOICES
from innopanel.econometrics.curve_inference import NullChunk, focal_rows, read_null_chunk
from innopanel.io import atomic_path, with_data_note

NULL_CURVE_COLUMNS = [*PANEL_CHOICES, "rank", "designs", "draws", "lower", "median", "upper"]
#: The share of draws the band holds at each rank.
BAND = 0.95


def design_ids(focal: pd.DataFrame) -> pd.Series:
    """The first specification of each design (in grid order), indexed by design."""
    return focal.groupby(list(DESIGN_CHOICES), sort=False)["spec_id"].first()


def null_curve(focal: pd.DataFrame, chunks: Sequence[NullChunk]) -> pd.DataFrame:
    """Per panel and rank, the band and median of the rank-th smallest null estimate.

    ``focal`` holds the focal rows of the estimated linear specifications; every design
    must have been redrawn under every draw, whichever chunks hold it."""
    firsts = design_ids(focal)
    position = {spec_id: i for i, spec_id in enumerate(firsts)}
    draws = np.unique(np.concatenate([c.draws for c in chunks]))
    estimates = np.full((len(firsts), len(draws)), np.nan)
    for chunk in chunks:
        kept = np.array([s in position for s in chunk.spec_ids], dtype=bool)
        rows = np.array([position[s] for s in chunk.spec_ids[kept]], dtype=np.int64)
        estimates[np.ix_(rows, np.searchsorted(draws, chunk.draws))] = chunk.estimates[kept]
    if np.isnan(estimates).any():
        missing = firsts.iloc[np.flatnonzero(np.isnan(estimates).any(axis=1))]
        raise ValueError(
            f"null draws are missing for {len(missing)} design(s) (first specification "
            f"{missing.iloc[0]}); a null chunk is stale or incomplete: rerun the "
            "multiverse_null rule."
        )
    panels = firsts.index.to_frame(index=False)[list(PANEL_CHOICES)]
    tail = (1 - BAND) / 2
    frames = []
    for keys, members in panels.groupby(list(PANEL_CHOICES), sort=False).groups.items():
        ranked = np.sort(estimates[np.asarray(members)], axis=0)
        lower, median, upper = np.quantile(ranked, [tail, 0.5, 1 - tail], axis=1)
        frames.append(
            pd.DataFrame(
                {
                    **dict(zip(PANEL_CHOICES, keys, strict=True)),
                    "rank": np.arange(len(ranked)),
                    "designs": len(ranked),
                    "draws": len(draws),
                    "lower": lower,
                    "median": median,
                    "upper": upper,
                }
            )
        )
    if not frames:  # no linear specification: nothing was redrawn
        return pd.DataFrame(columns=NULL_CURVE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[NULL_CURVE_COLUMNS]


def null_curve_step(
    specifications: str, chunks: Sequence[str], data_note: str, output: str
) -> None:
    """The null curve of every panel (rule multiverse_null_curve) into a parquet file."""
    focal = focal_rows(pd.read_parquet(specifications))
    table = null_curve(focal, [read_null_chunk(path) for path in chunks])
    with atomic_path(output) as temporary:
        with_data_note(table, data_note).to_parquet(temporary, index=False, engine="pyarrow")
    logging.info(
        "null curve: %d panels, %d ranks", table.groupby(list(PANEL_CHOICES)).ngroups, len(table)
    )
