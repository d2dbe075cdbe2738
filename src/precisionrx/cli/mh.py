"""``precisionrx mh score``: questionnaire scores, severity bands and safety flags;
``precisionrx mh track``: their trajectories, response, remission and guideline options;
``precisionrx mh options``: ranked candidate medicines for a condition and a patient
(docs/cli/mh.md).

Input that cannot be read (an item off the scale, an unknown instrument, a bad date, broken
FHIR) stops with exit 2 naming the file, the row or resource and the item; nothing is written.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from precisionrx.cli import app, emit
from precisionrx.cli.options import enum_metavar, enum_parser

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.records.mental_health import OptionsResult, ScoreResult, TrackResult

mh_app = typer.Typer(
    help="Mental health: questionnaire scores (PHQ-9, GAD-7, PHQ-2, GAD-2 ...) with safety flags, "
    "their trajectories, and ranked medication options.",
    no_args_is_help=True,
)
app.add_typer(mh_app, name="mh")

#: Columns of the CSV output, in order.
CSV_COLUMNS = ("id", "instrument", "date", "total", "severity", "items_answered", "flags", "loinc")
#: Columns of the ``mh track`` CSV output, in order.
TRACK_COLUMNS = ("id", "instrument", "baseline", "latest", "weeks", "change_percent", "response",
                 "remission", "next_step", "flags")  # fmt: skip


class ScoreFormat(StrEnum):
    json = "json"
    csv = "csv"


def score_document(result: ScoreResult) -> dict[str, Any]:
    """The JSON document: ``scores`` first, then the result's caveats and provenance."""
    data = result.model_dump(mode="json")
    return {"scores": data.pop("scores"), **data}


def render_csv(result: ScoreResult) -> str:
    """One row per score; ``flags`` joined with ``;``, an empty cell for null."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in result.scores:
        writer.writerow(
            [s.id or "", s.instrument, s.date or "", "" if s.total is None else s.total,
             s.severity or "", s.items_answered, ";".join(s.flags), s.loinc or ""]
        )  # fmt: skip
    return buffer.getvalue()


FormatOption = Annotated[
    ScoreFormat,
    typer.Option("--format", parser=enum_parser(ScoreFormat), metavar=enum_metavar(ScoreFormat)),
]
OutputOption = Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")]


@mh_app.command("score")
def score_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (id, instrument, date, item_1 … item_N[, sex]) or FHIR R4 "
            "QuestionnaireResponse JSON (one, a Bundle, or NDJSON)."
        ),
    ],
    fmt: FormatOption = ScoreFormat.json,
    output: OutputOption = None,
) -> None:
    """Score each questionnaire: total, severity band, items answered and safety flags."""
    from precisionrx.engines.mental_health import score_responses
    from precisionrx.io.questionnaire_inputs import read_answers
    from precisionrx.kb.questionnaires import load_questionnaires
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs, dumps

    check_outputs([output], [file])
    kb = KnowledgeBase()
    answers = read_answers(file, load_questionnaires(kb))
    result = score_responses(answers, kb)
    if fmt is ScoreFormat.csv:
        text = render_csv(result)
    else:
        text = dumps(score_document(result), indent=2, ensure_ascii=False) + "\n"
    flagged = [s for s in result.scores if s.flags]
    for s in flagged:  # safety flags first, on standard error, whatever the format
        where = " ".join(x for x in (s.id, s.instrument, s.date) if x)
        typer.echo(f"FLAG {', '.join(s.flags)}: {where}", err=True)
    emit(text, output, f"{len(result.scores)} scores, {len(flagged)} flagged")


def track_document(result: TrackResult) -> dict[str, Any]:
    """The JSON document: ``trajectories`` first, then the result's caveats and provenance."""
    data = result.model_dump(mode="json")
    return {"trajectories": data.pop("trajectories"), **data}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_track_csv(result: TrackResult) -> str:
    """One row per trajectory; ``next_step`` its text, ``flags`` joined with ``;``, an empty
    cell for null, booleans ``true``/``false``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRACK_COLUMNS)
    for t in result.trajectories:
        step = t.next_step.text if t.next_step else None
        writer.writerow(
            [_cell(x) for x in (t.id, t.instrument, t.baseline, t.latest, t.weeks,
                                t.change_percent, t.response, t.remission, step)]
            + [";".join(t.flags)]
        )  # fmt: skip
    return buffer.getvalue()


@mh_app.command("track")
def track_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="The inputs of mh score (CSV or FHIR QuestionnaireResponse), or the JSON "
            "mh score writes."
        ),
    ],
    fmt: FormatOption = ScoreFormat.json,
    output: OutputOption = None,
) -> None:
    """Trajectories per id and instrument: baseline, latest, change, response, remission and
    the cited guideline options."""
    from precisionrx.engines.mental_health import score_responses, track
    from precisionrx.io.questionnaire_inputs import read_answers_or_scores
    from precisionrx.kb.questionnaires import load_questionnaires
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.report.output import check_outputs, dumps

    check_outputs([output], [file])
    kb = KnowledgeBase()
    answers, scores = read_answers_or_scores(file, load_questionnaires(kb))
    if scores is None:
        scores = score_responses(answers, kb).scores
    result = track(scores, kb)
    if fmt is ScoreFormat.csv:
        text = render_track_csv(result)
    else:
        text = dumps(track_document(result), indent=2, ensure_ascii=False) + "\n"
    flagged = [t for t in result.trajectories if t.flags]
    for t in flagged:  # safety flags first, on standard error, whatever the format
        where = " ".join(x for x in (t.id, t.instrument) if x)
        typer.echo(f"FLAG {', '.join(t.flags)}: {where}", err=True)
    emit(text, output, f"{len(result.trajectories)} trajectories, {len(flagged)} flagged")


class OptionsFormat(StrEnum):
    json = "json"
    html = "html"


class Condition(StrEnum):
    depression = "depression"
    anxiety = "anxiety"
    bipolar = "bipolar"
    psychosis = "psychosis"
    adhd = "adhd"


class SideEffect(StrEnum):
    sedation = "sedation"
    weight_gain = "weight_gain"
    sexual_dysfunction = "sexual_dysfunction"
    anticholinergic = "anticholinergic"
    nausea = "nausea"
    postural_hypotension = "postural_hypotension"
    cardiac_conduction = "cardiac_conduction"
    qtc = "qtc"
    akathisia = "akathisia"
    parkinsonism = "parkinsonism"
    prolactin = "prolactin"


def options_document(result: OptionsResult, kb: KnowledgeBase, flags: set[str]) -> dict[str, Any]:
    """The JSON document: ``condition`` and ``candidates`` first, then the safety flags of the
    record's questionnaires, the ranking rule, caveats, provenance and the notice."""
    from precisionrx import __version__
    from precisionrx.report.pgx_json import DECISION_SUPPORT

    data = result.model_dump(mode="json")
    return {
        "condition": data.pop("condition"),
        "candidates": data.pop("candidates"),
        "safety_flags": sorted(flags, key=lambda f: f != "suicidal_ideation"),
        **data,
        "precisionrx_version": __version__,
        "notice": DECISION_SUPPORT,
        "knowledge_bases": kb.versions(),
    }


@mh_app.command("options")
def options_command(
    patient: Annotated[
        Path,
        typer.Argument(
            help="Patient file (YAML/JSON/FHIR): germline VCFs and/or outside_calls, "
            "medications, conditions, age, sex, pregnancy, questionnaires."
        ),
    ],
    condition: Annotated[
        Condition | None,
        typer.Option(
            "--condition",
            parser=enum_parser(Condition),
            metavar=enum_metavar(Condition),
            help="Condition to rank options for (default: the first recorded psychiatric "
            "condition, else depression with a caveat).",
        ),
    ] = None,
    fmt: Annotated[
        OptionsFormat,
        typer.Option(
            "--format", parser=enum_parser(OptionsFormat), metavar=enum_metavar(OptionsFormat)
        ),
    ] = OptionsFormat.json,
    avoid: Annotated[
        list[SideEffect] | None,
        typer.Option(
            "--avoid",
            parser=enum_parser(SideEffect),
            metavar=enum_metavar(SideEffect),
            help="A side effect the patient wants to avoid (repeatable).",
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Rank candidate medicines for a condition: CPIC/DPWG guidance on the effective
    phenotype, interactions, side effects against comorbidities, efficacy priors, cautions."""
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.kb.registry import KnowledgeBase
    from precisionrx.plan.mental_health_options import (
        questionnaire_flags,
        record_options,
    )
    from precisionrx.report.output import check_outputs, dumps

    check_outputs([output], [patient])
    kb = KnowledgeBase()
    record = read_patient_file(patient)
    flags = questionnaire_flags(record, kb)
    result = record_options(
        record, kb, condition=condition.value if condition else None,
        avoid=[a.value for a in avoid or []], flags=flags,
    )  # fmt: skip
    doc = options_document(result, kb, flags)
    if fmt is OptionsFormat.html:
        from precisionrx.report.html import page

        text = page("mh_options.html.j2", {"doc": {**doc, "options": result,
                                                   "patient": record.name or record.id,
                                                   "flags": doc["safety_flags"]}},
                    result.provenance)  # fmt: skip
    else:
        text = dumps(doc, indent=2, ensure_ascii=False) + "\n"
    for f in doc["safety_flags"]:  # safety flags first, on standard error, whatever the format
        typer.echo(f"FLAG {f}: {record.id}", err=True)
    emit(text, output, f"{len(result.candidates)} candidates for {result.condition}")
