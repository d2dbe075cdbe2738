"""``precisionrx fairness audit``: per-group discrimination, calibration and error rates of a
risk or treatment model, and the gaps between groups (docs/cli/fairness.md).

Input that cannot be used (a missing file or column, a label or prediction other than 0/1, a
score outside [0, 1]) stops with exit 2 naming the file, the row and the column; nothing is
written. Giving both ``--pred`` and ``--threshold``, or neither, is a usage error (exit 2).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser, number

if TYPE_CHECKING:
    from precisionrx.records.fairness import FairnessAudit

fairness_app = typer.Typer(
    help="Fairness audits of risk and treatment models: per-group discrimination, calibration "
    "and error rates, and the gaps between groups (Fairlearn and AIF360 definitions).",
    no_args_is_help=True,
)
app.add_typer(fairness_app, name="fairness")

#: The audit's own fields, first in the JSON document, in this order.
FIELDS = ("groupings", "n", "n_dropped", "n_dropped_by_column", "label", "score", "pred",
          "threshold", "privileged", "overall", "calibration_curves")  # fmt: skip


class AuditFormat(StrEnum):
    json = "json"
    html = "html"


def resolve_privileged(entries: list[str], groups: list[str]) -> dict[str, str]:
    """Grouping column -> privileged value, from ``--privileged`` entries: ``COL=VALUE`` for one
    grouping (COL one of the ``--group`` columns), a plain ``VALUE`` for every other grouping."""
    plain: str | None = None
    by_column: dict[str, str] = {}
    for entry in entries:
        column, sep, value = entry.partition("=")
        if sep and column.strip() in groups:
            column = column.strip()
            if column in by_column:
                raise typer.BadParameter(f"two privileged values for grouping {column!r}",
                                         param_hint="--privileged")  # fmt: skip
            by_column[column] = value.strip()
        else:
            if plain is not None:
                raise typer.BadParameter(
                    "give one VALUE (for every grouping) and/or COL=VALUE per grouping",
                    param_hint="--privileged",
                )
            plain = entry.strip()
    if plain == "" or "" in by_column.values():
        raise typer.BadParameter("empty privileged value", param_hint="--privileged")
    return {g: by_column.get(g, plain) or "" for g in groups if g in by_column or plain}


def audit_document(result: FairnessAudit) -> dict[str, Any]:
    """The JSON document: the audit's fields (a grouping's ``aif360_signed`` only when it was
    computed), then caveats, provenance, the tool version and the decision-support notice."""
    from precisionrx import __version__
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    data = result.model_dump(mode="json")
    doc = {k: data.pop(k) for k in FIELDS}
    for grouping in doc["groupings"].values():
        if grouping.get("aif360_signed") is None:
            grouping.pop("aif360_signed", None)
    return {**doc, **data, "precisionrx_version": __version__, "notice": DECISION_SUPPORT}


#: Line colours of the calibration curves (Okabe–Ito, distinguishable with colour-vision
#: deficiency); each group also gets its own marker shape and dash pattern.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 2", "8 3 2 3", "4 4", "1 3", "10 2")


@fairness_app.command("audit")
def audit_command(
    predictions: Annotated[
        Path,
        typer.Argument(
            metavar="PREDICTIONS.csv",
            help="CSV with a header row: one row per person, label, score, groups.",
        ),
    ],
    label: Annotated[
        str, typer.Option("--label", metavar="COL", help="Outcome column, coded 0/1.")
    ],
    score: Annotated[
        str, typer.Option("--score", metavar="COL", help="Predicted-risk column, in [0, 1].")
    ],
    group: Annotated[
        list[str],
        typer.Option(
            "--group", metavar="COL", help="A grouping column (repeatable): sex, ethnicity, site …"
        ),
    ],
    pred: Annotated[
        str | None,
        typer.Option(
            "--pred", metavar="COL", help="The model's decision column, coded 0/1 (or --threshold)."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            metavar="T",
            callback=number(low=0.0, high=1.0),
            help="Decision threshold: prediction = score ≥ T (or --pred).",
        ),
    ] = None,
    privileged: Annotated[
        list[str] | None,
        typer.Option(
            "--privileged",
            metavar="VALUE|COL=VALUE",
            help="Privileged value for AIF360's signed metrics: VALUE for every grouping, or "
            "COL=VALUE for one (repeatable).",
        ),
    ] = None,
    fmt: Annotated[
        AuditFormat,
        typer.Option(
            "--format", parser=enum_parser(AuditFormat), metavar=enum_metavar(AuditFormat)
        ),
    ] = AuditFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """Audit a model's predictions across groups: AUC, calibration (O−E, O/E, ECE, Brier,
    curves), selection rate, TPR and FPR per group, and the gaps between groups."""
    from precisionrx.engines.fairness import audit_predictions
    from precisionrx.io.predictions import read_predictions
    from precisionrx.records.evidence import fingerprint
    from precisionrx.report.output import check_outputs, dumps

    if (pred is None) == (threshold is None):
        raise typer.BadParameter(
            "give exactly one of --pred COL (the model's 0/1 decisions) or --threshold T",
            param_hint="--pred / --threshold",
        )
    groups = list(dict.fromkeys(g.strip() for g in group))
    chosen = resolve_privileged(privileged or [], groups)
    check_outputs([output], [predictions])
    table = read_predictions(predictions, label=label, score=score, groups=groups, pred=pred)
    result = audit_predictions(table, threshold=threshold, privileged=chosen,
                               input_sha256=fingerprint(predictions.read_bytes()))  # fmt: skip
    provenance = result.provenance
    doc = audit_document(result)
    if fmt is AuditFormat.html:
        from precisionrx.report.html import page

        text = page("fairness.html.j2", {"doc": doc, "palette": PALETTE, "dashes": DASHES},
                    provenance)  # fmt: skip
    else:
        text = dumps(doc, indent=2, ensure_ascii=False) + "\n"
    emit(text, output, f"{result.n} rows, {len(groups)} grouping(s), {len(result.caveats)} caveats")
