"""The plan's drug–drug interactions as FHIR R4 DetectedIssue resources.

One DetectedIssue per interaction between two of the patient's medicines (FHIR R4
DetectedIssue: "a clinical issue with an action, such as a drug-drug interaction"): ``code``
v3-ActCode ``DRG`` (drug interaction alert); ``severity`` high for contraindicated and major
rows, moderate, low for the ONC 2013 non-interruptive pairs; ``implicated`` names the two
medicines as recorded (display-only references: the plan holds no MedicationStatement
resources); ``detail`` the effect, the action, the dose check and whether the row was verified;
``evidence`` the row id and its full citation. The interaction table is the
knowledge base's ``ddi`` source, whose version the plan's DiagnosticReport names.
"""

from __future__ import annotations

from precisionrx.records.interactions import DrugInteraction, InteractionResult
from precisionrx.report.fhir.common import Resource, coding, resource_id

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: DetectedIssue.severity (required binding, detectedissue-severity): high | moderate | low.
SEVERITY = {"contraindicated": "high", "major": "high", "moderate": "moderate", "low": "low"}
ACTION_TEXT = {
    "avoid": "avoid the combination",
    "dose_cap": "keep within the dose limit",
    "monitor": "monitor",
    "non_interruptive": "low priority: no action usually needed",
}


def _detail(i: DrugInteraction) -> str:
    parts = [f"{i.drug_a} + {i.drug_b} ({i.severity})"]
    if i.effect:
        parts.append(i.effect)
    parts.append(ACTION_TEXT.get(i.action, i.action))
    if i.dose_cap:
        parts.append(f"dose limit: {i.dose_cap}")
    if i.exceeds_dose_cap is True:
        parts.append(
            f"the recorded dose of {i.dose_cap_applies_to} ({i.recorded_dose_mg_day:g} mg/day) "
            "is above the limit"
        )
    if not i.verified:
        parts.append("row not verified against its source")
    return "; ".join(parts)


def interaction_resources(
    result: InteractionResult, subject: dict[str, str], pid: str, issued: str
) -> list[Resource]:
    """A DetectedIssue per interaction, in the result's order (most severe first)."""
    out: list[Resource] = []
    for i in result.interactions:
        issue: Resource = {
            "resourceType": "DetectedIssue",
            "id": resource_id("ddi", pid, i.rule_id, i.drug_a, i.drug_b),
            "status": "final",
            "code": coding(V3_ACT_CODE, "DRG", "Drug Interaction Alert"),
            "severity": SEVERITY[i.severity],
            "patient": subject,
            "identifiedDateTime": issued,
            "implicated": [{"display": i.medication_a}, {"display": i.medication_b}],
            "detail": _detail(i),
            "evidence": [{"code": [{"text": f"precisionrx interaction rule {i.rule_id}"
                                            + (f"; source: {i.source}" if i.source else "")}]}],
        }  # fmt: skip
        out.append(issue)
    return out
