"""Oncology section of the treatment plan: the tumour report plus the germline cross-check.

Uses the record's tumour inputs (``maf`` or ``tumor_vcf``, optional ``cna`` and ``fusions``;
``tumor_type``, ``msi`` and ``callable_mb`` on the tumour input) and the germline results the
plan already called, with the patient's current medications, so phenoconversion counts. The
report is the oncology engine's (:func:`precisionrx.engines.oncology.api.analyse_tumour`);
this module reads the inputs and turns the report into the plan's key findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from precisionrx.engines.oncology.api import TumourSettings, analyse_tumour
from precisionrx.engines.oncology.burden import EXOME_MB
from precisionrx.engines.oncology.summary import expected_resistance, therapy_options
from precisionrx.io.tumor_inputs import read_tumour
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Finding, PatientRecord, SampleResult
from precisionrx.records.oncology import Drug, TherapySummaryRow, TumourReport


def oncology_section(
    kb: KnowledgeBase, record: PatientRecord, pgx: list[SampleResult]
) -> TumourReport | None:
    tumour = next((g for g in record.genomic_inputs if g.kind in ("maf", "tumor_vcf")), None)
    if tumour is None:
        return None
    tables: list[tuple[Literal["cna", "fusions"], str]] = [
        ("cna" if g.kind == "cna" else "fusions", g.path)
        for g in record.genomic_inputs
        if g.kind in ("cna", "fusions")
    ]
    read = read_tumour(tumour.path, maf=tumour.kind == "maf", tables=tables)
    settings = TumourSettings(
        tumor_type=tumour.tumor_type,
        genome_build=read.build or tumour.genome_build,
        msi=tumour.msi,
        callable_mb=tumour.callable_mb or EXOME_MB,
        annotated=read.annotated,
        input_name=Path(tumour.path).name,
        input_sha256=read.sha256,
        context="plan",
    )
    return analyse_tumour(read.alterations, kb, settings, germline=pgx or None, patient=record)


def oncology_findings(report: TumourReport) -> list[Finding]:
    """Tier I/II therapy options, expected resistance and germline conflicts as findings.

    Options come from the grouped view after the resistance check
    (engines/oncology/resolution.py): a drug whose sensitivity evidence this tumour's
    resistance evidence overrides is never headlined as an option; it gets its own
    "expected resistance" finding instead.
    """
    out: list[Finding] = []
    rows = report.therapy_summary
    options: dict[str, list[TherapySummaryRow]] = {}
    for r in therapy_options(rows):
        options.setdefault(r.alteration, []).append(r)
    for alteration, rs in sorted(options.items(), key=lambda kv: str(kv[1][0].tier)):
        tier = rs[0].tier
        best = [r for r in rs if r.tier == tier][:3]
        out.append(
            Finding(
                domain="oncology",
                title=f"{alteration}: Tier {tier} therapy evidence",
                detail=f"{', '.join(_therapy_name(r.drug) for r in best)} (see the oncology "
                "section for every therapy, its evidence and resistance markers)",
                severity="actionable",
                source="MOAlmanac / CIViC",
            )
        )
    resist: dict[str, list[str]] = {}
    for r in expected_resistance(rows):
        names = resist.setdefault(r.alteration, [])
        name = _therapy_name(r.drug)
        if name not in names:
            names.append(name)
    for alteration, names in resist.items():
        out.append(
            Finding(
                domain="oncology",
                title=f"{alteration}: expected resistance to {', '.join(names[:5])}"
                + (f" and {len(names) - 5} more" if len(names) > 5 else ""),
                detail="resistance evidence in this tumour outranks any sensitivity evidence "
                "for these therapies: not therapy options (see the oncology section for the "
                "evidence and the overridden sensitivity items)",
                severity="actionable",
                source="MOAlmanac / CIViC",
            )
        )
    for c in report.germline_conflicts:
        if c.status != "action":
            continue
        out.append(
            Finding(
                domain="oncology",
                title=f"{c.drug}: germline {', '.join(c.genes)} conflict",
                detail=c.recommendations[0].text.splitlines()[0]
                if c.recommendations
                else "pharmacogenomic guidance applies",
                severity="actionable",
                source="CPIC/DPWG via the PGx engine",
            )
        )
    return out


def _therapy_name(drug: Drug) -> str:
    return " + ".join(drug) if isinstance(drug, list) else drug
