"""Treatment effects in the plan: each model the record names (``effects:``) applied to the
patient (engines/effects/patient.py), with the model's evaluation and fairness audit when the
record names them.

The model file is read with the checks of ``effects predict`` (format, version, checksum,
allow-listed classes); a missing or refused model, evaluation or audit file stops the plan with
the file named (exit 2), as any other missing input does. Feature values come from the entry's
``values``, then the record: ``age`` / ``age_years`` from the demographics, then a measurement
whose name equals the feature (case-insensitive; the latest by time, in the unit recorded —
the model's training unit is not known to the plan, so ``value_sources`` names the unit).
An evaluation file must be of the model (its ``model_sha256`` equal to the model's payload
checksum), else the plan stops naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from precisionrx.engines.effects.patient import patient_effect
from precisionrx.errors import InputError
from precisionrx.io.effects_model import load_model
from precisionrx.io.textio import load_json, read_text
from precisionrx.records import PatientRecord
from precisionrx.records.effects import PatientEffect
from precisionrx.records.patient import EffectModelEntry

AGE_NAMES = ("age", "age_years")


def _json_report(path: str, what: str) -> dict[str, Any]:
    data = load_json(read_text(Path(path), what), path)
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object ({what})", path=path)
    return data


def feature_values(
    record: PatientRecord, entry: EffectModelEntry, features: list[str]
) -> tuple[dict[str, float], dict[str, str]]:
    """Values of ``features`` for this patient, and where each came from."""
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for f in features:
        if f in entry.values:
            values[f], sources[f] = float(entry.values[f]), "effects entry values"
        elif f.lower() in AGE_NAMES and record.demographics.age_years is not None:
            values[f], sources[f] = float(record.demographics.age_years), "demographics.age_years"
        else:
            same = [m for m in record.measurements if m.name.lower() == f.lower()]
            if same:  # the latest (undated ones count as the earliest)
                m = max(enumerate(same), key=lambda im: (im[1].time or "", im[0]))[1]
                when = f", {m.time}" if m.time else ""
                values[f], sources[f] = float(m.value), f"measurement {m.name} ({m.unit}{when})"
    return values, sources


def effects_section(record: PatientRecord) -> list[PatientEffect]:
    out: list[PatientEffect] = []
    for entry in record.effects:
        manifest, model = load_model(Path(entry.model))
        values, sources = feature_values(record, entry, list(model.features))
        evaluation = (
            _json_report(entry.evaluation, "effects evaluation") if entry.evaluation else None
        )
        if evaluation is not None and evaluation.get("model_sha256") != manifest["payload_sha256"]:
            raise InputError(
                "this evaluation is not of the model named beside it (its model_sha256 differs "
                "from the model's payload_sha256)",
                path=entry.evaluation,
                hint="run `precisionrx effects evaluate` on this model and held-out data",
            )
        fairness = _json_report(entry.fairness, "fairness audit") if entry.fairness else None
        out.append(
            patient_effect(
                model,
                values,
                treatment_label=entry.treatment_label,
                model_name=Path(entry.model).name,
                manifest=manifest,
                value_sources=sources,
                evaluation=evaluation,
                evaluation_source=Path(entry.evaluation).name if entry.evaluation else None,
                fairness=fairness,
                fairness_source=Path(entry.fairness).name if entry.fairness else None,
            )
        )
    return out
