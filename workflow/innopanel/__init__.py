"""innopanel: a reproducible city-panel study of innovation output.

Submodules each do one job and are imported explicitly, so that a light step
(fetching) does not pay for heavy imports (pandas, linearmodels, matplotlib):

- ``innopanel.config``   study configuration checks (model terms, cities, sources)
- ``innopanel.io``       atomic, deterministic file writing
- ``innopanel.fetch``    staging raw sources with SHA256 verification
- ``innopanel.cleaning`` reading, harmonising, merging and validating the panel
- ``innopanel.demo``     the synthetic demo panel's data-generating process
- ``innopanel.models``   panel-regression estimation and the Hausman test
- ``innopanel.tables``   LaTeX regression tables
- ``innopanel.figures``  seaborn figures saved with fixed metadata
"""

__version__ = "0.1.0"
