"""A model whose outcome does not vary is refused with the model named, not a traceback."""

from __future__ import annotations

import pytest
from conftest import simulate_panel

from innopanel.config.specs import model_spec
from innopanel.econometrics.estimators import EstimationError
from innopanel.econometrics.models import fit_model


def spec(estimator: str, **changes):
    raw = {
        "label": estimator,
        "estimator": estimator,
        "outcome": "y",
        "regressors": ["x1", "x2"],
        "covariance": "clustered",
        **changes,
    }
    return model_spec("the_model", raw)


@pytest.mark.parametrize(
    ("estimator", "effects"),
    [("random_effects", {}), ("fixed_effects", {"entity_effects": True}), ("pooled_ols", {})],
)
def test_an_all_zero_outcome_is_refused_naming_the_model(estimator, effects):
    panel = simulate_panel().assign(y=0.0)
    with pytest.raises(EstimationError) as refused:
        fit_model(panel, spec(estimator, **effects), unit="region")
    message = str(refused.value)
    assert message.startswith("model 'the_model': its outcome y is 0 in every one of its ")
    assert "choose another outcome" in message


def test_a_varying_outcome_is_fitted():
    fitted = fit_model(simulate_panel(), spec("random_effects"), unit="region")
    assert fitted.spec.name == "the_model"
