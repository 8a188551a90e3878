"""innopanel: a reproducible city-panel study of innovation output.

Submodules each do one job and are imported explicitly, so that a light step
(fetching) does not pay for heavy imports (pandas, linearmodels, matplotlib):

- ``innopanel.config``   study configuration checks (model terms, cities, sources)
- ``innopanel.schema``   config errors against the JSON schema, explained by key
- ``innopanel.sources``  what a declared source is (kind, location, staged name)
- ``innopanel.io``       atomic, deterministic file writing
- ``innopanel.fetch``    fetching and staging sources: checksums, cache, HTTPS, archives
- ``innopanel.worldbank`` the World Bank indicators API adapter
- ``innopanel.readers``  CSV, Excel, parquet and JSON sources as numbered text rows
- ``innopanel.cleaning`` reading, harmonising, merging and validating the panel
- ``innopanel.provenance`` what a run used: sources, software, config, commit
- ``innopanel.template`` the own-data template and example workbook
- ``innopanel.demo``     the synthetic demo panel's data-generating process
- ``innopanel.models``   panel-regression estimation and the Hausman test
- ``innopanel.tables``   the table model, rendered as LaTeX, Markdown, CSV and HTML
- ``innopanel.estimate_tables`` regression (main, robustness) and diagnostics tables
- ``innopanel.summary_tables``  descriptive-statistics and correlation tables
- ``innopanel.figures``  figure theme and saving; trends, within relationship, coefficients
- ``innopanel.panel_figures``   focal unit against peers, ranking, correlation heatmap
- ``innopanel.residual_figures`` residual diagnostics of one model
- ``innopanel.exhibits`` the list of exhibits and the checks of the ``exhibits`` config
- ``innopanel.paper``    the paper that inputs every exhibit, and its compilation
"""

__version__ = "0.1.0"
