"""precisionrx: personalised treatment planning with evidence, versions and caveats.

The package has no import-time side effects. The public API (:mod:`precisionrx.api`)::

    import precisionrx as prx
    results = prx.pgx.call("sample.vcf")            # pharmacogene calls
    advice = prx.pgx.recommend(results[0], drugs=["clopidogrel"])
    plan = prx.plan.build(record)                   # the end-to-end treatment plan

``prx.risk``, ``prx.tumor`` and ``prx.monitor`` likewise; each module is imported on first use.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: The one place the version is written (pyproject.toml reads it: [tool.hatch.version]).
__version__ = "0.1.0"

#: Public API modules, imported on first attribute access (no import-time cost).
_API = {"pgx", "risk", "tumor", "monitor"}

__all__ = ["__version__", "monitor", "pgx", "plan", "risk", "tumor"]


def __getattr__(name: str) -> ModuleType:
    if name in _API:
        return importlib.import_module(f"precisionrx.api.{name}")
    if name == "plan":
        return importlib.import_module("precisionrx.plan")
    raise AttributeError(f"module 'precisionrx' has no attribute {name!r}")
