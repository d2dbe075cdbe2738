"""``precisionrx kb list`` and ``precisionrx kb verify``."""

from __future__ import annotations

import typer

from precisionrx.cli import kb_app
from precisionrx.cli.options import choice
from precisionrx.errors import KbIntegrityError

# rich and the registry are imported inside the commands: every other command starts faster.


@kb_app.command("list")
def kb_list() -> None:
    """Show every packaged knowledge base with version, date, licence and sha256."""
    from rich.console import Console
    from rich.table import Table

    from precisionrx.kb.registry import list_kbs

    table = Table(title="precisionrx knowledge bases")
    for col in ("name", "version", "date", "license", "sha256"):
        table.add_column(col)
    for info in list_kbs():
        table.add_row(info.name, info.version, info.date, info.license, info.sha256[:16] + "…")
    Console(width=160).print(table)


@kb_app.command("verify")
def kb_verify() -> None:
    """Recompute the sha256 of every knowledge-base file; exit non-zero on any mismatch."""
    from precisionrx.kb.registry import list_kbs, verify_kbs

    problems = verify_kbs()
    infos = list_kbs()
    if problems:
        detail = "; ".join(f"{p.kb}/{p.file}: {p.problem}" for p in problems[:10])
        raise KbIntegrityError(f"{len(problems)} problem(s): {detail}")
    n_files = sum(len(i.files) for i in infos)
    typer.echo(f"ok: {len(infos)} knowledge bases, {n_files} files verified")


@kb_app.command("add")
def kb_add(
    name: str = typer.Argument(
        ..., help="Knowledge base to add: civic.", callback=choice(lambda: {"civic": "civic"})
    ),
    path: str = typer.Argument(..., help="The export file (CIViC clinical evidence TSV)."),
) -> None:
    """Add a current export of a knowledge base (replaces the packaged CIViC 2018 snapshot)."""
    from precisionrx.errors import InputError, OutputPathError
    from precisionrx.io.textio import check_input_file
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.kb.user_sources import add_civic, user_kb_dir

    del name  # checked by its callback: only civic
    export = check_input_file(path, "CIViC export", InputError)
    try:
        record = add_civic(export, KnowledgeBase().root / "oncology")
    except OSError as exc:  # the user knowledge-base folder cannot be written
        raise OutputPathError(
            f"cannot be written: {(exc.strerror or str(exc)).lower()}",
            path=exc.filename or user_kb_dir() / "civic",
        ) from None
    typer.echo(
        f"added CIViC export {record['file']} ({record['rows']} evidence rows, "
        f"{record['matchable_rows']} matchable) to {user_kb_dir() / 'civic'}"
    )
