"""The simple patient file (YAML or JSON) for users without FHIR.

Minimal example::

    id: demo-001
    demographics: {sex_at_birth: female, age_years: 58}
    medications: [{name: clopidogrel}]
    genomic_inputs: [{kind: germline_vcf, path: demo.vcf}]

Relative paths in ``genomic_inputs``, ``monitoring`` and ``questionnaires``
(``questionnaires: [{path: phq9.csv}]``) are resolved against the patient file's folder.

Validation (one layer, for YAML, JSON and FHIR patient files alike; docs/errors.md):

- unknown keys are errors naming the key, where it is, and the nearest known key
  (``medicatons`` -> ``did you mean 'medications'?``);
- a measurement whose name and unit match a row of the knowledge base's plausibility table
  (kb/data/limits/plausibility.tsv, the same table the ``risk`` command uses) must lie inside
  it; so must the age, and every date must be after the table's earliest year and not after
  the time of the run plus its margin. Otherwise the file is refused (PatientFileError naming
  the field): a plan must not be built on a systolic pressure of 9,999 mmHg.
"""

from __future__ import annotations

import difflib
import typing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from precisionrx.errors import PatientFileError
from precisionrx.io.textio import load_json, read_text
from precisionrx.kb.limits import TABLE, load_limits, normalise_unit, parse_date, year_of
from precisionrx.records import GenomicInput, PatientRecord
from precisionrx.records.risk_inputs import MGDL_PER_MMOL


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The record model that holds the key at ``loc`` (the parent of the last element)."""
    model: type[BaseModel] = PatientRecord
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        nested = [
            t
            for t in (field.annotation, *typing.get_args(field.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if not nested:
            return None
        model = nested[0]
    return model


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc]
    return "".join(parts).lstrip(".") or "top level"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    parent = f"in {_where(loc[:-1])}" if loc[:-1] else "at the top level"
    text = f"unknown key {key!r} {parent}"
    model = _model_at(loc)
    if model is not None:
        close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
        if close:
            text += f"; did you mean {close[0]!r}?"
        else:
            text += f" (known keys: {', '.join(model.model_fields)})"
    return text


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err["type"] == "extra_forbidden":
            parts.append(_unknown_key(tuple(err["loc"])))
            continue
        parts.append(f"{_where(tuple(err['loc']))}: {err['msg']}")
    return "; ".join(parts)


def _check_date(text: str | None, field: str, path: Path, earliest: datetime | None = None) -> None:
    """PatientFileError (record ``field``) when ``text`` is not a plausible date: before
    ``earliest`` (default: January 1 of the table's earliest year) or after the run time plus
    its margin."""
    if not text:
        return
    limits = load_limits()
    floor = earliest or datetime(limits.earliest_year(), 1, 1, tzinfo=UTC)
    year = year_of(text)
    when = parse_date(text)
    aware = None if when is None else when if when.tzinfo else when.replace(tzinfo=UTC)
    if (aware is not None and aware < floor) or (
        aware is None and year is not None and year < floor.year
    ):
        raise PatientFileError(
            f"{text!r} is before {floor:%Y-%m-%d} (not a plausible date; kb limits/{TABLE})",
            path=path,
            record=field,
        )
    problem = (
        None if when is None or when.year < limits.earliest_year() else (limits.date_problem(when))
    )
    # a year-month or a date with a time zone name: the year alone is checked
    if problem is None and when is None and year is not None and year > limits.latest_time().year:
        problem = f"dated {text}, after the time of this run"
    if problem is not None:
        raise PatientFileError(problem, path=path, record=field)


def _birth_floor() -> datetime:
    """The earliest plausible birth date: the run date minus the age row's maximum (130
    years), so that every age the table allows has a birth date it allows too."""
    oldest = load_limits().get("age").max or 130.0
    today = date.today()
    years = int(oldest)
    try:
        floor = today.replace(year=today.year - years - 1)
    except ValueError:  # 29 February
        floor = today.replace(year=today.year - years - 1, day=28)
    # a person aged ``oldest`` years (not yet oldest + 1) was born after this day
    return datetime(floor.year, floor.month, floor.day, tzinfo=UTC)


#: Cross-field pairs (lower, upper): the lower value must be below the upper one.
PAIRS = (("diastolic_bp", "systolic_bp"), ("hdl_cholesterol", "total_cholesterol"))
#: Units converted to the common unit of a pair before comparing (mg/dL for cholesterol).
_TO_COMMON = {"mmol/l": MGDL_PER_MMOL, "mg/dl": 1.0, "mmhg": 1.0}


def _below(values: list[tuple[str, str | None, float, str, str]], path: Path) -> None:
    """PatientFileError when a lower-than value (HDL, diastolic) is not below its pair's upper
    value (total cholesterol, systolic), in one unit (``_TO_COMMON``: cholesterol in mg/dL).

    Readings are paired by time: the k-th lower and the k-th upper value taken at the same
    instant, or both without a time (the k-th of each, as a list of readings is written)."""
    by: dict[tuple[str, str | None], list[tuple[float, str]]] = {}
    for key, time, value, unit, where in values:
        factor = _TO_COMMON.get(normalise_unit(unit))
        if factor is not None:
            by.setdefault((key, _instant(time)), []).append((value * factor, where))
    for lower, upper in PAIRS:
        common = "mg/dL" if "cholesterol" in lower else "mmHg"
        for (key, time), lows in by.items():
            if key != lower:
                continue
            for (lo, lo_where), (hi, hi_where) in zip(
                lows, by.get((upper, time), []), strict=False
            ):
                if lo >= hi:
                    raise PatientFileError(
                        f"{lower} {lo:.4g} {common} ({lo_where}) is not below {upper} "
                        f"{hi:.4g} {common} ({hi_where})" + ("" if time is None else f" at {time}"),
                        path=path,
                        record=lo_where,
                        hint="check the values and their units",
                    )


def _instant(time: str | None) -> str | None:
    """A comparable form of a measurement time (offsets applied), or the text itself."""
    if not time:
        return None
    when = parse_date(time)
    if when is None:
        return time.strip()
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat()


def check_plausible(record: PatientRecord, path: Path) -> None:
    """PatientFileError naming the field when a value is outside the plausibility table."""
    limits = load_limits()
    d = record.demographics
    if d.age_years is not None and not limits.get("age").contains(d.age_years):
        raise PatientFileError(
            limits.get("age").describe(d.age_years, "age_years"),
            path=path,
            record="demographics.age_years",
        )
    _check_date(d.birth_date, "demographics.birth_date", path, earliest=_birth_floor())
    for i, c in enumerate(record.conditions):
        _check_date(c.onset, f"conditions[{i}].onset", path)
    values: list[tuple[str, str | None, float, str, str]] = []
    for i, m in enumerate(record.measurements):
        where = f"measurements[{i}] ({m.name})"
        _check_date(m.time, f"{where}.time", path)
        key = limits.classify(m.name, m.code, m.system)
        limit = limits.find(key, m.unit) if key is not None else None
        if key is None or limit is None:
            continue
        if not limit.contains(m.value):
            raise PatientFileError(
                limit.describe(m.value, m.name),
                path=path,
                record=f"{where}.value",
                hint="check the value and its unit",
            )
        values.append((key, m.time, m.value, m.unit, f"measurements[{i}]"))
    _below(values, path)


def parse_patient(data: Any, path: Path) -> PatientRecord:
    if not isinstance(data, dict):
        raise PatientFileError("expected a mapping of patient fields at the top level", path=path)
    try:
        record = PatientRecord.model_validate(data)
    except ValidationError as exc:
        raise PatientFileError(f"invalid patient data ({_describe(exc)})", path=path) from exc
    check_plausible(record, path)
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
    forms = tuple(
        q.model_copy(update={"path": str((path.parent / q.path).resolve())})
        if not Path(q.path).is_absolute()
        else q
        for q in record.questionnaires
    )
    outside = record.outside_calls
    if isinstance(outside, str) and not Path(outside).is_absolute():
        outside = str((path.parent / outside).resolve())

    def near(name: str | None) -> str | None:
        if name is None or Path(name).is_absolute():
            return name
        return str((path.parent / name).resolve())

    effects = tuple(
        e.model_copy(update={"model": near(e.model), "evaluation": near(e.evaluation),
                             "fairness": near(e.fairness)})
        for e in record.effects
    )  # fmt: skip
    return record.model_copy(
        update={"genomic_inputs": resolved, "monitoring": streams, "questionnaires": forms,
                "outside_calls": outside, "effects": effects}
    )  # fmt: skip


def read_patient_file(path: str | Path) -> PatientRecord:
    path = Path(path)
    text = read_text(path, "patient", PatientFileError)
    if path.suffix.lower() == ".json":  # NaN / Infinity tokens are refused, naming the line
        data = load_json(text, path, PatientFileError)
        return _from_data(data, path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        record = f"line {where.line + 1}" if where is not None else None
        raise PatientFileError(
            f"cannot parse ({exc.__class__.__name__})", path=path, record=record
        ) from exc
    return _from_data(data, path)


def _from_data(data: Any, path: Path) -> PatientRecord:
    # FHIR input (a resource, or a JSON list of resources) goes to the FHIR reader, whose errors
    # say what a Bundle needs (FhirValidationError, exit 6); it checks plausibility itself.
    fhir_like = (isinstance(data, dict) and "resourceType" in data) or (
        isinstance(data, list) and path.suffix.lower() == ".json"
    )
    if fhir_like:
        from precisionrx.io.fhir import read_bundle_data

        return read_bundle_data(data, path)
    return parse_patient(data, path)


def germline_vcfs(record: PatientRecord) -> list[GenomicInput]:
    return [g for g in record.genomic_inputs if g.kind == "germline_vcf"]
