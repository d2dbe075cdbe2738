"""The REST API end to end, against a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import httpx

from precisionrx.security.tokens import Role
from tests.service.conftest import LiveServer, Mint, auth, wait_job
from tests.service.helpers import DEMO_FILES, demo_record, withhold_genetic_data


def _create(client: httpx.Client, token: str, **changes: object) -> str:
    r = client.post("/api/v1/patients", json=demo_record(**changes), headers=auth(token))
    assert r.status_code == 201, r.text
    pid: str = r.json()["id"]
    return pid


def _upload(client: httpx.Client, token: str, pid: str, kind: str, path: object,
            fields: dict[str, str]) -> httpx.Response:  # fmt: skip
    from pathlib import Path

    p = Path(str(path))
    return client.post(f"/api/v1/patients/{pid}/files", headers=auth(token),
                       files={"file": (p.name, p.read_bytes())}, data={"kind": kind, **fields})  # fmt: skip


def test_health_ready_openapi(client: httpx.Client) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json() == {"status": "ready"}
    doc = client.get("/openapi.json").json()
    assert "/api/v1/patients/{patient_id}/plans/latest" in doc["paths"]


def test_demo_patient_end_to_end(client: httpx.Client, mint: Mint) -> None:
    """Create, upload the demo's files, plan (202 + job), read it as JSON, HTML and FHIR; a new
    upload marks it stale and one request regenerates it."""
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    for kind, path, fields in DEMO_FILES:
        r = _upload(client, doc, pid, kind, path, fields)
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == kind and r.json()["file_id"]
    assert client.get(f"/api/v1/patients/{pid}/plans/latest", headers=auth(doc)).status_code == 404
    r = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc))
    assert r.status_code == 202, r.text
    started = r.json()
    assert r.headers["location"] == started["status_url"]
    job = wait_job(client, doc, started["status_url"])
    assert job["status"] == "done", job
    assert job["result_url"] == f"/api/v1/patients/{pid}/plans/latest"
    r = client.get(str(job["result_url"]), headers=auth(doc))
    assert r.status_code == 200 and r.headers["x-plan-stale"] == "false"
    plan = r.json()
    assert plan["patient"]["id"] == "demo-001"
    genes = {g["gene"]: g for s in plan["pgx"] for g in s["genes"]}
    assert genes["CYP2C19"]["phenotype"]  # the germline VCF was read
    assert plan["oncology"] is not None and plan["monitoring"] is not None
    html = client.get(str(job["result_url"]), headers=auth(doc, Accept="text/html"))
    assert html.headers["content-type"].startswith("text/html")
    assert "decision support" in html.text.lower()
    fhir = client.get(str(job["result_url"]), params={"format": "fhir"}, headers=auth(doc))
    bundle = fhir.json()
    assert bundle["resourceType"] == "Bundle" and bundle["entry"]
    # a new upload marks the plan stale; regeneration is one request
    _, cgm, fields = DEMO_FILES[2]
    assert _upload(client, doc, pid, "cgm", cgm, fields).status_code == 201
    r = client.get(f"/api/v1/patients/{pid}", headers=auth(doc))
    assert r.json()["plan_stale"] is True and len(r.json()["files"]) == 4
    stale = client.get(f"/api/v1/patients/{pid}/plans/latest", headers=auth(doc))
    assert stale.headers["x-plan-stale"] == "true"
    again = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, again["status_url"])["status"] == "done"
    assert client.get(f"/api/v1/patients/{pid}", headers=auth(doc)).json()["plan_stale"] is False


def test_patient_sees_plain_language_view_of_own_plan(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    started = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, started["status_url"])["status"] == "done"
    me = mint("pat", Role.patient, patient=pid, org=None)
    plan = client.get(f"/api/v1/patients/{pid}/plans/latest", headers=auth(me)).json()
    assert set(plan) <= {"precisionrx_version", "generated", "notice", "patient",
                         "patient_summary", "knowledge_bases"}  # fmt: skip
    assert plan["patient_summary"] and "decision support" in plan["notice"].lower()


def test_upload_is_validated_before_it_is_acknowledged(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    bad = client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                      files={"file": ("x.vcf", b"this is not a VCF\n")},
                      data={"kind": "germline_vcf"})  # fmt: skip
    assert bad.status_code == 422 and "PRX-IN" in bad.json()["detail"]
    wrong_kind = client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                             files={"file": ("x.vcf", b"x")}, data={"kind": "genome"})  # fmt: skip
    assert wrong_kind.status_code == 422
    cgm = client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                      files={"file": ("c.csv", b"time,gl\nnot a time,abc\n")},
                      data={"kind": "cgm"})  # fmt: skip
    assert cgm.status_code == 422
    files = client.get(f"/api/v1/patients/{pid}/files", headers=auth(doc)).json()
    assert files == []  # nothing refused was stored


def test_create_refuses_paths_and_implausible_values(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    with_path = demo_record(genomic_inputs=[{"kind": "germline_vcf", "path": "/etc/passwd"}])
    r = client.post("/api/v1/patients", json=with_path, headers=auth(doc))
    assert r.status_code == 422 and "upload" in r.text
    # a model file is a pickle: never loaded from a path a request names
    model = demo_record(effects=[{"model": "/tmp/evil.prxm", "treatment_label": "x"}])
    r = client.post("/api/v1/patients", json=model, headers=auth(doc))
    assert r.status_code == 422 and "effects" in r.text
    calls = demo_record(outside_calls="/etc/passwd")
    assert client.post("/api/v1/patients", json=calls, headers=auth(doc)).status_code == 422
    old = demo_record(demographics={"sex_at_birth": "female", "age_years": 190})
    assert client.post("/api/v1/patients", json=old, headers=auth(doc)).status_code == 422
    unknown = demo_record(medicatons=[])
    assert client.post("/api/v1/patients", json=unknown, headers=auth(doc)).status_code == 422


def test_update_marks_stale_and_erasure_is_final(client: httpx.Client, mint: Mint,
                                                 live: LiveServer) -> None:  # fmt: skip
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    r = client.put(f"/api/v1/patients/{pid}", json=demo_record(name="Renamed Person"),
                   headers=auth(doc))  # fmt: skip
    assert r.status_code == 200 and r.json()["record"]["name"] == "Renamed Person"
    assert r.json()["version"] == 2 and r.json()["plan_stale"] is True
    assert client.delete(f"/api/v1/patients/{pid}", headers=auth(doc)).status_code == 204
    for method, url in [("GET", f"/api/v1/patients/{pid}"), ("DELETE", f"/api/v1/patients/{pid}"),
                        ("GET", f"/api/v1/patients/{pid}/plans/latest")]:  # fmt: skip
        assert client.request(method, url, headers=auth(doc)).status_code == 404


def test_consent_is_evaluated_on_every_read(client: httpx.Client, mint: Mint) -> None:
    """A deny takes effect at once; break-glass is allowed, flagged and audited; a revoked
    deny no longer applies."""
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    deny = {"resourceType": "Consent", "id": "c1", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{pid}"}, "dateTime": "2020-01-01T00:00:00Z",
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                       "code": "OPTOUT"}]},
            "provision": {"type": "deny"}}  # fmt: skip
    r = client.put(f"/api/v1/patients/{pid}/consents", json=deny, headers=auth(doc))
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/patients/{pid}", headers=auth(doc)).status_code == 403
    glass = client.get(
        f"/api/v1/patients/{pid}", headers=auth(doc, **{"X-Purpose-Of-Use": "ETREAT"})
    )
    assert glass.status_code == 200
    admin = mint("root", Role.admin, org=None)
    rows = client.get("/api/v1/audit", headers=auth(admin)).json()["rows"]
    assert any(r["detail"].startswith("BREAK-GLASS") and r["purpose"] == "ETREAT" for r in rows)
    revoked = {**deny, "status": "inactive"}
    client.put(f"/api/v1/patients/{pid}/consents", json=[revoked], headers=auth(doc))
    assert client.get(f"/api/v1/patients/{pid}", headers=auth(doc)).status_code == 200
    other = {**deny, "patient": {"reference": "Patient/someone-else"}}
    assert client.put(f"/api/v1/patients/{pid}/consents", json=other,
                      headers=auth(doc)).status_code == 422  # fmt: skip


def test_consent_naming_a_practitioner_applies_to_that_user_only(
    client: httpx.Client, mint: Mint
) -> None:
    """``provision.actor`` references ``Practitioner/<token sub>``: a patient who keeps one
    clinician of the organisation out is obeyed for that clinician, not for the others."""
    alice, bob = mint("dr-alice", Role.clinician), mint("dr-bob", Role.clinician)
    pid = _create(client, alice)
    consent = {"resourceType": "Consent", "id": "c-bob", "status": "active",
               "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                     "code": "patient-privacy"}]},
               "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
               "patient": {"reference": f"Patient/{pid}"}, "dateTime": "2020-01-01T00:00:00Z",
               "provision": {"type": "permit", "provision": [{"type": "deny", "actor": [
                   {"role": {"coding": [{"system":
                       "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                       "code": "PRCP"}]},
                    "reference": {"reference": "Practitioner/dr-bob"}}]}]}}  # fmt: skip
    assert client.put(f"/api/v1/patients/{pid}/consents", json=consent,
                      headers=auth(alice)).status_code == 200  # fmt: skip
    assert client.get(f"/api/v1/patients/{pid}", headers=auth(alice)).status_code == 200
    denied = client.get(f"/api/v1/patients/{pid}", headers=auth(bob))
    assert denied.status_code == 403 and "consent" in denied.json()["detail"]


def test_listing_genomic_files_needs_consent_to_genomic_data(
    client: httpx.Client, mint: Mint
) -> None:
    """A consent that withholds genetic data (security label GDIS) also withholds the list of
    files once a genome is on file: the kind alone says a genome was sequenced."""
    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    withhold_genetic_data(client, doc, pid)
    assert client.get(f"/api/v1/patients/{pid}/files", headers=auth(doc)).status_code == 200
    kind, path, form = DEMO_FILES[0]
    with path.open("rb") as fh:
        r = client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                        data={"kind": kind, **form}, files={"file": (path.name, fh)})  # fmt: skip
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/patients/{pid}/files", headers=auth(doc)).status_code == 403
    assert client.get(f"/api/v1/patients/{pid}", headers=auth(doc)).status_code == 403


def test_research_export_only_with_research_consent(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    yes = _create(client, doc, name="Ada Consenting")
    no = _create(client, doc, name="Bob Silent")
    permit = {"resourceType": "Consent", "id": "r1", "status": "active",
              "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                    "code": "research"}]},
              "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
              "patient": {"reference": f"Patient/{yes}"}, "dateTime": "2020-01-01T00:00:00Z",
              "provision": {"type": "deny", "provision": [{"type": "permit", "purpose": [
                  {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                   "code": "HRESCH"}]}]}}  # fmt: skip
    assert client.put(f"/api/v1/patients/{yes}/consents", json=permit,
                      headers=auth(doc)).status_code == 200  # fmt: skip
    researcher = mint("res", Role.researcher, org=None)
    r = client.get("/api/v1/export/deidentified", headers=auth(researcher))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    patients = [x for x in lines if x["resourceType"] == "Patient"]
    assert len(patients) == 1  # only the consenting patient
    text = r.text
    for value in ("Ada Consenting", "Bob Silent", yes, no):
        assert value not in text


def test_mental_health_plan_needs_consent_to_psychiatric_data(
    client: httpx.Client, mint: Mint, tmp_path: object
) -> None:
    """A questionnaire upload gives the plan a mental-health section (flags first); reading a
    plan with one needs consent to data labelled PSY as well as GDIS."""
    from pathlib import Path

    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    csv = Path(str(tmp_path)) / "phq9.csv"
    csv.write_text("id,instrument,date," + ",".join(f"item_{n}" for n in range(1, 10))
                   + "\np1,PHQ-9,2026-01-05,2,2,2,1,1,1,1,1,2\n")  # fmt: skip
    r = _upload(client, doc, pid, "questionnaires", csv, {})
    assert r.status_code == 201, r.text
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    url = f"/api/v1/patients/{pid}/plans/latest"
    plan = client.get(url, headers=auth(doc)).json()
    assert [(f["flag"], f["date"]) for f in plan["mental_health"]["flags"]] == [
        ("suicidal_ideation", "2026-01-05")
    ]
    assert plan["findings"][0]["title"].startswith("Positive PHQ-9 item 9 on 2026-01-05")
    base = {"resourceType": "Consent", "id": "c-psy", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{pid}"}, "dateTime": "2020-01-01T00:00:00Z"}  # fmt: skip
    deny_psy = {**base, "provision": {"type": "permit", "provision": [{"type": "deny",
                "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "PSY"}]}]}}  # fmt: skip
    assert client.put(f"/api/v1/patients/{pid}/consents", json=deny_psy,
                      headers=auth(doc)).status_code == 200  # fmt: skip
    denied = client.get(url, headers=auth(doc))
    assert denied.status_code == 403 and "consent" in denied.json()["detail"]
    permit = {**base, "provision": {"type": "permit"}}
    assert client.put(f"/api/v1/patients/{pid}/consents", json=permit,
                      headers=auth(doc)).status_code == 200  # fmt: skip
    assert client.get(url, headers=auth(doc)).status_code == 200


def test_research_export_leaves_out_psychiatric_content_without_consent_to_it(
    client: httpx.Client, mint: Mint, tmp_path: object
) -> None:
    """Research consent that withholds PSY-labelled data: the export keeps the patient but
    not the plan's mental-health findings; with PSY disclosure permitted they are exported."""
    from pathlib import Path

    doc = mint("dr-a", Role.clinician)
    pid = _create(client, doc)
    csv = Path(str(tmp_path)) / "phq9.csv"
    csv.write_text("id,instrument,date," + ",".join(f"item_{n}" for n in range(1, 10))
                   + "\np1,PHQ-9,2026-01-05,2,2,2,1,1,1,1,1,2\n")  # fmt: skip
    assert _upload(client, doc, pid, "questionnaires", csv, {}).status_code == 201
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    research = [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH"}]
    base = {"resourceType": "Consent", "id": "r-psy", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "research"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{pid}"}, "dateTime": "2020-01-01T00:00:00Z"}  # fmt: skip
    no_psy = {**base, "provision": {"type": "deny", "provision": [{"type": "permit",
              "purpose": research, "provision": [{"type": "deny", "securityLabel": [
                  {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                   "code": "PSY"}]}]}]}}  # fmt: skip
    researcher = mint("res", Role.researcher, org=None)

    def export() -> str:
        r = client.get("/api/v1/export/deidentified", headers=auth(researcher))
        assert r.status_code == 200, r.text
        return r.text

    assert client.put(f"/api/v1/patients/{pid}/consents", json=no_psy,
                      headers=auth(doc)).status_code == 200  # fmt: skip
    withheld = export()
    assert '"Patient"' in withheld and "review suicide risk" not in withheld
    everything = {**base, "provision": {"type": "deny", "provision": [
        {"type": "permit", "purpose": research}]}}  # fmt: skip
    assert client.put(f"/api/v1/patients/{pid}/consents", json=everything,
                      headers=auth(doc)).status_code == 200  # fmt: skip
    assert "review suicide risk" in export()
