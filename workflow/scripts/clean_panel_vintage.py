"""Clean the panel under one vintage policy, for the vintage table (rule clean_panel_vintage).

The same step as clean_panel, with data.vintages.policy replaced by the {vintage}
wildcard; its panel and report feed only the vintage table.
"""

import logging

from innopanel.data.clean import clean_panel
from innopanel.io import with_data_note, write_csv, write_json
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
config = snakemake.config
staged = {name: snakemake.input[name] for name in config["data"]["sources"]}
panel, quality = clean_panel(
    staged, config, vintage_policy=snakemake.wildcards.vintage, verify_staged_files=True
)
write_csv(snakemake.output.panel, with_data_note(panel, config["data"]["data_note"]))
write_json(snakemake.output.quality_json, quality)
logging.info("panel (%s): %d rows x %d columns", snakemake.wildcards.vintage, *panel.shape)
