"""CDS Hooks 2.0 services through the live service: discovery, client JWTs, and a PGx scenario
suite (clopidogrel, citalopram, carbamazepine + HLA-B*15:02, statins, codeine, no genotype on
file, phenoconversion). Expected advice is CPIC's (guideline tables in the knowledge base):
CYP2C19 poor metabolizer -> avoid clopidogrel (prasugrel or ticagrelor); HLA-B*15:02 carrier ->
do not use carbamazepine; SLCO1B1 poor function -> alternative statin; CYP2D6 poor metabolizer
(genotype, or a normal metabolizer on paroxetine, a strong CYP2D6 inhibitor) -> avoid codeine;
CYP2C19 poor metabolizer -> citalopram dose or alternative antidepressant."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from precisionrx.report.cds.validate import validate_cds_response
from precisionrx.security.tokens import Role
from precisionrx.service.settings import ServiceSettings
from tests.service.cds_fixtures import (
    PUBLIC_URL,
    Client,
    diplotype,
    genotype,
    order,
    request,
    searchset,
)
from tests.service.conftest import MASTER, Mint, auth, wait_job
from tests.service.helpers import DEMO_FILES, demo_record, withhold_genetic_data

SPEC = Path(__file__).resolve().parents[1] / "data" / "cds_hooks"
SELECT, SIGN, VIEW = "pgx-order-select", "pgx-order-sign", "pgx-patient-view"
CLOPIDOGREL = "309362"  # RxNorm SCD: clopidogrel 75 MG Oral Tablet


@pytest.fixture(scope="module")
def ehr() -> Client:
    return Client()


@pytest.fixture
def settings(tmp_path: Path, database: str | None, ehr: Client) -> ServiceSettings:
    """The service trusting one EHR, for organisation org-a (stored plans usable)."""
    return ServiceSettings(home=tmp_path / "home", database=database,
                           environ={"PRECISIONRX_MASTER_KEY": MASTER},
                           cds_trusted={ehr.issuer: ehr.jwks(organisation="org-a")},
                           public_url=PUBLIC_URL)  # fmt: skip


def call(client: httpx.Client, ehr: Client, service: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/cds-services/{service}", json=body, headers=ehr.headers(service))


def cards(client: httpx.Client, ehr: Client, service: str, body: dict[str, Any]) -> list[Any]:
    r = call(client, ehr, service, body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert validate_cds_response(doc) == []
    found: list[Any] = doc["cards"]
    return found


def by_drug(found: list[dict[str, Any]], drug: str) -> dict[str, Any]:
    hits = [c for c in found if drug.lower() in c["summary"].lower()]
    assert len(hits) == 1, [c["summary"] for c in found]
    return hits[0]


# -- discovery and authentication ---------------------------------------------------------


def test_discovery_lists_the_three_services(client: httpx.Client) -> None:
    doc = client.get("/cds-services").json()
    services = {s["id"]: s for s in doc["services"]}
    assert {s["hook"] for s in services.values()} == {"order-select", "order-sign", "patient-view"}
    prefetch = services[SELECT]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "84413-4" in prefetch["genotypes"] and "MedicationRequest?" in prefetch["medications"]


def test_calls_need_a_valid_client_jwt(client: httpx.Client, ehr: Client) -> None:
    body = request("order-select", [order("o1", "clopidogrel")], genotypes=None)
    url = f"/cds-services/{SELECT}"
    assert client.post(url, json=body).status_code == 401
    wrong_aud = ehr.token(SELECT, aud=f"{PUBLIC_URL}/cds-services/{SIGN}")
    r = client.post(url, json=body, headers={"Authorization": f"Bearer {wrong_aud}"})
    assert r.status_code == 401 and "audience" in r.json()["detail"]
    stranger = Client(issuer="https://other.example.org")
    assert client.post(url, json=body, headers=stranger.headers(SELECT)).status_code == 401
    expired = ehr.token(SELECT, iat=1_600_000_000, exp=1_600_000_300)
    r = client.post(url, json=body, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    once = ehr.headers(SELECT)
    assert client.post(url, json=body, headers=once).status_code == 200
    replay = client.post(url, json=body, headers=once)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"].lower()
    # a token for the service but unsigned (alg none) is refused
    import base64

    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'iss': ehr.issuer})}."
    assert (
        client.post(url, json=body, headers={"Authorization": f"Bearer {none}"}).status_code == 401
    )


def test_without_trusted_clients_every_cds_route_refuses(tmp_path: Path) -> None:
    from precisionrx.service.app import open_state
    from tests.service.conftest import LiveServer

    plain = ServiceSettings(home=tmp_path / "h", environ={"PRECISIONRX_MASTER_KEY": MASTER})
    state = open_state(plain)
    try:
        with LiveServer(plain, state) as live, httpx.Client(base_url=live.url) as tc:
            assert tc.get("/cds-services").status_code == 401
            other = Client()
            r = tc.post(f"/cds-services/{SELECT}", json={}, headers=other.headers(SELECT))
            assert r.status_code == 401 and "cds-trusted" in r.json()["detail"]
    finally:
        state.runner.shutdown()
        state.store.close()


def test_bad_requests_are_400_not_500(client: httpx.Client, ehr: Client) -> None:
    wrong_hook = request("order-sign", [order("o1", "clopidogrel")], genotypes=None)
    assert call(client, ehr, SELECT, wrong_hook).status_code == 400
    no_patient = request("order-select", [], genotypes=None)
    del no_patient["context"]["patientId"]
    assert call(client, ehr, SELECT, no_patient).status_code == 400
    r = client.post(f"/cds-services/{SELECT}", content=b"[1, 2]",
                    headers={**ehr.headers(SELECT), "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400
    assert call(client, ehr, "no-such-service", wrong_hook).status_code == 404


# -- the PGx scenario suite -----------------------------------------------------------------


def test_clopidogrel_cyp2c19_poor_metabolizer(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*2", "*2"))
    body = request("order-select", [order("o1", "clopidogrel 75 MG Oral Tablet", CLOPIDOGREL)],
                   genotypes=geno, selections=["MedicationRequest/o1"])  # fmt: skip
    card = by_drug(cards(client, ehr, SELECT, body), "clopidogrel")
    assert card["indicator"] == "critical"
    assert "CYP2C19 Poor Metabolizer" in card["summary"] and len(card["summary"]) < 140
    assert "prasugrel or ticagrelor" in card["detail"] and "*2/*2" in card["detail"]
    labels = {s["label"] for s in card["suggestions"]}
    assert {"Replace clopidogrel with prasugrel", "Replace clopidogrel with ticagrelor"} <= labels
    assert card["selectionBehavior"] == "at-most-one"
    swap = card["suggestions"][0]["actions"]
    assert swap[0] == {"type": "delete", "description": swap[0]["description"],
                       "resourceId": "MedicationRequest/o1"}  # fmt: skip
    created = swap[1]["resource"]
    assert created["resourceType"] == "MedicationRequest" and created["status"] == "draft"
    assert created["subject"] == {"reference": "Patient/p1"}
    assert any("cpicpgx.org" in link["url"] or "pharmgkb" in link["url"].lower()
               for link in card["links"])  # fmt: skip
    assert all(r["display"] for r in card["overrideReasons"])
    assert card["source"]["label"].startswith("precisionrx")


def test_clopidogrel_normal_metabolizer_gets_no_card(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*1", "*1"))
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL)], genotypes=geno)
    assert cards(client, ehr, SELECT, body) == []


def test_citalopram_cyp2c19_poor_metabolizer(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*2", "*3"))
    body = request("order-sign", [order("o1", "citalopram 20 MG Oral Tablet")], genotypes=geno)
    card = by_drug(cards(client, ehr, SIGN, body), "citalopram")
    assert card["indicator"] == "warning"
    assert "CYP2C19 Poor Metabolizer" in card["summary"]
    # escitalopram is named in the advice but is itself affected: never suggested
    assert "escitalopram" not in json.dumps(card.get("suggestions", []))


def test_carbamazepine_hla_b_15_02(client: httpx.Client, ehr: Client) -> None:
    positive = searchset(genotype("h1", "HLA-B", "HLA-B*15:02+HLA-B*07:02"))
    body = request("order-select", [order("o1", "Tegretol 200 MG Oral Tablet [Tegretol]")],
                   genotypes=positive)  # fmt: skip
    card = by_drug(cards(client, ehr, SELECT, body), "carbamazepine")
    assert card["indicator"] == "critical"
    assert "HLA-B*15:02 positive" in card["summary"] and "do not use" in card["summary"]
    negative = searchset(genotype("h1", "HLA-B", "HLA-B*07:02+HLA-B*08:01"),
                         genotype("h2", "HLA-A", "HLA-A*01:01+HLA-A*02:01"))  # fmt: skip
    body = request("order-select", [order("o1", "carbamazepine")], genotypes=negative)
    assert cards(client, ehr, SELECT, body) == []


def test_statins_slco1b1(client: httpx.Client, ehr: Client) -> None:
    poor = searchset(diplotype("g1", "SLCO1B1", "*5", "*5"))
    body = request("order-sign", [order("o1", "simvastatin 40 MG Oral Tablet")], genotypes=poor)
    card = by_drug(cards(client, ehr, SIGN, body), "simvastatin")
    assert card["indicator"] == "warning" and "SLCO1B1 Poor Function" in card["summary"]
    for s in card.get("suggestions", []):  # only statins, never the interacting drugs named
        assert s["label"].split(" with ")[1].split()[0].endswith("vastatin"), s["label"]
    normal = searchset(diplotype("g1", "SLCO1B1", "*1", "*1"))
    body = request("order-sign", [order("o1", "simvastatin 40 MG Oral Tablet")], genotypes=normal)
    assert cards(client, ehr, SIGN, body) == []


def test_codeine_cyp2d6(client: httpx.Client, ehr: Client) -> None:
    poor = searchset(diplotype("g1", "CYP2D6", "*4", "*4"))
    body = request("order-select", [order("o1", "codeine sulfate 30 MG Oral Tablet")],
                   genotypes=poor)  # fmt: skip
    card = by_drug(cards(client, ehr, SELECT, body), "codeine")
    assert card["indicator"] == "critical" and "CYP2D6 Poor Metabolizer" in card["summary"]
    alternatives = json.dumps(card.get("suggestions", []))
    assert "tramadol" not in alternatives  # "consider a non-tramadol opioid"
    ultra = searchset(diplotype("g1", "CYP2D6", "*1", "*1x2"))
    body = request("order-select", [order("o1", "codeine")], genotypes=ultra)
    card = by_drug(cards(client, ehr, SELECT, body), "codeine")
    assert card["indicator"] == "critical" and "Ultrarapid" in card["summary"]


def test_phenoconversion_by_current_medication(client: httpx.Client, ehr: Client) -> None:
    normal = searchset(diplotype("g1", "CYP2D6", "*1", "*1"))
    drafts = [order("o1", "codeine")]
    alone = request("order-select", drafts, genotypes=normal, medications=searchset())
    assert cards(client, ehr, SELECT, alone) == []
    on_paroxetine = searchset(order("m1", "paroxetine 20 MG Oral Tablet", status="active"))
    body = request("order-select", drafts, genotypes=normal, medications=on_paroxetine)
    card = by_drug(cards(client, ehr, SELECT, body), "codeine")
    assert card["indicator"] == "critical"
    assert "CYP2D6 Poor Metabolizer" in card["summary"]  # effective, not genotype
    assert "paroxetine" in card["detail"] and "Normal Metabolizer" in card["detail"]
    # a stopped paroxetine order converts nothing
    stopped = searchset(order("m1", "paroxetine", status="stopped"))
    body = request("order-select", drafts, genotypes=normal, medications=stopped)
    assert cards(client, ehr, SELECT, body) == []


def test_no_genotype_on_file_suggests_testing(client: httpx.Client, ehr: Client) -> None:
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL)], genotypes=None)
    card = by_drug(cards(client, ehr, SELECT, body), "clopidogrel")
    assert card["indicator"] == "info"
    assert "no CYP2C19 result on file" in card["summary"] and "testing" in card["summary"]
    # genotypes on file, but not this gene: the same
    other = searchset(diplotype("g1", "CYP2D6", "*1", "*1"))
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL)], genotypes=other)
    assert (
        "no CYP2C19 result" in by_drug(cards(client, ehr, SELECT, body), "clopidogrel")["summary"]
    )


def test_412_when_genotypes_cannot_be_had(client: httpx.Client, ehr: Client) -> None:
    body = request("order-select", [order("o1", "clopidogrel")], prefetch=False, patient="ehr-9")
    r = call(client, ehr, SELECT, body)
    assert r.status_code == 412 and "fhirServer" in r.json()["detail"]
    unreachable = dict(body, fhirServer="http://127.0.0.1:9/fhir")
    assert call(client, ehr, SELECT, unreachable).status_code == 412


def test_drugs_without_pgx_guidance_get_no_card(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*2", "*2"))
    spec = json.loads((SPEC / "spec__04__example-prefetch-token.json").read_text())
    body = request("order-sign", genotypes=geno)
    body["context"]["draftOrders"] = spec["context"]["draftOrders"]  # amoxicillin/clavulanate
    assert cards(client, ehr, SIGN, body) == []


def test_selections_are_honoured(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*2", "*2"), diplotype("g2", "CYP2D6", "*4", "*4"))
    drafts = [order("o1", "clopidogrel", CLOPIDOGREL), order("o2", "codeine")]
    only_codeine = request("order-select", drafts, genotypes=geno,
                           selections=["MedicationRequest/o2"])  # fmt: skip
    found = cards(client, ehr, SELECT, only_codeine)
    assert [c["summary"].split(" ")[0] for c in found] == ["Codeine"]
    # order-sign checks every draft
    assert len(cards(client, ehr, SIGN, request("order-sign", drafts, genotypes=geno))) == 2


def test_non_conformant_resources_are_skipped(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*2", "*2"))
    drafts: list[Any] = [
        {"resourceType": "MedicationRequest", "id": "bad", "medicationCodeableConcept": 5},
        {"resourceType": "ServiceRequest", "id": "mri", "status": "draft"},
        {"resourceType": "NutritionOrder"},
        "not a resource",
        {"resourceType": "MedicationRequest", "id": "ref",
         "medicationReference": {"reference": "#med"},
         "contained": [{"resourceType": "Medication", "id": "med",
                        "code": {"text": "Plavix 75 MG Oral Tablet [Plavix]"}}]},
    ]  # fmt: skip
    found = cards(client, ehr, SIGN, request("order-sign", drafts, genotypes=geno))
    assert by_drug(found, "clopidogrel")["indicator"] == "critical"
    # the older medication-prescribe shape: DSTU2 MedicationOrder in context.medications
    old = request("order-sign", [], genotypes=geno)
    old["context"]["medications"] = [{"resourceType": "MedicationOrder", "id": "mo1",
                                      "status": "draft",
                                      "medicationCodeableConcept": {"text": "clopidogrel"}}]  # fmt: skip
    assert by_drug(cards(client, ehr, SIGN, old), "clopidogrel")["indicator"] == "critical"


def test_spec_requests_are_answered(client: httpx.Client, ehr: Client) -> None:
    """The specification's own hook requests, with the genotype keys sent as null."""
    for name, service in (("spec__01__example.json", VIEW),
                          ("patient-view__00__examples.json", VIEW),
                          ("examples__02__radiology-appropriateness.json", SELECT)):  # fmt: skip
        body = json.loads((SPEC / name).read_text())
        body.setdefault("hook", "patient-view")
        body.setdefault("hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea")
        body.setdefault("context", {}).setdefault("patientId", "1288992")
        body.pop("fhirServer", None)
        body.pop("fhirAuthorization", None)
        body["prefetch"] = {"genotypes": None, "implications": None, "medications": None}
        assert cards(client, ehr, service, body) == [], name


def test_patient_view_summarises_results(client: httpx.Client, ehr: Client) -> None:
    geno = searchset(diplotype("g1", "CYP2C19", "*2", "*2"), diplotype("g2", "CYP2D6", "*1", "*1"))
    meds = searchset(order("m1", "clopidogrel", CLOPIDOGREL, status="active"))
    found = cards(client, ehr, VIEW, request("patient-view", genotypes=geno, medications=meds))
    assert "CYP2C19 Poor Metabolizer" in found[0]["summary"]
    assert "CYP2D6" not in found[0]["summary"]  # the reference phenotype is not news
    current = by_drug(found[1:], "clopidogrel")
    assert current["indicator"] == "critical" and "suggestions" not in current


# -- data from the FHIR server and from the store --------------------------------------------


class _Fhir(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        kind = "genotypes" if "84413-4" in self.path else "other"
        body = json.dumps(self.answers.get(kind, searchset())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fhir_server() -> Iterator[str]:
    _Fhir.answers = {"genotypes": searchset(diplotype("g1", "CYP2C19", "*2", "*2"))}
    _Fhir.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fhir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def test_fetches_from_fhir_server_without_prefetch(
    client: httpx.Client, ehr: Client, fhir_server: str
) -> None:
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL)], prefetch=False,
                   fhirServer=fhir_server,
                   fhirAuthorization={"access_token": "abc", "token_type": "Bearer",
                                      "expires_in": 300, "scope": "patient/*.read",
                                      "subject": "cds"})  # fmt: skip
    card = by_drug(cards(client, ehr, SELECT, body), "clopidogrel")
    assert card["indicator"] == "critical"
    paths = [p for p, _a in _Fhir.seen]
    assert any(p.startswith("/fhir/Observation?patient=p1") for p in paths)
    assert any(p.startswith("/fhir/MedicationRequest?patient=p1") for p in paths)
    assert {a for _p, a in _Fhir.seen} == {"Bearer abc"}


def test_stored_plan_supplies_genotypes(client: httpx.Client, ehr: Client, mint: Mint) -> None:
    """The demo patient (CYP2C19 *2/*2 in demo.vcf) stored with a plan: an EHR trusted for the
    patient's organisation gets cards from it; consent withholding genetic data stops that."""
    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    kind, path, form = DEMO_FILES[0]
    r = client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                    files={"file": (path.name, path.read_bytes())}, data={"kind": kind, **form})  # fmt: skip
    assert r.status_code == 201, r.text
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL, patient=pid)],
                   prefetch=False, patient=pid)  # fmt: skip
    card = by_drug(cards(client, ehr, SELECT, body), "clopidogrel")
    assert card["indicator"] == "critical" and "precisionrx plan" in card["detail"]
    withhold_genetic_data(client, doc, pid)
    assert call(client, ehr, SELECT, body).status_code == 412
    trail = client.get("/api/v1/audit", headers=auth(mint("root", Role.admin, org=None)))
    assert trail.status_code == 200
    doc_ = trail.json()
    assert doc_["chain"]["intact"]
    rows = [(r["action"], r["outcome"]) for r in doc_["rows"] if r["role"] == "cds-client"]
    assert ("cds.order-select", "success") in rows and ("consent.decide", "denied") in rows
    assert ("cds.order-select", "failed") in rows


def test_client_of_another_organisation_never_reaches_the_store(
    client: httpx.Client, mint: Mint, state: Any
) -> None:
    doc = mint("dr-b", Role.clinician, org="org-b")
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    kind, path, form = DEMO_FILES[0]
    client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                files={"file": (path.name, path.read_bytes())}, data={"kind": kind, **form})  # fmt: skip
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    ehr_a = Client()  # trusted for org-a only (the settings fixture's key is another)
    state.cds.trusted[ehr_a.issuer] = ehr_a.jwks(organisation="org-a")
    state.cds._verifiers.clear()
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL, patient=pid)],
                   prefetch=False, patient=pid)  # fmt: skip
    assert call(client, ehr_a, SELECT, body).status_code == 412


def test_feedback_is_audited(client: httpx.Client, ehr: Client) -> None:
    url = f"/cds-services/{SELECT}/feedback"
    ok = {"feedback": [{"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
                        "overrideReason": {"reason": {"code": "will-monitor",
                         "system": "urn:precisionrx:codesystem:cds-override-reason"}},
                        "outcomeTimestamp": "2026-12-05T12:00:00Z"}]}  # fmt: skip
    headers = {"Authorization": f"Bearer {ehr.token(SELECT + '/feedback')}"}
    assert client.post(url, json=ok, headers=headers).status_code == 200
    assert client.post(url, json={"feedback": []}, headers=ehr.headers(SELECT)).status_code == 400
    assert client.post(url, json=ok).status_code == 401


# -- serve options ---------------------------------------------------------------------------


def test_serve_refuses_bad_cds_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from testkit.cli import run

    home = ["--home", str(tmp_path / "home")]
    bad = tmp_path / "issuers.json"
    bad.write_text(
        json.dumps({"https://ehr.example.org": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}})
    )
    code, _out, err = run(["serve", *home, "--cds-trusted", str(bad)], capsys)
    assert code == 2 and "issuers.json" in err and "Traceback" not in err
    code, _out, err = run(["serve", *home, "--cds-trusted", str(tmp_path / "none.json")], capsys)
    assert code == 2 and "none.json" in err
    code, _out, err = run(["serve", *home, "--public-url", "cds.example.org/x?y=1"], capsys)
    assert code == 2 and "--public-url" in err and "Usage" in err
    assert not (tmp_path / "home").exists()  # nothing set up before the options are checked


def test_results_about_another_patient_are_never_used(client: httpx.Client, ehr: Client) -> None:
    someone_else = searchset(diplotype("g1", "CYP2C19", "*1", "*1", patient="p2"))
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL)],
                   genotypes=someone_else)  # fmt: skip
    r = call(client, ehr, SELECT, body)
    assert r.status_code == 412 and "Patient/p2" in r.json()["detail"]


def test_results_entered_in_error_are_not_used(client: httpx.Client, ehr: Client) -> None:
    withdrawn = diplotype("g1", "CYP2C19", "*2", "*2")
    withdrawn["status"] = "entered-in-error"
    body = request("order-select", [order("o1", "clopidogrel", CLOPIDOGREL)],
                   genotypes=searchset(withdrawn))  # fmt: skip
    card = by_drug(cards(client, ehr, SELECT, body), "clopidogrel")
    assert card["indicator"] == "info" and "no CYP2C19 result" in card["summary"]
