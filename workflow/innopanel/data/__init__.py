"""The data wing: raw files in, ``panel.csv`` and the data-quality report out.

Fetching: ``fetch`` stages one source, bringing bytes in through ``transport`` (verified
copies, HTTPS downloads) or the API adapter ``worldbank``. Cleaning: ``clean`` wires
``readers`` (file formats), ``extraction`` (headers, units, numbers), ``unit_names``,
``panel_rules`` (duplicates, window, interpolation, balance, schema), ``derivations``
and ``quality`` (the data-quality report). It imports only the ground floor and
:mod:`innopanel.config`.
"""
