"""A plan from what the store holds: the stored patient record plus the uploaded files.

The files are decrypted into a private temporary folder (mode 0700, removed afterwards) and
named in the record the way a patient file names them (questionnaire uploads as
``questionnaires: [{path: ...}]``, a FHIR Bundle as its patient data plus a genomic input of kind
``fhir_bundle``); the plan is then built by the same
entry point as ``precisionrx plan`` (:func:`precisionrx.plan.builder.build_plan`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.model import TreatmentPlan
from precisionrx.storage.store import Store, StoredFile

#: Upload kind -> what the patient record calls it: ("genomic", kind) or ("monitoring", kind).
RECORD_KIND: dict[str, tuple[str, str]] = {
    "germline_vcf": ("genomic", "germline_vcf"),
    "tumor_maf": ("genomic", "maf"),
    "tumor_vcf": ("genomic", "tumor_vcf"),
    "cna": ("genomic", "cna"),
    "fusions": ("genomic", "fusions"),
    "outside_calls": ("genomic", "outside_calls"),
    "cgm": ("monitoring", "cgm"),
    "vitals": ("monitoring", "apple_health"),
}

#: Upload options that go into the record's entry for the file.
GENOMIC_OPTIONS = ("sample", "genome_build", "tumor_type", "msi", "callable_mb")
MONITORING_OPTIONS = ("timezone",)


def file_path(folder: Path, f: StoredFile) -> Path:
    """Where a stored file is written for the readers: its id with the upload's suffixes
    (readers tell formats apart by suffix: .vcf.gz, .json, .xml, ...)."""
    return folder / f"{f.id}{f.meta.get('suffix', '')}"


def _merge(record: dict[str, Any], extra: dict[str, Any], key: str) -> None:
    seen = {json.dumps(x, sort_keys=True) for x in record.get(key, [])}
    for item in extra.get(key, []):
        if json.dumps(item, sort_keys=True) not in seen:
            record.setdefault(key, []).append(item)


def patient_record(store: Store, patient_id: str, folder: Path) -> dict[str, Any]:
    """The patient file's data for the plan: the stored record with every upload named."""
    from precisionrx.io.fhir import read_bundle_data
    from precisionrx.io.medications import read_medications

    row = store.get_patient(patient_id)
    if row is None:
        raise LookupError(patient_id)
    record = dict(row.record)
    record["id"] = patient_id if not record.get("id") else record["id"]
    # never a server-side path from stored data (refused on input too): model files are
    # pickles, outside-call files would be read from the server's disk
    record.pop("effects", None)
    if isinstance(record.get("outside_calls"), str):
        record.pop("outside_calls")
    genomic: list[dict[str, Any]] = []
    monitoring: list[dict[str, Any]] = []
    questionnaires: list[dict[str, Any]] = []
    for f in store.list_files(patient_id):
        path = file_path(folder, f)
        path.write_bytes(store.file_content(patient_id, f.id))
        if f.kind == "medications":
            meds = [m.model_dump(mode="json", exclude_none=True) for m in read_medications(path)]
            _merge(record, {"medications": meds}, "medications")
        elif f.kind == "fhir_bundle":
            # the patient data it holds, and its Genomics Reporting results (genotypes, HLA
            # results) as a genomic input: plan/record_genotypes.py reads them as outside calls.
            # A lab's report need not carry a Patient resource (checked so on upload too).
            data = json.loads(path.read_text())
            extra = read_bundle_data(data, path, require_patient=False).model_dump(
                mode="json", exclude_none=True
            )
            for key in ("conditions", "medications", "allergies", "measurements", "family_history"):
                _merge(record, extra, key)
            genomic.append({"kind": "fhir_bundle", "path": str(path)})
        elif f.kind == "questionnaires":
            questionnaires.append({"path": str(path)})
        elif f.kind in RECORD_KIND:
            where, kind = RECORD_KIND[f.kind]
            entry: dict[str, Any] = {"kind": kind, "path": str(path)}
            options = GENOMIC_OPTIONS if where == "genomic" else MONITORING_OPTIONS
            entry.update({k: f.meta[k] for k in options if f.meta.get(k) is not None})
            (genomic if where == "genomic" else monitoring).append(entry)
    record["genomic_inputs"] = genomic
    record["monitoring"] = monitoring
    record["questionnaires"] = questionnaires
    return record


def build_stored_plan(
    store: Store,
    patient_id: str,
    kb: KnowledgeBase,
    progress: Callable[[float], None] = lambda _p: None,
) -> TreatmentPlan:
    """Build the plan of a stored patient (raises the error tree on bad stored data)."""
    from precisionrx.io.patient_file import parse_patient
    from precisionrx.plan.builder import build_plan

    with tempfile.TemporaryDirectory(prefix="precisionrx-plan-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o700)
        data = patient_record(store, patient_id, folder)
        progress(0.2)
        record = parse_patient(data, folder / "patient.json")
        plan = build_plan(record, kb)
        progress(0.9)
        return plan
