"""Changing KEYWARD_TOKEN_PREFIX: tokens issued under an accepted earlier prefix keep working."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import issue
from tokens import services
from tokens.auth import AuthenticationFailed, authenticate_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_token(workspace, admin_user):
    """Return (token, secret) issued under the default prefix kw."""
    return issue(admin_user, workspace, "issued-under-kw", scopes=["workspace:read"])


def test_a_token_issued_under_an_accepted_old_prefix_still_authenticates(
    settings, old_token, workspace, admin_user
):
    token, secret = old_token
    settings.KEYWARD_TOKEN_PREFIX = "acme"
    settings.KEYWARD_TOKEN_PREFIXES_ACCEPTED = ["kw"]

    assert authenticate_token(secret).public_id == token.public_id
    response = Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert services.token_find_by_value(secret) == token
    _, new_secret = issue(admin_user, workspace, "issued-under-acme")
    assert new_secret.startswith("acmew_")
    assert authenticate_token(new_secret).name == "issued-under-acme"


def test_without_it_the_old_prefix_is_refused(settings, old_token):
    _, secret = old_token
    settings.KEYWARD_TOKEN_PREFIX = "acme"

    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)
