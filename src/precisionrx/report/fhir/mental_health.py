"""The plan's questionnaire scores as FHIR R4 Observations.

One Observation per latest score (``mental_health.latest``): category ``survey``; ``code`` the
instrument's total-score LOINC code when the knowledge base has one (PHQ-9 44261-6, GAD-7
70274-6, PHQ-2 55758-7, AUDIT-C 75626-2), else the instrument's name as text; ``valueInteger``
the total — a questionnaire without a total (an item missing) gets ``dataAbsentReason``
``incomplete``; ``effectiveDateTime`` the date when known; ``interpretation`` the severity band
as text; a ``note`` per safety flag and caveat. Every resource carries the security label PSY
(v3-ActCode, psychiatry disorder information sensitivity) in ``meta.security`` so that a
receiving system can apply its consent rules.
"""

from __future__ import annotations

from precisionrx.records.mental_health import MentalHealthSection
from precisionrx.report.fhir.common import (
    DATA_ABSENT,
    LOINC,
    OBSERVATION_CATEGORY,
    Resource,
    coding,
    observation,
    resource_id,
)

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SURVEY = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}
PSY_LABEL = {"system": V3_ACT_CODE, "code": "PSY",
             "display": "psychiatry disorder information sensitivity"}  # fmt: skip


def score_resources(
    section: MentalHealthSection, subject: dict[str, str], pid: str, issued: str
) -> list[Resource]:
    """An Observation per latest questionnaire score, in the section's order."""
    out: list[Resource] = []
    for s in section.latest:
        code = (
            coding(LOINC, s.loinc, f"{s.instrument} total score")
            if s.loinc
            else {"text": f"{s.instrument} total score"}
        )
        oid = resource_id("score", pid, s.id or "", s.instrument, s.date or "")
        obs = observation(oid, code, subject, issued, [SURVEY])
        obs["meta"] = {"security": [PSY_LABEL]}
        if s.date:
            obs["effectiveDateTime"] = s.date
        if s.total is not None:
            obs["valueInteger"] = s.total
        else:
            obs["dataAbsentReason"] = coding(DATA_ABSENT, "incomplete", "Incomplete")
        if s.severity:
            obs["interpretation"] = [{"text": s.severity.replace("_", " ")}]
        notes = [f"safety flag: {f}" for f in s.flags]
        notes += [f"{c.code}: {c.message}" for c in s.caveats]
        if notes:
            obs["note"] = [{"text": n} for n in notes]
        out.append(obs)
    return out
