"""A small OpenID Connect provider on loopback, for single sign-on tests.

It serves discovery, authorization (approving at once as the configured
person, recording the PKCE challenge and nonce), the token endpoint (which
checks the code, client secret, redirect URI and PKCE verifier), JWKS,
userinfo and RP-Initiated Logout (`/logout`, which checks the ID token hint
and sends the browser back); ID tokens are signed RS256 (or ES256) with a key
the test made. Knobs let a test make the provider misbehave: change the ID
token's claims (`id_token_claims`), sign with another key (`signing_key`),
answer the authorization with an error, or offer no end_session_endpoint
(`end_session`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.servers import free_port

KID = "test-key-1"


def new_rsa_key() -> rsa.RSAPrivateKey:
    """Return a new RSA signing key (2048 bits)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    """Return a new P-256 signing key, for ES256."""
    return ec.generate_private_key(ec.SECP256R1())


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Authorization:
    """What the provider recorded of one authorization request."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: dict
    # Asked to make the person sign in again (OpenID Connect Core 3.1.2.1).
    prompt: str | None = None
    max_age: str | None = None


@dataclass
class OIDCProvider:
    """The provider's configuration and what it saw; start() serves it on a free port."""

    client_id: str = "keyward-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(default_factory=new_rsa_key)
    # RS256 with an RSA key, ES256 with a P-256 one.
    algorithm: str = "RS256"
    kid: str = KID
    # Who the provider signs in (auto-approved).
    person: dict = field(
        default_factory=lambda: {
            "sub": "person-1",
            "email": "member@example.com",
            "email_verified": True,
        }
    )
    # Claims merged into the next ID tokens (None removes a claim).
    id_token_claims: dict = field(default_factory=dict)
    # Signs ID tokens with this key instead of `key` (a bad signature), or this
    # algorithm instead of `algorithm` (HS256 signs with the client secret).
    signing_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None
    signing_algorithm: str | None = None
    # Answer authorization requests with this error instead of a code.
    authorization_error: str | None = None
    # Offer RP-Initiated Logout (end_session_endpoint) in discovery.
    end_session: bool = True
    authorizations: list[Authorization] = field(default_factory=list)
    id_tokens: list[str] = field(default_factory=list)
    # The logouts it accepted: the ID token hint's claims and where it sent the browser back.
    logouts: list[dict] = field(default_factory=list)
    token_requests: list[dict] = field(default_factory=list)
    userinfo_requests: int = 0
    _codes: dict[str, Authorization] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/realm"

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.algorithm],
            "code_challenge_methods_supported": ["S256"],
            **({"end_session_endpoint": f"{self.issuer}/logout"} if self.end_session else {}),
        }

    def jwks(self) -> dict:
        family = (
            jwt.algorithms.RSAAlgorithm if self.algorithm == "RS256" else jwt.algorithms.ECAlgorithm
        )
        public = family.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}]}

    def id_token(self, authorization: Authorization) -> str:
        """Return the signed ID token for `authorization`, with the test's changes."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": authorization.client_id,
            "iat": now,
            "exp": now + 300,
            **({"nonce": authorization.nonce} if authorization.nonce else {}),
            **authorization.claims,
            **self.id_token_claims,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        algorithm = self.signing_algorithm or self.algorithm
        key = self.client_secret if algorithm == "HS256" else (self.signing_key or self.key)
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": self.kid})

    # The HTTP side ------------------------------------------------------------

    def start(self) -> OIDCProvider:
        self.port = free_port()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(url.query).items()}
                path = url.path.removeprefix("/realm")
                if path == "/.well-known/openid-configuration":
                    self._json(200, provider.discovery())
                elif path == "/jwks":
                    self._json(200, provider.jwks())
                elif path == "/authorize":
                    self._authorize(query)
                elif path == "/logout" and provider.end_session:
                    self._logout(query)
                elif path == "/userinfo":
                    provider.userinfo_requests += 1
                    self._json(200, provider.person)
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                if urlsplit(self.path).path.removeprefix("/realm") != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                status, body = provider.exchange(form)
                self._json(status, body)

            def _authorize(self, query: dict) -> None:
                if query.get("client_id") != provider.client_id or "redirect_uri" not in query:
                    self._json(400, {"error": "invalid_request"})
                    return
                authorization = Authorization(
                    client_id=query["client_id"],
                    redirect_uri=query["redirect_uri"],
                    state=query.get("state", ""),
                    nonce=query.get("nonce"),
                    code_challenge=query.get("code_challenge"),
                    code_challenge_method=query.get("code_challenge_method"),
                    claims=dict(provider.person),
                    prompt=query.get("prompt"),
                    max_age=query.get("max_age"),
                )
                provider.authorizations.append(authorization)
                if provider.authorization_error:
                    answer = {"error": provider.authorization_error, "state": authorization.state}
                else:
                    code = secrets.token_urlsafe(16)
                    provider._codes[code] = authorization
                    answer = {"code": code, "state": authorization.state}
                self.send_response(302)
                self.send_header("Location", f"{authorization.redirect_uri}?{urlencode(answer)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _logout(self, query: dict) -> None:
                status, answer = provider.end_session_answer(query)
                if status != 302:
                    self._json(status, answer)
                    return
                self.send_response(302)
                self.send_header("Location", answer["location"])
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def exchange(self, form: dict) -> tuple[int, dict]:
        """Answer a token request: check the code, client, redirect URI and PKCE verifier."""
        authorization = self._codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or authorization is None:
            return 400, {"error": "invalid_grant"}
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return 401, {"error": "invalid_client"}
        if form.get("redirect_uri") != authorization.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        if authorization.code_challenge is not None and (
            authorization.code_challenge_method != "S256"
            or _s256(form.get("code_verifier", "")) != authorization.code_challenge
        ):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        id_token = self.id_token(authorization)
        self.id_tokens.append(id_token)
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def end_session_answer(self, query: dict) -> tuple[int, dict]:
        """Answer an RP-Initiated Logout request: check the ID token hint it signed and the client.

        The hint may be expired (OpenID Connect RP-Initiated Logout 1.0, 2); its
        audience must be the client named. Send the browser back with `state`.
        """
        try:
            claims = jwt.decode(
                query.get("id_token_hint", ""),
                self.key.public_key(),
                algorithms=[self.algorithm],
                audience=self.client_id,
                issuer=self.issuer,
                options={"verify_exp": False},
            )
        except jwt.InvalidTokenError:
            return 400, {"error": "invalid_request", "error_description": "id_token_hint"}
        back = query.get("post_logout_redirect_uri")
        if query.get("client_id") != self.client_id or not back:
            return 400, {"error": "invalid_request"}
        self.logouts.append({"claims": claims, "post_logout_redirect_uri": back})
        state = {"state": query["state"]} if "state" in query else {}
        location = f"{back}{'&' if '?' in back else '?'}{urlencode(state)}" if state else back
        return 302, {"location": location}


def sign_in_through(
    client, *, next_url: str = "", state: str | None = None, start: str = "/accounts/sso/login/"
):
    """Go through a single sign-on with the Django test `client`; return the callback's answer.

    The browser's part is played here: Keyward's redirect to the provider is
    followed with a real HTTP request, and the provider's redirect back is given
    to `client` (with `state` instead of the real one, if set). `start`: the view that
    sends the browser to the provider (the sudo prompt's confirmation starts elsewhere).
    """
    started = client.get(start, {"next": next_url} if next_url else {})
    assert started.status_code == 302, started
    answer = requests.get(started["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    query = parse_qs(callback.query)
    if state is not None:
        query["state"] = [state]
    return client.get(callback.path, {name: values[0] for name, values in query.items()})
