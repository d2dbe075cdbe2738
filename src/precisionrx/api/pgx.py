"""Pharmacogenomics: star-allele calling and genotype-guided prescribing.

>>> import precisionrx as prx
>>> from precisionrx.api.pgx import demo_vcf
>>> (result,) = prx.pgx.call(demo_vcf(), genes=["CYP2C19"])
>>> gene = result.genes[0]
>>> gene.gene, gene.called, gene.diplotypes, gene.phenotype
('CYP2C19', True, ['*2/*2'], 'Poor Metabolizer')
>>> advice = prx.pgx.recommend(result, drugs=["clopidogrel"])
>>> sorted({r.source for r in advice.recommendations if r.matched})
['CPIC', 'DPWG']
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from precisionrx.engines.pgx.caller import CallOptions, call_genotypes, genotype_request
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.io.germline import read_germline
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Medication, PatientRecord, SampleResult

__all__ = ["CallOptions", "call", "call_vcf", "demo_vcf", "recommend"]


def call(
    vcf: str | Path,
    *,
    samples: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    genome_build: str = "GRCh38",
    sex: dict[str, str] | None = None,
    default_sex: str = "unknown",
    outside: Sequence[OutsideCall] = (),
    missing_to_reference: bool = False,
    kb: KnowledgeBase | None = None,
) -> list[SampleResult]:
    """Diplotypes and phenotypes of every (or the selected) pharmacogene for every (or the
    selected) sample of a VCF/BCF (the ``precisionrx pgx`` calls, without recommendations).

    Raises the :mod:`precisionrx.errors` tree: ``InputError`` for an unreadable or malformed
    file, ``GenomeBuildMismatch`` when the data are on another build than ``genome_build``.
    """
    kb = kb or KnowledgeBase()
    options = CallOptions(
        genome_build=genome_build,
        genes=list(genes) if genes else None,
        sex=dict(sex or {}),
        default_sex=default_sex,
        missing_to_reference=missing_to_reference,
    )
    genotypes = read_germline(vcf, genotype_request(kb, options), samples)
    return call_genotypes(genotypes, kb, options, outside)


def call_vcf(
    path: str | Path,
    kb: KnowledgeBase,
    samples: Sequence[str] | None = None,
    options: CallOptions | None = None,
    outside: Sequence[OutsideCall] = (),
) -> list[SampleResult]:
    """:func:`call` with the engine's own options object: read the regions the options need
    (:func:`precisionrx.io.germline.read_germline`) and call them."""
    options = options or CallOptions()
    genotypes = read_germline(path, genotype_request(kb, options), samples)
    return call_genotypes(genotypes, kb, options, outside)


def recommend(
    result: SampleResult,
    *,
    medications: Sequence[Medication] | None = None,
    drugs: Sequence[str] | None = None,
    patient: PatientRecord | None = None,
    kb: KnowledgeBase | None = None,
) -> SampleResult:
    """A copy of ``result`` with CPIC/DPWG/FDA recommendations for ``drugs`` and the current
    ``medications`` (phenoconversion by co-medication included), a medication review when
    medications are given, and the IWPC/CPIC warfarin guidance when warfarin is among them.
    With neither, every drug with guidance is covered."""
    kb = kb or KnowledgeBase()
    meds = list(medications) if medications is not None else None
    return prescribed(kb, result, meds, list(drugs) if drugs else None, patient=patient)


def demo_vcf() -> Path:
    """The bundled synthetic patient's germline VCF (for examples and trying things out)."""
    return Path(str(resources.files("precisionrx.demo").joinpath("demo.vcf")))
