"""Signing out after a single sign-on signs out at the provider too (RP-Initiated Logout 1.0),
against the local provider (tests/oidc_provider.py); other sign-outs stay local."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.signin import oidc_config, sealing, sso_logout
from tests.conftest import PASSWORD
from tests.oidc_provider import sign_in_through

pytestmark = pytest.mark.django_db

LOGIN = "http://testserver/accounts/login/"


def signed_in_by_sso(oidc_provider) -> Client:
    client = Client()
    assert sign_in_through(client).status_code == 302
    assert SESSION_KEY in client.session
    return client


def provider_url_in(response) -> str:
    """Return the provider address the signed-out page sends the browser to (refresh and link)."""
    content = response.content.decode()
    [refresh] = re.findall(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', content)
    [link] = re.findall(r'<a class="button primary block" href="([^"]+)">', content)
    assert refresh == link
    return html.unescape(refresh)


def test_signing_out_after_sso_sends_the_browser_to_the_providers_logout(
    oidc_provider, member_user
):
    client = signed_in_by_sso(oidc_provider)
    [id_token] = oidc_provider.id_tokens

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 200
    assert SESSION_KEY not in client.session  # Keyward's own session ended first
    assert sso_logout.SESSION_KEY not in client.session
    url = urlsplit(provider_url_in(response))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{oidc_provider.issuer}/logout"
    query = {name: values for name, values in parse_qs(url.query).items()}
    assert query == {
        "id_token_hint": [id_token],
        "post_logout_redirect_uri": [LOGIN],
        "client_id": [oidc_provider.client_id],
    }
    assert response["Cache-Control"].startswith("max-age=0")

    # The browser's part: the provider accepts the hint and sends it back to the login page.
    answer = requests.get(provider_url_in(response), allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"] == LOGIN
    [logout] = oidc_provider.logouts
    assert logout["claims"]["email"] == member_user.email


def test_the_id_token_is_kept_sealed_in_the_session(oidc_provider, member_user):
    client = signed_in_by_sso(oidc_provider)
    [id_token] = oidc_provider.id_tokens
    sealed = client.session[sso_logout.SESSION_KEY]
    assert id_token not in str(dict(client.session))
    assert sealing.unseal(sealed).decode() == id_token


def test_a_password_sign_in_signs_out_locally_only(oidc_provider, member_user):
    client = Client()
    client.post(reverse("accounts:login"), {"username": member_user.email, "password": PASSWORD})
    assert SESSION_KEY in client.session

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session
    assert oidc_provider.logouts == []


def test_a_provider_without_end_session_endpoint_signs_out_locally(oidc_provider, member_user):
    oidc_provider.end_session = False
    oidc_config.forget()
    client = signed_in_by_sso(oidc_provider)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session


def test_a_provider_unreachable_at_sign_out_signs_out_locally(oidc_provider, member_user):
    client = signed_in_by_sso(oidc_provider)
    oidc_provider.stop()
    oidc_config.forget()  # the next process to ask finds the provider down

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session


def test_with_sso_turned_off_since_the_sign_in_signs_out_locally(
    oidc_provider, member_user, settings
):
    client = signed_in_by_sso(oidc_provider)
    settings.KEYWARD_OIDC_ISSUER = ""

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert oidc_provider.logouts == []


def test_a_session_key_that_no_longer_unseals_signs_out_locally(
    oidc_provider, member_user, settings
):
    client = signed_in_by_sso(oidc_provider)
    session = client.session
    session[sso_logout.SESSION_KEY] = "not sealed"
    session.save()

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
