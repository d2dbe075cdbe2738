"""Tumour report: matched therapies with AMP/ASCO/CAP tiers, resistance, TMB, MSI, and the
germline pharmacogenomic cross-check.

>>> import precisionrx as prx
>>> from precisionrx.api.tumor import demo_maf
>>> report = prx.tumor.analyse(demo_maf(), tumor_type="COADREAD")
>>> any(m.alteration == "BRAF V600E" and m.tier == "I" for m in report.matches)
True
>>> [c.code for c in report.caveats][:1]
['moalmanac_research_use']
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from precisionrx.engines.oncology.api import TumourSettings, analyse_tumour
from precisionrx.errors import GenomeBuildMismatch
from precisionrx.io.tumor_inputs import TumourInput, read_tumour
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.oncology import TumourReport

__all__ = ["TumourSettings", "analyse", "demo_maf", "report"]


def analyse(
    variants: str | Path,
    *,
    cna: str | Path | None = None,
    fusions: str | Path | None = None,
    **options: Any,
) -> TumourReport:
    """The report for a tumour's MAF or annotated VCF (plus optional copy-number and fusion
    tables): :func:`read_tumour`, then :func:`report` with ``options``."""
    tables: list[tuple[Literal["cna", "fusions"], str | Path]] = []
    if cna is not None:
        tables.append(("cna", cna))
    if fusions is not None:
        tables.append(("fusions", fusions))
    return report(read_tumour(variants, tables=tables), input_name=str(variants), **options)


def report(
    tumour: TumourInput,
    *,
    input_name: str | None = None,
    tumor_type: str | None = None,
    msi: str | None = None,
    msisensor_score: float | None = None,
    callable_mb: float = 34.0,
    tmb_scheme: str = "coding_and_silent",
    genome_build: str | None = None,
    germline: Sequence[SampleResult] | None = None,
    germline_input: str | None = None,
    patient: PatientRecord | None = None,
    kb: KnowledgeBase | None = None,
) -> TumourReport:
    """The report for a tumour already read. ``germline``: the patient's PGx results
    (:func:`precisionrx.api.pgx.call`), so that every suggested drug is checked against them
    (``germline_input`` names their file); without it the report says so. A ``genome_build``
    other than the one the variant file declares is a ``GenomeBuildMismatch``."""
    build = tumour.build
    if genome_build:
        if build and build != genome_build:
            raise GenomeBuildMismatch(
                f"the input declares {build} but --genome-build {genome_build} was given",
                path=input_name,
            )
        build = genome_build
    settings = TumourSettings(
        tumor_type=tumor_type,
        genome_build=build,
        msi=msi,
        msisensor_score=msisensor_score,
        callable_mb=callable_mb,
        tmb_scheme=tmb_scheme,
        annotated=tumour.annotated,
        input_name=input_name,
        germline_input=germline_input,
        input_sha256=tumour.sha256,
    )
    return analyse_tumour(
        tumour.alterations, kb or KnowledgeBase(), settings, germline=germline, patient=patient
    )


def demo_maf() -> Path:
    """The bundled synthetic patient's tumour MAF."""
    return Path(str(resources.files("precisionrx.demo").joinpath("tumour.maf")))
