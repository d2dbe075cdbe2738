"""The public result models and their JSON Schemas (``docs/schema/<name>.json``).

``python -m precisionrx.api.schemas DIR`` writes one schema per model; the test suite checks
that the committed files are current. Add a model here when it becomes a public result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from precisionrx.engines.pgx.api import PgxRun
from precisionrx.plan.model import TreatmentPlan
from precisionrx.records import Caveat, PatientRecord, SampleResult
from precisionrx.records.cardio import CardioSection, RiskResult
from precisionrx.records.effects import AteResult
from precisionrx.records.evidence import Provenance
from precisionrx.records.fairness import FairnessAudit
from precisionrx.records.interactions import InteractionResult
from precisionrx.records.mental_health import OptionsResult, ScoreResult, TrackResult
from precisionrx.records.monitoring import (
    AgpResult,
    AlertsResult,
    CgmMetricsResult,
    MonitoringSection,
    VitalsSection,
    VitalsSummary,
)
from precisionrx.records.oncology import TumourReport
from precisionrx.records.prs import PrsResult
from precisionrx.report.pgx_json import PgxDocument

#: Schema file name -> model.
PUBLIC_RESULTS: dict[str, type[BaseModel]] = {
    "caveat": Caveat,
    "provenance": Provenance,
    "patient_record": PatientRecord,
    "pgx_sample_result": SampleResult,
    "pgx_run": PgxRun,
    "pgx_document": PgxDocument,
    "risk_result": RiskResult,
    "prs_result": PrsResult,
    "cardio_section": CardioSection,
    "tumour_report": TumourReport,
    "cgm_metrics_result": CgmMetricsResult,
    "agp_result": AgpResult,
    "alerts_result": AlertsResult,
    "vitals_summary": VitalsSummary,
    "monitoring_section": MonitoringSection,
    "interaction_result": InteractionResult,
    "vitals_section": VitalsSection,
    "treatment_plan": TreatmentPlan,
    "mh_score_result": ScoreResult,
    "mh_track_result": TrackResult,
    "mh_options_result": OptionsResult,
    "ate_result": AteResult,
    "fairness_audit": FairnessAudit,
}


def schema_text(model: type[BaseModel]) -> str:
    """The model's JSON Schema, stable text.

    Validation mode: the fields, their types and which are required. The serialisation-mode
    schema says nothing for models whose JSON is shaped by a custom serializer (key order,
    keys left out when empty: the cardio, monitoring and vitals results), and the JSON output
    is always a document the validation schema accepts (the conformance suite checks it)."""
    schema = model.model_json_schema(mode="validation")
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, model in PUBLIC_RESULTS.items():
        path = folder / f"{name}.json"
        path.write_text(schema_text(model), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover - a build step
    for written in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schema")):
        print(written)
