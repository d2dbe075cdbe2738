"""Tumour reports as tests read them: the engine's typed report, checked to round-trip through
JSON, returned as the JSON document ``precisionrx tumor`` writes."""

from __future__ import annotations

from functools import cache
from typing import Any

from precisionrx.engines.oncology.api import TumourSettings, analyse_tumour
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.oncology import TumourReport
from precisionrx.records.tumor import Alteration


@cache
def shared_kb() -> KnowledgeBase:
    """One knowledge base for the tests of a process (its caches are built once)."""
    return KnowledgeBase()


def tumour_document(
    alterations: list[Alteration],
    tumor_type: str | None = None,
    build: str | None = None,
    kb: KnowledgeBase | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """The engine's report as its JSON document (what ``precisionrx tumor`` writes)."""
    report = analyse_tumour(
        alterations,
        kb or shared_kb(),
        TumourSettings(tumor_type=tumor_type, genome_build=build, **settings),
    )
    assert TumourReport.model_validate_json(report.model_dump_json()) == report
    return report.model_dump(mode="json")
