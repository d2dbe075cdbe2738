"""The pharmacogenomics entry point: germline genotypes (read by ``io``) -> typed results.

``analyse`` calls every requested gene for every sample, applies outside calls, and (unless
genotypes only are asked for) adds the guideline recommendations, the medication review and
phenoconversion. The command line, the plan and the public API (:mod:`precisionrx.api.pgx`)
all go through it; it opens no file.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from precisionrx.engines.pgx.caller import CallOptions, call_genotypes
from precisionrx.engines.pgx.policy import AUTO_RECOMMEND_MAX
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.io.germline import GermlineGenotypes
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Medication, PatientRecord, SampleResult


class PgxRun(BaseModel):
    """Every sample result of one run, and notes for the person running it."""

    results: list[SampleResult] = Field(default_factory=list)
    #: Messages about the run itself (e.g. recommendations skipped for a cohort).
    notes: list[str] = Field(default_factory=list)


def recommendation_policy(
    n_results: int, asked: bool, genotypes_only: bool
) -> tuple[bool, str | None]:
    """Whether to add recommendations, and the note explaining a skip: always when asked
    (``--recommendations``, medications or drugs), never with ``genotypes_only``, and by
    default only up to :data:`AUTO_RECOMMEND_MAX` sample results."""
    if genotypes_only:
        return False, None
    if asked or n_results <= AUTO_RECOMMEND_MAX:
        return True, None
    return False, (
        f"{n_results} sample results: recommendations skipped (cohort run); pass "
        "--recommendations, --medications or --drug to add them"
    )


def analyse(
    genotypes: Sequence[GermlineGenotypes],
    kb: KnowledgeBase,
    options: CallOptions | None = None,
    *,
    outside: Sequence[OutsideCall] = (),
    medications: Sequence[Medication] | None = None,
    drugs: Sequence[str] | None = None,
    recommendations: bool = False,
    genotypes_only: bool = False,
    patient: PatientRecord | None = None,
) -> PgxRun:
    """Calls (and recommendations) for every sample of every input."""
    options = options or CallOptions()
    results: list[SampleResult] = []
    for g in genotypes:
        results += call_genotypes(g, kb, options, outside)
    asked = recommendations or medications is not None or bool(drugs)
    add, note = recommendation_policy(len(results), asked, genotypes_only)
    if add:
        cache: dict[tuple[object, ...], SampleResult] = {}
        meds = list(medications) if medications is not None else None
        wanted = list(drugs) if drugs else None
        results = [prescribed(kb, r, meds, wanted, cache, patient) for r in results]
    return PgxRun(results=results, notes=[note] if note else [])
