"""``precisionrx effects ate``: average treatment effects from a data table (docs/cli/effects.md).

Input that cannot be used (a missing file or column, a treatment not coded 0/1, a formula that
does not parse) stops with exit 2 naming the file and the problem; nothing is written.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser

effects_app = typer.Typer(
    help="Treatment effects: average effects (crude, IPW, g-formula, AIPW) from a data table.",
    no_args_is_help=True,
)
app.add_typer(effects_app, name="effects")


class Method(StrEnum):
    crude = "crude"
    ipw = "ipw"
    stabilized_ipw = "stabilized_ipw"
    gformula = "gformula"
    aipw = "aipw"


class AteFormat(StrEnum):
    json = "json"


@effects_app.command("ate")
def ate_command(
    data: Annotated[Path, typer.Argument(help="CSV with a header row.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Treatment column, coded 0/1.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column (numeric).")],
    method: Annotated[
        Method,
        typer.Option("--method", parser=enum_parser(Method), metavar=enum_metavar(Method)),
    ],
    covariates: Annotated[
        str,
        typer.Option(
            "--covariates",
            help='Right-hand side in formula syntax, e.g. "age + I(age**2) + C(education)"; a '
            "term naming the treatment enters the outcome model only.",
        ),
    ] = "",
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.0001, max=0.5, help="1 - confidence level.")
    ] = 0.05,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=50, max=100_000, help="g-formula replicates.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    fmt: Annotated[
        AteFormat,
        typer.Option("--format", parser=enum_parser(AteFormat), metavar=enum_metavar(AteFormat)),
    ] = AteFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """Average treatment effect with its confidence interval (What If, ch. 12-13)."""
    from precisionrx import __version__
    from precisionrx.engines.effects.ate import estimate_ate
    from precisionrx.errors import InputError
    from precisionrx.io.effects_data import read_table
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.evidence import fingerprint
    from precisionrx.report.output import check_outputs, dumps
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    check_outputs([output], [data])
    table = read_table(data)
    try:
        result = estimate_ate(table, treatment, outcome, covariates, method.value, alpha=alpha,
                              bootstrap=bootstrap, seed=seed)  # fmt: skip
    except InputError as exc:
        if exc.path is None:  # the engine names the column; the message names the file too
            raise InputError(exc.message, path=data, record=exc.record, hint=exc.hint) from exc
        raise
    params = {"method": method.value, "treatment": treatment, "outcome": outcome,
              "covariates": covariates, "alpha": str(alpha), "bootstrap": str(bootstrap),
              "seed": str(seed)}  # fmt: skip
    provenance = KnowledgeBase().provenance([], fingerprint(data.read_bytes()), params)
    body = result.model_copy(update={"provenance": provenance}).model_dump(mode="json")
    first = {k: body.pop(k) for k in ("method", "ate", "ci_lower", "ci_upper", "n")}
    doc = {**first, **body, "precisionrx_version": __version__, "notice": DECISION_SUPPORT}
    emit(
        dumps(doc, indent=2) + "\n",
        output,
        f"{method.value}: {result.ate:.3g} ({result.ci_lower:.3g} to {result.ci_upper:.3g})",
    )
