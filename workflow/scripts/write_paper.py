"""Write the paper's LaTeX source: the study's text, then every table and figure
(rule write_paper)."""

import logging

from innopanel.exhibits.narrative import study_narrative
from innopanel.exhibits.paper import write_paper
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
write_paper(
    snakemake.output.tex,
    snakemake.params.config,
    snakemake.params.tables,
    snakemake.params.figures,
    narrative=study_narrative(
        snakemake.params.config, snakemake.input.estimates, snakemake.input.quality
    ),
)
logging.info("wrote %s", snakemake.output.tex)
