"""``precisionrx risk``: batch cardiovascular risk from a CSV/JSON table.

Risks are written unrounded: polars writes each float's shortest round-trip digits in CSV and the
JSON encoder Python's repr, so a value read back is the engine's float bit for bit.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser, pick

COLUMNS = ["id", "model", "variant", "horizon_years", "outcome", "risk", "category", "caveats"]


def write_csv_atomic(path: Path, blocks: list[Any]) -> None:
    """Stream blocks into the output file; it appears whole or not at all."""
    from precisionrx.report.output import write_atomic_with

    def write(fh: BinaryIO) -> None:
        if not blocks:
            fh.write((",".join(COLUMNS) + "\n").encode())
        for i, block in enumerate(blocks):
            block.write_csv(fh, include_header=(i == 0))

    write_atomic_with(path, write)


def check_models(value: str) -> str:
    """``--models`` as a comma list of known models (a usage error with a suggestion)."""
    from precisionrx.engines.cardio.runner import MODELS

    wanted = [m.strip() for m in value.split(",") if m.strip()]
    if not wanted:
        raise typer.BadParameter(f"no model given: choose from {', '.join(MODELS)}")
    return ",".join(pick(m, MODELS) for m in wanted)


class RiskFormat(StrEnum):
    csv = "csv"
    json = "json"


@app.command("risk")
def risk_command(
    table: Annotated[
        Path, typer.Argument(help="INPUT.csv or INPUT.json with the documented columns.")
    ],
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help="Comma list: prevent,pce,pce_revised,score2,qrisk3,ada,findrisc.",
            callback=check_models,
        ),
    ] = "prevent",
    fmt: Annotated[
        RiskFormat,
        typer.Option("--format", parser=enum_parser(RiskFormat), metavar=enum_metavar(RiskFormat)),
    ] = RiskFormat.csv,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Compute risk-equation results per id, model, horizon and outcome."""
    from precisionrx.engines.cardio.runner import CardioKb, model_blocks
    from precisionrx.io.risk_table import read_risk_table
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs

    check_outputs([output], [table])
    wanted = [m for m in models.split(",") if m]
    kb = CardioKb.load(KnowledgeBase().root / "cardio")
    blocks = model_blocks(kb, read_risk_table(table), wanted)
    n_rows = sum(b.height for b in blocks)
    if fmt is RiskFormat.csv:
        if output is not None:
            write_csv_atomic(output, blocks)
            typer.echo(f"wrote {output} ({n_rows} rows)", err=True)
            return
        text = "".join(b.write_csv(include_header=(i == 0)) for i, b in enumerate(blocks)) or (
            ",".join(COLUMNS) + "\n"
        )
    else:
        import polars as pl

        rows = pl.concat(blocks).to_dicts() if blocks else []
        for r in rows:
            r["caveats"] = [
                {"code": c.split(":", 1)[0], "message": c.split(":", 1)[-1].strip()}
                for c in (r["caveats"] or "").split("; ")
                if c
            ]
        from precisionrx.report.output import dumps

        text = dumps({"results": rows}, indent=1) + "\n"
    emit(text, output, f"{n_rows} rows")
