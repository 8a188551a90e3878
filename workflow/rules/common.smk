import shutil
from pathlib import Path

from innopanel.config import exhibits
from innopanel.config.checks import check_config
from innopanel.reproducibility.provenance import git_revision
from innopanel.config.schema import check_schema
from innopanel.config.sources import EXTENSIONS, FILE_KINDS, staged_path
from innopanel.config.specs import source_specs, with_defaults

# The config file in use: the one given with --configfile, else the default.
CONFIG_PATH = (list(workflow.overwrite_configfiles) or ["config/config.yaml"])[-1]

# Fail at start-up, before any job runs: the schema catches misspelled keys and
# wrong types (check_schema says which key and what to write), check_config catches
# meaning (unknown variables, units, models). In between, the schema's defaults are
# filled in, once, here: every rule and script then reads a complete config.
check_schema(
    config, Path(workflow.basedir) / "config/schemas/config.schema.yaml", CONFIG_PATH
)
config.update(with_defaults(config))
check_config(config, CONFIG_PATH)

SOURCES = list(config["data"]["sources"])
EXHIBITS = config["exhibits"]
# The paper is compiled only where its LaTeX engine is installed, so that `make run`
# works without one; paper.tex is written either way.
PAPER_ENGINE = EXHIBITS["paper"]["engine"]
BUILD_PAPER = shutil.which(PAPER_ENGINE) is not None


wildcard_constraints:
    source="|".join(SOURCES),
    ext="|".join(sorted(set(EXTENSIONS.values()))),


def source_spec(wildcards):
    return source_specs(config)[wildcards.source]


def fetch_spec(wildcards):
    """What fetching depends on: not the licence or citation (provenance adds those)."""
    raw = config["data"]["sources"][wildcards.source]
    return {k: v for k, v in raw.items() if k not in ("licence", "citation")}


def source_inputs(wildcards):
    """A file source's raw file (so editing it reruns the fetch); nothing for URLs and APIs."""
    spec = source_spec(wildcards)
    return {"raw": spec.path} if spec.kind in FILE_KINDS else {}


def source_window(wildcards):
    """The years an API source is asked for; files do not depend on the window."""
    if source_spec(wildcards).kind != "api":
        return None
    return [config["study"]["first_year"], config["study"]["last_year"]]


def staged_sources(wildcards):
    return {name: staged_path(spec) for name, spec in source_specs(config).items()}


def source_records(suffix):
    return [staged_path(spec) + suffix for spec in source_specs(config).values()]


def provenance_inputs(wildcards):
    return {
        "records": source_records(".provenance.json"),
        "retrievals": source_records(".retrieval.json"),
        "unit_table": config["data"]["unit_table"],
        "panel": "data/processed/panel.csv",
        "quality": "results/data_quality/report.json",
    }


def cleaning_config():
    """The parts of the config the clean step depends on (a change reruns it)."""
    parts = {key: config[key] for key in ("study", "data", "units", "variables")}
    # Fetch settings change how sources are obtained, not what they hold.
    parts["data"] = {
        key: value for key, value in parts["data"].items() if key != "fetch"
    }
    # Nor do a source's licence and citation (the provenance step records them).
    parts["data"]["sources"] = {
        name: {k: v for k, v in spec.items() if k not in ("licence", "citation")}
        for name, spec in config["data"]["sources"].items()
    }
    return parts


def variable_labels():
    return {name: spec["label"] for name, spec in config["variables"].items()}


def model_labels():
    return {name: spec["label"] for name, spec in config["models"].items()}


def study_unit():
    return config["study"]["unit"]


def table_outputs(wildcards=None):
    """Every table file the paper inputs (LaTeX), in paper order."""
    return [exhibits.table_path(name, "tex") for name in exhibits.table_names()]


def figure_outputs(wildcards=None):
    """Every figure file the paper includes (PDF), in paper order."""
    return [exhibits.figure_path(name, "pdf") for name in exhibits.FIGURES]


def caption_files(wildcards=None):
    names = [*exhibits.table_names(), *exhibits.FIGURES]
    return [exhibits.caption_path(name) for name in names]


def final_outputs():
    return [
        "data/processed/panel.csv",
        "results/data_quality/report.json",
        "results/data_quality/report.md",
        "results/estimates/estimates.csv",
        "results/estimates/estimates.parquet",
        "results/estimates/residuals.parquet",
        "results/estimates/diagnostics.csv",
        "results/provenance/provenance.json",
        "results/provenance/provenance.md",
        "results/provenance/retrieval_log.json",
        *exhibits.exhibit_outputs(),
        exhibits.PAPER_TEX,
        *([exhibits.PAPER_PDF] if BUILD_PAPER else []),
        *multiverse_outputs(),
    ]


def multiverse_outputs():
    """The multiverse's results, when the study declares one (rules/multiverse.smk)."""
    if "multiverse" not in config:
        return []
    from innopanel.config.multiverse import multiverse_path

    results = [
        multiverse_path("results", name)
        for name in ("specifications.parquet", "joint_tests.csv", "null_draws.parquet")
    ]
    figures = [
        f"results/figures/{name}.{ext}"
        for name in ("specification_curve", "multiverse_choices")
        for ext in ("pdf", "png")
    ]
    tables = [
        f"results/tables/joint_tests.{ext}" for ext in ("tex", "md", "csv", "html")
    ]
    return results + figures + tables
