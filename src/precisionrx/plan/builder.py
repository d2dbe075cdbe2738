"""Build a TreatmentPlan from a patient record: runs each engine the record has data for."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from precisionrx import __version__
from precisionrx.engines.interactions.api import check_interactions, interaction_findings
from precisionrx.engines.medicines.act_now import act_now
from precisionrx.engines.medicines.patient_view import patient_view
from precisionrx.engines.mental_health.section import psychiatric_medications
from precisionrx.engines.pgx.phenotyper import reference_phenotype
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.cardio_section import cardio_section
from precisionrx.plan.effects_section import effects_section
from precisionrx.plan.mental_health_section import mental_health_plan_section
from precisionrx.plan.model import PatientSummary, TreatmentPlan
from precisionrx.plan.monitoring_section import monitoring_section
from precisionrx.plan.oncology_section import oncology_findings, oncology_section
from precisionrx.plan.record_genotypes import record_pgx
from precisionrx.plan.vitals_section import vitals_section
from precisionrx.records import Caveat, CaveatKind, Finding, PatientRecord, SampleResult
from precisionrx.records.evidence import KbVersion
from precisionrx.report.pgx_json import DECISION_SUPPORT

NORMAL_PREFIXES = ("Normal", "Rapid Metabolizer", "Indeterminate")
#: Plain-language meaning of phenotype terms for the patient view.


def build(record: PatientRecord | str | Path, kb: KnowledgeBase | None = None) -> TreatmentPlan:
    """The treatment plan for a patient record (or a patient file: YAML, JSON or FHIR).

    >>> import precisionrx as prx
    >>> from precisionrx.plan.builder import demo_patient
    >>> plan = prx.plan.build(demo_patient())
    >>> plan.engines
    ['cardio', 'interactions', 'monitoring', 'oncology', 'pgx']
    >>> any(f.title.startswith("CYP2C19 Poor Metabolizer") for f in plan.findings)
    True
    """
    if not isinstance(record, PatientRecord):
        from precisionrx.io.patient_file import read_patient_file

        record = read_patient_file(Path(record))
    return build_plan(record, kb or KnowledgeBase())


def demo_patient() -> Path:
    """The bundled synthetic patient's record (patient.yaml; its files sit beside it)."""
    return Path(str(resources.files("precisionrx.demo").joinpath("patient.yaml")))


def build_plan(record: PatientRecord, kb: KnowledgeBase) -> TreatmentPlan:
    caveats: list[Caveat] = [
        Caveat(code="input_warning", kind=CaveatKind.NOTE, message=w) for w in record.input_warnings
    ]
    engines: list[str] = []
    pgx: list[SampleResult] = record_pgx(record, kb)
    if pgx:
        engines.append("pgx")
    else:
        caveats.append(
            Caveat(
                code="no_germline_genotype",
                kind=CaveatKind.NOTE,
                message="no germline VCF or outside calls in the record: no pharmacogenomic "
                "results",
            )
        )
    findings = _pgx_findings(pgx, kb)
    vitals, vitals_findings = vitals_section(record, kb)
    findings += vitals_findings
    home_sbp = vitals.home_sbp if vitals is not None else None
    monitoring, monitoring_findings = monitoring_section(kb, record)
    cardio = cardio_section(
        kb, record, pgx, home_sbp=home_sbp, gmi=monitoring.gmi_for_risk if monitoring else None
    )
    if cardio is not None:
        engines.append("cardio")
    if monitoring is not None or vitals is not None:
        engines.append("monitoring")
        findings += monitoring_findings
    oncology = oncology_section(kb, record, pgx)
    if oncology is not None:
        engines.append("oncology")
        findings += oncology_findings(oncology, kb)
    interactions = None
    if record.medications:
        reviews = [m for r in pgx for m in r.medication_review or []]
        interactions = check_interactions(record.medications, kb, drug_gene=reviews)
        engines.append("interactions")
        findings += interaction_findings(interactions)
    mental_health, safety_findings = mental_health_plan_section(kb, record, pgx)
    if mental_health is not None:
        engines.append("mental_health")
        # Safety flags (suicidal ideation first) lead the key findings: never suppressed.
        findings = safety_findings + findings
    effects = effects_section(record)
    if effects:
        engines.append("effects")
    actions = act_now(record.medications, pgx, interactions, cardio)
    if mental_health is not None:  # the psychiatric medicines with their act-now lines
        mental_health = mental_health.model_copy(
            update={"medications": psychiatric_medications(actions, kb)}
        )
    summary = patient_view(
        kb, actions, genotyped=bool(pgx), interactions=interactions, cardio=cardio,
        oncology=oncology, monitoring=monitoring, mental_health=mental_health,
    )  # fmt: skip
    demo = record.demographics
    return TreatmentPlan(
        precisionrx_version=__version__,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        notice=DECISION_SUPPORT,
        patient=PatientSummary(
            id=record.id,
            name=record.name,
            sex_at_birth=demo.sex_at_birth,
            age_years=demo.age_years,
            ancestry_self_reported=demo.ancestry_self_reported,
        ),
        knowledge_bases=[KbVersion(**v) for v in kb.versions()],
        medications=list(record.medications),
        pgx=pgx,
        findings=findings,
        caveats=caveats,
        patient_summary=summary,
        engines=sorted(set(engines)),
        cardio=cardio,
        oncology=oncology,
        monitoring=monitoring,
        vitals=vitals,
        interactions=interactions,
        mental_health=mental_health,
        effects=effects,
        act_now=actions,
    )


def _pgx_findings(pgx: list[SampleResult], kb: KnowledgeBase) -> list[Finding]:
    """A key finding per gene whose result changes the guidance for a current or planned
    medicine (a review with status ``action`` whose matched recommendation uses the gene).
    Other non-reference results are information: they stay in the PGx section."""
    out: list[Finding] = []
    for r in pgx:
        acting: dict[str, list[str]] = {}
        for m in r.medication_review or []:
            if m.status != "action":
                continue
            for rec in m.recommendations:
                if rec.matched:
                    for gene in rec.genes:
                        names = acting.setdefault(gene, [])
                        if m.medication not in names:
                            names.append(m.medication)
        for g in r.genes:
            if not g.called or not g.phenotype or g.gene not in acting:
                continue
            # Tied diplotypes: a finding when any candidate phenotype is not the normal one.
            base = reference_phenotype(kb, g.gene)
            phenos = [c.phenotype for c in g.diplotype_calls if c.phenotype] or [g.phenotype]
            if all(p.startswith(NORMAL_PREFIXES) or p == base for p in phenos):
                continue
            dip = " or ".join(g.diplotypes)
            score = f", activity score {g.activity_score}" if g.activity_score else ""
            out.append(
                Finding(
                    domain="pgx",
                    title=f"{g.gene} {g.phenotype}",
                    detail=f"{g.gene} {dip}{score}: changes the guidance for "
                    f"{', '.join(acting[g.gene])} (see the act-now list).",
                    severity="actionable",
                    caveats=tuple(c for c in g.caveats if c.kind != CaveatKind.NOTE),
                    source=f"{r.input} ({r.sample})",
                )
            )
    return out
