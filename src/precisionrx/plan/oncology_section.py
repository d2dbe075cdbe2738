"""Oncology section of the treatment plan: the tumour report plus the germline cross-check.

Uses the record's tumour inputs (``maf`` or ``tumor_vcf``, optional ``cna`` and ``fusions``;
``tumor_type``, ``msi`` and ``callable_mb`` on the tumour input) and the germline results the
plan already called, with the patient's current medications, so phenoconversion counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from precisionrx.engines.oncology.burden import EXOME_MB
from precisionrx.engines.oncology.germline import germline_conflicts
from precisionrx.engines.oncology.knowledge import OncologyKb
from precisionrx.engines.oncology.report import analyse, matched_drugs
from precisionrx.io.tumor_inputs import read_cna, read_fusions, read_maf, read_tumor_vcf
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.user_sources import added_civic
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.tumor import Alteration


def oncology_section(
    kb: KnowledgeBase, record: PatientRecord, pgx: list[SampleResult]
) -> dict[str, Any] | None:
    tumour = next((g for g in record.genomic_inputs if g.kind in ("maf", "tumor_vcf")), None)
    if tumour is None:
        return None
    alterations: list[Alteration]
    annotated = True
    if tumour.kind == "maf":
        alterations, build = read_maf(tumour.path)
    else:
        alterations, annotated, build = read_tumor_vcf(tumour.path)
    for g in record.genomic_inputs:
        if g.kind == "cna":
            alterations += read_cna(g.path)
        elif g.kind == "fusions":
            alterations += read_fusions(g.path)
    extra = added_civic()
    okb = OncologyKb.load(kb.root / "oncology", [extra] if extra else None)
    report = analyse(
        okb, alterations, tumour.tumor_type, build or tumour.genome_build, tumour.msi, None,
        tumour.callable_mb or EXOME_MB, "coding_and_silent", annotated,
    )  # fmt: skip
    if pgx:
        report["germline_conflicts"] = germline_conflicts(
            kb, pgx, matched_drugs(report), patient=record
        )
    else:
        report["caveats"].append(
            "no germline genotype in the record: suggested drugs were not checked against "
            "pharmacogenomics"
        )
    report["input"] = str(Path(tumour.path).name)
    return report
