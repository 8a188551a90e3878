"""The partial regression of a fixed-effects model's outcome on one of its terms.

By Frisch-Waugh-Lovell, once the model's unit and year effects and every other term
(its other regressors and controls) are partialled out of both the outcome and the
term, the least-squares slope of the one residual on the other is the model's
coefficient, exactly. :func:`partial_regression` returns those residuals for each
unit-year of the model's estimating sample; the within-relationship figure draws them,
so its slope is the one the estimates report. The effects are removed by the same
exact within transformation the fit uses (:func:`innopanel.econometrics.within.absorb_effects`),
balanced panel or not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from innopanel.config.specs import ModelSpec
from innopanel.econometrics.estimators import EstimationError
from innopanel.econometrics.models import ENTITY, TIME, design_terms, model_frame
from innopanel.econometrics.within import absorb_effects
from innopanel.io import atomic_path, with_data_note

#: The columns of results/estimates/within_relationship.parquet (and data_note).
PARTIAL_COLUMNS = [ENTITY, TIME, "regressor_partial", "outcome_partial"]


def partial_regression(panel: pd.DataFrame, spec: ModelSpec, term: str) -> pd.DataFrame:
    """Return ``unit_id, year, regressor_partial, outcome_partial`` of model ``spec``.

    Both columns are net of the model's effects and of its other terms, on exactly the
    rows the model is estimated on (:func:`innopanel.econometrics.models.model_frame`),
    so the slope of ``outcome_partial`` on ``regressor_partial`` is the model's
    coefficient on ``term``.
    """
    if spec.estimator != "fixed_effects":
        raise EstimationError(
            f"exhibits.within_relationship.model = '{spec.name}' is a {spec.estimator} "
            "model; the within relationship is drawn for a fixed_effects model."
        )
    terms = design_terms(spec)
    if term not in terms:
        raise EstimationError(
            f"exhibits.within_relationship.regressor = '{term}' is not a term of model "
            f"'{spec.name}' (its terms: {terms}); name one of them."
        )
    frame = model_frame(panel, spec)
    others = [t for t in terms if t != term]
    data = frame[[spec.outcome, term, *others]].to_numpy(dtype=np.float64, copy=True)
    index = frame.index
    absorb_effects(
        data,
        index.codes[0].astype(np.int64),
        index.codes[1].astype(np.int64),
        spec.entity_effects,
        spec.time_effects,
    )
    if others:
        # The other terms, themselves within-transformed, are partialled out by least
        # squares (Frisch-Waugh-Lovell's second step).
        coefficients, *_ = np.linalg.lstsq(data[:, 2:], data[:, :2], rcond=None)
        data[:, :2] -= data[:, 2:] @ coefficients
    return pd.DataFrame(
        {
            ENTITY: index.get_level_values(ENTITY).astype(str),
            TIME: index.get_level_values(TIME).astype("int64"),
            "regressor_partial": data[:, 1],
            "outcome_partial": data[:, 0],
        }
    )[PARTIAL_COLUMNS]


def write_partial_regression(frame: pd.DataFrame, data_note: str, path: str) -> None:
    """Write the partial regression as parquet, each row carrying ``data_note``."""
    with atomic_path(path) as temporary:
        with_data_note(frame, data_note).to_parquet(temporary, index=False, engine="pyarrow")
