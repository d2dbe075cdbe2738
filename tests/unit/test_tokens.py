"""Bearer tokens: minting, every rejection the verifier promises (RFC 8725), OIDC keys from a
JWK Set, durations, and the ``precisionrx token`` command."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from precisionrx.errors import AccessDenied, ConfigError, InputError
from precisionrx.security.tokens import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    Identity,
    LocalIssuer,
    OidcSettings,
    Role,
    TokenVerifier,
    parse_duration,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def issuer(home: Path) -> LocalIssuer:
    return LocalIssuer.load_or_create(home)


@pytest.fixture(scope="module")
def private_key(home: Path, issuer: LocalIssuer) -> ec.EllipticCurvePrivateKey:
    """The local signing key read from its file: signs tokens with arbitrary claims."""
    key = serialization.load_pem_private_key(
        (home / "token_signing_key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@pytest.fixture
def verifier(issuer: LocalIssuer) -> TokenVerifier:
    return TokenVerifier(issuer, None)


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": "dr.who",
        "role": "clinician",
        "org": "st-elsewhere",
        "iat": T0,
        "nbf": T0,
        "exp": T0 + 3600,
        "jti": "j1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def signed(private_key: ec.EllipticCurvePrivateKey, issuer: LocalIssuer) -> Callable[..., str]:
    def sign(**changes: Any) -> str:
        return jwt.encode(
            claims(**changes), private_key, algorithm="ES256", headers={"kid": issuer.kid}
        )

    return sign


def denied(verifier: TokenVerifier, token: str, reason: str, now: datetime = NOW) -> None:
    with pytest.raises(AccessDenied, match=reason) as info:
        verifier.verify(token, now=now)
    assert info.value.exit_code == 22


# --- Minting and the local key ------------------------------------------------------------------


def test_mint_verify_round_trip(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("dr.who", Role.clinician, organisation="st-elsewhere", now=NOW)
    who = verifier.verify(token, now=NOW + timedelta(minutes=5))
    assert who == Identity(
        subject="dr.who",
        role=Role.clinician,
        patient=None,
        organisation="st-elsewhere",
        token_id=who.token_id,
        issuer=LOCAL_ISSUER,
    )
    assert who.token_id
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == issuer.kid
    body = jwt.decode(token, options={"verify_signature": False})
    assert body["aud"] == "precisionrx" and body["iss"] == "precisionrx-local"
    assert body["iat"] == body["nbf"] == T0 and body["exp"] == T0 + 3600
    assert "patient" not in body


def test_mint_patient_token(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("jane", Role.patient, patient="P-17", now=NOW, expires=timedelta(days=7))
    who = verifier.verify(token, now=NOW + timedelta(days=6))
    assert (who.role, who.patient, who.organisation) == (Role.patient, "P-17", None)
    assert verifier.verify(token, now=NOW).subject == "jane"


def test_jti_is_random(issuer: LocalIssuer) -> None:
    a, b = (issuer.mint("u", Role.admin, now=NOW) for _ in range(2))
    assert (
        jwt.decode(a, options={"verify_signature": False})["jti"]
        != jwt.decode(b, options={"verify_signature": False})["jti"]
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user": "jane", "role": Role.patient},  # patient without patient id
        {"user": " ", "role": Role.admin},
        {"user": "u", "role": Role.admin, "expires": timedelta(0)},
        {"user": "u", "role": Role.admin, "expires": timedelta(days=31)},
        {"user": "u", "role": Role.admin, "now": datetime(2025, 1, 1)},  # naive
    ],
)
def test_mint_refuses(issuer: LocalIssuer, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        issuer.mint(**kwargs)


def test_signing_key_file(home: Path, issuer: LocalIssuer) -> None:
    path = home / "token_signing_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert LocalIssuer.load_or_create(home).kid == issuer.kid  # reused, not regenerated


def test_signing_key_open_to_others_refused(tmp_path: Path) -> None:
    LocalIssuer.load_or_create(tmp_path)
    (tmp_path / "token_signing_key.pem").chmod(0o644)
    with pytest.raises(ConfigError, match="group or others"):
        LocalIssuer.load_or_create(tmp_path)


def test_signing_key_of_wrong_type_refused(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "token_signing_key.pem"
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="P-256"):
        LocalIssuer.load_or_create(tmp_path)
    path.write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="PEM"):
        LocalIssuer.load_or_create(tmp_path)


def test_jwks_publishes_the_public_key(issuer: LocalIssuer) -> None:
    (jwk,) = issuer.jwks()["keys"]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["kid"] == issuer.kid
    assert "d" not in jwk
    # RFC 7638 thumbprint of the required members
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    assert issuer.kid == b64url(hashlib.sha256(canonical.encode()).digest())
    # a third party can verify a minted token with the published key alone
    public = ECAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    token = issuer.mint("u", Role.researcher, now=NOW)
    body = jwt.decode(
        token, public, algorithms=["ES256"], audience="precisionrx", options={"verify_exp": False}
    )
    assert body["role"] == "researcher"


# --- Every rejection ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c", "a.b.c.d", "x" * 20000, "é.é.é"])
def test_malformed(verifier: TokenVerifier, token: str) -> None:
    denied(verifier, token, "malformed")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none(verifier: TokenVerifier, issuer: LocalIssuer, alg: str) -> None:
    token = hand_made({"alg": alg, "typ": "JWT", "kid": issuer.kid}, claims())
    denied(verifier, token, "alg none")


@pytest.mark.parametrize(
    ("alg", "digest"), [("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")]
)
def test_hmac_confusion_with_the_public_key(
    verifier: TokenVerifier, issuer: LocalIssuer, alg: str, digest: str
) -> None:
    """A token "signed" with HMAC using the server's public key PEM as the secret."""
    secret = issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": issuer.kid}).encode())
    body = b64url(json.dumps(claims(role="admin")).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), digest).digest()
    denied(verifier, f"{head}.{body}.{b64url(mac)}", "HMAC algorithm")


def test_rs384_refused(verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS384", headers={"kid": issuer.kid})
    denied(verifier, token, "algorithm RS384 not allowed")


def test_es384_refused_from_local_issuer(verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    token = jwt.encode(claims(), key, algorithm="ES384", headers={"kid": issuer.kid})
    denied(verifier, token, "algorithm ES384 not allowed")


def test_expired(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    token = signed()
    denied(verifier, token, "expired", now=NOW + timedelta(hours=1, seconds=31))
    # within the 30-second leeway
    assert verifier.verify(token, now=NOW + timedelta(hours=1, seconds=29)).subject == "dr.who"


def test_leeway_is_configurable(issuer: LocalIssuer, signed: Callable[..., str]) -> None:
    strict = TokenVerifier(issuer, None, leeway_seconds=0)
    denied(strict, signed(), "expired", now=NOW + timedelta(hours=1, seconds=1))


def test_nbf_in_the_future(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    token = signed(nbf=T0 + 600)
    denied(verifier, token, r"not yet valid \(nbf")
    assert verifier.verify(token, now=NOW + timedelta(seconds=600)).subject == "dr.who"
    assert verifier.verify(token, now=NOW + timedelta(seconds=575)).subject == "dr.who"  # leeway


def test_iat_in_the_future(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    denied(verifier, signed(iat=T0 + 600, nbf=None), r"not yet valid \(iat")


def test_minted_token_not_valid_before_its_time(
    verifier: TokenVerifier, issuer: LocalIssuer
) -> None:
    token = issuer.mint("u", Role.admin, now=NOW)
    denied(verifier, token, "not yet valid", now=NOW - timedelta(minutes=5))


def test_wrong_audience(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    denied(verifier, signed(aud="another-service"), "another audience")
    denied(verifier, signed(aud=None), "missing the aud claim")


def test_wrong_issuer(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    denied(verifier, signed(iss="https://evil.example"), "unknown token issuer")
    denied(verifier, signed(iss=None), "no issuer")


def test_tampered_payload(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    head, _, signature = signed().split(".")
    forged = b64url(json.dumps(claims(role="admin")).encode())
    denied(verifier, f"{head}.{forged}.{signature}", "bad token signature")


def test_tampered_signature(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    head, body, signature = signed().split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 1
    denied(verifier, f"{head}.{body}.{b64url(bytes(raw))}", "bad token signature")


def test_unknown_kid(verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    denied(
        verifier, jwt.encode(claims(), other, algorithm="ES256", headers={"kid": "other"}), "kid"
    )
    denied(verifier, jwt.encode(claims(), other, algorithm="ES256"), "kid")  # no kid
    # another key claiming the server's kid: the signature fails
    forged = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": issuer.kid})
    denied(verifier, forged, "bad token signature")


def test_critical_header_refused(
    verifier: TokenVerifier, private_key: ec.EllipticCurvePrivateKey, issuer: LocalIssuer
) -> None:
    token = jwt.encode(
        claims(), private_key, algorithm="ES256", headers={"kid": issuer.kid, "crit": ["exp"]}
    )
    denied(verifier, token, "critical|malformed")  # PyJWT refuses it while parsing


@pytest.mark.parametrize("claim", ["sub", "exp"])
def test_missing_required_claims(
    verifier: TokenVerifier, signed: Callable[..., str], claim: str
) -> None:
    denied(verifier, signed(**{claim: None}), f"missing the {claim} claim")


def test_missing_role(verifier: TokenVerifier, signed: Callable[..., str]) -> None:
    denied(verifier, signed(role=None), "missing the role claim")


@pytest.mark.parametrize("role", ["superuser", "Admin", 3, ["admin", "clinician"], []])
def test_unknown_role(verifier: TokenVerifier, signed: Callable[..., str], role: object) -> None:
    denied(verifier, signed(role=role), "role")


def test_patient_role_without_patient_claim(
    verifier: TokenVerifier, signed: Callable[..., str]
) -> None:
    denied(verifier, signed(role="patient"), "patient token without a patient claim")
    denied(verifier, signed(role="patient", patient=""), "patient token without a patient claim")
    assert verifier.verify(signed(role="patient", patient="P1"), now=NOW).patient == "P1"


@pytest.mark.parametrize("value", ["soon", True, None])
def test_non_numeric_dates(
    verifier: TokenVerifier, signed: Callable[..., str], value: object
) -> None:
    if value is None:
        denied(verifier, signed(exp=None), "exp")
    else:
        denied(verifier, signed(exp=value), "exp|NumericDate|invalid")


def test_local_token_refused_without_local_issuer(issuer: LocalIssuer) -> None:
    only_oidc = TokenVerifier(None, OidcSettings("https://idp.example", "api", jwks={"keys": []}))
    denied(only_oidc, issuer.mint("u", Role.admin, now=NOW), "unknown token issuer")


def test_verifier_configuration_errors(issuer: LocalIssuer) -> None:
    with pytest.raises(ConfigError):
        TokenVerifier(None, None)
    with pytest.raises(ConfigError):
        TokenVerifier(issuer, OidcSettings(LOCAL_ISSUER, "api", jwks={"keys": []}))
    with pytest.raises(ConfigError):
        TokenVerifier(issuer, None, leeway_seconds=-1)
    with pytest.raises(ConfigError):
        TokenVerifier(None, OidcSettings("https://idp.example", "api", jwks={"nokeys": 1}))
    with pytest.raises(InputError):
        TokenVerifier(issuer, None).verify("a.b.c", now=datetime(2025, 1, 1))  # naive


# --- OIDC ---------------------------------------------------------------------------------------

IDP = "https://idp.example/realms/clinic"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"}]}


def oidc_claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": IDP,
        "aud": "precisionrx-api",
        "sub": "0c6f-uuid",
        "realm_access": {"roles": ["offline_access", "clinician"]},
        "exp": T0 + 300,
        "iat": T0,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def oidc_verifier(issuer: LocalIssuer, jwks: dict[str, Any]) -> TokenVerifier:
    settings = OidcSettings(
        issuer=IDP, audience="precisionrx-api", jwks=jwks, role_claim="realm_access.roles"
    )
    return TokenVerifier(issuer, settings)


def test_oidc_rs256_round_trip(oidc_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    who = oidc_verifier.verify(token, now=NOW)
    assert (who.subject, who.role, who.issuer) == ("0c6f-uuid", Role.clinician, IDP)


def test_oidc_and_local_side_by_side(oidc_verifier: TokenVerifier, issuer: LocalIssuer) -> None:
    assert oidc_verifier.verify(issuer.mint("u", Role.admin, now=NOW), now=NOW).role is Role.admin


def test_oidc_es256(issuer: LocalIssuer) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "ec-1"}
    verifier = TokenVerifier(None, OidcSettings(IDP, "precisionrx-api", jwks={"keys": [jwk]}))
    token = jwt.encode(
        oidc_claims(role="researcher", realm_access=None),
        key,
        algorithm="ES256",
        headers={"kid": "ec-1"},
    )
    assert verifier.verify(token, now=NOW).role is Role.researcher


def test_oidc_rejections(oidc_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    def rs(alg: str = "RS256", kid: str = "rsa-1", **changes: Any) -> str:
        return jwt.encode(oidc_claims(**changes), rsa_key, algorithm=alg, headers={"kid": kid})

    denied(oidc_verifier, rs(alg="RS384"), "algorithm RS384 not allowed")
    denied(oidc_verifier, rs(alg="PS256"), "algorithm PS256 not allowed")
    denied(oidc_verifier, rs(kid="rsa-2"), "kid")
    denied(oidc_verifier, rs(aud="someone-else"), "another audience")
    denied(oidc_verifier, rs(), "expired", now=NOW + timedelta(hours=1))
    denied(oidc_verifier, rs(realm_access={"roles": ["offline_access"]}), "exactly one known role")
    denied(oidc_verifier, rs(realm_access={"roles": ["patient"]}), "patient claim")
    # HS256 keyed with the provider's public key (the classic RS/HS confusion)
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = b64url(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    body = b64url(json.dumps(oidc_claims()).encode())
    mac = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    denied(oidc_verifier, f"{head}.{body}.{b64url(mac)}", "HMAC algorithm")
    # an ES256 token naming the RSA key
    other = ec.generate_private_key(ec.SECP256R1())
    es = jwt.encode(oidc_claims(), other, algorithm="ES256", headers={"kid": "rsa-1"})
    denied(oidc_verifier, es, "does not match its key")


def test_oidc_short_rsa_keys_and_other_uses_ignored(rsa_key: rsa.RSAPrivateKey) -> None:
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    keys = {
        "keys": [
            {**jwk, "kid": "enc", "use": "enc"},
            {**jwk, "kid": "rs512", "alg": "RS512"},
            {**RSAAlgorithm.to_jwk(short.public_key(), as_dict=True), "kid": "short"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
            "not a key",
        ]
    }
    verifier = TokenVerifier(None, OidcSettings(IDP, "precisionrx-api", jwks=keys))
    for kid in ("enc", "rs512"):
        token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": kid})
        denied(verifier, token, "kid")
    with pytest.warns(InsecureKeyLengthWarning):  # PyJWT itself warns when signing with it
        token = jwt.encode(oidc_claims(), short, algorithm="RS256", headers={"kid": "short"})
    denied(verifier, token, "kid")
    head = b64url(json.dumps({"alg": "HS256", "kid": "oct"}).encode())
    denied(verifier, f"{head}.{b64url(json.dumps(oidc_claims()).encode())}.", "HMAC")


def test_oidc_jwks_fetched_once_and_cached(
    monkeypatch: pytest.MonkeyPatch, jwks: dict[str, Any], rsa_key: rsa.RSAPrivateKey
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_get(url: str, **kwargs: Any) -> httpx.Response:
        calls.append((url, kwargs))
        return httpx.Response(200, json=jwks, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)
    url = "https://idp.example/certs"
    verifier = TokenVerifier(
        None,
        OidcSettings(IDP, "precisionrx-api", jwks_url=url, role_claim="realm_access.roles"),
    )
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    for _ in range(3):
        assert verifier.verify(token, now=NOW).subject == "0c6f-uuid"
    assert len(calls) == 1
    assert calls[0][0] == url and calls[0][1]["timeout"] > 0
    assert calls[0][1]["follow_redirects"] is False


def test_oidc_jwks_refetched_for_a_new_kid_at_most_once_a_minute(
    monkeypatch: pytest.MonkeyPatch, jwks: dict[str, Any], rsa_key: rsa.RSAPrivateKey
) -> None:
    import precisionrx.security.tokens as tokens

    rotated = {"keys": [{**jwks["keys"][0], "kid": "rsa-2"}]}
    served = [jwks]
    calls: list[str] = []
    clock = [1000.0]

    def fake_get(url: str, **kwargs: Any) -> httpx.Response:
        calls.append(url)
        return httpx.Response(200, json=served[0], request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)
    monkeypatch.setattr(tokens, "_clock", lambda: clock[0])
    verifier = TokenVerifier(
        None,
        OidcSettings(
            IDP, "precisionrx-api", jwks_url="https://idp.example/certs",
            role_claim="realm_access.roles",
        ),
    )  # fmt: skip
    new = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-2"})
    denied(verifier, new, "kid")  # first fetch: the old set
    served[0] = rotated
    clock[0] += 10
    denied(verifier, new, "kid")  # too soon to fetch again
    assert len(calls) == 1
    clock[0] += 60
    assert verifier.verify(new, now=NOW).subject == "0c6f-uuid"  # refetched: key rotated
    assert len(calls) == 2


def test_oidc_jwks_unreachable(monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey) -> None:
    def fail(url: str, **kwargs: Any) -> httpx.Response:
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(httpx, "get", fail)
    verifier = TokenVerifier(
        None, OidcSettings(IDP, "precisionrx-api", jwks_url="https://idp.example/certs")
    )
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    denied(verifier, token, "could not be fetched")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"issuer": "", "audience": "a", "jwks": {"keys": []}},
        {"issuer": IDP, "audience": "", "jwks": {"keys": []}},
        {"issuer": IDP, "audience": "a"},
        {"issuer": IDP, "audience": "a", "jwks_url": "http://idp.example/certs"},
        {"issuer": IDP, "audience": "a", "jwks_url": "ftp://idp.example/certs"},
    ],
)
def test_oidc_settings_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        OidcSettings(**kwargs)


def test_oidc_settings_loopback_http_allowed() -> None:
    assert OidcSettings(IDP, "a", jwks_url="http://127.0.0.1:8080/certs").jwks_url


# --- Durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("3600s", timedelta(hours=1)),
        (" 30d ", timedelta(days=30)),
        ("720h", timedelta(days=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "h",
        "0h",
        "0s",
        "-1h",
        "1.5h",
        "31d",
        "721h",
        "1w",
        "1H",
        "1h30m",
        "1 h",
        "1e3s",
        "99999999d",
    ],
)
def test_parse_duration_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_duration(text)


# --- The command ------------------------------------------------------------------------------


def run_cli(*args: str) -> int:
    from precisionrx.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "h"
    code = run_cli(
        "token", "--user", "dr.who", "--role", "clinician", "--organisation", "st-elsewhere",
        "--expires", "30m", "--home", str(home),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.endswith("\n") and out.count("\n") == 1
    key = home / "token_signing_key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    who = TokenVerifier(LocalIssuer.load_or_create(home), None).verify(out.strip())
    assert (who.subject, who.role, who.organisation) == ("dr.who", Role.clinician, "st-elsewhere")
    body = jwt.decode(out.strip(), options={"verify_signature": False})
    assert body["exp"] - body["iat"] == 1800


def test_cli_token_patient_and_env_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRECISIONRX_HOME", str(tmp_path))
    assert run_cli("token", "--user", "jane", "--role", "PATIENT", "--patient", "P-9") == 0
    token = capsys.readouterr().out.strip()
    who = TokenVerifier(LocalIssuer.load_or_create(tmp_path), None).verify(token)
    assert (who.role, who.patient) == (Role.patient, "P-9")
    body = jwt.decode(token, options={"verify_signature": False})
    assert body["exp"] - body["iat"] == 3600  # default 1h


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "jane", "--role", "patient"], "--patient"),
        (["--user", "u", "--role", "doctor"], "clinician"),
        (["--user", "u", "--role", "admin", "--expires", "90d"], "30 days"),
        (["--user", "u", "--role", "admin", "--expires", "soon"], "not a duration"),
        (["--user", "", "--role", "admin"], "--user"),
        (["--role", "admin"], "--user"),
    ],
)
def test_cli_token_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = run_cli("token", *args, "--home", str(tmp_path / "h"))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "h").exists()  # nothing created on a usage error


def test_cli_token_refuses_open_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LocalIssuer.load_or_create(tmp_path)
    (tmp_path / "token_signing_key.pem").chmod(0o640)
    code = run_cli("token", "--user", "u", "--role", "admin", "--home", str(tmp_path))
    captured = capsys.readouterr()
    assert code == 40 and captured.out == ""
    assert "PRX-CF-000" in captured.err and "group or others" in captured.err
