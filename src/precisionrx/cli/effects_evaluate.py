"""``precisionrx effects evaluate``: validation of a fitted CATE model on data with outcomes —
calibration by quantile, the calibration test, the best linear projection, RATE (AUTOC, Qini),
permutation importance and a plain verdict (docs/cli/effects.md).

Input that cannot be used (a missing or damaged model file, a data file without the model's
columns, a treatment not coded 0/1, a missing value) stops with exit 2 naming the file; nothing
is written.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from precisionrx.cli import emit
from precisionrx.cli.effects import effects_app
from precisionrx.cli.options import enum_metavar, enum_parser

if TYPE_CHECKING:
    from precisionrx.engines.effects.evaluate import Evaluation


class EvaluateFormat(StrEnum):
    json = "json"
    html = "html"


def evaluation_document(
    result: Evaluation, manifest: dict[str, Any], data_sha256: str, *, bins: int, seed: int,
    permutation_repeats: int,
) -> dict[str, Any]:  # fmt: skip
    """The JSON document: verdict first, the statistics, then parameters and versions."""
    from precisionrx import __version__
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    def plain(value: Any) -> Any:
        return None if value is None else dataclasses.asdict(value)

    rate = None
    if result.rate is not None:
        rate = {"autoc": plain(result.rate.autoc), "qini": plain(result.rate.qini),
                "toc": [dataclasses.asdict(p) for p in result.rate.toc],
                "bootstrap": result.rate.bootstrap}  # fmt: skip
    blp = None
    if result.blp is not None:
        blp = {"coefficients": [dataclasses.asdict(c) for c in result.blp.coefficients],
               "se_type": result.blp.se_type}  # fmt: skip
    return {
        "verdict": result.verdict,
        "verdict_text": result.verdict_text,
        "ate": plain(result.ate),
        "calibration": [dataclasses.asdict(b) for b in result.calibration],
        "calibration_test": plain(result.calibration_test),
        "blp": blp,
        "rate": rate,
        "importance": [dataclasses.asdict(i) for i in result.importance],
        "cate_distribution": plain(result.cate_distribution),
        "n": result.n,
        "n_treated": result.n_treated,
        "alpha": result.alpha,
        "bins": bins,
        "seed": seed,
        "permutation_repeats": permutation_repeats,
        "caveats": [
            {"code": c.code, "kind": str(c.kind), "message": c.message} for c in result.caveats
        ],
        "method": manifest.get("chosen"),
        "features": list(manifest.get("features") or []),
        "data_sha256": data_sha256,
        "model_sha256": manifest["payload_sha256"],
        "precisionrx_version": __version__,
        "notice": DECISION_SUPPORT,
    }


@effects_app.command("evaluate")
def evaluate_command(
    model_file: Annotated[Path, typer.Argument(help="Model written by effects fit.")],
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA.csv",
            help="CSV with the model's features, treatment and outcome (ideally rows not used "
            "for fitting).",
        ),
    ],
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.001, max=0.5, help="1 - interval level.")
    ] = 0.05,
    bins: Annotated[
        int, typer.Option("--bins", min=2, max=20, help="Quantile groups of the calibration.")
    ] = 5,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of the bootstrap and permutations (default: the model's)."
        ),
    ] = None,
    fmt: Annotated[
        EvaluateFormat,
        typer.Option(
            "--format", parser=enum_parser(EvaluateFormat), metavar=enum_metavar(EvaluateFormat)
        ),
    ] = EvaluateFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """Validate a CATE model on data with outcomes: calibration by quantile, best linear
    projection, RATE (AUTOC, Qini) with intervals, permutation importance and a verdict
    (heterogeneity detected or not)."""
    import hashlib

    from precisionrx.engines.effects.evaluate import PERMUTATION_REPEATS, evaluate
    from precisionrx.errors import InputError
    from precisionrx.io.effects_data import effect_arrays, read_table
    from precisionrx.io.effects_model import load_model
    from precisionrx.report.output import check_outputs, dumps

    check_outputs([output], [model_file, data])
    manifest, model = load_model(model_file)
    table = read_table(data)
    controls = list(model.controls)
    k = len(model.features)
    z, t, y, _ = effect_arrays(table, data, manifest["treatment"], manifest["outcome"],
                               model.features, manifest.get("id"), controls)  # fmt: skip
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    used_seed = int(model.seed) if seed is None else seed
    try:
        result = evaluate(model, z[:, :k], t, y, alpha=alpha, bins=bins, seed=used_seed,
                          permutation_repeats=PERMUTATION_REPEATS,
                          controls=z[:, k:] if controls else None,
                          on_training_data=digest == manifest.get("training_sha256"))  # fmt: skip
    except InputError as exc:
        if exc.path is None:
            raise InputError(exc.message, path=data, record=exc.record, hint=exc.hint) from exc
        raise
    doc = evaluation_document(result, manifest, digest, bins=bins, seed=used_seed,
                              permutation_repeats=PERMUTATION_REPEATS)  # fmt: skip
    if fmt is EvaluateFormat.html:
        from precisionrx.report.effects_plots import (
            calibration_svg,
            histogram_svg,
            toc_svg,
        )
        from precisionrx.report.html import page

        plots = {"calibration": calibration_svg(doc["calibration"]) if doc["calibration"] else "",
                 "toc": toc_svg(doc["rate"]) if doc["rate"] else "",
                 "histogram": histogram_svg(doc["cate_distribution"])}  # fmt: skip
        text = page("effects_evaluate.html.j2", {"doc": doc, "plots": plots})
    else:
        text = dumps(doc, indent=2) + "\n"
    emit(text, output, result.verdict)
