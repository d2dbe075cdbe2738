"""``precisionrx cds``: helpers for integrators of the CDS Hooks service (docs/cli/cds.md).

- ``check-jwt``: client JWTs checked as the service checks them
  (:mod:`precisionrx.security.cds_jwt`), one verifier for the run so a replayed ``jti`` shows;
- ``validate-card``: a card response checked against the spec
  (:mod:`precisionrx.report.cds.validate`);
- ``prefetch``: a prefetch template resolved against a hook context
  (:mod:`precisionrx.io.cds_prefetch`).

Verdicts are output (exit 0); an unreadable file is an InputError (exit 2) and a bad option a
usage error (exit 2).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from precisionrx.cli import app, emit

cds_app = typer.Typer(
    help="CDS Hooks helpers for integrators: check client JWTs, validate a card response, "
    "resolve a prefetch template.",
    no_args_is_help=True,
)
app.add_typer(cds_app, name="cds")


def parse_now(value: str | None) -> datetime | None:
    """``--now``: an ISO-8601 date-time; without a time zone it is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 date-time (e.g. 2026-01-31T12:00:00Z)",
            param_hint="--now",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json_object(path: Path, what: str) -> Any:
    from precisionrx.io.textio import load_json, read_text

    return load_json(read_text(path, what), path)


@cds_app.command("check-jwt")
def check_jwt_command(
    tokens: Annotated[
        Path,
        typer.Argument(
            metavar="TOKENS.txt",
            help="One client JWT per line (blank lines and lines starting with # are skipped).",
        ),
    ],
    audience: Annotated[
        str,
        typer.Option("--audience", metavar="URL", help="The CDS service URL the tokens are for."),
    ],
    trusted: Annotated[
        Path,
        typer.Option(
            "--trusted",
            metavar="ISSUERS.json",
            help='Trusted issuers: {"issuer": {"keys": [JWK, ...]}, ...}.',
        ),
    ],
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="ISO-8601",
            help="Check at this time instead of the clock (UTC if no time zone).",
        ),
    ] = None,
) -> None:
    """Check CDS Hooks client JWTs: one JSON line per token (accepted, reason).

    Signature, algorithm, issuer, key, audience, times and replayed jti (docs/cli/cds.md).
    """
    from precisionrx.io.textio import read_text
    from precisionrx.security.cds_jwt import CdsJwtVerifier, load_trusted_issuers

    at = parse_now(now)
    if not audience.strip():
        raise typer.BadParameter("must not be empty", param_hint="--audience")
    verifier = CdsJwtVerifier(load_trusted_issuers(trusted), audience)
    text = read_text(tokens, "tokens")
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        token = line.strip()
        if not token or token.startswith("#"):
            continue
        result = verifier.check(token, now=at)
        row: dict[str, Any] = {"line": number, "accepted": result.accepted, "reason": result.reason}
        if result.issuer is not None:
            row["iss"] = result.issuer
        lines.append(json.dumps(row, ensure_ascii=False))
    emit("".join(f"{line}\n" for line in lines), None)


@cds_app.command("validate-card")
def validate_card_command(
    response: Annotated[
        Path,
        typer.Argument(metavar="RESPONSE.json", help='A CDS service response: {"cards": [...]}.'),
    ],
) -> None:
    """Check a CDS Hooks card response against the spec: valid, and errors by JSON path."""
    from precisionrx.report.cds.validate import validate_cds_response

    errors = validate_cds_response(_json_object(response, "response"))
    doc = {"valid": not errors, "errors": errors}
    emit(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", None)


@cds_app.command("prefetch")
def prefetch_command(
    template: Annotated[
        str,
        typer.Argument(
            metavar="TEMPLATE", help="A prefetch template, e.g. 'Patient/{{context.patientId}}'."
        ),
    ],
    context: Annotated[
        Path,
        typer.Option(
            "--context",
            metavar="CONTEXT.json",
            help="The hook context object, or a whole hook request (its context is used).",
        ),
    ],
) -> None:
    """Resolve a prefetch template: prints the query, OMIT_KEY or INVALID_TEMPLATE."""
    from precisionrx.errors import InputError
    from precisionrx.io.cds_prefetch import resolve_prefetch

    doc = _json_object(context, "context")
    if isinstance(doc, dict) and isinstance(doc.get("context"), dict):
        doc = doc["context"]
    if not isinstance(doc, dict):
        raise InputError("must be a JSON object: the hook context or a hook request", path=context)
    emit(resolve_prefetch(template, doc) + "\n", None)
