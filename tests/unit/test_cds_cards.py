"""CDS Hooks cards from the prescribing check (report/cds/cards.py, plan/cds_check.py, issue 18),
below the service: FHIR Genomics Reporting Observations -> fhir_genotypes -> check ->
order_cards, the way routes_cds.py chains them.

Expected advice is the knowledge base's CPIC/DPWG text: CYP2C19 poor metabolizer -> "Avoid
clopidogrel if possible. Use prasugrel or ticagrelor" (CPIC 2022); CYP2D6 poor metabolizer (or a
normal metabolizer on paroxetine, a strong CYP2D6 inhibitor) -> "Avoid codeine use" (CPIC 2021);
SLCO1B1 poor function -> "Prescribe an alternative statin" (CPIC 2022); HLA-B*15:02 positive ->
"do not use carbamazepine" (CPIC 2017); CYP2C19 poor metabolizer -> citalopram "Consider a
clinically appropriate antidepressant not predominantly metabolized by CYP2C19" (CPIC 2023).
Card rules: CDS Hooks 2.0, "CDS Service Response" (summary < 140 characters, indicator enum)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.errors import FhirValidationError
from precisionrx.io.cds_orders import OrderedMedication, current_medications, read_orders
from precisionrx.kb.ddi import load_ddi
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.cds_check import check, fhir_genotypes, named_alternatives, order_drug
from precisionrx.records import SampleResult
from precisionrx.records.pgx import DrugRecommendation
from precisionrx.report.cds.cards import (
    OVERRIDE_SYSTEM,
    CardInputs,
    alternative_verdict,
    alternatives_to_check,
    drug_card,
    gene_phenotype,
    order_cards,
    severity,
    summary_card,
)
from precisionrx.report.cds.validate import INDICATORS, validate_cds_response
from tests.service.cds_fixtures import diplotype, genotype, order, searchset

ORIGIN = "from the EHR's genomic results"
#: Drug names the DPWG simvastatin text names as CYP3A4 inhibitors (not statins).
CYP3A4_INHIBITORS = ("amiodarone", "verapamil", "diltiazem")


# --------------------------------------------------------------------------------------------
# helpers: the service's chain, and checks every response must pass
# --------------------------------------------------------------------------------------------


def genotypes(kb: KnowledgeBase, *observations: dict[str, Any]) -> SampleResult:
    got = fhir_genotypes(kb, [(searchset(*observations), "prefetch.genotypes")], "p1").result
    assert got is not None
    return got


def orders_of(*resources: dict[str, Any]) -> list[OrderedMedication]:
    return read_orders(searchset(*resources), "context.draftOrders").medications


class Run:
    """One order-sign call: the check, the re-check with alternatives, the cards."""

    def __init__(
        self,
        kb: KnowledgeBase,
        observations: Sequence[dict[str, Any]],
        drafts: Sequence[dict[str, Any]],
        current: Sequence[dict[str, Any]] = (),
        hook: str = "hook-1",
    ) -> None:
        self.genotypes = genotypes(kb, *observations)
        self.orders = orders_of(*drafts)
        self.current = current_medications(searchset(*current), "prefetch.medications").medications
        self.alternatives = alternatives_to_check(kb, self.orders)
        self.result = check(kb, self.genotypes, self.orders, self.current, self.alternatives)
        self.checked = self.result
        self.cards = order_cards(CardInputs(kb, hook, "p1", ORIGIN), self.result, self.orders)
        assert_valid(self.cards)

    def card(self) -> dict[str, Any]:
        assert len(self.cards) == 1, [c["summary"] for c in self.cards]
        return self.cards[0]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")


def assert_valid(cards: list[dict[str, Any]]) -> None:
    assert validate_cds_response({"cards": cards}) == []
    assert [p for p, v in walk(cards) if v is None] == []
    for c in cards:
        assert len(c["summary"]) < 140, c["summary"]


def suggested(card: dict[str, Any]) -> list[str]:
    return [s["actions"][1]["resource"]["medicationCodeableConcept"]["text"]
            for s in card.get("suggestions", [])]  # fmt: skip


def uuids(cards: list[dict[str, Any]]) -> list[str]:
    return [v for p, v in walk(cards) if p.endswith(".uuid")]


# --------------------------------------------------------------------------------------------
# severity
# --------------------------------------------------------------------------------------------


def rec(text: str, *, dosing: bool = False, alternate: bool = False,
        drug: str = "codeine") -> DrugRecommendation:  # fmt: skip
    return DrugRecommendation(
        drug=drug, source="CPIC", genes=["CYP2D6"], lookup_keys={"CYP2D6": "0.0"},
        population="general", classification="Strong", text=text,
        guideline="Annotation of CPIC Guideline for codeine and CYP2D6",
        guideline_version="CPIC annotation v66", dosing_information=dosing,
        alternate_drug=alternate,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "dosing", "alternate", "expected"),
    [
        ("Avoid codeine use because of possibility of diminished analgesia.", False, True,
         "critical"),
        ("Codeine is contraindicated in HLA-B*58:01 positive patients.", False, False,
         "critical"),
        ("Codeine is not recommended.", False, True, "critical"),
        ("Codeine should be avoided.", False, True, "critical"),
        ("AVOID use", False, False, "critical"),
        ("Avoid use of codeine or codeine-containing combinations.", False, False, "critical"),
        # advice about another drug, or about co-medication, is not about this drug
        ("If patient is carbamazepine-naïve, do not use carbamazepine.", False, False, "info"),
        ("Avoid moderate and strong CYP2D6 inhibitors.", False, False, "info"),
        ("If aromatase inhibitor use is contraindicated, use codeine.", False, False, "info"),
        ("Consider a non-codeine opioid; avoid tramadol.", False, True, "warning"),
        # "to avoid ..." is a purpose, not an instruction to avoid the drug
        ("Start low and titrate to avoid toxicity.", False, False, "info"),
        ("Start low and titrate to avoid toxicity.", True, False, "warning"),
        # a conditional option is not the advice
        ("Use 1.7 times the standard dose.\nIf a dose increase is not wanted: avoid codeine.",
         True, False, "warning"),
        ("Reduce the starting dose by 50%.", True, False, "warning"),
        ("Consider an alternative drug.", False, True, "warning"),
        ("Use label-recommended dosage and administration.", False, False, "info"),
        ("No recommendation", False, False, "info"),
    ],
)  # fmt: skip
def test_severity(text: str, dosing: bool, alternate: bool, expected: str) -> None:
    assert severity(rec(text, dosing=dosing, alternate=alternate)) == expected


def test_severity_of_an_initial_prescription_conditional() -> None:
    """'If patient is <drug>-naive, do not use <drug>' is the advice for every new order."""
    text = "If patient is carbamazepine-naïve, do not use carbamazepine."
    assert severity(rec(text, drug="carbamazepine")) == "critical"
    assert severity(rec("Eliglustat is contra-indicated.", drug="eliglustat")) == "critical"
    assert severity(rec("Abacavir is not recommended", drug="abacavir")) == "critical"
    assert severity(rec("Avoid use of 5-fluorouracil.", drug="fluorouracil")) == "critical"


# --------------------------------------------------------------------------------------------
# order cards through the check
# --------------------------------------------------------------------------------------------


def test_clopidogrel_cyp2c19_poor_metabolizer(kb: KnowledgeBase) -> None:
    run = Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")], [order("o1", "clopidogrel")])
    card = run.card()
    assert card["indicator"] == "critical"
    assert card["summary"] == (
        "Clopidogrel · CYP2C19 Poor Metabolizer: Avoid clopidogrel if possible."
    )
    assert "*2/*2 (Poor Metabolizer), from the EHR's genomic results" in card["detail"]
    assert card["selectionBehavior"] == "at-most-one"
    alts = suggested(card)
    assert alts[:2] == ["prasugrel", "ticagrelor"]
    antiplatelets = {m.name for m in load_ddi(kb).classes["antiplatelets"]}
    assert set(alts) <= antiplatelets - {"clopidogrel"}
    for s, alt in zip(card["suggestions"], alts, strict=True):
        assert s["label"] == f"Replace clopidogrel with {alt}"
        assert s["isRecommended"] is False
        delete, create = s["actions"]
        assert delete == {"type": "delete", "description": "Remove the draft order of clopidogrel",
                          "resourceId": "MedicationRequest/o1"}  # fmt: skip
        assert create["type"] == "create"
        new = create["resource"]
        assert (new["resourceType"], new["status"], new["intent"]) == (
            "MedicationRequest", "draft", "order")  # fmt: skip
        assert new["subject"] == {"reference": "Patient/p1"}
    codes = {(o["code"], o["display"]) for o in card["overrideReasons"]}
    assert ("genotype-disputed", "Genotype result disputed or outdated") in codes
    assert {o["system"] for o in card["overrideReasons"]} == {OVERRIDE_SYSTEM}
    assert card["links"]
    for link in card["links"]:
        assert link["type"] == "absolute"
        assert link["url"].startswith("https://www.pharmgkb.org/guidelineAnnotation/PA")
    assert card["source"]["label"] == "precisionrx (CPIC/DPWG guidelines)"


def test_alternative_with_an_rxnorm_ingredient_code_is_coded(kb: KnowledgeBase) -> None:
    # codeine for a CYP2D6 poor metabolizer: morphine is a guideline drug with RxNorm IN 7052
    run = Run(kb, [diplotype("g1", "CYP2D6", "*4", "*4")], [order("o1", "codeine")])
    (morphine,) = [s for s in run.card()["suggestions"] if s["label"].endswith("morphine")]
    concept = morphine["actions"][1]["resource"]["medicationCodeableConcept"]
    assert concept == {"text": "morphine", "coding": [
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7052",
         "display": "morphine"}]}  # fmt: skip


def test_order_without_an_id_gets_a_card_but_no_suggestions(kb: KnowledgeBase) -> None:
    draft = order("o1", "clopidogrel")
    del draft["id"]
    card = Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")], [draft]).card()
    assert card["indicator"] == "critical"
    assert "suggestions" not in card
    assert "selectionBehavior" not in card


def test_codeine_phenoconverted_by_current_paroxetine(kb: KnowledgeBase) -> None:
    paroxetine = {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
                  "medicationCodeableConcept": {"text": "paroxetine"}}  # fmt: skip
    run = Run(kb, [diplotype("g1", "CYP2D6", "*1", "*1")], [order("o1", "codeine")], [paroxetine])
    card = run.card()
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Codeine · CYP2D6 Poor Metabolizer: Avoid codeine use")
    assert "*1/*1 (Normal Metabolizer)" in card["detail"]  # the genotype itself is normal
    assert "**Phenoconversion**: CYP2D6 is treated as **Poor Metabolizer**" in card["detail"]
    assert "because of paroxetine" in card["detail"]
    # tramadol is named (CPIC "non-tramadol opioid", DPWG "Do not select tramadol") and is an
    # opioid, but has its own CYP2D6 action for this patient: never suggested
    assert "tramadol" in run.alternatives
    assert alternative_verdict(run.checked, "tramadol") == "exclude"
    assert "tramadol" not in suggested(card)
    assert suggested(card)


@pytest.mark.parametrize("status", [None, "stopped"])
def test_codeine_normal_metabolizer_without_paroxetine_gets_no_card(
    kb: KnowledgeBase, status: str | None
) -> None:
    current = [] if status is None else [order("m1", "paroxetine", status=status)]
    run = Run(kb, [diplotype("g1", "CYP2D6", "*1", "*1")], [order("o1", "codeine")], current)
    assert run.cards == []


def test_drug_without_a_pgx_guideline_gets_no_card(kb: KnowledgeBase) -> None:
    run = Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")], [order("o1", "amoxicillin")])
    assert run.cards == []
    assert order_drug(kb, run.orders[0]) is None
    assert drug_card(CardInputs(kb, "h", "p1", ORIGIN), run.result, run.orders[0],
                     "amoxicillin") is None  # fmt: skip


def test_guideline_drug_whose_gene_is_not_on_file_suggests_testing(kb: KnowledgeBase) -> None:
    card = Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")], [order("o1", "simvastatin")]).card()
    assert card["indicator"] == "info"
    assert card["summary"] == (
        "Simvastatin: no SLCO1B1 result on file — consider pharmacogenomic testing"
    )
    assert "No SLCO1B1 result is on file" in card["detail"]
    assert "suggestions" not in card
    assert "overrideReasons" not in card


def test_simvastatin_slco1b1_poor_function_suggests_only_statins(kb: KnowledgeBase) -> None:
    run = Run(kb, [diplotype("g1", "SLCO1B1", "*5", "*5")], [order("o1", "simvastatin")])
    card = run.card()
    assert card["summary"].startswith("Simvastatin · SLCO1B1 Poor Function: Prescribe an "
                                      "alternative statin")  # fmt: skip
    # the DPWG text names CYP3A4 inhibitors: they must not become suggestions
    assert all(name in card["detail"] for name in CYP3A4_INHIBITORS)
    alts = suggested(card)
    assert alts
    assert all(a.endswith("vastatin") and a != "simvastatin" for a in alts)
    assert "rosuvastatin" in alts
    texts = [r.text for r in run.result.recommendations or [] if r.drug == "simvastatin"]
    named = named_alternatives(kb, "simvastatin", texts)
    assert named == ["atorvastatin", "rosuvastatin", "pravastatin", "fluvastatin"]
    assert not set(named) & set(CYP3A4_INHIBITORS)


def test_citalopram_cyp2c19_poor_metabolizer_never_suggests_escitalopram(
    kb: KnowledgeBase,
) -> None:
    run = Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")], [order("o1", "citalopram")])
    card = run.card()
    assert card["summary"].startswith("Citalopram · CYP2C19 Poor Metabolizer: Consider a "
                                      "clinically appropriate antidepressant")  # fmt: skip
    assert run.alternatives == ["escitalopram"]
    assert alternative_verdict(run.checked, "escitalopram") == "exclude"
    assert "escitalopram" not in suggested(card)


def test_one_card_per_drug_most_severe_first(kb: KnowledgeBase) -> None:
    drafts = [order("o1", "citalopram"), order("o2", "clopidogrel"),
              order("o3", "clopidogrel 75 MG Oral Tablet", "32968"), order("o4", "amoxicillin")]  # fmt: skip
    run = Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")], drafts)
    assert [(c["indicator"], c["summary"].split(" ·")[0]) for c in run.cards] == [
        ("critical", "Clopidogrel"), ("warning", "Citalopram")]  # fmt: skip


def test_card_uuids_are_stable_per_hook_instance(kb: KnowledgeBase) -> None:
    def call(hook: str) -> list[dict[str, Any]]:
        return Run(kb, [diplotype("g1", "CYP2C19", "*2", "*2")],
                   [order("o1", "clopidogrel"), order("o2", "citalopram")], hook=hook).cards  # fmt: skip

    first, again, other = call("hook-1"), call("hook-1"), call("hook-2")
    ids = uuids(first)
    assert len(ids) == len(set(ids)) >= 3  # two cards and the suggestions, all distinct
    assert uuids(again) == ids
    assert not set(uuids(other)) & set(ids)


def test_carbamazepine_hla_b_15_02_from_a_gl_string(kb: KnowledgeBase) -> None:
    run = Run(kb, [genotype("g1", "HLA-B", "HLA-B*15:02+HLA-B*07:02")],
              [order("o1", "carbamazepine")])  # fmt: skip
    (hla,) = run.genotypes.genes
    assert (hla.gene, hla.called, hla.phenotype) == ("HLA-B", True, "HLA-B*15:02 positive")
    card = run.card()
    assert card["indicator"] == "critical"
    assert card["summary"] == (
        "Carbamazepine · HLA-B*15:02 positive: If patient is carbamazepine-naïve, do not use "
        "carbamazepine."
    )
    assert card["overrideReasons"]


def test_tamoxifen_intermediate_metabolizer_is_not_more_severe_than_poor(
    kb: KnowledgeBase,
) -> None:
    rank = {"info": 1, "warning": 2, "critical": 3}
    im = Run(kb, [diplotype("g1", "CYP2D6", "*4", "*41")], [order("o1", "tamoxifen")]).card()
    pm = Run(kb, [diplotype("g1", "CYP2D6", "*4", "*4")], [order("o1", "tamoxifen")]).card()
    assert "Intermediate Metabolizer" in im["summary"]
    assert "Poor Metabolizer" in pm["summary"]
    assert rank[im["indicator"]] <= rank[pm["indicator"]]
    assert im["indicator"] != "critical"


def test_gene_phenotype(kb: KnowledgeBase) -> None:
    run = Run(kb, [diplotype("g1", "CYP2D6", "*1", "*1")], [order("o1", "codeine")],
              [order("m1", "paroxetine", status="active")])  # fmt: skip
    codeine = [r for r in run.result.recommendations or [] if r.drug == "codeine" and r.matched]
    assert {gene_phenotype(run.result, r, "CYP2D6") for r in codeine} == {
        "CYP2D6 Poor Metabolizer"}  # fmt: skip
    assert {gene_phenotype(run.result, r, "CYP2C19") for r in codeine} == {None}
    unmatched = Run(kb, [diplotype("g1", "CYP2D6", "*1", "*1")], [order("o1", "simvastatin")])
    simva = [r for r in unmatched.result.recommendations or [] if r.drug == "simvastatin"]
    assert simva
    assert {gene_phenotype(unmatched.result, r, "SLCO1B1") for r in simva} == {None}


# --------------------------------------------------------------------------------------------
# property: random genotypes and orders
# --------------------------------------------------------------------------------------------

DIPLOTYPES = [("CYP2C19", "*1", "*1"), ("CYP2C19", "*1", "*2"), ("CYP2C19", "*2", "*2"),
              ("CYP2C19", "*17", "*17"), ("CYP2D6", "*1", "*1"), ("CYP2D6", "*4", "*4"),
              ("CYP2D6", "*1", "*1x2"), ("SLCO1B1", "*1", "*1"), ("SLCO1B1", "*5", "*5"),
              ("CYP2C9", "*1", "*3")]  # fmt: skip
DRUGS = ["clopidogrel", "codeine", "simvastatin", "citalopram", "celecoxib", "ondansetron",
         "amoxicillin"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    calls=st.lists(st.sampled_from(DIPLOTYPES), min_size=1, max_size=4, unique_by=lambda d: d[0]),
    drugs=st.lists(st.sampled_from(DRUGS), min_size=1, max_size=8),
)
def test_any_genotypes_and_orders_give_valid_cards(
    kb: KnowledgeBase, calls: list[tuple[str, str, str]], drugs: list[str]
) -> None:
    observations = [diplotype(f"g{i}", *c) for i, c in enumerate(calls)]
    drafts = [order(f"o{i}", d) for i, d in enumerate(drugs)]
    run = Run(kb, observations, drafts)  # validates every response
    leads = [c["summary"].split(" ·")[0].split(":")[0] for c in run.cards]
    assert sorted(leads) == sorted(set(leads))  # at most one card per drug
    assert set(leads) <= {d.capitalize() for d in drugs} - {"Amoxicillin"}
    for c in run.cards:
        assert c["indicator"] in INDICATORS
        if c["indicator"] == "critical":
            assert c["overrideReasons"]
            assert all(o["display"] for o in c["overrideReasons"])
        if "suggestions" in c:
            assert c["selectionBehavior"] == "at-most-one"
            assert all(len(s["actions"]) == 2 for s in c["suggestions"])
    on_file = {c[0] for c in calls}
    for c in run.cards:
        if "result on file" in c["summary"]:
            assert c["indicator"] == "info"
            gene = c["summary"].split("no ")[1].split(" result")[0]
            assert gene not in on_file


# --------------------------------------------------------------------------------------------
# patient-view summary
# --------------------------------------------------------------------------------------------


def test_summary_card_names_non_reference_phenotypes_only(kb: KnowledgeBase) -> None:
    result = genotypes(kb, diplotype("g1", "CYP2C19", "*2", "*2"),
                       diplotype("g2", "CYP2D6", "*1", "*1"))  # fmt: skip
    card = summary_card(CardInputs(kb, "hook-1", "p1", ORIGIN), result)
    assert card is not None
    assert_valid([card])
    assert card["indicator"] == "info"
    assert "CYP2C19 Poor Metabolizer" in card["summary"]
    assert "CYP2D6" not in card["summary"]
    assert "**CYP2D6** *1/*1 (Normal Metabolizer)" in card["detail"]  # listed in the detail


def test_summary_card_with_only_reference_phenotypes(kb: KnowledgeBase) -> None:
    result = genotypes(kb, diplotype("g2", "CYP2D6", "*1", "*1"))
    card = summary_card(CardInputs(kb, "hook-1", "p1", ORIGIN), result)
    assert card is not None
    assert card["summary"] == "Pharmacogenomic results on file (no non-reference phenotype)"


def test_summary_card_without_called_genes_is_none(kb: KnowledgeBase) -> None:
    empty = SampleResult(input="no results on file", sample="p1")
    assert summary_card(CardInputs(kb, "hook-1", "p1", ORIGIN), empty) is None


# --------------------------------------------------------------------------------------------
# fhir_genotypes
# --------------------------------------------------------------------------------------------


def test_observations_about_two_patients_are_refused(kb: KnowledgeBase) -> None:
    bundle = searchset(diplotype("g1", "CYP2C19", "*2", "*2", patient="p1"),
                       diplotype("g2", "CYP2D6", "*1", "*1", patient="p2"))  # fmt: skip
    with pytest.raises(FhirValidationError, match="p2"):
        fhir_genotypes(kb, [(bundle, "prefetch.genotypes")], "p1")


@pytest.mark.parametrize(
    "value",
    [searchset(), searchset({"resourceType": "Patient", "id": "p1"}), []],
    ids=["empty-bundle", "no-observation", "empty-list"],
)
def test_no_genotype_observations_give_no_result(kb: KnowledgeBase, value: Any) -> None:
    assert fhir_genotypes(kb, [(value, "prefetch.genotypes")], "p1").result is None


def test_fhir_genotypes_result_is_about_the_patient(kb: KnowledgeBase) -> None:
    result = genotypes(kb, diplotype("g1", "CYP2C19", "*1", "*17"))
    assert result.sample == "p1"
    (call,) = result.genes
    assert (call.gene, call.diplotypes, call.phenotype) == (
        "CYP2C19", ["*1/*17"], "Rapid Metabolizer")  # fmt: skip


# --------------------------------------------------------------------------------------------
# named_alternatives
# --------------------------------------------------------------------------------------------


def test_named_alternatives_of_clopidogrel(kb: KnowledgeBase) -> None:
    text = "Use prasugrel or ticagrelor at standard dose if no contraindication."
    assert named_alternatives(kb, "clopidogrel", [text]) == ["prasugrel", "ticagrelor"]


def test_named_alternatives_keep_the_group_and_first_mention_order(kb: KnowledgeBase) -> None:
    texts = ["Amiodarone, verapamil and diltiazem raise levels.", "Fluvastatin or ROSUVASTATIN",
             "rosuvastatin again; simvastatin itself"]  # fmt: skip
    assert named_alternatives(kb, "simvastatin", texts) == ["fluvastatin", "rosuvastatin"]


def test_drug_without_a_therapeutic_group_has_no_alternatives(kb: KnowledgeBase) -> None:
    assert named_alternatives(kb, "carbamazepine", ["Use oxcarbazepine or lamotrigine."]) == []
    assert named_alternatives(kb, "amoxicillin", ["Use prasugrel or ticagrelor."]) == []
