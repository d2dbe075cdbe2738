"""The web pages through the live service (server-rendered, no JavaScript needed): sign-in
with a token and the session cookie's flags, CSRF on forms, the clinician's patient list and
patient page, the patient's own page, and the API's access rules on every page."""

from __future__ import annotations

import re
import time

import httpx

from precisionrx.security.tokens import Role
from testkit.cgm import cgm_csv
from tests.service.conftest import LiveServer, Mint, auth, wait_job
from tests.service.helpers import DEMO_FILES, demo_record, withhold_genetic_data


def _patient_with_plan(client: httpx.Client, token: str) -> str:
    pid: str = client.post("/api/v1/patients", json=demo_record(), headers=auth(token)).json()["id"]
    kind, path, form = DEMO_FILES[0]
    r = client.post(f"/api/v1/patients/{pid}/files", headers=auth(token),
                    files={"file": (path.name, path.read_bytes())}, data={"kind": kind, **form})  # fmt: skip
    assert r.status_code == 201, r.text
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(token)).json()
    assert wait_job(client, token, job["status_url"])["status"] == "done"
    return pid


def _browser(live: LiveServer) -> httpx.Client:
    """A cookie-keeping client that sends Origin as a browser does on form posts."""
    return httpx.Client(base_url=live.url, timeout=60, headers={"Origin": live.url})


def _sign_in(browser: httpx.Client, token: str) -> httpx.Response:
    return browser.post("/login", data={"token": token, "next": ""})


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def test_sign_in_sets_a_strict_httponly_session(live: LiveServer, mint: Mint) -> None:
    with _browser(live) as b:
        assert b.get("/patients").status_code == 303  # not signed in: to /login
        assert b.get("/patients").headers["location"].startswith("/login?next=/patients")
        page = b.get("/login")
        assert page.status_code == 200 and '<label for="token">' in page.text
        bad = _sign_in(b, "not-a-token")
        assert bad.status_code == 401 and 'aria-invalid="true"' in bad.text
        assert "prx_session" not in b.cookies
        r = _sign_in(b, mint("dr-a", Role.clinician))
        assert r.status_code == 303 and r.headers["location"] == "/patients"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain http on loopback; https adds Secure
        assert b.get("/patients").status_code == 200


def test_sign_in_from_another_site_is_refused(live: LiveServer, mint: Mint) -> None:
    with httpx.Client(base_url=live.url, headers={"Origin": "https://evil.example"}) as b:
        r = _sign_in(b, mint("dr-a", Role.clinician))
        assert r.status_code == 401 and "prx_session" not in b.cookies


def test_next_never_leaves_the_site(live: LiveServer, mint: Mint) -> None:
    with _browser(live) as b:
        r = b.post("/login", data={"token": mint("dr-a", Role.clinician),
                                   "next": "//evil.example/x"})  # fmt: skip
        assert r.headers["location"] == "/patients"


def test_logout_needs_the_form_token(live: LiveServer, mint: Mint) -> None:
    with _browser(live) as b:
        _sign_in(b, mint("dr-a", Role.clinician))
        page = b.get("/patients").text
        assert b.post("/logout", data={"csrf": "0" * 40}).status_code == 403
        assert b.get("/patients").status_code == 200  # still signed in
        r = b.post("/logout", data={"csrf": _csrf(page)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert b.get("/patients").status_code == 303


def test_clinician_finds_a_patient_and_reads_key_findings_first(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient_with_plan(client, doc)
    other = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    with _browser(live) as b:
        _sign_in(b, doc)
        listing = b.get("/patients", params={"q": pid[:12]}).text
        assert f'href="/patients/{pid}"' in listing and f'href="/patients/{other}"' not in listing
        page = b.get(f"/patients/{pid}")
        assert page.status_code == 200
        html = page.text
        # the demo genome is CYP2C19 *2/*2: the clopidogrel finding, before the sections
        assert html.index("Key findings") < html.index("Sections") < html.index("Files on record")
        assert "CYP2C19" in html and "Decision support" in html
        for landmark in ('<main id="main"', '<nav aria-label="Main"', 'class="skip"'):
            assert landmark in html
        report = b.get(f"/patients/{pid}/report")
        assert report.status_code == 200 and "Personalised treatment plan" in report.text
        assert "No plan yet" in b.get(f"/patients/{other}").text


def test_pages_keep_the_apis_access_rules(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient_with_plan(client, doc)
    with _browser(live) as b:  # a clinician of another organisation: no such patient
        _sign_in(b, mint("dr-b", Role.clinician, org="org-b"))
        assert b.get(f"/patients/{pid}").status_code == 404
        assert pid not in b.get("/patients").text
    withhold_genetic_data(client, doc, pid)
    with _browser(live) as b:  # the patient's consent withholds genetic data
        _sign_in(b, doc)
        r = b.get(f"/patients/{pid}")
        assert r.status_code == 403 and "consent" in r.text


def test_patient_reads_only_their_own_plan(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient_with_plan(client, doc)
    someone = _patient_with_plan(client, doc)
    with _browser(live) as b:
        r = _sign_in(b, mint("pat", Role.patient, patient=pid, org=None))
        assert r.headers["location"] == "/me"
        me = b.get("/me")
        assert me.status_code == 200 and "Your plan in plain language" in me.text
        assert "Talk to your doctor" in me.text
        assert b.get(f"/patients/{someone}").status_code == 303  # patients have /me only
        assert b.get("/patients").status_code == 403
        assert b.get(f"/patients/{someone}/report").status_code == 404


def test_upload_regenerate_and_progress(live: LiveServer, client: httpx.Client, mint: Mint) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    kind, path, form = DEMO_FILES[0]
    with _browser(live) as b:
        _sign_in(b, doc)
        page = b.get(f"/patients/{pid}/upload")
        assert page.status_code == 200 and '<label for="file">' in page.text
        token = _csrf(page.text)
        bad = b.post(f"/patients/{pid}/upload", data={"csrf": token, "kind": "germline_vcf"},
                     files={"file": ("x.vcf", b"this is not a VCF\n")})  # fmt: skip
        assert bad.status_code == 422
        assert 'id="file-error"' in bad.text and 'aria-invalid="true"' in bad.text
        assert "PRX-IN" in bad.text  # the reader's own message, next to the field
        forged = b.post(f"/patients/{pid}/upload", data={"csrf": "0" * 40, "kind": kind},
                        files={"file": (path.name, path.read_bytes())})  # fmt: skip
        assert forged.status_code == 403
        assert client.get(f"/api/v1/patients/{pid}/files", headers=auth(doc)).json() == []
        ok = b.post(f"/patients/{pid}/upload", data={"csrf": token, "kind": kind, **form},
                    files={"file": (path.name, path.read_bytes())})  # fmt: skip
        assert ok.status_code == 303 and ok.headers["location"].startswith(f"/patients/{pid}?")
        patient = b.get(ok.headers["location"]).text
        assert "File added" in patient and "germline vcf" in patient
        started = b.post(f"/patients/{pid}/plan", data={"csrf": _csrf(patient)})
        assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
        job_url = started.headers["location"]
        deadline = time.monotonic() + 120
        while True:
            r = b.get(job_url)
            if r.status_code == 303:  # done: back to the patient
                assert r.headers["location"] == f"/patients/{pid}"
                break
            assert r.status_code == 200 and 'http-equiv="refresh"' in r.text
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert "Key findings" in b.get(f"/patients/{pid}").text


def test_consent_choices_decide_research_export(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    researcher = auth(mint("res", Role.researcher, org=None))

    def exported() -> int:
        r = client.get("/api/v1/export/deidentified", headers=researcher)
        assert r.status_code == 200
        return sum(1 for line in r.text.splitlines() if '"resourceType": "Patient"' in line
                   or '"resourceType":"Patient"' in line)  # fmt: skip

    assert exported() == 0  # no research consent: refused
    with _browser(live) as b:
        _sign_in(b, mint("pat", Role.patient, patient=pid, org=None))
        page = b.get("/me/consent")
        assert page.status_code == 200 and "Not answered yet" in page.text
        saved = b.post("/me/consent", data={"csrf": _csrf(page.text), "research": "yes",
                                            "psychiatric": "no"})  # fmt: skip
        assert saved.status_code == 200 and "Saved" in saved.text
        assert 'id="research-yes" name="research" value="yes" required checked' in saved.text
        assert exported() == 1
        stored = client.get(f"/api/v1/patients/{pid}/consents", headers=auth(doc)).json()
        assert [c["id"] for c in stored] == ["web-choices"]
        again = b.post("/me/consent", data={"csrf": _csrf(saved.text), "research": "no",
                                            "psychiatric": "yes"})  # fmt: skip
        assert again.status_code == 200
        assert exported() == 0  # revoked at once
        forged = b.post("/me/consent", data={"csrf": "0" * 40, "research": "yes",
                                             "psychiatric": "yes"})  # fmt: skip
        assert forged.status_code == 403 and exported() == 0


def test_medication_check_uses_genotypes_and_current_medicines(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    """Demo genome CYP2C19 *2/*2 (poor metabolizer): clopidogrel is critical (CPIC: avoid);
    CYP2D6 *1/*4 (intermediate) with paroxetine on record converts to poor for codeine."""
    doc = mint("dr-a", Role.clinician)
    pid = _patient_with_plan(client, doc)
    api = client.post(f"/api/v1/patients/{pid}/medication-check", json={"drug": "Plavix"},
                      headers=auth(doc))  # fmt: skip
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["matched_drug"] == "clopidogrel" and body["status"] == "action"
    assert body["card"]["indicator"] == "critical" and "suggestions" not in body["card"]
    unknown = client.post(f"/api/v1/patients/{pid}/medication-check",
                          json={"drug": "amoxicillin"}, headers=auth(doc)).json()  # fmt: skip
    assert unknown["matched_drug"] is None and unknown["card"] is None
    record = demo_record(medications=[{"name": "paroxetine 20 mg"}])
    client.put(f"/api/v1/patients/{pid}", json=record, headers=auth(doc)).raise_for_status()
    codeine = client.post(f"/api/v1/patients/{pid}/medication-check", json={"drug": "codeine"},
                          headers=auth(doc)).json()  # fmt: skip
    assert codeine["card"]["indicator"] == "critical"
    assert "CYP2D6 Poor Metabolizer" in codeine["card"]["summary"]
    with _browser(live) as b:
        _sign_in(b, doc)
        page = b.get(f"/patients/{pid}").text
        r = b.post(f"/patients/{pid}/medication-check", data={"csrf": _csrf(page),
                                                                "drug": "clopidogrel"})  # fmt: skip
        assert r.status_code == 200 and "card-critical" in r.text and "Avoid clopidogrel" in r.text


def test_patient_downloads_and_wallet_card(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient_with_plan(client, doc)
    with _browser(live) as b:
        _sign_in(b, mint("pat", Role.patient, patient=pid, org=None))
        record = b.get("/me/download/record.json")
        assert record.status_code == 200 and record.json()["id"] == pid
        assert "attachment" in record.headers["content-disposition"]
        plan = b.get("/me/download/plan.fhir.json")
        assert plan.status_code == 200 and plan.json()["resourceType"] == "Bundle"
        card = b.get("/me/wallet-card")
        assert card.status_code == 200
        assert "CYP2C19" in card.text and "*2/*2" in card.text and "clopidogrel" in card.text
        assert b.get("/me/download/other").status_code == 404


def test_admin_sees_audit_integrity_and_kb_versions(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    with _browser(live) as b:
        _sign_in(b, doc)
        assert b.get("/admin").status_code == 403
    with _browser(live) as b:
        r = _sign_in(b, mint("root", Role.admin, org=None))
        assert r.headers["location"] == "/admin"
        page = b.get("/admin").text
        assert "Intact" in page and "Knowledge bases" in page and "pharmcat" in page.lower()
        mine = b.get("/admin", params={"patient": pid}).text
        assert "patient.create" in mine
        assert "patient.create" not in b.get("/admin", params={"patient": "nobody"}).text


def test_monitoring_page_draws_an_interactive_agp(
    live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()["id"]
    r = client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                    files={"file": ("cgm.csv", cgm_csv(90))},
                    data={"kind": "cgm", "timezone": "UTC"})  # fmt: skip
    assert r.status_code == 201, r.text
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    with _browser(live) as b:
        _sign_in(b, doc)
        page = b.get(f"/patients/{pid}/monitoring")
        assert page.status_code == 200
        html = page.text
        assert html.count('class="bin" tabindex="0" role="img"') == 96  # 15-minute bins
        assert re.search(r'aria-label="12:00–12:15: median \d+; 25–75 %: \d+–\d+; 5–95 %', html)
        assert "Consensus targets" in html and "<script" not in html
        assert f'href="/patients/{pid}/monitoring"' in b.get(f"/patients/{pid}").text
        other = client.post("/api/v1/patients", json=demo_record(), headers=auth(doc)).json()
        assert "No CGM data" in b.get(f"/patients/{other['id']}/monitoring").text
