"""Write which units each model uses and why the others fall out (rule model_coverage):
data_quality/model_coverage.json and .md."""

import pandas as pd

from innopanel.config.specs import model_specs
from innopanel.econometrics.coverage import coverage_markdown, model_coverage
from innopanel.io import write_json, write_text
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
models = model_specs({"study": snakemake.params.window, "models": snakemake.params.models})
report = model_coverage(panel, models, snakemake.params.log_of, unit=snakemake.params.unit)
write_json(snakemake.output.json, report)
write_text(snakemake.output.md, coverage_markdown(report))
