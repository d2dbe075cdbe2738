"""``precisionrx deid``: HIPAA Safe Harbor de-identification (45 CFR 164.514(b)(2)) of FHIR NDJSON
or of free text. The rules are in :mod:`precisionrx.security.deid` and docs/cli/deid.md."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from precisionrx.cli import app

if TYPE_CHECKING:
    from precisionrx.security.deid import RecordTerm

#: Name of the pseudonym key file in ``$PRECISIONRX_HOME``.
KEY_FILE = "deid.key"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _reference_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def default_key_path() -> Path:
    """``$PRECISIONRX_HOME/deid.key`` (home default ``~/.precisionrx``)."""
    from precisionrx.security.home import default_home

    return default_home() / KEY_FILE


def record_terms(path: Path) -> tuple[RecordTerm, ...]:
    """The deny-list of a ``--record`` file: a FHIR Patient, Bundle or JSON list of resources
    (every name, address part, telecom and identifier), or the plan's patient file (its name
    and id)."""
    import yaml

    from precisionrx.errors import PatientFileError
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.io.textio import load_json, read_text
    from precisionrx.security.deid import Placeholder, RecordTerm, collect_record_terms

    text = read_text(path, "record", PatientFileError)
    data: Any
    if path.suffix.lower() == ".json":
        data = load_json(text, path, PatientFileError)
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PatientFileError(f"cannot parse ({exc.__class__.__name__})", path=path) from None
    items = data if isinstance(data, list) else [data]
    resources = [r for r in items if isinstance(r, dict) and isinstance(r.get("resourceType"), str)]
    if resources:
        return collect_record_terms(resources)
    record = read_patient_file(path)
    terms = [RecordTerm(record.id, Placeholder.ID)]
    if record.name:
        terms += [RecordTerm(record.name), *(RecordTerm(w) for w in record.name.split())]
    return tuple(terms)


@app.command("deid")
def deid_command(
    source: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT.ndjson",
            help="FHIR R4 resources, one JSON object per line (NDJSON, e.g. a bulk export).",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        Path | None,
        typer.Option("--text", help="De-identify this free-text file instead of INPUT."),
    ] = None,
    reference_date: Annotated[
        date | None,
        typer.Option(
            "--reference-date",
            metavar="YYYY-MM-DD",
            parser=_reference_date,
            help="Date ages are computed against (ages over 89 become 90+). Required with "
            "INPUT; with --text, dates 90 or more years before it become [DATE].",
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="Pseudonym key file (32 random bytes, base64 on one line), created with mode "
            "0600 when absent. Default: $PRECISIONRX_HOME/deid.key.",
            show_default=False,
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            help="Patient file (JSON/YAML) or FHIR Patient/Bundle whose names, addresses and "
            "identifiers are removed from the text.",
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """HIPAA Safe Harbor de-identification of FHIR NDJSON (INPUT) or of free text (--text)."""
    from precisionrx.cli import emit
    from precisionrx.report.output import check_outputs

    if (source is None) == (text is None):
        raise typer.BadParameter(
            "give exactly one of INPUT (FHIR NDJSON) or --text FILE", param_hint="INPUT / --text"
        )
    check_outputs([output], [source, text, record, key])
    terms = record_terms(record) if record is not None else ()
    if text is not None:
        if key is not None:
            raise typer.BadParameter("--key is used with INPUT only", param_hint="--key")
        from precisionrx.errors import InputError
        from precisionrx.io.textio import read_text
        from precisionrx.security.deid import clean_text

        content = read_text(text, "text", InputError)
        cleaned = clean_text(content, record_terms=terms, reference_date=reference_date)
        emit(cleaned, output, "de-identified text")
        return
    if source is None:  # unreachable: exactly one of INPUT and --text is given
        return
    if reference_date is None:
        raise typer.BadParameter(
            "required with INPUT (the date ages are computed against)",
            param_hint="--reference-date",
        )
    _deid_ndjson(source, reference_date, key, terms, output)


def _deid_ndjson(
    source: Path,
    reference_date: date,
    key_path: Path | None,
    terms: tuple[RecordTerm, ...],
    output: Path | None,
) -> None:
    from precisionrx.cli import emit
    from precisionrx.errors import InputError
    from precisionrx.io.textio import read_text
    from precisionrx.security.crypto import load_or_create_key_file
    from precisionrx.security.deid import (
        DeidReport,
        collect_record_terms,
        deidentify_ndjson,
        read_ndjson,
    )

    lines = read_text(source, "NDJSON", InputError).splitlines()
    # First pass: every line must be a resource (an error names the line before anything is
    # written) and the whole file's names and identifiers form the free-text deny-list.
    found = collect_record_terms(read_ndjson(lines, source=str(source)))
    key = load_or_create_key_file(key_path or default_key_path())
    report = DeidReport()
    out = "".join(
        deidentify_ndjson(
            lines,
            key=key,
            reference_date=reference_date,
            source=str(source),
            record_terms=(*terms, *found),
            report=report,
        )
    )
    summary = f"{report.resources_out} of {report.resources_in} resources"
    if report.dropped:
        summary += f", {len(report.dropped)} dropped: raw genomic data"
    emit(out, output, summary)
