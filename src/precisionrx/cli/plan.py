"""``precisionrx plan`` and ``precisionrx demo``: the end-to-end treatment plan."""

from __future__ import annotations

from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from precisionrx.cli import app
from precisionrx.cli.options import enum_metavar, enum_parser


class PlanFormat(StrEnum):
    json = "json"
    html = "html"
    fhir = "fhir"


#: The file each format is written to, in the output folder.
FILE_NAMES = {
    PlanFormat.json: "plan.json",
    PlanFormat.html: "plan.html",
    PlanFormat.fhir: "plan.fhir.json",
}


def _run(patient: Path, out_dir: Path, formats: list[PlanFormat]) -> None:
    """Build the plan and write every requested file, all of them or none."""
    formats = list(dict.fromkeys(formats))
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.plan.builder import build_plan
    from precisionrx.report.html import page
    from precisionrx.report.output import check_output_path, check_outputs, write_all_atomic
    from precisionrx.report.writers import model_json

    if out_dir.exists() and not out_dir.is_dir():
        from precisionrx.errors import OutputPathError

        raise OutputPathError(
            "is a file: the output (-o) of this command is a folder", path=out_dir
        )
    check_output_path(out_dir / "plan.json")  # the folder's parents, name length
    outputs = [out_dir / FILE_NAMES[f] for f in formats]
    check_outputs(outputs, [patient])
    record = read_patient_file(patient)  # reading only; the data files it names are inputs too
    effect_files = [p for e in record.effects for p in (e.model, e.evaluation, e.fairness) if p]
    check_outputs(
        outputs,
        [g.path for g in record.genomic_inputs] + [m.path for m in record.monitoring]
        + effect_files,
    )  # fmt: skip
    kb = KnowledgeBase()
    plan = build_plan(record, kb)
    files: dict[Path, str] = {}
    if PlanFormat.json in formats:
        files[out_dir / FILE_NAMES[PlanFormat.json]] = model_json(plan)
    if PlanFormat.html in formats:
        files[out_dir / FILE_NAMES[PlanFormat.html]] = page(
            "plan.html.j2", {"plan": plan.model_dump(mode="json")}
        )
    if PlanFormat.fhir in formats:
        from precisionrx.report.fhir.plan import plan_bundle

        files[out_dir / FILE_NAMES[PlanFormat.fhir]] = plan_bundle(plan, kb)
    write_all_atomic(files)
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=False, width=110)
    console.print(f"[bold]Treatment plan for {plan.patient.id}[/bold] — decision support only")
    for f in plan.findings:
        console.print(f"  • {f.title}: {f.detail}")
    if not plan.findings:
        console.print("  no actionable findings")
    for r in plan.pgx:
        for m in r.medication_review or []:
            first = next((x for x in m.recommendations if x.matched), None)
            advice = f" — {first.source}: {first.text.splitlines()[0]}" if first else ""
            console.print(escape(f"  [{m.status}] {m.medication}{advice}"))
    n_cav = sum(len(g.caveats) for r in plan.pgx for g in r.genes) + len(plan.caveats)
    console.print(f"  {n_cav} caveat(s) — see the report")
    for path in files:
        console.print(f"  wrote {path}")


@app.command("plan")
def plan_command(
    patient: Annotated[Path, typer.Argument(help="Patient YAML/JSON file or FHIR R4 Bundle.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")] = Path(),
    fmt: Annotated[
        list[PlanFormat] | None,
        typer.Option(
            "--format",
            help="json, html and/or fhir (default json and html).",
            parser=enum_parser(PlanFormat),
            metavar=enum_metavar(PlanFormat),
        ),
    ] = None,
) -> None:
    """Build a personalised treatment plan (plan.json + plan.html)."""
    _run(patient, output, fmt or [PlanFormat.json, PlanFormat.html])


@app.command("demo")
def demo_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")] = Path(
        "precisionrx-demo"
    ),
) -> None:
    """Run the plan on the bundled synthetic patient and write plan.json + plan.html."""
    demo_dir = Path(str(resources.files("precisionrx.demo")))
    _run(demo_dir / "patient.yaml", output, [PlanFormat.json, PlanFormat.html])
