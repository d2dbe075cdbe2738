"""``precisionrx pgx`` JSON and TSV renderers (field contract in docs/cli/pgx.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from precisionrx import __version__
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import SampleResult
from precisionrx.report.writers import model_json, tsv_text

DECISION_SUPPORT = (
    "Decision support only: results must be reviewed by a qualified clinician together with "
    "the patient's full clinical picture. Not a diagnosis."
)


class PgxDocument(BaseModel):
    precisionrx_version: str
    notice: str
    knowledge_bases: list[dict[str, str]]
    results: list[SampleResult]


def _document(results: list[SampleResult], kb: KnowledgeBase) -> PgxDocument:
    return PgxDocument(
        precisionrx_version=__version__,
        notice=DECISION_SUPPORT,
        knowledge_bases=kb.versions(),
        results=results,
    )


def pgx_document(results: list[SampleResult], kb: KnowledgeBase) -> dict[str, Any]:
    return _document(results, kb).model_dump(mode="json")


def render_json(results: list[SampleResult], kb: KnowledgeBase) -> str:
    """Serialise with pydantic's compiled encoder (fast for biobank-sized outputs)."""
    return model_json(_document(results, kb))


TSV_COLUMNS = [
    "input", "sample", "gene", "called", "diplotypes", "diplotype_probabilities", "phenotype",
    "activity_score", "source", "positions_found", "positions_total", "positions_missing",
    "reference_filled", "caveats", "diplotype_phenotypes", "diplotype_activity_scores",
]  # fmt: skip


def render_tsv(results: list[SampleResult]) -> str:
    rows = (
        [
            r.input,
            r.sample,
            g.gene,
            g.called,
            ";".join(g.diplotypes),
            ";".join(str(p) for p in g.diplotype_probabilities or []),
            g.phenotype or "",
            g.activity_score or "",
            g.source,
            g.positions.found,
            g.positions.total,
            ";".join(g.positions.missing),
            g.positions.reference_filled,
            ";".join(c.code for c in g.caveats),
            # Each tied diplotype's own phenotype / activity score, in `diplotypes` order.
            ";".join(c.phenotype or "" for c in g.diplotype_calls) or g.phenotype or "",
            ";".join(c.activity_score or "" for c in g.diplotype_calls) or g.activity_score or "",
        ]
        for r in results
        for g in r.genes
    )
    return tsv_text(TSV_COLUMNS, rows)
