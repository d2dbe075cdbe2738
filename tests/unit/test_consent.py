"""Consent decisions (FHIR R4 Consent): golden cases from the spec's examples and hand-built
ones, malformed input, properties, and ``precisionrx consent check``."""

from __future__ import annotations

import contextlib
import doctest
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.cli import main
from precisionrx.errors import InputError
from precisionrx.security import _consent_model as consent_model
from precisionrx.security import consent as consent_module
from precisionrx.security.consent import (
    PURPOSE_PARENT,
    ConsentDecision,
    ConsentRequest,
    decide,
    is_break_glass,
    is_treatment,
    parse_consent,
    parse_consents,
    parse_fhir_time,
    parse_request,
    permits,
    purpose_lineage,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "consent"
ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACTCODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


# --------------------------------------------------------------------------- builders


def prov(
    type_: str | None = None,
    *,
    actor: str | None = None,
    role: str | None = None,
    action: str | None = None,
    purpose: str | None = None,
    label: str | None = None,
    cls: str | None = None,
    period: tuple[str | None, str | None] | None = None,
    provisions: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """A Consent.provision in FHIR JSON, stating only the criteria given."""
    p: dict[str, Any] = {}
    if type_ is not None:
        p["type"] = type_
    if actor is not None or role is not None:
        a: dict[str, Any] = {
            "role": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": role or "PRCP",
                    }
                ]
            }
        }
        if actor is not None:
            a["reference"] = {"reference": actor}
        p["actor"] = [a]
    if action is not None:
        p["action"] = [{"coding": [{"system": ACTION_SYSTEM, "code": action}]}]
    if purpose is not None:
        p["purpose"] = [{"system": REASON_SYSTEM, "code": purpose}]
    if label is not None:
        p["securityLabel"] = [{"system": ACTCODE_SYSTEM, "code": label}]
    if cls is not None:
        p["class"] = [{"system": "http://hl7.org/fhir/resource-types", "code": cls}]
    if period is not None:
        p["period"] = {k: v for k, v in zip(("start", "end"), period, strict=True) if v}
    if provisions:
        p["provision"] = list(provisions)
    return p


def consent(
    cid: str,
    base: str | None = "permit",
    *,
    patient: str = "Patient/p1",
    status: str = "active",
    date: str | None = "2024-01-01",
    policy: str | None = None,
    provisions: tuple[dict[str, Any], ...] = (),
    **root: Any,
) -> dict[str, Any]:
    """A FHIR R4 Consent (valid against the R4 structure) with a root provision."""
    c: dict[str, Any] = {
        "resourceType": "Consent",
        "id": cid,
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": patient},
        "provision": prov(base, provisions=provisions, **root),
    }
    if date is not None:
        c["dateTime"] = date
    if policy is not None:
        c["policyRule"] = {"coding": [{"system": ACTCODE_SYSTEM, "code": policy}]}
    return c


REQUEST: dict[str, Any] = {
    "patient": "Patient/p1",
    "actor": "Practitioner/7",
    "purpose": "TREAT",
    "action": "access",
    "resource_type": "Observation",
    "security_labels": [],
    "at": "2024-06-01T12:00:00Z",
}


def req(**changes: Any) -> ConsentRequest:
    return parse_request({**REQUEST, **changes})


def run(*docs: dict[str, Any], default: str = "permit", **changes: Any) -> ConsentDecision:
    return decide(parse_consents(list(docs)), req(**changes), treatment_default=default)  # type: ignore[arg-type]


def spec(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"Consent-consent-example-{name}.json").read_text())
    return data


# --------------------------------------------------------------------------- spec examples

GOLDEN = [
    # file, request changes, decision, consent, break_glass
    ("basic", {"patient": "f001", "at": "2015-06-01T00:00:00Z"}, "PERMIT", None, False),
    ("basic", {"patient": "f001", "at": "2016-06-01T00:00:00Z", "purpose": "HRESCH"},
     "NO_CONSENT", None, False),
    ("notTime", {"patient": "Patient/f001", "at": "2015-01-15T00:00:00Z",
                 "purpose": "HRESCH"}, "NO_CONSENT", None, False),
    ("Out", {"patient": "f001", "actor": "Organization/f001", "at": "2020-01-01T00:00:00Z"},
     "DENY", "consent-example-Out", False),
    ("Out", {"patient": "f001", "actor": "Organization/f002", "at": "2020-01-01T00:00:00Z"},
     "PERMIT", None, False),
    ("Out", {"patient": "f001", "actor": "Organization/f001", "at": "2015-11-17T23:59:59Z"},
     "PERMIT", None, False),
    ("notOrg", {"patient": "f001", "actor": "Organization/f001", "action": "correct",
                "at": "2020-01-01T00:00:00Z"}, "DENY", "consent-example-notOrg", False),
    ("notOrg", {"patient": "f001", "actor": "Organization/f001", "action": "use",
                "at": "2020-01-01T00:00:00Z", "purpose": "HRESCH"}, "NO_CONSENT", None, False),
    ("Emergency", {"patient": "f001", "actor": "Organization/f001", "purpose": "ETREAT",
                   "at": "2020-01-01T00:00:00Z"}, "PERMIT", "consent-example-Emergency", True),
    ("Emergency", {"patient": "f001", "actor": "Organization/f001", "purpose": "BTG",
                   "at": "2020-01-01T00:00:00Z"}, "PERMIT", "consent-example-Emergency", True),
    ("Emergency", {"patient": "f001", "actor": "Organization/f001", "purpose": "TREAT",
                   "at": "2020-01-01T00:00:00Z"}, "PERMIT", None, False),
    ("smartonfhir", {"patient": "xcda", "resource_type": "MedicationRequest",
                     "at": "2016-06-23T07:10:00Z"}, "PERMIT", "consent-example-smartonfhir",
     False),
    ("smartonfhir", {"patient": "xcda", "resource_type": "MedicationRequest", "purpose": "HRESCH",
                     "at": "2016-06-23T07:40:00Z"}, "NO_CONSENT", None, False),
    ("smartonfhir", {"patient": "Patient/f001", "at": "2016-06-23T07:10:00Z",
                     "purpose": "HRESCH"}, "NO_CONSENT", None, False),
    ("signature", {"patient": "72", "actor": "Practitioner/13", "purpose": "HRESCH",
                   "at": "2016-06-01T00:00:00Z"}, "PERMIT", "consent-example-signature", False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "changes", "decision", "cid", "glass"), GOLDEN)
def test_spec_examples(
    name: str, changes: dict[str, Any], decision: str, cid: str | None, glass: bool
) -> None:
    got = decide(parse_consents(spec(name), source=name), req(**changes))
    assert (got.decision, got.consent, got.break_glass) == (decision, cid, glass), got.reason


def test_spec_example_reasons_say_why() -> None:
    basic = decide(parse_consents(spec("basic")), req(patient="f001", at="2015-06-01T00:00:00Z"))
    assert "1 dated after the request" in basic.reason
    late = decide(parse_consents(spec("basic")), req(patient="f001", at="2016-06-01T00:00:00Z"))
    assert "1 outside its period" in late.reason
    glass = decide(
        parse_consents(spec("Emergency")),
        req(patient="f001", actor="Organization/f001", purpose="ETREAT"),
    )
    assert "audit" in glass.reason and "provision.provision[0]" in glass.reason


def test_spec_example_model() -> None:
    (c,) = parse_consents(spec("smartonfhir"))
    assert c.id == "consent-example-smartonfhir" and c.patient == "Patient/xcda"
    assert c.base == "permit" and c.provision.type is None  # from policyRule OPTIN
    assert c.provision.period is not None and c.provision.period.start is not None
    assert c.provision.period.start.start == datetime(2016, 6, 23, 7, 2, 33, tzinfo=UTC)
    (nested,) = c.provision.provisions
    assert nested.type == "permit" and [k.code for k in nested.classes] == ["MedicationRequest"]
    (out,) = parse_consents(spec("Out"))
    assert out.base == "deny" and out.provision.actors[0].reference == "Organization/f001"
    (org,) = parse_consents(spec("notOrg"))
    assert org.base == "deny"  # the root type wins over policyRule OPTIN
    assert [a.code for a in org.provision.actions] == ["access", "correct"]


def test_spec_example_nested_without_type_is_refused() -> None:
    with pytest.raises(InputError) as err:
        parse_consents(spec("pkb"), source="pkb.json")
    text = str(err.value)
    assert "consent-example-pkb" in text and "provision.provision[0]" in text
    assert "permit or deny" in text and "pkb.json" in text


def test_builders_make_valid_fhir_r4_consents() -> None:
    from fhir.resources.R4B.consent import Consent as FhirConsent

    doc = consent(
        "c1",
        "permit",
        period=("2024-01-01", "2025-01-01"),
        provisions=(
            prov("deny", action="disclose", label="GDIS", actor="Organization/x", cls="Observation",
                 provisions=(prov("permit", purpose="TREAT"),)),
        ),
    )  # fmt: skip
    FhirConsent.model_validate(doc)
    parse_consent(doc)


# --------------------------------------------------------------------------- no consent


@pytest.mark.parametrize(
    ("purpose", "default", "decision"),
    [
        ("TREAT", "permit", "PERMIT"),
        ("TREAT", "deny", "NO_CONSENT"),
        ("COC", "permit", "PERMIT"),
        ("TREATDS", "deny", "NO_CONSENT"),
        ("HRESCH", "permit", "NO_CONSENT"),
        ("HRESCH", "deny", "NO_CONSENT"),
        ("CLINTRCH", "permit", "NO_CONSENT"),
        ("HOPERAT", "permit", "NO_CONSENT"),
        ("PATRQT", "permit", "NO_CONSENT"),
        ("PUBHLTH", "permit", "NO_CONSENT"),
    ],
)
def test_no_consent(purpose: str, default: str, decision: str) -> None:
    got = run(default=default, purpose=purpose)
    assert got.decision == decision and got.consent is None and not got.break_glass
    assert "no consent of Patient/p1 is on file" in got.reason
    if decision == "PERMIT":
        assert "deployment default for treatment (permit) applied" in got.reason
    elif is_treatment(purpose):
        assert "deployment default for treatment is deny" in got.reason
    else:
        assert "denied" in got.reason


def test_no_consent_break_glass_over_default_deny() -> None:
    got = run(default="deny", purpose="ETREAT")
    assert got.decision == "PERMIT" and got.break_glass and got.consent is None
    assert "audit" in got.reason
    assert not run(default="permit", purpose="ETREAT").break_glass


def test_bad_treatment_default() -> None:
    with pytest.raises(InputError):
        decide([], req(), treatment_default="maybe")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- applicability


def test_active_permit() -> None:
    got = run(consent("c1", "permit"), purpose="HRESCH")
    assert (got.decision, got.consent) == ("PERMIT", "c1")
    assert "base rule (permit)" in got.reason


@pytest.mark.parametrize(
    "status", ["inactive", "rejected", "draft", "proposed", "entered-in-error"]
)
def test_only_active_consents_apply(status: str) -> None:
    got = run(consent("c1", "permit", status=status), purpose="HRESCH")
    assert got.decision == "NO_CONSENT" and got.consent is None


def test_revocation_by_newer_consent_and_by_status() -> None:
    granted = consent("c1", "permit", date="2024-01-01")
    revoked = consent("c2", "deny", date="2024-03-01")
    assert run(granted, revoked, purpose="HRESCH").decision == "DENY"
    # revoked before the request's instant only
    assert run(granted, revoked, purpose="HRESCH", at="2024-02-01T00:00:00Z").consent == "c1"
    withdrawn = consent("c1", "permit", status="inactive")
    assert run(withdrawn, purpose="HRESCH").decision == "NO_CONSENT"
    # the older permit comes back into force when the newer deny is set inactive
    older = consent("c0", "permit", date="2023-01-01")
    assert run(older, consent("c2", "deny", status="inactive"), purpose="HRESCH").consent == "c0"


def test_period_outside_and_boundaries() -> None:
    c = consent("c1", "permit", period=("2024-01-01", "2024-05-31"))
    assert run(c, purpose="HRESCH", at="2024-05-31T23:59:59Z").decision == "PERMIT"
    assert run(c, purpose="HRESCH", at="2024-06-01T00:00:00Z").decision == "NO_CONSENT"
    assert run(c, purpose="HRESCH", at="2023-12-31T23:59:59Z").decision == "NO_CONSENT"
    open_end = consent("c1", "permit", period=("2024-01-01", None))
    assert run(open_end, purpose="HRESCH", at="2099-01-01T00:00:00Z").decision == "PERMIT"


def test_consent_dated_after_the_request_does_not_apply() -> None:
    c = consent("c1", "deny", date="2024-07-01T09:00:00+02:00")
    assert run(c, at="2024-07-01T06:59:59Z").decision == "PERMIT"  # default, not c1
    assert run(c, at="2024-07-01T07:00:00Z").decision == "DENY"


def test_newest_wins() -> None:
    a = consent("a", "deny", date="2024-02-01")
    b = consent("b", "permit", date="2024-01-01")
    assert run(a, b, purpose="HRESCH").consent == "a"
    assert run(b, a, purpose="HRESCH").consent == "a"
    # same dateTime: the later in the input order
    c = consent("c", "permit", date="2024-02-01")
    assert run(a, c, purpose="HRESCH").consent == "c"
    assert run(c, a, purpose="HRESCH").consent == "a"
    # undated counts as older than any dated consent
    u = consent("u", "deny", date=None)
    assert run(b, u, purpose="HRESCH").consent == "b"
    assert "newest of 2 applicable consents" in run(a, b, purpose="HRESCH").reason


def test_another_patients_consent_is_ignored() -> None:
    other = consent("c9", "deny", patient="Patient/p2")
    assert run(other, purpose="TREAT").consent is None
    assert run(other, purpose="HRESCH").decision == "NO_CONSENT"
    mine = consent("c1", "permit", patient="https://ehr.example/fhir/Patient/p1/_history/3")
    assert run(mine, patient="p1", purpose="HRESCH").consent == "c1"


def test_root_criteria_scope_the_consent() -> None:
    c = consent("c1", "deny", action="disclose")
    assert run(c, action="disclose").decision == "DENY"
    got = run(c, action="access", purpose="HRESCH")
    assert got.decision == "NO_CONSENT" and "about other actors" in got.reason


# --------------------------------------------------------------------------- nesting


GENOMIC_SHARING = consent(
    "c1", "permit", provisions=(prov("deny", action="disclose", label="GDIS"),)
)


@pytest.mark.parametrize(
    ("changes", "decision"),
    [
        ({"action": "disclose", "security_labels": ["GDIS"]}, "DENY"),
        ({"action": "disclose", "security_labels": ["N", "gdis"]}, "DENY"),
        ({"action": "access", "security_labels": ["GDIS"]}, "PERMIT"),
        ({"action": "disclose", "security_labels": []}, "PERMIT"),
        ({"action": "disclose", "security_labels": ["PSY"]}, "PERMIT"),
    ],
)
def test_nested_deny_for_genomic_disclosure(changes: dict[str, Any], decision: str) -> None:
    got = run(GENOMIC_SHARING, **changes)
    assert (got.decision, got.consent) == (decision, "c1")
    if decision == "DENY":
        assert "provision.provision[0]" in got.reason and "GDIS" in got.reason


def test_nested_permit_for_research_inside_base_deny() -> None:
    c = consent("c1", "deny", provisions=(prov("permit", purpose="HRESCH"),))
    assert run(c, purpose="HRESCH").decision == "PERMIT"
    assert run(c, purpose="CLINTRCH").decision == "PERMIT"  # under HRESCH in v3-ActReason
    assert run(c, purpose="CLINTRCHPC").decision == "PERMIT"
    assert run(c, purpose="TREAT").decision == "DENY"
    assert run(c, purpose="HOPERAT").decision == "DENY"


def test_deeper_nesting_decides() -> None:
    c = consent(
        "c1",
        "permit",
        provisions=(
            prov("deny", purpose="HRESCH", provisions=(
                prov("permit", actor="Organization/trial-unit", provisions=(
                    prov("deny", label="PSY"),
                )),
            )),
        ),
    )  # fmt: skip
    assert run(c, purpose="TREAT").decision == "PERMIT"
    assert run(c, purpose="HRESCH", actor="Organization/other").decision == "DENY"
    trial = {"purpose": "CLINTRCH", "actor": "Organization/trial-unit"}
    assert run(c, **trial).decision == "PERMIT"
    got = run(c, **trial, security_labels=["PSY"])
    assert (
        got.decision == "DENY" and "provision.provision[0].provision[0].provision[0]" in got.reason
    )
    # a child is only considered when its parent matched
    assert run(c, purpose="TREAT", actor="Organization/trial-unit").decision == "PERMIT"


def test_equally_deep_siblings_deny_wins() -> None:
    c = consent(
        "c1",
        "deny",
        provisions=(prov("permit", purpose="HRESCH"), prov("deny", label="GDIS")),
    )
    assert run(c, purpose="HRESCH").decision == "PERMIT"
    assert run(c, purpose="HRESCH", security_labels=["GDIS"]).decision == "DENY"
    # but a deeper permit beats a shallower deny
    d = consent(
        "c1",
        "permit",
        provisions=(
            prov("deny", label="GDIS"),
            prov("deny", purpose="HRESCH", provisions=(prov("permit", label="GDIS"),)),
        ),
    )
    assert run(d, purpose="HRESCH", security_labels=["GDIS"]).decision == "PERMIT"


def test_nested_period() -> None:
    c = consent("c1", "permit", provisions=(prov("deny", period=("2024-06-01", "2024-06-30")),))
    assert run(c, at="2024-06-15T00:00:00Z").decision == "DENY"
    assert run(c, at="2024-07-01T00:00:00Z").decision == "PERMIT"


# --------------------------------------------------------------------------- criteria


def test_actor_by_reference_and_by_role() -> None:
    by_ref = consent("c1", "permit", provisions=(prov("deny", actor="Practitioner/ex"),))
    assert run(by_ref, actor="Practitioner/ex").decision == "DENY"
    assert run(by_ref, actor="https://ehr.example/fhir/Practitioner/ex").decision == "DENY"
    assert run(by_ref, actor="Practitioner/other").decision == "PERMIT"
    assert run(by_ref, actor=None).decision == "PERMIT"
    role_only = consent(
        "c1",
        "permit",
        provisions=({"type": "deny", "actor": [{"role": {"coding": [{"code": "RESEARCHER"}]}}]},),
    )
    assert run(role_only, actor_role="RESEARCHER").decision == "DENY"
    assert run(role_only, actor_role="PRCP").decision == "PERMIT"
    assert run(role_only).decision == "PERMIT"
    # an actor given by reference matches whatever role the request states
    assert run(by_ref, actor="Practitioner/ex", actor_role="CST").decision == "DENY"


def test_purpose_hierarchy() -> None:
    assert purpose_lineage("CLINTRCHPC") == ("CLINTRCHPC", "CLINTRCH", "HRESCH")
    assert purpose_lineage("ERTREAT") == ("ERTREAT", "ETREAT", "TREAT")
    assert purpose_lineage("HRESCH") == ("HRESCH",)
    assert is_treatment("ETREAT") and is_treatment("POPHLTH") and not is_treatment("HRESCH")
    assert is_break_glass("BTG") and not is_break_glass("TREAT")
    treat = consent("c1", "deny", provisions=(prov("permit", purpose="TREAT"),))
    got = run(treat, purpose="ETREAT")
    assert got.decision == "PERMIT" and not got.break_glass  # permitted outright
    trial = consent("c1", "deny", provisions=(prov("permit", purpose="CLINTRCH"),))
    assert run(trial, purpose="HRESCH").decision == "DENY"  # the narrower does not cover
    assert len(PURPOSE_PARENT) == 62


def test_security_label_hierarchy_and_class() -> None:
    c = consent("c1", "permit", provisions=(prov("deny", label="SPI"),))
    assert run(c, security_labels=["PSY"]).decision == "DENY"  # PSY is-a SPI
    assert run(c, security_labels=["GDIS"]).decision == "PERMIT"
    k = consent("c1", "deny", provisions=(prov("permit", cls="MedicationRequest"),))
    assert run(k, resource_type="MedicationRequest").decision == "PERMIT"
    assert run(k, resource_type="Observation").decision == "DENY"
    assert run(k, resource_type=None).decision == "DENY"


def test_record_level_criteria_never_match() -> None:
    c = consent(
        "c1",
        "permit",
        provisions=(
            {
                "type": "deny",
                "data": [{"meaning": "instance", "reference": {"reference": "Task/1"}}],
            },
            {"type": "deny", "code": [{"coding": [{"system": "http://loinc.org", "code": "1-8"}]}]},
        ),
    )
    assert run(c).decision == "PERMIT"


def test_break_glass_over_a_deny() -> None:
    c = consent("c1", "deny")
    for purpose in ("ETREAT", "BTG", "ERTREAT"):
        got = run(c, purpose=purpose)
        assert (got.decision, got.consent, got.break_glass) == ("PERMIT", "c1", True)
        assert "must be audited" in got.reason
        assert got.as_dict() == {
            "decision": "PERMIT", "reason": got.reason, "consent": "c1", "break_glass": True,
        }  # fmt: skip
        assert permits(got)
    denied = run(c, purpose="TREAT")
    assert denied.as_dict() == {"decision": "DENY", "reason": denied.reason, "consent": "c1"}
    assert not permits(denied) and not permits(run(purpose="HRESCH"))


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"resourceType": "Patient", "id": "x"}, "'Patient' is not a Consent"),
        (consent("c1", "maybe"), "provision.type: 'maybe' is not permit or deny"),
        (consent("c1", provisions=({"purpose": []},)), "provision.provision[0]: a nested"),
        (consent("c1", period=("2024-13-01", None)), "provision.period.start"),
        (consent("c1", period=("2024-05-01", "2024-04-01")), "ends (2024-04-01) before"),
        (consent("c1", date="2024-05-01T10:00:00"), "a time needs a UTC offset"),
        (consent("c1", date="01/05/2024"), "dateTime"),
        (consent("c1", status="revoked"), "status: 'revoked' is not one of"),
        ({**consent("c1"), "status": None}, "status"),
        (consent("c1", None), "no base rule"),
        ({**consent("c1", None), "policyRule": [{"coding": [{"code": "OPTIN"}]},
                                               {"coding": [{"code": "OPTOUT"}]}]},
         "both opt-in and opt-out"),
        (consent("c1", provisions=({"type": "deny", "securityLabel": [{"display": "x"}]},)),
         "a coding without a code"),
        (consent("c1", provisions=({"type": "deny", "action": [{"text": "share"}]},)),
         "concept without a coded value"),
        (consent("c1", provisions=({"type": "deny", "actor": [{}]},)), "reference or a role"),
        (consent("c1", provisions=({"type": "deny", "purpose": "TREAT"},)), "expected a list"),
        ({**consent("c1"), "id": 5}, "id: expected a string"),
    ],
)  # fmt: skip
def test_malformed_consents(doc: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError) as err:
        parse_consents([doc], source="in.json")
    text = str(err.value)
    assert needle in text and "in.json" in text
    if doc.get("resourceType") == "Consent" and isinstance(doc.get("id"), str):
        assert "Consent c1" in text


def test_nesting_depth_is_bounded() -> None:
    p: dict[str, Any] = {"type": "deny"}
    for _ in range(40):
        p = {"type": "permit", "provision": [p]}
    with pytest.raises(InputError, match="nested more than"):
        parse_consent({**consent("deep"), "provision": p})


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]},
         "is not a Consent"),
        ({"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}, "entry[0] has no resource"),
        ({"resourceType": "Bundle", "entry": {}}, "not a list"),
        ({"resourceType": "Patient"}, "expected a Consent, a JSON array"),
        ("Consent", "expected a Consent, a JSON array"),
        ([1], "expected a Consent object"),
    ],
)  # fmt: skip
def test_malformed_collections(obj: Any, needle: str) -> None:
    with pytest.raises(InputError) as err:
        parse_consents(obj)
    assert needle in str(err.value)


def test_collections() -> None:
    one = consent("c1")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": one}]}
    assert [c.id for c in parse_consents(bundle)] == ["c1"]
    assert [c.id for c in parse_consents(one)] == ["c1"]
    assert parse_consents([]) == [] and parse_consents({"resourceType": "Bundle"}) == []
    unnamed = {k: v for k, v in one.items() if k != "id"}
    (c,) = parse_consents([unnamed])
    assert c.id is None and run(unnamed, purpose="HRESCH").consent is None


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"at": None}, "at is missing"),
        ({"at": ""}, "at is missing"),
        ({"at": "2024-06-01T12:00:00"}, "a time needs a UTC offset"),
        ({"at": "yesterday"}, "not a FHIR date"),
        ({"purpose": "TRAET"}, "did you mean TREAT"),
        ({"purpose": 3}, "purpose: expected a string"),
        ({"action": "read"}, "action 'read' is not one of"),
        ({"patient": None}, "patient is missing"),
        ({"security_labels": "GDIS"}, "security_labels: expected a list"),
        ({"security_label": ["GDIS"]}, "did you mean security_labels"),
    ],
)
def test_malformed_requests(changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError) as err:
        parse_request({**REQUEST, **changes}, source="req.json")
    assert needle in str(err.value) and "req.json" in str(err.value)


def test_request_normalisation() -> None:
    r = req(patient="p1", purpose="hresch", action="Disclose", security_labels=[" gdis ", "GDIS"],
            at="2024-06-01T14:00:00+02:00", actor="http://x.org/fhir/Practitioner/7")  # fmt: skip
    assert (r.patient, r.purpose, r.action, r.security_labels) == (
        "Patient/p1",
        "HRESCH",
        "disclose",
        ("GDIS",),
    )
    assert r.at == datetime(2024, 6, 1, 12, tzinfo=UTC) and r.actor == "Practitioner/7"
    assert req(at="2024-06-01").at == datetime(2024, 6, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="UTC offset"):
        ConsentRequest("p1", None, "TREAT", "access", None, (), datetime(2024, 1, 1))
    with pytest.raises(InputError):
        parse_request(["not", "an", "object"])


def test_fhir_time_intervals() -> None:
    y = parse_fhir_time("2024")
    assert (y.start, y.end) == (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    m = parse_fhir_time("2024-12")
    assert m.end == datetime(2025, 1, 1, tzinfo=UTC)
    t = parse_fhir_time("2024-02-29T23:30:00-01:00")
    assert t.start == datetime(2024, 3, 1, 0, 30, tzinfo=UTC)
    assert parse_fhir_time("9999").end.year == 9999
    for bad in ("2023-02-29", "2024-00", "2024-01-01T25:00:00Z", "2024-01-01T10:00:00+15:00"):
        with pytest.raises(ValueError, match="not"):
            parse_fhir_time(bad)


def test_docstring_examples_run() -> None:
    for module in (consent_module, consent_model):
        failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried and failures == 0


# --------------------------------------------------------------------------- properties

PURPOSES = sorted(PURPOSE_PARENT)
LABELS = ["GDIS", "PSY", "SPI", "ETH", "HIV", "N", "R"]
ACTIONS = ["collect", "access", "use", "disclose", "correct"]
ACTORS = ["Practitioner/1", "Practitioner/2", "Organization/1"]
DAYS = st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2023, 12, 31).date())


@st.composite
def provisions(draw: st.DrawFn, depth: int = 0, root: bool = False) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["purpose"] = draw(st.sampled_from(PURPOSES))
    if draw(st.booleans()):
        kw["action"] = draw(st.sampled_from(ACTIONS))
    if draw(st.booleans()):
        kw["label"] = draw(st.sampled_from(LABELS))
    if not root and draw(st.booleans()):
        kw["actor"] = draw(st.sampled_from(ACTORS))
    if draw(st.integers(0, 4)) == 0:
        start = draw(DAYS)
        kw["period"] = (start.isoformat(), None if draw(st.booleans()) else "2030-01-01")
    children: tuple[dict[str, Any], ...] = ()
    if depth < 3:
        children = tuple(draw(st.lists(provisions(depth + 1), max_size=3)))
    type_ = draw(st.sampled_from(["permit", "deny"]))
    return prov(type_, provisions=children, **kw)


@st.composite
def consents(draw: st.DrawFn) -> dict[str, Any]:
    root = draw(provisions(root=True))
    doc = consent(
        f"c{draw(st.integers(0, 10**6))}",
        status=draw(st.sampled_from(["active", "active", "inactive", "rejected", "draft"])),
        patient=draw(st.sampled_from(["Patient/p1", "Patient/p1", "Patient/p2"])),
        date=draw(st.none() | DAYS.map(lambda d: d.isoformat())),
    )
    doc["provision"] = root
    return doc


requests = st.fixed_dictionaries(
    {
        "patient": st.just("Patient/p1"),
        "actor": st.none() | st.sampled_from(ACTORS),
        "purpose": st.sampled_from(PURPOSES),
        "action": st.sampled_from(ACTIONS),
        "resource_type": st.none() | st.sampled_from(["Observation", "MedicationRequest"]),
        "security_labels": st.lists(st.sampled_from(LABELS), max_size=3),
        "at": st.just("2025-01-01T00:00:00Z"),
    }
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(consents(), max_size=5), requests, st.sampled_from(["permit", "deny"]))
def test_newer_blanket_deny_always_denies(
    docs: list[dict[str, Any]], request: dict[str, Any], default: str
) -> None:
    blanket = consent("revoke", "deny", date="2024-12-31")
    got = decide(
        parse_consents([*docs, blanket]),
        parse_request(request),
        treatment_default=default,  # type: ignore[arg-type]
    )
    assert got.consent == "revoke"
    if is_break_glass(request["purpose"]):
        assert (got.decision, got.break_glass) == ("PERMIT", True)
    else:
        assert (got.decision, got.break_glass) == ("DENY", False)


@PROPERTY
@given(
    st.lists(consents(), max_size=5),
    consents(),
    st.sampled_from(["inactive", "rejected", "entered-in-error", "draft"]),
    st.integers(0, 5),
    requests,
)
def test_a_consent_that_is_not_active_never_changes_the_decision(
    docs: list[dict[str, Any]], extra: dict[str, Any], status: str, where: int,
    request: dict[str, Any],
) -> None:  # fmt: skip
    r = parse_request(request)
    before = decide(parse_consents(docs), r)
    after_docs = [*docs]
    after_docs.insert(min(where, len(docs)), {**extra, "status": status})
    after = decide(parse_consents(after_docs), r)
    assert (after.decision, after.consent, after.break_glass) == (
        before.decision, before.consent, before.break_glass
    )  # fmt: skip


@PROPERTY
@given(st.lists(consents(), max_size=5), requests)
def test_decisions_are_well_formed(docs: list[dict[str, Any]], request: dict[str, Any]) -> None:
    got = decide(parse_consents(docs), parse_request(request))
    assert got.decision in ("PERMIT", "DENY", "NO_CONSENT") and got.reason
    assert permits(got) == (got.decision == "PERMIT")
    assert got.break_glass <= is_break_glass(request["purpose"])
    assert (got.consent is None) <= (got.decision != "DENY")
    json.dumps(got.as_dict())


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["resourceType", "id", "status", "provision", "type", "period", "start",
                         "end", "actor", "reference", "purpose", "code", "system", "coding",
                         "policyRule", "dateTime", "patient", "entry", "resource", "action"]),
        kids, max_size=5),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(JSONISH | consents().map(lambda c: {**c, "provision": {"type": "deny", "x": 1}}))
def test_parser_raises_only_input_errors(obj: Any) -> None:
    with contextlib.suppress(InputError):
        parse_consents(obj)


# --------------------------------------------------------------------------- command line


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["consent", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "consents": tmp_path / "consents.json",
        "request": tmp_path / "request.json",
        "bundle": tmp_path / "bundle.json",
        "broken": tmp_path / "broken.json",
    }
    paths["consents"].write_text(json.dumps([GENOMIC_SHARING]))
    paths["bundle"].write_text(
        json.dumps({"resourceType": "Bundle", "entry": [{"resource": GENOMIC_SHARING}]})
    )
    paths["request"].write_text(
        json.dumps({**REQUEST, "action": "disclose", "security_labels": ["GDIS"]})
    )
    paths["broken"].write_text('[{"resourceType": "Consent",')
    return paths


def test_cli_json_decision(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = cli(capsys, "check", str(files["consents"]), str(files["request"]))
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"decision", "reason", "consent"}
    assert (doc["decision"], doc["consent"]) == ("DENY", "c1") and "GDIS" in doc["reason"]
    code, out, _ = cli(capsys, "check", str(files["bundle"]), str(files["request"]))
    assert code == 0 and json.loads(out)["decision"] == "DENY"


def test_cli_text_output_file_and_default(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "check", str(files["consents"]), str(files["request"]),
                       "--format", "text")  # fmt: skip
    assert code == 0 and out.startswith("decision: DENY\nconsent: c1\nreason: ")
    empty = tmp_path / "none.json"
    empty.write_text("[]")
    research = tmp_path / "research.json"
    research.write_text(json.dumps({**REQUEST, "purpose": "HRESCH"}))
    target = tmp_path / "decision.json"
    code, out, err = cli(capsys, "check", str(empty), str(files["request"]),
                         "--treatment-default", "deny", "-o", str(target))  # fmt: skip
    assert code == 0 and out == "" and f"wrote {target}" in err
    assert json.loads(target.read_text()) == {
        "decision": "NO_CONSENT", "consent": None,
        "reason": json.loads(target.read_text())["reason"],
    }  # fmt: skip
    code, out, _ = cli(capsys, "check", str(empty), str(files["request"]))
    assert code == 0 and json.loads(out)["decision"] == "PERMIT"
    code, out, _ = cli(capsys, "check", str(empty), str(research))
    assert code == 0 and json.loads(out)["decision"] == "NO_CONSENT"


def test_cli_break_glass_field(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    glass = tmp_path / "glass.json"
    glass.write_text(json.dumps({**REQUEST, "purpose": "ETREAT", "action": "disclose",
                                 "security_labels": ["GDIS"]}))  # fmt: skip
    code, out, _ = cli(capsys, "check", str(files["consents"]), str(glass))
    doc = json.loads(out)
    assert code == 0 and doc["decision"] == "PERMIT" and doc["break_glass"] is True


@pytest.mark.parametrize(
    ("which", "needle"),
    [
        ("broken", "not valid JSON"),
        ("missing", "file not found"),
        ("directory", "is a directory"),
    ],
)
def test_cli_unreadable_input(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path, which: str,
    needle: str,
) -> None:  # fmt: skip
    path = {"broken": files["broken"], "missing": tmp_path / "nope.json", "directory": tmp_path}
    code, out, err = cli(capsys, "check", str(path[which]), str(files["request"]))
    assert code == InputError.exit_code and out == ""
    assert needle in err and str(path[which]) in err and "Traceback" not in err
    code, _, err = cli(capsys, "check", str(files["consents"]), str(path[which]))
    assert code == InputError.exit_code and needle in err


def test_cli_malformed_documents(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([consent("c7", "sometimes")]))
    code, _, err = cli(capsys, "check", str(bad), str(files["request"]))
    assert code == 2 and "Consent c7" in err and "permit or deny" in err
    no_at = tmp_path / "no_at.json"
    no_at.write_text(json.dumps({k: v for k, v in REQUEST.items() if k != "at"}))
    code, _, err = cli(capsys, "check", str(files["consents"]), str(no_at))
    assert code == 2 and "at is missing" in err and "no_at.json" in err
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = cli(capsys, "check", str(deep), str(files["request"]))
    assert code == 2 and "deep.json" in err


def test_cli_usage_errors(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, _, err = cli(capsys, "check", str(files["consents"]), str(files["request"]),
                       "--treatment-default", "maybe")  # fmt: skip
    assert code == 2 and "permit" in err
    code, _, err = cli(capsys, "check", str(files["consents"]), str(files["request"]),
                       "-o", str(files["request"]))  # fmt: skip
    assert code == 9 and "is also an input" in err
    code, _, _ = cli(capsys)
    assert code == 2
