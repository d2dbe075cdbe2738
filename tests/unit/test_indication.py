"""Indication-aware PGx advice (issue 14, item 3): CPIC's clopidogrel populations chosen from
the recorded conditions, or a caveat that asks for the indication."""

from __future__ import annotations

import pytest

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.indication import indicated
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Medication, MedicationReview, SampleResult
from precisionrx.records.patient import Condition, PatientRecord
from testkit.synthetic import VcfBuilder


@pytest.fixture(scope="module")
def poor_metaboliser(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    kb = KnowledgeBase()
    path = tmp_path_factory.mktemp("vcf") / "s.vcf"
    VcfBuilder(kb, samples=["S"]).haplotypes("CYP2C19", "*2", "*2", phased=False).write(path)
    (res,) = call_vcf(path, kb)
    return res


def review(kb: KnowledgeBase, res: SampleResult, conditions: list[str]) -> MedicationReview:
    patient = PatientRecord(
        id="p",
        conditions=[Condition(name=c) for c in conditions],
        medications=[Medication(name="clopidogrel", dose="75 mg")],
    )
    out = prescribed(kb, res, list(patient.medications), None, None, patient)
    assert out.medication_review is not None
    (r,) = out.medication_review
    return r


def populations(r: MedicationReview) -> set[str]:
    return {x.population for x in r.recommendations if x.source == "CPIC"}


@pytest.mark.parametrize(
    ("condition", "population"),
    [
        ("NSTEMI", "CVI ACS PCI"),
        ("Percutaneous coronary intervention with drug-eluting stent", "CVI ACS PCI"),
        ("Ischaemic stroke", "NVI"),
        ("Transient ischemic attack", "NVI"),
        ("Peripheral arterial disease", "CVI non-ACS non-PCI"),
    ],
)
def test_the_recorded_indication_chooses_the_population(
    kb: KnowledgeBase, poor_metaboliser: SampleResult, condition: str, population: str
) -> None:
    r = review(kb, poor_metaboliser, [condition, "Hypertension"])
    assert populations(r) == {population}
    assert any(x.source == "DPWG" for x in r.recommendations)  # advice for every population
    assert r.status == "action"
    (used,) = [c for c in r.caveats if c.code == "indication_used"]
    assert population in used.message and condition in used.message
    stroke = population == "NVI"
    assert any(c.code == "prasugrel_contraindicated" for c in r.caveats) == stroke


def test_without_an_indication_every_population_stays_and_it_is_asked_for(
    kb: KnowledgeBase, poor_metaboliser: SampleResult
) -> None:
    r = review(kb, poor_metaboliser, ["Hypertension"])
    assert populations(r) == {"CVI ACS PCI", "CVI non-ACS non-PCI", "NVI"}
    (note,) = [c for c in r.caveats if c.code == "indication_not_recorded"]
    assert "record the indication" in note.message and "prasugrel" in note.message


def test_without_a_patient_record_nothing_changes(
    kb: KnowledgeBase, poor_metaboliser: SampleResult
) -> None:
    out = prescribed(kb, poor_metaboliser, [Medication(name="clopidogrel")])
    assert out.medication_review is not None
    assert not any(c.code.startswith("indication") for c in out.medication_review[0].caveats)
    assert len(populations(out.medication_review[0])) == 3


def test_inactive_conditions_and_word_boundaries() -> None:
    assert indicated("clopidogrel", [Condition(name="Stroke", active=False)]) == []
    assert indicated("clopidogrel", [Condition(name="Capital letters")]) == []  # no "pci"/"tia"
    assert indicated("warfarin", [Condition(name="Stroke")]) == []
