"""Record the provenance of the run: sources, software, config, commit (rule write_provenance)."""

import json
import logging
from pathlib import Path

from innopanel.io import write_json, write_text
from innopanel.reproducibility.provenance import (
    build_provenance,
    provenance_markdown,
    retrieval_log,
)
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])


def read_all(paths):
    return [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]


provenance = build_provenance(
    read_all(snakemake.input.records),
    snakemake.params.config,
    snakemake.params.git,
    {
        "unit_table": snakemake.input.unit_table,
        "panel": snakemake.input.panel,
        "data_quality_report": snakemake.input.quality,
    },
)
write_json(snakemake.output.provenance, provenance)
write_text(snakemake.output.markdown, provenance_markdown(provenance))
write_json(snakemake.output.retrieval_log, retrieval_log(read_all(snakemake.input.retrievals)))
logging.info("provenance of %d source(s) written", len(provenance["sources"]))
