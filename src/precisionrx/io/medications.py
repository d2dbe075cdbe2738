"""Medication lists: plain text (one name or RxNorm code per line), JSON/YAML lists, or FHIR.

Plain text lines may carry a dose after the name (``clopidogrel 75 mg daily``); ``#`` starts
a comment. JSON/YAML: a list of strings or of objects with ``name`` and optional ``rxnorm`` and
``dose``, or ``{"medications": [...]}``. A FHIR Bundle contributes its MedicationStatement and
MedicationRequest entries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from precisionrx.errors import InputError
from precisionrx.records import Medication


def _from_items(items: Any, path: Path) -> list[Medication]:
    if isinstance(items, dict) and "medications" in items:
        items = items["medications"]
    if not isinstance(items, list):
        raise InputError("expected a list of medications", path=path)
    meds = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            meds.append(_from_text(item))
        elif isinstance(item, dict) and item.get("name"):
            meds.append(
                Medication(
                    name=str(item["name"]),
                    rxnorm=str(item["rxnorm"]) if item.get("rxnorm") else None,
                    dose=str(item["dose"]) if item.get("dose") else None,
                )
            )
        else:
            raise InputError("medication entry needs a name", path=path, record=f"item {i + 1}")
    return meds


def _from_text(line: str) -> Medication:
    text = line.strip()
    if text.isdigit():
        return Medication(name=text, rxnorm=text)
    return Medication(name=text)


def read_medications(path: str | Path) -> list[Medication]:
    path = Path(path)
    if not path.is_file():
        raise InputError("medication file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("medication file is not UTF-8 text", path=path) from exc
    suffix = path.suffix.lower()
    if suffix in {".json", ".yaml", ".yml"}:
        try:
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise InputError(
                f"cannot parse medication file ({exc.__class__.__name__})", path=path
            ) from exc
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            from precisionrx.io.fhir import read_bundle_data

            return list(read_bundle_data(data, path, require_patient=False).medications)
        return _from_items(data, path)
    return [
        _from_text(ln.split("#", 1)[0]) for ln in text.splitlines() if ln.split("#", 1)[0].strip()
    ]
