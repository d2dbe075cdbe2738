"""``precisionrx token``: mint a bearer token signed by the server's own key, for local use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app
from precisionrx.cli.options import enum_metavar, enum_parser
from precisionrx.errors import InputError
from precisionrx.security.roles import Role


def check_expires(value: str) -> str:
    """``--expires`` as a duration (``30m``, ``1h``, ``7d``, ``3600s``; at most 30 days)."""
    from precisionrx.security.tokens import parse_duration

    try:
        parse_duration(value)
    except InputError as exc:
        raise typer.BadParameter(exc.message) from None
    return value.strip()


@app.command("token")
def token_command(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Who the token is for (its `sub`).")],
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            parser=enum_parser(Role),
            metavar=enum_metavar(Role),
            help="What the holder may do.",
        ),
    ],
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="The patient's id (required with --role patient)."),
    ] = None,
    organisation: Annotated[
        str | None,
        typer.Option("--organisation", help="The holder's organisation (claim `org`)."),
    ] = None,
    expires: Annotated[
        str,
        typer.Option(
            "--expires",
            help="Lifetime: 30m, 1h, 12h, 7d, 3600s ... (at most 30d).",
            callback=check_expires,
        ),
    ] = "1h",
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Directory of the signing key (default $PRECISIONRX_HOME, else ~/.precisionrx).",
        ),
    ] = None,
) -> None:
    """Print a token signed by the local key (ES256), on one line."""
    if not user.strip():
        raise typer.BadParameter("must not be empty", ctx=ctx, param_hint="'--user'")
    if role is Role.patient and not patient:
        raise typer.BadParameter(
            "required with --role patient: give the patient's id", ctx=ctx, param_hint="'--patient'"
        )
    from precisionrx.security.home import default_home
    from precisionrx.security.tokens import LocalIssuer, parse_duration

    issuer = LocalIssuer.load_or_create(home if home is not None else default_home())
    token = issuer.mint(
        user,
        role,
        patient=patient,
        organisation=organisation,
        expires=parse_duration(expires),
    )
    typer.echo(token)
