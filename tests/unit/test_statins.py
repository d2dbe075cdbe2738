"""The statin review (issue 14, items 1 and 5): intensity from the 2018 AHA/ACC table, the
recorded dose against the genotype's CPIC limit, high-intensity options within the limits, and
statin intensification before add-on drugs."""

from __future__ import annotations

from pathlib import Path

import pytest

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.cardio.api import assess_patient
from precisionrx.engines.cardio.record_inputs import ingredients
from precisionrx.engines.cardio.statins import statin_review
from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import PatientRecord, SampleResult
from precisionrx.records.cardio import StatinReview
from testkit.patients import cardio_patient
from testkit.synthetic import VcfBuilder


@pytest.fixture(scope="module")
def slco1b1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampleResult]:
    kb = KnowledgeBase()
    out = {}
    for name, (a, b) in {"decreased": ("*1", "*5"), "poor": ("*5", "*5")}.items():
        path = tmp_path_factory.mktemp(name) / "s.vcf"
        VcfBuilder(kb, samples=["S"]).haplotypes("SLCO1B1", a, b, phased=False).write(path)
        (res,) = call_vcf(path, kb)
        out[name] = res
    return out


def record(tmp_path: Path, dose: str = "40 mg nightly") -> PatientRecord:
    meds = f'medications: [{{name: simvastatin, dose: "{dose}"}}]\n'
    (tmp_path / "p.yaml").write_text(cardio_patient(extra=meds))
    return read_patient_file(tmp_path / "p.yaml")


def review(kb: KnowledgeBase, rec: PatientRecord, pgx: list[SampleResult]) -> StatinReview:
    return statin_review(kb, rec, pgx, ingredients(rec, kb))


def options(r: StatinReview) -> list[tuple[str, float]]:
    return [(o.drug, o.dose_mg) for o in r.high_intensity_options]


def test_decreased_function_simvastatin_40_is_above_the_cpic_limit(
    kb: KnowledgeBase, tmp_path: Path, slco1b1: dict[str, SampleResult]
) -> None:
    r = review(kb, record(tmp_path), [slco1b1["decreased"]])
    (use,) = r.current
    assert (use.drug, use.dose_mg, use.intensity) == ("simvastatin", 40.0, "moderate")
    assert use.cpic_limit == "<20 mg/day" and use.exceeds_cpic_limit is True
    assert use.cpic_action == "cpic_prefer_alternative_else_cap"
    assert use.action.startswith("change drug")
    assert [c.code for c in use.caveats] == ["dose_above_cpic_limit"]
    # atorvastatin <= 40 mg for SLCO1B1 decreased function: 80 mg is not offered
    assert ("atorvastatin", 40.0) in options(r) and ("atorvastatin", 80.0) not in options(r)
    assert ("rosuvastatin", 20.0) in options(r)


def test_a_dose_within_the_limit_is_kept(
    kb: KnowledgeBase, tmp_path: Path, slco1b1: dict[str, SampleResult]
) -> None:
    (use,) = review(kb, record(tmp_path, "10 mg at night"), [slco1b1["decreased"]]).current
    assert use.exceeds_cpic_limit is False and use.intensity == "low"
    assert use.action.startswith("keep")


def test_poor_function_avoids_simvastatin_and_caps_the_alternatives(
    kb: KnowledgeBase, tmp_path: Path, slco1b1: dict[str, SampleResult]
) -> None:
    r = review(kb, record(tmp_path), [slco1b1["poor"]])
    (use,) = r.current
    assert use.cpic_action == "avoid_use_alternative" and use.action == "change drug"
    # atorvastatin <= 20 mg and rosuvastatin <= 20 mg for SLCO1B1 poor function
    assert options(r) == [("rosuvastatin", 20.0)]


def test_without_genotype_or_dose(kb: KnowledgeBase, tmp_path: Path) -> None:
    r = review(kb, record(tmp_path, "as directed"), [])
    (use,) = r.current
    assert use.dose_mg is None and use.exceeds_cpic_limit is None
    assert [c.code for c in use.caveats] == ["dose_not_recorded"]
    assert [c.code for c in r.caveats] == ["no_genotype", "ldl_goal_not_assessed"]
    assert r.ldl_goal is None  # primary prevention: the goal depends on the ESC risk category
    assert options(r) == [("atorvastatin", 40.0), ("atorvastatin", 80.0),
                          ("rosuvastatin", 20.0), ("rosuvastatin", 40.0)]  # fmt: skip


def test_add_on_drugs_come_after_a_high_intensity_statin(
    kb: KnowledgeBase, tmp_path: Path, slco1b1: dict[str, SampleResult]
) -> None:
    section = assess_patient(record(tmp_path), kb, [slco1b1["decreased"]])
    assert section is not None and section.statins is not None
    addons = [o for o in section.prevention if o.option.startswith("add ")]
    assert addons
    for o in addons:
        assert o.notes[0].startswith("first intensify the statin: now simvastatin 40 mg nightly")
        assert "atorvastatin 40 mg" in o.notes[0]


def goal_review(
    kb: KnowledgeBase, tmp_path: Path, statin: str, dose: str, ldl: float
) -> StatinReview:
    meds = f'medications: [{{name: {statin}, dose: "{dose}"}}]\n'
    (tmp_path / "p.yaml").write_text(cardio_patient(extra=meds))
    rec = read_patient_file(tmp_path / "p.yaml")
    return statin_review(kb, rec, [], ingredients(rec, kb),
                         ascvd_basis="established cardiovascular disease (MI)", ldl_mmol=ldl)  # fmt: skip


def test_ldl_above_the_very_high_risk_goal_intensifies_the_statin_first(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """ESC/EAS 2019: with ASCVD, LDL-C < 1.4 mmol/L (55 mg/dL) and >= 50 % lower; above it on a
    moderate-intensity statin, a high-intensity statin comes before add-on drugs."""
    r = goal_review(kb, tmp_path, "simvastatin", "40 mg nightly", 3.9)
    g = r.ldl_goal
    assert g is not None and (g.goal_mmol_l, g.goal_mg_dl, g.reduction_percent) == (1.4, 55, 50)
    assert g.above_goal is True and g.action.startswith("above goal: intensify the statin first")
    assert g.verified is False and "unverified_ldl_goal" in [c.code for c in r.caveats]
    high = goal_review(kb, tmp_path, "atorvastatin", "80 mg daily", 2.0).ldl_goal
    assert high is not None and high.action.startswith("above goal on a high-intensity statin")
    at = goal_review(kb, tmp_path, "atorvastatin", "80 mg daily", 1.3).ldl_goal
    assert at is not None and at.above_goal is False and at.action.startswith("at goal")
    edge = goal_review(kb, tmp_path, "atorvastatin", "40 mg daily", 1.4).ldl_goal
    assert edge is not None and edge.above_goal is True  # the goal is "below 1.4"


def test_coded_cvd_with_ldl_in_mg_dl_gets_the_goal(kb: KnowledgeBase, tmp_path: Path) -> None:
    extra = ("conditions: [{name: Myocardial infarction, code: '22298006', "
             "system: http://snomed.info/sct}]\n"
             'medications: [{name: rosuvastatin, dose: "10 mg daily"}]\n')  # fmt: skip
    text = cardio_patient(extra=extra).replace(
        "{name: LDL cholesterol, value: 4.0, unit: mmol/L}",
        "{name: LDL cholesterol, value: 116, unit: mg/dL}")  # fmt: skip
    (tmp_path / "p.yaml").write_text(text)
    section = assess_patient(read_patient_file(tmp_path / "p.yaml"), kb, [])
    assert section is not None and section.statins is not None
    g = section.statins.ldl_goal
    assert g is not None and g.basis.startswith("established cardiovascular disease")
    assert g.ldl_mmol_l == pytest.approx(116 / 38.67, rel=1e-3) and g.above_goal is True


def test_the_demo_patient_is_above_the_goal(kb: KnowledgeBase) -> None:
    """Clopidogrel without coded CVD: ASCVD inferred, LDL-C 3.9 mmol/L on simvastatin 40 mg."""
    from precisionrx.plan.builder import build_plan, demo_patient

    plan = build_plan(read_patient_file(demo_patient()), kb)
    assert plan.cardio is not None and plan.cardio.statins is not None
    g = plan.cardio.statins.ldl_goal
    assert g is not None and g.basis == "established ASCVD inferred from clopidogrel"
    assert g.ldl_mmol_l == 3.9 and g.above_goal is True
    simva = next(a for a in plan.act_now if a.drug == "simvastatin")
    assert simva.action == "change drug"  # CPIC's SLCO1B1 advice stays the deciding one
    assert any(r.text.startswith("LDL-C 3.9 mmol/L is above the goal (below 1.4 mmol/L")
               for r in simva.reasons)  # fmt: skip
