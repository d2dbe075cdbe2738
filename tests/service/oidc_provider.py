"""A small OpenID Connect provider for the sign-in tests: real HTTP on a loopback port.

It does what a provider does in the authorization code flow (discovery, JWK Set, authorize,
token endpoint with PKCE S256 and client authentication by HTTP Basic) and can be told to
misbehave in the ways a sign-in must survive (another nonce, another audience, no access
token, an access token for someone else, a refused code)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

CLIENT_ID = "precisionrx-web"
CLIENT_SECRET = "test-client-secret-4d1f"
API_AUDIENCE = "precisionrx"


@dataclass
class Provider:
    """State of the provider; tests set ``user`` (the claims of whoever signs in next) and
    ``misbehave`` (a set of faults)."""

    url: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    misbehave: set[str] = field(default_factory=set)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "ES256"}]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "k1"})

    def tokens(self, grant: dict[str, str]) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.url, "iat": now, "exp": now + 600, **self.user}
        id_claims = {**base, "aud": CLIENT_ID, "nonce": grant["nonce"]}
        if "other-nonce" in self.misbehave:
            id_claims["nonce"] = "not-the-one-sent"
        if "other-audience" in self.misbehave:
            id_claims["aud"] = "another-client"
        access = {**base, "aud": API_AUDIENCE, "jti": secrets.token_hex(8)}
        if "access-for-someone-else" in self.misbehave:
            access["sub"] = "someone-else"
        answer: dict[str, Any] = {"token_type": "Bearer", "id_token": self.sign(id_claims)}
        if "opaque-access-token" in self.misbehave:
            answer["access_token"] = secrets.token_urlsafe(24)
        else:
            answer["access_token"] = self.sign(access)
        return answer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        p = self.provider
        parts = urlsplit(self.path)
        if parts.path == "/.well-known/openid-configuration" and "down" in p.misbehave:
            self._json(503, {"error": "temporarily_unavailable"})
        elif parts.path == "/.well-known/openid-configuration":
            self._json(200, {"issuer": p.url, "authorization_endpoint": p.url + "/authorize",
                             "token_endpoint": p.url + "/token", "jwks_uri": p.url + "/jwks",
                             "response_types_supported": ["code"],
                             "code_challenge_methods_supported": ["S256"]})  # fmt: skip
        elif parts.path == "/jwks":
            self._json(200, p.jwks())
        elif parts.path == "/authorize":
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            ok = (q.get("response_type") == "code" and q.get("client_id") == CLIENT_ID
                  and q.get("code_challenge_method") == "S256" and "openid" in q.get("scope", "").split()
                  and q.get("redirect_uri", "").endswith("/login/oidc/callback"))  # fmt: skip
            if not ok:
                self._json(400, {"error": "invalid_request", "got": q})
                return
            back = {"state": q["state"]}
            if "deny" in p.misbehave:
                back["error"] = "access_denied"
            else:
                code = secrets.token_urlsafe(16)
                p.codes[code] = q
                back["code"] = code
            self.send_response(302)
            self.send_header("Location", f"{q['redirect_uri']}?{urlencode(back)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        p = self.provider
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        p.token_requests.append(form)
        basic = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if self.path != "/token":
            self._json(404, {"error": "not_found"})
        elif basic != expected:
            self._json(401, {"error": "invalid_client"})
        elif "refuse-code" in p.misbehave or form.get("grant_type") != "authorization_code":
            self._json(400, {"error": "invalid_grant"})
        else:
            grant = p.codes.pop(form.get("code", ""), None)  # a code is good once
            verifier = form.get("code_verifier", "")
            if (grant is None or form.get("redirect_uri") != grant["redirect_uri"]
                    or _b64(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]):  # fmt: skip
                self._json(400, {"error": "invalid_grant"})
            else:
                self._json(200, p.tokens(grant))


class RunningProvider:
    def __init__(self) -> None:
        self.provider = Provider()
        handler = type("Handler", (_Handler,), {"provider": self.provider})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.provider.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self.provider

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
