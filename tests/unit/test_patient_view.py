"""The patient's view of the plan (issue 14, item 7): plain words per medicine with the
symptoms to report, every section covered, the keep-this-result advice, and a reading age of
about 12 (Flesch-Kincaid grade, testkit/readability.py)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.builder import build_plan
from precisionrx.plan.model import TreatmentPlan
from testkit.readability import fk_grade, syllables

DEMO = Path(str(resources.files("precisionrx.demo")))


def plan(tmp_path: Path, edit: tuple[str, str] | None = None) -> TreatmentPlan:
    for name in ("demo.vcf", "tumour.maf", "cgm.csv"):
        (tmp_path / name).write_bytes((DEMO / name).read_bytes())
    text = (DEMO / "patient.yaml").read_text()
    if edit:
        text = text.replace(*edit)
    (tmp_path / "patient.yaml").write_text(text)
    return build_plan(read_patient_file(tmp_path / "patient.yaml"), KnowledgeBase())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return plan(tmp_path_factory.mktemp("demo")).patient_summary


def test_readability_formula_on_known_text() -> None:
    assert [syllables(w) for w in ("cat", "medicine", "table", "pharmacist")] == [1, 3, 2, 3]
    assert fk_grade("The cat sat on the mat. It was happy.") < 1
    hard = ("Pharmacogenomic considerations necessitate individualised therapeutic "
            "modifications, particularly regarding fluoropyrimidine administration.")  # fmt: skip
    assert fk_grade(hard) > 16


def test_each_medicine_in_plain_words_with_what_to_report(demo: list[str]) -> None:
    text = " ".join(demo)
    clop = next(line for line in demo if line.startswith("clopidogrel:"))
    assert "may not work well for you" in clop and "chest pain" in clop
    cape = next(line for line in demo if line.startswith("capecitabine:"))
    assert "lower dose" in cape and "diarrhoea" in cape
    simva = next(line for line in demo if line.startswith("simvastatin:"))
    assert "muscle pain" in simva
    assert "breaks down" not in text and "Metabolizer" not in text  # no jargon
    assert "Do not stop or change any medicine on your own" in text


def test_every_section_is_covered_and_the_result_kept(demo: list[str]) -> None:
    starts = [line.split(":")[0] for line in demo]
    for section in ("Heart", "Cancer", "Glucose"):
        assert section in starts, section
    assert demo[-1].startswith("Keep this result. Show it to every doctor")
    assert any("too low at night 5 times" in line for line in demo)
    assert any("Your goal is more than 70 %" in line for line in demo)


def test_reading_age_about_12(demo: list[str]) -> None:
    assert fk_grade(" ".join(demo)) <= 7.0  # grade 7: reading age about 12
    assert all(fk_grade(line) <= 9.0 for line in demo)


def test_older_patient_glucose_goal_and_no_jargon(tmp_path: Path) -> None:
    summary = plan(tmp_path, ("age_years: 58", "age_years: 72")).patient_summary
    assert any("Your goal is more than 50 %" in line for line in summary)
    assert fk_grade(" ".join(summary)) <= 7.0
