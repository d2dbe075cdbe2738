"""The plan's mental-health section (issue 16, item 4): questionnaires named in the patient
file, safety flags first (key findings, patient view, HTML), the latest score per instrument,
trajectories with a trend chart; no section without questionnaires."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from precisionrx.engines.medicines.patient_view import GET_HELP_NOW
from precisionrx.errors import InputError
from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.builder import build_plan
from precisionrx.plan.model import TreatmentPlan
from precisionrx.report.html import page

DEMO = Path(str(resources.files("precisionrx.demo")))
KB = KnowledgeBase()
HEADER = "id,instrument,date," + ",".join(f"item_{n}" for n in range(1, 10))
#: PHQ-9 20 -> 9 (item 9 positive both times), GAD-7 11 -> 6, in one CSV.
ROWS = [
    "p1,PHQ-9,2026-01-05,3,3,2,2,2,2,2,2,2",
    "p1,GAD-7,2026-01-05,2,2,2,2,1,1,1,,",
    "p1,PHQ-9,2026-02-16,1,1,1,1,1,1,1,1,1",
    "p1,GAD-7,2026-02-16,1,1,1,1,1,1,0,,",
]


def _patient(folder: Path, rows: list[str], *, demo: bool) -> Path:
    (folder / "phq.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    if demo:
        for name in ("demo.vcf", "tumour.maf", "cgm.csv"):
            (folder / name).write_bytes((DEMO / name).read_bytes())
        text = (DEMO / "patient.yaml").read_text()
    else:
        text = "id: mh-1\nmedications: [{name: sertraline}]\n"
    (folder / "patient.yaml").write_text(text + "questionnaires:\n  - {path: phq.csv}\n")
    return folder / "patient.yaml"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> TreatmentPlan:
    path = _patient(tmp_path_factory.mktemp("mh"), ROWS, demo=True)
    return build_plan(read_patient_file(path), KB)


def test_section_flags_first_latest_per_instrument(plan: TreatmentPlan) -> None:
    mh = plan.mental_health
    assert mh is not None and "mental_health" in plan.engines
    assert [(f.flag, f.instrument, f.date, f.item) for f in mh.flags] == [
        ("suicidal_ideation", "PHQ-9", "2026-02-16", 9),
        ("suicidal_ideation", "PHQ-9", "2026-01-05", 9),
    ]
    assert [(s.instrument, s.date, s.total, s.severity) for s in mh.latest] == [
        ("PHQ-9", "2026-02-16", 9, "mild"),
        ("GAD-7", "2026-02-16", 6, "mild"),
    ]
    assert [(t.instrument, t.baseline, t.latest) for t in mh.trajectories] == [
        ("PHQ-9", 20, 9), ("GAD-7", 11, 6),
    ]  # fmt: skip
    assert [[p.total for p in h.points] for h in mh.history] == [[20, 9], [11, 6]]
    assert "options_not_assessed" in {c.code for c in mh.caveats}
    assert mh.medications == []  # the demo's medicines: none is psychiatric
    assert mh.provenance is not None and mh.provenance.input_sha256
    assert TreatmentPlan.model_validate_json(plan.model_dump_json()) == plan


def test_suicidal_ideation_is_the_first_key_finding(plan: TreatmentPlan) -> None:
    first, second = plan.findings[:2]
    assert first.title == "Positive PHQ-9 item 9 on 2026-02-16: review suicide risk today"
    assert first.domain == "mental_health" and first.severity == "urgent"
    assert second.title.startswith("Positive PHQ-9 item 9 on 2026-01-05")
    assert any(f.domain == "pgx" for f in plan.findings[2:])  # the others are kept, after


def test_patient_view_says_where_to_get_help_first(plan: TreatmentPlan) -> None:
    assert plan.patient_summary[0] == GET_HELP_NOW
    assert "care team today" in GET_HELP_NOW and "emergency services" in GET_HELP_NOW
    assert any(line.startswith("Questionnaire PHQ-9 on 2026-02-16: your score was 9.")
               for line in plan.patient_summary)  # fmt: skip


def test_html_flag_box_before_other_sections(plan: TreatmentPlan) -> None:
    html = page("plan.html.j2", {"plan": plan.model_dump(mode="json")})
    box = html.index('class="notice safety-flags"')
    assert box < html.index("Act now") < html.index("<h2>Mental health</h2>")
    assert "review suicide risk today" in html[box : html.index("Act now")]
    section = html[html.index("<h2>Mental health</h2>") :]
    assert "<svg" in section and "<title" in section and "<desc" in section
    assert "PHQ-9 total" in section and "2026-01-05: 20; 2026-02-16: 9" in section
    assert "medication options: not assessed" in section


def test_no_section_without_questionnaires(tmp_path: Path) -> None:
    (tmp_path / "patient.yaml").write_text("id: mh-0\nmedications: [{name: sertraline}]\n")
    plan = build_plan(read_patient_file(tmp_path / "patient.yaml"), KB)
    assert plan.mental_health is None and "mental_health" not in plan.engines
    html = page("plan.html.j2", {"plan": plan.model_dump(mode="json")})
    assert "Mental health" not in html and "safety-flags" not in html
    assert GET_HELP_NOW not in plan.patient_summary


def test_flag_without_total_is_kept_and_path_is_relative(tmp_path: Path) -> None:
    path = _patient(tmp_path, ["q1,PHQ-9,,1,,1,1,1,1,1,1,3"], demo=False)
    record = read_patient_file(path)
    assert record.questionnaires[0].path == str((tmp_path / "phq.csv").resolve())
    plan = build_plan(record, KB)
    mh = plan.mental_health
    assert mh is not None and mh.latest[0].total is None and mh.history == []
    assert plan.findings[0].title == (
        "Positive PHQ-9 item 9 on an undated questionnaire: review suicide risk today"
    )
    assert plan.patient_summary[0] == GET_HELP_NOW


def test_bad_questionnaire_file_is_an_input_error(tmp_path: Path) -> None:
    path = _patient(tmp_path, ["q1,PHQ-9,2026-01-05,1,1,1,1,1,1,1,1,7"], demo=False)
    with pytest.raises(InputError, match="item_9"):
        build_plan(read_patient_file(path), KB)


def test_fhir_has_a_psy_labelled_observation_per_latest_score(
    plan: TreatmentPlan, fhir_resources: Callable[[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    """plan.fhir.json: one survey Observation per latest score with the total-score LOINC
    code, the total, the date, the band and the flag, labelled PSY; valid FHIR R4."""
    import json

    from precisionrx.report.fhir.plan import plan_bundle

    found = fhir_resources(json.loads(plan_bundle(plan, KB)))
    scores = [r for r in found if r["resourceType"] == "Observation"
              and r["category"][0]["coding"][0]["code"] == "survey"]  # fmt: skip
    assert [(o["code"]["coding"][0]["code"], o["valueInteger"], o["effectiveDateTime"],
             o["interpretation"][0]["text"]) for o in scores] == [
        ("44261-6", 9, "2026-02-16", "mild"), ("70274-6", 6, "2026-02-16", "mild")]  # fmt: skip
    assert all(o["meta"]["security"][0]["code"] == "PSY" for o in scores)
    assert scores[0]["note"][0]["text"] == "safety flag: suicidal_ideation"
    from precisionrx.report.fhir.common import full_url

    report = found[-1]
    assert {full_url(o) for o in scores} <= {x["reference"] for x in report["result"]}


def test_psychiatric_medicines_are_listed_with_their_act_now_line(tmp_path: Path) -> None:
    """The section lists the record's psychiatric medicines (drugs of the psychiatric PGx
    table) with their act-now line; other medicines stay out."""
    path = _patient(tmp_path, ["q1,PHQ-9,2026-01-05,1,1,1,1,1,1,1,1,0"], demo=False)
    text = path.read_text().replace(
        "medications: [{name: sertraline}]",
        "medications: [{name: sertraline, dose: 50 mg daily}, {name: clopidogrel}, {name: Zoloft}]",
    )
    path.write_text(text)
    plan = build_plan(read_patient_file(path), KB)
    mh = plan.mental_health
    assert mh is not None
    assert [(m.medication, m.drug) for m in mh.medications] == [
        ("sertraline", "sertraline"), ("Zoloft", "sertraline")]  # fmt: skip
    act = {a.medication: a for a in plan.act_now}
    assert mh.medications[0] == act["sertraline"]  # the same line as in act now
    assert mh.medications[0].caveats  # no genotype: said so, never assumed normal
