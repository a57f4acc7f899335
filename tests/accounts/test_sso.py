"""Single sign-on through a real OpenID Connect provider on loopback (tests/oidc_provider.py).

The backend's HTTP calls (discovery, token, JWKS) really go to the provider;
the browser's part is played by `sign_in_through`.
"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts.models import AuditEvent, Membership, User, WorkspaceSingleSignOn
from accounts.roles import Role
from accounts.signin import oidc_config
from accounts.signin.oidc import REFUSAL_MESSAGES
from tests.oidc_provider import new_ec_key, new_rsa_key, sign_in_through

pytestmark = pytest.mark.django_db


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def failures() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="signin.sso_failed").order_by("id"))


def refused_with(response, reason: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?sso={reason}"
    assert [event.details["reason"] for event in failures()] == [reason]


def test_a_verified_email_signs_its_account_in(oidc_provider, member_user):
    client = Client()
    response = sign_in_through(client, next_url="/w/acme/")
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/"
    assert signed_in_user(client) == member_user
    event = AuditEvent.objects.get(action="signin.sso")
    assert event.actor_user == member_user
    assert event.details == {"email": "member@example.com"}
    assert not failures()


def test_next_never_leaves_keyward(oidc_provider, member_user):
    response = sign_in_through(Client(), next_url="https://evil.example/")
    assert response["Location"] == "/"


def test_the_flow_uses_pkce_s256_and_a_nonce(oidc_provider, member_user):
    sign_in_through(Client())
    (authorization,) = oidc_provider.authorizations
    (token_request,) = oidc_provider.token_requests
    assert authorization.code_challenge_method == "S256"
    assert authorization.nonce and len(authorization.nonce) >= 32
    assert len(token_request["code_verifier"]) >= 43
    assert authorization.redirect_uri == "http://testserver/accounts/sso/callback/"


def test_no_token_is_stored_in_the_session_or_the_audit(oidc_provider, member_user):
    client = Client()
    sign_in_through(client)
    stored = str(dict(client.session)) + str(list(AuditEvent.objects.values()))
    # No JWT: a header and a payload, each base64url JSON ("eyJ"); random ids may hold "eyJ".
    assert not re.search(r"eyJ[\w-]*\.eyJ[\w-]*\.", stored)
    assert oidc_provider.client_secret not in stored


def test_an_email_the_provider_has_not_verified_is_refused_with_a_clear_message(
    oidc_provider, member_user
):
    oidc_provider.person["email_verified"] = False
    client = Client()
    response = sign_in_through(client)
    refused_with(response, "email_unverified")
    assert signed_in_user(client) is None
    assert failures()[0].details["email"] == "member@example.com"
    page = client.get(response["Location"])
    assert REFUSAL_MESSAGES["email_unverified"] in page.content.decode()


def test_an_email_without_an_account_is_refused_and_nobody_is_created(oidc_provider, workspace):
    oidc_provider.person["email"] = "stranger@example.org"
    client = Client()
    refused_with(sign_in_through(client), "no_account")
    assert not User.objects.filter(email="stranger@example.org").exists()


def test_jit_membership_creates_the_account_with_the_default_role(
    oidc_provider, workspace, other_workspace
):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, jit_enabled=True, jit_domains=["example.org"], jit_role=Role.MANAGER
    )
    WorkspaceSingleSignOn.objects.create(
        workspace=other_workspace, jit_enabled=True, jit_domains=["elsewhere.test"]
    )
    oidc_provider.person["email"] = "New.Person@Example.org"
    client = Client()
    sign_in_through(client)
    user = signed_in_user(client)
    assert user.email == "new.person@example.org"
    assert not user.has_usable_password()
    (membership,) = Membership.objects.filter(user=user)
    assert (membership.workspace, membership.role) == (workspace, Role.MANAGER)
    joined = AuditEvent.objects.get(action="member.added", workspace=workspace)
    assert joined.details["just_in_time"] is True


def test_jit_membership_adds_an_existing_account_once(oidc_provider, workspace, outsider):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, jit_enabled=True, jit_domains=["example.com"]
    )
    oidc_provider.person["email"] = outsider.email
    sign_in_through(Client())
    sign_in_through(Client())
    assert Membership.objects.get(user=outsider, workspace=workspace).role == Role.MEMBER
    assert AuditEvent.objects.filter(action="member.added", workspace=workspace).count() == 1


def test_jit_refuses_an_email_keyward_cannot_store(oidc_provider, workspace):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, jit_enabled=True, jit_domains=["example.org"]
    )
    oidc_provider.person["email"] = "new\u200b@example.org"  # an invisible character
    refused_with(sign_in_through(Client()), "invalid_email")
    assert not User.objects.filter(email__endswith="@example.org").exists()


def test_jit_is_off_unless_turned_on(oidc_provider, workspace):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, jit_enabled=False, jit_domains=["example.org"]
    )
    oidc_provider.person["email"] = "new@example.org"
    refused_with(sign_in_through(Client()), "no_account")


def test_the_database_refuses_admin_as_the_jit_role(workspace):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        WorkspaceSingleSignOn.objects.create(workspace=workspace, jit_role=Role.ADMIN)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"aud": ["keyward-test", "someone-else"]}, "wrong_audience"),  # no azp
        ({"nonce": "not-the-nonce-this-browser-sent"}, "nonce_mismatch"),
        ({"nonce": None}, "nonce_mismatch"),
        ({"iss": "http://127.0.0.1:1/other"}, "wrong_issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "token_expired"),
        ({"exp": None}, "invalid_token"),
    ],
)
def test_a_tampered_id_token_is_refused(oidc_provider, member_user, change, reason):
    oidc_provider.id_token_claims = change
    client = Client()
    response = sign_in_through(client)
    refused_with(response, reason)
    assert signed_in_user(client) is None
    assert client.get(response["Location"]).status_code == 200


def test_an_id_token_signed_by_another_key_is_refused(oidc_provider, member_user):
    oidc_provider.signing_key = new_rsa_key()
    client = Client()
    refused_with(sign_in_through(client), "bad_signature")
    assert signed_in_user(client) is None


def test_an_hs256_token_signed_with_the_client_secret_is_refused(oidc_provider, member_user):
    """No algorithm confusion: the client secret is no signing key here."""
    oidc_provider.signing_algorithm = "HS256"
    refused_with(sign_in_through(Client()), "algorithm_refused")


def test_an_es256_issuer_signs_in(oidc_provider, member_user):
    oidc_provider.key, oidc_provider.algorithm = new_ec_key(), "ES256"
    client = Client()
    sign_in_through(client)
    assert signed_in_user(client) == member_user


def test_a_rotated_signing_key_is_fetched_again(oidc_provider, member_user):
    sign_in_through(Client())  # the process now knows the first key
    oidc_provider.key, oidc_provider.kid = new_rsa_key(), "test-key-2"
    client = Client()
    sign_in_through(client)
    assert signed_in_user(client) == member_user


def test_the_userinfo_endpoint_gives_a_missing_email(oidc_provider, member_user):
    oidc_provider.id_token_claims = {"email": None, "email_verified": None}
    client = Client()
    sign_in_through(client)
    assert signed_in_user(client) == member_user
    assert oidc_provider.userinfo_requests == 1


def test_userinfo_about_another_subject_is_refused(oidc_provider, member_user):
    oidc_provider.id_token_claims = {"email": None, "email_verified": None, "sub": "person-2"}
    refused_with(sign_in_through(Client()), "invalid_token")


def test_a_deactivated_account_is_refused(oidc_provider, member_user):
    member_user.is_active = False
    member_user.save()
    client = Client()
    refused_with(sign_in_through(client), "inactive")
    assert signed_in_user(client) is None


def test_a_discovery_document_naming_another_issuer_is_refused(oidc_provider, settings, db):
    settings.KEYWARD_OIDC_ISSUER = oidc_provider.issuer + "/"
    oidc_config.forget()
    response = Client().get("/accounts/sso/login/")
    assert response["Location"] == "/accounts/login/?sso=provider_unreachable"


def test_a_state_this_browser_did_not_start_is_refused(oidc_provider, member_user):
    client = Client()
    refused_with(sign_in_through(client, state="forged-state"), "state_mismatch")
    assert signed_in_user(client) is None
    assert not oidc_provider.token_requests  # the code was never exchanged


def test_an_answer_is_used_once(oidc_provider, member_user):
    client = Client()
    sign_in_through(client)
    callback = oidc_provider.authorizations[0]
    client.logout()
    again = client.get("/accounts/sso/callback/", {"code": "x", "state": callback.state})
    assert again["Location"] == "/accounts/login/?sso=state_mismatch"


def test_an_error_from_the_provider_is_refused_and_audited(oidc_provider, member_user):
    oidc_provider.authorization_error = "access_denied"
    client = Client()
    refused_with(sign_in_through(client), "provider_error")
    assert failures()[0].details["error"] == "access_denied"


def test_an_unreachable_provider_is_a_message_not_a_500(settings, db):
    from tests.servers import free_port

    settings.KEYWARD_OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    settings.KEYWARD_OIDC_CLIENT_ID = "id"
    settings.KEYWARD_OIDC_CLIENT_SECRET = "secret"
    oidc_config.forget()
    response = Client().get("/accounts/sso/login/")
    assert response["Location"] == "/accounts/login/?sso=provider_unreachable"
    oidc_config.forget()


def test_sso_refusals_count_under_the_sign_in_limits(oidc_provider, member_user, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 2
    oidc_provider.person["email_verified"] = False
    for _ in range(2):
        sign_in_through(Client(REMOTE_ADDR=f"10.0.0.{_}"))
    oidc_provider.person["email_verified"] = True
    client = Client(REMOTE_ADDR="10.0.0.9")
    refused_with_reason = sign_in_through(client)
    assert refused_with_reason["Location"] == "/accounts/login/?sso=rate_limited"
    assert signed_in_user(client) is None


def test_sso_refusals_count_per_ip(oidc_provider, member_user, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_IP = 2
    client = Client()
    for _ in range(2):
        sign_in_through(client, state="forged")
    response = sign_in_through(client)
    assert response["Location"] == "/accounts/login/?sso=rate_limited"
    assert signed_in_user(client) is None


def test_without_an_issuer_there_is_no_sso(db, settings):
    settings.KEYWARD_OIDC_ISSUER = ""
    page = Client().get("/accounts/login/").content.decode()
    assert "/accounts/sso/login/" not in page and "Sign in with SSO" not in page
    assert Client().get("/accounts/sso/login/").status_code == 404
    assert Client().get("/accounts/sso/callback/").status_code == 404


def test_the_login_page_offers_sso_when_configured(oidc_provider, db, settings):
    settings.KEYWARD_OIDC_PROVIDER_NAME = "Okta"
    page = Client().get("/accounts/login/?next=/w/acme/").content.decode()
    assert 'href="/accounts/sso/login/?next=%2Fw%2Facme%2F"' in page
    assert "Sign in with Okta" in page


def test_a_password_sign_in_never_asks_the_provider(oidc_provider, member_user):
    from tests.conftest import PASSWORD

    response = Client().post(
        "/accounts/login/", {"username": member_user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert not oidc_provider.authorizations and not oidc_provider.token_requests
