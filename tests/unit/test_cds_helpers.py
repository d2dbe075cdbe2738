"""CDS Hooks 2.0 integrator helpers (issue 18 items 2 and 3): client JWT checks, prefetch
templates, card-response validation and the ``precisionrx cds`` commands.

Spec examples are verbatim copies in tests/data/cds_hooks/ (see its README.md)."""

from __future__ import annotations

import base64
import doctest
import hashlib
import hmac
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from precisionrx.errors import InputError
from precisionrx.io import cds_prefetch
from precisionrx.io.cds_prefetch import (
    INVALID_TEMPLATE,
    OMIT_KEY,
    resolve_prefetch,
    resolve_prefetch_map,
)
from precisionrx.report.cds import validate as validate_module
from precisionrx.report.cds.validate import validate_cds_response
from precisionrx.security import cds_jwt
from precisionrx.security.cds_jwt import CdsJwtVerifier, JwtCheck, load_trusted_issuers
from testkit.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "cds_hooks"
ISS = "https://ehr.example.org"
AUD = "https://cds.example.org/cds-services/pgx-on-order-sign"
NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def spec(name: str) -> Any:
    (path,) = DATA.glob(f"{name}__*.json")
    return json.loads(path.read_text())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


# --------------------------------------------------------------------------------------------
# keys, issuers and tokens
# --------------------------------------------------------------------------------------------


class Keys:
    ec1 = ec.generate_private_key(ec.SECP384R1())
    ec2 = ec.generate_private_key(ec.SECP384R1())
    rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: Any, kid: str | None) -> dict[str, Any]:
    algorithm = ECAlgorithm if isinstance(key, ec.EllipticCurvePrivateKey) else RSAAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def trusted(*extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ISS: {"keys": [public_jwk(Keys.ec1, "ec-1"), public_jwk(Keys.rsa1, "rsa-1"), *extra]}}


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
        "jti": str(uuid.uuid4()),
        "tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(key: Any = None, alg: str = "ES384", kid: str | None = "ec-1", **changes: Any) -> str:
    headers = {"typ": "JWT"} | ({"kid": kid} if kid is not None else {})
    return jwt.encode(claims(**changes), key or Keys.ec1, algorithm=alg, headers=headers)


def with_header(tok: str, **header: Any) -> str:
    """``tok`` with its header replaced (signature kept)."""
    _, payload, signature = tok.split(".")
    return f"{b64json(header)}.{payload}.{signature}"


def hmac_token(secret: bytes, header: dict[str, Any] | None = None) -> str:
    head = b64json(header or {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
    signing_input = f"{head}.{b64json(claims())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def verifier() -> CdsJwtVerifier:
    return CdsJwtVerifier(trusted(), AUD)


def refused(check: JwtCheck, reason: str) -> bool:
    return not check.accepted and reason in check.reason and check.claims is None


# --------------------------------------------------------------------------------------------
# security/cds_jwt.py
# --------------------------------------------------------------------------------------------


def test_es384_and_rs384_accepted(verifier: CdsJwtVerifier) -> None:
    for tok in (token(), token(Keys.rsa1, "RS384", "rsa-1")):
        check = verifier.check(tok, now=NOW)
        assert check == JwtCheck(True, "ok", ISS, check.claims)
        assert check.claims is not None and check.claims["aud"] == AUD
        assert check.claims["tenant"] == "2ddd6c3a-8e9a-44c6-a305-52111ad302a2"


def test_audience_may_be_a_list_containing_the_service_url(verifier: CdsJwtVerifier) -> None:
    assert verifier.check(token(aud=["https://other.example", AUD]), now=NOW).accepted
    assert refused(verifier.check(token(aud=["https://other.example"]), now=NOW), "audience")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": AUD + "/"}, "audience does not match"),  # exact comparison, no normalising
        ({"aud": None}, "missing aud claim"),
        ({"exp": int(NOW.timestamp()) - 61}, "token expired"),
        ({"exp": None}, "missing exp claim"),
        ({"iat": None}, "missing iat claim"),
        ({"jti": None}, "missing jti claim"),
        ({"jti": ""}, "jti claim must be a non-empty string"),
        ({"iss": "https://evil.example"}, "issuer not trusted"),
        ({"iss": None}, "missing iss claim"),
        ({"exp": "tomorrow"}, "exp claim is not a NumericDate"),
        ({"nbf": int(NOW.timestamp()) + 600}, "not yet valid"),
        ({"exp": int(NOW.timestamp()) + 3700}, "over the 3600 s limit"),
    ],
)
def test_claims_refused(verifier: CdsJwtVerifier, changes: dict[str, Any], reason: str) -> None:
    assert refused(verifier.check(token(**changes), now=NOW), reason)


def test_iat_in_the_future_refused_beyond_the_leeway(verifier: CdsJwtVerifier) -> None:
    t = int(NOW.timestamp())
    check = verifier.check(token(iat=t + 300, exp=t + 600), now=NOW)
    assert refused(check, "iat in the future")
    assert verifier.check(token(iat=t + 30, exp=t + 300), now=NOW).accepted  # skew < 60 s


def test_expiry_uses_the_given_clock_and_the_leeway(verifier: CdsJwtVerifier) -> None:
    exp = int(NOW.timestamp()) + 300
    assert verifier.check(token(exp=exp), now=NOW + timedelta(seconds=359)).accepted
    assert refused(verifier.check(token(exp=exp), now=NOW + timedelta(seconds=361)), "expired")
    naive = (NOW + timedelta(seconds=361)).replace(tzinfo=None)  # naive = UTC
    assert refused(verifier.check(token(exp=exp), now=naive), "expired")


def test_replayed_jti_refused_until_the_token_expires(verifier: CdsJwtVerifier) -> None:
    tok = token()
    assert verifier.check(tok, now=NOW).accepted
    assert verifier.check(tok, now=NOW + timedelta(seconds=10)).reason == "replayed jti"
    # the same jti from another key of the same issuer is the same replay
    same = token(Keys.rsa1, "RS384", "rsa-1", jti=jwt.decode(tok, options={
        "verify_signature": False})["jti"])  # fmt: skip
    assert verifier.check(same, now=NOW).reason == "replayed jti"
    # a refused token is not remembered: its jti stays usable
    jti = "fresh-jti"
    assert not verifier.check(token(jti=jti, aud="https://x"), now=NOW).accepted
    assert verifier.check(token(jti=jti), now=NOW).accepted


def test_replay_cache_forgets_expired_tokens(verifier: CdsJwtVerifier) -> None:
    for _ in range(5):
        assert verifier.check(token(), now=NOW).accepted
    assert len(verifier._seen) == 5
    later = NOW + timedelta(seconds=300 + 61)
    late = token(iat=int(later.timestamp()), exp=int(later.timestamp()) + 60)
    assert verifier.check(late, now=later).accepted
    assert len(verifier._seen) == 1 and len(verifier._expiry) == 1


def test_replay_detection_is_thread_safe(verifier: CdsJwtVerifier) -> None:
    tok = token()
    results: list[JwtCheck] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(verifier.check(tok, now=NOW))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.reason for r in results) == ["ok"] + ["replayed jti"] * 7


def test_alg_none_refused(verifier: CdsJwtVerifier) -> None:
    for alg in ("none", "None", "NONE"):
        tok = f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(claims())}."
        assert verifier.check(tok, now=NOW).reason == "algorithm none not allowed"


def test_hmac_signed_with_the_public_key_refused(verifier: CdsJwtVerifier) -> None:
    """The RS/HS confusion attack: HS256 keyed with the issuer's public key (PEM or JWK)."""
    pem = Keys.rsa1.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_text = json.dumps(public_jwk(Keys.rsa1, "rsa-1")).encode()
    for secret in (pem, jwk_text):
        for alg in ("HS256", "HS384", "hs512"):
            tok = hmac_token(secret, {"alg": alg, "typ": "JWT", "kid": "rsa-1"})
            check = verifier.check(tok, now=NOW)
            assert refused(check, "symmetric algorithm"), check


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS384", "ES512", "EdDSA"])
def test_other_asymmetric_algorithms_refused(verifier: CdsJwtVerifier, alg: str) -> None:
    tok = with_header(token(), alg=alg, typ="JWT", kid="ec-1")
    assert refused(verifier.check(tok, now=NOW), "not allowed (ES384 or RS384)")


def test_key_type_must_match_the_algorithm(verifier: CdsJwtVerifier) -> None:
    rs384_with_ec_key = with_header(token(), alg="RS384", typ="JWT", kid="ec-1")
    assert refused(verifier.check(rs384_with_ec_key, now=NOW), "is EC, not usable with RS384")
    es384_with_rsa_key = with_header(token(Keys.rsa1, "RS384", "rsa-1"), alg="ES384", kid="rsa-1")
    assert refused(verifier.check(es384_with_rsa_key, now=NOW), "is RSA, not usable with ES384")


def test_tampered_payload_and_foreign_signature_refused(verifier: CdsJwtVerifier) -> None:
    head, _, signature = token().split(".")
    tampered = f"{head}.{b64json(claims(tenant='other'))}.{signature}"
    assert verifier.check(tampered, now=NOW).reason == "signature invalid"
    signed_by_another_key = token(Keys.ec2)  # kid ec-1, but not its key
    assert verifier.check(signed_by_another_key, now=NOW).reason == "signature invalid"


def test_key_selection_by_kid(verifier: CdsJwtVerifier) -> None:
    assert refused(verifier.check(token(kid="ec-9"), now=NOW), "for kid 'ec-9'")
    # no kid: the issuer's only key of the algorithm's type is used
    assert verifier.check(token(kid=None), now=NOW).accepted
    two_ec = CdsJwtVerifier(trusted(public_jwk(Keys.ec2, "ec-2")), AUD)
    assert refused(two_ec.check(token(kid=None), now=NOW), "without kid: issuer has 2 EC keys")
    assert two_ec.check(token(Keys.ec2, kid="ec-2"), now=NOW).accepted


def test_header_checks(verifier: CdsJwtVerifier) -> None:
    tok = token()
    assert refused(verifier.check(with_header(tok, alg="ES384", typ="at+jwt", kid="ec-1"),
                                  now=NOW), "is not JWT")  # fmt: skip
    crit = with_header(tok, alg="ES384", kid="ec-1", crit=["exp"], exp=1)
    assert refused(verifier.check(crit, now=NOW), "header")  # PyJWT refuses it before we do
    # jku is never fetched: a token pointing elsewhere is still checked with configured keys
    jku = jwt.encode(claims(), Keys.ec1, algorithm="ES384",
                     headers={"kid": "ec-1", "jku": "https://evil.example/jwks.json"})  # fmt: skip
    assert verifier.check(jku, now=NOW).accepted
    evil = ec.generate_private_key(ec.SECP384R1())  # a key only the jku URL would vouch for
    forged = jwt.encode(claims(), evil, algorithm="ES384",
                        headers={"kid": "ec-1", "jku": "https://evil.example/jwks.json"})  # fmt: skip
    assert verifier.check(forged, now=NOW).reason == "signature invalid"


@pytest.mark.parametrize("bad", ["", "abc", "a.b", "a.b.c", "x" * 20000, "....", "e30.e30."])
def test_malformed_tokens(verifier: CdsJwtVerifier, bad: str) -> None:
    check = verifier.check(bad, now=NOW)
    assert not check.accepted and check.reason


def test_trusted_issuers_file(tmp_path: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps(trusted()))
    assert load_trusted_issuers(path) == trusted()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"https://ehr": []}', "must be a JWK Set"),
        ('{"https://ehr": {"keys": []}}', "has no keys"),
        ('{"https://ehr": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}', "symmetric key"),
        ('{"https://ehr": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}}', "'OKP'"),
    ],
)
def test_bad_trusted_issuers_files(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as err:
        load_trusted_issuers(path)
    assert str(path) in str(err.value)


def test_unusable_keys_refused(tmp_path: Path) -> None:
    private = json.loads(ECAlgorithm.to_jwk(Keys.ec1))
    p256 = public_jwk(ec.generate_private_key(ec.SECP256R1()), "p256")
    small = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024), "small")
    wrong_alg = public_jwk(Keys.rsa1, "r") | {"alg": "ES384"}
    twins = [public_jwk(Keys.ec1, "same"), public_jwk(Keys.ec2, "same")]
    cases = [([private], "private key material"), ([p256], "P-384"),
             ([small], "1024 bits"), ([wrong_alg], "not usable"), (twins, "share a kid")]  # fmt: skip
    for keys, problem in cases:
        with pytest.raises(InputError, match=problem):
            CdsJwtVerifier({ISS: {"keys": keys}}, AUD)
    with pytest.raises(InputError, match="audience"):
        CdsJwtVerifier(trusted(), "")
    path = tmp_path / "missing.json"
    with pytest.raises(InputError, match="not found"):
        load_trusted_issuers(path)


# --------------------------------------------------------------------------------------------
# io/cds_prefetch.py
# --------------------------------------------------------------------------------------------


def test_spec_prefetch_templates_resolve() -> None:
    """spec__02 and spec__06 (templates), spec__07 (the data they name), spec__00 and spec__23
    (discovery), against the patient-view contexts and the spec__01 request."""
    pv = spec("patient-view__00")["context"]  # userId PractitionerRole/123, patientId 1288992
    hba1c = "Observation?patient=1288992&code=4548-4&_count=1&sort:desc=date"
    assert resolve_prefetch(spec("spec__02")["prefetch"]["hemoglobin-a1c"], pv) == hba1c
    resolved = resolve_prefetch_map(spec("spec__06")["prefetch"], pv)
    assert resolved == {
        "patient": "Patient/1288992",
        "hemoglobin-a1c": hba1c,
        "diabetes-type2": "Condition?patient=1288992&code=44054006&category=problem-list-item"
        "&status=active",
        "user": "PractitionerRole?_id=123",
    }
    data = spec("spec__07")["prefetch"]
    assert set(data) <= set(resolved)  # the example's data (abridged) is keyed like the templates
    assert resolved["user"].endswith("=" + data["user"])
    # with a Practitioner user the PractitionerRole query cannot be filled: its key is left out
    pv1 = spec("patient-view__01")["context"]
    assert "user" not in resolve_prefetch_map(spec("spec__06")["prefetch"], pv1)
    request = spec("spec__01")
    for service in spec("spec__00")["services"] + spec("spec__23")["services"]:
        for template in service.get("prefetch", {}).values():
            assert resolve_prefetch(template, request["context"]) in {
                "Patient/1288992", "MedicationRequest?patient=1288992"}  # fmt: skip


def test_spec_order_contexts() -> None:
    """spec__04/05: order contexts without patientId, with draftOrders (a Bundle)."""
    ctx4, ctx5 = spec("spec__04")["context"], spec("spec__05")["context"]
    assert resolve_prefetch("Patient/{{context.patientId}}", ctx4) == OMIT_KEY
    assert resolve_prefetch("Encounter/{{context.encounterId}}", ctx4) == "Encounter/456"
    assert resolve_prefetch("MedicationRequest/{{context.medicationRequestId}}", ctx5) == (
        "MedicationRequest/123"
    )
    assert resolve_prefetch("MedicationRequest/{{context.medicationRequestId}}", ctx4) == OMIT_KEY
    for bad in ("Bundle?x={{context.draftOrders}}", "MedicationRequest?_id="
                "{{context.draftOrders.entry}}", "X?a={{context.draftOrders.resourceType}}"):  # fmt: skip
        assert resolve_prefetch(bad, ctx5) == INVALID_TEMPLATE
    ctx2 = spec("examples__02")["context"]  # order-select: selections is an array
    assert resolve_prefetch("ServiceRequest?_id={{context.selections}}", ctx2) == INVALID_TEMPLATE


@pytest.mark.parametrize(
    ("user", "values"),
    [
        ("Practitioner/abc", {"userPractitionerId": "abc"}),
        ("PractitionerRole/123", {"userPractitionerRoleId": "123"}),
        ("Patient/p-1", {"userPatientId": "p-1"}),
        ("RelatedPerson/rp.7", {"userRelatedPersonId": "rp.7"}),
        ("Device/d1", {}),
        ("abc", {}),
        ("http://ehr/fhir/Practitioner/abc", {}),
    ],
)
def test_user_tokens(user: str, values: dict[str, str]) -> None:
    for name in cds_prefetch.USER_TOKENS:
        expected = f"X?id={values[name]}" if name in values else OMIT_KEY
        assert resolve_prefetch(f"X?id={{{{{name}}}}}", {"userId": user}) == expected
        assert resolve_prefetch(f"X?id={{{{{name}}}}}", {}, user_id=user) == expected
    assert resolve_prefetch("X?id={{userPatientId}}", {}) == OMIT_KEY


def test_prefetch_token_rules() -> None:
    ctx = {"patientId": "1288992", "n": 3, "f": 1.5, "yes": True, "no": False, "gone": None,
           "obj": {"a": 1}, "arr": ["a"]}  # fmt: skip
    assert resolve_prefetch("P/{{ context.patientId }}", ctx) == "P/1288992"  # spaces ignored
    assert resolve_prefetch("a={{context.n}}&b={{context.f}}&c={{context.yes}}&d={{context.no}}",
                            ctx) == "a=3&b=1.5&c=true&d=false"  # fmt: skip
    assert resolve_prefetch("no tokens at all", ctx) == "no tokens at all"
    assert resolve_prefetch("P/{{context.gone}}", ctx) == OMIT_KEY  # null reads as absent
    assert resolve_prefetch("P/{{context.missing}}", ctx) == OMIT_KEY
    for bad in ("P/{{context.obj}}", "P/{{context.arr}}", "P/{{context.obj.a}}",
                "P/{{patientId}}", "P/{{Context.patientId}}", "P/{{context.}}", "P/{{}}",
                "P/{{context.patientId", "P/context.patientId}}", "P/{{userId}}",
                "P/{{context.patientId}}&x={{context.missing.deeper}}"):  # fmt: skip
        assert resolve_prefetch(bad, ctx) == INVALID_TEMPLATE, bad
    # an invalid token wins over an absent one
    assert resolve_prefetch("{{context.missing}}/{{foo}}", ctx) == INVALID_TEMPLATE
    # substituted values are not scanned again
    assert resolve_prefetch("P/{{context.v}}", {"v": "{{context.v}}"}) == "P/{{context.v}}"
    templates = {"a": "P/{{context.patientId}}", "b": "P/{{context.missing}}", "c": "{{x}}"}
    assert resolve_prefetch_map(templates, ctx) == {"a": "P/1288992", "c": INVALID_TEMPLATE}


# --------------------------------------------------------------------------------------------
# report/cds/validate.py
# --------------------------------------------------------------------------------------------


def card(**changes: Any) -> dict[str, Any]:
    base = {"summary": "CYP2C19 poor metabolizer: consider an alternative to clopidogrel",
            "indicator": "warning", "source": {"label": "precisionrx"}}  # fmt: skip
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def errors_of(*cards: dict[str, Any], **top: Any) -> list[str]:
    return validate_cds_response({"cards": list(cards), **top})


@pytest.mark.parametrize("name", ["spec__15", "spec__16", "examples__03"])
def test_spec_responses_valid(name: str) -> None:
    assert validate_cds_response(spec(name)) == []


def test_spec_fragments_valid_inside_a_card() -> None:
    """spec__10 (source with topic), spec__11/12/13 (create/update/delete actions, resourceId a
    string), spec__14 (override reasons)."""
    actions = [spec("spec__11"), spec("spec__12"), spec("spec__13")]
    full = card(source=spec("spec__10")["source"], overrideReasons=spec("spec__14")[
        "overrideReasons"], suggestions=[{"label": "s", "uuid": "u", "isRecommended": True,
        "actions": actions}], selectionBehavior="any")  # fmt: skip
    assert errors_of(full) == []


def test_spec_examples_that_break_the_rules() -> None:
    """Two spec examples do not follow the spec's own card table; the rule wins.

    - spec__17 (autolaunchable link, "current.md") has no ``indicator``, which the Card
      attributes table marks REQUIRED: an example bug (the example illustrates
      ``autolaunchable``), so the card is reported.
    - examples__01 (docs/examples.md, CDC opioid service) is a bare card without ``source``,
      REQUIRED since CDS Hooks 1.0: the examples page is older than the card model.
    """
    assert validate_cds_response(spec("spec__17")) == ["cards[0].indicator: required"]
    assert validate_cds_response({"cards": [spec("examples__01")]}) == ["cards[0].source: required"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            {"cards": [card(summary="x" * 141)]},
            ["cards[0].summary: 141 characters (must be < 140)"],
        ),
        (
            {"cards": [card(summary="é" * 140)]},
            ["cards[0].summary: 140 characters (must be < 140)"],
        ),
        ({"cards": [card(source={"url": "https://x"})]}, ["cards[0].source.label: required"]),
        (
            {"cards": [card(suggestions=[{"label": "s"}])]},
            [
                "cards[0].selectionBehavior: required when the card has suggestions (at-most-one or any)"
            ],
        ),
        (
            {"cards": [card(suggestions=[{"label": "s"}], selectionBehavior="all")]},
            ["cards[0].selectionBehavior: 'all' is not one of at-most-one, any"],
        ),
        (
            {"cards": [card(detail=None)]},
            ["cards[0].detail: null is not allowed (omit the member instead)"],
        ),
        (
            {"cards": [card(source={"label": "l", "topic": {}})]},
            [
                "cards[0].source.topic: empty object is not allowed (omit it instead)",
                "cards[0].source.topic.code: required",
                "cards[0].source.topic.system: required",
            ],
        ),
        (
            {"cards": [card(links=[{"label": "l", "url": "https://x", "type": "relative"}])]},
            ["cards[0].links[0].type: 'relative' is not one of absolute, smart"],
        ),
        (
            {
                "cards": [
                    card(links=[{"label": "l", "url": "u", "type": "absolute", "appContext": "{}"}])
                ]
            },
            ["cards[0].links[0].appContext: only valid for smart links"],
        ),
        (
            {"cards": [card(links=[{"url": "u", "type": "smart", "autolaunchable": "yes"}])]},
            [
                "cards[0].links[0].label: required",
                "cards[0].links[0].autolaunchable: must be a boolean, got string",
            ],
        ),
        (
            {
                "cards": [
                    card(
                        selectionBehavior="any",
                        suggestions=[
                            {"label": "s", "actions": [{"type": "modify", "description": "d"}]}
                        ],
                    )
                ]
            },
            [
                "cards[0].suggestions[0].actions[0].type: 'modify' is not one of create, update, delete"
            ],
        ),
        (
            {
                "cards": [
                    card(
                        selectionBehavior="any",
                        suggestions=[
                            {
                                "label": "s",
                                "isRecommended": 1,
                                "actions": [
                                    {"type": "create"},
                                    {"type": "delete", "description": "d"},
                                    {"type": "update", "description": "d", "resource": {"id": "1"}},
                                    {
                                        "type": "delete",
                                        "description": "d",
                                        "resourceId": ["A/1", 2],
                                    },
                                ],
                            }
                        ],
                    )
                ]
            },
            [
                "cards[0].suggestions[0].isRecommended: must be a boolean, got number",
                "cards[0].suggestions[0].actions[0].description: required",
                "cards[0].suggestions[0].actions[0].resource: required",
                "cards[0].suggestions[0].actions[1].resourceId: required for a delete action",
                "cards[0].suggestions[0].actions[2].resource.resourceType: required",
                "cards[0].suggestions[0].actions[3].resourceId[1]: must be a non-empty string, got number",
            ],
        ),
        (
            {"cards": [card(overrideReasons=[{"code": "c", "system": "s"}])]},
            ["cards[0].overrideReasons[0].display: required"],
        ),
        (
            {"cards": [card(indicator="urgent", uuid=7)]},
            [
                "cards[0].indicator: 'urgent' is not one of info, warning, critical",
                "cards[0].uuid: must be a string, got number",
            ],
        ),
        (
            {"cards": [card(indicator=..., source=...)]},
            ["cards[0].indicator: required", "cards[0].source: required"],
        ),
        ({"cards": ["card"]}, ["cards[0]: must be an object, got string"]),
        (
            {"cards": {}},
            [
                "cards: empty object is not allowed (omit it instead)",
                "cards: must be an array, got object",
            ],
        ),
        ({}, ["(response): empty object is not allowed (omit it instead)", "cards: required"]),
        ([], ["(response): must be a JSON object with a cards array, got array"]),
        (
            {
                "cards": [],
                "systemActions": [
                    {
                        "type": "update",
                        "resource": {"resourceType": "ServiceRequest", "status": None, "meta": {}},
                    }
                ],
            },
            [
                "systemActions[0].resource.status: null is not allowed (omit the member instead)",
                "systemActions[0].resource.meta: empty object is not allowed (omit it instead)",
            ],
        ),
    ],
)
def test_invalid_responses(response: Any, expected: list[str]) -> None:
    assert validate_cds_response(response) == expected


def test_extensions_and_unknown_members_allowed() -> None:
    response = {"cards": [card(extension={"com.example.x": 1})], "extension": {"a": "b"}}
    assert validate_cds_response(response) == []


def test_module_doctests() -> None:
    for module in (cds_prefetch, validate_module, cds_jwt):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__


# --------------------------------------------------------------------------------------------
# precisionrx cds ...
# --------------------------------------------------------------------------------------------


@pytest.fixture
def issuers_file(tmp_path: Path) -> Path:
    path = tmp_path / "ISSUERS.json"
    path.write_text(json.dumps(trusted()))
    return path


def lines_of(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_cli_check_jwt(
    tmp_path: Path, issuers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, expired = token(), token(exp=int(NOW.timestamp()) - 120)
    tokens = tmp_path / "TOKENS.txt"
    tokens.write_text(f"# client tokens\n{ok}\n\n{ok}\n{expired}\n{token(Keys.rsa1, 'RS384', 'rsa-1')}\n"
                      f"{hmac_token(b'secret')}\nnot-a-token\n")  # fmt: skip
    code, out, err = run(["cds", "check-jwt", str(tokens), "--audience", AUD, "--trusted",
                          str(issuers_file), "--now", "2026-01-31T12:00:00Z"], capsys)  # fmt: skip
    assert (code, err) == (0, "")
    rows = lines_of(out)
    assert [(r["line"], r["accepted"], r["reason"]) for r in rows] == [
        (2, True, "ok"),
        (4, False, "replayed jti"),
        (5, False, "token expired"),
        (6, True, "ok"),
        (7, False, "symmetric algorithm 'HS256' not allowed"),
        (8, False, "malformed token (not a compact JWS)"),
    ]
    assert rows[0]["iss"] == ISS and "iss" not in rows[-1]
    # a naive --now is UTC; 12:00-01:00 is 13:00 UTC, after the first token expired
    code, out, _ = run(["cds", "check-jwt", str(tokens), "--audience", AUD, "--trusted",
                        str(issuers_file), "--now", "2026-01-31T12:00:00"], capsys)  # fmt: skip
    assert code == 0 and lines_of(out)[0]["accepted"]
    code, out, _ = run(["cds", "check-jwt", str(tokens), "--audience", AUD, "--trusted",
                        str(issuers_file), "--now", "2026-01-31T12:00:00-01:00"], capsys)  # fmt: skip
    assert code == 0 and lines_of(out)[0]["reason"] == "token expired"


def test_cli_check_jwt_errors(
    tmp_path: Path, issuers_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = tmp_path / "TOKENS.txt"
    tokens.write_text(token() + "\n")
    base = ["cds", "check-jwt", str(tokens), "--audience", AUD, "--trusted"]
    code, out, err = run([*base, str(issuers_file), "--now", "yesterday"], capsys)
    assert code == 2 and out == "" and "--now" in err and "Traceback" not in err
    code, _, err = run([*base, str(tmp_path / "nope.json")], capsys)
    assert code == 2 and "nope.json" in err and "not found" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"https://ehr": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}')
    code, _, err = run([*base, str(bad)], capsys)
    assert code == 2 and "bad.json" in err and "symmetric key" in err
    code, _, err = run(["cds", "check-jwt", str(tokens), "--trusted", str(issuers_file)], capsys)
    assert code == 2 and "--audience" in err


def test_cli_validate_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["cds", "validate-card", str(DATA / "spec__16__example.json")], capsys)
    assert code == 0 and json.loads(out) == {"valid": True, "errors": []}
    bad = tmp_path / "response.json"
    bad.write_text(json.dumps({"cards": [card(summary="x" * 141, indicator="urgent")]}))
    code, out, _ = run(["cds", "validate-card", str(bad)], capsys)
    assert code == 0 and json.loads(out) == {"valid": False, "errors": [
        "cards[0].summary: 141 characters (must be < 140)",
        "cards[0].indicator: 'urgent' is not one of info, warning, critical"]}  # fmt: skip
    bad.write_text('{"cards": [NaN]}')
    code, out, err = run(["cds", "validate-card", str(bad)], capsys)
    assert code == 2 and out == "" and "response.json" in err and "NaN" in err
    bad.write_text("{")
    code, _, err = run(["cds", "validate-card", str(bad)], capsys)
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(["cds", "validate-card", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "missing.json" in err


def test_cli_prefetch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request, bare = DATA / "spec__01__example.json", DATA / "patient-view__00__examples.json"
    cases = [
        ("Patient/{{context.patientId}}", request, "Patient/1288992"),
        ("Practitioner/{{userPractitionerId}}", request, "Practitioner/example"),
        ("PractitionerRole?_id={{userPractitionerRoleId}}", bare, "PractitionerRole?_id=123"),
        ("Encounter/{{context.encounterId}}", bare, OMIT_KEY),
        ("Encounter/{{context.encounter.id}}", bare, INVALID_TEMPLATE),
    ]
    for template, context, expected in cases:
        code, out, _ = run(["cds", "prefetch", template, "--context", str(context)], capsys)
        assert (code, out) == (0, expected + "\n"), template
    # a bare context object (not wrapped in a request) works too
    plain = tmp_path / "context.json"
    plain.write_text(json.dumps({"patientId": "p1", "userId": "Patient/p1"}))
    code, out, _ = run(["cds", "prefetch", "X?a={{context.patientId}}&b={{userPatientId}}",
                        "--context", str(plain)], capsys)  # fmt: skip
    assert (code, out) == (0, "X?a=p1&b=p1\n")
    plain.write_text("[1, 2]")
    code, out, err = run(["cds", "prefetch", "X", "--context", str(plain)], capsys)
    assert code == 2 and out == "" and "context.json" in err and "JSON object" in err
    code, _, err = run(["cds", "prefetch", "X"], capsys)
    assert code == 2 and "--context" in err
