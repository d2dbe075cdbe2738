"""precisionrx: personalised treatment planning with evidence, versions and caveats.

The package has no import-time side effects. Public entry points:

- :func:`precisionrx.engines.pgx.call_genotypes` — star-allele calling from VCF.
- :class:`precisionrx.kb.registry.KnowledgeBase` — packaged, versioned knowledge.
- :func:`precisionrx.plan.builder.build_plan` — the end-to-end treatment plan.
"""

#: The one place the version is written (pyproject.toml reads it: [tool.hatch.version]).
__version__ = "0.1.0"

__all__ = ["__version__"]
