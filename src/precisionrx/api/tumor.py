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

from precisionrx.engines.oncology.api import TumourSettings, analyse_tumour
from precisionrx.io.tumor_inputs import read_tumour
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.oncology import TumourReport

__all__ = ["TumourSettings", "analyse", "demo_maf"]


def analyse(
    variants: str | Path,
    *,
    tumor_type: str | None = None,
    cna: str | Path | None = None,
    fusions: str | Path | None = None,
    msi: str | None = None,
    msisensor_score: float | None = None,
    callable_mb: float = 34.0,
    tmb_scheme: str = "coding_and_silent",
    genome_build: str | None = None,
    germline: Sequence[SampleResult] | None = None,
    patient: PatientRecord | None = None,
    kb: KnowledgeBase | None = None,
) -> TumourReport:
    """The report for a tumour's MAF or annotated VCF (plus optional copy-number and fusion
    tables). ``germline``: the patient's PGx results (:func:`precisionrx.api.pgx.call`), so
    that every suggested drug is checked against them; without it the report says so."""
    kb = kb or KnowledgeBase()
    tables: list[tuple[str, str | Path]] = []
    if cna is not None:
        tables.append(("cna", cna))
    if fusions is not None:
        tables.append(("fusions", fusions))
    tumour = read_tumour(variants, tables=tables)  # type: ignore[arg-type]
    settings = TumourSettings(
        tumor_type=tumor_type,
        genome_build=genome_build or tumour.build,
        msi=msi,
        msisensor_score=msisensor_score,
        callable_mb=callable_mb,
        tmb_scheme=tmb_scheme,
        annotated=tumour.annotated,
        input_name=str(variants),
    )
    return analyse_tumour(tumour.alterations, kb, settings, germline=germline, patient=patient)


def demo_maf() -> Path:
    """The bundled synthetic patient's tumour MAF."""
    return Path(str(resources.files("precisionrx.demo").joinpath("tumour.maf")))
