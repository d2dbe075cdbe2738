"""Dependencies point downward: cli/api/service -> plan/report/storage -> engines ->
kb/io/security -> records."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "precisionrx"
RANK = {
    "records": 0, "errors": 0, "io": 1, "kb": 1, "security": 1, "engines": 2, "plan": 3,
    "report": 3, "storage": 3, "cli": 4, "api": 4, "service": 4, "cohort": 4,
}  # fmt: skip


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


#: What an engine must not do: open files, spawn processes or reach the network. Engines take
#: records (read by io/) and the knowledge base (read by kb/), and return results.
_IO_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "read_germline",
             "VcfFile", "ProcessPoolExecutor", "urlopen", "mkdir", "rmdir",
             "unlink", "read_csv", "scan_csv", "read_parquet", "write_csv",
             "write_parquet"}  # fmt: skip
# Threads for array work (numpy releases the GIL) are allowed: no I/O, no processes.
_IO_MODULES = ("multiprocessing", "concurrent.futures.process", "urllib", "socket", "requests",
               "httpx", "subprocess")  # fmt: skip


def _io_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            in_memory = name.startswith("write_") and not node.args and not node.keywords
            if name in _IO_CALLS and not in_memory:
                found.append(f"{path.name}:{node.lineno} {name}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            mods = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [
                f"{path.name}:{node.lineno} import {m}" for m in mods if m.startswith(_IO_MODULES)
            ]
    return found


def test_engines_open_no_files() -> None:
    """Engines are pure: no file, process-pool or network I/O (the caller reads and
    parallelises)."""
    uses = [u for path in sorted((SRC / "engines").rglob("*.py")) for u in _io_uses(path)]
    assert not uses, uses


def test_nothing_outside_kb_builds_paths_into_the_data() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "kb"):
            continue
        text = path.read_text()
        for needle in ("kb.root", ".root /", "data_root("):
            if needle in text:
                offenders.append(f"{path.relative_to(SRC)}: {needle}")
    assert not offenders, offenders
