"""The synthetic wing: the demo panel's data-generating process, the own-data template
and the Monte Carlo. It may use the other wings; the pipeline never imports it.
"""
