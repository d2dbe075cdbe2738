"""Medication lists: plain text (one name or RxNorm code per line), JSON/YAML lists, or FHIR.

Plain text lines may carry a dose after the name (``clopidogrel 75 mg daily``); ``#`` starts
a comment. JSON/YAML: a list of strings or of objects with ``name`` and optional ``rxnorm`` and
``dose``, or ``{"medications": [...]}``. A FHIR Bundle contributes its MedicationStatement and
MedicationRequest entries.

Only a medication list is read (docs/cli/pgx.md, "Medication lists"); another file given by
mistake is an :class:`~precisionrx.errors.InputError` naming the file (and the line), never
its lines taken as medication names:

- a plain-text entry is a name (it starts with a letter or digit and has a letter: ``5-FU``)
  or an RxNorm code (digits only), is at most
  :data:`MAX_ENTRY_CHARS` characters long, has no tab and no control character; a first line
  ``##fileformat=`` or ``#CHROM`` (a VCF) is refused as such;
- the text must decode (:func:`precisionrx.io.textio.read_text`: UTF-8, UTF-16 with its
  mark; a binary file is refused with its line);
- with ``recognised`` (the CLI passes the guideline data's drug, brand and RxNorm lookup),
  at least one entry must be a medication it recognises: a list with none is not a
  medication list, or one with nothing to review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from precisionrx.errors import InputError
from precisionrx.io.textio import read_text
from precisionrx.records import Medication

#: Longest plain-text medication entry (name, dose and directions) accepted.
MAX_ENTRY_CHARS = 200

#: A plain-text entry: a name (starting with a letter or digit, as 5-FU, with a letter in
#: it), or an RxNorm code (digits only).
_ENTRY = re.compile(r"^(?:\d+$|[^\W_].*?[^\W\d_])", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _from_items(items: Any, path: Path) -> list[Medication]:
    if isinstance(items, dict) and "medications" in items:
        items = items["medications"]
    if not isinstance(items, list):
        raise InputError("expected a list of medications", path=path)
    meds = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            meds.append(_checked(item, path, f"item {i + 1}"))
        elif isinstance(item, dict) and item.get("name"):
            _checked(str(item["name"]), path, f"item {i + 1}")
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


def _checked(entry: str, path: Path, record: str) -> Medication:
    """One entry as a medication, or an error naming the entry and what is wrong with it."""
    text = entry.strip()
    problem = None
    if len(text) > MAX_ENTRY_CHARS:
        problem = f"{len(text)} characters, longer than a medication entry ({MAX_ENTRY_CHARS})"
    elif "\t" in text:
        problem = "has tab-separated fields (a table, not a medication list)"
    elif _CONTROL.search(text):
        problem = "contains control characters (a binary file, not text)"
    elif not _ENTRY.match(text):
        problem = f"{text[:40]!r} does not start with a medication name or an RxNorm code"
    if problem:
        raise InputError(
            f"not a medication entry: {problem}",
            path=path,
            record=record,
            hint="a medication list has one name or RxNorm code per line, e.g. "
            "'clopidogrel 75 mg daily'",
        )
    return _from_text(text)


def _from_lines(text: str, path: Path) -> list[Medication]:
    lines = text.splitlines()
    first = lines[0].lstrip("\ufeff") if lines else ""
    if first.startswith(("##fileformat=", "#CHROM")):
        raise InputError(
            "a VCF, not a medication list",
            path=path,
            record="line 1",
            hint="genotypes go in the VCF argument; --medications takes a medication list",
        )
    return [
        _checked(ln.split("#", 1)[0], path, f"line {n}")
        for n, ln in enumerate(lines, start=1)
        if ln.split("#", 1)[0].strip()
    ]


def read_medications(
    path: str | Path, recognised: Callable[[Medication], bool] | None = None
) -> list[Medication]:
    """The medications of a list file (see the module docstring for what is refused)."""
    path = Path(path)
    text = read_text(path, "medication list", InputError)
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

            meds = list(read_bundle_data(data, path, require_patient=False).medications)
        else:
            meds = _from_items(data, path)
    else:
        meds = _from_lines(text, path)
    if recognised is not None and not any(recognised(m) for m in meds):
        shown = ", ".join(repr(m.name) for m in meds[:3]) + (", …" if len(meds) > 3 else "")
        raise InputError(
            "no recognisable medication: "
            + (
                f"none of the {len(meds)} entries ({shown}) is a drug name, brand name or "
                "RxNorm code of the guideline data"
                if meds
                else "the file lists none"
            ),
            path=path,
            hint="leave out --medications to get recommendations for every drug",
        )
    return meds
