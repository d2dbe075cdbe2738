"""HIPAA Safe Harbor de-identification (45 CFR 164.514(b)(2)): FHIR resources, free text, CLI.

Fixtures in tests/data/deid (README there): FHIR R4 4.0.1 examples and a Synthea subset.
"""

from __future__ import annotations

import copy
import json
import re
import stat
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.errors import InputError
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.security.crypto import pseudonym
from precisionrx.security.deid import (
    AGE_90_PLUS_URL,
    DeidReport,
    Placeholder,
    RecordTerm,
    clean_text,
    collect_record_terms,
    deidentify_ndjson,
    deidentify_resources,
    load_safe_harbor,
    read_ndjson,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "deid"
KEY = bytes(range(32))
REF = date(2026, 6, 1)
MASKED = {
    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
    "valueCode": "masked",
}
PSEUDO = re.compile(r"[a-z2-7]{32}")
RESTRICTED = [
    "036",
    "059",
    "063",
    "102",
    "203",
    "556",
    "692",
    "790",
    "821",
    "823",
    "830",
    "831",
    "878",
    "879",
    "884",
    "890",
    "893",
]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def deid(resource: dict[str, Any], **kw: Any) -> dict[str, Any]:
    (out,) = deidentify_resources([resource], key=KEY, reference_date=REF, **kw)
    return out


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def patient(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", **fields}


# --- the knowledge base -------------------------------------------------------------------------
def test_safe_harbor_table_comes_from_the_knowledge_base() -> None:
    table = load_safe_harbor(KnowledgeBase())
    assert [letter for letter, _ in table.identifiers] == [chr(c) for c in range(65, 83)]
    assert table.restricted_zip3 == frozenset(RESTRICTED)
    assert KnowledgeBase().info("privacy").license


# --- A names ------------------------------------------------------------------------------------
def test_names_are_removed_everywhere() -> None:
    out = dump(deid(load("Patient-example.json")))
    for name in ("Chalmers", "Peter", "James", "Jim", "Windsor", "Marché", "Bénédicte"):
        assert name not in out
    assert '"name"' not in out


def test_relatives_practitioners_and_reference_displays_lose_their_names() -> None:
    related = {
        "resourceType": "RelatedPerson",
        "id": "r",
        "name": [{"family": "Roe", "given": ["Ann"]}],
        "patient": {"reference": "Patient/p1", "display": "Jane Roe"},
    }
    practitioner = {
        "resourceType": "Practitioner",
        "id": "d",
        "name": [{"text": "Dr Who Smith"}],
        "qualification": [{"identifier": [{"value": "LIC-9"}], "code": {"text": "MD"}}],
    }
    history = load("FamilyMemberHistory-father.json")
    outs = dump(
        list(deidentify_resources([related, practitioner, history], key=KEY, reference_date=REF))
    )
    for value in ("Roe", "Ann", "Jane", "Smith", "LIC-9", "Peter Patient"):
        assert value not in outs
    assert "Heart Attack" in outs  # CodeableConcept.text kept, cleaned


def test_audit_event_agent_names_ips_and_alt_ids_go() -> None:
    for name in ("AuditEvent-example.json", "AuditEvent-example-disclosure.json"):
        res = load(name)
        out = dump(deid(res))
        for agent in res["agent"]:
            for value in (
                agent.get("name"),
                agent.get("altId"),
                agent.get("network", {}).get("address"),
            ):
                if value:
                    assert f'"{value}"' not in out, value


def test_mothers_maiden_name_extension_is_removed() -> None:
    res = patient(
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
                "valueString": "Harold594 VonRueden376",
            }
        ]
    )
    assert "VonRueden376" not in dump(deid(res))


# --- B geography --------------------------------------------------------------------------------
def test_address_keeps_state_country_and_zip3() -> None:
    res = patient(
        address=[
            {
                "use": "home",
                "line": ["77 Massachusetts Ave"],
                "city": "Cambridge",
                "district": "Middlesex",
                "state": "MA",
                "postalCode": "02139",
                "country": "US",
                "text": "77 Massachusetts Ave, Cambridge MA 02139",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                        "extension": [{"url": "latitude", "valueDecimal": 42.36}],
                    }
                ],
            }
        ]
    )
    out = deid(res)
    assert out["address"] == [{"use": "home", "state": "MA", "postalCode": "021", "country": "US"}]


@pytest.mark.parametrize("zip3", RESTRICTED)
def test_restricted_zip3_becomes_000(zip3: str) -> None:
    out = deid(patient(address=[{"postalCode": f"{zip3}42-1234", "state": "XX"}]))
    assert out["address"][0]["postalCode"] == "000"


def test_non_us_postal_codes_and_positions_are_removed() -> None:
    assert deid(load("Patient-example.json"))["address"] == [
        {"use": "home", "type": "both", "state": "Vic"}
    ]
    location = {
        "resourceType": "Location",
        "id": "l",
        "name": "PHILLIPS COUNTY HOSPITAL",
        "position": {"latitude": 39.7, "longitude": -99.3},
        "address": {"city": "Phillipsburg", "state": "KS"},
    }
    out = deid(location)
    assert "position" not in out and "name" not in out and out["address"] == {"state": "KS"}


# --- C dates and ages ---------------------------------------------------------------------------
def test_dates_become_years_and_instants_are_masked() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"text": "x"},
        "effectivePeriod": {"start": "2019-03-04T10:00:00Z", "end": "2019-03-05"},
        "issued": "2019-03-05T10:00:00.000Z",
        "meta": {"lastUpdated": "2019-03-05T10:00:00Z", "source": "#abc"},
        "note": [{"text": "Called back on 03/07/2019.", "time": "2019-03-07"}],
    }
    out = deid(obs)
    assert out["effectivePeriod"] == {"start": "2019", "end": "2019"}
    assert "issued" not in out and out["_issued"] == {"extension": [MASKED]}
    assert "lastUpdated" not in out["meta"] and "source" not in out["meta"]
    assert out["note"] == [{"text": "Called back on 2019.", "time": "2019"}]
    assert deid(load("Patient-example.json"))["birthDate"] == "1974"


def test_age_over_89_relative_to_the_reference_date() -> None:
    old = deid(patient(birthDate="1936-12-31"))  # 2026 - 1936 = 90: the year alone allows 90
    assert "birthDate" not in old and old["_birthDate"] == {"extension": [MASKED]}
    assert {"url": AGE_90_PLUS_URL, "valueString": "90+"} in old["extension"]
    young = deid(patient(birthDate="1937-01-01"))
    assert young["birthDate"] == "1937" and "extension" not in young
    later = deidentify_resources(
        [patient(birthDate="1936-12-31")], key=KEY, reference_date=date(2025, 12, 31)
    )
    assert next(later)["birthDate"] == "1936"


def test_dates_indicating_an_age_over_89_are_masked() -> None:
    cond = {
        "resourceType": "Condition",
        "id": "c",
        "onsetDateTime": "1930-05-01",
        "recordedDate": "1990-01-01",
        "subject": {"reference": "Patient/p1"},
    }
    out = deid(cond)
    assert "onsetDateTime" not in out and out["_onsetDateTime"] == {"extension": [MASKED]}
    assert out["recordedDate"] == "1990"


def test_ages_over_89_become_90_or_more() -> None:
    history = copy.deepcopy(load("FamilyMemberHistory-father.json"))
    history["condition"][0]["onsetAge"]["value"] = 93
    history["ageAge"] = {
        "value": 1200,
        "unit": "months",
        "code": "mo",
        "system": "http://unitsofmeasure.org",
    }
    out = deid(history)
    assert out["condition"][0]["onsetAge"] == {
        "value": 90,
        "comparator": ">=",
        "unit": "yr",
        "system": "http://unitsofmeasure.org",
        "code": "a",
    }
    assert out["ageAge"]["value"] == 90 and out["ageAge"]["code"] == "a"
    assert deid(load("FamilyMemberHistory-father.json"))["condition"][0]["onsetAge"]["value"] == 74
    ranged = deid(
        {
            "resourceType": "FamilyMemberHistory",
            "id": "f",
            "ageRange": {"low": {"value": 92, "unit": "a"}, "high": {"value": 96, "unit": "a"}},
        }
    )
    assert ranged["ageRange"] == {
        "low": {"value": 90, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}
    }


# --- D-F telecom, G-M identifiers, N URLs, O IPs, P-Q photos and content --------------------------
def test_telecom_identifiers_devices_and_coverage_numbers_are_removed() -> None:
    out = dump(deid(load("Patient-example.json")))
    assert (
        "telecom" not in out
        and "5555 6473" not in out
        and "identifier" not in out
        and "12345" not in out
    )
    device = {
        "resourceType": "Device",
        "id": "d",
        "serialNumber": "SN-9981",
        "lotNumber": "L77",
        "udiCarrier": [{"deviceIdentifier": "00844588003288", "carrierHRF": "(01)00844588003288"}],
        "distinctIdentifier": "X1",
        "manufactureDate": "2015-02-03",
    }
    dev = deid(device)
    assert (
        set(dev) == {"resourceType", "id", "meta", "manufactureDate"}
        and dev["manufactureDate"] == "2015"
    )
    coverage = {
        "resourceType": "Coverage",
        "id": "c",
        "status": "active",
        "subscriberId": "AB123",
        "dependent": "01",
        "class": [{"type": {"text": "group"}, "value": "GRP-555"}],
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"reference": "Organization/o"}],
    }
    assert not {"AB123", "GRP-555", '"01"'} & {
        v for v in ("AB123", "GRP-555", '"01"') if v in dump(deid(coverage))
    }


def test_urls_photos_attachments_and_narrative_are_removed() -> None:
    res = patient(
        photo=[{"contentType": "image/jpeg", "data": "/9j/4AAQ"}],
        telecom=[{"system": "url", "value": "https://jane.example.org"}],
        text={"status": "generated", "div": "<div>Jane Roe</div>"},
        extension=[{"url": "http://example.org/ext", "valueUrl": "https://jane.example.org/cv"}],
    )
    out = dump(deid(res))
    for value in ("photo", "/9j/4AAQ", "jane.example.org", "div", "Jane Roe"):
        assert value not in out
    doc = {
        "resourceType": "DocumentReference",
        "id": "d",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": "https://h.org/x.pdf",
                    "title": "Letter to Jane Roe, 12 Main Street",
                    "data": "JVBERi0=",
                    "hash": "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
                    "size": 1024,
                }
            }
        ],
    }
    att = deid(doc)["content"][0]["attachment"]
    assert att == {
        "contentType": "application/pdf",
        "title": "Letter to Jane Roe, [ADDRESS]",
        "size": 1024,
    }
    assert (
        deid(doc, record_terms=["Jane Roe"])["content"][0]["attachment"]["title"]
        == "Letter to [NAME], [ADDRESS]"
    )


def test_extension_and_canonical_urls_are_kept() -> None:
    out = deid(load("Observation-example-genetics-1.json"))
    urls = [e["url"] for e in out["extension"]]
    assert urls[0] == "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene"
    assert out["code"]["coding"][0]["system"] == "http://loinc.org"


# --- R pseudonyms -------------------------------------------------------------------------------
def test_pseudonyms_are_keyed_consistent_and_linked() -> None:
    resources = [
        load("Patient-example.json"),
        load("FamilyMemberHistory-father.json"),
        load("Observation-example-genetics-1.json"),
    ]
    out = list(deidentify_resources(resources, key=KEY, reference_date=REF))
    pid = pseudonym(KEY, "Patient", "example")
    assert out[0]["id"] == pid and PSEUDO.fullmatch(pid)
    assert out[1]["patient"] == {"reference": f"Patient/{pid}"}
    assert out[2]["subject"] == {"reference": f"Patient/{pid}"}  # the Patient display is gone
    again = list(deidentify_resources(resources, key=KEY, reference_date=REF))
    assert again == out
    other = list(deidentify_resources(resources, key=bytes(32), reference_date=REF))
    assert other[0]["id"] != pid


def test_reference_forms() -> None:
    res = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "https://ehr.example.org/fhir/Patient/p1/_history/3"},
        "requester": {
            "reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999974394",
            "display": "Dr. Olevia458 Hermiston71",
        },
        "encounter": {"reference": "urn:uuid:f6003197-6507-1168-87be-ceccd5517094"},
        "recorder": {"reference": "urn:oid:1.2.3.4"},
        "performer": {"identifier": {"value": "NPI-77"}},
        "reasonReference": [
            {"reference": "Condition/c9", "display": "Essential hypertension (disorder)"}
        ],
    }
    out = deid(res)
    assert out["subject"] == {"reference": f"Patient/{pseudonym(KEY, 'Patient', 'p1')}"}
    query = "?identifier=http://hl7.org/fhir/sid/us-npi|9999974394"
    assert out["requester"] == {
        "reference": f"Practitioner/{pseudonym(KEY, 'Practitioner', query)}"
    }
    value = out["encounter"]["reference"]
    assert value.startswith("urn:uuid:") and uuid.UUID(value[9:]).version == 4
    assert value != "urn:uuid:f6003197-6507-1168-87be-ceccd5517094"
    assert out["recorder"] == {"extension": [MASKED]} and out["performer"] == {
        "extension": [MASKED]
    }
    assert out["reasonReference"][0]["display"] == "Essential hypertension (disorder)"


def test_bundle_fullurls_and_contained_resources() -> None:
    bundle = {
        "resourceType": "Bundle",
        "id": "b",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0f9a0000-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "id": "0f9a", "name": [{"family": "Roe"}]},
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=123"},
            },
            {
                "fullUrl": "https://ehr.example.org/fhir/Observation/o1",
                "resource": {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": "urn:uuid:0f9a0000-0000-4000-8000-000000000001"},
                },
                "request": {"method": "PUT", "url": "Observation/o1"},
            },
        ],
    }
    out = deid(bundle)
    first, second = out["entry"]
    assert first["fullUrl"] == second["resource"]["subject"]["reference"]
    assert first["request"] == {"method": "POST", "url": "Patient"}
    opid = pseudonym(KEY, "Observation", "o1")
    assert second["fullUrl"] == f"https://deid.invalid/fhir/Observation/{opid}"
    assert second["request"]["url"] == f"Observation/{opid}" and second["resource"]["id"] == opid
    assert "Roe" not in dump(out)
    med = deid(load("MedicationRequest-medrx0301.json"))
    assert [c["id"] for c in med["contained"]] == ["med0310", "signature"]
    assert med["medicationReference"] == {"reference": "#med0310"}


def test_security_labels() -> None:
    out = deid(load("Patient-example.json"))
    assert {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "PSEUDED",
        "display": "pseudonymized",
    } in out["meta"]["security"]
    codes = [
        s["code"] for s in deid(load("Observation-example-genetics-1.json"))["meta"]["security"]
    ]
    assert codes == ["PSEUDED", "GDIS"]


# --- genotype data ------------------------------------------------------------------------------
def test_raw_genotype_resources_are_dropped() -> None:
    seq = {
        "resourceType": "MolecularSequence",
        "id": "s",
        "type": "dna",
        "coordinateSystem": 0,
        "observedSeq": "ACGT",
    }
    vcf = {
        "resourceType": "Observation",
        "id": "v",
        "status": "final",
        "code": {"text": "genome"},
        "valueAttachment": {"contentType": "text/vcf", "data": "IyNmaWxl"},
    }
    doc = {
        "resourceType": "DocumentReference",
        "id": "d",
        "status": "current",
        "content": [{"attachment": {"url": "file:///data/sample1.g.vcf.gz", "title": "calls"}}],
    }
    kept = load("Observation-example-genetics-1.json")
    bundle = {
        "resourceType": "Bundle",
        "id": "b",
        "type": "collection",
        "entry": [{"resource": copy.deepcopy(vcf)}, {"resource": copy.deepcopy(kept)}],
    }
    report = DeidReport()
    out = list(
        deidentify_resources(
            [seq, vcf, doc, kept, bundle], key=KEY, reference_date=REF, report=report
        )
    )
    assert [r["resourceType"] for r in out] == ["Observation", "Bundle"]
    assert len(out[1]["entry"]) == 1
    assert report.resources_in == 5 and report.resources_out == 2
    assert [d.resource_type for d in report.dropped] == [
        "MolecularSequence",
        "Observation",
        "DocumentReference",
        "Observation",
    ]


# --- lenient parsing ----------------------------------------------------------------------------
def test_odd_shapes_never_crash() -> None:
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(300):
        node["extension"] = [{"url": "u", "valueString": "x"}]
        node = node["extension"][0]
        node["child"] = {}
        node = node["child"]
    odd = patient(
        id=42,
        name="Jane Roe",
        address="1 Main St",
        telecom="555-1234",
        birthDate=19361231,
        photo={"url": "x"},
        contact=[None, 3, {"name": {"family": 7}}],
        text="Jane",
        deep=nested,
    )
    out = deid(odd)
    assert "id" not in out and "Jane" not in dump(out) and "555-1234" not in dump(out)


def test_not_a_resource_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not a FHIR resource"):
        list(deidentify_resources([{"id": "x"}], key=KEY, reference_date=REF))


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["2019-03-04", "1920", "Patient/1", "urn:uuid:1"]),
)
json_value = st.recursive(
    json_leaf,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "address",
                    "telecom",
                    "identifier",
                    "text",
                    "reference",
                    "extension",
                    "url",
                    "birthDate",
                    "valueAge",
                    "entry",
                    "resource",
                    "contained",
                    "period",
                    "value",
                    "code",
                    "display",
                    "_birthDate",
                    "data",
                    "contentType",
                    "onsetRange",
                    "low",
                    "high",
                    "meta",
                ]
            )
            | st.text(max_size=8),
            kids,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.text(max_size=10), json_value, max_size=6),
    st.sampled_from(["Patient", "Observation", "Bundle", "Organization"]),
)
def test_any_resource_shape_is_processed(fields: dict[str, Any], rtype: str) -> None:
    res = {**fields, "resourceType": rtype}
    report = DeidReport()
    out = list(deidentify_resources([res], key=KEY, reference_date=REF, report=report))
    assert report.resources_in == 1
    json.dumps(out)


# --- NDJSON -------------------------------------------------------------------------------------
def test_ndjson_errors_name_the_line() -> None:
    good = json.dumps(patient())
    for bad, problem in (
        ("not json", "not JSON"),
        ("[1, 2]", "not a FHIR resource"),
        ('{"a": 1}', "not a FHIR resource"),
        ('{"resourceType": "Patient", "x": NaN}', "not JSON"),
    ):
        with pytest.raises(InputError) as err:
            list(
                deidentify_ndjson([good, "", bad], key=KEY, reference_date=REF, source="in.ndjson")
            )
        assert (
            err.value.path == "in.ndjson"
            and err.value.record == "line 3"
            and problem in err.value.message
        )


def test_synthea_subset_leaves_no_identifier() -> None:
    lines = (DATA / "synthea_subset.ndjson").read_text().splitlines()
    resources = list(read_ndjson(lines))
    terms = collect_record_terms(resources)
    report = DeidReport()
    out = "".join(
        deidentify_ndjson(lines, key=KEY, reference_date=REF, record_terms=terms, report=report)
    )
    assert report.resources_in == report.resources_out == len(lines) == 210
    values: set[str] = set()
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    for p in patients:
        values |= {
            p["id"],
            p["birthDate"],
            *(t["value"] for t in p["telecom"]),
            *(i["value"] for i in p["identifier"]),
        }
        for n in p["name"]:
            values |= {n["family"], *n["given"]}
        for a in p["address"]:
            values |= {*a["line"], a["city"], a["postalCode"]}
        for e in p["extension"]:
            if e["url"].endswith("mothersMaidenName"):
                values |= set(e["valueString"].split())
    for r in resources:
        values.add(r["id"])
        for key in ("onsetDateTime", "authoredOn", "occurrenceDateTime", "recordedDate"):
            if isinstance(r.get(key), str) and len(r[key]) > 4:
                values.add(r[key][:10])
        display = r.get("requester", {}).get("display")
        if display:
            values |= set(display.split()[1:])  # "Dr. Olevia458 Hermiston71"
    leaked = sorted(v for v in values if v and v in out)
    assert not leaked
    docs = [json.loads(line) for line in out.splitlines()]
    old = [d for d in docs if d["resourceType"] == "Patient" and "birthDate" not in d]
    assert len(old) == 3 and all(
        {"url": AGE_90_PLUS_URL, "valueString": "90+"} in d["extension"] for d in old
    )
    assert all(re.fullmatch(r"\d{3}", a["postalCode"]) for d in docs for a in d.get("address", []))


def test_valid_r4_stays_valid(fhir_resources: Any) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    for name in (
        "Patient-example.json",
        "FamilyMemberHistory-father.json",
        "Observation-example-genetics-1.json",
        "Bundle-bundle-example.json",
        "Provenance-signature.json",
        "MedicationRequest-medrx0301.json",
        "AuditEvent-example.json",
        "Patient-genetics-example1.json",
    ):
        out = deid(load(name))
        get_fhir_model_class(out["resourceType"]).model_validate(out)
    old = deid(patient(birthDate="1920-01-01"))
    get_fhir_model_class("Patient").model_validate(old)


# --- free text ----------------------------------------------------------------------------------
GENOMIC = [
    "CYP2C19*2/*2",
    "HLA-B*15:02",
    "HLA-B*57:01:01",
    "rs4244285",
    "NM_000106.6:c.1846G>A",
    "p.Val600Glu",
    "c.35delG",
    "CYP2D6*1x2",
    "clopidogrel 75 mg daily",
    "0.5 mg/kg",
    "BRAF V600E",
    "UGT1A1*28/*28",
    "CYP2D6*36+*10",
    "NC_000007.14:g.140453136A>T",
    "TPMT*3A",
    "DPYD c.1905+1G>A",
]


def test_clean_text_removes_record_names_and_patterns_but_keeps_genomics() -> None:
    text = (
        "Jane Roe (MRN: 12345, tel 617-555-0199, jane.roe@example.org, SSN 999-94-5397) seen "
        "2019-03-04 by Dr. Smith at 77 Massachusetts Ave, Cambridge, MA 02139: CYP2C19*2/*2, "
        "NM_000106.6:c.1846G>A (rs4244285), HLA-B*15:02 negative, p.Val600Glu; clopidogrel 75 mg daily. "
        "Roe's daughter Ann called on March 4, 2021 from 192.168.0.12; see https://portal.example.org/jroe."
    )
    out = clean_text(
        text, record_terms=["Jane Roe", RecordTerm("Ann"), RecordTerm("12345", Placeholder.MRN)]
    )
    for gone in (
        "Jane",
        "Roe",
        "Ann",
        "12345",
        "617-555-0199",
        "jane.roe",
        "999-94-5397",
        "03-04",
        "Smith",
        "Massachusetts",
        "Cambridge",
        "02139",
        "March 4",
        "192.168",
        "portal.example",
    ):
        assert gone not in out, gone
    for kept in (
        "CYP2C19*2/*2",
        "NM_000106.6:c.1846G>A",
        "rs4244285",
        "HLA-B*15:02",
        "p.Val600Glu",
        "clopidogrel 75 mg daily",
        "2019",
        "2021",
        ", MA ",
    ):
        assert kept in out, kept
    assert "[NAME]'s daughter [NAME]" in out


def test_clean_text_doc_examples() -> None:
    assert (
        clean_text(
            "Jane Roe (MRN: 12345, tel 617-555-0199) on clopidogrel 75 mg: CYP2C19*2/*2",
            record_terms=["Jane Roe"],
        )
        == "[NAME] (MRN: [MRN], tel [PHONE]) on clopidogrel 75 mg: CYP2C19*2/*2"
    )
    assert clean_text(
        "DOB 03/04/1930, born in 1930, 93-year-old, aged 95, 4 March", reference_date=REF
    ) == ("DOB [DATE], born in [DATE], 90+-year-old, aged 90+, [DATE]")
    assert clean_text("born in 1930") == "born in 1930"  # without a reference date the year stays
    assert clean_text(
        "Serial no. AB12345, licence plate 7XYZ123, account # 88812, member ID W12345"
    ) == (
        "Serial no. [DEVICE], licence plate [VEHICLE], account # [ACCOUNT], member ID [HEALTH_PLAN]"
    )
    assert clean_text("HbA1c 7.2 %, LDL 3.4 mmol/L, eGFR 45 mL/min/1.73m2, platelets 250000") == (
        "HbA1c 7.2 %, LDL 3.4 mmol/L, eGFR 45 mL/min/1.73m2, platelets 250000"
    )


def test_record_terms_are_whole_words_and_case_insensitive() -> None:
    assert clean_text("KIM kim Kimberly", record_terms=["Kim"]) == "[NAME] [NAME] Kimberly"
    assert clean_text("Val p.Val600Glu", record_terms=["Val"]) == "[NAME] p.Val600Glu"


@pytest.mark.parametrize("token", GENOMIC)
def test_genomic_tokens_survive_verbatim(token: str) -> None:
    assert clean_text(f"Result: {token}; call 555-810-7203 on 2020-01-05.") == (
        f"Result: {token}; call [PHONE] on 2020."
    )


noise = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
emails = st.from_regex(
    r"[a-z][a-z0-9]{0,8}(\.[a-z0-9]{1,6})?@[a-z]{2,8}\.(com|org|net|co\.uk)", fullmatch=True
)
digits3 = st.integers(200, 999).map(str)
phones = st.builds(
    lambda fmt, a, b, c: fmt.format(a, b, c),
    st.sampled_from(["{}-{}-{}", "({}) {}-{}", "+1 {} {} {}", "{}.{}.{}", "+44 {} {}{}"]),
    digits3,
    digits3,
    st.integers(1000, 9999).map(str),
)


@settings(max_examples=300, deadline=None)
@given(noise)
def test_clean_text_never_crashes(text: str) -> None:
    out = clean_text(text, record_terms=[text[:5]], reference_date=REF)
    assert isinstance(out, str) and not re.search("[\U000f0000-\U0010ffff]", out)


@settings(max_examples=300, deadline=None)
@given(noise, st.sampled_from(GENOMIC), noise)
def test_genomic_token_in_random_text_survives(left: str, token: str, right: str) -> None:
    assert token in clean_text(f"{left} {token} {right}")


@settings(max_examples=300, deadline=None)
@given(noise, st.one_of(emails, phones), noise)
def test_email_or_phone_in_random_text_never_survives(left: str, value: str, right: str) -> None:
    assert value not in clean_text(f"{left} {value} {right}")


# --- CLI ----------------------------------------------------------------------------------------
def run_cli(args: list[str]) -> int:
    from precisionrx.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("PRECISIONRX_HOME", str(folder))
    return folder


def test_cli_ndjson_creates_the_key_0600_and_is_repeatable(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = DATA / "synthea_subset.ndjson"
    out1, out2 = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    assert run_cli(["deid", str(src), "--reference-date", "2026-06-01", "-o", str(out1)]) == 0
    key = home / "deid.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 44
    assert "wrote" in capsys.readouterr().err
    assert run_cli(["deid", str(src), "--reference-date", "2026-06-01", "-o", str(out2)]) == 0
    assert out1.read_text() == out2.read_text()
    assert len(out1.read_text().splitlines()) == 210 and "Medhurst46" not in out1.read_text()


def test_cli_explicit_key_file(tmp_path: Path, home: Path) -> None:
    key, out = tmp_path / "k" / "my.key", tmp_path / "o.ndjson"
    src = tmp_path / "in.ndjson"
    src.write_text(json.dumps(load("Patient-example.json")) + "\n")
    assert (
        run_cli(
            ["deid", str(src), "--reference-date", "2026-06-01", "--key", str(key), "-o", str(out)]
        )
        == 0
    )
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and not (home / "deid.key").exists()
    key.chmod(0o644)
    assert (
        run_cli(
            ["deid", str(src), "--reference-date", "2026-06-01", "--key", str(key), "-o", str(out)]
        )
        == 40
    )


def test_cli_malformed_line_names_it_and_writes_nothing(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    src.write_text(json.dumps(patient()) + "\n" + json.dumps(patient(id="p2")) + "\n{broken\n")
    assert run_cli(["deid", str(src), "--reference-date", "2026-06-01", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "in.ndjson" in err and "not JSON" in err and "Traceback" not in err
    assert not out.exists() and not (home / "deid.key").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["deid"],
        ["deid", "IN", "--text", "TXT", "--reference-date", "2026-06-01"],
        ["deid", "IN"],
        ["deid", "IN", "--reference-date", "2026-13-01"],
        ["deid", "IN", "--reference-date", "01/06/2026"],
        ["deid", "--text", "TXT", "--key", "k.key"],
    ],
)
def test_cli_usage_errors_exit_2(
    args: list[str], tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in.ndjson").write_text(json.dumps(patient()) + "\n")
    (tmp_path / "t.txt").write_text("hello")
    args = [
        {"IN": str(tmp_path / "in.ndjson"), "TXT": str(tmp_path / "t.txt")}.get(a, a) for a in args
    ]
    assert run_cli(args) == 2
    assert "Usage" in capsys.readouterr().err


def test_cli_text_with_fhir_record(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = tmp_path / "note.txt"
    note.write_text(
        "Peter Chalmers (Jim) of PleasantVille, phone (03) 3410 5613: HLA-B*57:01 positive, "
        "abacavir contraindicated; CYP2C19*2/*2.\n"
    )
    record = tmp_path / "patient.json"
    record.write_text(json.dumps(load("Patient-example.json")))
    assert run_cli(["deid", "--text", str(note), "--record", str(record)]) == 0
    out = capsys.readouterr().out
    assert out == (
        "[NAME] [NAME] ([NAME]) of [ADDRESS], phone ([PHONE]: HLA-B*57:01 positive, "
        "abacavir contraindicated; CYP2C19*2/*2.\n"
    )


def test_cli_text_with_patient_file_to_output(tmp_path: Path, home: Path) -> None:
    note, out = tmp_path / "note.txt", tmp_path / "clean.txt"
    note.write_text("Anna Kowalski (id demo-001) started clopidogrel 75 mg on 2024-02-03.")
    record = tmp_path / "patient.yaml"
    record.write_text(
        "id: demo-001\nname: Anna Kowalski\ndemographics: {sex_at_birth: female, age_years: 58}\n"
    )
    assert run_cli(["deid", "--text", str(note), "--record", str(record), "-o", str(out)]) == 0
    assert out.read_text() == "[NAME] (id [ID]) started clopidogrel 75 mg on 2024."


# --- docs and data stay honest ------------------------------------------------------------------
def test_docstring_examples_and_docs() -> None:
    import doctest

    from precisionrx.security import _deid_text

    failures, attempted = doctest.testmod(_deid_text, optionflags=doctest.ELLIPSIS)
    assert failures == 0 and attempted >= 2
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli" / "deid.md").read_text()
    for placeholder in Placeholder:
        assert f"`{placeholder.value}`" in page, placeholder
    for needle in ("164.514(b)(2)", "164.514(c)", "PSEUDED", "GDIS", AGE_90_PLUS_URL, *RESTRICTED):
        assert needle in page, needle


def test_privacy_knowledge_base_verifies() -> None:
    from precisionrx.kb.registry import verify_kbs

    assert [p for p in verify_kbs() if p.kb == "privacy"] == []


def test_documented_note_example() -> None:
    note = (
        "Jane Roe (MRN: 12345, tel 617-555-0199) seen 2019-03-04 by Dr. Smith: CYP2C19*2/*2,\n"
        "NM_000106.6:c.1846G>A (rs4244285), HLA-B*15:02 negative; clopidogrel 75 mg daily.\n"
    )
    assert clean_text(note, record_terms=["Jane Roe"]) == (
        "[NAME] (MRN: [MRN], tel [PHONE]) seen 2019 by Dr. [NAME]: CYP2C19*2/*2,\n"
        "NM_000106.6:c.1846G>A (rs4244285), HLA-B*15:02 negative; clopidogrel 75 mg daily.\n"
    )
    assert clean_text("Mrs. J. Roe, 633 Abernathy Landing, 5-10 mg, CYP2D6*36+*10, *2/*17") == (
        "Mrs. [NAME], [ADDRESS], 5-10 mg, CYP2D6*36+*10, *2/*17"
    )
