"""Draw the specification curve and its dashboard (rule plot_specification_curve)."""

import pandas as pd

from innopanel.exhibits.specification_curve import plot_specification_curve
from innopanel.exhibits.steps import figure_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_specification_curve,
    pd.read_parquet(snakemake.input.specifications),
    snakemake.output,
    snakemake.params,
)
