"""``precisionrx plan --format fhir``: every section of the treatment plan in one Bundle.

The Bundle holds the Patient; per germline sample the pharmacogenomic GenomicReport with its
genotypes, therapeutic implications and medication Tasks (:mod:`.pgx`); the cardiometabolic
RiskAssessments, DLCN, polygenic-score and FH-variant Observations (:mod:`.cardio`); the
tumour's TMB, MSI, somatic variants and therapeutic implications (:mod:`.oncology`); the CGM
summary of the last period (:mod:`.cgm`); the wearable vitals (resting heart rate LOINC 40443-4,
HRV SDNN 80404-7, home blood pressure panel 85354-9 with 8480-6 / 8462-4; codes from
kb/data/monitoring/loinc_wearables.csv); a DetectedIssue per drug–drug interaction between
the patient's medicines (:mod:`.interactions`); an Observation per latest questionnaire
score, labelled PSY (:mod:`.mental_health`); and last a DiagnosticReport for the whole plan whose
``result`` lists every Observation and whose ``conclusion`` gives the decision-support notice,
the key findings, the plan's caveats and the tool and knowledge-base versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.monitoring import VitalsSection
from precisionrx.report.fhir.cardio import cardio_resources
from precisionrx.report.fhir.cgm import subject_resources
from precisionrx.report.fhir.common import (
    LOINC,
    VITAL_SIGNS,
    Resource,
    bundle_text,
    coding,
    now,
    observation,
    quantity,
    reference,
    resource_id,
)
from precisionrx.report.fhir.interactions import interaction_resources
from precisionrx.report.fhir.mental_health import score_resources
from precisionrx.report.fhir.oncology import oncology_resources
from precisionrx.report.fhir.pgx import patient_resource, sample_resources
from precisionrx.report.writers import versions_text

if TYPE_CHECKING:
    from precisionrx.plan.model import TreatmentPlan


def _vital(oid: str, subject: dict[str, str], issued: str, code: str, display: str) -> Resource:
    return observation(oid, coding(LOINC, code, display), subject, issued, [VITAL_SIGNS])


def vitals_resources(
    section: VitalsSection, subject: dict[str, str], pid: str, issued: str
) -> list[Resource]:
    """Resting heart rate (mean of the last 14 days), HRV SDNN and the home BP means."""
    out: list[Resource] = []
    rhr = section.resting_heart_rate
    if rhr is not None and rhr.last_14_days is not None:
        obs = _vital(resource_id("resting-hr", pid), subject, issued, "40443-4",
                     "Heart rate --resting")  # fmt: skip
        obs["valueQuantity"] = quantity(rhr.last_14_days, "/min")
        obs["note"] = [{"text": "mean of the daily means, last 14 days"
                        + (f"; previous 14 days {rhr.previous_14_days} /min"
                           if rhr.previous_14_days is not None else "")}]  # fmt: skip
        out.append(obs)
    if section.hrv_sdnn_ms is not None:
        obs = _vital(resource_id("hrv-sdnn", pid), subject, issued, "80404-7",
                     "R-R interval.standard deviation (Heart rate variability)")  # fmt: skip
        obs["valueQuantity"] = quantity(section.hrv_sdnn_ms, "ms")
        out.append(obs)
    bp = section.home_blood_pressure
    if bp is not None and bp.mean_sbp is not None and bp.mean_dbp is not None:
        obs = _vital(resource_id("home-bp", pid), subject, issued, "85354-9",
                     "Blood pressure panel with all children optional")  # fmt: skip
        obs["component"] = [
            {"code": coding(LOINC, "8480-6", "Systolic blood pressure"),
             "valueQuantity": quantity(bp.mean_sbp, "mm[Hg]")},
            {"code": coding(LOINC, "8462-4", "Diastolic blood pressure"),
             "valueQuantity": quantity(bp.mean_dbp, "mm[Hg]")},
        ]  # fmt: skip
        classes = [f"ACC/AHA 2017: {bp.acc_aha_2017}" if bp.acc_aha_2017 else "",
                   f"ESH 2023: {bp.esh_2023}" if bp.esh_2023 else ""]  # fmt: skip
        obs["note"] = [{"text": f"home readings, mean of {bp.n}"
                        + "".join(f"; {c}" for c in classes if c)}]  # fmt: skip
        out.append(obs)
    return out


def _conclusion(plan: TreatmentPlan) -> str:
    lines = [plan.notice]
    lines += [f"Finding: {f.title}: {f.detail}" for f in plan.findings]
    lines += [f"Caveat [{c.code}]: {c.message}" for c in plan.caveats]
    lines.append(versions_text(plan.precisionrx_version, plan.knowledge_bases) + ".")
    return "\n".join(lines)


def plan_resources(plan: TreatmentPlan, kb: KnowledgeBase, issued: str) -> list[Resource]:
    """Every resource of the plan's Bundle, the plan's DiagnosticReport last."""
    pid = plan.patient.id
    patient = patient_resource(pid, plan.patient.name)
    subject = reference(patient)
    out: list[Resource] = [patient]
    for sample in plan.pgx:
        out += sample_resources(kb, sample, issued, patient)
    if plan.cardio is not None:
        out += cardio_resources(plan.cardio, subject, pid, issued)
    if plan.oncology is not None:
        out += oncology_resources(plan.oncology, subject, pid, issued)
    if plan.monitoring is not None:
        section = plan.monitoring
        out += subject_resources(section.current, section.provenance, subject)
    if plan.vitals is not None:
        out += vitals_resources(plan.vitals, subject, pid, issued)
    if plan.interactions is not None:
        out += interaction_resources(plan.interactions, subject, pid, issued)
    if plan.mental_health is not None:
        out += score_resources(plan.mental_health, subject, pid, issued)
    report: Resource = {
        "resourceType": "DiagnosticReport",
        "id": resource_id("plan", pid),
        "status": "final",
        "code": {"text": "Personalised treatment plan (precisionrx decision support)"},
        "subject": subject,
        "issued": issued,
        "result": [reference(r) for r in out if r["resourceType"] == "Observation"],
        "conclusion": _conclusion(plan),
    }
    return [*out, report]


def plan_bundle(plan: TreatmentPlan, kb: KnowledgeBase) -> str:
    """The plan as one FHIR R4 collection Bundle (strict JSON)."""
    issued = now()
    return bundle_text(plan_resources(plan, kb, issued), issued)
