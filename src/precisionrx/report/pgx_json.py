"""``precisionrx pgx`` JSON and TSV renderers (field contract in docs/cli/pgx.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from precisionrx import __version__
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import SampleResult

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
    return _document(results, kb).model_dump_json(indent=2) + "\n"


TSV_COLUMNS = [
    "input", "sample", "gene", "called", "diplotypes", "diplotype_probabilities", "phenotype",
    "activity_score", "source", "positions_found", "positions_total", "positions_missing",
    "reference_filled", "caveats", "diplotype_phenotypes", "diplotype_activity_scores",
]  # fmt: skip


def render_tsv(results: list[SampleResult]) -> str:
    lines = ["\t".join(TSV_COLUMNS)]
    for r in results:
        for g in r.genes:
            row = [
                r.input,
                r.sample,
                g.gene,
                "true" if g.called else "false",
                ";".join(g.diplotypes),
                ";".join(str(p) for p in g.diplotype_probabilities or []),
                g.phenotype or "",
                g.activity_score or "",
                g.source,
                str(g.positions.found),
                str(g.positions.total),
                ";".join(g.positions.missing),
                str(g.positions.reference_filled),
                ";".join(c.code for c in g.caveats),
                # Each tied diplotype's own phenotype / activity score, in `diplotypes` order.
                ";".join(c.phenotype or "" for c in g.diplotype_calls) or g.phenotype or "",
                ";".join(c.activity_score or "" for c in g.diplotype_calls)
                or g.activity_score
                or "",
            ]
            lines.append("\t".join(x.replace("\t", " ") for x in row))
    return "\n".join(lines) + "\n"
