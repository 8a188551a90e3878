"""Write the study's self-contained HTML report (rule write_report)."""

import logging

from innopanel.config.study import run_of
from innopanel.exhibits.narrative import study_narrative
from innopanel.exhibits.report import report_inputs, write_report
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
config = snakemake.params.config
write_report(
    snakemake.output.html,
    config,
    report_inputs(
        run_of(config).paths,
        snakemake.params.tables,
        snakemake.params.figures,
        snakemake.input.unit_table,
    ),
    study_narrative(config, snakemake.input.estimates, snakemake.input.quality),
)
logging.info("wrote %s", snakemake.output.html)
