"""The docstring examples of the public API run (``pytest --doctest-modules`` equivalent for the
installed package): an example that stops working fails here."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

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
    "precisionrx.engines.mental_health.scoring",
    "precisionrx.engines.mental_health.section",
    "precisionrx.service.routes_plans",
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


def test_the_api_and_the_command_name_the_same_input(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    import precisionrx as prx

    table = tmp_path / "people.csv"
    table.write_text(
        "id,age,sex,sbp,bp_treated,total_chol,hdl_chol,diabetes,smoker,statin,egfr,bmi\n"
        "p1,50,female,160,1,200,45,1,0,0,90,35\n"
    )
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "risk", str(table),
         "--format", "json", "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(out.read_text())["provenance"]
    api = prx.risk.compute(table).provenance
    assert api is not None and cli["input_sha256"] == api.input_sha256
