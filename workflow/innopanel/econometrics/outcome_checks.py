"""Refuse an outcome that does not vary in a model's sample, naming the model.

A constant outcome (typically all zero: a source column mapped to the wrong header, or
a variable the units never report) leaves a linear model nothing to explain. Fixed
effects would report zero coefficients as if they were estimates, and random effects
divides by a zero variance deep inside linearmodels with a bare ZeroDivisionError. The
check runs on the complete-case sample, before any fit, so the message can say which
model, which outcome, its one value, and what to do.
"""

from __future__ import annotations

import pandas as pd

from innopanel.config.covariances import LINEAR_ESTIMATORS
from innopanel.config.specs import ModelSpec
from innopanel.econometrics.estimators import EstimationError


def check_outcome_varies(frame: pd.DataFrame, spec: ModelSpec) -> None:
    """Raise :class:`EstimationError` when a linear model's outcome takes one value in
    every row of its sample ``frame`` (indexed by unit and year)."""
    if spec.estimator not in LINEAR_ESTIMATORS:
        return  # PPML drops units whose outcome is always zero and says so itself
    outcome = frame[spec.outcome]
    if len(outcome) == 0 or outcome.nunique(dropna=True) > 1:
        return
    years = frame.index.get_level_values(-1)
    raise EstimationError(
        f"model '{spec.name}': its outcome {spec.outcome} is {outcome.iloc[0]:g} in every "
        f"one of its {len(outcome)} rows ({int(years.min())}-{int(years.max())}), so a "
        f"{spec.estimator} model has no variation to explain. Check the source column "
        f"mapped to {spec.outcome} and the data-quality report, or choose another outcome."
    )
