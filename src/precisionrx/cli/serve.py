"""``precisionrx serve`` and ``precisionrx audit verify``: the service and its audit check."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser


class Default(StrEnum):
    permit = "permit"
    deny = "deny"


HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data folder (default $PRECISIONRX_HOME or ~/.precisionrx)."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (default: SQLite in the home folder), "
        "e.g. postgresql+psycopg://user@host/db.",
    ),
]


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    database: DatabaseOption = None,
    home: HomeOption = None,
    oidc_issuer: Annotated[
        str | None,
        typer.Option("--oidc-issuer", help="Accept tokens of this OpenID Connect issuer too."),
    ] = None,
    oidc_audience: Annotated[str, typer.Option("--oidc-audience")] = "precisionrx",
    oidc_jwks_url: Annotated[
        str | None,
        typer.Option("--oidc-jwks-url", help="Its JWKS (default <issuer>/.well-known/jwks.json)."),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        typer.Option(
            "--oidc-client-id",
            help="This service's client id at the OIDC provider: enables the provider's "
            "sign-in on the web pages (authorization code flow with PKCE).",
        ),
    ] = None,
    oidc_client_secret_file: Annotated[
        Path | None,
        typer.Option(
            "--oidc-client-secret-file",
            metavar="FILE",
            help="A file holding the client secret (confidential clients; default: a public "
            "client, or $PRECISIONRX_OIDC_CLIENT_SECRET).",
        ),
    ] = None,
    treatment_default: Annotated[
        Default,
        typer.Option(
            "--treatment-default",
            parser=enum_parser(Default),
            metavar=enum_metavar(Default),
            help="Treatment use of a patient with no consent on file.",
        ),
    ] = Default.permit,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=32, help="Plan jobs run at once.")
    ] = 1,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1)] = 512,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="An origin allowed to call the API from a browser."),
    ] = None,
    cds_trusted: Annotated[
        Path | None,
        typer.Option(
            "--cds-trusted",
            metavar="ISSUERS.json",
            help="CDS Hooks clients trusted: issuer -> JWK Set (as for 'cds check-jwt'). "
            "Without it every /cds-services call is refused (401).",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="The service's public base URL, e.g. https://cds.example.org: CDS client JWTs "
            "must name <URL>/cds-services/<id> as audience (default: the URL called).",
        ),
    ] = None,
) -> None:
    """Run the REST service (FastAPI under uvicorn): patient store, consent, audit."""
    import uvicorn

    from precisionrx.security.cds_jwt import load_trusted_issuers
    from precisionrx.security.oidc_login import OidcClient
    from precisionrx.security.tokens import OidcSettings
    from precisionrx.service.app import create_app, open_state
    from precisionrx.service.settings import MB, ServiceSettings, default_home

    trusted = load_trusted_issuers(cds_trusted) if cds_trusted is not None else None
    if public_url is not None:
        public_url = _public_url(public_url)
    oidc = None
    if oidc_issuer:
        jwks = oidc_jwks_url or oidc_issuer.rstrip("/") + "/.well-known/jwks.json"
        oidc = OidcSettings(issuer=oidc_issuer, audience=oidc_audience, jwks_url=jwks)
    client = None
    if oidc_client_id is not None:
        if oidc is None:
            raise typer.BadParameter("needs --oidc-issuer", param_hint="--oidc-client-id")
        client = OidcClient(oidc_client_id, _client_secret(oidc_client_secret_file))
    elif oidc_client_secret_file is not None:
        raise typer.BadParameter("needs --oidc-client-id", param_hint="--oidc-client-secret-file")
    settings = ServiceSettings(
        home=home or default_home(),
        database=database,
        oidc=oidc,
        oidc_client=client,
        treatment_default=treatment_default.value,
        workers=workers,
        max_upload_bytes=max_upload_mb * MB,
        cors_origins=tuple(cors_origin or ()),
        cds_trusted=trusted,
        public_url=public_url,
    )
    state = open_state(settings)  # configuration errors stop here, before listening
    typer.echo(
        f"precisionrx service on http://{host}:{port} (data in {settings.home}; "
        "decision support only)",
        err=True,
    )
    try:
        uvicorn.run(
            create_app(settings, state), host=host, port=port, log_level="info", server_header=False
        )
    finally:
        state.store.close()


def _client_secret(path: Path | None) -> str | None:
    """The OIDC client secret: from an owner-only file, else $PRECISIONRX_OIDC_CLIENT_SECRET,
    else None (a public client). Never a command-line value: others can read process lists."""
    import os

    from precisionrx.errors import ConfigError
    from precisionrx.security.home import read_secret_file

    if path is None:
        return os.environ.get("PRECISIONRX_OIDC_CLIENT_SECRET") or None
    try:
        secret = read_secret_file(path).decode("utf-8").strip()
    except FileNotFoundError:
        raise ConfigError("the client secret file does not exist", path=path) from None
    except UnicodeDecodeError:
        raise ConfigError("the client secret file is not text", path=path) from None
    if not secret:
        raise ConfigError("the client secret file is empty", path=path)
    return secret


def _public_url(url: str) -> str:
    """``--public-url`` checked: an absolute http(s) URL without query or fragment."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise typer.BadParameter(
            f"{url!r} is not an absolute http(s) URL without query", param_hint="--public-url"
        )
    return url.rstrip("/")


audit_app = typer.Typer(help="The service's audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify_command(database: DatabaseOption = None, home: HomeOption = None) -> None:
    """Check the audit trail's hash chain: exit 0 when intact, else name the first broken row."""
    from precisionrx.errors import IntegrityError
    from precisionrx.security.crypto import load_master_key
    from precisionrx.service.settings import default_home
    from precisionrx.storage.store import Store

    folder = home or default_home()
    import os

    store = Store.open(folder, load_master_key(folder, dict(os.environ)), database)
    try:
        check = store.verify_audit()
    finally:
        store.close()
    if not check.intact:
        raise IntegrityError(
            f"audit row {check.broken_at}: {check.problem}", hint=f"{check.rows} row(s) read"
        )
    emit(f"audit trail intact: {check.rows} row(s)\n", None)
