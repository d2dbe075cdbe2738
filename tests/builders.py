"""Test builders (after PharmCAT's TestVcfBuilder)."""

from testkit.synthetic import VcfBuilder

__all__ = ["VcfBuilder"]
