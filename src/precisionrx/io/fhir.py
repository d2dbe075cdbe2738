"""FHIR R4 Bundle reader (``fhir.resources.R4B``), lenient per resource.

A resource that fails validation is reported in ``PatientRecord.input_warnings`` and
skipped; the Bundle itself and its Patient must be valid. Genomic files are referenced by
a ``DocumentReference`` whose attachment ``url`` is a file path (``file://`` or relative)
and whose ``contentType`` or ``type.text`` says VCF.

The file is read through :mod:`precisionrx.io.textio` (regular file, UTF-8/UTF-16, BOM). A JSON
list, a bare resource (a Patient without its Bundle), an ``entry`` that is not a list, or a
``NaN``/``Infinity`` token (not JSON, RFC 8259) is a FhirValidationError naming the problem.

:func:`read_bundle_data` is the one entry point for FHIR patient data (``read_bundle``, the
patient file of ``plan``, medication lists): a non-finite Observation value is a
FhirValidationError naming the entry, and the record is checked against the plausibility
limits there (``check_plausible``, io/patient_file.py: PatientFileError naming the field).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from precisionrx.errors import FhirValidationError
from precisionrx.io.patient_file import check_plausible
from precisionrx.io.textio import load_json, read_text
from precisionrx.records import (
    Allergy,
    Condition,
    Demographics,
    FamilyHistoryItem,
    GenomicInput,
    Measurement,
    Medication,
    PatientRecord,
)

SUPPORTED = {
    "Patient",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "Observation",
    "AllergyIntolerance",
    "FamilyMemberHistory",
    "DocumentReference",
}


def read_bundle(path: str | Path) -> PatientRecord:
    path = Path(path)
    text = read_text(path, "FHIR Bundle", FhirValidationError)
    return read_bundle_data(load_json(text, path, FhirValidationError), path)


def _validate(resource: dict[str, Any]) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    cls = get_fhir_model_class(resource["resourceType"])
    return cls.model_validate(resource)


def _text(concept: Any) -> tuple[str | None, str | None, str | None]:
    if concept is None:
        return None, None, None
    coding = (concept.coding or [None])[0]
    name = concept.text or (coding.display if coding else None) or (coding.code if coding else None)
    return name, coding.code if coding else None, coding.system if coding else None


def read_bundle_data(data: Any, path: Path, require_patient: bool = True) -> PatientRecord:
    if isinstance(data, list):
        raise FhirValidationError(
            f"a JSON list of {len(data)} item(s), not a FHIR Bundle",
            path=path,
            hint='wrap the resources in a Bundle: {"resourceType": "Bundle", "entry": '
            '[{"resource": ...}]}',
        )
    if not isinstance(data, dict):
        raise FhirValidationError(
            f"a JSON {type(data).__name__}, not a FHIR Bundle (an object with resourceType "
            "'Bundle')",
            path=path,
        )
    rtype = data.get("resourceType")
    if rtype != "Bundle":
        what = f"a bare FHIR {rtype} resource" if isinstance(rtype, str) else "a JSON object "
        raise FhirValidationError(
            f"{what}{'' if isinstance(rtype, str) else 'without resourceType'}, not a FHIR "
            "Bundle (resourceType must be 'Bundle')",
            path=path,
            hint='wrap the resource in a Bundle: {"resourceType": "Bundle", "entry": '
            '[{"resource": ...}]}',
        )
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise FhirValidationError(
            f"Bundle.entry must be a list (got a JSON {type(entries).__name__})",
            path=path,
            record="entry",
        )
    warnings: list[str] = []
    patient = None
    conditions: list[Condition] = []
    meds: list[Medication] = []
    measurements: list[Measurement] = []
    allergies: list[Allergy] = []
    family: list[FamilyHistoryItem] = []
    genomic: list[GenomicInput] = []
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        where = f"entry[{i}] {rtype or '?'}"
        if rtype not in SUPPORTED:
            if rtype is None:
                warnings.append(f"{where}: no resource; skipped")
            continue
        try:
            model = _validate(res)  # type: ignore[arg-type]
        except Exception as exc:
            if rtype == "Patient":
                raise FhirValidationError(
                    f"invalid Patient resource ({exc})", path=path, record=where
                ) from exc
            first = str(exc).splitlines()[0][:160]
            warnings.append(f"{where}: invalid ({first}); skipped")
            continue
        if rtype == "Patient":
            patient = model
        elif rtype == "Condition":
            name, code, system = _text(model.code)
            if name:
                conditions.append(Condition(name=name, code=code, system=system))
        elif rtype in {"MedicationStatement", "MedicationRequest"}:
            name, code, system = _text(getattr(model, "medicationCodeableConcept", None))
            if name:
                rx = code if system and "rxnorm" in system.lower() else None
                meds.append(Medication(name=name, rxnorm=rx, status=str(model.status or "active")))
        elif rtype == "Observation":
            name, code, system = _text(model.code)
            q = getattr(model, "valueQuantity", None)
            if name and q is not None and q.value is not None:
                if not math.isfinite(float(q.value)):
                    raise FhirValidationError(
                        f"valueQuantity.value {q.value} is not a finite number",
                        path=path,
                        record=where,
                    )
                measurements.append(
                    Measurement(
                        name=name,
                        value=float(q.value),
                        unit=q.unit or q.code or "",
                        code=code,
                        system=system,
                        time=str(model.effectiveDateTime) if model.effectiveDateTime else None,
                    )
                )
        elif rtype == "AllergyIntolerance":
            name, code, _ = _text(model.code)
            if name:
                allergies.append(Allergy(substance=name, code=code))
        elif rtype == "FamilyMemberHistory":
            rel, _, _ = _text(model.relationship)
            for cond in model.condition or []:
                cname, _, _ = _text(cond.code)
                if cname:
                    family.append(FamilyHistoryItem(relation=rel or "relative", condition=cname))
        elif rtype == "DocumentReference":
            for content in model.content or []:
                att = content.attachment
                kind_text = " ".join(
                    x
                    for x in [att.contentType or "", (model.type.text if model.type else "") or ""]
                    if x
                ).lower()
                if att.url and "vcf" in (kind_text + att.url.lower()):
                    url = att.url.removeprefix("file://")
                    p = Path(url)
                    if not p.is_absolute():
                        p = (path.parent / p).resolve()
                    genomic.append(GenomicInput(kind="germline_vcf", path=str(p)))
    if patient is None:
        if require_patient:
            raise FhirValidationError("the Bundle has no Patient resource", path=path)
        return PatientRecord(
            id="unknown",
            medications=tuple(meds),
            input_warnings=tuple(warnings),
        )
    age = None
    if patient.birthDate:
        from datetime import date

        born = patient.birthDate
        today = date.today()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    sex: Literal["female", "male", "unknown"] = (
        "female"
        if patient.gender == "female"
        else "male"
        if patient.gender == "male"
        else "unknown"
    )
    name = None
    if patient.name:
        n = patient.name[0]
        name = n.text or " ".join([*(n.given or []), n.family or ""]).strip() or None
    record = PatientRecord(
        id=patient.id or "patient",
        name=name,
        demographics=Demographics(
            sex_at_birth=sex,
            age_years=age,
            birth_date=str(patient.birthDate) if patient.birthDate else None,
        ),
        conditions=tuple(conditions),
        medications=tuple(meds),
        allergies=tuple(allergies),
        measurements=tuple(measurements),
        family_history=tuple(family),
        genomic_inputs=tuple(genomic),
        input_warnings=tuple(warnings),
    )
    check_plausible(record, path)
    return record
