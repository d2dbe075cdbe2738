"""Engine conformance: every engine's entry point passes the same checks (in the spirit of
scikit-learn's estimator checks).

Each case builds the engine's input records once (reading files is io's job, done here in
the fixture) and then calls the entry point with the records only. The checks:

1. the result is a pydantic model listed in ``precisionrx.api.schemas.PUBLIC_RESULTS`` and its
   JSON validates against the committed schema (docs/schema);
2. it round-trips through JSON unchanged;
3. it carries provenance: tool version, knowledge-base versions with sha256, input fingerprint;
4. no I/O when given records: opening any file during the call fails the check;
5. deterministic: the same input gives the same JSON.
"""

from __future__ import annotations

import builtins
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from precisionrx import __version__
from precisionrx.api.schemas import PUBLIC_RESULTS
from precisionrx.kb.registry import KnowledgeBase

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schema"


@dataclass
class Case:
    name: str
    schema: str
    #: Reads the inputs (io) and returns a zero-argument call of the engine on records.
    prepare: Callable[[KnowledgeBase], Callable[[], BaseModel]]
    #: Result fields that legitimately change between runs (e.g. a timestamp).
    volatile: tuple[str, ...] = ()
    #: False for an engine whose knowledge comes with the input (PRS: the scoring files).
    uses_kb: bool = True


def _pgx(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.api.pgx import demo_vcf
    from precisionrx.engines.pgx.api import analyse
    from precisionrx.engines.pgx.caller import CallOptions, genotype_request
    from precisionrx.io.germline import read_germline
    from precisionrx.records import Medication

    options = CallOptions(genes=["CYP2C19", "CYP2D6", "SLCO1B1", "DPYD"])
    genotypes = [read_germline(demo_vcf(), genotype_request(kb, options))]
    meds = [Medication(name="clopidogrel"), Medication(name="paroxetine")]
    return lambda: analyse(genotypes, kb, options, medications=meds)


def _risk(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    import tempfile

    from precisionrx.engines.cardio.api import estimate_risks
    from precisionrx.io.risk_table import read_risk_table

    table = Path(tempfile.mkdtemp()) / "people.csv"
    table.write_text(
        "id,age,sex,sbp,bp_treated,total_chol,hdl_chol,diabetes,smoker,statin,egfr,bmi,region\n"
        "p1,50,female,160,1,200,45,1,0,0,90,35,low\n"
        "p2,62,male,138,0,5.2,1.1,0,1,0,75,27,high\n".replace("5.2,1.1", "201,43")
    )
    inputs = read_risk_table(table)
    return lambda: estimate_risks(inputs, kb, ["prevent", "pce", "score2"], "0" * 64)


def _cardio_patient(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.engines.cardio.api import assess_patient
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.plan.builder import demo_patient

    record = read_patient_file(demo_patient())

    def run() -> BaseModel:
        section = assess_patient(record, kb, [])
        assert section is not None
        return section

    return run


def _prs(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.api.pgx import demo_vcf
    from precisionrx.engines.prs.api import score_genotypes
    from precisionrx.io.pgs_scorefile import read_scorefile
    from precisionrx.io.vcf import VcfFile
    from precisionrx.records.prs import PrsSettings

    scorefile = read_scorefile(Path(__file__).parent / "data" / "PGS000001_hmPOS_GRCh38.txt")

    def run() -> BaseModel:
        with VcfFile(demo_vcf()) as vcf:
            return score_genotypes(
                [scorefile], vcf, kb, PrsSettings(min_overlap=0.0), check_builds=False,
                input_sha256="0" * 64,
            )  # fmt: skip

    return run


def _tumour(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.api.pgx import call_vcf, demo_vcf
    from precisionrx.api.tumor import demo_maf
    from precisionrx.engines.oncology.api import TumourSettings, analyse_tumour
    from precisionrx.io.tumor_inputs import read_tumour

    tumour = read_tumour(demo_maf())
    germline = call_vcf(demo_vcf(), kb)
    settings = TumourSettings(tumor_type="COADREAD", annotated=tumour.annotated, input_name="t")
    return lambda: analyse_tumour(tumour.alterations, kb, settings, germline=germline)


def _cgm(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.api.monitor import demo_cgm
    from precisionrx.engines.monitoring.api import cgm_metrics
    from precisionrx.io.cgm import read_cgm

    readings = read_cgm(demo_cgm())
    return lambda: cgm_metrics(readings, kb)


def _cgm_review(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.api.monitor import demo_cgm
    from precisionrx.engines.monitoring.api import review_patient_cgm
    from precisionrx.io.cgm import read_cgm

    readings = read_cgm(demo_cgm())

    def run() -> BaseModel:
        section = review_patient_cgm(readings, kb, subject="demo", source="cgm.csv").section
        assert section is not None
        return section

    return run


def _interactions(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.engines.interactions.api import check_interactions
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.plan.builder import demo_patient
    from precisionrx.records import Medication

    record = read_patient_file(demo_patient())
    meds = [*record.medications, Medication(name="Prilosec", dose="20 mg daily"),
            Medication(name="warfarin", rxnorm="11289")]  # fmt: skip
    return lambda: check_interactions(meds, kb)


def _answers() -> list[Any]:
    from precisionrx.records.mental_health import QuestionnaireAnswers

    phq9 = [{1: 3, 2: 3, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 1},
            {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0}]  # fmt: skip
    return [
        QuestionnaireAnswers(id="p1", instrument="PHQ-9", date=d, items=items)
        for d, items in zip(("2026-01-05", "2026-02-16"), phq9, strict=True)
    ] + [QuestionnaireAnswers(id="p1", instrument="GAD-7", date="2026-01-05",
                              items={1: 2, 2: 2, 3: 1, 4: 1, 5: 0, 6: 0, 7: None})]  # fmt: skip


def _mh_score(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.engines.mental_health import score_responses

    answers = _answers()
    return lambda: score_responses(answers, kb)


def _mh_track(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.engines.mental_health import score_responses, track

    scores = score_responses(_answers(), kb).scores
    return lambda: track(scores, kb)


def _mh_options(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.engines.mental_health.options import medication_options
    from precisionrx.plan.record_genotypes import record_pgx
    from precisionrx.records import Medication, PatientRecord
    from precisionrx.records.patient import Condition, Demographics, OutsideCallEntry

    record = PatientRecord(
        id="mh-1",
        demographics=Demographics(sex_at_birth="female", age_years=34),
        conditions=(Condition(name="Major depressive disorder"),),
        medications=(Medication(name="paroxetine", dose="20 mg daily"),),
        outside_calls=(OutsideCallEntry(gene="CYP2D6", diplotype="*1/*1"),
                       OutsideCallEntry(gene="CYP2C19", diplotype="*2/*2")),
    )  # fmt: skip
    pgx = record_pgx(record, kb)  # the genotypes, computed before the engine runs
    return lambda: medication_options(record, kb, pgx, flags=["suicidal_ideation"])


def _ate(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    from precisionrx.engines.effects.ate import estimate_ate
    from precisionrx.io.effects_data import read_table

    table = read_table(Path(__file__).resolve().parent / "data" / "nhefs" / "NHEFS.csv")
    return lambda: estimate_ate(table, "qsmk", "wt82_71", "sex + age + I(age**2) + smokeyrs",
                                "aipw")  # fmt: skip


def _fairness(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    import tempfile

    import numpy as np

    from precisionrx.engines.fairness import audit_predictions
    from precisionrx.io.predictions import read_predictions

    rng = np.random.default_rng(0)
    rows = ["y,risk,sex"]
    for _ in range(300):
        sex = str(rng.choice(["F", "M"]))
        risk = float(rng.uniform(0.05, 0.8))
        rows.append(f"{int(rng.random() < risk)},{risk!r},{sex}")
    path = Path(tempfile.mkdtemp()) / "predictions.csv"
    path.write_text("\n".join(rows) + "\n")
    table = read_predictions(path, label="y", score="risk", groups=["sex"])
    return lambda: audit_predictions(table, threshold=0.3, privileged={"sex": "M"})


def _plan_record(kb: KnowledgeBase) -> Callable[[], BaseModel]:
    # The plan composes engines over a patient record whose data are files: it is the one
    # entry point that reads (through io); it is checked for everything but "no I/O".
    from precisionrx.io.patient_file import read_patient_file
    from precisionrx.plan.builder import build_plan, demo_patient

    record = read_patient_file(demo_patient())
    return lambda: build_plan(record, kb)


CASES = [
    Case("pgx", "pgx_run", _pgx),
    Case("risk", "risk_result", _risk),
    Case("cardio_patient", "cardio_section", _cardio_patient),
    Case("prs", "prs_result", _prs, uses_kb=False),
    Case("oncology", "tumour_report", _tumour),
    Case("cgm_metrics", "cgm_metrics_result", _cgm),
    Case("cgm_review", "monitoring_section", _cgm_review),
    Case("interactions", "interaction_result", _interactions),
    Case("mh_score", "mh_score_result", _mh_score),
    Case("mh_track", "mh_track_result", _mh_track),
    Case("mh_options", "mh_options_result", _mh_options),
    Case("ate", "ate_result", _ate, uses_kb=False),
    Case("fairness", "fairness_audit", _fairness, uses_kb=False),
    Case("plan", "treatment_plan", _plan_record, volatile=("generated",)),
]
#: Entry points that read by design: the plan (a record of files) and PRS, which streams the
#: genotypes of a biobank-sized VCF from a reader opened by the caller.
READS_FILES = {"plan", "prs"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase()


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.name)
def case(request: pytest.FixtureRequest, kb: KnowledgeBase) -> tuple[Case, Callable[[], BaseModel]]:
    c: Case = request.param
    return c, c.prepare(kb)


def _provenances(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict):
        if isinstance(data.get("provenance"), dict):
            yield data["provenance"]
        for v in data.values():
            yield from _provenances(v)
    elif isinstance(data, list):
        for v in data:
            yield from _provenances(v)


def _stable(data: dict[str, Any], volatile: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in volatile}


def test_result_is_a_public_model_valid_against_its_schema(case: tuple[Case, Any]) -> None:
    c, run = case
    result = run()
    assert type(result) is PUBLIC_RESULTS[c.schema]
    schema = json.loads((SCHEMAS / f"{c.schema}.json").read_text())
    jsonschema.validate(json.loads(result.model_dump_json()), schema)


def test_result_round_trips_through_json(case: tuple[Case, Any]) -> None:
    _, run = case
    result = run()
    again = type(result).model_validate_json(result.model_dump_json())
    assert again.model_dump(mode="json") == result.model_dump(mode="json")


def test_result_carries_provenance(case: tuple[Case, Any], kb: KnowledgeBase) -> None:
    c, run = case
    data = run().model_dump(mode="json")
    found = list(_provenances(data))
    assert found, "no provenance in the result"
    shipped = {v["name"]: v["sha256"] for v in kb.versions()}
    for p in found:
        assert p["tool_version"] == __version__
        assert p["knowledge_bases"] or not c.uses_kb, p
        for v in p["knowledge_bases"]:
            assert shipped.get(v["name"].removesuffix(" (user)")) == v["sha256"]
        assert p["input_sha256"] and len(p["input_sha256"]) == 64


@pytest.mark.parametrize(
    "case",
    # plan and prs compose engines over a record of files: they read through io by design
    [c for c in CASES if c.name not in READS_FILES],
    indirect=True,
    ids=lambda c: c.name,
)
def test_no_io_when_given_records(case: tuple[Case, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _, run = case
    run()  # warm the knowledge-base caches: the data are the KB's, read through kb/
    opened: list[str] = []

    def refuse(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        raise AssertionError(f"engine opened {file}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    run()
    assert not opened


def test_same_input_same_result(case: tuple[Case, Any]) -> None:
    c, run = case
    first = _stable(run().model_dump(mode="json"), c.volatile)
    second = _stable(run().model_dump(mode="json"), c.volatile)
    assert first == second
