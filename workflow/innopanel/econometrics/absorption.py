"""Unit and year fixed effects absorbed by group sums, weighted or not: no dummy matrix.

:class:`FixedEffects` holds the integer codes of a sample's unit and/or year effects
and partials them out of columns of data under observation weights (the weighted
within transformation of Poisson IRLS, or weights 1 for least squares). Two-way
effects are removed exactly, not by alternating projections, by the same
Frisch-Waugh-Lovell argument as :mod:`innopanel.econometrics.within`, now weighted
with ``W = diag(w)``:

1. demean every column by the larger grouping ``a`` with weights (group sums);
2. the weighted-demeaned dummies of the smaller grouping ``d`` enter only through
   ``D'W M_a D = diag(w_d) - B' diag(1/w_a) B`` (``B`` the a x d sums of the weights
   per cell) and ``D'W (M_a v)`` (group sums again): a small d x d pseudo-inverse;
3. subtract ``M_a D Pi = D Pi - A diag(1/w_a) B Pi`` (``A`` spreading a unit's value to
   its rows), which leaves the two-way weighted-demeaned columns.

So the result does not depend on a convergence tolerance, and the cost is a few
passes over the rows plus one d x d eigen-decomposition, whatever the number of units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

#: The a x d cell weights are built dense while they need at most this many cells per
#: observation (as in within.py); sparser, very unbalanced panels use a sparse product.
DENSE_CELLS_PER_OBSERVATION = 8


def renumbered(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """``codes`` renumbered 0..m-1 in order, leaving no unused level; and m."""
    used = np.bincount(codes) > 0
    if used.all():
        return codes, len(used)
    return (np.cumsum(used) - 1)[codes], int(used.sum())


@dataclass(frozen=True)
class EffectSet:
    """One set of effects: each row's level 0..size-1, and, when the rows come sorted by
    level (a (unit, year)-sorted panel's units), where each level's block starts, so that
    group sums are one pass over contiguous memory for all columns at once."""

    codes: np.ndarray
    size: int
    starts: np.ndarray | None

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> EffectSet:
        codes, size = renumbered(np.asarray(codes, dtype=np.int64))
        steps = np.diff(codes)
        if len(codes) and (steps >= 0).all():
            return cls(codes, size, np.concatenate([[0], np.flatnonzero(steps) + 1]))
        return cls(codes, size, None)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-level sums of every column of ``values`` (n x m): a size x m array."""
        if self.starts is not None:
            return np.add.reduceat(values, self.starts, axis=0)
        # A bincount per column, not covariance.group_sums' sparse product: an IRLS step
        # sums a few columns many times, where this is faster (PPML at 100,000 rows
        # took 0.24 s instead of 0.18 s through group_sums).
        return np.column_stack(
            [
                np.bincount(self.codes, weights=values[:, j], minlength=self.size)
                for j in range(values.shape[1])
            ]
        )

    def spread(self, per_level: np.ndarray) -> np.ndarray:
        """Each row's value of a size x m per-level array (n x m)."""
        if self.starts is not None:
            return np.repeat(per_level, np.diff(self.starts, append=len(self.codes)), axis=0)
        return per_level[self.codes]

    def demean(self, data: np.ndarray, weights: np.ndarray, totals: np.ndarray) -> None:
        """Subtract each level's weighted mean from every column of ``data``, in place."""
        data -= self.spread(self.sums(data * weights[:, None]) / totals[:, None])


@dataclass(frozen=True)
class FixedEffects:
    """The absorbed effects of a sample: at most two :class:`EffectSet` (units, years),
    the one with more levels first; none means no effects."""

    sets: tuple[EffectSet, ...]

    @classmethod
    def from_index(
        cls, index: pd.MultiIndex, entity_effects: bool, time_effects: bool
    ) -> FixedEffects:
        """The unit (level 0) and/or year (level 1) effects of a (unit, year) index."""
        wanted = [level for level, flag in ((0, entity_effects), (1, time_effects)) if flag]
        return cls._ordered(EffectSet.from_codes(index.codes[level]) for level in wanted)

    @classmethod
    def _ordered(cls, sets: Iterable[EffectSet]) -> FixedEffects:
        # A stable sort: with equal sizes the unit effects stay first, whatever the data.
        return cls(tuple(sorted(sets, key=lambda effect: -effect.size)))

    @property
    def count(self) -> int:
        """Free effect parameters: the levels of every set, less one per extra set."""
        return sum(effect.size for effect in self.sets) - max(len(self.sets) - 1, 0)

    def subset(self, keep: np.ndarray) -> FixedEffects:
        """The effects of the rows where the boolean mask ``keep`` is true."""
        return self._ordered(EffectSet.from_codes(effect.codes[keep]) for effect in self.sets)

    def partial_out(self, data: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The columns of ``data`` (n x m) less their weighted projection on the effects.

        A new array; ``weights`` (n, positive) default to 1 (ordinary least squares)."""
        weights = np.ones(len(data)) if weights is None else weights
        result = np.array(data, dtype=np.float64, copy=True)
        if not self.sets:
            return result
        larger, *rest = self.sets
        larger_weights = np.bincount(larger.codes, weights=weights, minlength=larger.size)
        larger.demean(result, weights, larger_weights)
        if not rest:
            return result
        smaller, *more = rest
        if more:
            raise ValueError("at most two sets of fixed effects can be absorbed")
        cross = smaller.sums(result * weights[:, None])
        cells = cell_weights(larger, smaller, weights)
        # diag(1/w_a) B: each unit's share of its weight in each year.
        shares = (
            sparse.diags_array(1 / larger_weights) @ cells
            if sparse.issparse(cells)
            else cells / larger_weights[:, None]
        )
        gram = cells.T @ shares
        gram = gram.toarray() if sparse.issparse(gram) else gram
        smaller_weights = np.asarray(cells.sum(axis=0)).ravel()
        projection = pseudo_inverse(np.diag(smaller_weights) - gram) @ cross
        # M_a D Pi = D Pi less each unit's weighted mean of it, diag(1/w_a) B Pi.
        result -= smaller.spread(projection) - larger.spread(np.asarray(shares @ projection))
        return result


def cell_weights(
    larger: EffectSet, smaller: EffectSet, weights: np.ndarray
) -> np.ndarray | sparse.csr_array:
    """The a x d sums of the weights per cell ``B``: dense, or sparse when the panel is
    so unbalanced that most cells are empty."""
    cells = larger.size * smaller.size
    if cells <= DENSE_CELLS_PER_OBSERVATION * len(larger.codes):
        return np.bincount(
            larger.codes * smaller.size + smaller.codes, weights=weights, minlength=cells
        ).reshape(larger.size, smaller.size)
    return sparse.csr_array(
        (weights, (larger.codes, smaller.codes)), shape=(larger.size, smaller.size)
    )


def pseudo_inverse(matrix: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse of a symmetric positive semi-definite matrix; the demeaned
    dummies have one exact dependency (more in a disconnected panel)."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    cutoff = eigenvalues.max(initial=0.0) * len(matrix) * np.finfo(float).eps * 10
    keep = eigenvalues > cutoff
    return (eigenvectors[:, keep] / eigenvalues[keep]) @ eigenvectors[:, keep].T
