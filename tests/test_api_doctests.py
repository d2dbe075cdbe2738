"""The docstring examples of the public API run (``pytest --doctest-modules`` equivalent for the
installed package): an example that stops working fails here."""

from __future__ import annotations

import doctest
import importlib

import pytest

#: Modules whose docstring examples are part of the documentation.
DOCUMENTED = [
    "precisionrx.api.pgx",
    "precisionrx.api.risk",
    "precisionrx.api.tumor",
    "precisionrx.api.monitor",
    "precisionrx.plan.builder",
    "precisionrx.kb.registry",
    "precisionrx.records.evidence",
]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    found = doctest.DocTestFinder().find(module)
    assert any(t.examples for t in found), f"{name} has no docstring example"
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert failures == 0


def test_public_api_is_reachable_from_the_package() -> None:
    import precisionrx as prx

    assert callable(prx.pgx.call) and callable(prx.pgx.recommend)
    assert callable(prx.plan.build)
    assert callable(prx.risk.compute) and callable(prx.tumor.analyse)
    assert callable(prx.monitor.metrics) and callable(prx.monitor.vitals)
    with pytest.raises(AttributeError):
        _ = prx.no_such_domain  # type: ignore[attr-defined]
