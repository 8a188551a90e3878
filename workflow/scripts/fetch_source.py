"""Fetch one source, verify it, and stage it with its provenance record (rule fetch_source).

The source and the fetch settings (cache, mirror, offline, timeouts) are read from the
config at run time. The rule's params are only what should rerun the fetch when it
changes: not the licence or citation, and not the fetch settings, since going offline
must not make Snakemake fetch everything again.
"""

import logging

from innopanel.config.data_specs import fetch_settings
from innopanel.config.specs import source_spec
from innopanel.data.fetch import stage
from innopanel.io import write_json
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
name = snakemake.wildcards.source
window = snakemake.params.window or [None, None]
record, retrieval = stage(
    source_spec(name, snakemake.config["data"]["sources"][name]),
    snakemake.output.staged,
    fetch_settings(snakemake.config["data"]),
    first_year=window[0],
    last_year=window[1],
)
write_json(snakemake.output.record, record)
write_json(snakemake.output.retrieval, retrieval)
logging.info(
    "staged %s from %s -> %s (sha256 %s, %s)",
    name,
    record["location"],
    snakemake.output.staged,
    record["sha256"],
    retrieval["origin"],
)
