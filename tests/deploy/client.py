"""A small HTTPS client for the deployment test: one new connection per request, cookies, CSRF.

The standard library's http.client, so the test needs no HTTP client dependency.
A new connection per request lets gunicorn hand each request to any worker.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
from dataclasses import dataclass
from email.message import Message
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self):
        return json.loads(self.body)


class Client:
    """A browser-like client of one origin: keeps cookies, sends CSRF tokens with forms."""

    def __init__(self, port: int, context: ssl.SSLContext, *, source: str, origin: str):
        self.port = port
        self.context = context
        self.source = source
        self.origin = origin
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers=None
    ) -> Response:
        """Send one request on a new connection from `source`; remember the cookies set."""
        sent = {"Origin": self.origin, "Referer": self.origin + path, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.port,
            context=self.context,
            source_address=(self.source, 0),
            timeout=90,  # a worker still loading the app on a busy machine
        )
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()
        for line in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **headers) -> Response:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict) -> Response:
        """POST `fields` as a form, with the CSRF token of the cookie this client holds."""
        if "csrftoken" not in self.cookies:
            self.get("/accounts/login/")
        body = urlencode({**fields, "csrfmiddlewaretoken": self.cookies["csrftoken"]}, doseq=True)
        return self.request(
            "POST",
            path,
            body=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def sign_in(self, email: str, password: str) -> Response:
        """Post the console's sign-in form (getting its page first, for the CSRF cookie)."""
        self.get("/accounts/login/")
        return self.post_form("/accounts/login/", {"username": email, "password": password})

    def api(self, method: str, path: str, token: str, body: bytes | None = None) -> Response:
        """Call the JSON API with a Bearer token (no cookies: an API client has none)."""
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        bare = Client(self.port, self.context, source=self.source, origin=self.origin)
        return bare.request(method, path, body=body, headers=headers)
