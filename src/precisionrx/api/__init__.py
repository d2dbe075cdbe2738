"""The public Python API: one documented entry point per domain.

``import precisionrx as prx`` then ``prx.pgx``, ``prx.risk``, ``prx.tumor``, ``prx.monitor`` and
``prx.plan`` (each imported on first use). These functions read inputs through ``io/``,
call the pure engine of their domain and return its typed, JSON-serialisable result; the
command line calls the same functions. Everything not named here is private by convention.
"""
