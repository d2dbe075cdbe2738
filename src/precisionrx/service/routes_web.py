"""The web pages of ``precisionrx serve`` (docs/web.md): server-rendered HTML, readable without
JavaScript, for clinicians (``/patients``, ``/patients/{id}``) and patients (``/me``).

Every page is a client of the API: it calls the API's own route functions with the signed-in
identity, so reachability (404), consent (403) and the audit trail are those of the API, and a
page can show nothing the API would not give the same person. Sign-in and CSRF:
service/web_session.py.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from precisionrx import __version__
from precisionrx.errors import AccessDenied
from precisionrx.security.tokens import Identity, Role, TokenVerifier
from precisionrx.service import routes_patients, routes_plans
from precisionrx.service.routes_patients import state_of
from precisionrx.service.web_session import (
    COOKIE,
    MAX_TOKEN,
    csrf_ok,
    csrf_token,
    end_session,
    https,
    same_origin,
    session_identity,
    session_token,
    start_session,
)

router = APIRouter(include_in_schema=False)

#: Where each role lands after signing in.
HOME = {Role.clinician: "/patients", Role.patient: "/me", Role.admin: "/admin"}


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200,
            who: Identity | None = None) -> HTMLResponse:  # fmt: skip
    from precisionrx.service.web_pages import render

    session = session_token(request)
    base = {"who": who, "csrf": csrf_token(session) if session and who else "",
            "version": __version__, "path": request.url.path}  # fmt: skip
    return HTMLResponse(render(template, {**base, **context}), status_code=status)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def _signed_in(request: Request) -> Identity | Response:
    """The signed-in identity, or the redirect to sign in."""
    who = session_identity(state_of(request), request)
    return _to_login(request) if who is None else who


def _error(request: Request, who: Identity | None, exc: HTTPException) -> HTMLResponse:
    titles = {403: "Not permitted", 404: "Not found", 400: "Bad request"}
    return _render(request, "web_error.html.j2",
                   {"title": titles.get(exc.status_code, "Problem"), "message": str(exc.detail)},
                   status=exc.status_code, who=who)  # fmt: skip


def _safe_next(value: str | None) -> str | None:
    """A local path to return to after sign-in (never another site: ``//host``, a URL, or a
    path that becomes one when a browser strips the tabs and line breaks it ignores)."""
    from urllib.parse import urlsplit

    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    who = session_identity(state_of(request), request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME.get(who.role, "/login"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    state = state_of(request)
    return _render(request, "web_login.html.j2",
                   {"title": "Sign in", "next": _safe_next(next) or "",
                    "oidc": state.settings.oidc_client is not None})  # fmt: skip


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with a token: the session cookie, then the role's home page (or ``next``)."""
    state = state_of(request)
    token = token.strip()
    problem = None
    who = None
    if not same_origin(request):
        problem = "This sign-in came from another site and was refused."
    elif not token:
        problem = "Paste the token you were given (precisionrx token)."
    elif len(token) > MAX_TOKEN:
        problem = "This is longer than any token the service issues."
    else:
        try:
            who = state.verifier.verify(token)
        except AccessDenied as exc:
            state.audit_login(None, "failure", f"web sign-in: {exc.message}")
            problem = f"The token was not accepted: {exc.message}"
    if who is None or who.role not in HOME:
        if who is not None:
            problem = f"The {who.role.value} role has no pages yet; use the API."
        context = {"title": "Sign in", "next": _safe_next(next) or "", "error": problem,
                   "oidc": state.settings.oidc_client is not None}  # fmt: skip
        return _render(request, "web_login.html.j2", context, status=401)
    state.audit_login(who, "success", "web sign-in")
    response = RedirectResponse(_safe_next(next) or HOME[who.role], status_code=303)
    start_session(request, response, token)
    return response


OIDC_COOKIE = "prx_oidc"
NO_OIDC = "sign-in through an identity provider is not configured"
OIDC_PATH = "/login/oidc"


def _login_failed(request: Request, problem: str, next: str = "", status: int = 401) -> Response:
    state = state_of(request)
    context = {"title": "Sign in", "next": _safe_next(next) or "", "error": problem,
               "oidc": state.settings.oidc_client is not None}  # fmt: skip
    response = _render(request, "web_login.html.j2", context, status=status)
    response.delete_cookie(OIDC_COOKIE, path=OIDC_PATH, secure=https(request),
                           httponly=True, samesite="lax")  # fmt: skip
    return response


def _redirect_uri(request: Request) -> str:
    base = state_of(request).settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}{OIDC_PATH}/callback"


@router.get(OIDC_PATH)
def oidc_start(request: Request, next: str | None = None) -> Response:
    """Leave for the identity provider (authorization code flow with PKCE); the sign-in in
    progress is kept in a sealed cookie that lives ten minutes (security/oidc_login.py)."""
    from precisionrx.security.oidc_login import LOGIN_SECONDS, LoginRequest, authorization_url
    from precisionrx.security.oidc_login import seal as seal_login

    state = state_of(request)
    client = state.settings.oidc_client
    if client is None:
        return _error(request, None, HTTPException(404, NO_OIDC))
    try:
        endpoints = state.oidc_endpoints()
    except AccessDenied as exc:
        state.audit_login(None, "failure", f"web sign-in: {exc.message}")
        return _login_failed(request, f"The identity provider is not available: {exc.message}",
                             next or "", status=502)  # fmt: skip
    login = LoginRequest.new(_safe_next(next) or "")
    response = RedirectResponse(
        authorization_url(endpoints, client, _redirect_uri(request), login), status_code=303
    )
    # SameSite=Lax: the provider sends the browser back with a top-level GET from its own site,
    # which a Strict cookie would not reach
    response.set_cookie(OIDC_COOKIE, seal_login(login, state.login_key), max_age=LOGIN_SECONDS,
                        path=OIDC_PATH, secure=https(request), httponly=True,
                        samesite="lax")  # fmt: skip
    return response


@router.get(f"{OIDC_PATH}/callback", response_class=HTMLResponse)
def oidc_callback(
    request: Request,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    """Back from the identity provider: check the state, exchange the code, check the ID token,
    then keep a token the API accepts in the session cookie."""
    from precisionrx.security.oidc_login import exchange_code
    from precisionrx.security.oidc_login import unseal as unseal_login

    service = state_of(request)
    client = service.settings.oidc_client
    if client is None:
        return _error(request, None, HTTPException(404, NO_OIDC))
    try:
        login = unseal_login(request.cookies.get(OIDC_COOKIE), service.login_key)
        if not hmac.compare_digest(state.encode(), login.state.encode()):
            raise AccessDenied("the answer does not belong to this sign-in (state)")
        if error:
            raise AccessDenied(f"the identity provider did not sign you in ({error[:60]})")
        if not code:
            raise AccessDenied("the identity provider sent no code")
        answer = exchange_code(
            service.oidc_endpoints(),
            client,
            code=code[:2048],
            redirect_uri=_redirect_uri(request),
            verifier=login.verifier,
        )
        claims = service.verifier.verify_id_token(
            answer["id_token"], client_id=client.client_id, nonce=login.nonce
        )
        who, token = _session_from(service.verifier, answer, claims)
    except AccessDenied as exc:
        service.audit_login(None, "failure", f"web sign-in (OIDC): {exc.message}")
        return _login_failed(request, f"Sign-in failed: {exc.message}.")
    if who.role not in HOME:
        return _login_failed(request, f"The {who.role.value} role has no pages yet; use the API.")
    service.audit_login(who, "success", "web sign-in (OIDC)")
    target = login.next or HOME[who.role]
    # a page, not a redirect: the session cookie is SameSite=Strict, and a redirect would still
    # belong to the navigation the provider's site started, so the browser would not send it
    response = _render(request, "web_signed_in.html.j2",
                       {"title": "Signed in", "refresh_to": target, "subject": who.subject,
                        "role": who.role.value})  # fmt: skip
    start_session(request, response, token)
    response.delete_cookie(OIDC_COOKIE, path=OIDC_PATH, secure=https(request),
                           httponly=True, samesite="lax")  # fmt: skip
    return response


def _session_from(
    verifier: TokenVerifier, answer: dict[str, Any], claims: dict[str, Any]
) -> tuple[Identity, str]:
    """The first token of the provider's answer the API itself accepts (the access token, else
    the ID token when its audience is the API's), for the same subject as the ID token."""
    reasons = []
    for name in ("access_token", "id_token"):
        token = answer.get(name)
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > MAX_TOKEN:
            reasons.append(f"{name}: not a JWT the session can keep")
            continue
        try:
            who = verifier.verify(token)
        except AccessDenied as exc:
            reasons.append(f"{name}: {exc.message}")
            continue
        if who.subject != claims.get("sub"):
            raise AccessDenied("the access token names another subject than the ID token")
        return who, token
    raise AccessDenied(
        "the provider's tokens are not accepted by this service (" + "; ".join(reasons) + ")"
    )


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    if session_token(request) is not None and not csrf_ok(request, csrf):
        raise HTTPException(403, "the form is stale or came from another site; reload the page")
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    return response


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, q: str = "") -> Response:
    """The clinician's patients (their organisation), searchable by id; stale plans flagged."""
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    try:
        if who.role is not Role.clinician:
            raise HTTPException(403, f"the {who.role.value} role has no patient list")
        rows = routes_patients.list_patients(request, who, limit=1000, offset=0)
    except HTTPException as exc:
        return _error(request, who, exc)
    query = q.strip().lower()[:100]
    shown = [r for r in rows if query in r.id.lower()] if query else rows
    # safety flags first, then new critical findings, then the rest (each newest change first)
    shown.sort(key=lambda r: r.updated, reverse=True)
    shown.sort(key=lambda r: (not r.safety, not r.new_critical))
    flagged = sum(1 for r in shown if r.safety or r.new_critical)
    return _render(request, "web_patients.html.j2",
                   {"title": "Patients", "rows": shown, "q": q[:100], "total": len(rows),
                    "flagged": flagged}, who=who)  # fmt: skip


def _plan(
    request: Request, who: Identity, patient_id: str
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The newest plan as the API gives it to this identity (None when there is none yet)."""
    try:
        response = routes_plans.latest_plan(patient_id, request, who, routes_plans.PlanFormat.json)
    except HTTPException as exc:
        if exc.status_code == 404 and "no plan" in str(exc.detail):
            return None, {}
        raise
    body = bytes(response.body)
    return json.loads(body), {k: v for k, v in response.headers.items() if k.startswith("x-plan")}


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(patient_id: str, request: Request) -> Response:
    """One patient: the plan's key findings first, then its sections, the files on record."""
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    if who.role is Role.patient:
        return RedirectResponse("/me", status_code=303)
    try:
        record = routes_patients.read_patient(patient_id, request, who)
        plan, headers = _plan(request, who, patient_id)
    except HTTPException as exc:
        return _error(request, who, exc)
    context = {"title": f"Patient {patient_id}", "patient": record.model_dump(mode="json"),
               "plan": plan, "stale": headers.get("x-plan-stale") == "true",
               "added": request.query_params.get("added", "")[:40],
               "created": request.query_params.get("created") == "1"}  # fmt: skip
    return _render(request, "web_patient.html.j2", context, who=who)


#: CGM alert types in words (engines/monitoring/alerts.py).
ALERT_NAMES = {
    "urgent_low": "Urgent low", "low": "Low", "high": "High", "predicted_low": "Low predicted",
    "rapid_rise": "Rapid rise", "rapid_fall": "Rapid fall", "stale_15": "No data for 15 min",
    "stale_30": "No data for 30 min", "sensor_gap": "Sensor gap (data resumed)",
}  # fmt: skip


def _alert_rows(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The plan's newest CGM alerts with their time in the export's time zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    history = (section or {}).get("alert_history") or {}
    if not history.get("recent"):
        return []
    try:
        zone = ZoneInfo(str((section or {}).get("timezone")))
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    rows = []
    for a in history["recent"]:
        when = datetime.fromisoformat(a["time"].replace("Z", "+00:00")).astimezone(zone)
        unit = "mg/dL/min" if a["type"] in ("rapid_rise", "rapid_fall") else "mg/dL"
        if a["type"] in ("stale_15", "stale_30", "sensor_gap"):
            unit = "min"
        rows.append({**a, "local": when.strftime("%Y-%m-%d %H:%M"), "unit": unit})
    return rows


@router.get("/patients/{patient_id}/monitoring", response_class=HTMLResponse)
def monitoring_page(patient_id: str, request: Request) -> Response:
    """CGM monitoring: the consensus targets of the last 14 days against the 14 before, and the
    interactive ambulatory glucose profile (hover or focus a time of day for its readout)."""
    from precisionrx.records.monitoring import ModalDayBin
    from precisionrx.report.agp_interactive import interactive_agp_svg

    who = _signed_in_clinician(request)
    if isinstance(who, Response):
        return who
    try:
        plan, _headers = _plan(request, who, patient_id)
    except HTTPException as exc:
        return _error(request, who, exc)
    section = (plan or {}).get("monitoring")
    svg = None
    if section:
        bins = [ModalDayBin.model_validate(b) for b in section["agp"]["modal_day"]]
        agp = section["agp"]
        name = f"Ambulatory glucose profile of {patient_id}, {agp['first']} to {agp['last']}"
        svg = interactive_agp_svg(bins, name)
    from markupsafe import Markup

    context = {"title": f"Monitoring — {patient_id}", "patient": patient_id, "m": section,
               "svg": Markup(svg) if svg else None, "alert_names": ALERT_NAMES,
               "alerts": _alert_rows(section)}  # fmt: skip
    return _render(request, "web_monitoring.html.j2", context, who=who)


#: The plan's sections with a page of their own: heading, the plan key that must be present,
#: and the finding domains shown above it. (Monitoring has its own page, with the AGP.)
SECTIONS = {
    "pgx": ("Pharmacogenomics and medicines", "pgx", ("pgx", "interactions")),
    "cardio": ("Cardiometabolic risk and prevention", "cardio", ("cardio", "prs")),
    "oncology": ("Oncology: matched therapies", "oncology", ("oncology",)),
    "mental-health": ("Mental health", "mental_health", ("mental_health",)),
    "effects": ("Estimated treatment effects", "effects", ("effects",)),
}


@router.get("/patients/{patient_id}/sections/{section}", response_class=HTMLResponse)
def section_page(patient_id: str, section: str, request: Request) -> Response:
    """One section of the plan with every result's evidence, source and caveats, rendered by
    the same template as the full report, and the knowledge-base versions."""
    who = _signed_in_clinician(request)
    if isinstance(who, Response):
        return who
    if section not in SECTIONS:
        return _error(request, who, HTTPException(404, f"no section {section[:40]!r}"))
    heading, key, domains = SECTIONS[section]
    try:
        plan, headers = _plan(request, who, patient_id)
    except HTTPException as exc:
        return _error(request, who, exc)
    if plan is not None and not plan.get(key):
        message = f"the newest plan has no {heading.lower()} section"
        return _error(request, who, HTTPException(404, message))
    findings = [f for f in (plan or {}).get("findings", []) if f.get("domain") in domains]
    context = {"title": f"{heading} — {patient_id}", "heading": heading, "section": section,
               "patient": patient_id, "plan": plan, "findings": findings,
               "stale": headers.get("x-plan-stale") == "true"}  # fmt: skip
    return _render(request, "web_section.html.j2", context, who=who)


@router.get("/patients/{patient_id}/report", response_class=HTMLResponse)
def patient_report(patient_id: str, request: Request) -> Response:
    """The full printable HTML report of the newest plan (the API's ``?format=html``)."""
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    try:
        return routes_plans.latest_plan(patient_id, request, who, routes_plans.PlanFormat.html)
    except HTTPException as exc:
        return _error(request, who, exc)


@router.get("/me", response_class=HTMLResponse)
def my_page(request: Request) -> Response:
    """A patient's own plan in plain language."""
    signed = _signed_in_patient(request, redirect=True)
    if isinstance(signed, Response):
        return signed
    who, pid = signed
    try:
        plan, _headers = _plan(request, who, pid)
    except HTTPException as exc:
        return _error(request, who, exc)
    return _render(request, "web_me.html.j2", {"title": "My treatment plan", "plan": plan},
                   who=who)  # fmt: skip


def _signed_in_clinician(request: Request) -> Identity | Response:
    """The signed-in clinician, or the response to give instead (sign-in, or 403)."""
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    if who.role is not Role.clinician:
        return _error(request, who, HTTPException(403, "only a clinician may do this"))
    return who


def _signed_in_patient(request: Request, redirect: bool) -> tuple[Identity, str] | Response:
    """The signed-in patient and the patient id their token names, or the response to give
    instead: sign-in; another role's home page (``redirect``) or 403."""
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    if who.role is Role.patient and who.patient:
        return who, who.patient
    if redirect:
        return RedirectResponse(HOME.get(who.role, "/login"), status_code=303)
    return _error(request, who, HTTPException(403, "patients only"))


def _form_checked(request: Request, who: Identity, csrf: str) -> HTMLResponse | None:
    """An error page when the form's CSRF token or origin is wrong, else None."""
    if csrf_ok(request, csrf):
        return None
    problem = HTTPException(403, "the form is stale or came from another site; reload the page")
    return _error(request, who, problem)


def _clinician_form(request: Request, csrf: str) -> Identity | Response:
    """The signed-in clinician posting a form with a valid CSRF token, or the response to give
    instead (sign-in, 403)."""
    who = _signed_in_clinician(request)
    if isinstance(who, Response):
        return who
    refused = _form_checked(request, who, csrf)
    return who if refused is None else refused


@router.post("/patients/{patient_id}/plan")
def regenerate_plan(
    patient_id: str, request: Request, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Regenerate the plan (the API's ``POST …/plans``); then the job's progress page."""
    who = _clinician_form(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        started = routes_plans.start_plan(patient_id, request, Response(), who)
    except HTTPException as exc:
        return _error(request, who, exc)
    return RedirectResponse(f"/jobs/{started.job_id}", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request) -> Response:
    """A plan job's progress; the page reloads itself every second until the job ends (no
    script: an HTTP-equivalent refresh), then links to the patient."""
    state = state_of(request)
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    try:
        status = routes_plans.job_status(job_id, request, who)
    except HTTPException as exc:
        return _error(request, who, exc)
    job = state.store.get_job(job_id)
    patient = job.patient_id if job else ""
    if status.status == "done" and who.role is Role.clinician:
        return RedirectResponse(f"/patients/{patient}", status_code=303)
    return _render(request, "web_job.html.j2",
                   {"title": "Regenerating the plan", "job": status.model_dump(),
                    "patient": patient, "refresh": status.status in ("queued", "running")},
                   who=who)  # fmt: skip


#: Upload kinds as the form offers them, with what each is.
UPLOAD_KINDS = (
    ("germline_vcf", "Germline genome (VCF)"),
    ("outside_calls", "Outside pharmacogene calls (PharmCAT TSV)"),
    ("fhir_bundle", "FHIR Bundle (record, or a lab's Genomics Reporting results)"),
    ("tumor_maf", "Tumour variants (MAF)"),
    ("tumor_vcf", "Tumour variants (VCF)"),
    ("cna", "Copy-number alterations"),
    ("fusions", "Fusions"),
    ("cgm", "CGM export (CSV)"),
    ("vitals", "Wearable vitals (Apple Health export)"),
    ("medications", "Medication list"),
    ("questionnaires", "Questionnaires (FHIR QuestionnaireResponse)"),
)


def _upload_form(request: Request, who: Identity, patient_id: str, error: str | None = None,
                 chosen: str = "", status: int = 200) -> HTMLResponse:  # fmt: skip
    return _render(request, "web_upload.html.j2",
                   {"title": f"Add data for {patient_id}", "patient": patient_id,
                    "kinds": UPLOAD_KINDS, "error": error, "chosen": chosen},
                   status=status, who=who)  # fmt: skip


@router.get("/patients/{patient_id}/upload", response_class=HTMLResponse)
def upload_page(patient_id: str, request: Request) -> Response:
    who = _signed_in_clinician(request)
    if isinstance(who, Response):
        return who
    try:
        state_of(request).reachable(who, patient_id, "file.form")
    except HTTPException as exc:
        return _error(request, who, exc)
    return _upload_form(request, who, patient_id)


@router.post("/patients/{patient_id}/upload", response_class=HTMLResponse)
def upload(
    patient_id: str,
    request: Request,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    genome_build: Annotated[str, Form()] = "",
    sample: Annotated[str, Form()] = "",
    tumor_type: Annotated[str, Form()] = "",
    msi: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """Add a file (the API's upload: read with its kind's reader before it is stored); a file
    that does not read comes back with the reader's message next to the file field."""
    from precisionrx.service.uploads import FileKind

    who = _clinician_form(request, csrf)
    if isinstance(who, Response):
        return who
    if kind not in FileKind.__members__:
        return _upload_form(request, who, patient_id, "Choose what the file is.", kind, 422)
    options = {"genome_build": genome_build or None, "sample": sample or None,
               "tumor_type": tumor_type or None, "msi": msi or None,
               "timezone": timezone or None}  # fmt: skip
    if options["genome_build"] not in (None, "GRCh37", "GRCh38"):
        return _upload_form(request, who, patient_id, "Genome build: GRCh37 or GRCh38.", kind, 422)
    try:
        routes_patients.upload_file(patient_id, request, who, file, FileKind(kind),
                                    callable_mb=None, **options)  # fmt: skip
    except HTTPException as exc:
        if exc.status_code in (413, 422):
            return _upload_form(request, who, patient_id, str(exc.detail), kind, exc.status_code)
        return _error(request, who, exc)
    return RedirectResponse(f"/patients/{patient_id}?added={quote(kind)}", status_code=303)


#: The consent the choices page writes (it replaces only this one of the patient's consents).
CHOICES_ID = "web-choices"


def _choices(consents: list[dict[str, Any]]) -> dict[str, bool | None]:
    """The research and psychiatric-sharing choices a stored choices consent records."""
    mine = next((c for c in consents if c.get("id") == CHOICES_ID), None)
    if mine is None:
        return {"research": None, "psychiatric": None}
    nested = (mine.get("provision") or {}).get("provision") or []

    def codes(p: dict[str, Any], key: str) -> set[str]:
        return {str(c.get("code")) for c in p.get(key) or [] if isinstance(c, dict)}

    research = next((p.get("type") == "permit" for p in nested if "HRESCH" in codes(p, "purpose")),
                    None)  # fmt: skip
    psy_denied = any(p.get("type") == "deny" and "PSY" in codes(p, "securityLabel") for p in nested)
    return {"research": research, "psychiatric": not psy_denied}


def choices_consent(
    patient_id: str, research: bool, psychiatric: bool, when: str
) -> dict[str, Any]:
    """A FHIR R4 Consent recording the page's two choices: treatment permitted (base permit),
    research (purpose HRESCH) permitted or denied, psychiatric data (label PSY) shared for
    treatment or withheld (break-glass still applies; docs/service.md, consent model)."""
    v3_reason = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    v3_code = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    nested: list[dict[str, Any]] = [
        {"type": "permit" if research else "deny",
         "purpose": [{"system": v3_reason, "code": "HRESCH"}]},
    ]  # fmt: skip
    if not psychiatric:
        nested.append({"type": "deny", "securityLabel": [{"system": v3_code, "code": "PSY"}]})
    return {
        "resourceType": "Consent", "id": CHOICES_ID, "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_id}"}, "dateTime": when,
        "provision": {"type": "permit", "provision": nested},
    }  # fmt: skip


def _consent_page(request: Request, who: Identity, pid: str, saved: bool = False) -> Response:
    try:
        consents = routes_patients.get_consents(pid, request, who)
    except HTTPException as exc:
        return _error(request, who, exc)
    back = "/me" if who.role is Role.patient else f"/patients/{pid}"
    return _render(request, "web_consent.html.j2",
                   {"title": "Consent choices", "patient": pid, "choices": _choices(consents),
                    "others": [c for c in consents if c.get("id") != CHOICES_ID],
                    "saved": saved, "back": back,
                    "action": "/me/consent" if who.role is Role.patient
                    else f"/patients/{pid}/consent"}, who=who)  # fmt: skip


def _save_consent(request: Request, who: Identity, pid: str, csrf: str, research: str,
                  psychiatric: str) -> Response:  # fmt: skip
    from datetime import UTC, datetime

    if (refused := _form_checked(request, who, csrf)) is not None:
        return refused
    if research not in ("yes", "no") or psychiatric not in ("yes", "no"):
        return _error(request, who, HTTPException(400, "answer both questions (yes or no)"))
    try:
        kept = [c for c in routes_patients.get_consents(pid, request, who)
                if c.get("id") != CHOICES_ID]  # fmt: skip
        when = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        mine = choices_consent(pid, research == "yes", psychiatric == "yes", when)
        routes_patients.put_consents(pid, [*kept, mine], request, who)
    except HTTPException as exc:
        return _error(request, who, exc)
    return _consent_page(request, who, pid, saved=True)


@router.get("/patients/{patient_id}/consent", response_class=HTMLResponse)
def consent_page(patient_id: str, request: Request) -> Response:
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    if who.role is Role.patient:
        return RedirectResponse("/me/consent", status_code=303)
    return _consent_page(request, who, patient_id)


@router.post("/patients/{patient_id}/consent", response_class=HTMLResponse)
def consent_save(
    patient_id: str,
    request: Request,
    csrf: Annotated[str, Form()] = "",
    research: Annotated[str, Form()] = "",
    psychiatric: Annotated[str, Form()] = "",
) -> Response:
    who = _signed_in_clinician(request)
    if isinstance(who, Response):
        return who
    return _save_consent(request, who, patient_id, csrf, research, psychiatric)


@router.get("/me/consent", response_class=HTMLResponse)
def my_consent_page(request: Request) -> Response:
    signed = _signed_in_patient(request, redirect=True)
    if isinstance(signed, Response):
        return signed
    who, pid = signed
    return _consent_page(request, who, pid)


@router.post("/me/consent", response_class=HTMLResponse)
def my_consent_save(
    request: Request,
    csrf: Annotated[str, Form()] = "",
    research: Annotated[str, Form()] = "",
    psychiatric: Annotated[str, Form()] = "",
) -> Response:
    signed = _signed_in_patient(request, redirect=False)
    if isinstance(signed, Response):
        return signed
    who, pid = signed
    return _save_consent(request, who, pid, csrf, research, psychiatric)


@router.post("/patients/{patient_id}/medication-check", response_class=HTMLResponse)
def medication_check_page(
    patient_id: str,
    request: Request,
    csrf: Annotated[str, Form()] = "",
    drug: Annotated[str, Form()] = "",
) -> Response:
    """ "What if I prescribe X?": the API's medication check, shown as the card the order would
    get at order entry."""
    from precisionrx.service.routes_medcheck import MedicationCheckIn, medication_check

    who = _clinician_form(request, csrf)
    if isinstance(who, Response):
        return who
    drug = drug.strip()[:200]
    if not drug:
        return _error(request, who, HTTPException(400, "name the medicine to check"))
    try:
        result = medication_check(patient_id, MedicationCheckIn(drug=drug), request, who)
    except HTTPException as exc:
        return _error(request, who, exc)
    return _render(request, "web_medcheck.html.j2",
                   {"title": f"Medication check: {drug}", "patient": patient_id,
                    "result": result.model_dump()}, who=who)  # fmt: skip


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request, actor: str = "", action: str = "", outcome: str = "", patient: str = ""
) -> Response:
    """Administration: the audit trail's integrity, an audit search (newest first), the roles,
    the identities seen, and the knowledge-base versions."""
    from precisionrx.service.routes_admin import AuditFormat, read_audit

    state = state_of(request)
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    if who.role is not Role.admin:
        return _error(request, who, HTTPException(403, "only an administrator may see this page"))
    trail = read_audit(request, who, after=0, limit=10_000, format=AuditFormat.json)
    rows = trail["rows"]
    wanted = {"actor": actor.strip()[:100], "action": action.strip()[:100],
              "outcome": outcome.strip()[:40], "patient": patient.strip()[:100]}  # fmt: skip
    pseudonym = state.store.keys.patient_pseudonym(wanted["patient"]) if wanted["patient"] else ""
    found = [
        r for r in reversed(rows)
        if wanted["actor"].lower() in str(r.get("actor", "")).lower()
        and wanted["action"].lower() in str(r.get("action", "")).lower()
        and (not wanted["outcome"] or r.get("outcome") == wanted["outcome"])
        and (not pseudonym or r.get("patient") == pseudonym)
    ]  # fmt: skip
    identities = sorted({(str(r.get("actor")), str(r.get("role"))) for r in rows
                         if r.get("role") not in (None, "none", "service")})  # fmt: skip
    return _render(request, "web_admin.html.j2",
                   {"title": "Administration", "chain": trail["chain"], "rows": found[:200],
                    "matches": len(found), "total": len(rows), "wanted": wanted,
                    "identities": identities, "kbs": state.kb.versions(),
                    "roles": ROLE_TEXT}, who=who)  # fmt: skip


#: What each role may do (docs/service.md, "Identity and roles").
ROLE_TEXT = (
    ("clinician", "patients of their organisation: records, files, plans, consents, checks"),
    ("patient", "their own record and plan (plain language), consent choices, data download"),
    ("researcher", "the de-identified, consent-gated export only"),
    ("admin", "the audit trail, integrity and knowledge-base versions; no patient data"),
)


@router.get("/me/download/{what}")
def my_download(what: str, request: Request) -> Response:
    """The right of access: the patient's record (JSON) or whole plan (FHIR R4 Bundle), as the
    API gives them to the patient."""
    signed = _signed_in_patient(request, redirect=False)
    if isinstance(signed, Response):
        return signed
    who, pid = signed
    try:
        if what == "record.json":
            record = routes_patients.read_patient(pid, request, who)
            body = record.model_dump_json(indent=2)
            media = "application/json"
        elif what == "plan.fhir.json":
            got = routes_plans.latest_plan(pid, request, who, routes_plans.PlanFormat.fhir)
            body, media = bytes(got.body).decode(), "application/fhir+json"
        elif what == "wallet-card.fhir.json":
            body = json.dumps(_wallet(request, who, pid), indent=2, allow_nan=False)
            media = "application/fhir+json"
        else:
            raise HTTPException(404, "no such download")
    except HTTPException as exc:
        return _error(request, who, exc)
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{what}"'})  # fmt: skip


def _wallet(request: Request, who: Identity, patient_id: str) -> dict[str, Any]:
    """The wallet card as a FHIR Bundle, cut from the plan Bundle the API gives the patient."""
    from precisionrx.report.fhir.wallet import wallet_bundle

    got = routes_plans.latest_plan(patient_id, request, who, routes_plans.PlanFormat.fhir)
    return wallet_bundle(json.loads(bytes(got.body)))


@router.get("/me/wallet-card", response_class=HTMLResponse)
def wallet_card(request: Request) -> Response:
    """A printable card of the patient's pharmacogenomic results for other doctors and
    pharmacists: the genotypes and the medicines whose advice they change, read from the card's
    own FHIR Bundle (``/me/download/wallet-card.fhir.json``), so the page and the file agree."""
    from precisionrx.io.fhir_genomics import genomics_from_data

    signed = _signed_in_patient(request, redirect=False)
    if isinstance(signed, Response):
        return signed
    who, pid = signed
    try:
        card = _wallet(request, who, pid)
    except HTTPException as exc:
        return _error(request, who, exc)
    read = genomics_from_data([(card, "wallet card")], validate=False).result
    phenotypes: dict[str, list[str]] = {}
    for imp in read.implications:
        if imp.gene and imp.drug and imp.phenotype:
            phenotypes.setdefault(f"{imp.gene}: {imp.phenotype}", []).append(imp.drug)
    context = {"title": "Pharmacogenomic wallet card", "genotypes": read.genotypes,
               "hla": read.hla, "phenotypes": sorted(phenotypes.items())}  # fmt: skip
    return _render(request, "web_wallet.html.j2", context, who=who)


__all__ = ["COOKIE", "choices_consent", "router"]
