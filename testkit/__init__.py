"""Test and build helpers kept out of the runtime package: synthetic VCF builders
(``testkit.synthetic``) and the exhaustive allele audit (``testkit.exhaustive``).

Used by tests/ (pytest puts the repository root on ``sys.path``: ``pythonpath`` in
pyproject.toml), tools/ and benchmarks/ (run from the repository root).
"""
