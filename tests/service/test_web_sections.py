"""The clinician's patient list flags (new critical finding, safety flag, consent kept), the
per-section pages, the CGM alert history and the FHIR wallet card, through the live service."""

from __future__ import annotations

import json

import httpx

from precisionrx.io.fhir_genomics import genomics_from_data
from precisionrx.security.tokens import Role
from testkit.cgm import cgm_csv
from tests.service.conftest import LiveServer, Mint, auth, wait_job
from tests.service.helpers import DEMO_FILES, demo_record, withhold_genetic_data
from tests.service.test_web import _browser, _sign_in


def _upload(client: httpx.Client, token: str, pid: str, files: list[tuple[str, bytes, str, dict[str, str]]]) -> None:  # fmt: skip
    for name, content, kind, form in files:
        r = client.post(f"/api/v1/patients/{pid}/files", headers=auth(token),
                        files={"file": (name, content)}, data={"kind": kind, **form})  # fmt: skip
        assert r.status_code == 201, r.text


def _plan(client: httpx.Client, token: str, pid: str) -> None:
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(token)).json()
    assert wait_job(client, token, job["status_url"])["status"] == "done"


def _demo_patient(client: httpx.Client, token: str, n_files: int = 3) -> str:
    pid: str = client.post("/api/v1/patients", json=demo_record(), headers=auth(token)).json()["id"]
    _upload(
        client, token, pid, [(p.name, p.read_bytes(), k, f) for k, p, f in DEMO_FILES[:n_files]]
    )
    _plan(client, token, pid)
    return pid


def _listed(client: httpx.Client, token: str, pid: str) -> dict[str, object]:
    rows = client.get("/api/v1/patients", headers=auth(token)).json()
    (row,) = [r for r in rows if r["id"] == pid]
    return dict(row)


def test_list_flags_a_new_critical_finding_once(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    quiet = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    pid = _demo_patient(client, doc, n_files=2)
    row = _listed(client, doc, pid)
    # the demo: CYP2C19 *2/*2 on clopidogrel, DPYD on capecitabine, SLCO1B1 on simvastatin
    assert "clopidogrel: change drug" in row["critical"]
    assert "capecitabine: tumour therapy with a germline DPYD conflict" in row["critical"]
    assert "simvastatin + amlodipine: major interaction" in row["critical"]
    assert row["new_critical"] == row["critical"]  # a first plan: all new
    assert row["safety"] == []
    assert _listed(client, doc, quiet) == {**_listed(client, doc, quiet), "critical": [],
                                           "new_critical": [], "safety": []}  # fmt: skip
    with _browser(live) as b:
        _sign_in(b, doc)
        html = b.get("/patients").text
        assert '<span class="flag flag-critical">new critical finding' in html
        assert "clopidogrel: change drug" in html
        assert html.index(pid) < html.index(quiet)  # flagged patients first
    _plan(client, doc, pid)  # the same data again: nothing new
    row = _listed(client, doc, pid)
    assert row["new_critical"] == [] and "clopidogrel: change drug" in row["critical"]
    with _browser(live) as b:
        _sign_in(b, doc)
        html = b.get("/patients").text
        assert (
            '<span class="flag flag-critical">' not in html and "clopidogrel: change drug" in html
        )


def test_flags_follow_the_patients_consent(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _demo_patient(client, doc, n_files=1)
    withhold_genetic_data(client, doc, pid)
    row = _listed(client, doc, pid)
    assert row["critical"] == [] and row["new_critical"] == [] and row["safety"] == []
    with _browser(live) as b:
        _sign_in(b, doc)
        html = b.get("/patients").text
        assert pid in html and "clopidogrel" not in html


def test_urgent_lows_are_a_safety_flag_with_their_history(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    from precisionrx.engines.monitoring.alerts import AlertConfig, Reading, replay

    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    csv = cgm_csv(30, seed=3)  # noise around a daily trough reaches below 55 mg/dL
    _upload(client, doc, pid, [("cgm.csv", csv, "cgm", {"timezone": "UTC"})])
    _plan(client, doc, pid)
    plan = client.get(f"/api/v1/patients/{pid}/plans/latest", headers=auth(doc)).json()
    history = plan["monitoring"]["alert_history"]
    # the same rules replayed here over the last 14 days give the same counts
    from datetime import datetime, timedelta

    rows = [line.split(",") for line in csv.decode().splitlines()[1:]]
    times = [datetime.fromisoformat(t + "+00:00") for t, _ in rows]
    cut = max(times) - timedelta(days=14)
    expected = replay([Reading(pid, t, float(v)) for t, (_, v) in zip(times, rows, strict=True) if t > cut],
                      AlertConfig(low=70.0, high=250.0))  # fmt: skip
    assert sum(history["current"].values()) == len(expected)
    assert (
        history["current"]["urgent_low"] == sum(a.type.value == "urgent_low" for a in expected) > 0
    )
    assert [a["time"] for a in history["recent"]] == sorted(
        (a["time"] for a in history["recent"]), reverse=True
    )
    row = _listed(client, doc, pid)
    assert any("urgent-low glucose alert" in s for s in row["safety"])
    with _browser(live) as b:
        _sign_in(b, doc)
        assert '<span class="flag flag-safety">safety flag' in b.get("/patients").text
        page = b.get(f"/patients/{pid}/monitoring").text
        assert "Alert history" in page and "Urgent low" in page and "The newest" in page
        assert f"<strong>{history['current']['urgent_low']}</strong>" in page


def test_section_pages_show_each_result_with_its_sources(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _demo_patient(client, doc, n_files=2)
    with _browser(live) as b:
        _sign_in(b, doc)
        patient = b.get(f"/patients/{pid}").text
        for section in ("pgx", "cardio", "oncology"):
            assert f'href="/patients/{pid}/sections/{section}"' in patient
        pgx = b.get(f"/patients/{pid}/sections/pgx")
        assert pgx.status_code == 200
        assert "CYP2C19 Poor Metabolizer" in pgx.text and "Knowledge bases used" in pgx.text
        assert "simvastatin + amlodipine" in pgx.text  # the interactions, with the medicines
        assert "pharmcat" in pgx.text  # a knowledge-base version
        onc = b.get(f"/patients/{pid}/sections/oncology").text
        assert "Therapy options" in onc and "BRAF" in onc and "germline DPYD conflict" in onc
        cardio = b.get(f"/patients/{pid}/sections/cardio").text
        # the demo takes clopidogrel (cardiovascular disease inferred): statin guidance, no
        # primary-prevention equation, and the caveat saying why
        assert "<h3>Statin</h3>" in cardio and "established_cvd_inferred" in cardio
        assert b.get(f"/patients/{pid}/sections/mental-health").status_code == 404  # none
        assert b.get(f"/patients/{pid}/sections/other").status_code == 404
    with _browser(live) as b:  # another organisation: not found, as in the API
        _sign_in(b, mint("dr-b", Role.clinician, org="org-b"))
        assert b.get(f"/patients/{pid}/sections/pgx").status_code == 404


def test_wallet_card_as_fhir(live: LiveServer, client: httpx.Client, mint: Mint) -> None:
    from fhir.resources.R4B.bundle import Bundle

    doc = mint("dr-a", Role.clinician)
    pid = _demo_patient(client, doc, n_files=2)
    with _browser(live) as b:
        _sign_in(b, mint("pat", Role.patient, patient=pid, org=None))
        r = b.get("/me/download/wallet-card.fhir.json")
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/fhir+json"
        )
        card = r.json()
        whole = b.get("/me/download/plan.fhir.json").json()
        assert 'href="/me/download/wallet-card.fhir.json"' in b.get("/me/wallet-card").text
    Bundle.model_validate(card)  # FHIR R4(B)
    urls = {e["fullUrl"] for e in card["entry"]}
    for e in card["entry"]:  # every reference resolves inside the card
        for ref in _refs(e["resource"]):
            assert ref in urls or not ref.startswith("urn:uuid:"), ref
    profiles = {p for e in card["entry"] for p in e["resource"].get("meta", {}).get("profile", [])}
    assert not any(p.endswith(("molecular-biomarker", "risk")) for p in profiles)
    # the tumour's own therapeutic implications are not on a pharmacist's card
    assert any(e["resource"]["id"].startswith("tumour-") for e in whole["entry"])
    assert not any(e["resource"]["id"].startswith("tumour-") for e in card["entry"])
    assert len(card["entry"]) < len(whole["entry"])
    # the card carries every genotype and implication of the plan
    mine = genomics_from_data([(card, "card")], validate=False).result
    plan = genomics_from_data([(whole, "plan")], validate=False).result
    assert sorted(g.model_dump_json() for g in mine.genotypes) == sorted(
        g.model_dump_json() for g in plan.genotypes
    )
    germline = [i for i in plan.implications if "tumour-" not in i.source]
    assert len(mine.implications) == len(germline) > 0
    assert any(g.gene == "CYP2C19" and g.diplotype == "*2/*2" for g in mine.genotypes)


def _refs(value: object) -> list[str]:
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_plan_json_keeps_the_alert_history_strict(client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _demo_patient(client, doc, n_files=3)
    text = client.get(f"/api/v1/patients/{pid}/plans/latest", headers=auth(doc)).text
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert '"alert_history"' in text


def test_clinician_creates_a_patient_from_the_web(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    import re

    import yaml

    from tests.service.helpers import DEMO
    from tests.service.test_web import _csrf

    doc = mint("dr-a", Role.clinician)
    with _browser(live) as b:
        _sign_in(b, doc)
        assert 'href="/patients/new"' in b.get("/patients").text
        form = b.get("/patients/new").text
        token = _csrf(form)
        fields = {"csrf": token, "reference": "MRN-001", "name": "", "sex_at_birth": "female",
                  "age_years": "58", "country": "GB", "ancestry_self_reported": "",
                  "medications": "clopidogrel 75 mg daily\ncapecitabine planned\nparacetamol\n",
                  "conditions": "Essential hypertension\n"}  # fmt: skip
        r = b.post("/patients/new", data=fields)
        assert r.status_code == 303, r.text
        pid = re.fullmatch(r"/patients/([0-9a-f]+)\?created=1", r.headers["location"])
        assert pid is not None
        record = client.get(f"/api/v1/patients/{pid[1]}", headers=auth(doc)).json()["record"]
        assert record["id"] == "MRN-001" and record["demographics"]["age_years"] == 58
        assert record["medications"][:3] == [
            {"name": "clopidogrel", "dose": "75 mg daily", "status": "active"},
            {"name": "capecitabine", "dose": "planned", "status": "active"},
            {"name": "paracetamol", "status": "active"},
        ]
        assert "Patient created" in b.get(r.headers["location"]).text
        # problems come back next to their field, with what was typed kept
        bad = b.post("/patients/new", data={**fields, "age_years": "200"})
        assert bad.status_code == 422 and 'id="age_years-error"' in bad.text
        assert "130" in bad.text and "clopidogrel 75 mg daily" in bad.text
        bad = b.post("/patients/new", data={**fields, "age_years": "fifty"})
        assert bad.status_code == 422 and 'id="age_years-error"' in bad.text
        bad = b.post("/patients/new", data={**fields, "reference": " "})
        assert bad.status_code == 422 and 'id="reference-error"' in bad.text
        # a whole patient file: the demo's, whose file paths the service refuses
        demo = (DEMO / "patient.yaml").read_bytes()
        bad = b.post(
            "/patients/new", data={"csrf": token}, files={"patient_file": ("p.yaml", demo)}
        )
        assert bad.status_code == 422 and 'id="file-error"' in bad.text
        data = yaml.safe_load(demo)
        del data["genomic_inputs"], data["monitoring"]
        good = b.post("/patients/new", data={"csrf": token},
                      files={"patient_file": ("p.yaml", yaml.safe_dump(data).encode())})  # fmt: skip
        assert good.status_code == 303
        bad = b.post(
            "/patients/new", data={"csrf": token}, files={"patient_file": ("p.json", b"{not json")}
        )
        assert bad.status_code == 422 and "not readable as JSON" in bad.text
        assert b.post("/patients/new", data={**fields, "csrf": "0" * 40}).status_code == 403
    with _browser(live) as b:
        _sign_in(b, mint("pat", Role.patient, patient="x", org=None))
        assert b.get("/patients/new").status_code == 403
