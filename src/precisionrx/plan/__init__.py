"""The treatment plan: composes every engine's result for one patient.

``build(record)`` (also ``precisionrx.plan.build`` / ``prx.plan.build``) is the entry point; it
is imported on first use so that importing the plan model stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build"]


def __getattr__(name: str) -> Any:
    if name == "build":
        from precisionrx.plan.builder import build

        return build
    raise AttributeError(f"module 'precisionrx.plan' has no attribute {name!r}")
