"""``/patients/new``: a clinician creates a patient from the web (the API's
``POST /api/v1/patients``), either from a few fields or from a patient file (YAML or JSON, the
schema of ``precisionrx plan``'s patient file without file paths). A record that does not
validate comes back with each problem next to its field."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from precisionrx.errors import PrecisionRxError
from precisionrx.records.patient import PatientRecord
from precisionrx.security.tokens import Identity
from precisionrx.service import routes_patients
from precisionrx.service.routes_web import (
    _clinician_form,
    _error,
    _render,
    _signed_in_clinician,
)

router = APIRouter(include_in_schema=False)

#: Largest patient file read from the form (the API's JSON limit is larger; a patient file
#: without files is a few kilobytes).
MAX_PATIENT_FILE = 256 * 1024
#: A medicine line: its name, then (from the first digit or a known word) the dose.
_DOSE_START = re.compile(r"\s(?=\d|planned\b|as needed\b|prn\b)", re.IGNORECASE)


def medicine_lines(text: str) -> list[dict[str, str]]:
    """One medicine per line, ``name [dose]``: ``clopidogrel 75 mg daily`` is clopidogrel at
    "75 mg daily"; a line without a number is a name alone."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        name, dose = ([*_DOSE_START.split(line, maxsplit=1), ""])[:2]
        medicine = {"name": name.strip()}
        if dose.strip():
            medicine["dose"] = dose.strip()
        out.append(medicine)
    return out


def _from_fields(form: dict[str, str]) -> dict[str, Any]:
    demographics: dict[str, Any] = {"sex_at_birth": form["sex_at_birth"] or "unknown"}
    if form["age_years"].strip():
        try:
            demographics["age_years"] = float(form["age_years"])
        except ValueError:
            demographics["age_years"] = form["age_years"]  # validation names the field
    for key in ("country", "ancestry_self_reported"):
        if form[key].strip():
            demographics[key] = form[key].strip()
    conditions = [{"name": c.strip()} for c in form["conditions"].splitlines() if c.strip()]
    record: dict[str, Any] = {"id": form["reference"].strip(), "demographics": demographics,
                              "medications": medicine_lines(form["medications"]),
                              "conditions": conditions}  # fmt: skip
    if form["name"].strip():
        record["name"] = form["name"].strip()
    return record


def _from_file(content: bytes, filename: str) -> dict[str, Any]:
    """The patient file's fields; file paths are refused by the API's own check."""
    import yaml

    if len(content) > MAX_PATIENT_FILE:
        raise ValueError(f"{filename}: larger than {MAX_PATIENT_FILE // 1024} KB")
    as_json = filename.lower().endswith(".json")
    try:
        text = content.decode("utf-8")
        data = json.loads(text) if as_json else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ValueError(f"{filename}: not readable as {'JSON' if as_json else 'YAML'} "
                         f"({reason})") from None  # fmt: skip
    if not isinstance(data, dict):
        raise ValueError(f"{filename}: a patient file is a mapping of fields")
    return data


#: Form fields, and the record field their errors are reported under.
_FIELD_OF = {"id": "reference", "name": "name", "demographics.sex_at_birth": "sex_at_birth",
             "demographics.age_years": "age_years", "demographics.country": "country",
             "demographics.ancestry_self_reported": "ancestry_self_reported",
             "medications": "medications", "conditions": "conditions"}  # fmt: skip


def _field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in exc.errors():
        path = [str(p) for p in e["loc"]]
        dotted = ".".join(p for p in path if not p.isdigit())
        field = next((f for k, f in _FIELD_OF.items() if dotted == k or dotted.startswith(k + ".")),
                     "file")  # fmt: skip
        where = ".".join(path)
        errors.setdefault(field, f"{where}: {e['msg']}")
    return errors


def _form(request: Request, who: Identity, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    blank = dict.fromkeys(("reference", "name", "sex_at_birth", "age_years", "country",
                           "ancestry_self_reported", "medications", "conditions"), "")  # fmt: skip
    return _render(request, "web_new_patient.html.j2",
                   {"title": "New patient", "v": {**blank, **(values or {})},
                    "errors": errors or {}}, status=status, who=who)  # fmt: skip


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_page(request: Request) -> Response:
    who = _signed_in_clinician(request)
    if isinstance(who, Response):
        return who
    return _form(request, who)


@router.post("/patients/new", response_class=HTMLResponse)
async def create_patient(
    request: Request,
    csrf: Annotated[str, Form()] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    sex_at_birth: Annotated[str, Form(max_length=20)] = "",
    age_years: Annotated[str, Form(max_length=20)] = "",
    country: Annotated[str, Form(max_length=60)] = "",
    ancestry_self_reported: Annotated[str, Form(max_length=200)] = "",
    medications: Annotated[str, Form(max_length=20_000)] = "",
    conditions: Annotated[str, Form(max_length=20_000)] = "",
    patient_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Create the patient (the API's create, with its checks), then their page."""
    who = _clinician_form(request, csrf)
    if isinstance(who, Response):
        return who
    values = {"reference": reference, "name": name, "sex_at_birth": sex_at_birth,
              "age_years": age_years, "country": country,
              "ancestry_self_reported": ancestry_self_reported, "medications": medications,
              "conditions": conditions}  # fmt: skip
    try:
        if patient_file is not None and patient_file.filename:
            data = _from_file(await patient_file.read(MAX_PATIENT_FILE + 1), patient_file.filename)
        else:
            if not reference.strip():
                missing = {"reference": "Give the patient's reference (or a patient file)."}
                return _form(request, who, values, missing, 422)
            data = _from_fields(values)
        record = PatientRecord.model_validate(data)
        created = routes_patients.create_patient(record, request, who)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            return _form(request, who, values, _field_errors(exc), 422)
        return _form(request, who, values, {"file": str(exc)}, 422)
    except PrecisionRxError as exc:
        return _form(request, who, values, {"file": exc.render()}, 422)
    except HTTPException as exc:
        if exc.status_code == 422:
            return _form(request, who, values, {"file": str(exc.detail)}, 422)
        return _error(request, who, exc)
    return RedirectResponse(f"/patients/{created.id}?created=1", status_code=303)
