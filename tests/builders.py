"""Test builders (after PharmCAT's TestVcfBuilder)."""

from precisionrx.io.synthetic import VcfBuilder

__all__ = ["VcfBuilder"]
