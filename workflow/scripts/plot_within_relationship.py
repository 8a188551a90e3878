"""Draw the partial regression of the headline model on one regressor, with its fitted
line and band (rule plot_within_relationship)."""

import pandas as pd

from innopanel.exhibits.frames import unit_names
from innopanel.exhibits.relationship_figures import plot_within_relationship
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = dict(snakemake.params.items())
params["estimates"] = read_input(snakemake.input.estimates)
params["names"] = unit_names(read_input(snakemake.input.panel))
figure_step(
    plot_within_relationship,
    pd.read_parquet(snakemake.input.partial),
    snakemake.output,
    params,
)
