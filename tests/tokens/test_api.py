"""The JSON API under /api/v1/: authentication errors, every endpoint, and bad input."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import actor_of, issue
from tokens import scopes as scope_catalogue
from tokens import secrets, services
from tokens.auth import authenticate_token
from tokens.models import Resource, RevokeReason, Token, TokenKind, TokenStatus

pytestmark = pytest.mark.django_db

BASE = "/api/v1"
ALL_SCOPES = ["workspace:read", "members:read", "tokens:read", "tokens:write", "tokens:introspect"]


class Api:
    """A test client that speaks JSON with a Bearer token."""

    def __init__(self, secret: str | None = None, ip: str = "192.0.2.10") -> None:
        self.client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest-api")
        self.secret = secret

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**base, **(headers or {})}

    def get(self, path, params=None, headers=None):
        return self.client.get(BASE + path, params or {}, headers=self._headers(headers))

    def post(self, path, body=None, headers=None):
        return self.client.post(
            BASE + path,
            json.dumps({} if body is None else body),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def raw(self, method, path, data, content_type="application/json"):
        return self.client.generic(
            method, BASE + path, data, content_type=content_type, headers=self._headers(None)
        )

    def patch(self, path, body):
        return self.raw("PATCH", path, json.dumps(body))

    def delete(self, path):
        return self.client.delete(BASE + path, headers=self._headers(None))

    def form(self, path, data):
        return self.client.post(BASE + path, data, headers=self._headers(None))


@pytest.fixture
def admin_token(workspace, admin_user):
    """Return (token, secret) of a workspace token with every scope."""
    return issue(admin_user, workspace, name="automation", scopes=ALL_SCOPES)


@pytest.fixture
def api(admin_token) -> Api:
    return Api(admin_token[1])


@pytest.fixture
def foreign(other_workspace, outsider):
    """Return (token, secret) of a token in the other workspace."""
    return issue(outsider, other_workspace, name="foreign", scopes=ALL_SCOPES)


def assert_invalid_token(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="keyward", error="invalid_token"'
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "invalid_token"
    assert body["message"]


# whoami -------------------------------------------------------------------------


def test_whoami_describes_the_calling_token(workspace, admin_user, clock):
    resource = Resource.objects.create(workspace=workspace, name="db")
    expires_at = (clock.now + timedelta(days=5)).replace(microsecond=0)
    token, secret = issue(
        admin_user,
        workspace,
        name="deploy",
        scopes=["tokens:read"],
        resource_ids=[resource.pk],
        expires_at=expires_at,
    )

    response = Api(secret).get("/whoami")

    assert response.status_code == 200
    assert response.json() == {
        "id": token.public_id,
        "name": "deploy",
        "kind": "workspace",
        "workspace": {"slug": "acme", "name": "Acme"},
        "scopes": ["tokens:read"],
        "resources": ["db"],
        "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_whoami_needs_no_scope(workspace, admin_user):
    _, secret = issue(admin_user, workspace, scopes=["workspace:read"])

    assert Api(secret).get("/whoami").status_code == 200


def test_a_request_records_last_use_with_ip_and_agent(api, admin_token):
    api.get("/whoami")

    token = Token.objects.get(pk=admin_token[0].pk)
    assert token.last_used_ip == "192.0.2.10"
    assert token.last_used_user_agent == "pytest-api"


# Authentication errors ----------------------------------------------------------


def test_a_missing_header_is_401_missing_token(db):
    response = Api().get("/whoami")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="keyward"'
    assert response.json()["error"] == "missing_token"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token kww_abc", "kww_abc"])
def test_a_wrong_scheme_is_400_invalid_request(db, header):
    response = Api().get("/whoami", headers={"Authorization": header})

    assert response.status_code == 400
    assert 'error="invalid_request"' in response["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_request"


def test_the_scheme_is_case_insensitive(api, admin_token):
    response = api.get("/whoami", headers={"Authorization": f"bearer {admin_token[1]}"})

    assert response.status_code == 200


def test_a_bad_token_is_401_invalid_token(db):
    assert_invalid_token(Api("kww_garbage").get("/whoami"))


def test_every_kind_of_bad_token_gets_the_same_answer(workspace, admin_user, member_user):
    revoked, revoked_secret = issue(admin_user, workspace, name="revoked")
    services.token_revoke(actor=actor_of(admin_user, workspace), token=revoked)
    _, expired_secret = issue(
        admin_user, workspace, name="expired", expires_at=timezone.now() + timedelta(days=1)
    )
    Token.objects.filter(name="expired").update(expires_at=timezone.now())
    _, fenced_secret = issue(admin_user, workspace, name="fenced", allowed_ips=["10.0.0.0/8"])
    _, inactive_secret = issue(member_user, workspace, name="personal", kind=TokenKind.PERSONAL)
    member_user.is_active = False
    member_user.save(update_fields=["is_active"])
    values = [
        "garbage",
        secrets.generate("kw", "workspace"),
        revoked_secret,
        expired_secret,
        fenced_secret,
        inactive_secret,
    ]

    responses = [Api(value).get("/whoami") for value in values]

    for response in responses:
        assert_invalid_token(response)
    assert len({response.content for response in responses}) == 1


def test_a_failed_use_of_a_known_token_is_audited_with_its_reason(workspace, admin_user):
    token, secret = issue(admin_user, workspace)
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    Api(secret).get("/whoami")

    event = AuditEvent.objects.get(action="token.auth_failed")
    assert event.target_id == token.public_id
    assert event.details == {"reason": "revoked", "path": "/api/v1/whoami"}
    assert event.ip == "192.0.2.10"


def test_secrets_never_reach_the_logs(workspace, admin_user, caplog):
    caplog.set_level(logging.DEBUG)
    token, secret = issue(admin_user, workspace, scopes=ALL_SCOPES)
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)
    _, live = issue(admin_user, workspace, name="live", scopes=ALL_SCOPES)

    Api(secret).get("/whoami")
    created = Api(live).post("/tokens", {"name": "new", "scopes": ["tokens:read"]}).json()["token"]

    assert "revoked" in caplog.text  # the failure is logged, with its reason
    for value in (secret, live, created):
        assert value[4:34] not in caplog.text


def test_an_insufficient_scope_is_403_with_the_scope_named(workspace, admin_user):
    _, secret = issue(admin_user, workspace, scopes=["workspace:read"])

    response = Api(secret).get("/tokens")

    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="keyward", error="insufficient_scope", scope="tokens:read"'
    )
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/tokens"),
        ("patch", "/tokens/x"),
        ("delete", "/tokens/x"),
        ("post", "/tokens/x/rotate"),
    ],
)
def test_writes_need_tokens_write(workspace, admin_user, method, path):
    _, secret = issue(admin_user, workspace, scopes=["tokens:read"])
    client = Api(secret)
    body = {"name": "x", "scopes": ["tokens:read"]} if path == "/tokens" else {}

    response = client.raw(method.upper(), path, json.dumps(body))

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'scope="tokens:write"' in response["WWW-Authenticate"]


# Rate limit ---------------------------------------------------------------------


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_failed_authentications_are_rate_limited_per_ip(api):
    bad = Api("kww_garbage", ip="198.51.100.1")
    for _ in range(3):
        assert bad.get("/whoami").status_code == 401

    limited = bad.get("/whoami")

    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert api.get("/whoami").status_code == 200  # another address is not affected


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_bad_tokens_do_not_lock_a_valid_token_out_of_their_address(
    api, workspace, admin_user, admin_token
):
    revoked, revoked_secret = issue(admin_user, workspace, name="old")
    services.token_revoke(actor=actor_of(admin_user, workspace), token=revoked)
    shared = "198.51.100.1"  # a NAT, a CI runner, a proxy
    for _ in range(5):
        Api("kww_garbage", ip=shared).get("/whoami")

    valid = Api(api.secret, ip=shared).get("/whoami")
    known_but_revoked = Api(revoked_secret, ip=shared).get("/whoami")

    assert valid.status_code == 200
    assert valid.json()["id"] == admin_token[0].public_id
    assert known_but_revoked.status_code == 429


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=1)
def test_the_limit_costs_no_query_for_malformed_tokens_and_none_more_for_valid_ones(
    api, rf, django_assert_num_queries
):
    from tokens.api import ApiError, bearer_auth

    def request(secret):
        return rf.get(BASE + "/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")

    api.get("/whoami")  # last use written: from now on a valid token is one query
    for _ in range(2):  # the second is over the limit
        with django_assert_num_queries(0), pytest.raises(ApiError):
            bearer_auth(request("kww_garbage"))

    with django_assert_num_queries(1):
        assert bearer_auth(request(api.secret)).public_id


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_successful_requests_do_not_count_as_failures(api):
    for _ in range(10):
        assert api.get("/whoami").status_code == 200


def test_whoami_and_introspect_answer_without_ninjas_operation_plumbing(
    api, admin_token, monkeypatch
):
    from ninja.operation import Operation

    def refuse(*args, **kwargs):
        raise AssertionError("ninja's operation ran on a hot path")

    monkeypatch.setattr(Operation, "run", refuse)  # its auth checks and pydantic re-validation

    assert api.get("/whoami").json()["id"] == admin_token[0].public_id
    assert api.form("/introspect", {"token": admin_token[1]}).json()["active"] is True
    assert api.form("/introspect", {}).json()["fields"] == {"token": ["Field required"]}
    assert api.raw("PUT", "/whoami", "").status_code == 405  # other methods: still ninja's 405


# Introspection ------------------------------------------------------------------


def test_introspect_reports_an_active_token(workspace, admin_user, api, clock):
    expires_at = clock.now + timedelta(days=2)
    token, secret = issue(
        admin_user,
        workspace,
        name="ci",
        scopes=["tokens:read", "workspace:read"],
        expires_at=expires_at,
        allowed_ips=["10.0.0.0/8"],
    )

    response = api.form("/introspect", {"token": secret})

    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "tokens:read workspace:read"
    assert body["client_id"] == token.public_id
    assert body["token_type"] == "Bearer"
    assert body["exp"] == int(expires_at.timestamp())
    assert body["iat"] == int(token.created_at.timestamp())
    assert body["workspace"] == "acme"
    assert body["name"] == "ci"
    token.refresh_from_db()
    assert token.last_used_at is None  # introspection is not a use of the token


def test_introspect_names_the_owner_of_a_personal_token(workspace, member_user, api):
    _, secret = issue(member_user, workspace, kind=TokenKind.PERSONAL)

    body = api.form("/introspect", {"token": secret}).json()

    assert body["sub"] == body["username"] == "member@example.com"


def test_introspect_runs_one_lookup_for_both_tokens_and_nothing_more(
    workspace, member_user, api, django_assert_num_queries
):
    token, secret = issue(
        member_user,
        workspace,
        kind=TokenKind.PERSONAL,
        name="laptop",
        expires_at=timezone.now() + timedelta(days=7),
    )
    api.get("/whoami")  # the caller's last use is written: from now on its lookup is all

    with django_assert_num_queries(1):  # the caller's token and the subject's, found together
        body = api.form("/introspect", {"token": secret}).json()

    assert body == {
        "active": True,
        "scope": " ".join(sorted(token.scopes)),
        "client_id": token.public_id,
        "token_type": "Bearer",
        "exp": int(token.expires_at.timestamp()),
        "iat": int(token.created_at.timestamp()),
        "sub": "member@example.com",
        "username": "member@example.com",
        "workspace": "acme",
        "name": "laptop",
    }


def _subject(case, workspace, admin_user, admin_token, foreign) -> tuple[str, bool]:
    """Return the value to introspect for `case`, and whether it is active for the caller."""
    if case == "active":  # outside its allow-list: introspection checks no address
        return issue(admin_user, workspace, name="ci", allowed_ips=["10.0.0.0/8"])[1], True
    if case == "revoked":
        token, secret = issue(admin_user, workspace, name="old")
        services.token_revoke(actor=actor_of(admin_user, workspace), token=token)
        return secret, False
    if case == "unknown":
        return secrets.generate("kw", "workspace"), False
    if case == "the caller itself":
        return admin_token[1], True
    return foreign[1], False  # another workspace's


SUBJECTS = ["active", "revoked", "unknown", "the caller itself", "another workspace's"]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_introspect_answers_any_subject_in_one_query(
    subject, workspace, admin_user, admin_token, foreign, api, django_assert_num_queries
):
    value, active = _subject(subject, workspace, admin_user, admin_token, foreign)
    api.get("/whoami")  # the caller's last use is written: from now on its lookup is all

    with django_assert_num_queries(1):
        response = api.form("/introspect", {"token": value})

    assert response.status_code == 200
    assert response.json()["active"] is active
    if not active:
        assert response.json() == {"active": False}


def test_a_malformed_subject_is_left_out_of_the_query(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.get("/whoami")

    with CaptureQueriesContext(connection) as queries:
        response = api.form("/introspect", {"token": "kww_garbage"})

    assert response.json() == {"active": False}
    assert len(queries) == 1
    assert secrets.digest("kww_garbage") not in queries[0]["sql"]
    assert " IN (" not in queries[0]["sql"]  # the caller's lookup alone


def test_introspect_says_inactive_for_revoked_or_garbage(workspace, admin_user, api):
    token, secret = issue(admin_user, workspace)
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    for value in (secret, "garbage", secrets.generate("kw", "personal")):
        response = api.form("/introspect", {"token": value})
        assert response.status_code == 200
        assert response.json() == {"active": False}


def test_introspect_says_inactive_for_another_workspaces_token(api, foreign):
    response = api.form("/introspect", {"token": foreign[1]})

    assert response.json() == {"active": False}


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=2)
def test_introspecting_values_that_name_no_token_is_limited_like_bad_bearers(
    workspace, admin_user, api
):
    revoked, revoked_secret = issue(admin_user, workspace, name="old")
    services.token_revoke(actor=actor_of(admin_user, workspace), token=revoked)
    _, valid_secret = issue(admin_user, workspace, name="ci")
    guesses = ["garbage", secrets.generate("kw", "workspace")]
    for value in guesses:
        assert api.form("/introspect", {"token": value}).json() == {"active": False}

    limited = api.form("/introspect", {"token": secrets.generate("kw", "workspace")})

    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    # Known tokens are answered, not counted: a revoked one is an answer, not a guess.
    assert api.form("/introspect", {"token": valid_secret}).json()["active"] is True
    assert api.form("/introspect", {"token": revoked_secret}).json() == {"active": False}
    assert api.get("/whoami").status_code == 200
    assert Api("kww_garbage").get("/whoami").status_code == 429  # the same address
    elsewhere = Api(api.secret, ip="198.51.100.7").form("/introspect", {"token": "garbage"})
    assert elsewhere.json() == {"active": False}


def test_introspect_needs_tokens_introspect(workspace, admin_user):
    _, caller = issue(admin_user, workspace, name="reader", scopes=["tokens:read", "tokens:write"])

    response = Api(caller).form("/introspect", {"token": caller})

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_introspect_without_a_token_field_is_400(api):
    response = api.form("/introspect", {})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# Tokens: list and detail --------------------------------------------------------


def test_list_shows_this_workspaces_tokens_without_secrets(
    workspace, admin_user, member_user, api, admin_token, foreign
):
    other, other_secret = issue(admin_user, workspace, name="other")
    personal, personal_secret = issue(member_user, workspace, name="p", kind=TokenKind.PERSONAL)

    response = api.get("/tokens")

    assert response.status_code == 200
    body = response.json()
    assert {item["id"] for item in body} == {
        admin_token[0].public_id,
        other.public_id,
        personal.public_id,
    }
    assert all("token" not in item for item in body)
    for value in (admin_token[1], other_secret, personal_secret, foreign[1]):
        assert value[4:34].encode() not in response.content
    assert foreign[0].public_id.encode() not in response.content
    item = next(i for i in body if i["id"] == personal.public_id)
    assert item["censored"] == f"kwp_…{personal_secret[-4:]}"
    assert item["owner"] == "member@example.com"
    assert item["status"] == "active"


def test_a_personal_token_of_a_member_lists_workspace_tokens_and_its_own(
    workspace, admin_user, member_user, manager_user
):
    shared, _ = issue(admin_user, workspace, name="shared")
    issue(manager_user, workspace, name="theirs", kind=TokenKind.PERSONAL)
    mine, secret = issue(member_user, workspace, name="mine", kind=TokenKind.PERSONAL)

    body = Api(secret).get("/tokens").json()

    assert {item["id"] for item in body} == {shared.public_id, mine.public_id}


def test_list_filters_by_status_and_kind_and_pages(workspace, admin_user, api, admin_token):
    gone, _ = issue(admin_user, workspace, name="gone")
    services.token_revoke(actor=actor_of(admin_user, workspace), token=gone)
    personal, _ = issue(admin_user, workspace, name="mine", kind=TokenKind.PERSONAL)

    def ids(**params):
        response = api.get("/tokens", params)
        assert response.status_code == 200
        return {item["id"] for item in response.json()}

    assert ids() == {admin_token[0].public_id, personal.public_id}
    assert ids(status="revoked") == {gone.public_id}
    assert ids(status="all") == {admin_token[0].public_id, personal.public_id, gone.public_id}
    assert ids(kind="personal") == {personal.public_id}
    assert len(ids(status="all", limit=1)) == 1
    assert ids(status="all", offset=10) == set()


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": -1}, {"limit": "-5"}, {"offset": -1}, {"offset": "-3"}]
)
def test_a_page_that_cannot_exist_is_a_400_not_a_silent_guess(api, admin_token, params):
    response = api.get("/tokens", params)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert next(iter(params)) in response.json()["fields"]
    assert next(iter(params)) in response.json()["message"]


def test_detail_returns_metadata_without_the_secret(api, admin_token):
    token, secret = admin_token

    response = api.get(f"/tokens/{token.public_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == token.public_id
    assert body["name"] == "automation"
    assert body["scopes"] == ALL_SCOPES
    assert "token" not in body
    assert secret[4:34].encode() not in response.content
    assert token.digest.encode() not in response.content


def test_another_workspaces_token_is_404_on_every_endpoint(api, foreign):
    public_id = foreign[0].public_id

    responses = [
        api.get(f"/tokens/{public_id}"),
        api.patch(f"/tokens/{public_id}", {"name": "mine now"}),
        api.delete(f"/tokens/{public_id}"),
        api.post(f"/tokens/{public_id}/rotate", {"grace": "none"}),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert authenticate_token(foreign[1]).name == "foreign"
    assert Token.objects.get(pk=foreign[0].pk).name == "foreign"


def test_a_members_personal_token_gets_404_for_others_personal_tokens(
    workspace, manager_user, member_user
):
    theirs, _ = issue(manager_user, workspace, name="theirs", kind=TokenKind.PERSONAL)
    _, secret = issue(member_user, workspace, name="mine", kind=TokenKind.PERSONAL)

    assert Api(secret).get(f"/tokens/{theirs.public_id}").status_code == 404


# Tokens: create -----------------------------------------------------------------


def test_create_returns_the_secret_once(workspace, api, admin_token):
    response = api.post(
        "/tokens",
        {
            "name": "deploy",
            "description": "from CI",
            "scopes": ["tokens:read"],
            "allowed_ips": ["10.0.0.0/8"],
            "expires_in_days": 30,
        },
    )

    assert response.status_code == 201
    body = response.json()
    secret = body["token"]
    token = Token.objects.get(public_id=body["id"])
    assert token.digest == secrets.digest(secret)
    assert body["name"] == "deploy"
    assert body["description"] == "from CI"
    assert body["kind"] == "workspace"
    assert body["scopes"] == ["tokens:read"]
    assert body["allowed_ips"] == ["10.0.0.0/8"]
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert authenticate_token(secret, client_ip="10.0.0.1").public_id == body["id"]
    for later in (api.get("/tokens"), api.get(f"/tokens/{body['id']}")):
        assert secret[4:34].encode() not in later.content


def test_a_token_made_through_the_api_names_the_token_that_made_it(
    workspace, admin_user, api, admin_token
):
    made = api.post("/tokens", {"name": "child", "scopes": ["tokens:read"]}).json()

    assert made["created_by"] is None  # a workspace token is no person
    assert made["created_by_token"] == admin_token[0].public_id
    listed = {item["id"]: item for item in api.get("/tokens").json()}
    assert listed[made["id"]]["created_by_token"] == admin_token[0].public_id
    assert listed[admin_token[0].public_id]["created_by"] == admin_user.email
    child = Token.objects.get(public_id=made["id"])
    assert child.creator_label == "token automation"

    rotated = api.post(f"/tokens/{made['id']}/rotate", {"grace": "none"}).json()
    assert rotated["created_by_token"] == admin_token[0].public_id


def test_create_with_a_preset(api):
    body = api.post("/tokens", {"name": "ro", "preset": "read"}).json()

    assert body["scopes"] == ["workspace:read", "members:read", "tokens:read"]


def test_presets_come_from_the_one_definition_in_settings(api, settings):
    # The schema's enum is built from settings when the app starts (settings do not
    # change while it runs); the scopes a preset grants are read at each request.
    preset = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    enum = preset["TokenCreateIn"]["properties"]["preset"]["enum"]
    settings.KEYWARD_SCOPE_PRESETS = {
        **settings.KEYWARD_SCOPE_PRESETS,
        "read": {"label": "Read", "scopes": ["tokens:read"]},
    }

    made = api.post("/tokens", {"name": "ci", "preset": "read"})

    assert enum == list(settings.KEYWARD_SCOPE_PRESETS)
    assert made.json()["scopes"] == ["tokens:read"]
    assert scope_catalogue.preset_scopes("read") == ["tokens:read"]


def test_create_with_resources_and_an_expiry_date(workspace, api):
    resource = Resource.objects.create(workspace=workspace, name="db")
    expires_at = (timezone.now() + timedelta(days=3)).replace(microsecond=0)

    response = api.post(
        "/tokens",
        {
            "name": "db-only",
            "scopes": ["tokens:read"],
            "resources": [resource.pk],
            "expires_at": expires_at.isoformat(),
        },
    )

    assert response.status_code == 201
    assert response.json()["resources"] == ["db"]
    assert Token.objects.get(name="db-only").expires_at == expires_at


def test_a_naive_expiry_is_read_as_utc(api):
    response = api.post(
        "/tokens",
        {
            "name": "naive",
            "scopes": ["tokens:read"],
            "expires_at": "2031-01-01T12:00:00",
        },
    )

    assert response.status_code == 201
    assert response.json()["expires_at"] == "2031-01-01T12:00:00Z"


def test_api_writes_are_audited_with_the_token_as_actor(api, admin_token):
    caller = admin_token[0]

    created = api.post("/tokens", {"name": "deploy", "scopes": ["tokens:read"]}).json()
    api.patch(f"/tokens/{created['id']}", {"name": "renamed"})
    rotated = api.post(f"/tokens/{created['id']}/rotate", {"grace": "1h"}).json()
    api.delete(f"/tokens/{rotated['id']}")

    events = AuditEvent.objects.filter(actor_token_id=caller.public_id).order_by("id")
    assert [e.action for e in events] == [
        "token.created",
        "token.renamed",
        "token.rotated",
        "token.created",
        "token.revoked",
    ]
    for event in events:
        assert event.actor_label == "token automation"
        assert event.actor_user is None
        assert event.ip == "192.0.2.10"
        assert event.user_agent == "pytest-api"


def test_a_workspace_token_cannot_create_a_personal_token(api):
    response = api.post("/tokens", {"name": "p", "kind": "personal", "scopes": ["tokens:read"]})

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


MEMBER_MAY_WRITE = {
    "tokens:read": {"description": "Read tokens", "role": "member"},
    "tokens:write": {"description": "Write tokens", "role": "member"},
}


@override_settings(KEYWARD_SCOPES=MEMBER_MAY_WRITE)
def test_a_members_personal_token_cannot_create_workspace_tokens(workspace, member_user):
    _, secret = issue(
        member_user, workspace, kind=TokenKind.PERSONAL, scopes=["tokens:read", "tokens:write"]
    )
    client = Api(secret)

    refused = client.post("/tokens", {"name": "shared", "scopes": ["tokens:read"]})
    personal = client.post(
        "/tokens", {"name": "mine", "kind": "personal", "scopes": ["tokens:read"]}
    )

    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert personal.status_code == 201
    assert Token.objects.get(public_id=personal.json()["id"]).owner == member_user


def test_a_token_cannot_grant_scopes_it_does_not_hold(workspace, admin_user):
    _, secret = issue(admin_user, workspace, scopes=["tokens:read", "tokens:write"])

    response = Api(secret).post("/tokens", {"name": "wider", "scopes": ["tokens:introspect"]})

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "scopes" in response.json()["fields"]


@pytest.fixture
def bounded_maker(workspace, admin_user, clock):
    """Return (maker token, its API client, resources db and queue): a token limited to
    one resource, one IP range and 7 days, that may write tokens."""
    db = Resource.objects.create(workspace=workspace, name="db")
    queue = Resource.objects.create(workspace=workspace, name="queue")
    maker, secret = issue(
        admin_user,
        workspace,
        name="bounded",
        scopes=["tokens:read", "tokens:write"],
        resource_ids=[db.pk],
        allowed_ips=["10.0.0.0/8"],
        expires_at=clock.now + timedelta(days=7),
    )
    return maker, Api(secret, ip="10.1.2.3"), db, queue


def child_body(db, **fields) -> dict:
    return {
        "name": "child",
        "scopes": ["tokens:read"],
        "resources": [db.pk],
        "allowed_ips": ["10.1.0.0/16"],
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"resources": []}, "resources"),
        ({"resources": "queue"}, "resources"),
        ({"resources": "db+queue"}, "resources"),
        ({"allowed_ips": []}, "allowed_ips"),
        ({"allowed_ips": ["0.0.0.0/0"]}, "allowed_ips"),
        ({"allowed_ips": ["10.1.0.0/16", "192.0.2.0/24"]}, "allowed_ips"),
        ({"allowed_ips": ["::/0"]}, "allowed_ips"),
        ({"expires_in_days": 30}, "expires_at"),
    ],
)
def test_a_token_cannot_make_a_token_wider_than_itself(bounded_maker, fields, field):
    _, client, db, queue = bounded_maker
    named = {"queue": [queue.pk], "db+queue": [db.pk, queue.pk]}
    if isinstance(fields.get("resources"), str):
        fields = {"resources": named[fields["resources"]]}

    response = client.post("/tokens", child_body(db, **fields))

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert list(response.json()["fields"]) == [field]
    assert not Token.objects.filter(name="child").exists()


def test_a_token_made_by_a_bounded_token_stays_within_it(bounded_maker):
    maker, client, db, _ = bounded_maker

    response = client.post("/tokens", child_body(db, allowed_ips=["10.1.0.0/16", "10.2.3.4"]))

    assert response.status_code == 201
    body = response.json()
    assert body["resources"] == ["db"]
    assert body["allowed_ips"] == ["10.1.0.0/16", "10.2.3.4/32"]
    # No expiry asked for: the child ends with its maker.
    assert Token.objects.get(public_id=body["id"]).expires_at == maker.expires_at


def test_a_personal_token_cannot_make_a_workspace_token(workspace, manager_user):
    _, secret = issue(
        manager_user, workspace, kind=TokenKind.PERSONAL, scopes=["tokens:read", "tokens:write"]
    )

    response = Api(secret).post("/tokens", {"name": "shared", "scopes": ["tokens:read"]})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["kind"]


def test_children_die_with_the_token_that_made_them(workspace, api, admin_token):
    child = api.post("/tokens", {"name": "child", "scopes": ["tokens:read", "tokens:write"]}).json()
    grandchild = (
        Api(child["token"])
        .post("/tokens", {"name": "grandchild", "scopes": ["tokens:read"]})
        .json()
    )
    unrelated, _ = issue(admin_token[0].created_by, workspace, name="unrelated")

    Api(child["token"]).delete(f"/tokens/{admin_token[0].public_id}")

    assert Token.objects.get(pk=unrelated.pk).is_active
    for made in (child, grandchild):
        token = Token.objects.get(public_id=made["id"])
        assert token.status() == TokenStatus.REVOKED
        assert token.revoke_reason == RevokeReason.PARENT_REVOKED
        event = AuditEvent.objects.get(action="token.revoked", target_id=made["id"])
        assert event.details["reason"] == "parent_revoked"
    listed = {
        item["id"]: item
        for item in Api(issue(admin_token[0].created_by, workspace, name="reader")[1])
        .get("/tokens", {"status": "revoked"})
        .json()
    }
    assert listed[child["id"]]["revoke_reason"] == "parent_revoked"
    assert listed[child["id"]]["created_by_token"] == admin_token[0].public_id


def test_a_rotated_makers_children_keep_working_until_its_successor_is_revoked(
    workspace, admin_user, api, admin_token
):
    child = api.post("/tokens", {"name": "child", "scopes": ["tokens:read"]}).json()
    actor = actor_of(admin_user, workspace)

    successor, _ = services.token_rotate(actor=actor, token=admin_token[0], grace="none")

    assert authenticate_token(child["token"]).public_id == child["id"]
    services.token_revoke(actor=actor, token=successor)
    assert Token.objects.get(public_id=child["id"]).revoke_reason == RevokeReason.PARENT_REVOKED


def test_ending_a_makers_grace_early_leaves_its_children_to_the_successor(
    workspace, admin_user, api, admin_token
):
    child = api.post("/tokens", {"name": "child", "scopes": ["tokens:read"]}).json()
    actor = actor_of(admin_user, workspace)
    services.token_rotate(actor=actor, token=admin_token[0], grace="1d")

    services.token_revoke(actor=actor, token=admin_token[0])

    assert authenticate_token(child["token"]).public_id == child["id"]


def test_a_leaked_makers_children_are_revoked_too(workspace, admin_user, api, admin_token):
    child = api.post("/tokens", {"name": "child", "scopes": ["tokens:read"]}).json()

    services.tokens_revoke_leaked([(admin_token[1], {"url": "https://example.com/x"})])

    assert Token.objects.get(public_id=child["id"]).revoke_reason == RevokeReason.PARENT_REVOKED


def test_validation_errors_are_400_with_fields(api):
    api.post("/tokens", {"name": "ci", "scopes": ["tokens:read"]})

    duplicate = api.post("/tokens", {"name": "ci", "scopes": ["tokens:read"]})
    bad_ip = api.post("/tokens", {"name": "x", "scopes": ["tokens:read"], "allowed_ips": ["nope"]})

    assert duplicate.status_code == 400
    assert duplicate.json()["error"] == "validation_error"
    assert list(duplicate.json()["fields"]) == ["name"]
    assert duplicate.json()["field_codes"] == {"name": ["duplicate_name"]}
    assert duplicate.json()["message"]
    assert bad_ip.status_code == 400
    assert bad_ip.json()["field_codes"] == {"allowed_ips": ["invalid_cidr"]}


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        ({"scopes": []}, {"scopes": ["min_length"]}),
        ({"scopes": ["nope:read"]}, {"scopes": ["unknown_scope"]}),
        ({"scopes": ["tokens:read"], "preset": "read"}, {"preset": ["mutually_exclusive"]}),
        ({"scopes": ["tokens:read"], "kind": "robot"}, {"kind": ["invalid_choice"]}),
        ({"scopes": ["tokens:read"], "expires_in_days": 0}, {"expires_in_days": ["min_value"]}),
        ({"scopes": ["tokens:read"], "colour": "red"}, {"colour": ["unknown_field"]}),
        ({"scopes": ["tokens:read"], "resources": [999999]}, {"resources": ["unknown_resource"]}),
    ],
)
def test_each_field_error_has_its_own_stable_code(api, body, codes):
    response = api.post("/tokens", {"name": "x", **body})

    assert response.status_code == 400, response.content
    assert response.json()["field_codes"] == codes
    assert_field_codes(response.json())


def test_a_request_missing_a_field_says_required(api):
    response = api.post("/tokens", {"scopes": ["tokens:read"]})

    assert response.json()["error"] == "invalid_request"
    assert response.json()["field_codes"] == {"name": ["required"]}


def test_policy_limits_apply_through_the_api(workspace, api):
    policy = services.workspace_policy(workspace)
    policy.max_lifetime_days = 7
    policy.save()

    forever = api.post("/tokens", {"name": "a", "scopes": ["tokens:read"]})
    too_long = api.post("/tokens", {"name": "b", "scopes": ["tokens:read"], "expires_in_days": 8})
    fine = api.post("/tokens", {"name": "c", "scopes": ["tokens:read"], "expires_in_days": 7})

    assert forever.status_code == too_long.status_code == 400
    assert list(forever.json()["fields"]) == list(too_long.json()["fields"]) == ["expires_at"]
    assert fine.status_code == 201


BAD_CREATE_BODIES = [
    {},
    {"name": None, "scopes": ["tokens:read"]},
    {"name": 123, "scopes": ["tokens:read"]},
    {"name": "", "scopes": ["tokens:read"]},
    {"name": "x" * 101, "scopes": ["tokens:read"]},
    {"name": ["x"], "scopes": ["tokens:read"]},
    {"name": "x", "description": "d" * 256, "scopes": ["tokens:read"]},
    {"name": "x", "description": None, "scopes": ["tokens:read"]},
    {"name": "x", "kind": "robot", "scopes": ["tokens:read"]},
    {"name": "x", "kind": None, "scopes": ["tokens:read"]},
    {"name": "x", "scopes": []},
    {"name": "x", "scopes": "tokens:read"},
    {"name": "x", "scopes": [1]},
    {"name": "x", "scopes": [None]},
    {"name": "x", "scopes": ["nope"]},
    {"name": "x", "scopes": {"tokens:read": True}},
    {"name": "x", "preset": "everything"},
    {"name": "x", "preset": 1},
    {"name": "x", "scopes": ["tokens:read"], "resources": ["a"]},
    {"name": "x", "scopes": ["tokens:read"], "resources": [999999]},
    {"name": "x", "scopes": ["tokens:read"], "resources": [-1]},
    {"name": "x", "scopes": ["tokens:read"], "resources": [10**30]},
    {"name": "x", "scopes": ["tokens:read"], "resources": 1},
    {"name": "x", "scopes": ["tokens:read"], "allowed_ips": ["nope"]},
    {"name": "x", "scopes": ["tokens:read"], "allowed_ips": "10.0.0.0/8"},
    {"name": "x", "scopes": ["tokens:read"], "allowed_ips": [None]},
    {"name": "x", "scopes": ["tokens:read"], "allowed_ips": [10]},
    {"name": "x", "scopes": ["tokens:read"], "allowed_ips": [f"10.0.{i}.0/24" for i in range(51)]},
    {"name": "x", "scopes": ["tokens:read"], "expires_at": "tomorrow"},
    {"name": "x", "scopes": ["tokens:read"], "expires_at": "2001-01-01T00:00:00Z"},
    {"name": "x", "scopes": ["tokens:read"], "expires_at": "2999-01-01T00:00:00"},
    {"name": "x", "scopes": ["tokens:read"], "expires_at": 99999999999999},
    {"name": "x", "scopes": ["tokens:read"], "expires_at": "9999-12-31T23:59:59Z"},
    {"name": "x", "scopes": ["tokens:read"], "expires_in_days": 0},
    {"name": "x", "scopes": ["tokens:read"], "expires_in_days": -1},
    {"name": "x", "scopes": ["tokens:read"], "expires_in_days": 3651},
    {"name": "x", "scopes": ["tokens:read"], "expires_in_days": "soon"},
    {"name": "x", "scopes": ["tokens:read"], "expires_in_days": 1.5},
    {"name": "x", "scopes": ["tokens:read"], "expires_in_days": 10**30},
    {
        "name": "x",
        "scopes": ["tokens:read"],
        "expires_in_days": 7,
        "expires_at": "2999-01-01T00:00:00Z",
    },
    {"name": "x\x00y", "scopes": ["tokens:read"]},
    {"name": "\ud800", "scopes": ["tokens:read"]},
    {"name": "x", "description": "a\x00b", "scopes": ["tokens:read"]},
    {"name": "x", "description": "\udfff", "scopes": ["tokens:read"]},
]


@pytest.mark.parametrize("body", BAD_CREATE_BODIES, ids=lambda b: json.dumps(b)[:60])
def test_bad_input_to_create_is_a_4xx_json_error(api, body):
    before = Token.objects.count()

    response = api.post("/tokens", body)

    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"] in {"validation_error", "invalid_request"}
    assert_field_codes(response.json())
    assert Token.objects.count() == before


STABLE_CODE = re.compile(r"[a-z][a-z_]*")


def assert_field_codes(body: dict) -> None:
    """Check that a field error gives each field's messages a stable code each, in order."""
    assert body["fields"], body
    assert body["field_codes"].keys() == body["fields"].keys(), body
    for field, messages in body["fields"].items():
        codes = body["field_codes"][field]
        assert len(codes) == len(messages), body
        assert all(STABLE_CODE.fullmatch(code) for code in codes), body


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        "",
        "[]",
        '"a string"',
        "null",
        "1",
        '{"name": "x", "scopes": ["tokens:read"]',
        "\xff\xfe",
    ],
)
def test_a_malformed_json_body_is_400_not_500(api, data):
    response = api.raw("POST", "/tokens", data)

    assert response.status_code == 400, response.content
    assert response.json()["error"] in {"invalid_request", "validation_error"}


def test_a_form_encoded_create_is_400_not_500(api):
    response = api.raw(
        "POST",
        "/tokens",
        "name=x&scopes=tokens:read",
        content_type="application/x-www-form-urlencoded",
    )

    assert 400 <= response.status_code < 500
    assert "error" in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "abc"},
        {"offset": "x"},
        {"status": "bogus"},
        {"status": "revoked\x00"},
        {"kind": "robot"},
        {"kind": "\x00"},
    ],
)
def test_bad_list_parameters_are_400(api, params):
    response = api.get("/tokens", params)

    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "validation_error"}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": str(10**30)},
        {"offset": str(10**30)},
    ],
)
def test_paging_beyond_the_maximum_is_clamped(api, params):
    response = api.get("/tokens", params)

    assert response.status_code == 200
    assert len(response.json()) <= 1


# Tokens: update, revoke, rotate -------------------------------------------------


def test_patch_renames_and_changes_the_description(api, workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="ci")

    response = api.patch(f"/tokens/{token.public_id}", {"name": "deploy", "description": "new"})

    assert response.status_code == 200
    assert response.json()["name"] == "deploy"
    assert response.json()["description"] == "new"
    token.refresh_from_db()
    assert (token.name, token.description) == ("deploy", "new")


def test_patch_with_only_a_description_keeps_the_name(api, workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="ci")

    response = api.patch(f"/tokens/{token.public_id}", {"description": "only this"})

    assert response.json()["name"] == "ci"
    assert response.json()["description"] == "only this"


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": "taken"}, {"name": 5}, {"description": "d" * 256}, [], "x"]
)
def test_bad_patches_are_400(api, workspace, admin_user, body):
    issue(admin_user, workspace, name="taken")
    token, _ = issue(admin_user, workspace, name="ci")

    response = api.patch(f"/tokens/{token.public_id}", body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] in {"validation_error", "invalid_request"}
    token.refresh_from_db()
    assert token.name == "ci"


def test_delete_revokes_at_once(api, workspace, admin_user):
    token, secret = issue(admin_user, workspace, name="ci")

    response = api.delete(f"/tokens/{token.public_id}")

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["revoke_reason"] == RevokeReason.USER
    assert_invalid_token(Api(secret).get("/whoami"))


def test_a_token_can_revoke_itself(api, admin_token):
    response = api.delete(f"/tokens/{admin_token[0].public_id}")

    assert response.status_code == 200
    assert_invalid_token(api.get("/whoami"))


def test_rotate_returns_the_new_secret_once(api, workspace, admin_user, clock):
    token, old_secret = issue(admin_user, workspace, name="ci", scopes=["tokens:read"])

    response = api.post(f"/tokens/{token.public_id}/rotate", {"grace": "1h"})

    assert response.status_code == 201
    body = response.json()
    assert body["rotated_from"] == token.public_id
    assert body["name"] == "ci"
    assert body["scopes"] == ["tokens:read"]
    assert authenticate_token(body["token"]).public_id == body["id"]
    assert Api(old_secret).get("/whoami").status_code == 200  # in its grace period
    old = api.get(f"/tokens/{token.public_id}").json()
    stops_at = datetime.fromisoformat(old["stops_at"])
    assert abs(stops_at - (clock.now + timedelta(hours=1))) < timedelta(milliseconds=1)
    assert "token" not in old
    assert body["token"][4:34].encode() not in api.get("/tokens").content
    clock.advance(hours=1)
    assert_invalid_token(Api(old_secret).get("/whoami"))


@pytest.mark.parametrize("body", ["{}", ""], ids=["empty-object", "no-body"])
def test_rotate_without_a_body_uses_no_grace(api, workspace, admin_user, body):
    token, old_secret = issue(admin_user, workspace, name="ci")

    response = api.raw("POST", f"/tokens/{token.public_id}/rotate", body)

    assert response.status_code == 201
    assert_invalid_token(Api(old_secret).get("/whoami"))


@pytest.mark.parametrize("body", [{"grace": "2h"}, {"grace": None}, {"grace": 3600}, []])
def test_bad_rotation_graces_are_400(api, workspace, admin_user, body):
    token, _ = issue(admin_user, workspace, name="ci")

    response = api.post(f"/tokens/{token.public_id}/rotate", body)

    assert response.status_code == 400, response.content
    assert Token.objects.get(pk=token.pk).status() == TokenStatus.ACTIVE
    assert Token.objects.count() == 2


def test_rotating_a_revoked_token_is_400(api, workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="ci")
    api.delete(f"/tokens/{token.public_id}")

    response = api.post(f"/tokens/{token.public_id}/rotate", {"grace": "none"})

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert response.json()["field_codes"] == {"__all__": ["not_rotatable"]}


def test_a_manager_personal_token_cannot_revoke_another_users_personal_token(
    workspace, manager_user, member_user
):
    _, secret = issue(
        manager_user,
        workspace,
        name="mgr",
        kind=TokenKind.PERSONAL,
        scopes=["tokens:read", "tokens:write"],
    )
    theirs, _ = issue(member_user, workspace, name="theirs", kind=TokenKind.PERSONAL)

    response = Api(secret).delete(f"/tokens/{theirs.public_id}")

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert Token.objects.get(pk=theirs.pk).status() == TokenStatus.ACTIVE


@pytest.mark.parametrize("token_id", ["nope", "tok_" + "x" * 16, "../whoami", "%00", "x" * 500])
def test_unknown_token_ids_are_404(api, token_id):
    response = api.get(f"/tokens/{token_id}")

    assert response.status_code == 404


# OpenAPI ------------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served(db):
    client = Client()

    schema = client.get(f"{BASE}/openapi.json")
    docs = client.get(f"{BASE}/docs")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {
        "/api/v1/whoami",
        "/api/v1/introspect",
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/api/v1/tokens/{token_id}/rotate",
    } <= set(paths)
    assert docs.status_code == 200


# Unknown paths and wrong methods ---------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_unknown_api_path_answers_a_json_404_with_a_stable_code(api, method):
    response = api.raw(method, "/no-such-endpoint", "{}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(("method", "path"), [("PUT", "/whoami"), ("DELETE", "/introspect")])
def test_a_wrong_method_answers_a_json_405_naming_the_allowed_ones(api, method, path):
    response = api.raw(method, path, "{}")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"]
    assert response["Allow"] in response.json()["message"]


def test_the_api_docs_still_answer(api):
    assert api.get("/openapi.json").status_code == 200


def test_the_api_follows_the_permission_table(api, workspace, admin_user, monkeypatch):
    from accounts.permissions import LOWEST_ROLE, Perm
    from accounts.roles import Role

    target, _ = issue(admin_user, workspace, name="deploy")
    # A workspace token acts with a Manager's rules; the table decides what those are.
    monkeypatch.setitem(LOWEST_ROLE, Perm.TOKENS_MANAGE_WORKSPACE, Role.ADMIN)

    refused = api.patch(f"/tokens/{target.public_id}", {"name": "renamed"})
    monkeypatch.setitem(LOWEST_ROLE, Perm.TOKENS_MANAGE_WORKSPACE, Role.MANAGER)
    allowed = api.patch(f"/tokens/{target.public_id}", {"name": "renamed"})

    assert (refused.status_code, allowed.status_code) == (403, 200)
