"""``precisionrx consent check``: the consent decision for one request (FHIR R4 Consent).

A decision is not an error: PERMIT, DENY and NO_CONSENT all exit 0. Input that cannot be read
(missing file, invalid JSON, not a Consent, a request without ``at`` ...) stops with the
exception tree's exit code (InputError: 2) and no traceback.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser

if TYPE_CHECKING:
    from precisionrx.security.consent import ConsentDecision

consent_app = typer.Typer(
    help="FHIR R4 Consent: decide whether a request for a patient's data is permitted.",
    no_args_is_help=True,
)
app.add_typer(consent_app, name="consent")

#: Largest consents or request file read (bytes): a patient's consents are small documents.
MAX_CONSENT_BYTES = 64 * 1024**2


class ConsentFormat(StrEnum):
    json = "json"
    text = "text"


class TreatmentDefault(StrEnum):
    permit = "permit"
    deny = "deny"


def load_json_file(path: Path, what: str) -> Any:
    """The JSON data of ``path``; InputError naming the file when it cannot be read or parsed."""
    from precisionrx.errors import InputError
    from precisionrx.io.textio import load_json, read_text

    text = read_text(path, what, InputError, max_bytes=MAX_CONSENT_BYTES)
    try:
        return load_json(text, path, InputError)
    except RecursionError:
        raise InputError(f"{what} file is nested too deeply to be JSON data", path=path) from None


def render_text(decision: ConsentDecision) -> str:
    """The decision as ``key: value`` lines."""
    lines = [f"decision: {decision.decision}", f"consent: {decision.consent or '-'}"]
    if decision.break_glass:
        lines.append("break-glass: yes (audit this access)")
    lines.append(f"reason: {decision.reason}")
    return "\n".join(lines) + "\n"


@consent_app.command("check")
def check_command(
    consents: Annotated[
        Path,
        typer.Argument(help="FHIR R4 Consent resources: a JSON array, a Bundle, or one Consent."),
    ],
    request: Annotated[
        Path,
        typer.Argument(
            help='The request: {"patient", "actor", "purpose", "action", "resource_type", '
            '"security_labels": [], "at"}.'
        ),
    ],
    fmt: Annotated[
        ConsentFormat,
        typer.Option(
            "--format", parser=enum_parser(ConsentFormat), metavar=enum_metavar(ConsentFormat)
        ),
    ] = ConsentFormat.json,
    treatment_default: Annotated[
        TreatmentDefault,
        typer.Option(
            "--treatment-default",
            parser=enum_parser(TreatmentDefault),
            metavar=enum_metavar(TreatmentDefault),
            help="Decision for treatment purposes when no consent applies.",
        ),
    ] = TreatmentDefault.permit,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """Decide one request against a patient's consents: PERMIT, DENY or NO_CONSENT (exit 0)."""
    from precisionrx.report.output import check_outputs, dumps
    from precisionrx.security.consent import decide, parse_consents, parse_request

    check_outputs([output], [consents, request])
    parsed = parse_consents(load_json_file(consents, "consents"), source=str(consents))
    asked = parse_request(load_json_file(request, "consent request"), source=str(request))
    default: Literal["permit", "deny"] = (
        "deny" if treatment_default is TreatmentDefault.deny else "permit"
    )
    decision = decide(parsed, asked, treatment_default=default)
    if fmt is ConsentFormat.text:
        text = render_text(decision)
    else:
        text = dumps(decision.as_dict(), indent=2, ensure_ascii=False) + "\n"
    emit(text, output, decision.decision)
