import shutil
from pathlib import Path

from innopanel.config import exhibits, unit_labels
from innopanel.config.planning import check_plan
from innopanel.config.rule_params import Digested
from innopanel.config.narrative import true_coefficients
from innopanel.config.study import load_study, study_unit
from innopanel.reproducibility.provenance import git_revision
from innopanel.config.sources import EXTENSIONS, FILE_KINDS, staged_path
from innopanel.config.specs import source_specs
from innopanel.config.data_specs import variable_specs
from innopanel.data.staging import study_input_files
from innopanel.io import inherited_mode, keep_outputs_private

# The study this run builds: `--config study=<name>` (else the default study) names
# config/studies/<name>.yaml. It is checked at start-up, before any job runs: the schema
# catches misspelled keys and wrong types, with_defaults fills the schema's defaults
# once, check_config catches meaning (unknown variables, units, models). Snakemake's
# config is then REPLACED by it, so nothing from elsewhere is merged in; --configfile
# and any other --config key are refused with the command to use (innopanel.config.study).
RUN, STUDY_CONFIG = load_study(
    config, list(workflow.overwrite_configfiles), workflow.basedir
)
config.clear()
config.update(STUDY_CONFIG)
# What the config and the unit table settle (the jackknife's cap, too few clusters or
# years for a model) is refused now, not minutes into a run (innopanel.config.planning).
check_plan(config, RUN.config_file)
STUDY = RUN.study
PATHS = RUN.paths
# Each source's spec, parsed once: input functions ask for them hundreds of times a plan.
SOURCE_SPECS = source_specs(config)

# A source (or unit table) not everyone may read makes every file the run writes at most
# as readable as it is (the staged copy, panel, reports, logs, exhibits), through the
# umask its jobs inherit; the data-quality report says so (innopanel.data.staging).
keep_outputs_private(
    inherited_mode(
        study_input_files(SOURCE_SPECS.values(), config["data"]["unit_table"])
    )
)

SOURCES = list(config["data"]["sources"])
EXHIBITS = config["exhibits"]
# A synthetic study's true coefficients, which its tables and coefficient figure show.
TRUE_COEFFICIENTS = true_coefficients(config)
# A study that declares a multiverse also gets its curve, choices figure and joint tests.
WITH_MULTIVERSE = "multiverse" in config
# A study that declares exhibits.vintage_table also cleans its panel under each vintage
# policy and tabulates the headline under each (rules/vintages.smk).
WITH_VINTAGES = "vintage_table" in EXHIBITS
# The paper is compiled only where its LaTeX engine is installed, so that `make run`
# works without one; paper.tex is written either way.
PAPER_ENGINE = EXHIBITS["paper"]["engine"]
BUILD_PAPER = shutil.which(PAPER_ENGINE) is not None


wildcard_constraints:
    source="|".join(SOURCES),
    ext="|".join(sorted(set(EXTENSIONS.values()))),


def source_spec(wildcards):
    return SOURCE_SPECS[wildcards.source]


def fetch_spec(wildcards):
    """What fetching depends on: not the licence or citation (provenance adds those)."""
    raw = config["data"]["sources"][wildcards.source]
    return Digested(
        f"data.sources.{wildcards.source}",
        {k: v for k, v in raw.items() if k not in ("licence", "citation")},
    )


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
    return {name: staged_path(spec, PATHS) for name, spec in SOURCE_SPECS.items()}


def source_records(suffix):
    return [staged_path(spec, PATHS) + suffix for spec in SOURCE_SPECS.values()]


def provenance_inputs(wildcards):
    return {
        "records": source_records(".provenance.json"),
        "retrievals": source_records(".retrieval.json"),
        "unit_table": config["data"]["unit_table"],
        "panel": PATHS.panel,
        "quality": PATHS.result("data_quality/report.json"),
    }


def files_read():
    """The files the run reads and does not build: the study's config, its unit table and
    each file source's raw file (provenance's dirty flag covers them)."""
    specs = SOURCE_SPECS.values()
    raw = [spec.path for spec in specs if spec.kind in FILE_KINDS]
    return [RUN.config_file, config["data"]["unit_table"], *raw]


def study_settings():
    """The study section without its text (study.narrative), which is prose for the
    paper and the report: editing it reruns those two, not the steps that compute."""
    return {key: value for key, value in config["study"].items() if key != "narrative"}


def cleaning_config():
    """The parts of the config the clean step depends on (a change reruns it)."""
    parts = Digested(
        "the clean step's config",
        {key: config[key] for key in ("study", "data", "units", "variables")},
    )
    parts["study"] = study_settings()
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
    return Digested("variable labels", unit_labels.variable_labels(config))


def model_labels():
    return Digested(
        "model labels", {name: spec["label"] for name, spec in config["models"].items()}
    )


def logged_variables():
    """Each log variable and the variable it is the log of (to count the zeros it drops)."""
    return {
        name: spec.derivation.inputs[0]
        for name, spec in variable_specs(config["variables"]).items()
        if spec.derivation is not None and spec.derivation.operation == "log"
    }


def unit_noun():
    """The unit's singular and plural nouns, as every exhibit and message names units."""
    return study_unit(config)


def table_outputs(wildcards=None):
    """Every table file the paper inputs (LaTeX), in paper order."""
    return [
        PATHS.table(name, "tex")
        for name in exhibits.table_names(WITH_MULTIVERSE, WITH_VINTAGES)
    ]


def figure_outputs(wildcards=None):
    """Every figure file the paper includes (PDF), in paper order."""
    return [
        PATHS.figure(name, "pdf") for name in exhibits.figure_names(WITH_MULTIVERSE)
    ]


def caption_files(wildcards=None):
    names = [
        *exhibits.table_names(WITH_MULTIVERSE, WITH_VINTAGES),
        *exhibits.figure_names(WITH_MULTIVERSE),
    ]
    return [exhibits.caption_path(name) for name in names]


def final_outputs():
    return [
        PATHS.panel,
        *[
            PATHS.result(name)
            for name in (
                "data_quality/report.json",
                "data_quality/report.md",
                "data_quality/model_coverage.json",
                "data_quality/model_coverage.md",
                "estimates/estimates.csv",
                "estimates/estimates.parquet",
                "estimates/residuals.parquet",
                "estimates/diagnostics.csv",
                "provenance/provenance.json",
                "provenance/provenance.md",
                "provenance/retrieval_log.json",
            )
        ],
        *exhibits.exhibit_outputs(PATHS, WITH_MULTIVERSE, WITH_VINTAGES),
        PATHS.paper_tex,
        *([PATHS.paper_pdf] if BUILD_PAPER else []),
        # The study's one-page HTML report (rule write_report, rules/paper.smk).
        PATHS.result("report.html"),
        *multiverse_outputs(),
    ]


def multiverse_outputs():
    """The multiverse's results, when the study declares one (rules/multiverse.smk)."""
    if not WITH_MULTIVERSE:
        return []
    from innopanel.config.multiverse import multiverse_path

    return [
        multiverse_path(PATHS.results, name)
        for name in (
            "specifications.parquet",
            "joint_tests.csv",
            "null_draws.parquet",
            "null_curve.parquet",
        )
    ]
