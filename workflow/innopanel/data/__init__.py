"""The data wing: raw files in, ``panel.csv`` and the data-quality report out.

It imports only the ground floor and :mod:`innopanel.config`.
"""
