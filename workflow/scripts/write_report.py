"""Write the study's self-contained HTML report (rule write_report)."""

import logging

from innopanel.exhibits.narrative import study_narrative
from innopanel.exhibits.report import ReportInputs, write_report
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
config, files = snakemake.params.config, snakemake.input
write_report(
    snakemake.output.html,
    config,
    ReportInputs(
        tables=dict(zip(snakemake.params.tables, files.tables, strict=True)),
        figures=dict(zip(snakemake.params.figures, files.figures, strict=True)),
        data_quality=files.quality_md,
        model_coverage=files.coverage,
        provenance=files.provenance,
        unit_table=files.unit_table,
    ),
    study_narrative(config, files.estimates, files.quality),
)
logging.info("wrote %s", snakemake.output.html)
