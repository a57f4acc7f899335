"""The API's hottest endpoints skip the console's middleware (ops.middleware.ApiLaneMiddleware)
and keep what the whole stack gives an API answer: the Host check, the HTTPS redirect, the
security headers, Content-Length, one query."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import issue

pytestmark = pytest.mark.django_db

# Headers every API answer carries, whichever way it was served.
SHARED = (
    "Cache-Control",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Content-Type",
)


@pytest.fixture
def bearer(admin_user, workspace) -> dict:
    _, secret = issue(admin_user, workspace, "ci", scopes=["tokens:read", "tokens:introspect"])
    return {"Authorization": f"Bearer {secret}"}


def test_whoami_skips_the_console_middleware_and_keeps_the_api_headers(bearer):
    lane = Client().get("/api/v1/whoami", headers=bearer)
    stack = Client().get("/api/v1/tokens", headers=bearer)  # not in the lane: the whole stack

    assert (lane.status_code, stack.status_code) == (200, 200)
    assert not hasattr(lane.wsgi_request, "_csp_nonce")  # the CSP middleware never saw it
    assert hasattr(stack.wsgi_request, "_csp_nonce")
    assert {name: lane[name] for name in SHARED} == {name: stack[name] for name in SHARED}
    assert lane["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert lane["Content-Length"] == str(len(lane.content))


def test_introspect_goes_the_same_way(bearer):
    response = Client().post("/api/v1/introspect", {"token": "kww_nothing"}, headers=bearer)
    assert response.status_code == 200
    assert response.json() == {"active": False}
    assert not hasattr(response.wsgi_request, "_csp_nonce")


def test_a_host_not_allowed_is_refused(bearer):
    response = Client().get("/api/v1/whoami", headers={**bearer, "Host": "evil.example.com"})
    assert response.status_code == 400


def test_plain_http_is_redirected_when_https_is_required(bearer, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    plain = Client().get("/api/v1/whoami", headers=bearer)
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/api/v1/whoami"

    secure = Client().get("/api/v1/whoami", headers=bearer, secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")


def test_a_wrong_method_still_gets_the_apis_405(bearer):
    response = Client().delete("/api/v1/whoami", headers=bearer)
    assert response.status_code == 405
    assert not hasattr(response.wsgi_request, "_csp_nonce")


def test_whoami_through_the_lane_is_still_one_query(bearer, django_assert_num_queries):
    client = Client()
    client.get("/api/v1/whoami", headers=bearer)  # its last_used write, at most once a minute
    with django_assert_num_queries(1):
        assert client.get("/api/v1/whoami", headers=bearer).status_code == 200
