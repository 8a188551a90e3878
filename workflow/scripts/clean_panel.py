"""Read, harmonise, merge, derive and validate the city panel (rule clean_panel).

The config is read whole at run time; the rule's params are only what should rerun
the step when it changes (not a source's licence or citation, nor the fetch settings).
"""

import logging

from innopanel.data.clean import clean_panel
from innopanel.data.quality import quality_markdown
from innopanel.io import with_data_note, write_csv, write_json, write_text
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
config = snakemake.config
staged = {name: snakemake.input[name] for name in config["data"]["sources"]}
panel, quality = clean_panel(staged, config, verify_staged_files=True)
write_csv(snakemake.output.panel, with_data_note(panel, config["data"]["data_note"]))
write_json(snakemake.output.quality_json, quality)
write_text(snakemake.output.quality_md, quality_markdown(quality))
logging.info("panel: %d rows x %d columns", *panel.shape)
