"""Fetch one source, verify it, and stage it with its provenance record (rule fetch_source).

Fetch settings (cache, mirror, offline, timeouts) are read from the config at run time,
not passed as params: going offline must not make Snakemake fetch everything again.
"""

import logging

from innopanel.data.fetch import fetch_settings, stage
from innopanel.io import write_json
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
name = snakemake.wildcards.source
window = snakemake.params.window or [None, None]
record, retrieval = stage(
    name,
    snakemake.params.spec,
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
