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

from collections.abc import Sequence

from precisionrx import __version__
from precisionrx.records.evidence import Provenance
from precisionrx.records.monitoring import CgmMetricValues
from precisionrx.report.fhir.common import (
    LABORATORY,
    LOINC,
    Resource,
    absent,
    bundle_text,
    coding,
    instant,
    now,
    observation,
    quantity,
    reference,
    resource_id,
)
from precisionrx.report.writers import versions_text

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
CATEGORY = [LABORATORY]


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


def _subject(subject: str) -> dict[str, str]:
    # an id read from FHIR is already a reference ("Patient/123"); a file name is only a label
    return {"reference": subject} if "/" in subject else {"display": subject}


def subject_resources(
    row: CgmMetricValues, provenance: Provenance | None, subject: dict[str, str] | None = None
) -> list[Resource]:
    """One subject's CGM summary panel (first) and its ten member Observations, about
    ``subject`` (a reference; by default the subject id of the readings)."""
    subject = subject or _subject(row.id)
    period = {"start": instant(row.first), "end": instant(row.last)}
    values = summary_values(row)
    members: list[Resource] = []
    for key, code, display, unit in SUMMARY_CODES:
        value = values[key]
        obs = observation(resource_id("cgm", row.id, code), coding(LOINC, code, display),
                          subject, None, CATEGORY)  # fmt: skip
        obs["effectivePeriod"] = period
        if value is None:
            obs["dataAbsentReason"] = absent()
        else:
            obs["valueQuantity"] = quantity(float(value), unit)
        members.append(obs)
    tool = provenance.tool_version if provenance is not None else __version__
    kbs = provenance.knowledge_bases if provenance is not None else ()
    panel = observation(resource_id("cgm", row.id, PANEL[0]), coding(LOINC, *PANEL), subject,
                        None, CATEGORY)  # fmt: skip
    panel |= {
        "effectivePeriod": period,
        "hasMember": [reference(m, m["code"]["coding"][0]["display"]) for m in members],
        "note": [{"text": "Computed from CGM readings; decision support only. "
                          f"{versions_text(tool, kbs)}."}],
    }  # fmt: skip
    return [panel, *members]


def cgm_bundle(rows: Sequence[CgmMetricValues], provenance: Provenance | None) -> str:
    """``precisionrx monitor metrics --format fhir``: every subject's CGM summary."""
    issued = now()
    return bundle_text([r for row in rows for r in subject_resources(row, provenance)], issued)
