"""Polygenic scores: the one entry point of the PRS engine.

``score_genotypes(scorefiles, genotypes, kb, settings) -> PrsResult`` scores every sample of an
opened VCF with each scoring file (read by :func:`precisionrx.io.pgs_scorefile.read_scorefile`)
after checking that both are on the same genome build. It opens no file: the caller opens the
VCF (:class:`~precisionrx.io.vcf.VcfFile`, a streaming reader) and the optional reference VCF,
and the scorer reads from them only the positions it needs. ``precisionrx prs`` and the plan's
cardiovascular section both call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from precisionrx.engines.prs.build_convert import convert_scorefile
from precisionrx.engines.prs.scorer import (
    BuildState,
    inspect_build,
    resolve_missing,
    score,
    to_result,
)
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.prs import PrsResult, PrsSettings

if TYPE_CHECKING:
    import polars as pl

    from precisionrx.io.genotypes import GenotypeFile
    from precisionrx.io.pgs_scorefile import ScoreFile
    from precisionrx.kb.registry import KnowledgeBase


def score_genotypes(
    scorefiles: Iterable[ScoreFile],
    genotypes: GenotypeFile,
    kb: KnowledgeBase,
    settings: PrsSettings | None = None,
    reference: GenotypeFile | None = None,
    *,
    check_builds: bool = True,
    input_sha256: str | None = None,
    match_logs: list[pl.DataFrame] | None = None,
) -> PrsResult:
    """Score every sample of ``genotypes`` with each scoring file, in order.

    ``scorefiles`` may be a generator: each file is checked and scored before the next is
    taken. ``reference``: an opened VCF of reference samples for empirical Z and percentiles.
    ``check_builds`` compares the scoring file's build with the genotype file's; a scoring file
    on the other build is converted with the packaged chain file before matching (the counts
    are in a caveat and in the match log summary; the plan's section scores without the check,
    as it always has). The full match log of each
    file (one row per variant and candidate; polars, for large scores) is appended to
    ``match_logs`` when given; the result carries its counts.
    """
    settings = settings or PrsSettings()
    state = BuildState()
    scores = []
    for sf in scorefiles:
        sites = None
        conversion = None
        if check_builds:
            found = inspect_build(sf, genotypes, kb, state)
            sites = found.sites
            if found.other is not None:
                # the other build: positions converted with the chain file, then read afresh
                sf, conversion = convert_scorefile(sf, found.other)
                sites = None
        raw = score(
            sf,
            genotypes,
            settings.keep_ambiguous,
            settings.keep_multiallelic,
            settings.min_overlap,
            reference,
            sites=sites,
            missing=settings.missing,
            dosage_field=settings.dosage_field,
        )
        if conversion is not None:
            raw.caveats.append(Caveat(code="build_converted", message=conversion.message(),
                                      kind=CaveatKind.WARNING))  # fmt: skip
        if match_logs is not None:
            match_logs.append(raw.log_table)
        scores.append(to_result(raw, sf, conversion))
    parameters = {
        "keep_ambiguous": str(settings.keep_ambiguous).lower(),
        "keep_multiallelic": str(settings.keep_multiallelic).lower(),
        "min_overlap": repr(settings.min_overlap),
        "missing": settings.missing,
        "missing_imputed": str(resolve_missing(settings.missing, len(genotypes.samples))).lower(),
        "dosage_field": settings.dosage_field,
        "samples": str(len(genotypes.samples)),
    }
    if reference is not None:
        parameters["reference_samples"] = str(len(reference.samples))
    return PrsResult(
        scores=scores,
        provenance=kb.provenance(
            ["pypgx"] if check_builds else [], input_sha256=input_sha256, parameters=parameters
        ),
    )
