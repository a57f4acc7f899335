"""Database down: 503 with a clear page, or JSON with Retry-After for the API; no traceback."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory, override_settings

from ops.unavailable import server_error
from tests.factories import signed_in
from tokens import secrets


@pytest.fixture
def signed_in_client(admin_user) -> Client:
    return signed_in(admin_user)


@pytest.mark.parametrize("debug", [False, True])
def test_a_console_page_answers_a_clear_503_page(signed_in_client, database_down, debug):
    with override_settings(DEBUG=debug):
        response = signed_in_client.get("/w/acme/settings/tokens/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "Keyward is temporarily unavailable" in page
    assert "css/app.css" in page  # the console's look
    assert "Traceback" not in page and "OperationalError" not in page
    assert response["X-Request-ID"]


@pytest.mark.parametrize("debug", [False, True])
def test_the_api_answers_json(database_down, debug):
    value = secrets.generate("kw", "workspace")  # well-formed: the lookup reaches the database
    with override_settings(DEBUG=debug):
        response = Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {value}")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "error": "unavailable",
        "message": "Keyward cannot reach its database right now. Try again shortly.",
        "retry_after": 30,
    }


def test_a_client_asking_for_json_gets_json(signed_in_client, database_down):
    response = signed_in_client.get("/w/acme/settings/tokens/", HTTP_ACCEPT="application/json")
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")


def test_the_failure_is_logged_for_the_operator(signed_in_client, database_down, caplog):
    signed_in_client.get("/w/acme/settings/tokens/")
    [record] = [r for r in caplog.records if r.name == "keyward.ops.unavailable"]
    assert record.getMessage().startswith("The database is unavailable: OperationalError")


def test_an_error_outside_the_views_answers_503_too():
    """Middleware's database errors (a session saved after the view) reach handler500."""
    request = RequestFactory().get("/w/acme/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
