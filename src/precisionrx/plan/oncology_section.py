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
from precisionrx.engines.oncology.headline import guideline_biomarkers, headline
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


def oncology_findings(report: TumourReport, kb: KnowledgeBase) -> list[Finding]:
    """The tumour's headline as findings: options and resistance that meet the headline rule
    (engines/oncology/headline.py: FDA/guideline evidence in this tumour type, or a
    tumour-agnostic label that does not exclude it), the guideline biomarkers to confirm, and
    the germline conflicts. Other evidence stays in the oncology section.

    Options come from the grouped view after the resistance check
    (engines/oncology/resolution.py): a drug whose sensitivity evidence this tumour's
    resistance evidence overrides is never headlined as an option.
    """
    out: list[Finding] = []
    lead = headline(report, kb)
    options: dict[str, list[tuple[TherapySummaryRow, str]]] = {}
    for row, setting in lead.options:
        options.setdefault(row.alteration, []).append((row, setting))
    kept_out: dict[str, list[str]] = {}
    for row, label in lead.excluded:
        kept_out.setdefault(row.alteration, []).append(
            f"{_therapy_name(row.drug)} is not an option here: its tumour-agnostic "
            f"{label.biomarker} label excludes {label.excluded}"
        )
    for alteration in sorted(set(options) | set(kept_out)):
        rows = options.get(alteration, [])
        parts = []
        for row, setting in rows:
            best = row.best_evidence
            where = f"tumour-agnostic label, setting: {setting}" if setting else (
                f"{best.evidence_level}, {best.tumor_type}"
            )  # fmt: skip
            parts.append(f"{_therapy_name(row.drug)} (Tier {row.tier}; {where})")
        if any(not setting for _, setting in rows):
            parts.append("treatment setting (line, stage) per the cited label or guideline: not "
                         "in the shipped data")  # fmt: skip
        detail = "; ".join(parts + kept_out.get(alteration, []))
        out.append(
            Finding(
                domain="oncology",
                title=f"{alteration}: standard-of-care therapy evidence in this tumour type"
                if rows
                else f"{alteration}: no standard-of-care option for this tumour type",
                detail=f"{detail} (every therapy and its evidence: oncology section)",
                severity="actionable" if rows else "info",
                source="MOAlmanac (FDA labels, guidelines) / CIViC level A",
            )
        )
    resist: dict[str, list[TherapySummaryRow]] = {}
    for r in lead.resistance:
        rows_ = resist.setdefault(r.alteration, [])
        if all(_therapy_name(x.drug) != _therapy_name(r.drug) for x in rows_):
            rows_.append(r)
    for alteration, rs in resist.items():
        names = [_therapy_name(r.drug) for r in rs]
        levels = "; ".join(
            f"{_therapy_name(r.drug)}: {r.best_evidence.evidence_level}, "
            f"{r.best_evidence.tumor_type}"
            + (f", overrides {r.overridden} sensitivity item(s)" if r.overridden else "")
            for r in rs
        )
        out.append(
            Finding(
                domain="oncology",
                title=f"{alteration}: expected resistance to {', '.join(names[:5])}"
                + (f" and {len(names) - 5} more" if len(names) > 5 else ""),
                detail=f"resistance evidence in this tumour type ({levels}): not therapy "
                "options (see the oncology section for the evidence)",
                severity="actionable",
                source="MOAlmanac / CIViC",
            )
        )
    missing = [b for b in guideline_biomarkers(report, kb) if b.status == "not reported"]
    if missing:
        tumour = report.tumor_type.name or "this tumour"
        out.append(
            Finding(
                domain="oncology",
                title=f"Guideline biomarkers to confirm for {tumour}",
                detail="; ".join(f"{b.biomarker} ({b.setting})" for b in missing)
                + ": no alteration in the input; a negative result counts only if the assay "
                "covered it",
                severity="info",
                source="tumour biomarker guidelines (kb oncology_guidelines)",
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
