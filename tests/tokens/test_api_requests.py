"""The API's HTTP edges: unreadable requests get a JSON 4xx in every mode; nothing is cached."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory, override_settings
from django.urls import resolve

from tests.factories import issue
from tests.tokens.test_api import ALL_SCOPES, BASE, Api
from tokens import secrets

pytestmark = pytest.mark.django_db
MAX_BODY = 2000
MAX_FIELDS = 20


@pytest.fixture
def secret(workspace, admin_user) -> str:
    return issue(admin_user, workspace, name="automation", scopes=ALL_SCOPES)[1]


def _post(secret: str, path: str, data, content_type: str):
    return Client().generic(
        "POST", BASE + path, data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def _multipart_without_boundary(secret):
    return _post(secret, "/introspect", b"token=x", "multipart/form-data")


def _multipart_with_a_broken_boundary(secret):
    return _post(secret, "/introspect", b"token=x", "multipart/form-data; boundary=\x00")


def _form_in_another_charset(secret):
    # Django reads form bodies in UTF-8 only; another charset is its BadRequest.
    return _post(
        secret, "/introspect", b"token=x", "application/x-www-form-urlencoded; charset=latin-1"
    )


def _too_many_form_fields(secret):
    body = "&".join(f"f{i}=1" for i in range(MAX_FIELDS + 1)) + "&token=x"
    return _post(secret, "/introspect", body, "application/x-www-form-urlencoded")


def _too_many_query_parameters(secret):
    query = "&".join(f"f{i}=1" for i in range(MAX_FIELDS + 1))
    return Client().get(f"{BASE}/tokens?{query}", HTTP_AUTHORIZATION=f"Bearer {secret}")


def _too_large_json(secret):
    body = '{"name": "%s", "scopes": ["tokens:read"]}' % ("x" * MAX_BODY)
    return _post(secret, "/tokens", body, "application/json")


def _too_large_form(secret):
    body = "token=" + "x" * MAX_BODY
    return _post(secret, "/introspect", body, "application/x-www-form-urlencoded")


BAD_REQUESTS = {
    "multipart without a boundary": (_multipart_without_boundary, 400, "invalid_request"),
    "multipart with a broken boundary": (_multipart_with_a_broken_boundary, 400, "invalid_request"),
    "a form body in another charset": (_form_in_another_charset, 400, "invalid_request"),
    "too many form fields": (_too_many_form_fields, 400, "invalid_request"),
    "too many query parameters": (_too_many_query_parameters, 400, "invalid_request"),
    "a JSON body over the size limit": (_too_large_json, 413, "too_large"),
    "a form body over the size limit": (_too_large_form, 413, "too_large"),
}


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_an_unparsable_request_is_a_json_4xx_in_every_mode(secret, case, debug):
    send, status, error = BAD_REQUESTS[case]

    limits = {"DATA_UPLOAD_MAX_MEMORY_SIZE": MAX_BODY, "DATA_UPLOAD_MAX_NUMBER_FIELDS": MAX_FIELDS}
    with override_settings(DEBUG=debug, **limits):
        response = send(secret)

    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error
    assert response.json()["message"]
    assert b"Traceback" not in response.content


INTROSPECT_BODIES = [
    _multipart_without_boundary,
    _multipart_with_a_broken_boundary,
    _form_in_another_charset,
    _too_many_form_fields,
    _too_large_form,
]


@pytest.mark.parametrize("send", INTROSPECT_BODIES, ids=lambda send: send.__name__.strip("_"))
def test_an_unreadable_introspect_body_is_answered_after_the_bearer_check(db, send):
    """Introspect reads its body before the Bearer check (to look both tokens up at once)."""
    limits = {"DATA_UPLOAD_MAX_MEMORY_SIZE": MAX_BODY, "DATA_UPLOAD_MAX_NUMBER_FIELDS": MAX_FIELDS}
    with override_settings(**limits):
        response = send(secrets.generate("kw", "workspace"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_only_a_small_introspect_body_is_read_before_the_bearer_check(db):
    """A larger body (a multipart one may spill to temporary files) waits for a valid caller."""
    view = resolve(BASE + "/introspect").func

    def introspect(data):
        request = RequestFactory().post(
            BASE + "/introspect",
            data,
            HTTP_AUTHORIZATION=f"Bearer {secrets.generate('kw', 'workspace')}",
        )
        assert view(request).status_code == 401
        return request

    large = introspect({"token": "x", "file": SimpleUploadedFile("a.txt", b"x" * 5000)})
    assert not hasattr(large, "_files")  # never parsed
    small = introspect({"token": "x"})
    assert hasattr(small, "_post")  # read first: both tokens in one lookup


def _no_store(response) -> bool:
    return {"no-store", "private"} <= {p.strip() for p in response["Cache-Control"].split(",")}


def test_the_responses_that_carry_a_new_secret_are_not_stored(secret):
    api = Api(secret)

    created = api.post("/tokens", {"name": "deploy", "scopes": ["tokens:read"]})
    rotated = api.post(f"/tokens/{created.json()['id']}/rotate", {"grace": "none"})

    assert created.status_code == rotated.status_code == 201
    assert created.json()["token"] and rotated.json()["token"]
    assert _no_store(created)
    assert _no_store(rotated)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/whoami"),
        ("GET", "/tokens"),
        ("GET", "/tokens/tok_missing"),
        ("POST", "/introspect"),
        ("POST", "/tokens"),
        ("PATCH", "/tokens/tok_missing"),
        ("DELETE", "/tokens/tok_missing"),
        ("PUT", "/whoami"),
        ("GET", "/no-such-endpoint"),
        ("GET", "/openapi.json"),
    ],
)
def test_no_api_answer_is_stored_by_caches(secret, method, path):
    response = Api(secret).raw(method, path, "{}")

    assert _no_store(response), (response.status_code, response.get("Cache-Control"))


def test_an_unauthenticated_answer_is_not_stored_either(db):
    assert _no_store(Api().get("/tokens"))


@pytest.mark.parametrize(
    ("environ", "trust_forwarded"),
    [
        ({"REMOTE_ADDR": ""}, False),
        ({"REMOTE_ADDR": "unknown"}, False),
        ({"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "evil, not-an-ip"}, True),
    ],
    ids=["no-address", "garbage-address", "garbage-forwarded-for"],
)
def test_a_request_without_a_readable_address_is_served_and_records_none(
    workspace, admin_user, settings, environ, trust_forwarded
):
    settings.KEYWARD_TRUST_X_FORWARDED_FOR = trust_forwarded
    token, secret = issue(admin_user, workspace, name="automation", scopes=ALL_SCOPES)

    response = Client().get(f"{BASE}/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}", **environ)

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_ip is None
