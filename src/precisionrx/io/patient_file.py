"""The simple patient file (YAML or JSON) for users without FHIR.

Minimal example::

    id: demo-001
    demographics: {sex_at_birth: female, age_years: 58}
    medications: [{name: clopidogrel}]
    genomic_inputs: [{kind: germline_vcf, path: demo.vcf}]

Relative paths in ``genomic_inputs`` are resolved against the patient file's folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from precisionrx.errors import PatientFileError
from precisionrx.records import GenomicInput, PatientRecord


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_patient(data: Any, path: Path) -> PatientRecord:
    if not isinstance(data, dict):
        raise PatientFileError("expected a mapping of patient fields at the top level", path=path)
    try:
        record = PatientRecord.model_validate(data)
    except ValidationError as exc:
        raise PatientFileError(f"invalid patient data ({_describe(exc)})", path=path) from exc
    resolved = tuple(
        gi.model_copy(update={"path": str((path.parent / gi.path).resolve())})
        if not Path(gi.path).is_absolute()
        else gi
        for gi in record.genomic_inputs
    )
    streams = tuple(
        ms.model_copy(update={"path": str((path.parent / ms.path).resolve())})
        if not Path(ms.path).is_absolute()
        else ms
        for ms in record.monitoring
    )
    return record.model_copy(update={"genomic_inputs": resolved, "monitoring": streams})


def read_patient_file(path: str | Path) -> PatientRecord:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PatientFileError("file not found", path=path) from exc
    except UnicodeDecodeError as exc:
        raise PatientFileError("not UTF-8 text", path=path) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        record = f"line {where.line + 1}" if where is not None else None
        raise PatientFileError(
            f"cannot parse ({exc.__class__.__name__})", path=path, record=record
        ) from exc
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        from precisionrx.io.fhir import read_bundle_data

        return read_bundle_data(data, path)
    return parse_patient(data, path)


def germline_vcfs(record: PatientRecord) -> list[GenomicInput]:
    return [g for g in record.genomic_inputs if g.kind == "germline_vcf"]
