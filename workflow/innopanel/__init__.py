"""innopanel: a reproducible panel study of innovation output.

The package is laid out in wings that follow the files the workflow passes between
rules (see the README's layout section):

- ``innopanel.config``          the schema, its defaults, typed specs and meaning checks
- ``innopanel.data``            raw files in, ``panel.csv`` and the quality report out
- ``innopanel.econometrics``    ``panel.csv`` in; estimates, diagnostics, residuals out
- ``innopanel.exhibits``        tables, figures and the paper
- ``innopanel.reproducibility`` provenance, the reference manifest and benchmarks
- ``innopanel.synthetic``       the demo data-generating process; never used by the pipeline

On the ground floor, which every wing may use: ``innopanel.io`` (atomic writing),
``innopanel.vocabulary`` (shared words) and ``innopanel.runlog`` (run logging).
Submodules are imported explicitly, so a light step (fetching) does not pay for heavy
imports (pandas, linearmodels, matplotlib).
"""

__version__ = "0.1.0"
