"""Draw the specification curve and its dashboard (rule plot_specification_curve)."""

import pandas as pd

from innopanel.config.multiverse import multiverse_spec
from innopanel.exhibits.specification_curve import plot_specification_curve
from innopanel.exhibits.steps import figure_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_specification_curve,
    pd.read_parquet(snakemake.input.specifications),
    snakemake.output,
    {
        "null_curve": pd.read_parquet(snakemake.input.null_curve),
        "multiverse": multiverse_spec(snakemake.params.settings),
        "footer": snakemake.params.footer,
    },
)
