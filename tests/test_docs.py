"""Keep the docs honest: every JSON field, caveat code, error code and command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from precisionrx.errors import ALL_ERRORS
from precisionrx.plan.model import TreatmentPlan
from precisionrx.records import GeneCall, PositionSummary

DOCS = Path(__file__).resolve().parents[1] / "docs"
SRC = Path(__file__).resolve().parents[1] / "src" / "precisionrx"


def test_every_gene_call_field_documented() -> None:
    text = (DOCS / "cli" / "pgx.md").read_text()
    for name in GeneCall.model_fields:
        assert f"`{name}`" in text or f"`positions.{name}`" in text, name
    for name in PositionSummary.model_fields:
        assert f"positions.{name}" in text, name


def test_every_caveat_code_documented() -> None:
    text = (DOCS / "cli" / "pgx.md").read_text()
    codes = set()
    for path in (SRC / "engines" / "pgx").glob("*.py"):
        codes |= set(re.findall(r'code="([a-z0-9_]+)"', path.read_text()))
    codes |= {"no_data"}
    missing = sorted(c for c in codes if f"`{c}`" not in text)
    assert not missing, missing


def test_every_plan_field_documented() -> None:
    text = (DOCS / "cli" / "plan.md").read_text()
    for name in TreatmentPlan.model_fields:
        assert f"`{name}`" in text, name


def test_every_error_code_documented() -> None:
    text = (DOCS / "errors.md").read_text()
    for cls in ALL_ERRORS:
        row = next((ln for ln in text.splitlines() if f"| {cls.code} |" in ln), None)
        assert row is not None, cls.code
        assert f"| {cls.exit_code} |" in row and cls.__name__ in row


def _commands() -> list[str]:
    from precisionrx.cli import _register, app

    _register()
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    return sorted({*names, *(g.name or "" for g in app.registered_groups)} - {""})


def test_every_registered_command_has_a_page() -> None:
    commands = _commands()
    assert {"pgx", "plan", "demo", "kb", "risk", "prs", "tumor"} <= set(commands)
    missing = [c for c in commands if not (DOCS / "cli" / f"{c}.md").is_file()]
    assert not missing, missing


def test_readme_has_the_two_setup_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    first = readme.index("pip install . && precisionrx demo")
    second = readme.index('pip install ".[test]" && pytest')
    assert first < second
