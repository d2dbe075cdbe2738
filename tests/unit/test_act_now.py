"""The drug-first "act now" list and calibrated PGx findings (issue 14, items 1 and 6), on the
demo patient and variants of it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.builder import build_plan
from precisionrx.plan.model import TreatmentPlan
from precisionrx.records.medicines import MedicineAction

DEMO = Path(str(resources.files("precisionrx.demo")))


def plan(tmp_path: Path, edit: tuple[str, str] | None = None, add: str = "") -> TreatmentPlan:
    for name in ("demo.vcf", "tumour.maf", "cgm.csv"):
        (tmp_path / name).write_bytes((DEMO / name).read_bytes())
    text = (DEMO / "patient.yaml").read_text()
    if edit:
        assert edit[0] in text
        text = text.replace(*edit)
    text = text.replace("medications:\n", "medications:\n" + add)
    (tmp_path / "patient.yaml").write_text(text)
    return build_plan(read_patient_file(tmp_path / "patient.yaml"), KnowledgeBase())


def lines(p: TreatmentPlan) -> dict[str, MedicineAction]:
    return {a.medication: a for a in p.act_now}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> TreatmentPlan:
    return plan(tmp_path_factory.mktemp("demo"))


def test_one_line_per_medicine_most_urgent_first(demo: TreatmentPlan) -> None:
    assert [a.medication for a in demo.act_now] == [
        "clopidogrel", "simvastatin", "capecitabine", "amlodipine",
    ]  # fmt: skip
    assert list(demo.model_dump(mode="json"))[:5] == [
        "precisionrx_version", "generated", "notice", "patient", "act_now",
    ]  # fmt: skip
    by = lines(demo)
    # CYP2C19 poor metaboliser: CPIC says avoid clopidogrel (alternate drug)
    assert by["clopidogrel"].action == "change drug"
    assert any(c.code == "indication_not_recorded" for c in by["clopidogrel"].caveats)
    # simvastatin 40 mg with SLCO1B1 decreased function (< 20 mg/day) and with amlodipine
    simva = by["simvastatin"]
    assert simva.action == "change drug"
    assert (
        simva.dose_check is not None and "40 mg/day is above the CPIC limit <20" in simva.dose_check
    )
    assert any(r.kind == "interaction" and "DDI025" in r.source for r in simva.reasons)
    # DPYD activity score 1.5: CPIC reduce the starting dose by 50 %; the regimen is asked for
    cape = by["capecitabine"]
    assert cape.action == "change dose"
    assert cape.dose_check is not None and "50 %" in cape.dose_check
    assert "record it" in cape.dose_check
    # amlodipine has no PGx guideline: said so, not "unknown"
    aml = by["amlodipine"]
    assert aml.action == "no pharmacogenomic guidance" and aml.drug == "amlodipine"
    assert [c.code for c in aml.caveats] == ["no_pgx_guideline"]


def test_a_recorded_regimen_dose_is_reduced_in_the_check(tmp_path: Path) -> None:
    p = plan(tmp_path, ("dose: planned}", 'dose: "1250 mg/m2 twice daily"}'))
    cape = lines(p)["capecitabine"]
    assert cape.dose_check is not None
    assert "the reduced starting dose is 625 mg/m2" in cape.dose_check


def test_interactions_reach_both_medicines(tmp_path: Path) -> None:
    p = plan(tmp_path, add='  - {name: omeprazole, dose: 20 mg daily}\n'
                          '  - {name: warfarin, dose: 5 mg daily}\n')  # fmt: skip
    by = lines(p)
    assert by["omeprazole"].action == "change drug"  # avoid with clopidogrel (FDA label)
    assert any("clopidogrel" in r.text for r in by["omeprazole"].reasons)
    assert by["warfarin"].action in ("change dose", "monitor", "change drug")
    assert any(r.kind == "interaction" and "capecitabine" in r.text
               for r in by["warfarin"].reasons)  # fmt: skip


def test_gene_results_lead_only_when_a_medicine_is_concerned(
    demo: TreatmentPlan, tmp_path: Path
) -> None:
    titles = [f.title for f in demo.findings if f.domain == "pgx"]
    assert "CYP2C19 Poor Metabolizer" in titles and "SLCO1B1 Decreased Function" in titles
    # CYP2D6 intermediate metaboliser with no CYP2D6 drug: information, not a key finding
    assert not any(t.startswith("CYP2D6") for t in titles)
    with_codeine = plan(tmp_path, add="  - {name: codeine, dose: 30 mg four times a day}\n")
    titles = [f.title for f in with_codeine.findings if f.domain == "pgx"]
    assert any(t.startswith("CYP2D6") for t in titles)


def test_newer_cpic_guidance_is_shown_once_per_medicine(demo: TreatmentPlan) -> None:
    from precisionrx.report.html import page

    html = page("plan.html.j2", {"plan": demo.model_dump(mode="json")})
    row = html.split("<td>clopidogrel")[1].split("</tr>")[0]
    assert row.count("newer_cpic_guidance") <= 1
    recs = [r for m in demo.pgx[0].medication_review or [] if m.medication == "clopidogrel"
            for r in m.recommendations if any(c.code == "newer_cpic_guidance" for c in r.caveats)]  # fmt: skip
    assert len(recs) >= 2  # the data repeat it; the report shows it once


def test_only_non_normal_phenotypes_are_highlighted(demo: TreatmentPlan) -> None:
    import re

    from precisionrx.report.html import page

    html = page("plan.html.j2", {"plan": demo.model_dump(mode="json")})
    marked = set(re.findall(r'class="pheno-abnormal">([^<]+)<', html))
    assert "Poor Metabolizer" in marked
    assert not {p for p in marked if p.startswith(("Normal", "Indeterminate", "No Result"))}
    assert not {p for p in marked if "negative" in p}
