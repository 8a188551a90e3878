"""The reproducibility wing: provenance, the reference manifest with its comparison
policy (exact, numeric within tolerance, figures as renderings), and benchmarking.

It imports only the ground floor and :mod:`innopanel.config`.
"""
