"""Client JWTs of CDS Hooks 2.0 ("Trusting CDS Clients"), checked offline.

A CDS client (the EHR) signs a JSON Web Token (RFC 7519, JWS RFC 7515) for every call and
sends it as ``Authorization: Bearer``. :class:`CdsJwtVerifier` checks it against issuers
configured out of band (:func:`load_trusted_issuers`: issuer -> JWK Set, RFC 7517 section 5);
nothing is fetched over the network, so the ``jku`` header is ignored (the spec lets a service
obtain keys out of band, and a fetched URL would be a new trust decision).

Rules (CDS Hooks 2.0, "Trusting CDS Clients"; JWT best current practices, RFC 8725):

- **Algorithm** (RFC 8725 section 3.1, 3.2): the header ``alg`` must be ES384 (ECDSA P-384)
  or RS384 (RSA PKCS#1 v1.5, key of 2048 bits or more), the two the spec recommends. ``none``
  and every HMAC algorithm are refused before any key is looked at, and PyJWT always gets a
  one-element algorithm list chosen from the configured key, never from the header alone: a
  public key is never used as an HMAC secret (the RS/HS confusion attack). The chosen key's
  type must match the algorithm (EC P-384 for ES384, RSA for RS384).
- **Header**: ``typ``, when present, must be ``JWT`` (explicit typing, RFC 8725 section 3.11);
  ``crit`` is refused (no extension is understood); ``jku``, ``x5u`` and an embedded ``jwk``
  are ignored.
- **Issuer and key**: the unverified ``iss`` picks the issuer's JWK Set (an issuer not
  configured is refused); ``kid`` picks the key. A token without ``kid`` is accepted only when
  the issuer has exactly one key of the algorithm's type.
- **Claims**: signature; ``aud`` equal to the service URL (a string, or a list containing it;
  exact comparison, no URL normalisation); ``exp`` required and not past; ``iat`` required
  and not in the future; ``nbf`` honoured when present; ``exp - iat`` at most
  ``max_lifetime_seconds``; ``jti`` required. Times allow ``leeway_seconds`` of clock skew.
- **Replay**: a ``jti`` already accepted from the same issuer whose token has not expired
  (with the leeway) is refused. Entries leave the cache once their token has expired, when
  it could no longer be accepted anyway.

Every failure is a :class:`JwtCheck` with ``accepted=False`` and a short reason, never an
exception: the caller decides the HTTP answer (401) or the line to print. A bad issuer file is
an :class:`~precisionrx.errors.InputError` naming the file and the problem.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from precisionrx.errors import InputError
from precisionrx.io.textio import load_json, read_text

#: Accepted ``alg`` values -> the JWK ``kty`` their key must have.
ALGORITHMS: Mapping[str, str] = MappingProxyType({"ES384": "EC", "RS384": "RSA"})
#: Smallest RSA modulus accepted (NIST SP 800-57; RFC 7518 section 3.3 requires 2048).
MIN_RSA_BITS = 2048
#: Longest token read (bytes); a bearer token is a few hundred bytes.
MAX_TOKEN_LENGTH = 16 * 1024
#: Claims a CDS Hooks client JWT must carry.
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")
#: Largest trusted-issuer file read (bytes).
MAX_ISSUER_FILE_BYTES = 1024**2


@dataclass(frozen=True)
class JwtCheck:
    """The verdict on one token: ``reason`` is ``"ok"`` when accepted, else why not."""

    accepted: bool
    reason: str
    issuer: str | None = None
    claims: Mapping[str, Any] | None = None  # the verified claims, when accepted


@dataclass(frozen=True, slots=True)
class _Key:
    kid: str | None
    kty: str  # "EC" or "RSA"
    algorithm: str | None  # the JWK's own "alg" member, when it has one
    public: Any  # ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class _Reject(Exception):
    """Internal: the token is refused for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _short(value: object, limit: int = 60) -> str:
    """``value`` for a reason string: quoted, cut to ``limit`` characters."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _parse_key(jwk: object, where: str) -> _Key:
    """One trusted key, or ``ValueError`` saying why it cannot be used."""
    if not isinstance(jwk, Mapping):
        raise ValueError(f"{where}: a key must be a JSON object (a JWK)")
    kty = jwk.get("kty")
    if kty == "oct":
        raise ValueError(
            f"{where}: symmetric key (kty oct) not allowed: CDS Hooks forbids symmetric algorithms"
        )
    if "d" in jwk:
        raise ValueError(f"{where}: private key material ('d'): give the issuer's public keys only")
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise ValueError(f"{where}: kid must be a non-empty string")
    declared = jwk.get("alg")
    if declared is not None and (declared not in ALGORITHMS or ALGORITHMS[declared] != kty):
        raise ValueError(f"{where}: alg {declared!r} is not usable (ES384 with EC, RS384 with RSA)")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ValueError(f"{where}: use {use!r} is not 'sig'")
    try:
        if kty == "EC":
            if jwk.get("crv") != "P-384":
                raise ValueError(f"{where}: EC key on curve {jwk.get('crv')!r}, ES384 needs P-384")
            key: Any = ECAlgorithm.from_jwk(dict(jwk))
            if isinstance(key, ec.EllipticCurvePrivateKey):  # pragma: no cover - 'd' refused
                key = key.public_key()
        elif kty == "RSA":
            key = RSAAlgorithm.from_jwk(dict(jwk))
            if isinstance(key, rsa.RSAPrivateKey):  # pragma: no cover - 'd' refused
                key = key.public_key()
            if key.key_size < MIN_RSA_BITS:
                raise ValueError(f"{where}: RSA key of {key.key_size} bits, at least 2048 needed")
        else:
            raise ValueError(f"{where}: key type {kty!r} not supported (EC P-384 or RSA)")
    except (jwt.PyJWTError, TypeError, KeyError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{where}: not a valid {kty} JWK ({exc})") from None
    return _Key(kid=kid, kty=kty, algorithm=declared, public=key)


def _parse_trusted(trusted: object) -> dict[str, tuple[_Key, ...]]:
    """Issuer -> its usable keys, or ``ValueError`` naming the issuer and the key."""
    if not isinstance(trusted, Mapping):
        raise ValueError('must be a JSON object: {"issuer": {"keys": [JWK, ...]}, ...}')
    out: dict[str, tuple[_Key, ...]] = {}
    for issuer, jwks in trusted.items():
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("an issuer must be a non-empty string")
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise ValueError(f'issuer {issuer!r}: must be a JWK Set, {{"keys": [JWK, ...]}}')
        if not keys:
            raise ValueError(f"issuer {issuer!r}: the JWK Set has no keys")
        parsed = tuple(_parse_key(k, f"issuer {issuer!r}: keys[{i}]") for i, k in enumerate(keys))
        kids = [k.kid for k in parsed if k.kid is not None]
        if len(kids) != len(set(kids)):
            raise ValueError(f"issuer {issuer!r}: two keys share a kid")
        out[issuer] = parsed
    return out


def load_trusted_issuers(path: Path) -> dict[str, dict[str, Any]]:
    """The trusted issuers of ``path`` (JSON: issuer -> JWK Set ``{"keys": [...]}``), every key
    checked usable (EC P-384 or RSA of 2048 bits or more, public, signing); an
    :class:`~precisionrx.errors.InputError` naming the file and the problem otherwise."""
    text = read_text(path, "trusted-issuers", max_bytes=MAX_ISSUER_FILE_BYTES)
    data = load_json(text, path)
    try:
        _parse_trusted(data)
    except ValueError as exc:
        raise InputError(str(exc), path=path) from None
    return {iss: dict(jwks) for iss, jwks in data.items()}


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise _Reject(f"missing {name} claim")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Reject(f"{name} claim is not a NumericDate")
    return float(value)


class CdsJwtVerifier:
    """Checks CDS Hooks client JWTs for one service URL (``audience``); see the module docs.

    Thread-safe: the only state is the replay cache, guarded by a lock. A malformed
    ``trusted`` map raises :class:`~precisionrx.errors.InputError`.
    """

    def __init__(
        self,
        trusted: Mapping[str, Mapping[str, Any]],
        audience: str,
        *,
        leeway_seconds: int = 60,
        max_lifetime_seconds: int = 3600,
    ) -> None:
        if not isinstance(audience, str) or not audience:
            raise InputError("the audience (the CDS service URL) must be a non-empty string")
        if leeway_seconds < 0 or max_lifetime_seconds <= 0:
            raise InputError("leeway must be >= 0 and the maximum lifetime > 0 seconds")
        try:
            self._keys = _parse_trusted(trusted)
        except ValueError as exc:
            raise InputError(f"trusted issuers: {exc}") from None
        self.audience = audience
        self.leeway_seconds = leeway_seconds
        self.max_lifetime_seconds = max_lifetime_seconds
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}  # (iss, jti) -> exp
        self._expiry: list[tuple[float, str, str]] = []  # heap of (exp, iss, jti)

    def check(self, token: str, now: datetime | None = None) -> JwtCheck:
        """The verdict on ``token`` at ``now`` (default: the current time; naive = UTC)."""
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        at = now.timestamp()
        issuer: str | None = None
        try:
            header, unverified = self._unverified(token)
            issuer = self._issuer(unverified)
            key = self._key(issuer, header)
            claims = self._decode(token, key, header["alg"])
            self._times(claims, at)
            jti = claims.get("jti")
            if not isinstance(jti, str) or not jti:
                raise _Reject("jti claim must be a non-empty string")
            self._remember(issuer, jti, float(claims["exp"]), at)
        except _Reject as exc:
            return JwtCheck(accepted=False, reason=exc.reason, issuer=issuer)
        return JwtCheck(accepted=True, reason="ok", issuer=issuer, claims=MappingProxyType(claims))

    @staticmethod
    def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims, not yet trusted: used only to refuse early and pick the key."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise _Reject("malformed token")
        if token.count(".") != 2:
            raise _Reject("malformed token (not a compact JWS)")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise _Reject("malformed token header") from None
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise _Reject("missing alg header")
        if alg.lower() == "none":
            raise _Reject("algorithm none not allowed")
        if alg.upper().startswith("HS"):
            raise _Reject(f"symmetric algorithm {_short(alg, 10)} not allowed")
        if alg not in ALGORITHMS:
            raise _Reject(f"algorithm {_short(alg, 10)} not allowed (ES384 or RS384)")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise _Reject(f"typ {_short(typ, 20)} is not JWT")
        if "crit" in header:
            raise _Reject("critical header extensions not supported")
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            raise _Reject("malformed token payload") from None
        if not isinstance(claims, dict):  # pragma: no cover - PyJWT refuses non-objects
            raise _Reject("malformed token payload")
        return header, claims

    def _issuer(self, claims: Mapping[str, Any]) -> str:
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise _Reject("missing iss claim")
        if issuer not in self._keys:
            raise _Reject(f"issuer not trusted: {_short(issuer)}")
        return issuer

    def _key(self, issuer: str, header: Mapping[str, Any]) -> _Key:
        alg, kid = header["alg"], header.get("kid")
        kty = ALGORITHMS[alg]
        keys = self._keys[issuer]
        if kid is None:
            usable = [k for k in keys if k.kty == kty and k.algorithm in (None, alg)]
            if len(usable) != 1:
                raise _Reject(
                    f"no key for a token without kid: issuer has {len(usable)} {kty} keys"
                )
            return usable[0]
        if not isinstance(kid, str):
            raise _Reject("kid header must be a string")
        found = next((k for k in keys if k.kid == kid), None)
        if found is None:
            raise _Reject(f"no key of issuer {_short(issuer)} for kid {_short(kid)}")
        if found.kty != kty or found.algorithm not in (None, alg):
            raise _Reject(f"key {_short(kid)} is {found.kty}, not usable with {alg}")
        return found

    def _decode(self, token: str, key: _Key, alg: str) -> dict[str, Any]:
        # One algorithm, chosen by the configured key's type (RFC 8725 section 3.1). Times are
        # checked by _times against the caller's ``now``.
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public,
                algorithms=[alg],
                audience=self.audience,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": list(REQUIRED_CLAIMS),
                },
            )
        except jwt.InvalidSignatureError:
            raise _Reject("signature invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _Reject(f"missing {exc.claim} claim") from None
        except jwt.InvalidAudienceError:
            raise _Reject(f"audience does not match {_short(self.audience)}") from None
        except jwt.InvalidAlgorithmError:  # pragma: no cover - algorithm checked before
            raise _Reject("algorithm not allowed") from None
        except jwt.DecodeError:
            raise _Reject("malformed token") from None
        except jwt.PyJWTError as exc:
            raise _Reject(f"invalid token: {str(exc)[:80]}") from None
        except (ValueError, TypeError, UnsupportedAlgorithm):  # pragma: no cover - defensive
            raise _Reject("malformed token") from None
        return claims

    def _times(self, claims: Mapping[str, Any], at: float) -> None:
        leeway = self.leeway_seconds
        expires = _numeric_date(claims, "exp")
        issued = _numeric_date(claims, "iat")
        if at > expires + leeway:
            raise _Reject("token expired")
        if issued > at + leeway:
            raise _Reject("iat in the future")
        if "nbf" in claims and _numeric_date(claims, "nbf") > at + leeway:
            raise _Reject("token not yet valid (nbf in the future)")
        if expires < issued:
            raise _Reject("exp before iat")
        if expires - issued > self.max_lifetime_seconds:
            raise _Reject(
                f"lifetime {expires - issued:.0f} s over the {self.max_lifetime_seconds} s limit"
            )

    def _remember(self, issuer: str, jti: str, expires: float, at: float) -> None:
        """Record ``jti``, or refuse it as a replay; forget tokens that have expired."""
        with self._lock:
            while self._expiry and self._expiry[0][0] + self.leeway_seconds < at:
                _, old_iss, old_jti = heapq.heappop(self._expiry)
                if self._seen.get((old_iss, old_jti), math.inf) + self.leeway_seconds < at:
                    del self._seen[(old_iss, old_jti)]
            if (issuer, jti) in self._seen:
                raise _Reject("replayed jti")
            self._seen[(issuer, jti)] = expires
            heapq.heappush(self._expiry, (expires, issuer, jti))
