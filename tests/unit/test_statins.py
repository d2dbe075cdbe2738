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
    assert [c.code for c in r.caveats] == ["no_genotype"]
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
