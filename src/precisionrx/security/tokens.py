"""Bearer tokens of the service: JSON Web Tokens (RFC 7519) signed with JWS (RFC 7515).

Two issuers are trusted:

* the server's own key (:class:`LocalIssuer`): ES256 (ECDSA P-256 with SHA-256, RFC 7518
  section 3.4) in ``$PRECISIONRX_HOME/token_signing_key.pem``, created owner-only on first use;
  tokens minted by ``precisionrx token`` carry ``iss = "precisionrx-local"`` and
  ``aud = "precisionrx"``;
* an external OpenID Connect provider (:class:`OidcSettings`): its keys come from its JWK Set
  (RFC 7517 section 5), fetched once and cached; RS256 and ES256 only.

:class:`TokenVerifier` follows the JWT best current practices (RFC 8725): the algorithm is never
chosen by the token (section 3.1) — ``alg: none`` and the HMAC algorithms are refused outright, so
a public key is never used as an HMAC secret (the RS/HS confusion attack), and PyJWT always gets
an explicit ``algorithms`` list derived from the configured key; the key is chosen by the
token's ``iss`` and ``kid`` among configured keys only (``jku``, ``x5u`` and embedded ``jwk``
headers are ignored); ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` are checked (section 3.8,
3.9) with a small clock leeway. Every failure is an :class:`~precisionrx.errors.AccessDenied`
with a short reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from precisionrx.errors import AccessDenied, ConfigError, InputError
from precisionrx.security.home import create_secret_file, ensure_home, read_secret_file
from precisionrx.security.roles import Role

__all__ = [
    "Identity",
    "LocalIssuer",
    "OidcSettings",
    "Role",
    "TokenVerifier",
    "parse_duration",
]

#: ``iss`` of the tokens the server signs itself.
LOCAL_ISSUER = "precisionrx-local"
#: ``aud`` of the tokens the server signs itself.
LOCAL_AUDIENCE = "precisionrx"
#: File name of the local signing key in the home directory.
SIGNING_KEY_FILE = "token_signing_key.pem"
#: Algorithms accepted from the local issuer and from an OIDC provider (RFC 7518 names).
LOCAL_ALGORITHMS = frozenset({"ES256"})
OIDC_ALGORITHMS = frozenset({"RS256", "ES256"})
#: Longest token accepted (a bearer token is a few hundred bytes; this bounds the work done).
MAX_TOKEN_LENGTH = 16 * 1024
#: Longest token lifetime ``precisionrx token`` mints.
MAX_LIFETIME = timedelta(days=30)
#: Shortest RSA modulus accepted from a JWK Set (NIST SP 800-131A).
MIN_RSA_BITS = 2048
#: JWK Set fetch: timeout, largest body, refetch after this age, and at most this often when a
#: token names an unknown ``kid`` (key rotation at the provider).
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_MAX_BYTES = 1024 * 1024
JWKS_MAX_AGE_SECONDS = 3600.0
JWKS_MIN_REFRESH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token speaks for."""

    subject: str
    role: Role
    patient: str | None
    organisation: str | None
    token_id: str | None
    issuer: str


def _b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2, RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprint(jwk: Mapping[str, str]) -> str:
    """JWK thumbprint (RFC 7638): SHA-256 of the required members, sorted, without spaces."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError("'now' must be a timezone-aware datetime")
    return now


class LocalIssuer:
    """The server's own ES256 signing key and the tokens it mints."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ConfigError("the token signing key must be an EC P-256 key (ES256)")
        self._private_key = private_key
        numbers = private_key.public_key().public_numbers()
        self._jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),  # RFC 7518 section 6.2.1.2
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
        self.kid = _thumbprint(self._jwk)

    @classmethod
    def load_or_create(cls, home: Path) -> LocalIssuer:
        """The key in ``home / "token_signing_key.pem"`` (PKCS #8 PEM), created (mode 0600,
        ``O_CREAT | O_EXCL``) on first use.

        :raises ConfigError: a key file accessible to group or others, or not an EC P-256 key.
        """
        path = home / SIGNING_KEY_FILE
        for _ in range(2):
            try:
                data = read_secret_file(path)
            except FileNotFoundError:
                ensure_home(home)
                key = ec.generate_private_key(ec.SECP256R1())
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                create_secret_file(path, pem)
                continue  # read back whichever key won a concurrent creation
            try:
                loaded = serialization.load_pem_private_key(data, password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                raise ConfigError(
                    "the token signing key file is not an unencrypted PEM private key", path=path
                ) from None
            if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(
                loaded.curve, ec.SECP256R1
            ):
                raise ConfigError("the token signing key is not an EC P-256 key", path=path)
            return cls(loaded)
        raise ConfigError("the token signing key vanished while it was being created", path=path)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK (RFC 7517) with ``kid`` (its RFC 7638 thumbprint)."""
        return {**self._jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set (RFC 7517 section 5): ``{"keys": [jwk]}``."""
        return {"keys": [self.public_jwk()]}

    def mint(
        self,
        user: str,
        role: Role,
        *,
        patient: str | None = None,
        organisation: str | None = None,
        expires: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> str:
        """A signed token (compact JWS) for ``user`` with ``role``, valid from ``now`` for
        ``expires``.

        Claims: ``iss``, ``aud``, ``sub``, ``role``, ``patient`` and ``org`` when given, ``iat``,
        ``nbf``, ``exp`` (NumericDate seconds) and a random ``jti``; header ``kid``.

        :raises InputError: an empty user, a patient token without ``patient``, or a lifetime
            that is not between one second and 30 days.
        """
        role = Role(role)
        if not user.strip():
            raise InputError("a token needs a user name")
        if role is Role.patient and not patient:
            raise InputError("a patient token needs the patient id (--patient)")
        seconds = math.floor(expires.total_seconds())
        if seconds < 1 or expires > MAX_LIFETIME:
            raise InputError("a token's lifetime must be between 1 second and 30 days")
        issued = math.floor(_aware(now).timestamp())
        claims: dict[str, Any] = {
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "sub": user,
            "role": role.value,
            "iat": issued,
            "nbf": issued,
            "exp": issued + seconds,
            "jti": secrets.token_urlsafe(16),
        }
        if patient:
            claims["patient"] = patient
        if organisation:
            claims["org"] = organisation
        return jwt.encode(claims, self._private_key, algorithm="ES256", headers={"kid": self.kid})


@dataclass(frozen=True)
class OidcSettings:
    """An external OpenID Connect identity provider whose tokens are accepted.

    ``jwks_url`` is fetched (HTTPS; plain HTTP only on a loopback host) unless ``jwks``, a JWK Set
    document, is given directly. ``role_claim``, ``patient_claim`` and ``organisation_claim`` name
    the claims read (a dotted path reaches into nested objects, e.g. ``realm_access.roles``; a
    list of roles must name exactly one known role).
    """

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None
    role_claim: str = "role"
    patient_claim: str = "patient"
    organisation_claim: str = "org"

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ConfigError("an OIDC provider needs an issuer and an audience")
        if self.jwks is None and not self.jwks_url:
            raise ConfigError("an OIDC provider needs a JWKS URL (or a JWK Set)")
        if self.jwks is None and self.jwks_url:
            url = urlsplit(self.jwks_url)
            loopback = url.hostname in {"localhost", "127.0.0.1", "::1"}
            if url.scheme != "https" and not (url.scheme == "http" and loopback):
                raise ConfigError(
                    "the JWKS URL must use https (plain http only on localhost)",
                    hint=self.jwks_url,
                )


@dataclass(frozen=True, slots=True)
class _Key:
    kid: str | None
    key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    algorithm: str


def _parse_jwks(document: object) -> list[_Key]:
    """The signature keys of a JWK Set usable with RS256/ES256; others are skipped."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise AccessDenied("the identity provider's JWK Set is not valid")
    keys: list[_Key] = []
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            continue
        key = _jwk_key(dict(jwk))
        if key is not None:
            keys.append(_Key(kid, *key))
    return keys


def _jwk_key(
    jwk: dict[str, Any],
) -> tuple[ec.EllipticCurvePublicKey | rsa.RSAPublicKey, str] | None:
    kty, declared = jwk.get("kty"), jwk.get("alg")
    try:
        if kty == "RSA" and declared in (None, "RS256"):
            rsa_key = RSAAlgorithm.from_jwk(jwk)
            public = rsa_key.public_key() if isinstance(rsa_key, rsa.RSAPrivateKey) else rsa_key
            return (public, "RS256") if public.key_size >= MIN_RSA_BITS else None
        if kty == "EC" and jwk.get("crv") == "P-256" and declared in (None, "ES256"):
            ec_key = ECAlgorithm.from_jwk(jwk)
            public_ec = (
                ec_key.public_key() if isinstance(ec_key, ec.EllipticCurvePrivateKey) else ec_key
            )
            return public_ec, "ES256"
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, UnsupportedAlgorithm):
        return None
    return None


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted ``path`` (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


_ROLES = frozenset(r.value for r in Role)


def _role(value: object) -> Role:
    if isinstance(value, list):
        known = {v for v in value if isinstance(v, str) and v in _ROLES}
        if len(known) != 1:
            raise AccessDenied("token does not name exactly one known role")
        value = known.pop()
    if value is None:
        raise AccessDenied("token is missing the role claim")
    if not isinstance(value, str) or value not in _ROLES:
        raise AccessDenied(f"unknown role {str(value)[:40]!r}")
    return Role(value)


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AccessDenied(f"token claim {name} is not a NumericDate")
    return float(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class TokenVerifier:
    """Checks bearer tokens from the local issuer and/or one OIDC provider.

    Thread-safe; the provider's JWK Set is fetched on first use, cached, refetched after an hour
    and, at most once a minute, when a token names a ``kid`` not in the cache.
    """

    def __init__(
        self,
        local: LocalIssuer | None,
        oidc: OidcSettings | None,
        *,
        leeway_seconds: int = 30,
    ) -> None:
        if local is None and oidc is None:
            raise ConfigError(
                "no token issuer configured: neither a local key nor an OIDC provider"
            )
        if local is not None and oidc is not None and oidc.issuer == LOCAL_ISSUER:
            raise ConfigError(f"the OIDC issuer cannot be named {LOCAL_ISSUER!r}")
        if not 0 <= leeway_seconds <= 300:
            raise ConfigError("the clock leeway must be between 0 and 300 seconds")
        self.local = local
        self.oidc = oidc
        self.leeway_seconds = leeway_seconds
        self._lock = threading.Lock()
        self._keys: list[_Key] | None = None
        self._fetched_at = -math.inf
        if oidc is not None and oidc.jwks is not None:
            try:
                self._keys = _parse_jwks(oidc.jwks)
            except AccessDenied:
                raise ConfigError("the OIDC provider's JWK Set is not valid") from None

    def verify(self, token: str, *, now: datetime | None = None) -> Identity:
        """The identity ``token`` speaks for, checked at ``now`` (default: the clock).

        :raises AccessDenied: the token is malformed, unsigned, uses a refused algorithm, comes
            from an unknown issuer or key, has a bad signature, is expired or not yet valid, is
            for another audience, or lacks ``sub``, ``exp``, a known ``role`` or, for a patient,
            the ``patient`` claim.
        """
        at = _aware(now).timestamp()
        header, unverified = self._unverified(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            raise AccessDenied("malformed token: no algorithm")
        if algorithm.lower() == "none":
            raise AccessDenied("unsigned token (alg none) refused")
        if algorithm.upper().startswith("HS"):
            raise AccessDenied(f"HMAC algorithm {algorithm[:10]} refused")
        if "crit" in header:  # RFC 7515 section 4.1.11: no extension is understood here
            raise AccessDenied("token has unsupported critical header parameters")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise AccessDenied("token has no issuer")
        kid = header.get("kid")
        if self.local is not None and issuer == LOCAL_ISSUER:
            allowed, audience = LOCAL_ALGORITHMS, LOCAL_AUDIENCE
            if algorithm not in allowed:
                raise AccessDenied(f"algorithm {algorithm[:10]} not allowed")
            if kid != self.local.kid:
                raise AccessDenied("unknown signing key (kid)")
            key: Any = self.local.public_key
            key_algorithm = "ES256"
            settings = None
        elif self.oidc is not None and issuer == self.oidc.issuer:
            allowed, audience = OIDC_ALGORITHMS, self.oidc.audience
            if algorithm not in allowed:
                raise AccessDenied(f"algorithm {algorithm[:10]} not allowed")
            found = self._oidc_key(kid if isinstance(kid, str) else None)
            if found.algorithm != algorithm:
                raise AccessDenied("token algorithm does not match its key")
            key, key_algorithm, settings = found.key, found.algorithm, self.oidc
        else:
            raise AccessDenied("unknown token issuer")
        claims = self._decode(token, key, key_algorithm, audience, issuer)
        return self._identity(claims, issuer, settings, at)

    def verify_id_token(
        self, token: str, *, client_id: str, nonce: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """The claims of an OpenID Connect ID token from the code flow (docs/web.md).

        Checks, as OpenID Connect Core 1.0 section 3.1.3.7 lists them: signed by the provider's
        key with an allowed algorithm, ``iss`` the provider, ``aud`` containing ``client_id``
        (and ``azp`` equal to it when there are several audiences), ``exp`` not passed, ``iat``
        present and not in the future, and ``nonce`` equal to the one sent with the request.

        :raises AccessDenied: any check fails, or no OIDC provider is configured.
        """
        settings = self.oidc
        if settings is None:
            raise AccessDenied("no OpenID Connect provider is configured")
        at = _aware(now).timestamp()
        header, unverified = self._unverified(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in OIDC_ALGORITHMS:
            raise AccessDenied(f"ID token algorithm {str(algorithm)[:10]} not allowed")
        if "crit" in header:
            raise AccessDenied("ID token has unsupported critical header parameters")
        if unverified.get("iss") != settings.issuer:
            raise AccessDenied("ID token from another issuer")
        kid = header.get("kid")
        found = self._oidc_key(kid if isinstance(kid, str) else None)
        if found.algorithm != algorithm:
            raise AccessDenied("ID token algorithm does not match its key")
        claims = self._decode(token, found.key, found.algorithm, client_id, settings.issuer)
        audiences = claims.get("aud")
        if isinstance(audiences, list) and len(audiences) > 1 and claims.get("azp") != client_id:
            raise AccessDenied("ID token names several audiences but not this client as azp")
        expires = _numeric_date(claims, "exp")
        if expires is None or at > expires + self.leeway_seconds:
            raise AccessDenied("ID token expired")
        issued = _numeric_date(claims, "iat")
        if issued is None:
            raise AccessDenied("ID token is missing the iat claim")
        if issued > at + self.leeway_seconds:
            raise AccessDenied("ID token not yet valid (iat in the future)")
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
            raise AccessDenied("ID token nonce does not match this sign-in")
        return claims

    @staticmethod
    def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims, not yet trusted: only used to choose the key."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise AccessDenied("malformed token")
        if token.count(".") != 2:
            raise AccessDenied("malformed token")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AccessDenied("malformed token") from None
        return header, claims

    def _decode(
        self, token: str, key: Any, algorithm: str, audience: str, issuer: str
    ) -> dict[str, Any]:
        # The algorithm list comes from the configured key, never from the token (RFC 8725 3.1).
        # Times are checked by _identity against the caller's ``now``.
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["iss", "aud", "sub", "exp"],
                },
            )
        except jwt.InvalidSignatureError:
            raise AccessDenied("bad token signature") from None
        except jwt.InvalidAudienceError:
            raise AccessDenied("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AccessDenied("wrong token issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AccessDenied(f"token is missing the {exc.claim} claim") from None
        except jwt.InvalidAlgorithmError:
            raise AccessDenied("algorithm not allowed") from None
        except jwt.DecodeError:
            raise AccessDenied("malformed token") from None
        except jwt.PyJWTError as exc:
            raise AccessDenied(f"invalid token: {str(exc)[:80]}") from None
        return claims

    def _identity(
        self,
        claims: Mapping[str, Any],
        issuer: str,
        settings: OidcSettings | None,
        at: float,
    ) -> Identity:
        leeway = self.leeway_seconds
        expires = _numeric_date(claims, "exp")
        if expires is None:
            raise AccessDenied("token is missing the exp claim")
        if at > expires + leeway:
            raise AccessDenied("token expired")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and not_before > at + leeway:
            raise AccessDenied("token not yet valid (nbf in the future)")
        issued = _numeric_date(claims, "iat")
        if issued is not None and issued > at + leeway:
            raise AccessDenied("token not yet valid (iat in the future)")
        subject = _text(claims.get("sub"))
        if subject is None:
            raise AccessDenied("token is missing the sub claim")
        role_claim = settings.role_claim if settings else "role"
        patient_claim = settings.patient_claim if settings else "patient"
        org_claim = settings.organisation_claim if settings else "org"
        role = _role(_claim(claims, role_claim))
        patient = _text(_claim(claims, patient_claim))
        if role is Role.patient and patient is None:
            raise AccessDenied("patient token without a patient claim")
        return Identity(
            subject=subject,
            role=role,
            patient=patient,
            organisation=_text(_claim(claims, org_claim)),
            token_id=_text(claims.get("jti")),
            issuer=issuer,
        )

    def _oidc_key(self, kid: str | None) -> _Key:
        keys = self._oidc_keys(refresh=False)
        match = _pick(keys, kid)
        if match is None and self._can_refresh():
            match = _pick(self._oidc_keys(refresh=True), kid)
        if match is None:
            raise AccessDenied("unknown signing key (kid)")
        return match

    def _can_refresh(self) -> bool:
        settings = self.oidc
        if settings is None or settings.jwks is not None:
            return False
        return _clock() - self._fetched_at >= JWKS_MIN_REFRESH_SECONDS

    def _oidc_keys(self, *, refresh: bool) -> list[_Key]:
        settings = self.oidc
        if settings is None:  # pragma: no cover - callers check
            raise AccessDenied("unknown token issuer")
        with self._lock:
            if settings.jwks is not None and self._keys is not None:
                return self._keys
            stale = _clock() - self._fetched_at >= JWKS_MAX_AGE_SECONDS
            if self._keys is None or refresh or stale:
                try:
                    self._keys = _parse_jwks(_fetch_jwks(settings.jwks_url or ""))
                except AccessDenied:
                    if self._keys is None:
                        raise
                    # keep the cached keys while the provider is unreachable
                self._fetched_at = _clock()
            return self._keys


def _pick(keys: list[_Key], kid: str | None) -> _Key | None:
    if kid is None:  # no kid: only unambiguous with a single key
        return keys[0] if len(keys) == 1 else None
    return next((k for k in keys if k.kid == kid), None)


def _fetch_jwks(url: str) -> object:
    """The JWK Set document at ``url`` (httpx, no redirects, bounded time and size)."""
    import httpx

    try:
        response = httpx.get(
            url,
            timeout=JWKS_TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        if len(response.content) > JWKS_MAX_BYTES:
            raise AccessDenied("the identity provider's JWK Set is too large")
        return response.json()
    except (httpx.HTTPError, ValueError):
        raise AccessDenied("the identity provider's keys could not be fetched", hint=url) from None


def _clock() -> float:
    """Monotonic seconds for the JWK Set cache (a function so tests can move time)."""
    return time.monotonic()


_DURATION = re.compile(r"([0-9]{1,7})([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """A token lifetime such as ``30m``, ``1h``, ``12h``, ``7d`` or ``3600s``.

    One positive whole number and one unit (``s``, ``m``, ``h``, ``d``); at most 30 days.

    :raises InputError: any other text, zero, or more than 30 days.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise InputError(
            f"{text[:40]!r} is not a duration: a whole number and a unit, e.g. 30m, 1h, 7d, 3600s"
        )
    value = timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    if value <= timedelta(0):
        raise InputError("the duration must be positive")
    if value > MAX_LIFETIME:
        raise InputError("the duration must be at most 30 days")
    return value
