"""``precisionrx risk``: batch cardiovascular risk from a CSV/JSON table.

Risks are written unrounded: polars writes each float's shortest round-trip digits in CSV and the
JSON encoder Python's repr, so a value read back is the engine's float bit for bit.

CSV is streamed from the engine's polars blocks
(:func:`~precisionrx.engines.cardio.api.risk_frames`, caveats already in their
``code: message; ...`` text form: a million-row cohort never becomes Python objects);
JSON is the typed :class:`~precisionrx.records.cardio.RiskResult` of
:func:`~precisionrx.engines.cardio.api.estimate_risks` with its provenance.
:func:`estimates_csv` writes a typed result as the same CSV text.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser, pick

if TYPE_CHECKING:
    from precisionrx.records.cardio import RiskResult

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


def estimates_csv(result: RiskResult) -> str:
    """The CSV text of typed estimates, identical to the streamed blocks: caveats rendered as
    ``code: message`` joined with "; "."""
    import polars as pl

    from precisionrx.engines.cardio.runner import caveats_text

    rows = result.results
    frame = pl.DataFrame(
        {
            "id": [r.id for r in rows],
            "model": [r.model for r in rows],
            "variant": [r.variant for r in rows],
            "horizon_years": [r.horizon_years for r in rows],
            "outcome": [r.outcome for r in rows],
            "risk": [r.risk for r in rows],
            "category": [r.category for r in rows],
            "caveats": [caveats_text(r.caveats) for r in rows],
        },
        schema={"id": pl.Utf8, "model": pl.Utf8, "variant": pl.Utf8, "horizon_years": pl.Int32,
                "outcome": pl.Utf8, "risk": pl.Float64, "category": pl.Utf8,
                "caveats": pl.Utf8},
    )  # fmt: skip
    return frame.write_csv()


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
    from precisionrx.engines.cardio.api import estimate_risks, risk_frames
    from precisionrx.io.risk_table import read_risk_table
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs

    check_outputs([output], [table])
    wanted = [m for m in models.split(",") if m]
    kb = KnowledgeBase()
    inputs = read_risk_table(table)
    if fmt is RiskFormat.csv:
        blocks = risk_frames(inputs, kb, wanted)
        n_rows = sum(b.height for b in blocks)
        if output is not None:
            write_csv_atomic(output, blocks)
            typer.echo(f"wrote {output} ({n_rows} rows)", err=True)
            return
        text = "".join(b.write_csv(include_header=(i == 0)) for i, b in enumerate(blocks)) or (
            ",".join(COLUMNS) + "\n"
        )
    else:
        from precisionrx.records.evidence import fingerprint
        from precisionrx.report.output import dumps

        result = estimate_risks(inputs, kb, wanted, fingerprint(table.read_bytes()))
        n_rows = len(result.results)
        doc = result.model_dump(mode="json")
        text = dumps({"results": doc["results"], "provenance": doc["provenance"]}, indent=1)
        text += "\n"
    emit(text, output, f"{n_rows} rows")
