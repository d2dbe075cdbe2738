"""CGM summary as FHIR R4 Observations (Bundle of type collection), with the LOINC codes of the
HL7 CGM implementation guide 1.0.0 (HL7/cgm, CC0; codes in kb/data/monitoring/loinc_wearables.csv).

Per subject, over the reporting period (first to last reading, ``effectivePeriod``): one
Observation each for mean glucose (97507-8, mg/dL), GMI (97506-0, %), CV (104638-2, %), days of
wear (104636-6, d), sensor active percentage (104637-4, %) and the five times in ranges
(104642-4 < 54, 104641-6 54-69, 97510-2 70-180, 104640-8 181-250, 104639-0 > 250 mg/dL, % of
readings as in the metrics table), and a summary-panel Observation (107931-8) whose
``hasMember`` lists them. The resources validate as FHIR R4B; they are not checked against the
IG's own profiles (no FHIR validator here), so no ``meta.profile`` is claimed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from precisionrx.records.monitoring import CgmMetricValues

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: (metric column or derived name, LOINC code, display, UCUM unit)
SUMMARY_CODES = (
    ("mean", "97507-8", "Average glucose [Mass/volume] in Interstitial fluid during Reporting "
     "Period", "mg/dL"),
    ("gmi", "97506-0", "Glucose management indicator", "%"),
    ("cv", "104638-2", "Coefficient of variation of glucose by CGM", "%"),
    ("days_of_wear", "104636-6", "Continuous glucose monitoring duration of use (days of wear)",
     "d"),
    ("active_percent", "104637-4", "Continuous glucose monitoring sensor wear time active", "%"),
    ("very_low", "104642-4", "Time below range very low (<54 mg/dL) in Reporting Period", "%"),
    ("low", "104641-6", "Time below range low (54-69 mg/dL) in Reporting Period", "%"),
    ("in_range_70_180", "97510-2", "Glucose measurements in range out of Total glucose "
     "measurements during reporting period", "%"),
    ("high", "104640-8", "Time above range high (181-250 mg/dL) in Reporting Period", "%"),
    ("very_high", "104639-0", "Time above range very high (>250 mg/dL) in Reporting Period", "%"),
)  # fmt: skip
PANEL = ("107931-8", "Continuous glucose monitoring summary panel - Reporting Period")
CATEGORY = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                         "code": "laboratory"}]}]  # fmt: skip


def summary_values(row: CgmMetricValues) -> dict[str, float | None]:
    """The values the summary reports, from one subject's metrics."""

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    dt0 = float(row.dt0 or 0.0)
    return {
        "mean": row.mean, "gmi": row.gmi, "cv": row.cv,
        "days_of_wear": None if row.days is None else row.days + dt0 / 1440,
        "active_percent": row.active_percent,
        "very_low": row.below_54, "low": minus(row.below_70, row.below_54),
        "in_range_70_180": row.in_range_70_180,
        "high": minus(row.above_180, row.above_250), "very_high": row.above_250,
    }  # fmt: skip


def _instant(value: Any) -> str:
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
        return utc.isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(value)


def _subject(subject: str) -> dict[str, str]:
    # an id read from FHIR is already a reference ("Patient/123"); a file name is only a label
    return {"reference": subject} if "/" in subject else {"display": subject}


def subject_resources(row: CgmMetricValues) -> list[dict[str, Any]]:
    subject = row.id
    period = {"start": _instant(row.first), "end": _instant(row.last)}

    def url(code: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'cgm/{subject}/{code}')}"

    members = []
    out: list[dict[str, Any]] = []
    for key, code, display, unit in SUMMARY_CODES:
        value = summary_values(row)[key]
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cgm/{subject}/{code}")),
            "status": "final",
            "category": CATEGORY,
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "subject": _subject(subject),
            "effectivePeriod": period,
        }
        if value is None:
            obs["dataAbsentReason"] = {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "not-applicable"}]}  # fmt: skip
        else:
            obs["valueQuantity"] = {"value": float(value), "unit": unit,
                                    "system": UCUM, "code": unit}  # fmt: skip
        out.append({"fullUrl": url(code), "resource": obs})
        members.append({"reference": url(code), "display": display})
    panel = {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cgm/{subject}/{PANEL[0]}")),
        "status": "final",
        "category": CATEGORY,
        "code": {"coding": [{"system": LOINC, "code": PANEL[0], "display": PANEL[1]}]},
        "subject": _subject(subject),
        "effectivePeriod": period,
        "hasMember": members,
        "note": [{"text": "Computed by precisionrx from CGM readings; decision support only."}],
    }
    return [{"fullUrl": url(PANEL[0]), "resource": panel}, *out]


def render_cgm_bundle(rows: Sequence[CgmMetricValues]) -> str:
    """A collection Bundle with every subject's CGM summary."""
    issued = datetime.now(UTC).isoformat(timespec="seconds")
    entries = [entry for row in rows for entry in subject_resources(row)]
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": issued, "entry": entries}
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
