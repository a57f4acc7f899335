"""The console's middleware that API requests skip."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import issue, signed_in

pytestmark = pytest.mark.django_db


def test_api_requests_get_no_message_storage_console_pages_do(workspace, admin_user):
    _, secret = issue(admin_user, workspace, name="automation", scopes=["workspace:read"])
    api = Client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    assert not hasattr(api.wsgi_request, "_messages")

    page = signed_in(admin_user).get(f"/w/{workspace.slug}/settings/tokens/")
    assert page.status_code == 200
    assert hasattr(page.wsgi_request, "_messages")
