"""Attacks tried by hand against the console and the API: each must fail.

Open redirects, foreign hosts, framing, CSRF on HTMX actions, session fixation,
sudo mode carried to another session, HTML in names, secrets reaching SQL or
logs, forged client addresses, and invitation links used by someone else.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.invitation_links import invitation_link_token
from accounts.models import AuditEvent, Membership
from tests.conftest import PASSWORD
from tests.factories import HTMX, issue, signed_in
from tests.security.world import World, build_world, changes, snapshot
from tokens.lookup_limit import failure_limiter
from tokens.models import RevealPolicy
from tokens.services import workspace_policy

ALL_SCOPES = ("workspace:read", "members:read", "tokens:read", "tokens:write", "tokens:introspect")


@pytest.fixture
def world(db) -> World:
    failure_limiter.cache_clear()
    yield build_world({"all": ALL_SCOPES})
    failure_limiter.cache_clear()


def _api(world: World, method: str, url: str, body=None, **headers):
    _, secret = world.acme.tokens_by_scope["all"]
    return Client().generic(
        method,
        url,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        **headers,
    )


@pytest.mark.parametrize(
    "target", ["https://evil.test/", "//evil.test/", "/\\evil.test/", "\\\\evil.test", "http:evil"]
)
def test_sign_in_never_redirects_to_another_site(world: World, target: str):
    response = Client().post(
        f"/accounts/login/?next={target}",
        {"username": world.acme.admin.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith("//")
    assert "evil" not in response["Location"]


def test_a_foreign_host_header_is_refused(db):
    """Password-reset links and absolute URLs cannot be pointed at an attacker's host."""
    response = Client().post(
        "/accounts/password/reset/", {"email": "admin@example.com"}, HTTP_HOST="evil.test"
    )
    assert response.status_code == 400
    assert not mail.outbox


def test_console_pages_cannot_be_framed_nor_run_inline_scripts(world: World):
    response = signed_in(world.acme.admin).get("/w/acme/settings/tokens/")
    csp = response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in csp
    assert "'nonce-" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"


def test_api_answers_cannot_be_framed_nor_sniffed(world: World):
    response = _api(world, "GET", "/api/v1/whoami")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_htmx_action_without_csrf_token_is_refused_and_changes_nothing(world: World):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.acme.admin)
    before = snapshot()
    response = client.post(f"/w/acme/settings/tokens/{world.acme.token.public_id}/revoke/", **HTMX)
    assert response.status_code == 403
    assert not changes(before, snapshot())


def test_signing_in_replaces_a_session_key_chosen_beforehand(world: World):
    client = Client()
    client.get("/accounts/login/")
    client.cookies["sessionid"] = "fixedbytheattacker0123456789abcd"
    client.post("/accounts/login/", {"username": world.acme.admin.email, "password": PASSWORD})
    assert client.cookies["sessionid"].value != "fixedbytheattacker0123456789abcd"
    assert client.get("/w/acme/").status_code == 200


def test_sudo_mode_stays_in_the_session_that_confirmed_it(world: World):
    """A password confirmed in one session reveals nothing in another, nor after signing out."""
    policy = workspace_policy(world.acme.workspace)
    policy.reveal_policy = RevealPolicy.RETRIEVABLE
    policy.save()
    token, secret = issue(world.acme.admin, world.acme.workspace, "kept")
    url = f"/w/acme/settings/tokens/{token.public_id}/reveal/"
    confirmed, other = signed_in(world.acme.admin), signed_in(world.acme.admin)
    assert secret in confirmed.post(url, {"password": PASSWORD}).content.decode()
    assert secret not in other.post(url).content.decode()
    confirmed.post("/accounts/logout/")
    confirmed.force_login(world.acme.admin)
    assert secret not in confirmed.post(url).content.decode()


def test_names_are_escaped_in_the_console_and_in_html_email(
    world: World, django_capture_on_commit_callbacks
):
    evil = "<img src=x onerror=alert(1)>"
    issue(world.acme.admin, world.acme.workspace, evil)
    page = signed_in(world.acme.admin).get("/w/acme/settings/tokens/").content.decode()
    assert evil not in page and "&lt;img src=x" in page
    world.acme.workspace.name = evil
    world.acme.workspace.save()
    with django_capture_on_commit_callbacks(execute=True):
        account_services.invitation_create(
            workspace=world.acme.workspace,
            actor=world.acme.admin,
            email="z@example.com",
            role="member",
        )
    (message,) = mail.outbox
    html = [content for content, kind in message.alternatives if kind == "text/html"]
    assert html and all(evil not in content for content in html)


def test_token_lookup_sends_a_digest_never_the_secret(world: World, caplog):
    """One indexed query by digest (no comparison whose time depends on the secret's
    characters) and neither SQL nor logs ever carry a secret, valid or not."""
    _, secret = world.acme.tokens_by_scope["all"]
    with CaptureQueriesContext(connection) as queries, caplog.at_level(logging.DEBUG):
        assert _api(world, "GET", "/api/v1/whoami").status_code == 200
        refused = Client().get(
            "/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {world.revoked_secret}"
        )
    assert refused.status_code == 401
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    for value in (secret, world.revoked_secret):
        assert value not in sql
        assert value not in caplog.text
        assert value[4:] not in sql  # not even without its prefix


@override_settings(KEYWARD_TRUST_X_FORWARDED_FOR=True)
@pytest.mark.parametrize("forwarded", ["not-an-ip", "1.2.3.4, <script>", "fe80::1%eth0", " "])
def test_a_forwarded_for_that_is_no_address_is_never_recorded(world: World, forwarded: str):
    """Behind a proxy, a last X-Forwarded-For entry that is no IP gives no address at all.

    Not the peer's: that is the proxy, and an allow-list naming the proxy must
    not let such requests through.

    Before, 'not-an-ip' was stored as the token's last_used_ip and in the audit
    log (PostgreSQL's inet column refuses it: a 500 for a valid token) and
    matched against allow-lists.
    """
    token, secret = issue(world.acme.admin, world.acme.workspace, "proxied")
    response = Client().get(
        "/api/v1/whoami",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_ip is None
    _, fenced_secret = issue(
        world.acme.admin, world.acme.workspace, "fenced", allowed_ips=["198.51.100.0/24"]
    )
    Client().get(
        "/api/v1/whoami",
        HTTP_AUTHORIZATION=f"Bearer {fenced_secret}",
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="192.0.2.7",
    )
    assert not AuditEvent.objects.exclude(ip=None).exists()


def test_an_invitation_link_opened_by_someone_else_joins_nobody(world: World):
    """Acme's Member holding Globex's invitation link (for another address) does not join."""
    link = invitation_link_token(world.globex.invitation)
    before = snapshot()
    response = signed_in(world.member).post(f"/invitations/{link}/")
    assert response.status_code < 500
    assert not Membership.objects.filter(user=world.member, workspace=world.globex.workspace)
    assert not changes(before, snapshot())


def test_a_request_without_peer_address_records_no_fake_address(world: World):
    token, secret = issue(world.acme.admin, world.acme.workspace, "socket")
    Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="")
    token.refresh_from_db()
    assert token.last_used_ip is None


def test_a_token_cannot_carry_an_unbounded_allow_list(world: World):
    ranges = [f"10.{i // 256}.{i % 256}.0/24" for i in range(10_000)]
    body = {"name": "huge", "scopes": ["tokens:read"], "allowed_ips": ranges}
    before = snapshot()
    response = _api(world, "POST", "/api/v1/tokens", body)
    assert response.status_code == 400
    assert "allowed_ips" in response.json()["fields"]
    assert not changes(before, snapshot())


TOKEN_ACTIONS = ("rename", "rotate", "revoke", "reveal", "activity")


def test_a_member_cannot_reach_another_persons_personal_token(world: World):
    """Inside one workspace, a Member naming a Manager's personal token gets 404 everywhere."""
    theirs, _ = issue(world.manager, world.acme.workspace, "mine", kind="personal")
    client = signed_in(world.member)
    before = snapshot()
    for action in TOKEN_ACTIONS:
        url = f"/w/acme/settings/tokens/{theirs.public_id}/{action}/"
        assert client.get(url).status_code in (404, 405), url
        assert client.post(url, {"name": "x", "grace": "none"}).status_code == 404, url
    api = Client(HTTP_AUTHORIZATION=f"Bearer {world.personal_secret}")
    assert api.get(f"/api/v1/tokens/{theirs.public_id}").status_code == 404
    listed = {token["id"] for token in api.get("/api/v1/tokens?status=all").json()}
    assert theirs.public_id not in listed
    assert not changes(before, snapshot())


def test_operators_never_see_a_secret_in_admin(world: World):
    """Django admin shows a stored token without its value nor its encrypted copy."""
    policy = workspace_policy(world.acme.workspace)
    policy.reveal_policy = RevealPolicy.RETRIEVABLE
    policy.save()
    token, secret = issue(world.acme.admin, world.acme.workspace, "kept")
    operator = signed_in(world.operator)
    pages = [
        "/admin/tokens/token/",
        f"/admin/tokens/token/{token.pk}/change/",
        f"/admin/tokens/token/{token.pk}/history/",
    ]
    for url in pages:
        content = operator.get(url).content.decode()
        assert secret not in content and secret[4:] not in content, url
        assert token.encrypted_secret not in content, url


def test_the_api_grants_no_cross_origin_reads(world: World):
    """No CORS header: a page on another site cannot read API answers with a user's token."""
    response = _api(world, "GET", "/api/v1/whoami", HTTP_ORIGIN="https://evil.test")
    preflight = Client().options(
        "/api/v1/whoami",
        HTTP_ORIGIN="https://evil.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    for answer in (response, preflight):
        assert "Access-Control-Allow-Origin" not in answer
        assert "Access-Control-Allow-Credentials" not in answer


def test_the_password_change_form_cannot_be_used_to_guess_the_password(world: World):
    client = signed_in(world.acme.admin)
    url = "/accounts/password/change/"
    new = {"new_password1": "another-long-password-9", "new_password2": "another-long-password-9"}
    for attempt in range(10):
        client.post(url, {"old_password": f"guess-{attempt}", **new})
    response = client.post(url, {"old_password": PASSWORD, **new})
    world.acme.admin.refresh_from_db()
    assert world.acme.admin.check_password(PASSWORD), response.status_code


def test_an_email_with_invisible_characters_cannot_impersonate_another(world: World):
    before = snapshot()
    response = Client().post(
        "/accounts/signup/",
        {
            "email": f"{world.acme.admin.email}\u200b",
            "full_name": "Not the admin",
            "workspace_name": "Lookalike",
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    )
    assert response.status_code == 200
    assert not changes(before, snapshot())
