"""``precisionrx risk``: batch cardiovascular risk from a CSV/JSON table.

Risks are written unrounded: polars writes each float's shortest round-trip digits in CSV and the
JSON encoder Python's repr, so a value read back is the engine's float bit for bit.

CSV is streamed from the engine's polars blocks
(:func:`~precisionrx.engines.cardio.api.risk_frames`, caveats already in their
``code: message; ...`` text form: a million-row cohort never becomes Python objects);
JSON is the typed :class:`~precisionrx.records.cardio.RiskResult` of
:func:`~precisionrx.engines.cardio.api.estimate_risks` with its provenance.
:func:`precisionrx.report.tables.estimates_csv` writes a typed result as the same CSV text.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser, pick


def check_models(value: str) -> str:
    """``--models`` as a comma list of known models (a usage error with a suggestion)."""
    from precisionrx.engines.cardio.runner import MODELS

    wanted = [m.strip() for m in value.split(",") if m.strip()]
    if not wanted:
        raise typer.BadParameter(f"no model given: choose from {', '.join(MODELS)}")
    return ",".join(pick(m, MODELS) for m in wanted)


ModelsOption = Annotated[
    str,
    typer.Option(
        "--models",
        help="Comma list: prevent,pce,pce_revised,score2,qrisk3,ada,findrisc.",
        callback=check_models,
    ),
]


class RiskFormat(StrEnum):
    csv = "csv"
    json = "json"


@app.command("risk")
def risk_command(
    table: Annotated[
        Path, typer.Argument(help="INPUT.csv or INPUT.json with the documented columns.")
    ],
    models: ModelsOption = "prevent",
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
        from precisionrx.report.tables import risk_csv, write_risk_csv

        blocks = risk_frames(inputs, kb, wanted)
        n_rows = sum(b.height for b in blocks)
        if output is not None:
            write_risk_csv(output, blocks)
            typer.echo(f"wrote {output} ({n_rows} rows)", err=True)
            return
        text = risk_csv(blocks)
    else:
        from precisionrx.records.evidence import fingerprint
        from precisionrx.report.writers import json_text

        result = estimate_risks(inputs, kb, wanted, fingerprint(table.read_bytes()))
        n_rows = len(result.results)
        doc = result.model_dump(mode="json")
        text = json_text({"results": doc["results"], "provenance": doc["provenance"]})
    emit(text, output, f"{n_rows} rows")
