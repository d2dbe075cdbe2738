"""precisionrx command line: thin wrappers over library calls.

Exit codes come from the exception tree (``precisionrx.errors``) and are installed here
only, in :func:`main`. A usage mistake (unknown option or command, missing argument, bad option
value, a command group called with nothing) is not an error of the tree: it prints the
command's usage and the problem on standard error and exits 2, click's code for usage errors
(``click.UsageError.exit_code``; a group called without arguments raises click's
``NoArgsIsHelpError``, a usage error that shows the help, since click 8.2).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup
from typer.models import DefaultPlaceholder

from precisionrx.errors import InternalError, PrecisionRxError

#: click's exceptions as typer raises them. Recent typer (0.29 here) ships its own copy of click
#: (``typer._click``) whose classes are not ``click``'s, so ``except click.UsageError`` never
#: matched them and every usage mistake fell through to the internal-error branch (exit 70).
#: ``typer.BadParameter`` is public in every typer version and lives in the module that defines
#: the rest of the tree (``click.exceptions`` for typer versions built on click itself).
_CLICK = importlib.import_module(typer.BadParameter.__module__)

#: Exit code of a usage mistake (click's ``UsageError.exit_code``; docs/errors.md).
USAGE_EXIT = 2

HELP = (
    "Personalised treatment planning from one person's data: decision support that gives the "
    "evidence, source, knowledge-base version and caveats of every result.\n\n"
    "Engines: pharmacogenomics (pgx: star alleles, phenotypes, CPIC/DPWG drug guidance), "
    "cardiovascular and diabetes risk equations (risk), polygenic scores (prs), tumour "
    "alterations matched to therapies (tumor), CGM and wearable monitoring with alerts and the "
    "AGP report (monitor), mental-health questionnaire scores with safety flags and ranked "
    "medication options (mh), average treatment effects from data tables (effects), fairness "
    "audits of risk and treatment models (fairness), and the treatment plan that joins them "
    "(plan; demo on a bundled patient). Packaged knowledge "
    "bases: kb. Service: serve (REST API with patient store, consent, encryption and audit), "
    "token, consent, audit, keys (master-key rotation), deid (de-identified export). "
    "Interoperability: fhir (a lab's FHIR Genomics Reporting results, compared with the engine), "
    "cds (CDS Hooks integrator checks: client JWTs, cards, prefetch; the hooks run in serve). "
    "Scale: cohort (the engines over a biobank or population on Dask, resumable Parquet output, "
    "and equity analytics by group); genotypes in VCF/BCF, PLINK 1/2 and BGEN files, and convert "
    "(a VCF to a PLINK fileset)."
)


class UsageGroup(TyperGroup):
    """A command group whose bare call prints its help on standard error, like a usage error.

    typer renders the help with rich straight to standard output while it builds click's
    ``NoArgsIsHelpError``; the redirection keeps that help with the other usage errors (exit 2).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            with contextlib.redirect_stdout(sys.stderr):
                return super().parse_args(ctx, args)
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="precisionrx",
    help=HELP,
    cls=UsageGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
kb_app = typer.Typer(
    help="Packaged knowledge bases: list versions, verify checksums, add a CIViC export.",
    no_args_is_help=True,
)
app.add_typer(kb_app, name="kb")


def emit(text: str, output: Path | None, summary: str = "") -> None:
    """Print ``text``, or write it atomically to ``output`` and say so on stderr."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from precisionrx.report.output import write_atomic

    write_atomic(output, text)
    typer.echo(f"wrote {output}" + (f" ({summary})" if summary else ""), err=True)


def _unset(value: object) -> bool:
    return value is None or isinstance(value, DefaultPlaceholder)


def _usage_groups(parent: typer.Typer) -> None:
    """Every sub-command group (kb, monitor and any later one) behaves as :class:`UsageGroup`,
    unless it chose its own class."""
    for info in parent.registered_groups:
        sub = info.typer_instance
        if _unset(info.cls) and (sub is None or _unset(sub.info.cls)):
            info.cls = UsageGroup
        if sub is not None:
            _usage_groups(sub)


#: The modules to import for each top-level command or group: a run that names one imports
#: only its own module(s) (start-up time), anything else (help, a typo) imports them all.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "audit": ("serve",),
    "cds": ("cds",),
    "cohort": ("cohort",),
    "consent": ("consent",),
    "convert": ("convert",),
    "deid": ("deid",),
    "demo": ("plan",),
    "effects": ("effects", "effects_evaluate"),
    "fairness": ("fairness",),
    "fhir": ("fhir",),
    "kb": ("kb",),
    "keys": ("keys",),
    "mh": ("mh",),
    "monitor": ("monitor",),
    "pgx": ("pgx",),
    "plan": ("plan",),
    "prs": ("prs",),
    "risk": ("risk",),
    "serve": ("serve",),
    "token": ("token",),
    "tumor": ("tumor",),
}


def _register(command: str | None = None) -> None:
    """Import the command modules (each registers its commands on :data:`app`): those of
    ``command`` when it is a known command name, else every one."""
    every = sorted({m for modules in COMMAND_MODULES.values() for m in modules})
    for module in COMMAND_MODULES.get(command or "", every):
        importlib.import_module(f"precisionrx.cli.{module}")
    _usage_groups(app)


def _usage_error(exc: Any) -> None:
    """Usage line, the "Try ... --help" hint and the problem, on standard error."""
    # A bare group's help was already written (see UsageGroup); its message is then empty.
    if exc.format_message():
        exc.show()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    _register(args[0] if args else None)
    try:
        result = app(args=argv, prog_name="precisionrx", standalone_mode=False)
    except PrecisionRxError as exc:
        typer.echo(f"error [{exc.code}]: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except _CLICK.UsageError as exc:
        _usage_error(exc)
        sys.exit(USAGE_EXIT)
    except _CLICK.ClickException as exc:  # other parser errors, e.g. a file click cannot open
        exc.show()
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: report without a traceback, keep a stable code
        err = InternalError(f"unexpected {exc.__class__.__name__}: {exc}")
        typer.echo(f"error [{err.code}]: {err.render()} — please report this", err=True)
        sys.exit(err.exit_code)
    # Without standalone mode a ``typer.Exit(code)`` (or ``--help``, code 0) comes back as the
    # return value instead of an exception.
    if isinstance(result, int) and result:
        sys.exit(result)
