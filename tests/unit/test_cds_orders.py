"""Reading medication orders from CDS Hooks requests (io/cds_orders.py, issue 18).

Input shapes follow the CDS Hooks 2.0 specification (``context.draftOrders`` is a Bundle,
prefetch may be a searchset Bundle, a list or one resource) and the older medication-prescribe
hook (DSTU2 ``MedicationOrder``, ``context.medications``). RxNorm system URIs: the FHIR one
(terminology.hl7.org/CodeSystem-v3-rxnorm) and the HL7 OID 2.16.840.1.113883.6.88."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.io.cds_orders import (
    CURRENT_TYPES,
    INACTIVE,
    ORDER_TYPES,
    OrderedMedication,
    concept_drug,
    current_medications,
    draft_orders,
    read_orders,
    selected,
)
from tests.service.cds_fixtures import order, searchset

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
RXNORM_OID = "urn:oid:2.16.840.1.113883.6.88"
SNOMED = "http://snomed.info/sct"


def names(value: Any, where: str = "context.draftOrders") -> list[str]:
    return [m.name for m in read_orders(value, where).medications]


def medication(code: str, display: str, mid: str = "med-1") -> dict[str, Any]:
    return {"resourceType": "Medication", "id": mid,
            "code": {"coding": [{"system": RXNORM, "code": code, "display": display}]}}  # fmt: skip


def by_reference(ref: str, rid: str = "o1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft",
            "medicationReference": {"reference": ref}, **extra}  # fmt: skip


# --------------------------------------------------------------------------------------------
# input shapes
# --------------------------------------------------------------------------------------------


def test_bundle_of_orders_is_read_in_order_with_every_field() -> None:
    got = read_orders(
        searchset(order("o1", "clopidogrel 75 MG Oral Tablet", "309362"), order("o2", "codeine")),
        "context.draftOrders",
    )
    assert got.notes == []
    assert got.medications == [
        OrderedMedication(reference="MedicationRequest/o1", resource_type="MedicationRequest",
                          name="clopidogrel 75 MG Oral Tablet", rxnorm="309362",
                          status="draft", subject="Patient/p1"),
        OrderedMedication(reference="MedicationRequest/o2", resource_type="MedicationRequest",
                          name="codeine", rxnorm=None, status="draft", subject="Patient/p1"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([order("o1", "codeine"), order("o2", "simvastatin")], id="list"),
        pytest.param(
            [searchset(order("o1", "codeine")), order("o2", "simvastatin")],
            id="list-of-bundle-and-resource",
        ),
        pytest.param(
            [{"resource": order("o1", "codeine")}, {"resource": order("o2", "simvastatin")}],
            id="bare-entries",
        ),
    ],
)
def test_lists_bare_entries_and_nested_bundles(value: Any) -> None:
    got = read_orders(value, "prefetch.medications")
    assert [(m.reference, m.name) for m in got.medications] == [
        ("MedicationRequest/o1", "codeine"),
        ("MedicationRequest/o2", "simvastatin"),
    ]


def test_single_resource_and_single_bare_entry() -> None:
    assert names(order("o1", "codeine")) == ["codeine"]
    assert names({"resource": order("o1", "codeine")}) == ["codeine"]


def test_dstu2_medication_order_is_an_order() -> None:
    old = {"resourceType": "MedicationOrder", "id": "mo-1", "status": "draft",
           "patient": {"reference": "Patient/p9"},
           "medicationCodeableConcept": {"coding": [
               {"system": RXNORM, "code": "2670", "display": "Codeine"}]}}  # fmt: skip
    (m,) = read_orders(searchset(old), "context.medications").medications
    assert (m.reference, m.resource_type, m.name, m.rxnorm, m.subject) == (
        "MedicationOrder/mo-1", "MedicationOrder", "Codeine", "2670", "Patient/p9"
    )  # fmt: skip


def test_status_is_lowercased_and_resource_without_id_has_no_reference() -> None:
    res = {"resourceType": "MedicationRequest", "status": " Active ",
           "medicationCodeableConcept": {"text": "codeine"}}  # fmt: skip
    (m,) = read_orders(res, "w").medications
    assert m.status == "active"
    assert m.reference is None


def test_medication_statement_only_when_asked_for() -> None:
    statement = {"resourceType": "MedicationStatement", "id": "s1", "status": "active",
                 "medicationCodeableConcept": {"text": "paroxetine"}}  # fmt: skip
    assert read_orders(statement, "w").medications == []
    assert read_orders(statement, "w", CURRENT_TYPES).medications[0].name == "paroxetine"
    assert "MedicationStatement" not in ORDER_TYPES


def test_draft_orders_reads_draft_orders_and_the_old_medications_context() -> None:
    context = {
        "patientId": "p1",
        "draftOrders": searchset(order("o1", "clopidogrel")),
        "medications": searchset({"resourceType": "MedicationOrder", "id": "o2",
                                  "medicationCodeableConcept": {"text": "codeine"}},
                                 {"resourceType": "MedicationRequest", "id": "o3"}),
    }  # fmt: skip
    got = draft_orders(context)
    assert [m.reference for m in got.medications] == ["MedicationRequest/o1", "MedicationOrder/o2"]
    assert got.notes == [
        "context.medications MedicationRequest/o3: it names no medication; skipped"
    ]
    assert draft_orders({"patientId": "p1"}).medications == []


# --------------------------------------------------------------------------------------------
# which drug: codings and medicationReference
# --------------------------------------------------------------------------------------------


def test_rxnorm_coding_is_preferred_over_other_codings_and_text() -> None:
    concept = {"text": "Plavix tablets", "coding": [
        {"system": SNOMED, "code": "108979001", "display": "Clopidogrel (substance)"},
        {"system": RXNORM, "code": "309362", "display": "clopidogrel 75 MG Oral Tablet"}]}  # fmt: skip
    assert concept_drug(concept) == ("clopidogrel 75 MG Oral Tablet", "309362")


def test_rxnorm_oid_system_is_rxnorm() -> None:
    concept = {"coding": [{"system": SNOMED, "code": "1", "display": "other"},
                          {"system": RXNORM_OID, "code": "2670", "display": "codeine"}]}  # fmt: skip
    assert concept_drug(concept) == ("codeine", "2670")


def test_concept_fallbacks() -> None:
    # a non-RxNorm coding gives a name but no RxNorm code
    assert concept_drug({"coding": [{"system": SNOMED, "code": "1", "display": "codeine"}]}) == (
        "codeine", None)  # fmt: skip
    # an RxNorm coding without a display: the text names it
    assert concept_drug({"text": "codeine", "coding": [{"system": RXNORM, "code": "2670"}]}) == (
        "codeine", "2670")  # fmt: skip
    # blank strings count as absent
    assert concept_drug({"text": "  ", "coding": [{"system": RXNORM, "code": " ", "display": ""}]}) == (
        None, None)  # fmt: skip
    assert concept_drug(5) == (None, None)
    assert concept_drug({"coding": ["x", None, 3]}) == (None, None)


def test_code_only_order_is_named_by_its_code() -> None:
    res = {"resourceType": "MedicationRequest", "id": "o1",
           "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "2670"}]}}  # fmt: skip
    (m,) = read_orders(res, "w").medications
    assert (m.name, m.rxnorm) == ("2670", "2670")


def test_reference_to_contained_medication() -> None:
    res = by_reference("#m1", contained=[{"resourceType": "Medication", "id": "other",
                                          "code": {"text": "aspirin"}},
                                         {**medication("2670", "codeine"), "id": "m1"}])  # fmt: skip
    (m,) = read_orders(searchset(res), "w").medications
    assert (m.name, m.rxnorm) == ("codeine", "2670")


def test_reference_to_another_bundle_entry_by_type_and_id() -> None:
    bundle = searchset(by_reference("Medication/med-1"), medication("32968", "clopidogrel"))
    got = read_orders(bundle, "context.draftOrders")
    assert [(m.reference, m.name, m.rxnorm) for m in got.medications] == [
        ("MedicationRequest/o1", "clopidogrel", "32968")
    ]
    assert got.notes == []  # the Medication entry itself is not an order, and no note about it


def test_reference_to_another_bundle_entry_by_full_url() -> None:
    url = "urn:uuid:0b6f3b9c-7d5e-4b52-9d6a-6a1f1c1b2a11"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1b6f3b9c-7d5e-4b52-9d6a-6a1f1c1b2a11", "resource": by_reference(url)},
        {"fullUrl": url, "resource": {"resourceType": "Medication",
                                      "code": {"text": "simvastatin"}}}]}  # fmt: skip
    assert names(bundle) == ["simvastatin"]


def test_unresolved_reference_falls_back_to_its_display() -> None:
    res = by_reference("Medication/elsewhere")
    res["medicationReference"]["display"] = "warfarin 5 MG Oral Tablet"
    (m,) = read_orders(res, "w").medications
    assert (m.name, m.rxnorm) == ("warfarin 5 MG Oral Tablet", None)
    # a resolved reference wins over its display
    bundle = searchset({**res, "medicationReference": {"reference": "Medication/med-1",
                                                       "display": "warfarin"}},
                       medication("2670", "codeine"))  # fmt: skip
    assert names(bundle) == ["codeine"]


def test_contained_reference_does_not_reach_into_the_bundle() -> None:
    # "#med-1" names a contained resource only, never a Bundle entry with that id
    bundle = searchset(by_reference("#med-1"), medication("2670", "codeine"))
    got = read_orders(bundle, "context.draftOrders")
    assert got.medications == []
    assert got.notes == [
        "context.draftOrders MedicationRequest/o1: its medicationReference could not be "
        "resolved; skipped"
    ]


# --------------------------------------------------------------------------------------------
# what is skipped, and the notes
# --------------------------------------------------------------------------------------------


def test_other_resource_types_are_skipped_silently() -> None:
    service = {
        "resourceType": "ServiceRequest",
        "id": "s1",
        "status": "draft",
        "code": {"text": "CYP2C19 genotyping"},
    }
    nutrition = {"resourceType": "NutritionOrder", "id": "n1", "status": "draft"}  # fmt: skip
    got = read_orders(searchset(service, order("o1", "codeine"), nutrition), "context.draftOrders")
    assert [m.name for m in got.medications] == ["codeine"]
    assert got.notes == []


def test_orders_without_a_medication_are_skipped_with_a_note() -> None:
    bundle = searchset(
        {"resourceType": "MedicationRequest", "id": "a", "medicationCodeableConcept": 5},
        {"resourceType": "MedicationRequest", "id": "b"},
        {"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/x"}},
        {"resourceType": "MedicationRequest", "id": "d", "medicationReference": "Medication/x"},
        order("e", "codeine"),
    )
    got = read_orders(bundle, "context.draftOrders")
    assert [m.reference for m in got.medications] == ["MedicationRequest/e"]
    assert got.notes == [
        "context.draftOrders MedicationRequest/a: it names no medication; skipped",
        "context.draftOrders MedicationRequest/b: it names no medication; skipped",
        "context.draftOrders entry 2: its medicationReference could not be resolved; skipped",
        "context.draftOrders MedicationRequest/d: it names no medication; skipped",
    ]


def test_entries_that_are_not_resources_are_skipped_with_a_note() -> None:
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": "MedicationRequest/o1"}, {"resource": None}, {"fullUrl": "x"},
        {"resource": order("o2", "codeine")}]}  # fmt: skip
    got = read_orders(bundle, "context.draftOrders")
    assert [m.name for m in got.medications] == ["codeine"]
    assert got.notes == [
        f"context.draftOrders entry {n}: not a resource; skipped" for n in (0, 1, 2)
    ]


@pytest.mark.parametrize(
    "value",
    [None, 5, "MedicationRequest/o1", [], {}, [None, 3, "x", []], {"resourceType": "Bundle"},
     {"resourceType": "Bundle", "entry": {"resource": {}}}, {"resourceType": "Bundle", "entry": [5, "x"]},
     {"resourceType": "MedicationRequest", "id": "o1", "contained": {"id": "m"},
      "medicationReference": {"reference": "#m"}}],
)  # fmt: skip
def test_junk_gives_nothing_and_no_exception(value: Any) -> None:
    got = read_orders(value, "w")
    assert got.medications == []
    assert all(note.endswith("; skipped") for note in got.notes)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"resourceType": "MedicationRequest", "id": "o1",
                      "medicationCodeableConcept": {"coding": 5}}, id="coding-number"),
        pytest.param({"resourceType": "MedicationRequest", "id": "o1", "contained": 5,
                      "medicationReference": {"reference": "#m"}}, id="contained-number"),
        pytest.param({"resourceType": ["MedicationRequest"], "id": "o1"}, id="resourceType-array"),
        pytest.param({"resourceType": "MedicationRequest", "id": "o1",
                      "medicationCodeableConcept": {"coding": [{"system": [RXNORM]}]}},
                     id="coding-system-array"),
    ],
)  # fmt: skip
def test_malformed_fields_are_skipped_not_raised(value: Any) -> None:
    got = read_orders(value, "context.draftOrders")
    assert got.medications == []


# --------------------------------------------------------------------------------------------
# order-select selections
# --------------------------------------------------------------------------------------------


@pytest.fixture
def orders() -> list[OrderedMedication]:
    old = {
        "resourceType": "MedicationOrder",
        "id": "o3",
        "medicationCodeableConcept": {"text": "x"},
    }
    no_id = {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": "y"}}
    bundle = searchset(order("o1", "clopidogrel"), order("o2", "codeine"), old, no_id)
    return read_orders(bundle, "context.draftOrders").medications


def refs(meds: list[OrderedMedication]) -> list[str | None]:
    return [m.reference for m in meds]


def test_selections_pick_only_the_named_orders(orders: list[OrderedMedication]) -> None:
    assert refs(selected(orders, ["MedicationRequest/o2"])) == ["MedicationRequest/o2"]
    assert refs(selected(orders, [" MedicationRequest/o1 ", "MedicationRequest/o2"])) == [
        "MedicationRequest/o1", "MedicationRequest/o2"]  # fmt: skip
    assert selected(orders, ["MedicationRequest/nope"]) == []


@pytest.mark.parametrize("selections", [None, [], "MedicationRequest/o1", {"x": 1}])
def test_no_usable_selections_means_every_order(
    orders: list[OrderedMedication], selections: Any
) -> None:
    got = selected(orders, selections)
    assert got == orders
    assert got is not orders  # a copy: the caller may change it


def test_medication_order_matched_by_a_medication_request_selection(
    orders: list[OrderedMedication],
) -> None:
    assert refs(selected(orders, ["MedicationRequest/o3"])) == ["MedicationOrder/o3"]


@pytest.mark.parametrize("selections", [[5, None], ["  "]])
def test_selections_without_any_usable_string_mean_every_order(
    orders: list[OrderedMedication], selections: Any
) -> None:
    assert selected(orders, selections) == orders


def test_selection_of_another_resource_type_does_not_select_an_order(
    orders: list[OrderedMedication],
) -> None:
    assert selected(orders, ["ServiceRequest/o1"]) == []


# --------------------------------------------------------------------------------------------
# current medications
# --------------------------------------------------------------------------------------------

DROPPED = ["stopped", "cancelled", "completed", "entered-in-error", "on-hold"]


def test_current_medications_drop_what_the_patient_no_longer_takes() -> None:
    bundle = searchset(
        *(order(f"s-{s}", f"drug-{s}", status=s) for s in DROPPED),
        order("a", "paroxetine", status="active"),
        order("u", "fluoxetine", status="Stopped"),  # case does not matter
        {"resourceType": "MedicationStatement", "id": "ms", "status": "active",
         "medicationCodeableConcept": {"text": "bupropion"}},
        {"resourceType": "MedicationStatement", "id": "nt", "status": "not-taken",
         "medicationCodeableConcept": {"text": "quinidine"}},
        {"resourceType": "MedicationRequest", "id": "none",
         "medicationCodeableConcept": {"text": "terbinafine"}},
    )  # fmt: skip
    got = current_medications(bundle, "prefetch.medications")
    assert [m.name for m in got.medications] == ["paroxetine", "bupropion", "terbinafine"]
    assert got.medications[-1].status is None
    assert set(DROPPED) <= INACTIVE


# --------------------------------------------------------------------------------------------
# never raises (property)
# --------------------------------------------------------------------------------------------

KEYS = ["resourceType", "entry", "resource", "fullUrl", "id", "status", "subject", "patient",
        "medicationCodeableConcept", "medicationReference", "reference", "display", "coding",
        "system", "code", "text", "contained"]  # fmt: skip
WORDS = ["Bundle", "MedicationRequest", "MedicationOrder", "MedicationStatement", "Medication",
         "#m", "Medication/m", "m", RXNORM, RXNORM_OID, "stopped", "active", ""]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(WORDS)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)
codings = st.lists(
    st.fixed_dictionaries({}, optional={"system": st.sampled_from([RXNORM, RXNORM_OID, SNOMED])
                                        | json_values, "code": json_values,
                                        "display": json_values}),
    max_size=3,
)  # fmt: skip
concepts = json_values | st.fixed_dictionaries(
    {}, optional={"text": json_values, "coding": codings}
)
references = st.fixed_dictionaries(
    {}, optional={"reference": json_values | st.sampled_from(["#m", "Medication/m"]),
                  "display": json_values}
)  # fmt: skip
request_fields = {k: json_values for k in KEYS if k != "resourceType"}
request_fields["medicationCodeableConcept"] = concepts
request_fields["medicationReference"] = json_values | references
medication_requests = st.fixed_dictionaries(
    {"resourceType": st.just("MedicationRequest")}, optional=request_fields
)
values = (
    json_values
    | medication_requests
    | st.lists(medication_requests, max_size=3).map(
        lambda rs: {"resourceType": "Bundle", "entry": [{"resource": r} for r in rs]}
    )
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_read_orders_never_raises(value: Any) -> None:
    for types in (ORDER_TYPES, CURRENT_TYPES):
        got = read_orders(value, "w", types)
        for m in got.medications:
            assert m.resource_type in types
            assert isinstance(m.name, str)
            assert m.name
            assert m.name == m.name.strip()
            assert m.rxnorm is None or (m.rxnorm and m.rxnorm == m.rxnorm.strip())
            assert m.status is None or m.status == m.status.lower()
        assert all(isinstance(n, str) and n.startswith("w ") for n in got.notes)
    current = current_medications(value, "w")
    assert all(m.status not in INACTIVE for m in current.medications)
    assert isinstance(draft_orders({"draftOrders": value, "medications": value}).notes, list)
