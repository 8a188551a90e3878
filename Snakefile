# innopanel: a panel study of innovation output, one study per config.
# `snakemake --cores all --config study=<name>` builds every exhibit of the study in
# config/studies/<name>.yaml under results/<name>/ (without --config: demo_cities); see
# README.md for the rule-to-exhibit map.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# Steps that only copy, stage or check local files run where Snakemake runs, on every
# executor: on a cluster each would otherwise cost a job's scheduling for a second of work.
localrules:
    fetch_source,


rule all:
    default_target: True
    input:
        final_outputs(),


include: "workflow/rules/fetch.smk"
include: "workflow/rules/clean.smk"
include: "workflow/rules/estimate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/runs.smk"


# Every defensible specification, when the study declares a multiverse.
if "multiverse" in config:

    include: "workflow/rules/multiverse.smk"


# The headline under each vintage policy, when the study declares the vintage table.
if WITH_VINTAGES:

    include: "workflow/rules/vintages.smk"
