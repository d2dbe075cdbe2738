"""Upload validation: a file is acknowledged only after the reader of its kind has read it.

Each kind is checked by the same :mod:`precisionrx.io` reader the plan will use, on a private
temporary copy (mode 0600, removed afterwards), so a file that would make the plan fail is
refused at upload with the reader's one-paragraph error (HTTP 422), and nothing is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from precisionrx.errors import InputError


class FileKind(StrEnum):
    germline_vcf = "germline_vcf"
    tumor_maf = "tumor_maf"
    tumor_vcf = "tumor_vcf"
    cna = "cna"
    fusions = "fusions"
    cgm = "cgm"
    vitals = "vitals"
    fhir_bundle = "fhir_bundle"
    medications = "medications"
    outside_calls = "outside_calls"
    questionnaires = "questionnaires"


#: Suffixes kept from the uploaded file name (the readers tell formats apart by them).
_SUFFIX = re.compile(
    r"(\.(?:vcf|bcf|maf|tsv|txt|csv|json|ndjson|xml|yaml|yml|zip))(\.gz|\.bgz)?$", re.IGNORECASE
)


def safe_suffix(filename: str | None, kind: FileKind) -> str:
    """The suffix the stored copy gets: the upload's recognised suffix, else the kind's usual."""
    match = _SUFFIX.search(filename or "")
    if match:
        return (match.group(1) + (match.group(2) or "")).lower()
    return {
        FileKind.germline_vcf: ".vcf",
        FileKind.tumor_vcf: ".vcf",
        FileKind.tumor_maf: ".maf",
        FileKind.fhir_bundle: ".json",
        FileKind.vitals: ".xml",
        FileKind.medications: ".txt",
    }.get(
        kind, ".tsv" if kind in (FileKind.cna, FileKind.fusions, FileKind.outside_calls) else ".csv"
    )


def _germline(path: Path, meta: dict[str, Any]) -> str:
    from precisionrx.io.vcf import VcfFile

    sample = meta.get("sample")
    with VcfFile(path, [sample] if sample else None) as vcf:
        vcf.check_build(meta.get("genome_build") or "GRCh38")
        n = len(vcf.samples)
    return f"VCF read ({n} sample(s))"


def _tumour(maf: bool) -> Callable[[Path, dict[str, Any]], str]:
    def check(path: Path, _meta: dict[str, Any]) -> str:
        from precisionrx.io.tumor_inputs import read_tumour

        read = read_tumour(path, maf=maf)
        return f"{len(read.alterations)} alteration(s) read"

    return check


def _cna(path: Path, _meta: dict[str, Any]) -> str:
    from precisionrx.io.tumor_tables import read_cna

    return f"{len(read_cna(path))} copy-number alteration(s) read"


def _fusions(path: Path, _meta: dict[str, Any]) -> str:
    from precisionrx.io.tumor_tables import read_fusions

    return f"{len(read_fusions(path))} fusion(s) read"


def _cgm(path: Path, meta: dict[str, Any]) -> str:
    from precisionrx.io.cgm import read_cgm

    readings = read_cgm(path, meta.get("timezone"))
    return f"{readings.frame.height} reading(s) read"


def _vitals(path: Path, _meta: dict[str, Any]) -> str:
    from precisionrx.io.vitals_inputs import read_vitals

    read_vitals(path)
    return "health export read"


def _bundle(path: Path, _meta: dict[str, Any]) -> str:
    """A FHIR Bundle: its patient data (conditions, medications ...) and its Genomics
    Reporting results (genotypes, HLA results, implications) read as the plan reads them."""
    from precisionrx.errors import FhirValidationError
    from precisionrx.io.fhir import read_bundle_data
    from precisionrx.io.fhir_genomics import genomics_from_data

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FhirValidationError("not JSON", path=path.name) from exc
    record = read_bundle_data(data, path, require_patient=False)
    genomics = genomics_from_data([(data, path.name)]).result
    if len(genomics.subjects) > 1:
        raise FhirValidationError(
            f"genomic results about {len(genomics.subjects)} subjects; upload one person's report",
            path=path.name,
        )
    summary = f"{len(record.conditions)} condition(s), {len(record.medications)} medication(s)"
    if genomics.genotypes or genomics.hla or genomics.implications:
        summary += (
            f", {len(genomics.genotypes)} genotype(s), {len(genomics.hla)} HLA result(s), "
            f"{len(genomics.implications)} therapeutic implication(s)"
        )
    return summary


def _medications(path: Path, _meta: dict[str, Any]) -> str:
    from precisionrx.io.medications import read_medications

    return f"{len(read_medications(path))} medication(s) read"


def _outside(path: Path, _meta: dict[str, Any]) -> str:
    from precisionrx.io.outside_calls import read_outside_calls

    return f"{len(read_outside_calls(path))} outside call(s) read"


def _questionnaires(path: Path, _meta: dict[str, Any]) -> str:
    """Questionnaire answers (scored by the mental-health engine once it exists): a CSV
    with ``id, instrument, date, item_1 …`` or FHIR QuestionnaireResponse JSON/NDJSON."""
    text = path.read_text(encoding="utf-8", errors="strict")
    head = text.lstrip()[:1]
    if head in "{[":
        lines = [ln for ln in text.splitlines() if ln.strip()]
        try:
            items = (
                [json.loads(text)]
                if head == "[" or len(lines) == 1
                else [json.loads(ln) for ln in lines]
            )
        except ValueError:
            items = [json.loads(text)]
        flat: list[Any] = []
        for item in items:
            flat.extend(item if isinstance(item, list) else [item])
        kinds = {i.get("resourceType") for i in flat if isinstance(i, dict)}
        if not kinds <= {"QuestionnaireResponse", "Bundle"} or not kinds:
            raise InputError("expected FHIR QuestionnaireResponse resources", path=path.name)
        return f"{len(flat)} resource(s) read"
    header = [c.strip().lower() for c in text.splitlines()[0].split(",")] if text else []
    if not {"id", "instrument", "date"} <= set(header):
        raise InputError(
            "expected a CSV header with id, instrument, date, item_1 …", path=path.name
        )
    return f"{max(len(text.splitlines()) - 1, 0)} row(s) read"


CHECKS: dict[FileKind, Callable[[Path, dict[str, Any]], str]] = {
    FileKind.germline_vcf: _germline,
    FileKind.tumor_maf: _tumour(True),
    FileKind.tumor_vcf: _tumour(False),
    FileKind.cna: _cna,
    FileKind.fusions: _fusions,
    FileKind.cgm: _cgm,
    FileKind.vitals: _vitals,
    FileKind.fhir_bundle: _bundle,
    FileKind.medications: _medications,
    FileKind.outside_calls: _outside,
    FileKind.questionnaires: _questionnaires,
}


def validate(kind: FileKind, path: Path, meta: dict[str, Any]) -> str:
    """Read the file with its kind's reader: a short summary, or the reader's error
    (the error tree); a reader's unexpected exception is an InputError too."""
    try:
        return CHECKS[kind](path, meta)
    except InputError:
        raise
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(
            f"cannot read this file as {kind.value} ({type(exc).__name__})",
            path=meta.get("filename") or path.name,
        ) from exc
