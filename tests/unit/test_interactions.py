"""Drug–drug interactions between the patient's medicines (issue 14, item 2).

Expected values are read from the shipped table rows by rule id (``ddi_major.csv``), never
typed in: a test fails when the engine picks another row or reports a value the row does not
hold. docs/methods/interactions.md describes the rules tested here.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.engines.interactions.api import (
    InteractionSettings,
    check_interactions,
    interaction_findings,
)
from precisionrx.engines.interactions.medicines import dose_mg_per_day
from precisionrx.errors import KbIntegrityError
from precisionrx.io.patient_file import read_patient_file
from precisionrx.kb.ddi import load_ddi
from precisionrx.kb.registry import KnowledgeBase, data_root, list_kbs, verify_kbs
from precisionrx.plan.builder import build_plan, demo_patient
from precisionrx.records import DrugRecommendation, Medication, MedicationReview
from precisionrx.records.interactions import DrugInteraction, InteractionResult

DEMO = Path(str(resources.files("precisionrx.demo")))


def _table(name: str, key: str) -> dict[str, dict[str, str]]:
    with (data_root() / "ddi" / name).open(newline="", encoding="utf-8") as fh:
        return {r[key]: r for r in csv.DictReader(fh)}


ROWS = _table("ddi_major.csv", "id")
LOW = _table("ddi_non_interruptive.csv", "onc2013_id")


def check(kb: KnowledgeBase, *meds: Medication | str) -> InteractionResult:
    return check_interactions([m if isinstance(m, Medication) else Medication(name=m)
                               for m in meds], kb)  # fmt: skip


def only(result: InteractionResult, a: str, b: str) -> DrugInteraction:
    (hit,) = [i for i in result.interactions if {i.drug_a, i.drug_b} == {a, b}]
    return hit


def assert_row(i: DrugInteraction, rule_id: str) -> None:
    """The interaction carries the row's own severity, action, dose cap and source."""
    row = ROWS[rule_id]
    assert i.rule_id == rule_id
    assert (i.severity, i.action) == (row["severity"], row["action"])
    assert i.dose_cap == (row["dose_cap"] or None)
    assert i.dose_cap_max_mg_day == (float(row["dose_cap_max_mg_day"])
                                     if row["dose_cap_max_mg_day"] else None)  # fmt: skip
    assert i.dose_cap_applies_to == (row["dose_cap_applies_to"] or None)
    assert i.specificity_rank == int(row["specificity_rank"])
    assert (i.mechanism, i.effect, i.source) == (row["mechanism"], row["effect"], row["source"])
    assert i.interruptive


# --- the knowledge base -------------------------------------------------------------------------


def test_the_ddi_source_is_registered_cited_and_verified() -> None:
    info = {i.name: i for i in list_kbs()}["ddi"]
    assert info.version == "2026-12-03"
    assert "Phansalkar" in info.source and "Ayvaz" in info.source and "CC0" in info.license
    assert set(info.files) == {"ddi_major.csv", "ddi_classes.csv", "ddi_non_interruptive.csv",
                               "ddi_corrections.csv"}  # fmt: skip
    assert not [p for p in verify_kbs() if p.kb == "ddi"]
    assert len(ROWS) == 128


def test_kb_list_and_verify_show_the_ddi_source() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from precisionrx.cli import main; main()",
                               *args], capture_output=True, text=True, check=False)  # fmt: skip

    listed = run("kb", "list")
    assert listed.returncode == 0 and "ddi" in listed.stdout and "2026-12-03" in listed.stdout
    assert run("kb", "verify").returncode == 0


def test_a_correction_that_no_longer_fits_its_row_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(data_root() / "ddi", copy / "ddi")
    shutil.copytree(data_root() / "guidelines", copy / "guidelines")
    path = copy / "ddi" / "ddi_non_interruptive.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Niclosamide", "Aspirin"), "utf-8")
    with pytest.raises(KbIntegrityError, match="correction"):
        load_ddi(KnowledgeBase(root=copy, home=tmp_path))


# --- golden pairs -------------------------------------------------------------------------------


def test_demo_patient_simvastatin_over_the_amlodipine_cap(kb: KnowledgeBase) -> None:
    record = read_patient_file(demo_patient())
    result = check_interactions(record.medications, kb)
    assert [i.rule_id for i in result.interactions] == ["DDI025"]
    (i,) = result.interactions
    assert_row(i, "DDI025")
    assert (i.drug_a, i.drug_b) == ("simvastatin", "amlodipine")
    assert i.recorded_dose_mg_day == 40.0  # "40 mg nightly"
    assert float(ROWS["DDI025"]["dose_cap_max_mg_day"]) < 40.0 and i.exceeds_dose_cap is True
    assert [c.code for c in i.caveats] == ["dose_cap_exceeded"]
    assert [f.severity for f in interaction_findings(result)] == ["high"]


def test_clopidogrel_omeprazole_takes_the_fda_ingredient_row(kb: KnowledgeBase) -> None:
    i = only(check(kb, "clopidogrel", "omeprazole"), "clopidogrel", "omeprazole")
    assert_row(i, "DDI052")
    assert "PLAVIX" in i.source and i.action == "avoid"
    # the class row DDI054 (CYP2C19 inhibitors, rank 2) matches too but is less specific
    assert "omeprazole" in {m.name for m in load_ddi(kb).classes["clopidogrel_cyp2c19_inhibitors"]}
    assert int(ROWS["DDI054"]["specificity_rank"]) > int(ROWS["DDI052"]["specificity_rank"])


def test_warfarin_capecitabine_boxed_warning(kb: KnowledgeBase) -> None:
    i = only(check(kb, "warfarin", "Xeloda"), "warfarin", "capecitabine")
    assert_row(i, "DDI057")
    assert "WARNING: XELODA-WARFARIN INTERACTION" in i.source
    assert i.medication_b == "Xeloda"


@pytest.mark.parametrize(
    ("other", "rule_id"),
    [("clopidogrel", "DDI056"), ("aspirin", "DDI060"), ("ibuprofen", "DDI059")],
)
def test_warfarin_with_antiplatelets_and_nsaids(
    kb: KnowledgeBase, other: str, rule_id: str
) -> None:
    i = only(check(kb, "warfarin", other), "warfarin", other)
    assert_row(i, rule_id)
    assert i.verified


def test_simvastatin_diltiazem_label_cap_beats_the_onc_contraindication(kb: KnowledgeBase) -> None:
    onc = load_ddi(kb).rule("DDI011")
    assert "diltiazem" in onc.drug_b.members and onc.severity == ROWS["DDI011"]["severity"]
    result = check(kb, Medication(name="simvastatin", dose="20 mg daily"), "diltiazem")
    i = only(result, "simvastatin", "diltiazem")
    assert_row(i, "DDI022")
    assert i.dose_cap_max_mg_day == float(ROWS["DDI022"]["dose_cap_max_mg_day"])
    assert i.exceeds_dose_cap is True  # 20 mg/day over the 10 mg/day cap


def test_methotrexate_trimethoprim_and_cotrimoxazole(kb: KnowledgeBase) -> None:
    assert_row(only(check(kb, "methotrexate", "trimethoprim"), "methotrexate", "trimethoprim"),
               "DDI067")  # fmt: skip
    # co-trimoxazole by RxNorm code: one product, its own row, reported once
    combo = check(kb, "methotrexate", Medication(name="Bactrim DS", rxnorm="10831"))
    (i,) = combo.interactions
    assert_row(i, "DDI068")
    assert (i.drug_a, i.drug_b) == ("methotrexate", "sulfamethoxazole / trimethoprim")
    assert combo.medications[0].ingredients == ["sulfamethoxazole", "trimethoprim"]


def test_ssri_with_maoi_is_contraindicated(kb: KnowledgeBase) -> None:
    i = only(check(kb, "sertraline", "phenelzine"), "sertraline", "phenelzine")
    assert_row(i, "DDI004")
    assert i.severity == "contraindicated" and i.onc_2012_high_priority


def test_brand_name_and_rxnorm_code_resolve(kb: KnowledgeBase) -> None:
    result = check(kb, Medication(name="Zocor", dose="40 mg nightly"), "amlodipine")
    i = only(result, "simvastatin", "amlodipine")
    assert i.medication_a == "Zocor" and i.exceeds_dose_cap is True
    coded = check(kb, Medication(name="a statin", rxnorm="36567"), "diltiazem")
    assert only(coded, "simvastatin", "diltiazem").rule_id == "DDI022"
    assert {c.medication: c.via for c in coded.medications}["a statin"] == "rxnorm"


@pytest.mark.parametrize(
    ("display", "expected"),
    [  # RxNorm SCD/SBD names as EHRs send them (displays of Synthea's MedicationRequests)
        ("Simvastatin 20 MG Oral Tablet", {"simvastatin"}),
        ("24 HR metoprolol succinate 100 MG Extended Release Oral Tablet", {"metoprolol"}),
        ("Ibuprofen 400 MG Oral Tablet [Ibu]", {"ibuprofen"}),
        ("Aspirin 81 MG Oral Tablet", {"aspirin"}),
        ("1 ML Warfarin 5 MG/ML Injection", {"warfarin"}),
        # neither ingredient is in the knowledge base: unresolved, and said so
        ("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", set()),
    ],
)
def test_clinical_drug_names_resolve_to_their_ingredients(
    kb: KnowledgeBase, display: str, expected: set[str]
) -> None:
    """A medication named as RxNorm names clinical drugs (strength, units, release and dose
    form, bracketed brand) resolves to its ingredients; an ingredient the knowledge base does
    not know stays unresolved and is said so, never guessed."""
    result = check(kb, Medication(name=display), "clopidogrel")
    med = next(m for m in result.medications if m.medication == display)
    assert set(med.ingredients) == expected, (display, med)
    unresolved = [g for g in result.not_assessed if g.code == "unresolved_medication"]
    assert bool(unresolved) is (not expected)


def test_a_pair_not_in_the_table_gives_no_interaction(kb: KnowledgeBase) -> None:
    result = check(kb, "amlodipine", "capecitabine")
    assert result.interactions == []
    assert not interaction_findings(result)


def test_low_priority_pair_is_shown_but_never_a_finding(kb: KnowledgeBase) -> None:
    result = check(kb, "warfarin", "omeprazole")
    i = only(result, "warfarin", "omeprazole")
    assert (i.rule_id, i.severity, i.action, i.interruptive) == (
        "ONC2013-20", "low", "non_interruptive", False)  # fmt: skip
    assert LOW["20"]["object_class"] == "Anticoagulants" and i.source == LOW["20"]["source"]
    assert interaction_findings(result) == []
    silent = check_interactions([Medication(name="warfarin"), Medication(name="omeprazole")], kb,
                                InteractionSettings(include_low_priority=False))  # fmt: skip
    assert silent.interactions == []


def test_transcription_errors_match_no_wrong_drug(kb: KnowledgeBase) -> None:
    assert "Methacholine" in LOW["29"]["precipitant_members"]  # the shipped error
    assert check(kb, "clopidogrel", "methacholine").interactions == []
    assert check(kb, "lisinopril", "niclosamide").interactions == []
    i = only(check(kb, "clopidogrel", "aspirin"), "clopidogrel", "aspirin")
    assert i.rule_id == "ONC2013-29" and "table_corrected" in [c.code for c in i.caveats]
    # "Esmoprazole" in the transcription: esomeprazole still matches its PPI rows
    assert only(check(kb, "warfarin", "esomeprazole"), "warfarin", "esomeprazole").rule_id == (
        "ONC2013-20")  # fmt: skip


def test_unverified_row_and_unverified_class_membership(kb: KnowledgeBase) -> None:
    assert ROWS["DDI063"]["verified"] == "false"
    i = only(check(kb, "warfarin", "fluconazole"), "warfarin", "fluconazole")
    assert i.rule_id == "DDI063" and not i.verified
    assert "row_unverified" in [c.code for c in i.caveats]
    # prasugrel reaches warfarin only through the unverified antiplatelet class (DDI061)
    j = only(check(kb, "warfarin", "prasugrel"), "warfarin", "prasugrel")
    assert j.rule_id == "DDI061" and ROWS["DDI061"]["verified"] == "true" and not j.verified
    assert "class_membership_unverified" in [c.code for c in j.caveats]
    (finding,) = interaction_findings(check(kb, "warfarin", "prasugrel"))
    assert "Unverified" in finding.detail


def test_qt_stacking_is_reported_as_not_assessable(kb: KnowledgeBase) -> None:
    assert load_ddi(kb).classes["qt_prolonging_known_risk"] == ()
    result = check(kb, Medication(name="citalopram", dose="20 mg daily"), "amlodipine")
    gaps = {g.rule_id: g for g in result.not_assessed}
    assert gaps["DDI008"].code == "class_not_shipped"
    assert gaps["DDI008"].drugs == ["amlodipine", "citalopram"]
    assert "not assessable from the shipped data" in gaps["DDI008"].message
    assert gaps["DDI078"].drugs == ["citalopram"] and "CredibleMeds" in gaps["DDI078"].message
    titles = [f.title for f in interaction_findings(result)]
    assert titles == ["citalopram: interactions not checked"]


def test_unknown_and_stopped_medicines_are_named(kb: KnowledgeBase) -> None:
    result = check(kb, "simvastatin", "notadrugium",
                   Medication(name="diltiazem", status="stopped"))  # fmt: skip
    codes = {g.code: g.drugs for g in result.not_assessed}
    assert codes["unresolved_medication"] == ["notadrugium"]
    assert codes["medication_not_current"] == ["diltiazem"]
    assert result.interactions == []


def test_drug_gene_view_is_joined(kb: KnowledgeBase) -> None:
    rec = DrugRecommendation(
        drug="clopidogrel", source="CPIC", genes=["CYP2C19"],
        lookup_keys={"CYP2C19": "Poor Metabolizer"}, population="general", classification="Strong",
        text="Avoid", guideline="g", guideline_version="1", phenotype_basis="phenoconverted",
        caused_by=["omeprazole"],
    )  # fmt: skip
    review = MedicationReview(medication="clopidogrel", matched_drug="clopidogrel",
                              status="action", recommendations=[rec])  # fmt: skip
    result = check_interactions([Medication(name="clopidogrel"), Medication(name="omeprazole")],
                                kb, drug_gene=[review])  # fmt: skip
    codes = [c.code for c in only(result, "clopidogrel", "omeprazole").caveats]
    assert codes == ["drug_gene_guidance", "phenoconversion"]


@pytest.mark.parametrize(
    ("text", "mg"),
    [("40 mg nightly", 40.0), ("5 mg twice daily", 10.0), ("0.5 g three times daily", 1500.0),
     ("20 mg/day", 20.0), ("planned", None), ("40 mg", None), ("15 mg weekly", None),
     ("1250 mg/m2 twice daily", None), ("10 mg or 20 mg daily", None), (None, None)],
)  # fmt: skip
def test_daily_dose_is_read_only_when_unambiguous(text: str | None, mg: float | None) -> None:
    assert dose_mg_per_day(text) == mg


def test_dose_that_cannot_be_read_leaves_the_cap_check_unknown(kb: KnowledgeBase) -> None:
    i = only(check(kb, Medication(name="simvastatin", dose="planned"), "amlodipine"),
             "simvastatin", "amlodipine")  # fmt: skip
    assert i.recorded_dose_mg_day is None and i.exceeds_dose_cap is None
    assert "dose_not_read" in [c.code for c in i.caveats]
    assert [f.severity for f in interaction_findings(check(kb, "simvastatin", "amlodipine"))] == [
        "moderate"]  # fmt: skip


def test_output_is_sorted_by_severity_then_names(kb: KnowledgeBase) -> None:
    result = check(kb, "warfarin", "sertraline", "phenelzine", "omeprazole", "clopidogrel")
    order = ["contraindicated", "major", "moderate", "low"]
    keys = [(order.index(i.severity), i.drug_a, i.drug_b) for i in result.interactions]
    assert keys == sorted(keys) and keys[0][0] == 0 and keys[-1][0] == 3


# --- properties ---------------------------------------------------------------------------------

POOL = ["simvastatin", "amlodipine", "clopidogrel", "omeprazole", "warfarin", "capecitabine",
        "sertraline", "phenelzine", "methotrexate", "trimethoprim", "diltiazem", "aspirin",
        "Zocor", "citalopram", "lisinopril"]  # fmt: skip


#: Medicines with or without a dose (the same drug twice with different doses included), and
#: the same list in another order.
MEDS_AND_ORDER = st.lists(
    st.tuples(st.sampled_from(POOL), st.sampled_from([None, "20 mg daily", "40 mg nightly"])),
    max_size=7,
).flatmap(lambda meds: st.tuples(st.just(meds), st.permutations(meds)))


@settings(max_examples=60, deadline=None)
@given(pair=MEDS_AND_ORDER)
def test_order_of_medicines_does_not_change_the_result(
    kb: KnowledgeBase, pair: tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]
) -> None:
    given_order, other_order = pair
    meds = [Medication(name=n, dose=d) for n, d in given_order]
    shuffled = [Medication(name=n, dose=d) for n, d in other_order]
    first, second = check_interactions(meds, kb), check_interactions(shuffled, kb)
    assert first.model_dump(mode="json") == second.model_dump(mode="json")
    for i in first.interactions:
        assert i.drug_a != i.drug_b  # no self-pairs, also with a brand and its generic


# --- the plan -----------------------------------------------------------------------------------


def test_demo_plan_has_the_interaction_and_its_finding(kb: KnowledgeBase) -> None:
    plan = build_plan(read_patient_file(demo_patient()), kb)
    assert plan.interactions is not None and "interactions" in plan.engines
    assert [i.rule_id for i in plan.interactions.interactions] == ["DDI025"]
    (finding,) = [f for f in plan.findings if f.domain == "interactions"]
    assert finding.severity == "high" and finding.title.startswith("simvastatin + amlodipine")
    # joined with the drug–gene view: SLCO1B1 guidance for simvastatin
    assert "drug_gene_guidance" in [c.code for c in plan.interactions.interactions[0].caveats]
    assert any("simvastatin and amlodipine" in line for line in plan.patient_summary)


def test_demo_variant_with_omeprazole_and_warfarin(tmp_path: Path) -> None:
    for name in ("demo.vcf", "tumour.maf", "cgm.csv"):
        (tmp_path / name).write_bytes((DEMO / name).read_bytes())
    added = "  - {name: omeprazole, dose: 20 mg daily}\n  - {name: warfarin, dose: 5 mg daily}\n"
    text = (DEMO / "patient.yaml").read_text().replace("measurements:", added + "measurements:")
    (tmp_path / "patient.yaml").write_text(text)
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "plan",
         str(tmp_path / "patient.yaml"), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    found = {(i["drug_a"], i["drug_b"]): i for i in plan["interactions"]["interactions"]}
    assert found[("clopidogrel", "omeprazole")]["rule_id"] == "DDI052"
    assert found[("warfarin", "capecitabine")]["rule_id"] == "DDI057"
    assert found[("clopidogrel", "warfarin")]["rule_id"] == "DDI056"
    assert found[("simvastatin", "amlodipine")]["exceeds_dose_cap"] is True
    assert found[("warfarin", "omeprazole")]["interruptive"] is False
    titles = {f["title"]: f["severity"] for f in plan["findings"] if f["domain"] == "interactions"}
    assert titles["clopidogrel + omeprazole: major interaction"] == "high"
    assert titles["warfarin + capecitabine: major interaction"] == "moderate"
    assert not any("omeprazole" in t and "warfarin" in t for t in titles)  # low priority
    html = (tmp_path / "out" / "plan.html").read_text()
    assert "Interactions between your medicines" in html and "DDI057" in html
