"""The console's middleware, which API requests skip."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import HTMX, issue, signed_in

pytestmark = pytest.mark.django_db

CONSOLE_ONLY = ("session", "user", "_messages", "htmx")


def test_api_requests_skip_the_console_middleware_console_pages_get_it(workspace, admin_user):
    _, secret = issue(admin_user, workspace, name="automation", scopes=["workspace:read"])
    api = Client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    assert [name for name in CONSOLE_ONLY if hasattr(api.wsgi_request, name)] == []
    assert api["X-Frame-Options"] == "DENY"  # the rest of the stack still runs

    page = signed_in(admin_user).get(f"/w/{workspace.slug}/settings/tokens/", **HTMX)
    assert page.status_code == 200
    assert all(hasattr(page.wsgi_request, name) for name in CONSOLE_ONLY)
    assert page.wsgi_request.htmx


def test_the_api_docs_page_renders_without_the_console_middleware(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
