"""The reproducibility wing: provenance, the reference manifest and benchmarking.

It imports only the ground floor and :mod:`innopanel.config`.
"""
