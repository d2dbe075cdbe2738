"""FHIR JSON as a set of resources: files (JSON or NDJSON) read into one index whose references
resolve across files, Bundles and operation ``Parameters`` opened, and the CodeableConcept
helpers the readers of coded results share (:mod:`precisionrx.io.fhir_genomics`).

A file that is not JSON or NDJSON is a FhirValidationError naming the file and the line; inside
it, reading is lenient per resource: what is not a resource, an entry without one, a resource
of a checked type that is not valid R4 (``fhir.resources.R4B``) or a second, different resource
with an id already read becomes a warning of the index, never an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from precisionrx.errors import FhirValidationError
from precisionrx.io.textio import load_json, read_text

Resource = dict[str, Any]


@dataclass(slots=True)
class Entry:
    """One resource, its key (``Type/id``, else its ``fullUrl``, else where it is) and where
    it was read (``file entry[3]``, ``file line 5``)."""

    data: Resource
    key: str
    where: str


@dataclass(slots=True)
class ResourceIndex:
    """Resources in reading order, by key and by ``fullUrl``, with the reading warnings."""

    entries: list[Entry] = field(default_factory=list)
    refs: dict[str, Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def resolve(self, ref: Any) -> Entry | None:
        """The resource a Reference points to (``Type/id``, a ``fullUrl``, an absolute URL
        ending in ``Type/id``), or None."""
        text = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(text, str) or not text:
            return None
        hit = self.refs.get(text)
        if hit is None and "/" in text and not text.startswith("urn:"):
            parts = text.split("/_history/")[0].rstrip("/").split("/")
            hit = self.refs.get("/".join(parts[-2:]))
        return hit


def load_fhir_file(path: str | Path) -> list[tuple[Any, str]]:
    """The JSON values of a FHIR JSON or NDJSON file, each with where it is (``file`` or
    ``file line N``); FhirValidationError naming the file and line otherwise."""
    path = Path(path)
    text = read_text(path, "FHIR", FhirValidationError)
    if not text.strip():
        raise FhirValidationError("empty file: expected FHIR JSON or NDJSON", path=path)
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if len(lines) > 1 and lines[0][1].strip().startswith("{") and lines[0][1].strip().endswith("}"):
        try:
            first = load_json(lines[0][1], path, FhirValidationError)
        except FhirValidationError:
            first = None
        if isinstance(first, dict):  # NDJSON: every line is one JSON value
            out = []
            for n, line in lines:
                try:
                    value = load_json(line, path, FhirValidationError)
                except FhirValidationError as exc:
                    raise FhirValidationError(
                        f"NDJSON line is not JSON ({exc.message})", path=path, record=f"line {n}"
                    ) from exc
                out.append((value, f"{path.name} line {n}"))
            return out
    return [(load_json(text, path, FhirValidationError), path.name)]


def add_value(
    value: Any,
    where: str,
    index: ResourceIndex,
    full_url: str | None = None,
    validated: frozenset[str] = frozenset(),
) -> None:
    """Add a JSON value (a resource, a Bundle, Parameters or a list of them); resources of the
    ``validated`` types are checked against their R4 model first."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            add_value(item, f"{where} [{i}]", index, None, validated)
        return
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        index.warnings.append(f"{where}: not a FHIR resource (no resourceType); skipped")
        return
    rtype = value["resourceType"]
    if rtype == "Bundle":
        entries = value.get("entry") or []
        if not isinstance(entries, list):
            index.warnings.append(f"{where}: Bundle.entry is not a list; skipped")
            return
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, dict) else None
            url = entry.get("fullUrl") if isinstance(entry, dict) else None
            if res is None:
                index.warnings.append(f"{where} entry[{i}]: no resource; skipped")
                continue
            add_value(res, f"{where} entry[{i}]", index, url if isinstance(url, str) else None,
                      validated)  # fmt: skip
        return
    if rtype == "Parameters":
        for p in _params(value.get("parameter")):
            if isinstance(p.get("resource"), dict):
                add_value(p["resource"], f"{where} parameter {p.get('name', '?')}", index, None,
                          validated)  # fmt: skip
        return
    rid = value.get("id")
    key = f"{rtype}/{rid}" if isinstance(rid, str) and rid else (full_url or where)
    entry = Entry(value, key, where)
    if rtype in validated:
        problem = invalid_reason(value)
        if problem:
            index.warnings.append(f"{key} ({where}): not a valid R4 {rtype} ({problem}); skipped")
            return
    seen = index.refs.get(key)
    if seen is not None:
        if seen.data != value:
            index.warnings.append(
                f"{key} ({where}): another resource with this id was read first "
                f"({seen.where}); this one is ignored"
            )
        if full_url:
            index.refs.setdefault(full_url, seen)
        return
    index.entries.append(entry)
    index.refs[key] = entry
    if full_url:
        index.refs.setdefault(full_url, entry)


def _params(params: Any) -> Iterator[dict[str, Any]]:
    for p in params if isinstance(params, list) else []:
        if isinstance(p, dict):
            yield p
            yield from _params(p.get("part"))


def invalid_reason(resource: Resource) -> str | None:
    """Why a resource is not valid R4 (first problem), or None."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except Exception as exc:  # pydantic's ValidationError and the model's own checks
        errors = getattr(exc, "errors", None)
        if callable(errors):
            with contextlib.suppress(Exception):
                first = errors()[0]
                where = ".".join(str(x) for x in first.get("loc", ()))
                return f"{where}: {first.get('msg')}"[:160] if where else str(first.get("msg"))
        return str(exc).splitlines()[0][:160]
    return None


def codings(concept: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (none when it is not one)."""
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def codes(concept: Any) -> set[str]:
    """The codes of a CodeableConcept's codings."""
    return {c["code"] for c in codings(concept) if isinstance(c.get("code"), str)}


def concept_text(concept: Any) -> str | None:
    """Display, else text, else code of a CodeableConcept."""
    for c in codings(concept):
        if isinstance(c.get("display"), str) and c["display"].strip():
            return str(c["display"]).strip()
    if isinstance(concept, dict) and isinstance(concept.get("text"), str):
        return str(concept["text"]).strip() or None
    for c in codings(concept):
        if isinstance(c.get("code"), str) and c["code"].strip():
            return str(c["code"]).strip()
    return None


def components(res: Resource, code: str) -> list[dict[str, Any]]:
    """An Observation's components coded ``code``."""
    return [
        c
        for c in res.get("component") or []
        if isinstance(c, dict) and code in codes(c.get("code"))
    ]


def component_text(res: Resource, code: str) -> str | None:
    """The value of the first component coded ``code`` as text."""
    for comp in components(res, code):
        value = comp.get("valueCodeableConcept")
        text = concept_text(value) if value is not None else comp.get("valueString")
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def index_values(
    values: Sequence[tuple[Any, str]], validated: frozenset[str] = frozenset()
) -> ResourceIndex:
    """One index of JSON values, each with where it came from (see :func:`add_value`)."""
    index = ResourceIndex()
    for value, where in values:
        add_value(value, where, index, None, validated)
    return index
