from snakemake.utils import validate

from innopanel.config import check_config

# Fail at start-up, before any job runs: the schema catches misspelled keys and
# wrong types, check_config catches meaning (unknown variables, cities, models).
validate(config, "../../config/schemas/config.schema.yaml")
check_config(config)

SOURCES = list(config["data"]["sources"])
FIGURES = ["focal_vs_peers", "within_relationship", "coefficients"]


wildcard_constraints:
    source="|".join(SOURCES),


def source_path(wildcards):
    return config["data"]["sources"][wildcards.source]["path"]


def source_sha256(wildcards):
    return config["data"]["sources"][wildcards.source]["sha256"]


def staged_sources(wildcards):
    return {name: f"data/staged/{name}.csv" for name in SOURCES}


def cleaning_config():
    """The parts of the config the clean step depends on (a change reruns it)."""
    return {key: config[key] for key in ("study", "data", "units", "variables")}


def variable_labels():
    return {name: spec["label"] for name, spec in config["variables"].items()}


def model_labels():
    return {name: spec["label"] for name, spec in config["models"].items()}


def final_outputs():
    return [
        "data/processed/panel.csv",
        "results/data_quality/report.json",
        "results/data_quality/report.md",
        "results/estimates/estimates.csv",
        "results/estimates/estimates.parquet",
        "results/estimates/diagnostics.csv",
        "results/tables/regressions.tex",
        *[
            f"results/figures/{name}.{ext}"
            for name in FIGURES
            for ext in ("pdf", "png")
        ],
    ]
