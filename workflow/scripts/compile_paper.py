"""Compile the paper with the configured LaTeX engine (rule compile_paper)."""

import logging

from innopanel.exhibits.paper import compile_paper
from innopanel.runlog import log_to_file

stream = log_to_file(snakemake.log[0])
compile_paper(snakemake.input.tex, snakemake.output.pdf, snakemake.params.engine, engine_log=stream)
logging.info("compiled %s with %s", snakemake.output.pdf, snakemake.params.engine)
