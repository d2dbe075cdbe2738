"""Dependencies point downward: cli/api -> plan/report -> engines -> kb/io -> records."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "precisionrx"
RANK = {"records": 0, "errors": 0, "io": 1, "kb": 1, "engines": 2, "plan": 3, "report": 3, "cli": 4}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("precisionrx.")
        ):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("precisionrx."):
                    out.add(alias.name.split(".")[1])
    return out


@pytest.mark.parametrize("package", sorted(k for k in RANK if (SRC / k).is_dir()))
def test_no_upward_imports(package: str) -> None:
    for path in (SRC / package).rglob("*.py"):
        for target in imported_packages(path):
            if target in RANK and target != package:
                assert RANK[target] <= RANK[package], f"{path.name} imports {target}"


def test_no_import_time_side_effects() -> None:
    import subprocess
    import sys

    code = (
        "import logging, sys; import precisionrx, precisionrx.cli, precisionrx.engines.pgx.caller;"
        "assert sys.excepthook is sys.__excepthook__; assert not logging.getLogger().handlers"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
