"""Rank every unit on one variable in one year (rule plot_ranking)."""

from innopanel.exhibits.panel_figures import plot_ranking
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(plot_ranking, read_input(snakemake.input.panel), snakemake.output, snakemake.params)
