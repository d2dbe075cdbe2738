"""precisionrx command line: thin wrappers over library calls.

Exit codes come from the exception tree (``precisionrx.errors``) and are installed here
only, in :func:`main`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer

from precisionrx.errors import InternalError, PrecisionRxError

app = typer.Typer(
    name="precisionrx",
    help="Personalised treatment planning: pharmacogenomics with evidence, versions and caveats.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
kb_app = typer.Typer(help="Packaged knowledge bases: versions and integrity.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


def emit(text: str, output: Path | None, summary: str = "") -> None:
    """Print ``text``, or write it atomically to ``output`` and say so on stderr."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from precisionrx.report.output import write_atomic

    write_atomic(output, text)
    typer.echo(f"wrote {output}" + (f" ({summary})" if summary else ""), err=True)


def _register() -> None:
    from precisionrx.cli import kb, monitor, pgx, plan, prs, risk, tumor  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except PrecisionRxError as exc:
        click.echo(f"error [{exc.code}]: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: report without a traceback, keep a stable code
        err = InternalError(f"unexpected {exc.__class__.__name__}: {exc}")
        click.echo(f"error [{err.code}]: {err.render()} — please report this", err=True)
        sys.exit(err.exit_code)
