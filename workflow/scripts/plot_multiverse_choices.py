"""Draw the median focal estimate by choice value (rule plot_multiverse_choices)."""

import pandas as pd

from innopanel.config.multiverse import multiverse_spec
from innopanel.exhibits.specification_curve import plot_choice_medians
from innopanel.exhibits.steps import figure_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_choice_medians,
    pd.read_parquet(snakemake.input.specifications),
    snakemake.output,
    {
        "multiverse": multiverse_spec(snakemake.params.settings),
        "footer": snakemake.params.footer,
    },
)
