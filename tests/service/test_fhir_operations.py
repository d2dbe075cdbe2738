"""HL7 genomics-operations on stored patients (issue 18, item 5), against a live server on SQLite
and PostgreSQL: ``$find-subject-haplotypes`` and ``$find-subject-tx-implications`` answer FHIR
``Parameters`` (the reference server's shape, docs/fhir.md), with the plan's access rules
(404 unreachable, 403 without consent to genetic data, audit), and an uploaded lab FHIR report's
genotypes reach the service's plans.

Expected clinical values come from the knowledge base's CPIC/DPWG tables (the phenotype of a
diplotype, the guideline rows of a drug), never from the response under test.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from precisionrx.io.fhir_genomics import genomics_from_data
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.security.tokens import Role
from precisionrx.service.state import ServiceState
from tests.service.conftest import Mint, auth, wait_job
from tests.service.helpers import DEMO_FILES, demo_record, withhold_genetic_data

OPS = "/api/v1/fhir/$find-subject-"
FHIR_JSON = "application/fhir+json"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
GR = "http://hl7.org/fhir/uv/genomics-reporting"


def _create(client: httpx.Client, token: str) -> str:
    r = client.post("/api/v1/patients", json=demo_record(), headers=auth(token))
    assert r.status_code == 201, r.text
    pid: str = r.json()["id"]
    return pid


def _upload(client: httpx.Client, token: str, pid: str, kind: str, name: str, content: bytes,
            fields: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
    return client.post(f"/api/v1/patients/{pid}/files", headers=auth(token),
                       files={"file": (name, content)}, data={"kind": kind, **(fields or {})})  # fmt: skip


def _plan(client: httpx.Client, token: str, pid: str) -> dict[str, Any]:
    started = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(token)).json()
    job = wait_job(client, token, started["status_url"])
    assert job["status"] == "done", job
    plan: dict[str, Any] = client.get(f"/api/v1/patients/{pid}/plans/latest",
                                      headers=auth(token)).json()  # fmt: skip
    return plan


def _get(client: httpx.Client, token: str, op: str, **params: Any) -> httpx.Response:
    return client.get(OPS + op, params=params, headers=auth(token))


def _parameters(r: httpx.Response) -> dict[str, Any]:
    """A 200 FHIR Parameters response, validated with fhir.resources R4B."""
    from fhir.resources.R4B.parameters import Parameters

    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    assert "NaN" not in r.text and "Infinity" not in r.text
    body: dict[str, Any] = r.json()
    Parameters.model_validate(body)
    return body


def _outcome(r: httpx.Response, status: int, issue: str, words: str) -> None:
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(FHIR_JSON)
    body = r.json()
    OperationOutcome.model_validate(body)
    (found,) = body["issue"]
    assert found["severity"] == "error" and found["code"] == issue, found
    assert words in found["diagnostics"], found["diagnostics"]


def _groups(params: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(implication, its genotypes) of each ``implications`` parameter."""
    out = []
    for p in params.get("parameter", []):
        assert p["name"] == "implications"
        (implication,) = [x["resource"] for x in p["part"] if x["name"] == "implication"]
        genotypes = [x["resource"] for x in p["part"] if x["name"] == "genotype"]
        assert {x["name"] for x in p["part"]} <= {"implication", "genotype"}
        out.append((implication, genotypes))
    return out


def _component(implication: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [c["valueCodeableConcept"] for c in implication["component"]
            if c["code"]["coding"][0]["code"] == code]  # fmt: skip


def _guideline_rows(kb: KnowledgeBase, drug: str, gene: str, key: str) -> list[Any]:
    """The knowledge base's CPIC and DPWG recommendation rows of ``drug`` for ``gene`` = ``key``."""
    return [r for g in kb.prescribing.guidelines if drug in g.drugs for r in g.recommendations
            if r.lookup == {gene: key}]  # fmt: skip


def _phenotype(kb: KnowledgeBase, gene: str, a: str, b: str) -> str:
    table = kb.phenotypes(gene)
    assert table is not None
    row = table.diplotypes.get((a, b)) or table.diplotypes[(b, a)]
    return row.phenotype


def _timeless(value: Any) -> Any:
    """A response without its ``issued`` times (they say when it was computed)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "issued"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _rxnorm(kb: KnowledgeBase, drug: str) -> str:
    return next(code for code, d in kb.prescribing.rxnorm_to_drug.items() if d == drug)


def _check_clopidogrel(kb: KnowledgeBase, params: dict[str, Any], pid: str,
                       genotype: str) -> None:  # fmt: skip
    """Every implication is clopidogrel's, one per CPIC/DPWG row of a CYP2C19 Poor Metabolizer
    (the CPIC phenotype of *2/*2), coded LA9657-3, with the recommendation texts."""
    phenotype = _phenotype(kb, "CYP2C19", "*2", "*2")
    rows = _guideline_rows(kb, "clopidogrel", "CYP2C19", phenotype)
    assert rows and any(r.alternate_drug for r in rows)  # CPIC: avoid, use an alternative
    groups = _groups(params)
    assert len(groups) == len(rows)
    notes = " ".join(i["note"][0]["text"] for i, _ in groups)
    assert all(r.text in notes for r in rows)
    for implication, genotypes in groups:
        assert implication["subject"] == {"reference": f"Patient/{pid}"}
        (drug,) = _component(implication, "51963-7")
        assert drug["coding"][0] == {"system": RXNORM, "code": _rxnorm(kb, "clopidogrel"),
                                     "display": "clopidogrel"}  # fmt: skip
        (value,) = _component(implication, "therapeutic-implication")
        assert value["coding"][0]["code"] == "LA9657-3"  # Poor metabolizer
        assert phenotype.casefold() in value["text"].casefold()
        assert [g["valueCodeableConcept"]["text"] for g in genotypes] == [f"CYP2C19 {genotype}"]
        assert {d["reference"] for d in implication["derivedFrom"]} == {
            f"Observation/{g['id']}" for g in genotypes
        }


# --------------------------------------------------------------------------- stored genotypes


def test_operations_on_a_stored_plan(client: httpx.Client, mint: Mint, kb: KnowledgeBase,
                                     state: ServiceState) -> None:  # fmt: skip
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    kind, path, fields = DEMO_FILES[0]  # the germline VCF
    assert _upload(client, doc, pid, kind, path.name, path.read_bytes(), fields).status_code == 201
    plan = _plan(client, doc, pid)
    called = {g["gene"]: g for s in plan["pgx"] for g in s["genes"] if g["called"]}
    assert called["CYP2C19"]["diplotypes"] == ["*2/*2"]

    # $find-subject-haplotypes: one `haplotypes` per called gene, in the plan's order
    r = _get(client, doc, "haplotypes", subject=pid)
    params = _parameters(r)
    assert r.headers["x-plan-id"]
    assert [p["name"] for p in params["parameter"]] == ["haplotypes"] * len(called)
    assert [p["part"][0] for p in params["parameter"]] == [
        {"name": "geneItem", "valueString": gene} for gene in called
    ]
    for p in params["parameter"]:
        gene = p["part"][0]["valueString"]
        (genotype,) = [x["resource"] for x in p["part"][1:]]
        assert genotype["meta"]["profile"] == [f"{GR}/StructureDefinition/genotype"]
        assert genotype["code"]["coding"][0]["code"] == "84413-4"
        assert genotype["valueCodeableConcept"]["text"] == f"{gene} {called[gene]['diplotypes'][0]}"
        assert genotype["subject"] == {"reference": f"Patient/{pid}"}
    # ... which the importer reads back (it opens Parameters)
    read = genomics_from_data([(params, "response")]).result
    assert ("CYP2C19", "*2/*2") in {(g.gene, g.diplotype) for g in read.genotypes}
    # genes asked as symbols or HGNC codes, echoed as asked; a gene not called: geneItem only
    asked = ["CYP2C19", "http://www.genenames.org|HGNC:2625", "NAT1"]
    params = _parameters(_get(client, doc, "haplotypes", subject=f"Patient/{pid}",
                              genes=",".join(asked)))  # fmt: skip
    assert [p["part"][0]["valueString"] for p in params["parameter"]] == asked
    assert [len(p["part"]) for p in params["parameter"]] == [2, 2, 1]
    cyp2d6 = params["parameter"][1]["part"][1]["resource"]
    assert cyp2d6["valueCodeableConcept"]["text"] == f"CYP2D6 {called['CYP2D6']['diplotypes'][0]}"
    # genomicSourceClass: the pharmacogenomic genotypes are germline
    assert "parameter" not in _parameters(
        _get(client, doc, "haplotypes", subject=pid, genomicSourceClass="somatic"))  # fmt: skip

    # $find-subject-tx-implications of the stored genotypes: every drug with guidance
    r = _get(client, doc, "tx-implications", subject=pid)
    everything = _groups(_parameters(r))
    assert r.headers["x-plan-id"]
    drugs = {_component(i, "51963-7")[0]["text"] for i, _ in everything}
    assert {"clopidogrel", "simvastatin", "capecitabine", "codeine"} <= drugs
    assert all(genotypes for _, genotypes in everything)
    # treatments=: RxNorm through the knowledge base's map, or the name
    by_code = _parameters(_get(client, doc, "tx-implications", subject=pid,
                               treatments=f"{RXNORM}|{_rxnorm(kb, 'clopidogrel')}"))  # fmt: skip
    _check_clopidogrel(kb, by_code, pid, "*2/*2")
    by_name = _parameters(
        _get(client, doc, "tx-implications", subject=pid, treatments="Clopidogrel")
    )
    assert _timeless(by_name) == _timeless(by_code)
    # a treatment without pharmacogenomic guidance: no implication
    assert "parameter" not in _parameters(
        _get(client, doc, "tx-implications", subject=pid, treatments="amlodipine"))  # fmt: skip
    # every call is an audit row naming the operation (never the genotypes)
    rows = [r for r in state.store.audit_rows() if r.action.startswith("fhir.find-subject-")]
    assert len(rows) == 7 and all(r.outcome == "success" for r in rows)
    assert all("*2" not in r.detail for r in rows)


# --------------------------------------------------------------------------- given haplotypes


def test_given_haplotypes_need_no_stored_genotypes(client: httpx.Client, mint: Mint,
                                                  kb: KnowledgeBase) -> None:  # fmt: skip
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)  # no files, no plan
    _outcome(_get(client, doc, "tx-implications", subject=pid), 404, "not-found", "no plan yet")
    _outcome(_get(client, doc, "haplotypes", subject=pid), 404, "not-found", "no plan yet")
    clopidogrel = f"{RXNORM}|{_rxnorm(kb, 'clopidogrel')}"
    r = _get(client, doc, "tx-implications", subject=pid, haplotypes="CYP2C19 *2/*2",
             treatments=clopidogrel)  # fmt: skip
    params = _parameters(r)
    assert "x-plan-id" not in r.headers
    _check_clopidogrel(kb, params, pid, "*2/*2")
    # repeated parameters, other spellings of a diplotype, HLA alleles
    r = client.get(OPS + "tx-implications", headers=auth(doc), params=[
        ("subject", pid), ("haplotypes", "CYP2D6*4/CYP2D6*4"), ("haplotypes", "HLA-B*57:01"),
        ("treatments", "codeine,abacavir")])  # fmt: skip
    groups = _groups(_parameters(r))
    codeine = [i for i, _ in groups if _component(i, "51963-7")[0]["text"] == "codeine"]
    abacavir = [i for i, _ in groups if _component(i, "51963-7")[0]["text"] == "abacavir"]
    poor = _phenotype(kb, "CYP2D6", "*4", "*4")
    assert codeine and all(
        _component(i, "therapeutic-implication")[0]["coding"][0]["display"].casefold()
        == poor.casefold() for i in codeine)  # fmt: skip
    rows = _guideline_rows(kb, "abacavir", "HLA-B", "*57:01 positive")
    assert len(abacavir) == len(rows) and rows
    assert all(any(row.text in i["note"][0]["text"] for i in abacavir) for row in rows)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("op", "params", "issue", "words"),
    [
        ("haplotypes", {}, "required", "subject is required"),
        ("tx-implications", {"subject": "not an id!"}, "invalid", "is not a patient id"),
        ("tx-implications", {"haplotypes": "CYP2C19 *2/*99"}, "invalid", "did you mean"),
        ("tx-implications", {"haplotypes": "CYP2C19 *1/*2,CYP2C19 *2/*2"}, "invalid",
         "more than once"),
        ("tx-implications", {"haplotypes": "poor metabolizer"}, "invalid", "GENE *a/*b"),
        ("tx-implications", {"haplotypes": "NOTAGENE *1/*2"}, "invalid", "unknown gene"),
        ("tx-implications", {"treatments": "http://snomed.info/sct|387458008"}, "invalid",
         "RxNorm"),
        ("haplotypes", {"genes": "http://example.org|CYP2C19"}, "invalid", "genenames.org"),
        ("haplotypes", {"genes": "http://www.genenames.org|HGNC:1"}, "invalid", "gene symbol"),
        ("tx-implications", {"variants": "NC_000010.11:94781858:G:A"}, "not-supported",
         "variants: not supported"),
        ("haplotypes", {"genomicSourceClass": "blood"}, "invalid", "germline"),
    ],
)  # fmt: skip
def test_bad_parameters_are_operation_outcomes(client: httpx.Client, mint: Mint, op: str,
                                               params: dict[str, str], issue: str,
                                               words: str) -> None:  # fmt: skip
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    query = params if issue == "required" else {"subject": pid, **params}
    _outcome(_get(client, doc, op, **query), 400, issue, words)


def test_access_is_that_of_the_plan(client: httpx.Client, mint: Mint, state: ServiceState) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    other = _create(client, doc)
    given = {"haplotypes": "CYP2C19 *2/*2", "treatments": "clopidogrel"}
    for op in ("haplotypes", "tx-implications"):
        # another organisation's clinician, an unknown id: 404 alike (ids cannot be probed)
        elsewhere = mint("dr-b", Role.clinician, org="org-b")
        _outcome(_get(client, elsewhere, op, subject=pid, **given), 404, "not-found",
                 "no such patient")  # fmt: skip
        _outcome(_get(client, doc, op, subject="0" * 32, **given), 404, "not-found",
                 "no such patient")  # fmt: skip
        # roles without access to clinical content
        for role in (Role.researcher, Role.admin):
            assert _get(client, mint("x", role, org=None), op, subject=pid).status_code == 403
        assert client.get(OPS + op, params={"subject": pid}).status_code == 401
    # the patient: for themself only (their own id, or no subject at all)
    me = mint("pat", Role.patient, patient=pid, org=None)
    tx = "tx-implications"
    assert _get(client, me, tx, subject=pid, **given).status_code == 200
    mine = _get(client, me, tx, **given).json()
    assert _timeless(mine) == _timeless(_get(client, me, tx, subject=pid, **given).json())
    _outcome(_get(client, me, tx, subject=other, **given), 404, "not-found", "no such patient")
    # a clinician states a treatment purpose of use
    research = client.get(OPS + tx, params={"subject": pid, **given},
                          headers=auth(doc, **{"X-Purpose-Of-Use": "HRESCH"}))  # fmt: skip
    _outcome(research, 400, "invalid", "X-Purpose-Of-Use")
    # a consent that withholds genetic data (GDIS): 403, audited as denied
    withhold_genetic_data(client, doc, pid)
    for op in ("haplotypes", "tx-implications"):
        _outcome(_get(client, doc, op, subject=pid, **given), 403, "forbidden", "consent")
    denied = [r for r in state.store.audit_rows()
              if r.action == "fhir.find-subject-tx-implications" and r.outcome == "denied"]  # fmt: skip
    assert {r.detail for r in denied} >= {"consent", "patient not reachable by this identity"}
    # break-glass is permitted (and flagged, as for every read)
    glass = client.get(OPS + tx, params={"subject": pid, **given},
                       headers=auth(doc, **{"X-Purpose-Of-Use": "ETREAT"}))  # fmt: skip
    assert glass.status_code == 200
    # the patient's own access needs no consent (right of access)
    assert _get(client, me, tx, **given).status_code == 200


# --------------------------------------------------------------------------- FHIR in, service


#: A lab's report in the shape of the IG's genotype example (Parameters-FindSubjectHaplotypes-
#: Output: PharmVar coding, gene studied HGNC:2621), without a Patient resource.
LAB_REPORT = {"resourceType": "Bundle", "type": "collection", "entry": [{
    "fullUrl": "urn:uuid:0f0b8f6e-5d43-4c1e-9a4b-3f1d2c7a9e11",
    "resource": {
        "resourceType": "Observation", "id": "lab-genotype-cyp2c19",
        "meta": {"profile": [f"{GR}/StructureDefinition/genotype"]},
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]},
                     {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                  "code": "GE"}]}],
        "code": {"coding": [{"system": LOINC, "code": "84413-4", "display": "Genotype display name"}]},
        "subject": {"reference": "Patient/lab-patient-1"},
        "valueCodeableConcept": {"coding": [{"system": "http://www.pharmvar.org",
                                             "code": "CYP2C19_*2/*2", "display": "CYP2C19 *2/*2"}]},
        "component": [{"code": {"coding": [{"system": LOINC, "code": "48018-6",
                                            "display": "Gene studied [ID]"}]},
                       "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org",
                                                            "code": "HGNC:2621",
                                                            "display": "CYP2C19"}]}}],
    }}]}  # fmt: skip


def test_uploaded_fhir_report_reaches_the_plan(client: httpx.Client, mint: Mint,
                                               kb: KnowledgeBase) -> None:  # fmt: skip
    """A lab's FHIR Genomics report uploaded as kind fhir_bundle: its genotype is the plan's
    CYP2C19 call (an outside call naming the resource), with the recommendations it gives, and
    the operations answer from it. The file is genetic data: listing it needs GDIS consent."""
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)  # the demo record: clopidogrel among the medicines, no VCF
    r = _upload(client, doc, pid, "fhir_bundle", "lab.json", json.dumps(LAB_REPORT).encode())
    assert r.status_code == 201, r.text
    assert "1 genotype(s)" in r.json()["summary"]
    plan = _plan(client, doc, pid)
    genes = {g["gene"]: g for s in plan["pgx"] for g in s["genes"]}
    cyp2c19 = genes["CYP2C19"]
    assert cyp2c19["diplotypes"] == ["*2/*2"] and cyp2c19["source"] == "outside"
    assert cyp2c19["phenotype"] == _phenotype(kb, "CYP2C19", "*2", "*2")
    assert any("Observation/lab-genotype-cyp2c19" in c["message"] for c in cyp2c19["caveats"])
    recs = [x for s in plan["pgx"] for x in s["recommendations"] if x["drug"] == "clopidogrel"]
    rows = _guideline_rows(kb, "clopidogrel", "CYP2C19", cyp2c19["phenotype"])
    assert {x["text"] for x in recs if x["matched"]} == {r.text for r in rows}
    # the operations answer from the stored plan
    params = _parameters(_get(client, doc, "haplotypes", subject=pid))
    ((item, genotype),) = [p["part"] for p in params["parameter"]]
    assert item["valueString"] == "CYP2C19"
    assert genotype["resource"]["valueCodeableConcept"]["text"] == "CYP2C19 *2/*2"
    clopidogrel = f"{RXNORM}|{_rxnorm(kb, 'clopidogrel')}"
    _check_clopidogrel(kb, _parameters(_get(client, doc, "tx-implications", subject=pid,
                                            treatments=clopidogrel)), pid, "*2/*2")  # fmt: skip
    # a FHIR Bundle is labelled GDIS: a consent withholding genetic data withholds the listing
    withhold_genetic_data(client, doc, pid)
    assert client.get(f"/api/v1/patients/{pid}/files", headers=auth(doc)).status_code == 403
