"""precisionrx: personalised treatment planning with evidence, versions and caveats.

The package has no import-time side effects. Public entry points:

- :func:`precisionrx.engines.pgx.call_genotypes` — star-allele calling from VCF.
- :class:`precisionrx.kb.registry.KnowledgeBase` — packaged, versioned knowledge.
- :func:`precisionrx.plan.builder.build_plan` — the end-to-end treatment plan.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("precisionrx")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
