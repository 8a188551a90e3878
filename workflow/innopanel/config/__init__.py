"""The study's configuration: the schema, its defaults, typed specs and meaning checks.

Every wing may import this; it imports only the ground floor.
"""
