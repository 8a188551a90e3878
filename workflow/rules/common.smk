import shutil

from snakemake.utils import validate

from innopanel import exhibits
from innopanel.config import check_config

# Fail at start-up, before any job runs: the schema catches misspelled keys and
# wrong types, check_config catches meaning (unknown variables, cities, models).
validate(config, "../../config/schemas/config.schema.yaml")
check_config(config)

SOURCES = list(config["data"]["sources"])
EXHIBITS = config["exhibits"]
# The diagnostics table needs results/estimates/diagnostics.csv. Set this to True once
# rule estimate_models declares that output (the econometrics step writes it).
DIAGNOSTICS = False
# The paper is compiled only where its LaTeX engine is installed, so that `make run`
# works without one; paper.tex is written either way.
PAPER_ENGINE = EXHIBITS["paper"].get("engine", "pdflatex")
BUILD_PAPER = shutil.which(PAPER_ENGINE) is not None


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


def study_unit():
    return config["study"]["unit"]


def table_outputs(wildcards=None):
    """Every table file the paper inputs (LaTeX), in paper order."""
    return [
        exhibits.table_path(name, "tex") for name in exhibits.table_names(DIAGNOSTICS)
    ]


def figure_outputs(wildcards=None):
    """Every figure file the paper includes (PDF), in paper order."""
    return [exhibits.figure_path(name, "pdf") for name in exhibits.FIGURES]


def caption_files(wildcards=None):
    names = [*exhibits.table_names(DIAGNOSTICS), *exhibits.FIGURES]
    return [exhibits.caption_path(name) for name in names]


def final_outputs():
    return [
        "data/processed/panel.csv",
        "results/data_quality/report.json",
        "results/data_quality/report.md",
        "results/estimates/estimates.csv",
        "results/estimates/hausman.csv",
        *exhibits.exhibit_outputs(DIAGNOSTICS),
        exhibits.PAPER_TEX,
        *([exhibits.PAPER_PDF] if BUILD_PAPER else []),
    ]
