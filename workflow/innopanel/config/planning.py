"""Refusals that the config and the panel's shape settle, made when the run is planned.

Some refusals of the run steps depend on nothing but the config and how many units and
years a model's sample can have. Every row of the panel is a unit of the study's unit
table (:mod:`innopanel.data.harmonise` refuses or drops any other name; the concordance
maps only into the table) and a model keeps only its own years, so the table's unit
count U and the model's year count W bound every sample from above. Both are known at
start-up; the sample itself only after the clean step.

Where the bounds make the run step's refusal certain, :func:`check_plan` refuses at
start-up with the run step's own rule: fewer than 2 units, unit effects on one year,
too few clusters or periods for the covariance
(:func:`innopanel.config.covariances.sample_problem`, which fails for U and W only if
it fails for every smaller sample). The other size checks of the estimate step (the
residual degrees of freedom, an outcome that never varies) depend on which rows are
complete, so they stay there.

The jackknife cap (``models.<name>.jackknife_max_clusters``) is the exception. The
estimate step compares it with the clusters of the model's complete-case sample, and
nothing known at start-up bounds that count from below: a table of 10,000 units may
feed a sample of any size up to 10,000. A start-up check that refused only when the
step certainly would could never refuse, and the step would stop minutes into the run
after the earlier models were fitted. So the pipeline holds the cap against U, the most
clusters any model of the study can have: a plan that passes is never stopped later by
the cap, and one whose table lists more units than the cap is refused at once, even
when its sample would have kept fewer. Its message says so and names the fix (raise the
cap to U: the jackknife still refits once per cluster the sample keeps, or use CV1).
The Python API, which has no unit table, keeps the check on the sample
(:func:`innopanel.econometrics.models.check_jackknife_size`).

Only config modules are imported (the standard library and PyYAML): the Snakefile
calls :func:`check_plan` at start-up, before it builds the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from innopanel.config.checks import ConfigError, read_unit_ids
from innopanel.config.covariances import refits_per_cluster, sample_problem
from innopanel.config.specs import ModelSpec, model_specs
from innopanel.config.study import study_unit
from innopanel.vocabulary import UnitNoun


def jackknife_problem(spec: ModelSpec, units: int, table: str, unit: UnitNoun) -> str | None:
    """Why the model's jackknife may refit more often than its cap allows, or None:
    ``units`` (the unit table's count) exceeds ``models.<name>.jackknife_max_clusters``."""
    cap = spec.jackknife_max_clusters
    if cap is None or units <= cap or not refits_per_cluster(spec.estimator, spec.covariance):
        return None
    key = f"models.{spec.name}"
    return (
        f"{key}: covariance {spec.covariance} refits the {spec.estimator} model once per "
        f"{unit.singular} of its sample (its time grows as {unit.plural} x rows), and the "
        f"unit table {table} lists {units:,} {unit.plural}, more than "
        f"{key}.jackknife_max_clusters = {cap:,}. The cap is checked against the unit table "
        f"before anything runs, since the sample is known only after the clean step. With "
        f"this many {unit.plural} CV1 covers as well (README, Models): set {key}.covariance: "
        f"clustered; or, if the time is worth it, raise the cap to {units} (the jackknife "
        f"refits once per {unit.singular} the sample keeps)."
    )


def shape_problem(spec: ModelSpec, units: int, unit: UnitNoun) -> str | None:
    """Why no sample of at most ``units`` units and the model's years can be estimated
    with its effects and covariance, or None (unit effects on one year, too few
    clusters or periods). The model's years must be known (a model of a study's config)."""
    assert spec.first_year is not None and spec.last_year is not None
    years = spec.last_year - spec.first_year + 1
    if spec.entity_effects and years < 2:
        return (
            f"models.{spec.name}: unit effects need at least 2 years and its years "
            f"{spec.window} are one; widen models.{spec.name}.first_year..last_year (or "
            "study.first_year..last_year), or drop entity_effects."
        )
    # An automatic bandwidth is at least 0, so 0 asks for the fewest periods any gets.
    bandwidth = 0 if spec.bandwidth is None else spec.bandwidth
    problem = sample_problem(spec.covariance, units, years, bandwidth, unit)
    if problem is None:
        return None
    return (
        f"models.{spec.name}: its sample has at most {units:,} {unit.plural} (the unit "
        f"table) and {years} year(s) ({spec.window}), and even that many are too few: "
        f"{problem}"
    )


def plan_problems(models: Iterable[ModelSpec], units: int, table: str, unit: UnitNoun) -> list[str]:
    """Every refusal of the estimate step certain (or, for the jackknife cap, decided)
    from the models and the unit table's count ``units`` alone, each naming its key."""
    if units < 2:
        return [
            f"{table} lists {units} {unit.singular}(s); every model needs at least 2 "
            f"{unit.plural}: add rows to the unit table (data.unit_table)."
        ]
    problems = []
    for spec in models:
        problems += filter(
            None, (shape_problem(spec, units, unit), jackknife_problem(spec, units, table, unit))
        )
    return problems


def check_plan(config: Mapping[str, Any], config_path: str) -> None:
    """Raise :class:`ConfigError` with every refusal :func:`plan_problems` finds for a
    loaded study config (:func:`innopanel.config.study.load_study`)."""
    table = config["data"]["unit_table"]
    units = len(set(read_unit_ids(table)))
    problems = plan_problems(model_specs(config).values(), units, table, study_unit(config))
    if problems:
        raise ConfigError(
            f"{config_path} has {len(problems)} problem(s) that would stop the run later, "
            "refused before any job runs:\n  - " + "\n  - ".join(problems)
        )
