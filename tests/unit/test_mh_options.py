"""``precisionrx mh options``: ranked, cited medication options for one condition and one patient.

Golden cases read the shipped CPIC/DPWG rows (kb/data/guidelines/guidelines.json, PharmGKB
guideline annotations as packaged by PharmCAT); each case names the guideline, its PMID, the
annotation id and the row's lookup key. Sources:

- CPIC SSRI/SNRI 2023 (Bousman et al., PMID 37032427): citalopram/escitalopram PA166127638,
  paroxetine PA166127636, sertraline PA166127639, venlafaxine PA166288201, vortioxetine
  PA166288221.
- DPWG SSRIs 2022 (Brouwer et al., PMID 34782755): citalopram PA166104977, escitalopram
  PA166104975, paroxetine PA166104976, sertraline PA166104980.
- CPIC tricyclics 2016 update (Hicks et al. 2017, PMID 27997040): amitriptyline PA166105006,
  nortriptyline PA166104998; DPWG (Swen 2011, PMID 21412232): venlafaxine PA166104968.
- CPIC atomoxetine (Brown et al. 2019, PMID 30801677): PA166181885.
- CPIC HLA and carbamazepine/oxcarbazepine 2017 update (Phillips et al. 2018, PMID 29392710):
  carbamazepine PA166105008, oxcarbazepine PA166176623; DPWG HLA annotations (no citation in
  the shipped rows): carbamazepine HLA-B PA166265162, lamotrigine HLA-B PA166265341,
  oxcarbazepine HLA-B PA166265201.
- DPWG antipsychotics 2024 (Beunk et al., PMID 37002327): aripiprazole PA166104937,
  brexpiprazole PA166184527, haloperidol PA166104988, risperidone PA166104943, quetiapine
  PA166265421.
- Phenoconversion (engines/pgx/phenoconversion.py; FDA inhibitor classes): a strong CYP2D6
  inhibitor (paroxetine, fluoxetine, bupropion) sets the activity score to 0; a moderate one
  (duloxetine) halves it; the drug itself is excluded.
- Interactions: ONC high-priority list (Phansalkar 2012) DDI004 SSRI/SNRI + MAOI; Australian
  Prescriber lithium rows DDI088 (NSAID), DDI089 (ACE inhibitor), DDI091 (thiazide); FDA
  labels (levomilnacipran/Fetzima section 4: MAOIs contraindicated).
- Cautions: kb/data/mental_health/cautions.csv (MHRA 2018 valproate; NICE NG222).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.mental_health.guidance import guidance_action, pgx_guidance
from precisionrx.engines.mental_health.options import CATEGORIES
from precisionrx.engines.pgx.recommender import build_context, recommend_drug
from precisionrx.errors import OutsideCallError
from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.builder import build_plan
from precisionrx.plan.mental_health_options import record_options
from precisionrx.plan.record_genotypes import record_pgx
from precisionrx.records.mental_health import MedicationOption, OptionPgx, OptionsResult
from precisionrx.report.pgx_json import DECISION_SUPPORT
from testkit.cli import run

KB = KnowledgeBase()
ACTIONS = {"avoid", "use_alternative", "reduce_dose", "increase_dose", "standard_dose",
           "monitor", "no_guidance"}  # fmt: skip
PGX_KEYS = {"gene", "phenotype", "effective_phenotype", "source", "classification", "action",
            "recommendation"}  # fmt: skip
CANDIDATE_KEYS = {"drug", "rank", "pgx", "interactions", "side_effects", "efficacy", "cautions",
                  "reasons"}  # fmt: skip

# Genotypes given as inline outside calls (PharmCAT outside-call lines).
NM_2D6 = {"gene": "CYP2D6", "diplotype": "*1/*1"}  # activity score 2.0
PM_2D6 = {"gene": "CYP2D6", "diplotype": "*4/*4"}  # activity score 0.0
IM_2D6 = {"gene": "CYP2D6", "diplotype": "*1/*4"}  # activity score 1.0
UM_2D6 = {"gene": "CYP2D6", "diplotype": "*1x2/*1"}  # activity score 3.0
NM_2C19 = {"gene": "CYP2C19", "diplotype": "*1/*1"}
PM_2C19 = {"gene": "CYP2C19", "diplotype": "*2/*2"}
NM_2B6 = {"gene": "CYP2B6", "diplotype": "*1/*1"}
PM_2B6 = {"gene": "CYP2B6", "diplotype": "*6/*6"}
HLA_B_1502 = {"gene": "HLA-B", "diplotype": "*15:02/*07:02"}
HLA_B_NEG = {"gene": "HLA-B", "diplotype": "*07:02/*08:01"}
HLA_A_3101 = {"gene": "HLA-A", "diplotype": "*31:01/*02:01"}

DIAGNOSIS = {
    "depression": "Major depressive disorder",
    "anxiety": "Generalized anxiety disorder",
    "bipolar": "Bipolar I disorder",
    "psychosis": "Schizophrenia",
    "adhd": "Attention deficit hyperactivity disorder",
}
PHQ_HEADER = "id,instrument,date," + ",".join(f"item_{n}" for n in range(1, 10))


# --- helpers -----------------------------------------------------------------------------------


def patient_doc(
    *,
    condition: str | None = "depression",
    sex: str = "female",
    age: float | None = 34,
    calls: Sequence[dict[str, Any]] | None = (NM_2D6, NM_2C19, NM_2B6),
    meds: Sequence[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    """A patient document: one recorded diagnosis for ``condition``, inline outside calls,
    non-smoker and not pregnant unless ``extra`` says otherwise."""
    demographics: dict[str, Any] = {"sex_at_birth": sex}
    if age is not None:
        demographics["age_years"] = age
    doc: dict[str, Any] = {"id": "p1", "demographics": demographics}
    if sex == "female":
        doc["pregnancy"] = "not_pregnant"
    doc["lifestyle"] = {"smoking": "never"}
    if condition is not None:
        doc["conditions"] = [{"name": DIAGNOSIS[condition]}]
    if meds:
        doc["medications"] = [{"name": m, "dose": "20 mg daily"} for m in meds]
    if calls:
        doc["outside_calls"] = [dict(c) for c in calls]
    for key, value in extra.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def write_patient(folder: Path, doc: dict[str, Any], name: str = "patient.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def options_for(
    folder: Path, doc: dict[str, Any], condition: str | None = None, avoid: Sequence[str] = ()
) -> OptionsResult:
    """The engine on a patient file written to ``folder`` (the record read as the CLI reads it)."""
    record = read_patient_file(write_patient(folder, doc))
    return record_options(record, KB, condition=condition, avoid=avoid)


def cand(result: OptionsResult, drug: str) -> MedicationOption:
    found = [c for c in result.candidates if c.drug == drug]
    assert len(found) == 1, f"{drug} not a single candidate for {result.condition}"
    return found[0]


def rows(option: MedicationOption, source: str, gene: str) -> list[OptionPgx]:
    return [e for e in option.pgx if e.source == source and e.gene == gene]


# --- 1. golden guideline cases -----------------------------------------------------------------

# (condition, age, outside calls, drug, source, gene, effective phenotype, classification,
#  action, distinctive phrase of the guideline text)
GOLDEN = [
    pytest.param(
        "depression", 34, [NM_2D6, PM_2C19, NM_2B6], "citalopram", "CPIC", "CYP2C19",
        "Poor Metabolizer", "Strong", "use_alternative",
        "not predominantly metabolized by CYP2C19",
        id="CPIC-SSRI-2023-PMID37032427-PA166127638-citalopram-CYP2C19=Poor Metabolizer",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, PM_2C19, NM_2B6], "escitalopram", "CPIC", "CYP2C19",
        "Poor Metabolizer", "Strong", "use_alternative",
        "not predominantly metabolized by CYP2C19",
        id="CPIC-SSRI-2023-PMID37032427-PA166127638-escitalopram-CYP2C19=Poor Metabolizer",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, PM_2C19, NM_2B6], "citalopram", "DPWG", "CYP2C19",
        "Poor Metabolizer", "N/A", "reduce_dose", "50% of the standard maximum dose",
        id="DPWG-SSRI-2022-PMID34782755-PA166104977-citalopram-CYP2C19=Poor Metabolizer",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, PM_2C19, NM_2B6], "escitalopram", "DPWG", "CYP2C19",
        "Poor Metabolizer", "N/A", "reduce_dose", "adults < 65 years 10 mg/day",
        id="DPWG-SSRI-2022-PMID34782755-PA166104975-escitalopram-CYP2C19=Poor Metabolizer",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, NM_2C19, NM_2B6], "citalopram", "CPIC", "CYP2C19",
        "Normal Metabolizer", "Strong", "standard_dose",
        "Initiate therapy with recommended starting dose",
        id="CPIC-SSRI-2023-PMID37032427-PA166127638-citalopram-CYP2C19=Normal Metabolizer",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, NM_2C19, NM_2B6], "escitalopram", "CPIC", "CYP2C19",
        "Normal Metabolizer", "Strong", "standard_dose",
        "Initiate therapy with recommended starting dose",
        id="CPIC-SSRI-2023-PMID37032427-PA166127638-escitalopram-CYP2C19=Normal Metabolizer",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, PM_2C19, NM_2B6], "sertraline", "CPIC", "CYP2C19",
        "Poor Metabolizer", "Moderate", "reduce_dose",
        "50% reduction of standard maintenance dose",
        id="CPIC-SSRI-2023-PMID37032427-PA166127639-sertraline-CYP2B6=NM+CYP2C19=PM",
    ),
    pytest.param(
        "depression", 34, [NM_2D6, PM_2C19, PM_2B6], "sertraline", "CPIC", "CYP2B6",
        "Poor Metabolizer", "Optional", "use_alternative",
        "Select an alternative antidepressant not primarily metabolized by CYP2C19 or CYP2B6",
        id="CPIC-SSRI-2023-PMID37032427-PA166127639-sertraline-CYP2B6=PM+CYP2C19=PM",
    ),
    pytest.param(
        "depression", 34, [PM_2D6, NM_2C19, NM_2B6], "paroxetine", "CPIC", "CYP2D6",
        "Poor Metabolizer", "Moderate", "reduce_dose",
        "50% reduction in recommended starting dose",
        id="CPIC-SSRI-2023-PMID37032427-PA166127636-paroxetine-CYP2D6=0.0",
    ),
    pytest.param(
        "depression", 34, [UM_2D6, NM_2C19, NM_2B6], "paroxetine", "CPIC", "CYP2D6",
        "Ultrarapid Metabolizer", "Moderate", "use_alternative",
        "Select alternative drug not predominantly metabolized by CYP2D6",
        id="CPIC-SSRI-2023-PMID37032427-PA166127636-paroxetine-CYP2D6=3.0(*1x2/*1)",
    ),
    pytest.param(
        "depression", 34, [{"gene": "CYP2D6", "activity_score": 3.0}, NM_2C19, NM_2B6],
        "paroxetine", "CPIC", "CYP2D6", "Ultrarapid Metabolizer", "Moderate", "use_alternative",
        "Select alternative drug not predominantly metabolized by CYP2D6",
        id="CPIC-SSRI-2023-PMID37032427-PA166127636-paroxetine-CYP2D6=3.0(activity score call)",
    ),
    pytest.param(
        "depression", 34, [UM_2D6, NM_2C19, NM_2B6], "paroxetine", "DPWG", "CYP2D6",
        "Ultrarapid Metabolizer", "N/A", "avoid", "Avoid paroxetine",
        id="DPWG-SSRI-2022-PMID34782755-PA166104976-paroxetine-CYP2D6=3.0",
    ),
    pytest.param(
        "depression", 34, [PM_2D6, NM_2C19, NM_2B6], "vortioxetine", "CPIC", "CYP2D6",
        "Poor Metabolizer", "Moderate", "reduce_dose", "Initiate 50% of starting dose",
        id="CPIC-SSRI-2023-PMID37032427-PA166288221-vortioxetine-CYP2D6=0.0",
    ),
    pytest.param(
        "depression", 34, [PM_2D6, NM_2C19, NM_2B6], "venlafaxine", "CPIC", "CYP2D6",
        "Poor Metabolizer", "Optional", "use_alternative",
        "alternative antidepressant not predominantly metabolized by CYP2D6",
        id="CPIC-SSRI-2023-PMID37032427-PA166288201-venlafaxine-CYP2D6=0.0",
    ),
    pytest.param(
        "depression", 34, [PM_2D6, NM_2C19, NM_2B6], "venlafaxine", "DPWG", "CYP2D6",
        "Poor Metabolizer", "N/A", "avoid", "Avoid venlafaxine",
        id="DPWG-2011-PMID21412232-PA166104968-venlafaxine-CYP2D6=0.0",
    ),
    pytest.param(
        "depression", 34, [UM_2D6, NM_2C19, NM_2B6], "amitriptyline", "CPIC", "CYP2D6",
        "Ultrarapid Metabolizer", "Strong", "avoid", "Avoid amitriptyline use",
        id="CPIC-TCA-2016-PMID27997040-PA166105006-amitriptyline-CYP2D6=3.0+CYP2C19=NM",
    ),
    pytest.param(
        "depression", 34, [PM_2D6, NM_2C19, NM_2B6], "amitriptyline", "CPIC", "CYP2D6",
        "Poor Metabolizer", "Strong", "avoid", "Avoid amitriptyline use",
        id="CPIC-TCA-2016-PMID27997040-PA166105006-amitriptyline-CYP2D6=0.0+CYP2C19=NM",
    ),
    pytest.param(
        "depression", 34, [UM_2D6, NM_2C19, NM_2B6], "nortriptyline", "CPIC", "CYP2D6",
        "Ultrarapid Metabolizer", "Strong", "avoid",
        "Avoid tricyclic use due to potential lack of efficacy",
        id="CPIC-TCA-2016-PMID27997040-PA166104998-nortriptyline-CYP2D6=3.0",
    ),
    pytest.param(
        "depression", 34, [PM_2D6, NM_2C19, NM_2B6], "nortriptyline", "CPIC", "CYP2D6",
        "Poor Metabolizer", "Strong", "avoid",
        "Avoid tricyclic use due to potential for side effects",
        id="CPIC-TCA-2016-PMID27997040-PA166104998-nortriptyline-CYP2D6=0.0",
    ),
    pytest.param(
        "depression", 34, [IM_2D6, NM_2C19, NM_2B6], "nortriptyline", "CPIC", "CYP2D6",
        "Intermediate Metabolizer", "Optional", "reduce_dose",
        "25% reduction of recommended starting dose",
        id="CPIC-TCA-2016-PMID27997040-PA166104998-nortriptyline-CYP2D6=1.0",
    ),
    pytest.param(
        "bipolar", 34, [HLA_B_1502], "carbamazepine", "CPIC", "HLA-B", "*15:02 positive",
        "Strong", "avoid", "If patient is carbamazepine-naïve, do not use carbamazepine",
        id="CPIC-HLA-2017-PMID29392710-PA166105008-carbamazepine-HLA-A=No Result+HLA-B=*15:02 "
        "positive (CBZ naive)",
    ),
    pytest.param(
        "bipolar", 34, [HLA_A_3101, HLA_B_NEG], "carbamazepine", "CPIC", "HLA-A",
        "*31:01 positive", "Strong", "avoid",
        "alternative agents are available, do not use carbamazepine",
        id="CPIC-HLA-2017-PMID29392710-PA166105008-carbamazepine-HLA-A=*31:01 positive+HLA-B="
        "*15:02 negative (CBZ naive)",
    ),
    pytest.param(
        "bipolar", 34, [HLA_B_1502], "oxcarbazepine", "CPIC", "HLA-B", "*15:02 positive",
        "Strong", "avoid", "If patient is oxcarbazepine-naïve, do not use oxcarbazepine",
        id="CPIC-HLA-2017-PMID29392710-PA166176623-oxcarbazepine-HLA-B=*15:02 positive (OXC naive)",
    ),
    pytest.param(
        "bipolar", 34, [HLA_B_1502], "oxcarbazepine", "DPWG", "HLA-B", "*15:02 positive",
        "N/A", "avoid", "Avoid oxcarbazepine if an alternative is available",
        id="DPWG-HLA-PA166265201-oxcarbazepine-HLA-B=*15:02 positive",
    ),
    pytest.param(
        "bipolar", 34, [HLA_B_1502], "lamotrigine", "DPWG", "HLA-B", "*15:02 positive", "N/A",
        "avoid", "Avoid lamotrigine if an alternative is available",
        id="DPWG-HLA-PA166265341-lamotrigine-HLA-B=*15:02 positive",
    ),
    pytest.param(
        "psychosis", 34, [PM_2D6], "aripiprazole", "DPWG", "CYP2D6", "Poor Metabolizer", "N/A",
        "reduce_dose", "no more than 10 mg/day",
        id="DPWG-antipsychotics-2024-PMID37002327-PA166104937-aripiprazole-CYP2D6=0.0",
    ),
    pytest.param(
        "psychosis", 34, [PM_2D6], "brexpiprazole", "DPWG", "CYP2D6", "Poor Metabolizer", "N/A",
        "reduce_dose", "Use half of the normal dose",
        id="DPWG-antipsychotics-2024-PMID37002327-PA166184527-brexpiprazole-CYP2D6=0.0",
    ),
    pytest.param(
        "psychosis", 34, [PM_2D6], "haloperidol", "DPWG", "CYP2D6", "Poor Metabolizer", "N/A",
        "reduce_dose", "Use 60% of the normal dose",
        id="DPWG-antipsychotics-2024-PMID37002327-PA166104988-haloperidol-CYP2D6=0.0",
    ),
    pytest.param(
        "psychosis", 34, [PM_2D6], "risperidone", "DPWG", "CYP2D6", "Poor Metabolizer", "N/A",
        "reduce_dose", "Use 67% of the normal dose",
        id="DPWG-antipsychotics-2024-PMID37002327-PA166104943-risperidone-CYP2D6=0.0",
    ),
    pytest.param(
        "psychosis", 34, [UM_2D6], "risperidone", "DPWG", "CYP2D6", "Ultrarapid Metabolizer",
        "N/A", "use_alternative", "Choose an alternative",
        id="DPWG-antipsychotics-2024-PMID37002327-PA166104943-risperidone-CYP2D6=3.0",
    ),
    pytest.param(
        "psychosis", 34, [UM_2D6], "haloperidol", "DPWG", "CYP2D6", "Ultrarapid Metabolizer",
        "N/A", "increase_dose", "Use 1.5 times the normal dose",
        id="DPWG-antipsychotics-2024-PMID37002327-PA166104988-haloperidol-CYP2D6=3.0",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("condition", "age", "calls", "drug", "source", "gene", "effective", "classification",
     "action", "phrase"),
    GOLDEN,
)  # fmt: skip
def test_golden_guideline_rows(
    tmp_path: Path,
    condition: str,
    age: float,
    calls: list[dict[str, Any]],
    drug: str,
    source: str,
    gene: str,
    effective: str,
    classification: str,
    action: str,
    phrase: str,
) -> None:
    """The candidate's entries of one guideline and gene carry the row's phenotype, strength
    as written, the one-word action and the row's text (every matched entry agrees)."""
    sex = "male" if condition == "bipolar" else "female"
    result = options_for(
        tmp_path, patient_doc(condition=condition, sex=sex, age=age, calls=calls), condition
    )
    found = rows(cand(result, drug), source, gene)
    assert found, f"no {source} {gene} entry for {drug}"
    assert {(e.phenotype, e.effective_phenotype, e.classification, e.action) for e in found} == {
        (effective, effective, classification, action)
    }
    assert all(phrase in e.recommendation for e in found)
    assert all(e.caused_by == [] for e in found)


def test_hla_rows_use_the_naive_population_for_a_new_prescription(tmp_path: Path) -> None:
    """CPIC carbamazepine (PA166105008) for a drug the patient does not take: only the
    "CBZ naive" rows ("CBZ-no alternatives" and "CBZ use >3mos" are left out); taken now: the
    "CBZ use >3mos" row (cautious use: monitor) with the duration_assumed caveat."""
    new = cand(options_for(tmp_path, patient_doc(condition="bipolar", sex="male",
                                                 calls=[HLA_B_1502]), "bipolar"),
               "carbamazepine")  # fmt: skip
    assert {e.population for e in new.pgx if e.source == "CPIC"} == {"CBZ naive"}
    assert new.category == "avoid"
    taken = cand(options_for(tmp_path, patient_doc(condition="bipolar", sex="male",
                                                   calls=[HLA_B_1502], meds=["carbamazepine"]),
                             "bipolar"), "carbamazepine")  # fmt: skip
    cpic = [e for e in taken.pgx if e.source == "CPIC"]
    assert taken.current and {e.population for e in cpic} == {"CBZ use >3mos"}
    # the row's genotyped gene reads "cautious use"; HLA-A was not genotyped: no guidance from
    # it (never the row PharmCAT keys on "No Result")
    assert {(e.gene, e.action) for e in cpic} == {("HLA-B", "monitor"), ("HLA-A", "no_guidance")}
    assert all("duration_assumed" in {c.code for c in e.caveats} for e in cpic)


def test_atomoxetine_adult_and_paediatric_rows(tmp_path: Path) -> None:
    """CPIC atomoxetine (PA166181885), CYP2D6 activity score 0.0: an adult (34, and 18 at the
    boundary) gets the "adults" row (Moderate: 40 mg/day, reduce_dose); a 10-year-old the
    "pediatrics" row (Strong: 0.5 mg/kg/day)."""
    for age in (34, 18):
        option = cand(
            options_for(tmp_path, patient_doc(condition="adhd", age=age, calls=[PM_2D6]), "adhd"),
            "atomoxetine",
        )
        adult = [e for e in option.pgx if e.source == "CPIC" and e.population == "adults"]
        assert [(e.classification, e.action) for e in adult] == [("Moderate", "reduce_dose")]
        assert "Initiate with a dose of 40 mg/day" in adult[0].recommendation
        assert not [e for e in option.pgx if e.population == "pediatrics"]
    child = cand(options_for(tmp_path, patient_doc(condition="adhd", age=10, calls=[PM_2D6]),
                             "adhd"), "atomoxetine")  # fmt: skip
    peds = [e for e in child.pgx if e.source == "CPIC" and e.population == "pediatrics"]
    assert [(e.classification, e.action) for e in peds] == [("Strong", "reduce_dose")]
    assert "0.5 mg/kg/day" in peds[0].recommendation
    assert not [e for e in child.pgx if e.population == "adults"]


def test_atomoxetine_adult_gets_only_the_adult_cpic_row(tmp_path: Path) -> None:
    """CPIC atomoxetine (PA166181885) has rows for "adults" and "pediatrics" only (its one
    "general" row is the "xN combinations" input note, not a population): an adult's CPIC
    guidance is the adult row alone - no extra "No recommendation in this guideline" entry."""
    option = cand(options_for(tmp_path, patient_doc(condition="adhd", calls=[PM_2D6]), "adhd"),
                  "atomoxetine")  # fmt: skip
    cpic = [(e.population, e.classification, e.action) for e in option.pgx if e.source == "CPIC"]
    assert cpic == [("adults", "Moderate", "reduce_dose")]


def test_quetiapine_cyp3a4_row_is_read_per_indication(tmp_path: Path) -> None:
    """DPWG antipsychotics 2024 (PMID 37002327), PA166265421, CYP3A4 = Poor Metabolizer, a row
    written per indication: "Indication DEPRESSION: Choose an alternative" -> use_alternative;
    "OTHER INDICATIONS: Use 30% of the normal dose" -> reduce_dose (psychosis, bipolar)."""
    record = read_patient_file(write_patient(tmp_path, patient_doc(
        condition="psychosis", calls=[{"gene": "CYP3A4", "phenotype": "Poor Metabolizer"}])))  # fmt: skip
    (result,) = record_pgx(record, KB)
    depression = pgx_guidance(KB, "quetiapine", result, [], condition="depression")
    psychosis = pgx_guidance(KB, "quetiapine", result, [], condition="psychosis")
    assert [(e.gene, e.source, e.effective_phenotype, e.classification, e.action)
            for e in depression] == [
        ("CYP3A4", "DPWG", "Poor Metabolizer", "N/A", "use_alternative")]  # fmt: skip
    assert depression[0].recommendation.startswith("Choose an alternative")
    assert [e.action for e in psychosis] == ["reduce_dose"]
    assert psychosis[0].recommendation == "Use 30% of the normal dose."
    (rec,) = recommend_drug(KB, "quetiapine", build_context(KB, result, set()))
    assert guidance_action(rec, "Poor Metabolizer", "depression") == "use_alternative"
    assert guidance_action(rec, "Poor Metabolizer", "psychosis") == "reduce_dose"
    assert guidance_action(rec, "Poor Metabolizer", "bipolar") == "reduce_dose"  # OTHER part
    assert cand(options_for(tmp_path, patient_doc(
        condition="psychosis", calls=[{"gene": "CYP3A4", "phenotype": "Poor Metabolizer"}]),
        "psychosis"), "quetiapine").category == "adjust"  # fmt: skip


def test_each_guideline_row_is_listed_once(tmp_path: Path) -> None:
    """CYP2D6 *1x2/*1 (activity score 3.0) on paroxetine: CPIC PA166127636 row "3.0" and DPWG
    PA166104976 row "3.0" apply; each is one entry, not repeated because the ">=3.0" row (for
    an unknown copy number) carries the same text."""
    option = cand(options_for(tmp_path, patient_doc(calls=[UM_2D6, NM_2C19, NM_2B6])),
                  "paroxetine")  # fmt: skip
    dumped = [e.model_dump_json() for e in option.pgx]
    assert len(dumped) == len(set(dumped)), "identical guideline entries repeated"
    assert [(e.source, e.action) for e in option.pgx] == [
        ("CPIC", "use_alternative"), ("DPWG", "avoid")]  # fmt: skip


# --- 2. phenoconversion ------------------------------------------------------------------------


@pytest.mark.parametrize("inhibitor", ["paroxetine", "fluoxetine", "bupropion"])
def test_strong_cyp2d6_inhibitor_makes_normal_metabolizer_poor(
    tmp_path: Path, inhibitor: str
) -> None:
    """CYP2D6 *1/*1 (NM) on a strong CYP2D6 inhibitor: aripiprazole (DPWG PA166104937: no more
    than 10 mg/day), vortioxetine (CPIC PA166288221: 50 % start) and amitriptyline (CPIC
    PA166105006: avoid) are read as Poor Metabolizer (activity score 0.0), caused by the
    inhibitor, with a phenoconversion interaction naming it."""
    doc = patient_doc(meds=[inhibitor])
    depression = options_for(tmp_path, doc, "depression")
    psychosis = options_for(tmp_path, doc, "psychosis")
    expected = {"vortioxetine": "reduce_dose", "amitriptyline": "avoid"}
    checked = [(cand(depression, d), a) for d, a in expected.items()]
    checked.append((cand(psychosis, "aripiprazole"), "reduce_dose"))
    for option, action in checked:
        cyp2d6 = [e for e in option.pgx if e.gene == "CYP2D6"]
        assert cyp2d6
        for e in cyp2d6:
            assert (e.phenotype, e.effective_phenotype) == (
                "Normal Metabolizer",
                "Poor Metabolizer",
            )
            assert (e.activity_score, e.effective_activity_score) == ("2.0", "0.0")
            assert e.caused_by == [inhibitor]
        assert action in {e.action for e in cyp2d6}
        pheno = [i for i in option.interactions if i.kind == "phenoconversion"]
        assert [(i.drug, i.severity) for i in pheno if "CYP2D6" in i.effect] == [
            (inhibitor, "major")]  # fmt: skip
        assert option.category != "no_flag"


def test_the_inhibitor_does_not_phenoconvert_itself(tmp_path: Path) -> None:
    """Paroxetine taken by a CYP2D6 NM: its own guidance (CPIC PA166127636 row "2.0": initiate
    therapy with the recommended starting dose) stays Normal Metabolizer."""
    option = cand(options_for(tmp_path, patient_doc(meds=["paroxetine"])), "paroxetine")
    assert option.current
    cpic = rows(option, "CPIC", "CYP2D6")
    assert [(e.effective_phenotype, e.caused_by, e.action) for e in cpic] == [
        ("Normal Metabolizer", [], "standard_dose")]  # fmt: skip
    assert not [i for i in option.interactions if i.drug == "paroxetine"]


def test_moderate_inhibitor_halves_the_activity_score(tmp_path: Path) -> None:
    """Duloxetine (moderate CYP2D6 inhibitor) on CYP2D6 activity score 2.0: effective score 1.0
    (Intermediate Metabolizer); CPIC paroxetine row "1.0" (Optional: lower starting dose)."""
    result = options_for(tmp_path, patient_doc(meds=["duloxetine"]))
    for drug in ("paroxetine", "amitriptyline", "vortioxetine"):
        for e in [e for e in cand(result, drug).pgx if e.gene == "CYP2D6"]:
            assert (e.activity_score, e.effective_activity_score) == ("2.0", "1.0")
            assert e.effective_phenotype == "Intermediate Metabolizer"
            assert e.caused_by == ["duloxetine"]
    parox = rows(cand(result, "paroxetine"), "CPIC", "CYP2D6")
    assert [(e.classification, e.action) for e in parox] == [("Optional", "reduce_dose")]
    pheno = [i for i in cand(result, "paroxetine").interactions if i.kind == "phenoconversion"]
    assert [(i.drug, i.severity) for i in pheno] == [("duloxetine", "moderate")]


def test_candidate_as_perpetrator_of_a_current_medicine(tmp_path: Path) -> None:
    """A patient taking aripiprazole (DPWG CYP2D6 guidance): candidate fluoxetine, a strong
    CYP2D6 inhibitor, would make the patient a Poor Metabolizer for aripiprazole - an
    interaction of kind phenoconversion naming aripiprazole; duloxetine (moderate) too."""
    result = options_for(tmp_path, patient_doc(meds=["aripiprazole"]))
    fluoxetine = [i for i in cand(result, "fluoxetine").interactions if i.kind == "phenoconversion"]
    assert [(i.drug, i.severity, i.action) for i in fluoxetine] == [
        ("aripiprazole", "major", "adjust")]  # fmt: skip
    assert "Poor Metabolizer" in fluoxetine[0].effect
    duloxetine = [i for i in cand(result, "duloxetine").interactions
                  if i.kind == "phenoconversion"]  # fmt: skip
    assert [(i.drug, i.severity) for i in duloxetine] == [("aripiprazole", "moderate")]
    assert "Intermediate Metabolizer" in duloxetine[0].effect
    assert not [i for i in cand(result, "mirtazapine").interactions
                if i.kind == "phenoconversion"]  # fmt: skip


# --- 3. interactions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("medicine", "rule"),
    [("ibuprofen", "DDI088"), ("lisinopril", "DDI089"), ("hydrochlorothiazide", "DDI091")],
)
def test_lithium_with_nsaid_ace_inhibitor_or_thiazide(
    tmp_path: Path, medicine: str, rule: str
) -> None:
    """Lithium with an NSAID, an ACE inhibitor or a thiazide (Australian Prescriber, lithium
    interactions): reduced renal clearance, lithium toxicity - category adjust."""
    result = options_for(tmp_path, patient_doc(condition="bipolar", sex="male", calls=None,
                                               meds=[medicine]), "bipolar")  # fmt: skip
    lithium = cand(result, "lithium")
    ddi = [i for i in lithium.interactions if i.kind == "drug_interaction"]
    assert [(i.drug, i.rule_id) for i in ddi] == [(medicine, rule)]
    assert "lithium" in ddi[0].effect
    assert lithium.category == "adjust"
    assert any(r.startswith("adjust: drug interaction with " + medicine) for r in lithium.reasons)


def test_maoi_makes_ssris_and_snris_contraindicated(tmp_path: Path) -> None:
    """A patient on phenelzine (MAOI): every SSRI and SNRI candidate is contraindicated
    (ONC high-priority pair DDI004, serotonin syndrome; FDA labels of each SSRI/SNRI incl.
    levomilnacipran, Fetzima section 4) - category avoid, ranked last."""
    result = options_for(tmp_path, patient_doc(calls=None, meds=["phenelzine"]))
    ssris = [c for c in result.candidates if c.drug_class == "SSRI"]
    assert {c.drug for c in ssris} == {"citalopram", "escitalopram", "fluoxetine",
                                       "fluvoxamine", "paroxetine", "sertraline"}  # fmt: skip
    for c in ssris:
        ddi = [i for i in c.interactions if i.kind == "drug_interaction"]
        assert [(i.drug, i.severity, i.action, i.rule_id) for i in ddi] == [
            ("phenelzine", "contraindicated", "avoid", "DDI004")]  # fmt: skip
        assert c.category == "avoid"
    not_avoid = [c.drug for c in result.candidates
                 if c.drug_class in ("SSRI", "SNRI") and c.category != "avoid"]  # fmt: skip
    assert not_avoid == []


def test_smoking_status_and_cyp1a2_substrates(tmp_path: Path) -> None:
    """Tobacco smoke induces CYP1A2 (cautions.csv smoking_cyp1a2): a current smoker gets a
    "smoking" interaction on clozapine and olanzapine; a non-smoker none; an unrecorded status
    is a missing input, not assumed non-smoking."""
    smoker = options_for(tmp_path, patient_doc(condition="psychosis", sex="male", calls=None,
                                               lifestyle={"smoking": "current"}), "psychosis")  # fmt: skip
    for drug in ("clozapine", "olanzapine"):
        smoke = [i for i in cand(smoker, drug).interactions if i.kind == "smoking"]
        assert [(i.drug, i.action) for i in smoke] == [("tobacco smoke", "adjust")]
        assert "CYP1A2" in smoke[0].effect
        assert cand(smoker, drug).category == "adjust"
    assert not [i for i in cand(smoker, "haloperidol").interactions if i.kind == "smoking"]
    never = options_for(tmp_path, patient_doc(condition="psychosis", sex="male", calls=None),
                        "psychosis")  # fmt: skip
    unknown = options_for(tmp_path, patient_doc(condition="psychosis", sex="male", calls=None,
                                                lifestyle=None), "psychosis")  # fmt: skip
    for drug in ("clozapine", "olanzapine"):
        assert not [i for i in cand(never, drug).interactions if i.kind == "smoking"]
        assert "smoking status" not in cand(never, drug).missing_inputs
        assert not [i for i in cand(unknown, drug).interactions if i.kind == "smoking"]
        assert "smoking status" in cand(unknown, drug).missing_inputs
        assert cand(unknown, drug).confidence != "high"


def test_cyp3a4_inducer_is_a_modulation_note_for_quetiapine(tmp_path: Path) -> None:
    """Carbamazepine (strong CYP3A4 inducer) with candidate quetiapine (DPWG CYP3A4 guidance):
    no phenoconversion rule for CYP3A4, so a cyp_modulation interaction (lower exposure)."""
    result = options_for(tmp_path, patient_doc(
        condition="psychosis", sex="male", meds=["carbamazepine"],
        calls=[{"gene": "CYP3A4", "phenotype": "Normal Metabolizer"}]), "psychosis")  # fmt: skip
    mods = [i for i in cand(result, "quetiapine").interactions if i.kind == "cyp_modulation"]
    assert [(i.drug, i.severity, i.action) for i in mods] == [("carbamazepine", "major", "adjust")]
    assert "lower quetiapine exposure" in mods[0].effect


# --- 4. side effects against comorbidities and priorities -------------------------------------


def test_weight_gain_with_diabetes(tmp_path: Path) -> None:
    """Diabetes: olanzapine and clozapine (Maudsley weight gain "high") get a high weight-gain
    concern (weight 2); aripiprazole (very low) none."""
    doc = patient_doc(condition="psychosis", sex="male", calls=None,
                      conditions=[{"name": "Schizophrenia"},
                                  {"name": "Type 2 diabetes mellitus"}])  # fmt: skip
    result = options_for(tmp_path, doc, "psychosis")
    for drug in ("olanzapine", "clozapine"):
        se = cand(result, drug).side_effects
        assert se.concerns == ["high: weight gain with Type 2 diabetes mellitus"]
        assert se.concern_weight == 2
    assert cand(result, "aripiprazole").side_effects.concerns == []


def test_anticholinergic_burden_at_70(tmp_path: Path) -> None:
    """Age 70 (>= 65): amitriptyline, ACB score 3 (Boustani 2008 / ACBcalc 2023), is a high
    anticholinergic concern; sertraline (ACB 1) is not; at 40 neither is."""
    old = options_for(tmp_path, patient_doc(sex="male", age=70, calls=None))
    concerns = cand(old, "amitriptyline").side_effects.concerns
    assert len(concerns) == 1 and concerns[0].startswith("high: anticholinergic burden 3")
    assert "age 70" in concerns[0]
    assert cand(old, "sertraline").side_effects.concerns == []
    young = options_for(tmp_path, patient_doc(sex="male", age=40, calls=None))
    assert cand(young, "amitriptyline").side_effects.concerns == []


def test_long_qt_and_pimozide(tmp_path: Path) -> None:
    """Long QT syndrome: pimozide (Maudsley QTc "high") gets a high QTc concern; lurasidone
    (QTc "none") none."""
    doc = patient_doc(condition="psychosis", sex="male", calls=None,
                      conditions=[{"name": "Schizophrenia"}, {"name": "Long QT syndrome"}])  # fmt: skip
    result = options_for(tmp_path, doc, "psychosis")
    pimozide = cand(result, "pimozide").side_effects
    assert pimozide.concerns == ["high: qtc with Long QT syndrome"]
    assert pimozide.concern_weight == 2
    assert cand(result, "lurasidone").side_effects.concerns == []


def test_avoid_sexual_dysfunction(tmp_path: Path) -> None:
    """--avoid sexual_dysfunction: every SSRI (Maudsley sexual dysfunction "high") gets a
    concern; mirtazapine (very low) none; bupropion, whose profile lacks the category, an
    "unknown:" concern and a missing input - never ranked as a clean profile."""
    result = options_for(tmp_path, patient_doc(calls=None), "depression",
                         avoid=["sexual_dysfunction"])  # fmt: skip
    for c in (c for c in result.candidates if c.drug_class == "SSRI"):
        assert c.side_effects.concerns == [
            "high: sexual dysfunction a side effect the patient wants to avoid"]  # fmt: skip
    assert cand(result, "mirtazapine").side_effects.concerns == []
    bupropion = cand(result, "bupropion")
    assert len(bupropion.side_effects.concerns) == 1
    assert bupropion.side_effects.concerns[0].startswith("unknown: sexual dysfunction")
    assert bupropion.side_effects.concern_weight == 1
    assert "sexual dysfunction category" in bupropion.missing_inputs
    assert bupropion.confidence != "high"
    assert bupropion.rank > cand(result, "mirtazapine").rank


# --- 5. cautions -------------------------------------------------------------------------------


def _caution_codes(option: MedicationOption) -> set[str]:
    return {c.code for c in option.cautions}


def test_valproate_in_pregnancy_is_avoid(tmp_path: Path) -> None:
    """Pregnant woman with bipolar disorder: valproate is contraindicated (MHRA 2018,
    valproate_pregnancy) - category avoid."""
    result = options_for(tmp_path, patient_doc(condition="bipolar", calls=None,
                                               pregnancy="pregnant"), "bipolar")  # fmt: skip
    valproate = cand(result, "valproate")
    assert "valproate_pregnancy" in _caution_codes(valproate)
    assert valproate.category == "avoid"
    assert result.candidates[-1].category == "avoid"


def test_valproate_pregnancy_not_recorded(tmp_path: Path) -> None:
    """Female, pregnancy status not recorded: childbearing potential (valproate_childbearing)
    -> prefer_alternative, and "pregnancy status" is a missing input (not assumed)."""
    result = options_for(tmp_path, patient_doc(condition="bipolar", calls=None, pregnancy=None),
                         "bipolar")  # fmt: skip
    valproate = cand(result, "valproate")
    assert _caution_codes(valproate) == {"valproate_childbearing"}
    assert valproate.category == "prefer_alternative"
    assert "pregnancy status" in valproate.missing_inputs
    assert valproate.confidence != "high"


def test_no_valproate_caution_for_a_man(tmp_path: Path) -> None:
    result = options_for(tmp_path, patient_doc(condition="bipolar", sex="male", calls=None),
                         "bipolar")  # fmt: skip
    valproate = cand(result, "valproate")
    assert valproate.cautions == [] and valproate.category == "no_flag"
    assert valproate.missing_inputs == []


def test_young_adult_antidepressant_note(tmp_path: Path) -> None:
    """Age 20: antidepressant_young_adults (NICE NG222 1.4.24) is a note (no change of
    category); at 40 it is absent."""
    young = options_for(tmp_path, patient_doc(age=20, calls=None))
    for drug in ("sertraline", "mirtazapine", "amitriptyline"):
        assert "antidepressant_young_adults" in _caution_codes(cand(young, drug))
    assert cand(young, "mirtazapine").category == "no_flag"
    older = options_for(tmp_path, patient_doc(age=40, calls=None))
    assert "antidepressant_young_adults" not in _caution_codes(cand(older, "sertraline"))


def test_suicidal_ideation_and_tricyclics_via_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PHQ-9 with item 9 > 0 in the record's questionnaires: tricyclics get tca_overdose
    (NICE NG222, dangerous in overdose) -> prefer_alternative; the CLI JSON lists
    ``safety_flags`` starting with suicidal_ideation and standard error says FLAG."""
    (tmp_path / "phq.csv").write_text(f"{PHQ_HEADER}\np1,PHQ-9,2026-01-05,3,3,2,2,2,2,2,2,1\n")
    path = write_patient(tmp_path, patient_doc(calls=None, questionnaires=[{"path": "phq.csv"}]))
    out = tmp_path / "out.json"
    code, _, err = run(["mh", "options", str(path), "-o", str(out)], capsys)
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["safety_flags"][0] == "suicidal_ideation"
    assert "FLAG suicidal_ideation" in err
    tcas = [c for c in doc["candidates"] if c["drug_class"] == "TCA"]
    assert tcas
    for c in tcas:
        assert "tca_overdose" in {k["code"] for k in c["cautions"]}
        assert c["category"] in ("prefer_alternative", "avoid")
    others = [c for c in doc["candidates"] if c["drug_class"] != "TCA"]
    assert all("tca_overdose" not in {k["code"] for k in c["cautions"]} for c in others)


def test_recorded_bipolar_with_depression_requested(tmp_path: Path) -> None:
    """Recorded bipolar disorder, --condition depression: antidepressant_bipolar (adjust) on
    every antidepressant candidate."""
    result = options_for(tmp_path, patient_doc(condition="bipolar", sex="male", calls=None),
                         "depression")  # fmt: skip
    assert result.condition == "depression" and result.condition_basis == "--condition"
    for c in result.candidates:
        assert "antidepressant_bipolar" in _caution_codes(c)
        assert c.category != "no_flag"


# --- 6. missing inputs are never assumed normal ------------------------------------------------


def test_no_genotype_is_never_standard_dosing(tmp_path: Path) -> None:
    """No VCF and no outside calls: every guideline entry has phenotype None and action
    no_guidance (never standard_dose); candidates with a guideline are not "high" confidence
    and name the missing genes; the result says no_genotype."""
    for condition in ("depression", "psychosis", "bipolar", "adhd"):
        result = options_for(tmp_path, patient_doc(condition=condition, sex="male", calls=None),
                             condition)  # fmt: skip
        assert "no_genotype" in {c.code for c in result.caveats}
        with_guidance = [c for c in result.candidates if c.pgx]
        assert with_guidance
        for c in with_guidance:
            assert all(e.phenotype is None and e.effective_phenotype is None for e in c.pgx)
            assert {e.action for e in c.pgx} == {"no_guidance"}
            assert c.confidence == "low"
            assert {f"{e.gene} genotype" for e in c.pgx} <= set(c.missing_inputs)
            assert all("gene_not_genotyped" in {k.code for k in e.caveats} for e in c.pgx)


def test_missing_cyp2b6_only(tmp_path: Path) -> None:
    """CYP2D6 and CYP2C19 given, CYP2B6 not: sertraline (CPIC two-gene row) lists "CYP2B6
    genotype" as missing, its CYP2B6 entry has no phenotype, and it is low confidence."""
    result = options_for(tmp_path, patient_doc(calls=[NM_2D6, NM_2C19]))
    sertraline = cand(result, "sertraline")
    assert sertraline.missing_inputs == ["CYP2B6 genotype"]
    assert sertraline.confidence == "low"
    assert [e.phenotype for e in rows(sertraline, "CPIC", "CYP2B6")] == [None]
    assert cand(result, "citalopram").missing_inputs == []


def test_genotyped_hla_b_is_not_a_missing_input(tmp_path: Path) -> None:
    """HLA-B *07:02/*08:01 (HLA-B*15:02 negative) was genotyped: CPIC oxcarbazepine
    (PA166176623 row "*15:02 negative", OXC naive: standard dosing) reads it, and the DPWG
    annotation (PA166265201), which has a row for *15:02 positive only, gives no guidance - but
    HLA-B is not a missing genotype, so oxcarbazepine (no other gap for this man) is high
    confidence. Likewise carbamazepine with HLA-A and HLA-B both given."""
    result = options_for(tmp_path, patient_doc(condition="bipolar", sex="male",
                                               calls=[HLA_A_3101, HLA_B_NEG]), "bipolar")  # fmt: skip
    oxc = cand(result, "oxcarbazepine")
    assert [(e.phenotype, e.action) for e in rows(oxc, "CPIC", "HLA-B")] == [
        ("*15:02 negative", "standard_dose")]  # fmt: skip
    assert oxc.missing_inputs == []
    assert oxc.confidence == "high"
    cbz = cand(result, "carbamazepine")
    assert "HLA-B genotype" not in cbz.missing_inputs
    assert all(e.phenotype is not None for e in cbz.pgx)


# --- 7. ranking --------------------------------------------------------------------------------


def assert_ranking_invariants(result: OptionsResult) -> None:
    """Ranks 1..n; the order follows the documented key (category, concern weight, efficacy
    prior, name); guidance to avoid makes the category avoid."""
    cands = result.candidates
    assert [c.rank for c in cands] == list(range(1, len(cands) + 1))
    assert len({c.drug for c in cands}) == len(cands)
    order = [CATEGORIES.index(c.category) for c in cands]
    assert order == sorted(order)
    for a, b in itertools.pairwise(cands):
        if a.category == b.category:
            assert a.side_effects.concern_weight <= b.side_effects.concern_weight
    for c in cands:
        actions = {e.action for e in c.pgx}
        assert actions <= ACTIONS
        if "avoid" in actions:
            assert c.category == "avoid"
        if "use_alternative" in actions:
            assert c.category in ("prefer_alternative", "avoid")
        if c.pgx and any(e.phenotype is None for e in c.pgx):
            assert c.confidence == "low"


def test_ranking_properties_and_determinism(tmp_path: Path) -> None:
    """A busy record: ranks without gaps, categories non-decreasing, and two runs equal."""
    doc = patient_doc(calls=[PM_2D6, PM_2C19, NM_2B6], meds=["phenelzine"],
                      conditions=[{"name": "Major depressive disorder"},
                                  {"name": "Type 2 diabetes mellitus"}])  # fmt: skip
    first = options_for(tmp_path, doc, "depression", avoid=["weight_gain"])
    second = options_for(tmp_path, doc, "depression", avoid=["weight_gain"])
    assert_ranking_invariants(first)
    assert first.candidates == second.candidates
    assert [c.drug for c in first.candidates] == [c.drug for c in second.candidates]


def test_efficacy_prior_breaks_ties(tmp_path: Path) -> None:
    """Within one category and concern weight, a higher Cipriani 2018 response OR ranks first
    and candidates without a prior come after those with one."""
    result = options_for(tmp_path, patient_doc(calls=[NM_2D6, NM_2C19, NM_2B6]))
    groups: dict[tuple[str, int], list[MedicationOption]] = {}
    for c in result.candidates:
        groups.setdefault((c.category, c.side_effects.concern_weight), []).append(c)
    for group in groups.values():
        priors = [c.efficacy.estimate for c in group]
        known = [p for p in priors if p is not None]
        assert known == sorted(known, reverse=True)
        assert priors == known + [None] * (len(priors) - len(known))
    assert cand(result, "mirtazapine").efficacy.source


PHENOTYPES_2D6 = ["Poor Metabolizer", "Intermediate Metabolizer", "Normal Metabolizer",
                  "Ultrarapid Metabolizer"]  # fmt: skip
PHENOTYPES_2C19 = ["Poor Metabolizer", "Intermediate Metabolizer", "Normal Metabolizer",
                   "Rapid Metabolizer", "Ultrarapid Metabolizer"]  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(PHENOTYPES_2D6),
    st.sampled_from(PHENOTYPES_2C19),
    st.sampled_from(["depression", "anxiety", "psychosis"]),
    st.sampled_from([None, "paroxetine", "duloxetine", "phenelzine"]),
)
def test_ranking_invariants_over_random_phenotypes(
    tmp_path_factory: pytest.TempPathFactory,
    cyp2d6: str,
    cyp2c19: str,
    condition: str,
    medicine: str | None,
) -> None:
    """For any CYP2D6/CYP2C19 phenotype (outside calls with ``phenotype:``), condition and
    co-medicine: the ranking invariants hold and the result is deterministic."""
    folder = tmp_path_factory.mktemp("prop")
    calls = [{"gene": "CYP2D6", "phenotype": cyp2d6}, {"gene": "CYP2C19", "phenotype": cyp2c19}]
    doc = patient_doc(condition=condition, calls=calls, meds=[medicine] if medicine else ())
    first = options_for(folder, doc, condition)
    assert_ranking_invariants(first)
    assert options_for(folder, doc, condition).candidates == first.candidates


# --- 8. condition choice -----------------------------------------------------------------------


def test_condition_defaults_to_first_recorded(tmp_path: Path) -> None:
    """No --condition: the first recorded psychiatric condition (anxiety before depression),
    with a several_conditions note."""
    doc = patient_doc(calls=None, conditions=[{"name": "Generalized anxiety disorder"},
                                              {"name": "Major depressive disorder"}])  # fmt: skip
    result = options_for(tmp_path, doc)
    assert result.condition == "anxiety"
    assert result.condition_basis.startswith("recorded condition")
    assert "Generalized anxiety disorder" in result.condition_basis
    assert "several_conditions" in {c.code for c in result.caveats}
    assert "sertraline" in {c.drug for c in result.candidates}


def test_no_condition_recorded_defaults_to_depression(tmp_path: Path) -> None:
    result = options_for(tmp_path, patient_doc(condition=None, calls=None))
    assert result.condition == "depression"
    assert result.condition_basis.startswith("default")
    caveats = {c.code: c for c in result.caveats}
    assert "condition_not_recorded" in caveats
    assert caveats["condition_not_recorded"].kind == "warning"


def test_unknown_condition_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown condition"):
        options_for(tmp_path, patient_doc(calls=None), "insomnia")


# --- 9. command line ---------------------------------------------------------------------------


def _no_nan(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"non-finite number {name} in the JSON")

    return json.loads(text, parse_constant=refuse)


def test_cli_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON via -o: ``condition`` and ``candidates`` first; every candidate has the contract's
    fields, every pgx entry at least the contract's keys with a known action; no NaN; the
    decision-support notice."""
    path = write_patient(tmp_path, patient_doc(calls=[NM_2D6, PM_2C19, NM_2B6],
                                               meds=["paroxetine"]))  # fmt: skip
    out = tmp_path / "out.json"
    code, _, err = run(["mh", "options", str(path), "-o", str(out)], capsys)
    assert code == 0, err
    doc = _no_nan(out.read_text())
    assert list(doc)[:2] == ["condition", "candidates"]
    assert doc["condition"] == "depression"
    assert doc["notice"] == DECISION_SUPPORT
    assert doc["safety_flags"] == []
    assert doc["ranking_rule"] and doc["provenance"]
    assert [c["rank"] for c in doc["candidates"]] == list(range(1, len(doc["candidates"]) + 1))
    for c in doc["candidates"]:
        assert set(c) >= CANDIDATE_KEYS, c["drug"]
        assert isinstance(c["reasons"], list) and c["reasons"][0] == f"category {c['category']}"
        for e in c["pgx"]:
            assert set(e) >= PGX_KEYS
            assert e["action"] in ACTIONS
    cit = next(c for c in doc["candidates"] if c["drug"] == "citalopram")
    cpic = [e for e in cit["pgx"] if e["source"] == "CPIC"]
    assert [(e["gene"], e["phenotype"], e["effective_phenotype"], e["classification"],
             e["action"]) for e in cpic] == [
        ("CYP2C19", "Poor Metabolizer", "Poor Metabolizer", "Strong", "use_alternative")]  # fmt: skip
    dpwg = [e for e in cit["pgx"] if e["source"] == "DPWG"]
    assert [e["classification"] for e in dpwg] == ["N/A"]


def test_cli_json_on_stdout_and_avoid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_patient(tmp_path, patient_doc(calls=None))
    code, out, _ = run(["mh", "options", str(path), "--condition", "depression", "--avoid",
                        "sexual_dysfunction", "--avoid", "weight_gain"], capsys)  # fmt: skip
    assert code == 0
    doc = _no_nan(out)
    sertraline = next(c for c in doc["candidates"] if c["drug"] == "sertraline")
    assert any("sexual dysfunction" in x for x in sertraline["side_effects"]["concerns"])


def test_cli_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_patient(tmp_path, patient_doc(condition="bipolar", sex="male", calls=None))
    out = tmp_path / "out.html"
    code, _, _ = run(["mh", "options", str(path), "--format", "html", "-o", str(out)], capsys)
    assert code == 0
    html = out.read_text()
    assert "Medication options" in html
    result = options_for(tmp_path, patient_doc(condition="bipolar", sex="male", calls=None))
    for c in result.candidates:
        assert c.drug in html


def test_cli_bad_condition_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_patient(tmp_path, patient_doc(calls=None))
    code, out, err = run(["mh", "options", str(path), "--condition", "bogus"], capsys)
    assert code == 2
    assert "Usage" in err and "bogus" in err
    assert out == ""


def test_cli_missing_patient_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nobody.yaml"
    out = tmp_path / "out.json"
    code, _, err = run(["mh", "options", str(missing), "-o", str(out)], capsys)
    assert code != 0
    assert "nobody.yaml" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_outside_call_without_a_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An inline outside call with only a gene: OutsideCallError, exit 8, nothing written."""
    path = write_patient(tmp_path, patient_doc(calls=[{"gene": "CYP2D6"}]))
    out = tmp_path / "out.json"
    code, _, err = run(["mh", "options", str(path), "-o", str(out)], capsys)
    assert code == OutsideCallError.exit_code == 8
    assert "outside_calls[0]" in err and "CYP2D6" in err
    assert "Traceback" not in err
    assert not out.exists()
    with pytest.raises(OutsideCallError):
        options_for(tmp_path, patient_doc(calls=[{"gene": "CYP2D6"}]))


# --- 10. plan ----------------------------------------------------------------------------------


def test_plan_includes_options_for_a_recorded_depression(tmp_path: Path) -> None:
    path = write_patient(tmp_path, patient_doc(calls=[NM_2D6, PM_2C19, NM_2B6]))
    plan = build_plan(read_patient_file(path), KB)
    mh = plan.mental_health
    assert mh is not None and "mental_health" in plan.engines
    assert mh.options is not None and mh.options.condition == "depression"
    assert mh.options.condition_basis.startswith("recorded condition")
    assert "options_not_assessed" not in {c.code for c in mh.caveats}
    assert cand(mh.options, "citalopram").category == "prefer_alternative"
    assert any("medicine options" in line for line in plan.patient_summary)


def test_plan_without_psychiatric_condition_keeps_options_not_assessed(tmp_path: Path) -> None:
    (tmp_path / "phq.csv").write_text(f"{PHQ_HEADER}\np1,PHQ-9,2026-01-05,1,1,1,1,1,1,1,1,0\n")
    doc = patient_doc(condition=None, calls=None, questionnaires=[{"path": "phq.csv"}])
    plan = build_plan(read_patient_file(write_patient(tmp_path, doc)), KB)
    mh = plan.mental_health
    assert mh is not None and mh.options is None
    assert "options_not_assessed" in {c.code for c in mh.caveats}
    assert not any("medicine options" in line for line in plan.patient_summary)


def test_efficacy_priors_are_finite(tmp_path: Path) -> None:
    """Priors shown are numbers from the NMA tables (Cipriani 2018 OR > 0; Huhn 2019 SMD < 0)."""
    depression = options_for(tmp_path, patient_doc(calls=None))
    psychosis = options_for(tmp_path, patient_doc(calls=None), "psychosis")
    for c in depression.candidates:
        if c.efficacy.estimate is not None:
            assert c.efficacy.measure == "response_or_vs_placebo"
            assert math.isfinite(c.efficacy.estimate) and c.efficacy.estimate > 0
    for c in psychosis.candidates:
        if c.efficacy.estimate is not None:
            assert c.efficacy.measure == "symptom_smd_vs_placebo"
            assert math.isfinite(c.efficacy.estimate) and c.efficacy.estimate < 0


# --- review findings: missing genotypes, MAOIs, stopped and unknown medicines, conditions -------


def test_untyped_gene_is_no_guidance_never_the_no_result_row(tmp_path: Path) -> None:
    """CPIC sertraline (PA166127639) keys rows on CYP2B6 "No Result"; an untyped CYP2B6 entry
    must still read no_guidance (and count as missing), whatever the row says."""
    result = options_for(tmp_path, patient_doc(calls=[NM_2C19, NM_2D6]), "depression")
    sertraline = cand(result, "sertraline")
    cyp2b6 = [e for e in sertraline.pgx if e.gene == "CYP2B6"]
    assert cyp2b6 and {e.action for e in cyp2b6} == {"no_guidance"}
    assert all(e.phenotype is None and e.effective_phenotype is None for e in cyp2b6)
    assert "CYP2B6 genotype" in sertraline.missing_inputs


def test_strong_inhibitor_without_cyp2d6_genotype_reads_poor_metabolizer(tmp_path: Path) -> None:
    """A strong CYP2D6 inhibitor sets the activity score to 0 whatever the genotype
    (engines/pgx/phenoconversion.py): with CYP2D6 untyped and paroxetine taken, amitriptyline
    (CPIC TCA, PMID 27997040, row CYP2D6 = 0.0: "Avoid tricyclic use") is avoid, not a
    safer category than for a genotyped normal metaboliser."""
    doc = patient_doc(calls=[NM_2C19], meds=["paroxetine"])
    amitriptyline = cand(options_for(tmp_path, doc, "depression"), "amitriptyline")
    cyp2d6 = [e for e in amitriptyline.pgx if e.gene == "CYP2D6" and e.source == "CPIC"]
    assert cyp2d6 and all(e.phenotype is None for e in cyp2d6)
    assert {e.effective_phenotype for e in cyp2d6} == {"Poor Metabolizer"}
    assert all("inhibitor_without_genotype" in {c.code for c in e.caveats} for e in cyp2d6)
    assert amitriptyline.category == "avoid" and "CYP2D6 genotype" in amitriptyline.missing_inputs
    typed = cand(options_for(tmp_path, patient_doc(calls=[NM_2C19, NM_2D6], meds=["paroxetine"]),
                             "depression"), "amitriptyline")  # fmt: skip
    assert typed.category == amitriptyline.category


def test_hla_b_untested_carbamazepine_is_at_least_adjust(tmp_path: Path) -> None:
    """FDA carbamazepine label: HLA-B testing required (pgx_psychiatry_drugs.csv): an untested
    patient gets label_testing_not_done and never no_flag."""
    result = options_for(tmp_path, patient_doc(condition="bipolar", sex="male", calls=[NM_2D6]),
                         "bipolar")  # fmt: skip
    carbamazepine = cand(result, "carbamazepine")
    assert "label_testing_not_done" in {c.code for c in carbamazepine.cautions}
    assert carbamazepine.category != "no_flag"
    assert "HLA-B genotype" in carbamazepine.missing_inputs


@pytest.mark.parametrize("drug", ["mirtazapine", "vortioxetine", "vilazodone", "bupropion"])
def test_maoi_with_fda_serotonergic_list_is_contraindicated(tmp_path: Path, drug: str) -> None:
    """ONC DDI004 (SSRI/SNRI + MAOI, contraindicated) applied to the FDA 2011 serotonergic
    psychiatric drug list (ddi_classes.csv): never no_flag beside phenelzine."""
    option = cand(options_for(tmp_path, patient_doc(meds=["phenelzine"]), "depression"), drug)
    assert option.category == "avoid"
    rows = [i for i in option.interactions if i.rule_id == "DDI004"]
    assert rows and rows[0].severity == "contraindicated" and not rows[0].verified


def test_stopped_maoi_still_counts_and_unknown_medicine_is_said(tmp_path: Path) -> None:
    doc = patient_doc(meds=[])
    doc["medications"] = [{"name": "paroxitine"}, {"name": "phenelzine", "status": "stopped"}]
    result = options_for(tmp_path, doc, "depression")
    codes = {c.code for c in result.caveats}
    assert {"stopped_medicine_counted", "unresolved_medication"} <= codes
    sertraline = cand(result, "sertraline")
    assert sertraline.category == "avoid"  # phenelzine's effect outlasts the last dose
    assert "interactions with paroxitine (not recognised)" in sertraline.missing_inputs
    assert sertraline.confidence != "high"


def test_qt_row_that_cannot_be_checked_is_a_missing_input(tmp_path: Path) -> None:
    """citalopram + a QT-prolonging drug (ddi_major.csv, class qt_prolonging_known_risk not
    shipped): the check is listed as not made, never silently clean."""
    result = options_for(tmp_path, patient_doc(meds=["methadone"]), "depression")
    citalopram = cand(result, "citalopram")
    assert any("class not shipped" in m for m in citalopram.missing_inputs)
    assert "qt_stacking_not_assessed" in {c.code for c in result.caveats}


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("Psychosocial stressors", None, []),
        ("Respiratory depression", None, []),
        ("ST depression on ECG", None, []),
        ("Hypomanic episode", None, ["bipolar"]),
        ("Recurrent depressive disorder", "F33.1", ["depression"]),
        ("Schizophrenia", None, ["psychosis"]),
    ],
)
def test_condition_names_are_whole_words(
    tmp_path: Path, name: str, code: str | None, expected: list[str]
) -> None:
    doc = patient_doc(condition=None)
    doc["conditions"] = [{"name": name, **({"code": code} if code else {})}]
    record = read_patient_file(write_patient(tmp_path, doc))
    from precisionrx.engines.mental_health.patient_facts import patient_facts

    assert patient_facts(record).psychiatric_conditions == expected


def test_not_pregnant_and_diabetes_insipidus_name_nothing(tmp_path: Path) -> None:
    doc = patient_doc(condition="bipolar", pregnancy=None)
    doc["conditions"] += [{"name": "Not pregnant"}, {"name": "Diabetes insipidus"}]
    valproate = cand(options_for(tmp_path, doc, "bipolar"), "valproate")
    assert "valproate_pregnancy" not in {c.code for c in valproate.cautions}
    olanzapine = cand(options_for(tmp_path, doc, "bipolar"), "olanzapine")
    assert not any("weight gain" in c for c in olanzapine.side_effects.concerns)


def test_atomoxetine_activity_score_one_is_the_normal_regimen(tmp_path: Path) -> None:
    """CPIC atomoxetine (PA166181885): the adult row for activity score 1.0 has the same text
    as the normal-metaboliser row, so it is standard dosing, not a dose change."""
    doc = patient_doc(condition="adhd", calls=[IM_2D6])
    atomoxetine = cand(options_for(tmp_path, doc, "adhd"), "atomoxetine")
    cpic = [e for e in atomoxetine.pgx if e.source == "CPIC"]
    assert {e.action for e in cpic} == {"standard_dose"}


def test_inline_activity_score_must_be_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = patient_doc(calls=[{"gene": "CYP2D6", "activity_score": "abc"}])
    out = tmp_path / "out.json"
    code, _, err = run(["mh", "options", str(write_patient(tmp_path, doc)), "-o", str(out)], capsys)
    assert code == 8 and "activity score" in err and "outside_calls[0]" in err
    assert not out.exists() and "Traceback" not in err


def test_conditions_without_priors_keep_the_guideline_order(tmp_path: Path) -> None:
    """No efficacy prior for bipolar: among equally flagged candidates, the candidate list's
    order (NICE CG185: lithium first) breaks the tie before the name."""
    doc = patient_doc(condition="bipolar", sex="male", calls=[NM_2D6, HLA_B_NEG])
    result = options_for(tmp_path, doc, "bipolar")
    clean = [c.drug for c in result.candidates if c.category == "no_flag"
             and c.side_effects.concern_weight == 0]  # fmt: skip
    assert clean and clean[0] == "lithium"
