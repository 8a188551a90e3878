"""The config is checked at start-up: schema for keys and types, check_config for meaning."""

from __future__ import annotations

import pytest
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from innopanel.config.checks import ConfigError, check_config, known_variables

SCHEMA = "config/schemas/config.schema.yaml"


def test_bundled_config_is_valid(study_config: dict) -> None:
    validate(study_config, SCHEMA)
    check_config(study_config)


def test_misspelled_key_is_refused_by_the_schema(study_config: dict) -> None:
    study_config["study"]["focal_citty"] = study_config["study"].pop("focal_unit")
    with pytest.raises(WorkflowError, match="focal_citty"):
        validate(study_config, SCHEMA)


def test_wrong_type_is_refused_by_the_schema(study_config: dict) -> None:
    study_config["study"]["first_year"] = "2011"
    with pytest.raises(WorkflowError, match="first_year"):
        validate(study_config, SCHEMA)


def test_unknown_model_term_names_the_key_and_suggests(study_config: dict) -> None:
    study_config["models"]["twoway_fe"]["regressors"][0] = "rd_intensty"
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    message = str(error.value)
    assert "models.twoway_fe.regressors[0] = 'rd_intensty'" in message
    assert "Did you mean 'rd_intensity'?" in message


def test_code_in_a_model_term_is_refused(study_config: dict) -> None:
    study_config["models"]["city_fe"]["controls"] = ["__import__('os').system('true')"]
    with pytest.raises(Exception, match="controls"):
        validate(study_config, SCHEMA)
    with pytest.raises(ConfigError, match="not a known variable"):
        check_config(study_config)


def test_lag_of_a_variable_without_lag_is_unknown(study_config: dict) -> None:
    assert "rd_intensity_lag1" in known_variables(study_config["variables"])
    assert "secondary_share_lag1" not in known_variables(study_config["variables"])
    study_config["models"]["city_fe"]["controls"] = ["secondary_share_lag1"]
    with pytest.raises(ConfigError, match="secondary_share_lag1"):
        check_config(study_config)


def test_unknown_focal_city_and_reversed_years(study_config: dict) -> None:
    study_config["study"]["focal_unit"] = "chengdoo"
    study_config["study"]["first_year"] = 2030
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    assert "study.focal_unit = 'chengdoo'" in str(error.value)
    assert "Did you mean 'chengdu'?" in str(error.value)
    assert "first_year (2030) is after study.last_year" in str(error.value)


def test_hausman_needs_the_right_estimators(study_config: dict) -> None:
    study_config["diagnostics"]["hausman"]["random_effects"] = "pooled_ols"
    with pytest.raises(ConfigError, match="must be a random_effects model"):
        check_config(study_config)


def test_diagnostics_name_models_of_the_right_kind(study_config: dict) -> None:
    diagnostics = study_config["diagnostics"]
    diagnostics["effects_f_test"] = ["pooled_ols"]
    diagnostics["vif"] = ["twoway_fee"]
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    message = str(error.value)
    assert "diagnostics.effects_f_test[0] = 'pooled_ols': the test needs a fixed_effects" in message
    assert "diagnostics.vif[0] = 'twoway_fee' is not a model. Did you mean 'twoway_fe'?" in message


def test_unknown_covariance_and_estimator_are_refused_by_the_schema(study_config: dict) -> None:
    study_config["models"]["twoway_fe"]["covariance"] = "newey_west"
    with pytest.raises(WorkflowError, match="newey_west"):
        validate(study_config, SCHEMA)


@pytest.mark.parametrize(
    ("model", "edit", "message"),
    [
        ("twoway_fe", {"bandwidth": 2}, "twoway_fe.bandwidth applies only to covariance"),
        ("random_effects", {"entity_effects": True}, "random_effects model takes no entity"),
        ("first_differences", {"entity_effects": True}, "first differences remove unit effects"),
        ("between", {"covariance": "clustered"}, "between estimator has one observation"),
        (
            "twoway_fe",
            {"distributed_lags": {"college_students_per_10k": 2}},
            "distributed_lags: 'college_students_per_10k' must also be a regressor",
        ),
        (
            "twoway_fe",
            {"interactions": [["rd_intensity", "talent"]]},
            "interactions[0]: 'talent' must also be a regressor or control",
        ),
        ("twoway_fe", {"first_year": 2030, "last_year": 2031}, "outside the study window"),
        ("twoway_fe", {"first_year": 2020, "last_year": 2015}, "first_year (2020) is after"),
    ],
)
def test_model_options_that_make_no_sense_are_refused(
    study_config: dict, model: str, edit: dict, message: str
) -> None:
    study_config["models"][model].update(edit)
    validate(study_config, SCHEMA)  # well-formed: only check_config can see the problem
    with pytest.raises(ConfigError) as error:
        check_config(study_config)
    assert message in str(error.value)


def test_source_column_for_unknown_variable(study_config: dict) -> None:
    study_config["data"]["sources"]["economy"]["columns"]["gdpp"] = "地区生产总值"
    with pytest.raises(ConfigError, match=r"economy\.columns\.gdpp"):
        check_config(study_config)
