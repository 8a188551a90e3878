"""The exhibits wing: tables, figures and the paper, made from the panel and estimates.

It imports only the ground floor and :mod:`innopanel.config`.
"""
