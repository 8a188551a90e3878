"""The econometrics wing: ``panel.csv`` in; estimates, diagnostics and residuals out.

It imports only the ground floor and :mod:`innopanel.config`.
"""
