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
    from precisionrx.records.evidence import fingerprint
    from precisionrx.report.output import check_outputs, dumps
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    check_outputs([output], [data])
    table = read_table(data)
    try:
        result = estimate_ate(table, treatment, outcome, covariates, method.value, alpha=alpha,
                              bootstrap=bootstrap, seed=seed,
                              input_sha256=fingerprint(data.read_bytes()))  # fmt: skip
    except InputError as exc:
        if exc.path is None:  # the engine names the column; the message names the file too
            raise InputError(exc.message, path=data, record=exc.record, hint=exc.hint) from exc
        raise
    body = result.model_dump(mode="json")
    first = {k: body.pop(k) for k in ("method", "ate", "ci_lower", "ci_upper", "n")}
    doc = {**first, **body, "precisionrx_version": __version__, "notice": DECISION_SUPPORT}
    emit(
        dumps(doc, indent=2) + "\n",
        output,
        f"{method.value}: {result.ate:.3g} ({result.ci_lower:.3g} to {result.ci_upper:.3g})",
    )


class FitMethod(StrEnum):
    auto = "auto"
    t_learner = "t_learner"
    x_learner = "x_learner"
    dr = "dr"
    causal_forest = "causal_forest"
    bcf = "bcf"


class PredictFormat(StrEnum):
    csv = "csv"
    json = "json"


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise typer.BadParameter("give at least one column name")
    return cols


def _interval_method(chosen: str) -> str:
    if chosen == "causal_forest":
        return "forest variance (bootstrap of little bags), normal approximation"
    if chosen == "bcf":
        return "posterior quantiles of the CATE (100 MCMC draws)"
    return "bootstrap percentile (refits on resamples stratified by arm)"


@effects_app.command("fit")
def fit_command(
    data: Annotated[Path, typer.Argument(help="Training CSV with a header row.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Treatment column, coded 0/1.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column (numeric).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file to write.")],
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Effect modifiers A,B,... (default: every column "
            "except treatment, outcome and id).",
        ),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Identifier column (never a feature).")
    ] = None,
    controls: Annotated[
        str | None,
        typer.Option(
            "--controls",
            help="Confounders C,D,... adjusted for in the nuisance models but not effect "
            "modifiers (not needed to predict).",
        ),
    ] = None,
    method: Annotated[
        FitMethod,
        typer.Option("--method", parser=enum_parser(FitMethod), metavar=enum_metavar(FitMethod)),
    ] = FitMethod.auto,
    seed: Annotated[int, typer.Option("--seed", help="Seed of folds and bootstrap.")] = 0,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=20, max=2000, help="Refits behind the intervals.")
    ] = 50,
) -> None:
    """Fit a CATE model (auto: the meta-learner chosen by cross-fitted DR loss; causal_forest
    and bcf by name) and save it."""
    import hashlib
    import math
    from datetime import UTC, datetime

    from precisionrx.engines.effects.cate import fit_effects
    from precisionrx.io.effects_data import effect_arrays, read_table
    from precisionrx.io.effects_model import model_bytes
    from precisionrx.report.output import check_outputs, write_atomic

    check_outputs([output], [data])
    table = read_table(data)
    control_names = _columns(controls) or []
    z, t, y, names = effect_arrays(table, data, treatment, outcome, _columns(features), id_column,
                                   control_names)  # fmt: skip
    model = fit_effects(z, t, y, names, method=method.value, seed=seed, bootstrap=bootstrap,
                        controls=control_names)  # fmt: skip
    summary = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "treatment": treatment, "outcome": outcome, "id": id_column, "features": names,
        "controls": control_names,
        "method": method.value, "chosen": model.chosen,
        "selection_dr_loss": {k: v if math.isfinite(v) else None
                              for k, v in model.selection.items()},
        "base_families": {"mu0": model.bases.mu0, "mu1": model.bases.mu1, "final": model.final},
        "base_cv_mse": {m: {f: v if math.isfinite(v) else None for f, v in scores.items()}
                        for m, scores in model.bases.scores.items()},  # None: failed
        "n": model.n, "n_treated": model.n_treated,
        "seed": seed, "bootstrap": bootstrap if model.bootstrap else None,
        "interval_method": _interval_method(model.chosen),
        "feature_ranges": {k: list(v) for k, v in model.ranges.items()},
        "propensity_range_p01_p99": list(model.propensity_range),
    }  # fmt: skip
    write_atomic(output, model_bytes(model, summary))
    typer.echo(f"wrote {output} ({model.chosen}, {model.n} rows)", err=True)


@effects_app.command("predict")
def predict_command(
    model_file: Annotated[Path, typer.Argument(help="Model written by effects fit.")],
    data: Annotated[Path, typer.Argument(help="CSV with the model's feature columns.")],
    id_column: Annotated[
        str | None, typer.Option("--id", help="Identifier column copied to the output.")
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.001, max=0.5, help="1 - interval level.")
    ] = 0.05,
    fmt: Annotated[
        PredictFormat,
        typer.Option(
            "--format", parser=enum_parser(PredictFormat), metavar=enum_metavar(PredictFormat)
        ),
    ] = PredictFormat.csv,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """CATE with its interval for every row, in input order."""
    import csv
    import io

    import numpy as np

    from precisionrx import __version__
    from precisionrx.io.effects_data import feature_matrix, read_table
    from precisionrx.io.effects_model import load_model
    from precisionrx.report.output import check_outputs, dumps
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    check_outputs([output], [model_file, data])
    manifest, model = load_model(model_file)
    table = read_table(data)
    x = feature_matrix(table, data, model.features)
    ids = None
    if id_column is not None:
        if id_column not in table.columns:
            from precisionrx.errors import InputError

            raise InputError(f"id column {id_column!r} not in the data", path=data)
        ids = table[id_column].astype(str).tolist()
    cate = model.effect(x)
    lower, upper = model.interval(x, alpha)
    bad = np.flatnonzero(~(np.isfinite(cate) & np.isfinite(lower) & np.isfinite(upper)))
    if bad.size:
        from precisionrx.errors import InputError

        where = ", ".join(str(int(i)) for i in bad[:5]) + (" ..." if bad.size > 5 else "")
        raise InputError(
            f"the model's CATE or interval is not a finite number for {bad.size} row(s) "
            f"(0-based: {where}): values far outside the training data overflow its outcome "
            "surface", path=data,
            hint="check those rows' features against feature_ranges (effects describe)",
        )  # fmt: skip
    rows = []
    for i in range(len(cate)):
        row: dict[str, object] = {"row": i}
        if ids is not None:
            row[id_column or "id"] = ids[i]
        row.update(cate=float(cate[i]), cate_lower=float(lower[i]), cate_upper=float(upper[i]))
        rows.append(row)
    if fmt is PredictFormat.json:
        text = dumps({"predictions": rows, "alpha": alpha, "method": model.chosen,
                      "model_sha256": manifest["payload_sha256"],
                      "precisionrx_version": __version__, "notice": DECISION_SUPPORT},
                     indent=2) + "\n"  # fmt: skip
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        header = ["row", *([id_column] if id_column else []), "cate", "cate_lower", "cate_upper"]
        writer.writerow(header)
        for r in rows:
            writer.writerow([repr(v) if isinstance(v, float) else v for v in r.values()])
        text = buffer.getvalue()
    emit(text, output, f"{len(rows)} rows")


@effects_app.command("describe")
def describe_command(
    model_file: Annotated[Path, typer.Argument(help="Model written by effects fit.")],
) -> None:
    """The model's manifest: method, the learner chosen and its selection scores, data."""
    from precisionrx.io.effects_model import read_manifest
    from precisionrx.report.output import dumps

    manifest, _ = read_manifest(model_file)
    typer.echo(dumps(manifest, indent=2))


@effects_app.command("policy")
def policy_command(
    model_file: Annotated[Path, typer.Argument(help="Model written by effects fit.")],
    data: Annotated[
        Path, typer.Argument(help="CSV with the model's features, treatment and outcome.")
    ],
    max_depth: Annotated[int, typer.Option("--max-depth", min=1, max=2, help="Tree depth.")] = 2,
    cost: Annotated[
        float, typer.Option("--cost", help="Cost of treating, in outcome units (per person).")
    ] = 0.0,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.001, max=0.5, help="1 - interval level.")
    ] = 0.05,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """An explainable treatment rule (a shallow policy tree on doubly-robust scores) with its
    out-of-sample value against treating everyone and no one."""
    import math

    from precisionrx import __version__
    from precisionrx.engines.effects.policy import policy
    from precisionrx.io.effects_data import effect_arrays, read_table
    from precisionrx.io.effects_model import load_model
    from precisionrx.report.output import check_outputs, dumps
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    check_outputs([output], [model_file, data])
    manifest, model = load_model(model_file)
    if not math.isfinite(cost):
        raise typer.BadParameter("--cost must be a finite number")
    table = read_table(data)
    z, t, y, names = effect_arrays(table, data, manifest["treatment"], manifest["outcome"],
                                   model.features, manifest.get("id"), model.controls)  # fmt: skip
    result = policy(z[:, : len(names)], t, y, names, model.bases, depth=max_depth, cost=cost,
                    alpha=alpha, seed=model.seed, design=z)  # fmt: skip
    doc = {
        "rule": result.rules,
        "value": {k: {"estimate": v.estimate, "ci_lower": v.ci_lower, "ci_upper": v.ci_upper}
                  for k, v in result.value.items()},
        "groups": result.leaves, "treated_share": result.treated_share, "n": result.n,
        "cost": cost, "max_depth": max_depth, "alpha": alpha,
        "caveats": [
            {"code": "value_out_of_sample", "kind": "note", "message": (
                "the value is that of the rule-learning procedure, estimated on held-out folds "
                "(5-fold); the rule shown is learned on all rows")},
            {"code": "causal_assumptions", "kind": "note", "message": (
                "doubly-robust scores are unbiased only without unmeasured confounding and with "
                "overlap; a rule is a proposal for clinical review, not an order")},
        ],
        "model_sha256": manifest["payload_sha256"], "precisionrx_version": __version__,
        "notice": DECISION_SUPPORT,
    }  # fmt: skip
    emit(dumps(doc, indent=2) + "\n", output, f"{len(result.rules)} leaves")
