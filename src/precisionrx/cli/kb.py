"""``precisionrx kb list`` and ``precisionrx kb verify``."""

from __future__ import annotations

import typer

from precisionrx.cli import kb_app
from precisionrx.cli.options import choice
from precisionrx.errors import KbIntegrityError

# rich and the registry are imported inside the commands: every other command starts faster.


@kb_app.command("list")
def kb_list() -> None:
    """Show every knowledge base (packaged, then user-added) with version, date, licence and
    sha256."""
    from rich.console import Console
    from rich.table import Table

    from precisionrx.kb.registry import KnowledgeBase

    table = Table(title="precisionrx knowledge bases")
    for col in ("name", "origin", "version", "date", "license", "sha256"):
        table.add_column(col)
    for info in KnowledgeBase().infos:
        table.add_row(
            info.name, info.origin, info.version, info.date, info.license,
            info.sha256[:16] + "…" if info.sha256 else "-",
        )  # fmt: skip
    Console(width=160).print(table)


@kb_app.command("verify")
def kb_verify() -> None:
    """Recompute the sha256 of every knowledge-base file (packaged and user-added); exit
    non-zero on any mismatch."""
    from precisionrx.kb.registry import KnowledgeBase

    kb = KnowledgeBase()
    problems = kb.verify()
    infos = kb.infos
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
    kb = KnowledgeBase()
    try:
        record = add_civic(export, kb)
    except OSError as exc:  # the user knowledge-base folder cannot be written
        raise OutputPathError(
            f"cannot be written: {(exc.strerror or str(exc)).lower()}",
            path=exc.filename or user_kb_dir(kb) / "civic",
        ) from None
    typer.echo(
        f"added CIViC export {record['file']} ({record['rows']} evidence rows, "
        f"{record['matchable_rows']} matchable) to {user_kb_dir(kb) / 'civic'}"
    )
