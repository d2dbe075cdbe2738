"""The JSON Schemas in docs/schema are generated from the public result models and current."""

from __future__ import annotations

from pathlib import Path

from precisionrx.api.schemas import PUBLIC_RESULTS, schema_text

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schema"
REGENERATE = "regenerate with: python -m precisionrx.api.schemas docs/schema"


def test_every_public_result_has_a_current_schema() -> None:
    stale = [
        name
        for name, model in PUBLIC_RESULTS.items()
        if not (SCHEMAS / f"{name}.json").is_file()
        or (SCHEMAS / f"{name}.json").read_text(encoding="utf-8") != schema_text(model)
    ]
    assert not stale, f"schemas missing or out of date: {stale}; {REGENERATE}"


def test_no_schema_without_a_model() -> None:
    extra = sorted(p.stem for p in SCHEMAS.glob("*.json") if p.stem not in PUBLIC_RESULTS)
    assert not extra, f"schemas of no public model: {extra}; {REGENERATE}"
