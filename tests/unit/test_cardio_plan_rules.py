"""Indication-aware cardiovascular rules of the plan (issue 14, items 3 and 5): established
ASCVD inferred from P2Y12 inhibitors, no primary-prevention aspirin with antithrombotics, bleeding
risk or age over 70 (ACC/AHA 2019, class III)."""

from __future__ import annotations

from pathlib import Path

import pytest

from precisionrx.engines.cardio.api import assess_patient
from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.cardio import CardioSection
from testkit.patients import cardio_patient


def section(tmp_path: Path, extra: str = "", age: int = 60) -> CardioSection:
    path = tmp_path / "p.yaml"
    path.write_text(cardio_patient(age=age, extra=extra))
    result = assess_patient(read_patient_file(path), KnowledgeBase(), [])
    assert result is not None
    return result


def options(s: CardioSection) -> list[str]:
    return [o.option for o in s.prevention]


def test_aspirin_is_offered_only_when_no_rule_forbids_it(tmp_path: Path) -> None:
    assert "aspirin (primary prevention)" in options(section(tmp_path))


@pytest.mark.parametrize(
    ("extra", "age", "reason"),
    [
        ("medications: [{name: apixaban, dose: 5 mg twice daily}]\n", 60, "apixaban"),
        ("medications: [{name: Aspirin, dose: 75 mg}]\n", 60, "aspirin"),
        ("conditions: [{name: Peptic ulcer disease}]\n", 60, "bleeding risk"),
        ("", 72, "older than 70"),
    ],
)
def test_no_primary_prevention_aspirin(tmp_path: Path, extra: str, age: int, reason: str) -> None:
    s = section(tmp_path, extra, age)
    assert s.baseline is not None and s.prevention  # the equations still run
    assert "aspirin (primary prevention)" not in options(s)
    (note,) = [c for c in s.caveats if c.code == "aspirin_not_offered"]
    assert reason in note.message and "class III" in note.message


@pytest.mark.parametrize("drug", ["clopidogrel", "Plavix", "ticagrelor", "prasugrel"])
def test_p2y12_inhibitor_implies_established_ascvd(tmp_path: Path, drug: str) -> None:
    s = section(tmp_path, f"medications: [{{name: {drug}, dose: 75 mg}}]\n")
    assert s.basis == "not applicable" and s.risk == [] and s.prevention == []
    assert s.caveats[0].code == "established_cvd_inferred"
    assert "record the indication" in s.caveats[0].message


def test_coded_disease_wins_over_inference(tmp_path: Path) -> None:
    extra = ("conditions: [{name: Coronary artery disease}]\n"
             "medications: [{name: clopidogrel, dose: 75 mg}]\n")  # fmt: skip
    s = section(tmp_path, extra)
    assert [c.code for c in s.caveats] == ["established_cvd"]
