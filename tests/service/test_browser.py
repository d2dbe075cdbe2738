"""The web pages in a real browser: Playwright driving Debian's Chromium (``executable_path``;
browser downloads are not available here).

Sign-in per role, the demo patient's files uploaded through the upload page, the plan
regenerated and its key findings read, consent edited with the research export following it,
a patient kept out of another patient's pages, the plan reached by keyboard alone, an axe-core
scan of every page (no serious or critical violation), every page at 375 px and 1440 px wide
without horizontal scrolling, no console error anywhere. Screenshots go to
``$PRECISIONRX_SCREENSHOTS`` (CI keeps them) or a temporary folder.

Without Chromium these tests are skipped, except when ``PRECISIONRX_REQUIRE_BROWSER=1`` (set
by ``.ci/run``): then a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from precisionrx.security.tokens import Role
from tests.service.conftest import LiveServer, Mint, auth
from tests.service.helpers import DEMO_FILES, demo_record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("PRECISIONRX_REQUIRE_BROWSER") == "1"
if CHROMIUM is None and not REQUIRED:
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")
WIDTHS = (375, 1440)


@pytest.fixture
def database() -> None:
    """The browser tests run on the embedded database only (the API tests cover both)."""
    return


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = os.environ.get("PRECISIONRX_SCREENSHOTS") or tempfile.mkdtemp(prefix="prx-shots-")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    assert CHROMIUM is not None, "PRECISIONRX_REQUIRE_BROWSER=1 but Chromium is not installed"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Session:
    """One browser context (its own cookies) with console errors collected."""

    def __init__(self, chromium: Any, live: LiveServer, width: int = 1440) -> None:
        self.live = live
        self.context = chromium.new_context(viewport={"width": width, "height": 900},
                                            bypass_csp=True)  # fmt: skip
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> Any:
        return self.page.goto(self.live.url + path)

    def sign_in(self, token: str) -> None:
        self.go("/login")
        self.page.get_by_label("Access token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]  # fmt: skip


def _no_horizontal_scroll(page: Any) -> bool:
    width: bool = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )
    return width


def _patient(client: httpx.Client, token: str) -> str:
    pid: str = client.post("/api/v1/patients", json=demo_record(), headers=auth(token)).json()["id"]
    return pid


def test_clinician_uploads_regenerates_and_reads_key_findings(
    chromium: Any, live: LiveServer, client: httpx.Client, mint: Mint, shots: Path
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient(client, doc)
    s = Session(chromium, live)
    page = s.page
    s.sign_in(doc)
    assert page.url.endswith("/patients")
    page.get_by_label("Find a patient by id").fill(pid[:10])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=pid).click()
    assert "No plan yet" in page.content()
    for kind, path, form in DEMO_FILES:
        page.get_by_role("link", name="Add data").click()
        page.get_by_label("What the file is").select_option(kind)
        page.get_by_label("File", exact=True).set_input_files(str(path))
        if "genome_build" in form:
            page.get_by_label("Genome build (VCF, MAF)").select_option(form["genome_build"])
        if "tumor_type" in form:
            page.get_by_label("Tumour type (OncoTree code, e.g. COADREAD)").fill(form["tumor_type"])
            page.get_by_label("MSI status (MSI-H, MSS)").fill(form["msi"])
        if "timezone" in form:
            page.get_by_label("Time zone of the CGM export (e.g. Europe/London)").fill(
                form["timezone"]
            )
        page.get_by_role("button", name="Add the file").click()
        page.wait_for_load_state()
        assert "File added" in page.content(), page.content()[:2000]
    page.get_by_role("button", name="Regenerate plan").click()
    page.wait_for_url(f"**/patients/{pid}", timeout=120_000)
    findings = page.locator("#h-findings + ul").inner_text()
    assert "CYP2C19 Poor Metabolizer" in findings
    html = page.content()
    assert html.index("Key findings") < html.index("Sections")
    page.screenshot(path=str(shots / "patient-1440.png"), full_page=True)
    page.get_by_label("What if I prescribe…").fill("clopidogrel")
    page.get_by_role("button", name="Check").click()
    assert page.locator(".card-critical").count() == 1
    s.close()


def test_every_page_is_accessible_and_fits_phone_and_desktop(
    chromium: Any, live: LiveServer, client: httpx.Client, mint: Mint, shots: Path
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient(client, doc)
    for kind, path, form in DEMO_FILES:
        client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                    files={"file": (path.name, path.read_bytes())},
                    data={"kind": kind, **form}).raise_for_status()  # fmt: skip
    from tests.service.conftest import wait_job

    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    pages = {
        "clinician": (doc, ["/patients", "/patients/new", f"/patients/{pid}", f"/patients/{pid}/upload",
                            f"/patients/{pid}/consent", f"/patients/{pid}/monitoring",
                            *(f"/patients/{pid}/sections/{s}" for s in ("pgx", "cardio", "oncology"))]),
        "patient": (mint("pat", Role.patient, patient=pid, org=None),
                    ["/me", "/me/consent", "/me/wallet-card"]),
        "admin": (mint("root", Role.admin, org=None), ["/admin"]),
    }  # fmt: skip
    problems: list[str] = []
    for width in WIDTHS:
        anonymous = Session(chromium, live, width)
        anonymous.go("/login")
        problems += [f"/login: {v}" for v in _axe(anonymous.page)]
        if not _no_horizontal_scroll(anonymous.page):
            problems.append(f"/login at {width}px scrolls sideways")
        anonymous.page.screenshot(path=str(shots / f"login-{width}.png"), full_page=True)
        anonymous.close()
        for role, (token, paths) in pages.items():
            s = Session(chromium, live, width)
            s.sign_in(token)
            for p in paths:
                s.go(p)
                problems += [f"{p}: {v}" for v in _axe(s.page)]
                if not _no_horizontal_scroll(s.page):
                    problems.append(f"{p} at {width}px scrolls sideways")
                name = p.strip("/").replace("/", "-").replace(pid, "id") or "home"
                s.page.screenshot(path=str(shots / f"{role}-{name}-{width}.png"), full_page=True)
            s.close()
    assert problems == [], "\n".join(problems)


def test_keyboard_only_reaches_the_plan(
    chromium: Any, live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient(client, doc)
    s = Session(chromium, live)
    page = s.page
    s.go("/login")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.type(doc)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the Sign in button
    page.wait_for_url("**/patients")
    for _ in range(40):  # Tab until the patient's link has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == pid:
            break
    else:
        pytest.fail("the patient's link is not reachable by Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/patients/{pid}")
    assert page.evaluate("document.activeElement.tagName") in ("BODY", "A")
    s.close()


def test_consent_decides_research_export_and_patients_stay_in_their_record(
    chromium: Any, live: LiveServer, client: httpx.Client, mint: Mint
) -> None:
    doc = mint("dr-a", Role.clinician)
    pid = _patient(client, doc)
    other = _patient(client, doc)
    researcher = auth(mint("res", Role.researcher, org=None))

    def exported() -> int:
        text = client.get("/api/v1/export/deidentified", headers=researcher).text
        return text.count('"resourceType":"Patient"') + text.count('"resourceType": "Patient"')

    s = Session(chromium, live)
    page = s.page
    s.sign_in(mint("pat", Role.patient, patient=pid, org=None))
    assert page.url.endswith("/me")
    page.get_by_role("link", name="Your consent choices").click()
    page.get_by_label("Yes").first.check()  # research: yes
    page.locator("#psy-yes").check()
    page.get_by_role("button", name="Save").click()
    assert "Saved" in page.content() and exported() == 1
    page.locator("#research-no").check()
    page.get_by_role("button", name="Save").click()
    assert exported() == 0
    s.go(f"/patients/{other}")
    assert page.url.endswith("/me")  # a patient has their own page only
    response = s.go(f"/patients/{other}/report")
    assert response.status == 404
    s.errors = [e for e in s.errors if "404" not in e]  # the refused page itself
    s.close()


def test_agp_answers_hover_and_keyboard_on_90_days(
    chromium: Any, live: LiveServer, client: httpx.Client, mint: Mint, shots: Path
) -> None:
    """90 days of 5-minute CGM data: hovering a time of day shows its readout, and Tab reaches
    it too. (How fast it redraws is measured by benchmarks/bench_web.py, in the page.)"""
    from testkit.cgm import cgm_csv
    from tests.service.conftest import wait_job

    doc = mint("dr-a", Role.clinician)
    pid = _patient(client, doc)
    client.post(f"/api/v1/patients/{pid}/files", headers=auth(doc),
                files={"file": ("cgm.csv", cgm_csv(90))},
                data={"kind": "cgm", "timezone": "UTC"}).raise_for_status()  # fmt: skip
    job = client.post(f"/api/v1/patients/{pid}/plans", headers=auth(doc)).json()
    assert wait_job(client, doc, job["status_url"])["status"] == "done"
    s = Session(chromium, live)
    page = s.page
    s.sign_in(doc)
    s.go(f"/patients/{pid}/monitoring")
    assert _axe(page) == []
    bins = page.locator("svg.agp g.bin")
    assert bins.count() == 96
    visible = "el => getComputedStyle(el.querySelector('text')).visibility === 'visible'"
    for i in (0, 30, 48, 70, 95):
        target = bins.nth(i)
        assert not target.evaluate(visible)
        target.locator("rect.hit").hover()
        page.wait_for_function(
            "i => getComputedStyle(document.querySelectorAll('svg.agp g.bin')[i]"
            ".querySelector('text')).visibility === 'visible'", arg=i, timeout=2000)  # fmt: skip
        others = [j for j in (0, 30, 48, 70, 95) if j != i]
        assert not any(bins.nth(j).evaluate(visible) for j in others)  # one readout at a time
    page.screenshot(path=str(shots / "monitoring-agp-1440.png"), full_page=True)
    page.mouse.move(0, 0)
    bins.nth(10).focus()
    assert bins.nth(10).evaluate(visible)
    assert "02:30–02:45" in bins.nth(10).get_attribute("aria-label")
    s.close()


def test_sign_in_through_the_identity_provider(chromium: Any, tmp_path: Path) -> None:
    """The OpenID Connect code flow in the browser: the link on /login, the provider's redirect
    back, and the Strict session cookie in place on the page that follows."""
    from precisionrx.security.oidc_login import OidcClient
    from precisionrx.security.tokens import OidcSettings
    from precisionrx.service.app import open_state
    from precisionrx.service.settings import ServiceSettings
    from tests.service.conftest import MASTER
    from tests.service.oidc_provider import API_AUDIENCE, CLIENT_ID, CLIENT_SECRET, RunningProvider

    with RunningProvider() as provider:
        provider.user = {"sub": "dr-oidc", "role": "clinician", "org": "org-a"}
        oidc = OidcSettings(issuer=provider.url, audience=API_AUDIENCE,
                            jwks_url=provider.url + "/jwks")  # fmt: skip
        settings = ServiceSettings(home=tmp_path / "home", environ={"PRECISIONRX_MASTER_KEY": MASTER},
                                   oidc=oidc, oidc_client=OidcClient(CLIENT_ID, CLIENT_SECRET))  # fmt: skip
        state = open_state(settings)
        try:
            with LiveServer(settings, state) as live:
                s = Session(chromium, live)
                s.go("/patients")  # not signed in: to /login, keeping where to go
                s.page.get_by_role("link", name="Sign in with your organisation's account").click()
                s.page.wait_for_url("**/patients", timeout=20_000)
                assert s.page.get_by_role("heading", name="Patients").is_visible()
                assert "Sign out (dr-oidc)" in s.page.content()
                cookies = {c["name"]: c for c in s.context.cookies()}
                assert (
                    cookies["prx_session"]["httpOnly"]
                    and cookies["prx_session"]["sameSite"] == "Strict"
                )
                assert "prx_oidc" not in cookies
                s.close()
        finally:
            state.runner.shutdown()
            state.store.close()
