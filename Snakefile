# innopanel: innovation output, R&D intensity, talent and open platforms in a city panel.
# `snakemake --cores all` builds every exhibit; see README.md for the rule-to-exhibit map.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


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
# Every defensible specification, when the study declares a multiverse.
if "multiverse" in config:

    include: "workflow/rules/multiverse.smk"
